"""C{python -m ofx.client}: the command line client (L{ofx.client_cli})."""

from ofx.client import main

raise SystemExit(main())
