"""What an operator reads from outside: backend checks and backlog figures.

Readiness checks (``health``), the figures behind ``GET /metrics``
(``metrics``) in Prometheus's text format (``prometheus``), and clients
that give up quickly (``connections``). Everything here only reads; it never
imports Flask's request objects or ``plugin``.
"""
