"""gunicorn hooks for ``revisit serve`` (``--config python:plugin.gunicorn_conf``).

A worker that stops gracefully (SIGTERM, a restart, ``max_requests``) flushes
its buffered storefront events to Redis before it exits, so none are lost;
``atexit`` in ``engine.tracking.buffer`` does the same when this file is not
used. Successful probes and scrapes stay out of the access log
(``plugin.ops.access_log``). Command-line options still override anything
set here.
"""

from __future__ import annotations

from typing import Any

from engine.tracking.buffer import flush_all
from plugin.ops.access_log import quiet_probes


def post_fork(server: Any, worker: Any) -> None:
    quiet_probes()


def worker_exit(server: Any, worker: Any) -> None:
    flush_all()
