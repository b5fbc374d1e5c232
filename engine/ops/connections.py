"""Database and Redis clients that give up quickly, for probes and the limiter.

The app's own clients wait seconds and retry, which suits jobs and admin
pages; a readiness probe or a storefront request's rate-limit check must
answer within its own short timeout instead, so they get clients of their
own, each with a small pool.
"""

from __future__ import annotations

import math

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import Engine, create_engine


def prompt_redis(url: str, timeout: float) -> Redis:
    """A Redis client whose every call fails after ``timeout`` s, never retried."""
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def prompt_engine(database_url: str, timeout: float) -> Engine:
    """An engine of at most two connections, each call bounded by ``timeout``.

    On PostgreSQL libpq bounds the connect (whole seconds, at least 2, its
    own minimum), the server the statement, and ``tcp_user_timeout`` a
    server that stopped answering mid-call.
    """
    if database_url.startswith("sqlite"):
        connect_args: dict[str, object] = {
            "timeout": timeout,
            "check_same_thread": False,
        }
    else:
        milliseconds = int(timeout * 1000)
        connect_args = {
            "connect_timeout": max(2, math.ceil(timeout)),
            "options": f"-c statement_timeout={milliseconds}",
            "tcp_user_timeout": milliseconds,
        }
    return create_engine(
        database_url,
        connect_args=connect_args,
        pool_size=1,
        max_overflow=1,
        pool_timeout=timeout,
        pool_pre_ping=True,
    )
