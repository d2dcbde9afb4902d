"""
The web console: run, watch and administer a gateway from a browser.

L{ofx.web.auth} signs the operator in (sessions, CSRF tokens, API tokens),
L{ofx.web.api} is the JSON API under C{/api/} (docs/admin-api.md),
L{ofx.web.pages} serves the pages and C{static/}, L{ofx.web.monitor} is the
memory monitor service and L{ofx.web.control} starts and stops the named
services of the gateway. L{ofx.web.site.build_admin} puts them together.
"""
