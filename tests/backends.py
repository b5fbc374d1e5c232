"""Which database and Redis the tests use: real servers, or stand-ins.

With PostgreSQL and Redis reachable (this machine, CI) the tests use them.
Without, they fall back to SQLite and an embedded Redis and say so in the
report header. ``REVISIT_REQUIRE_SERVERS=1`` (CI) turns a fallback into an
error, so a CI run can never pass on the stand-ins by accident.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import psycopg

from plugin.sandbox.embedded_redis import start_embedded_redis

ADMIN_DATABASE_URL = os.environ.get(
    "REVISIT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# A database number of its own per run, so two runs on one machine (a
# developer's and CI's) never flush or steal each other's queued jobs.
REDIS_URL = os.environ.get(
    "REVISIT_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{1 + os.getpid() % 12}"
)


@dataclass
class Backends:
    database_kind: str
    redis_kind: str
    redis_url: str
    admin_database_url: str | None

    def describe(self) -> str:
        return f"database: {self.database_kind}; redis: {self.redis_kind}"


def detect() -> Backends:
    required = os.environ.get("REVISIT_REQUIRE_SERVERS") == "1"
    postgres = _postgres_reachable()
    redis = _port_open(REDIS_URL)
    if required and not (postgres and redis):
        raise RuntimeError(
            "REVISIT_REQUIRE_SERVERS=1 but PostgreSQL or Redis is unreachable"
            f" ({ADMIN_DATABASE_URL}, {REDIS_URL})."
        )

    redis_url = REDIS_URL if redis else start_embedded_redis()
    return Backends(
        database_kind=f"PostgreSQL {ADMIN_DATABASE_URL}" if postgres else "SQLite",
        redis_kind=f"Redis {REDIS_URL}" if redis else "embedded Redis (fakeredis)",
        redis_url=redis_url,
        admin_database_url=ADMIN_DATABASE_URL if postgres else None,
    )


def create_database(admin_url: str, name: str) -> str:
    """Create a scratch database next to ``admin_url``'s; return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_reachable() -> bool:
    try:
        with psycopg.connect(ADMIN_DATABASE_URL, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _port_open(url: str) -> bool:
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host, int(port or 6379)), timeout=1):
            return True
    except OSError:
        return False
