"""What the benches share around the code they measure.

It owns each bench's scratch PostgreSQL database and Redis db and the options
that name them, the argument types, the settings every bench's app needs, the
fake platform served for a run, child processes (starting ``revisit``,
stopping, reading /proc), the seed data several benches plant alike, reading an
HTTP answer off a keep-alive connection, and the goal line every report ends
with. What differs from bench to bench (the database name prefix, the Redis
db, the keys) comes in as arguments.

The benches run as scripts, with ``bench/`` first on ``sys.path``, so they
import this as ``common``; ``bench/`` is not a package.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import psycopg
from cryptography.fernet import Fernet
from psycopg import sql
from redis import Redis
from sqlalchemy import insert

from engine.db import db
from engine.onsite.rules import create_message

if TYPE_CHECKING:
    from engine.shops.models import Shop
    from plugin.sandbox.shopify_platform import FakeShopifyPlatform

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
ROWS_PER_INSERT = 2000


# ----------------------------------------------------------- command line


def positive(text: str) -> int:
    """An argparse type: a whole number, at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_store_arguments(parser: argparse.ArgumentParser, redis_url: str) -> None:
    """``--database-url`` and ``--redis-url``, ``redis_url`` being the bench's
    own db; ``BENCH_DATABASE_URL`` and ``BENCH_REDIS_URL`` override both."""
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="an existing database to connect to; the scratch one is made there",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", redis_url)
    )


# ---------------------------------------------------------------- stores


@contextmanager
def scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """Create ``<prefix>_<pid>`` next to ``admin_url``; drop it afterwards.

    Yields the new database's URL. A run killed before its clean-up leaves its
    database behind, and a later run may get the same pid: so drop first.
    """
    admin_url = admin_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"{prefix}_{os.getpid()}"
    _admin(admin_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
    _admin(admin_url, "CREATE DATABASE {}", name)
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        _admin(admin_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def _admin(admin_url: str, statement: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


@contextmanager
def scratch_redis(url: str) -> Iterator[Redis]:
    """The Redis db at ``url``, flushed before and after."""
    redis = Redis.from_url(url)
    redis.flushdb()
    try:
        yield redis
    finally:
        redis.flushdb()
        redis.close()


# ---------------------------------------------------------------- the app


def base_config(
    database_url: str,
    redis_url: str,
    *,
    secret_key: str = "bench-secret-key",
    api_key: str = "bench-shopify-api-key",
    api_secret: str = "bench-shopify-api-secret",
) -> dict[str, str]:
    """The settings the app cannot start without; each bench adds its own."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secret_key,
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SHOPIFY_API_KEY": api_key,
        "SHOPIFY_API_SECRET": api_secret,
        "APP_URL": "https://bench.invalid",
    }


@contextmanager
def served(fake: FakeShopifyPlatform) -> Iterator[str]:
    """The fake platform served on loopback; yields its base URL."""
    url = fake.serve()
    try:
        yield url
    finally:
        fake.shutdown()


def start_revisit(
    arguments: list[str], env: dict[str, str], log: Path
) -> subprocess.Popen:
    """``revisit ARGUMENTS`` run from the checkout, its output into ``log``."""
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "plugin.cli", *arguments],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


# ------------------------------------------------------------------ seeds


def add_onsite_rules(shop: Shop) -> None:
    """Two on-site messages: one everywhere, one for returning visitors on
    product pages."""
    texts = {"zh-TW": {"title": "歡迎回來"}, "en": {"title": "Welcome back"}}
    create_message(shop, name="Everywhere", kind="text", texts=texts)
    create_message(
        shop,
        name="Returning, on products",
        kind="text",
        texts=texts,
        url_match="wildcard",
        url_value="/products/*",
        audience="returning",
        cap_per_visitor=3,
    )


def insert_rows(model: type, rows: list[dict]) -> None:
    """Plant ``rows`` of ``model`` in the app's session, ``ROWS_PER_INSERT`` a
    statement."""
    for start in range(0, len(rows), ROWS_PER_INSERT):
        db.session.execute(insert(model), rows[start : start + ROWS_PER_INSERT])


# -------------------------------------------------------------- processes


def free_port() -> int:
    """A loopback port no one listens on now, for a child server to bind."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen, timeout: float, role: str = "process") -> None:
    """SIGTERM, so a server flushes and exits gracefully; killed after
    ``timeout`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        logger.warning("%s %d did not stop; killing it", role, process.pid)
        process.kill()
        process.wait()


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` now (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def resident_bytes(pid: int) -> int | None:
    """The resident set size of ``pid`` in bytes; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# ----------------------------------------------------------------- client


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one answer with its body: (status, whether the connection stays)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
    status = int(head.split(" ", 2)[1])
    length = 0
    for line in head.split("\r\n"):
        if line.startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status, "\r\nconnection: close" not in head


# ----------------------------------------------------------------- report


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; NaN of nothing."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass(frozen=True)
class Goal:
    name: str
    figure: str
    target: str
    met: bool

    def line(self) -> str:
        verdict = "met" if self.met else "missed"
        return f"goal {self.name}: {self.figure} (target {self.target}) {verdict}"
