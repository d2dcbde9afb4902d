"""
The gateway's durable state, in one SQLite database under C{[ofx] data}.
"""
