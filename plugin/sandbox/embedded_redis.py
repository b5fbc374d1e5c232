"""An in-process Redis (fakeredis over TCP) for the demo and server-less tests.

RQ's worker and scheduler run in their own process and speak to it over a
loopback socket like to a real server. It keeps nothing on disk: never use
it in production, where Redis needs persistence and ``noeviction``.
"""

from __future__ import annotations

import logging
import threading

from fakeredis import TcpFakeServer

logger = logging.getLogger(__name__)


def start_embedded_redis(host: str = "127.0.0.1", port: int = 0) -> str:
    """Serve a fakeredis server from a daemon thread; return its ``redis://`` URL."""
    server = TcpFakeServer((host, port), server_type="redis")
    # A client's connection thread (a worker blocked in BLPOP) must not keep
    # the process alive once the demo or the tests are done.
    server.daemon_threads = True
    server.block_on_close = False
    bound_host, bound_port = server.server_address
    threading.Thread(
        target=server.serve_forever, name="embedded-redis", daemon=True
    ).start()
    url = f"redis://{bound_host}:{bound_port}/0"
    logger.info("sandbox.redis_started", extra={"url": url})
    return url
