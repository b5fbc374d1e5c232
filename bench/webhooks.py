"""Benchmark of ``POST /webhooks/shopify``: throughput, burst latency, the books.

It serves the real app with gunicorn (gthread workers, on a free loopback port)
and adds ``POST /bench/bare``, a view answering 200 and nothing else, to the
same app object, so both endpoints share the server, the HTTP stack and the
machine. A small asyncio client sends pre-built, signed requests over
``--concurrency`` keep-alive connections. It measures:

* throughput_ratio: webhook requests per second over bare ones. Each round
  sends ``--requests`` bare and as many fresh webhook requests in alternating
  chunks of ``--chunk`` on the same connections, so noise from the machine
  falls on both alike; the median ratio over ``--rounds`` rounds is reported;
* p99_latency_ms: p50/p99 latency of one continuous burst of ``--requests``
  webhook deliveries, with the CPU each process spent per request (the
  server, PostgreSQL, Redis, this client, anything else on the machine);
* nothing_lost: every delivery answered 200 has exactly one row in
  ``webhook_deliveries`` (payload intact) and one job on the RQ queue
  "webhooks", and ``--redeliveries`` redeliveries of sent webhook ids add no
  row and no job.

It uses a scratch PostgreSQL database (``revisit_bench_<pid>``, created through
``--database-url``, migrated with Alembic, dropped at the end) and Redis db 14
(flushed at the start and the end), so it does not clash with the tests. Run::

    .venv/bin/python bench/webhooks.py [--requests 1000] [--concurrency 16]

``--profile`` also profiles the webhook requests in the workers (cProfile, one
thread per worker) and prints where the time goes; its speed figures then carry
the profiler's overhead.

It prints a short table, then one line per goal, met or missed, and exits 0;
it exits non-zero only when the bench itself could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import hashlib
import hmac
import json
import logging
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask_migrate
import psycopg
from common import (
    Goal,
    add_store_arguments,
    base_config,
    percentile,
    positive,
    scratch_database,
    scratch_redis,
    stop,
)
from flask import Flask, Response
from gunicorn.app.base import BaseApplication
from redis import Redis
from rq import Queue

import plugin
from engine.db import db

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
WEBHOOK_PATH = "/webhooks/shopify"
BARE_PATH = "/bench/bare"
DISPATCH_WAIT_SECONDS = 15
QUEUE_NAME = "webhooks"
TOPIC = "checkouts/update"
API_VERSION = "2026-10"
SHOPIFY_SECRET = "bench-shopify-api-secret"
SHOPS = tuple(f"bench-store-{n}.myshopify.com" for n in range(4))
SAMPLE_PAYLOAD = Path(plugin.__file__).parent / "sandbox/payloads/checkouts_update.json"

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
REQUEST_TIMEOUT = 30.0
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
WARMUP_MAX = 200

GOAL_RATIO = 0.30
GOAL_P99_MS = 50.0

PROFILE_DIR_ENV = "REVISIT_BENCH_PROFILE_DIR"


# ---------------------------------------------------------------- options


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_store_arguments(parser, DEFAULT_REDIS_URL)
    parser.add_argument(
        "--requests",
        type=positive,
        default=1000,
        help="requests of each kind per round, and deliveries in the burst",
    )
    parser.add_argument(
        "--concurrency", type=positive, default=16, help="keep-alive connections"
    )
    parser.add_argument(
        "--rounds", type=positive, default=5, help="throughput rounds (median)"
    )
    parser.add_argument(
        "--chunk",
        type=positive,
        default=100,
        help="requests per chunk when bare and webhook requests alternate",
    )
    parser.add_argument(
        "--redeliveries",
        type=int,
        default=50,
        help="sent webhook ids to deliver again at the end",
    )
    parser.add_argument(
        "--workers", type=positive, default=2, help="gunicorn worker processes"
    )
    parser.add_argument(
        "--threads", type=positive, default=4, help="gthread threads per worker"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile webhook requests in the workers (forces --threads 1)",
    )
    parser.add_argument("--profile-top", type=int, default=15, help=argparse.SUPPRESS)
    # Internal: the server process this script starts for itself.
    parser.add_argument("--serve-fd", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ----------------------------------------------------------- environment


def migrate(config: dict[str, str]) -> None:
    app = plugin.create_app(config)
    with app.app_context():
        flask_migrate.upgrade(revision="heads")  # parallel branches of work
        db.session.remove()
        db.engine.dispose()


# ------------------------------------------------------ server (child side)


class BenchServer(BaseApplication):
    """gunicorn serving the real app, plus the bare route, in each worker."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return bench_app()


def bench_app() -> Flask:
    """The production app, read from the environment, with ``/bench/bare``."""
    app = plugin.create_app()
    app.add_url_rule(BARE_PATH, "bench_bare", _bare, methods=["POST"])
    if os.environ.get(PROFILE_DIR_ENV):
        app.wsgi_app = ProfiledWsgi(app.wsgi_app)
    return app


def _bare() -> Response:
    return Response(status=200)


def serve(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {
        "bind": f"fd://{args.serve_fd}",
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread",
        "keepalive": 5,
        "graceful_timeout": 10,
        "loglevel": "warning",
        "accesslog": None,
    }
    if os.environ.get(PROFILE_DIR_ENV):
        options["worker_exit"] = _dump_profile
    BenchServer(options).run()
    return 0


class ProfiledWsgi:
    """Profiles each webhook request; a profiled worker runs one thread."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.profile = cProfile.Profile()
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if environ.get("PATH_INFO") != WEBHOOK_PATH:
            return self.app(environ, start_response)
        self.requests += 1
        self.profile.enable()
        try:
            return self.app(environ, start_response)
        finally:
            self.profile.disable()

    def dump(self, path: Path) -> None:
        if self.requests:
            self.profile.dump_stats(path)


def _dump_profile(server: object, worker: Any) -> None:
    middleware = getattr(worker.wsgi, "wsgi_app", None)
    if isinstance(middleware, ProfiledWsgi):
        directory = Path(os.environ[PROFILE_DIR_ENV])
        middleware.dump(directory / f"worker-{os.getpid()}.prof")


# ----------------------------------------------------- server (bench side)


@dataclass(frozen=True)
class Server:
    port: int
    pid: int


@contextmanager
def running_server(
    args: argparse.Namespace, config: dict[str, str], profile_dir: Path | None
) -> Iterator[Server]:
    """Start this script as a gunicorn server on a free loopback port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, 0))
    listener.listen(2048)
    port = listener.getsockname()[1]
    process = _spawn_server(args, config, profile_dir, listener.fileno())
    listener.close()
    try:
        _wait_ready(port, process)
        logger.info(
            "server up on %s:%d (%d workers x %d threads)",
            HOST,
            port,
            args.workers,
            args.threads,
        )
        yield Server(port, process.pid)
    finally:
        stop(process, STOP_TIMEOUT, "server")


def _spawn_server(
    args: argparse.Namespace,
    config: dict[str, str],
    profile_dir: Path | None,
    fd: int,
) -> subprocess.Popen:
    env = {**os.environ, **config}
    if profile_dir is not None:
        env[PROFILE_DIR_ENV] = str(profile_dir)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        f"--serve-fd={fd}",
        f"--workers={args.workers}",
        f"--threads={args.threads}",
    ]
    return subprocess.Popen(command, env=env, pass_fds=(fd,))


def _wait_ready(port: int, process: subprocess.Popen) -> None:
    # The socket already listens, so this request waits for a worker to start.
    probe = [http_request(BARE_PATH, port, {}, b"")]
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        if _answers(port, probe):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {READY_TIMEOUT:g} s")


def _answers(port: int, probe: list[bytes]) -> bool:
    try:
        return burst(port, 1, probe).statuses == [200]
    except OSError:
        return False


# ---------------------------------------------------------- deliveries


@dataclass(frozen=True)
class Delivery:
    """One signed webhook delivery, as the platform would send it."""

    shop: str
    webhook_id: str
    event_id: str
    body: bytes

    def headers(self) -> dict[str, str]:
        triggered = datetime.now(UTC).isoformat(timespec="milliseconds")
        return {
            "Content-Type": "application/json",
            "User-Agent": "Shopify-Captain-Hook",
            "X-Shopify-Hmac-Sha256": sign(self.body),
            "X-Shopify-Topic": TOPIC,
            "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Event-Id": self.event_id,
            "X-Shopify-Triggered-At": triggered.replace("+00:00", "Z"),
            "X-Shopify-API-Version": API_VERSION,
        }


def sign(body: bytes) -> str:
    digest = hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def make_deliveries(count: int) -> list[Delivery]:
    template = base_payload()
    return [_delivery(template, number) for number in range(count)]


def _delivery(template: dict[str, Any], number: int) -> Delivery:
    payload = dict(template)
    payload["id"] = 31_000_000_000 + number
    payload["token"] = uuid.uuid4().hex
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Delivery(
        shop=SHOPS[number % len(SHOPS)],
        webhook_id=str(uuid.uuid4()),
        event_id=str(uuid.uuid4()),
        body=body,
    )


def base_payload() -> dict[str, Any]:
    """The sandbox's checkouts/update sample if there is one, else our own."""
    if SAMPLE_PAYLOAD.is_file():
        loaded = json.loads(SAMPLE_PAYLOAD.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            return loaded
    return sample_checkout()


def sample_checkout() -> dict[str, Any]:
    """A checkouts/update body of about 3 KB, shaped like the platform's."""
    address = {
        "first_name": "Aiko",
        "last_name": "Tanaka",
        "address1": "1-2-3 Shibuya",
        "address2": "Room 405",
        "city": "Shibuya-ku",
        "province": "Tokyo",
        "province_code": "JP-13",
        "country": "Japan",
        "country_code": "JP",
        "zip": "150-0002",
        "phone": "+81 3-1234-5678",
        "company": None,
    }
    return {
        "id": 31_000_000_000,
        "token": "0" * 32,
        "cart_token": "Z2NwLWFzaWEtc291dGhlYXN0MTpCRU5DSENBUlQ",
        "email": "aiko.tanaka@example.com",
        "phone": None,
        "buyer_accepts_marketing": True,
        "created_at": "2026-01-15T10:02:11+09:00",
        "updated_at": "2026-01-15T10:07:45+09:00",
        "completed_at": None,
        "closed_at": None,
        "currency": "JPY",
        "presentment_currency": "JPY",
        "customer_locale": "ja-JP",
        "source_name": "web",
        "landing_site": "/products/linen-tote?utm_source=line",
        "referring_site": "https://line.me/",
        "abandoned_checkout_url": "https://bench-store-0.myshopify.com/checkouts/"
        "ac/Z2NwLWFzaWE/recover?key=4f1d2c3b",
        "subtotal_price": "12800",
        "total_discounts": "1280",
        "total_line_items_price": "12800",
        "total_tax": "1047",
        "total_price": "11520",
        "taxes_included": True,
        "total_weight": 1350,
        "discount_codes": [
            {"code": "WELCOME10", "amount": "1280", "type": "percentage"}
        ],
        "note": "",
        "note_attributes": [{"name": "gift_wrap", "value": "no"}],
        "line_items": [_line_item(n) for n in range(3)],
        "shipping_lines": [
            {"code": "Standard", "price": "0", "title": "Standard shipping"}
        ],
        "tax_lines": [{"price": "1047", "rate": 0.1, "title": "JCT"}],
        "billing_address": address,
        "shipping_address": address,
        "customer": {
            "id": 7_200_000_000 + 1,
            "email": "aiko.tanaka@example.com",
            "first_name": "Aiko",
            "last_name": "Tanaka",
            "accepts_marketing": True,
            "orders_count": 2,
            "state": "enabled",
            "total_spent": "23100",
            "tags": "vip,line",
            "currency": "JPY",
            "created_at": "2025-06-02T19:44:10+09:00",
        },
    }


def _line_item(number: int) -> dict[str, Any]:
    return {
        "key": f"4b6e1a{number}c2f3d94e8a7b",
        "product_id": 8_100_000_000 + number,
        "variant_id": 45_000_000_000 + number,
        "sku": f"TOTE-LIN-{number:02d}",
        "title": ("Linen tote", "Canvas pouch", "Cotton scarf")[number],
        "variant_title": ("Natural / Large", "Indigo", "Ivory")[number],
        "vendor": "Revisit Bench Goods",
        "quantity": number + 1,
        "price": ("6400", "2200", "1000")[number],
        "line_price": ("6400", "4400", "3000")[number],
        "grams": 450,
        "requires_shipping": True,
        "taxable": True,
        "gift_card": False,
        "fulfillment_service": "manual",
        "properties": [{"name": "engraving", "value": ""}],
        "tax_lines": [{"price": "95", "rate": 0.1, "title": "JCT"}],
        "applied_discounts": [],
    }


def http_request(path: str, port: int, headers: dict[str, str], body: bytes) -> bytes:
    """The raw HTTP/1.1 keep-alive request, built once before any timing."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# -------------------------------------------------------------- client


@dataclass
class Burst:
    """Requests sent back to back: wall time, client CPU, per-request figures."""

    elapsed: float
    client_cpu: float
    latencies: list[float]
    statuses: list[int]

    @property
    def rate(self) -> float:
        return len(self.statuses) / self.elapsed

    @property
    def failures(self) -> int:
        return sum(1 for status in self.statuses if status != 200)

    def latencies_ms(self) -> list[float]:
        return [1000 * value for value in self.latencies]

    @classmethod
    def combine(cls, parts: Sequence[Burst]) -> Burst:
        return cls(
            elapsed=sum(part.elapsed for part in parts),
            client_cpu=sum(part.client_cpu for part in parts),
            latencies=[value for part in parts for value in part.latencies],
            statuses=[value for part in parts for value in part.statuses],
        )


class _Connection:
    """One keep-alive connection; reopened if the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    async def exchange(self, payload: bytes) -> int:
        """Send one request and read its response; 0 if it failed."""
        try:
            if self.writer is None:
                await self.open()
            self.writer.write(payload)
            status, keep_alive = await asyncio.wait_for(
                _read_response(self.reader), REQUEST_TIMEOUT
            )
        except (OSError, EOFError, TimeoutError, ValueError):
            self.close()
            return 0
        if not keep_alive:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *header_lines = head.rstrip("\r\n").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    fields = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip().lower()
    if "content-length" not in fields:
        await reader.read()  # no length: the body ends with the connection
        return status, False
    await reader.readexactly(int(fields["content-length"]))
    return status, fields.get("connection") != "close"


class Client:
    """A fixed number of keep-alive connections, each sending one at a time."""

    def __init__(self, port: int, concurrency: int) -> None:
        self.connections = [_Connection(port) for _ in range(concurrency)]

    async def __aenter__(self) -> Client:
        await asyncio.gather(*(connection.open() for connection in self.connections))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for connection in self.connections:
            connection.close()

    async def run(self, payloads: Sequence[bytes]) -> Burst:
        statuses = [0] * len(payloads)
        latencies = [0.0] * len(payloads)
        order = iter(range(len(payloads)))

        async def drive(connection: _Connection) -> None:
            for index in order:
                started = time.perf_counter()
                statuses[index] = await connection.exchange(payloads[index])
                latencies[index] = time.perf_counter() - started

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(drive(connection) for connection in self.connections))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return Burst(elapsed, cpu, latencies, statuses)


async def _burst(port: int, concurrency: int, payloads: Sequence[bytes]) -> Burst:
    async with Client(port, min(concurrency, len(payloads))) as client:
        return await client.run(payloads)


async def _interleaved(
    port: int,
    concurrency: int,
    chunks: Sequence[tuple[Sequence[bytes], Sequence[bytes]]],
) -> tuple[Burst, Burst]:
    """Run each pair's first then second part on the same connections."""
    firsts, seconds = [], []
    async with Client(port, concurrency) as client:
        for first, second in chunks:
            firsts.append(await client.run(first))
            seconds.append(await client.run(second))
    return Burst.combine(firsts), Burst.combine(seconds)


def burst(port: int, concurrency: int, payloads: Sequence[bytes]) -> Burst:
    """Send ``payloads`` over ``concurrency`` keep-alive connections."""
    return asyncio.run(_burst(port, concurrency, payloads))


def interleaved(
    port: int,
    concurrency: int,
    bare: Sequence[bytes],
    webhook: Sequence[bytes],
    chunk: int,
    bare_first: bool,
) -> tuple[Burst, Burst]:
    """Alternate chunks of bare and webhook requests; time each kind apart."""
    pairs = [
        (bare[start : start + chunk], webhook[start : start + chunk])
        for start in range(0, len(webhook), chunk)
    ]
    if bare_first:
        return asyncio.run(_interleaved(port, concurrency, pairs))
    swapped = [(second, first) for first, second in pairs]
    webhook_burst, bare_burst = asyncio.run(_interleaved(port, concurrency, swapped))
    return bare_burst, webhook_burst


# ------------------------------------------------------------------ load


@dataclass
class Round:
    bare: Burst
    webhook: Burst

    @property
    def ratio(self) -> float:
        return self.webhook.rate / self.bare.rate


class Load:
    """The pre-built requests, and the status each delivery got."""

    def __init__(self, args: argparse.Namespace, port: int) -> None:
        self.args = args
        self.port = port
        self.deliveries = make_deliveries(total_deliveries(args))
        self.webhook = [
            http_request(WEBHOOK_PATH, port, d.headers(), d.body)
            for d in self.deliveries
        ]
        self.bare = [
            http_request(BARE_PATH, port, d.headers(), d.body)
            for d in self.deliveries[: args.requests]
        ]
        self.statuses = [0] * len(self.deliveries)
        self.sent = 0
        logger.info(
            "%d deliveries of %d bytes built",
            len(self.deliveries),
            len(self.deliveries[0].body),
        )

    def warm_up(self) -> None:
        count = min(self.args.requests, WARMUP_MAX)
        self._check(burst(self.port, self.args.concurrency, self.bare[:count]))
        self.webhook_burst(count)

    def round(self, number: int) -> Round:
        """N bare and N fresh webhook requests in alternating chunks."""
        batch = self._take(self.args.requests)
        bare, webhook = interleaved(
            self.port,
            self.args.concurrency,
            self.bare,
            self.webhook[batch],
            self.args.chunk,
            bare_first=number % 2 == 1,
        )
        self._record(batch, webhook)
        return Round(self._check(bare), webhook)

    def webhook_burst(self, count: int) -> Burst:
        batch = self._take(count)
        result = burst(self.port, self.args.concurrency, self.webhook[batch])
        self._record(batch, result)
        return result

    def bare_burst(self) -> Burst:
        return self._check(burst(self.port, self.args.concurrency, self.bare))

    def redeliver(self) -> Burst | None:
        """Send again the exact requests of some accepted deliveries."""
        accepted = self.accepted()
        count = min(self.args.redeliveries, len(accepted))
        if count <= 0:
            return None
        step = len(accepted) / count
        picks = [self.webhook[accepted[int(n * step)]] for n in range(count)]
        return self._check(burst(self.port, self.args.concurrency, picks))

    def accepted(self) -> list[int]:
        return [i for i in range(self.sent) if self.statuses[i] == 200]

    def _take(self, count: int) -> slice:
        batch = slice(self.sent, self.sent + count)
        self.sent += count
        return batch

    def _record(self, batch: slice, result: Burst) -> None:
        self.statuses[batch] = result.statuses
        self._check(result)

    def _check(self, result: Burst) -> Burst:
        if result.failures:
            logger.warning(
                "%d of %d requests failed", result.failures, len(result.statuses)
            )
        return result


def total_deliveries(args: argparse.Namespace) -> int:
    return min(args.requests, WARMUP_MAX) + (args.rounds + 1) * args.requests


# ------------------------------------------------------- CPU by process


CPU_OWNERS = ("server", "postgres", "redis", "client", "other")


def cpu_times(server_pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process we can read, by owner (Linux)."""
    found: dict[int, tuple[str, float]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if entry.name.isdigit():
            sample = _proc_sample(entry)
            if sample is not None:
                comm, ppid, seconds = sample
                owner = _owner(int(entry.name), comm, ppid, server_pid)
                found[int(entry.name)] = (owner, seconds)
    return found


def _proc_sample(entry: Path) -> tuple[str, int, float] | None:
    try:
        text = (entry / "stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return comm, int(fields[1]), ticks / os.sysconf("SC_CLK_TCK")


def _owner(pid: int, comm: str, ppid: int, server_pid: int) -> str:
    if server_pid in (pid, ppid):
        return "server"
    if pid == os.getpid():
        return "client"
    if comm.startswith("postgres"):
        return "postgres"
    if comm.startswith("redis"):
        return "redis"
    return "other"


def cpu_spent(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> Counter[str]:
    """CPU seconds per owner between two samples (exited processes are lost)."""
    spent: Counter[str] = Counter()
    for pid, (owner, seconds) in after.items():
        spent[owner] += seconds - before.get(pid, (owner, 0.0))[1]
    return spent


def measured(server_pid: int, action: Callable[[], Burst]) -> tuple[Burst, Counter]:
    before = cpu_times(server_pid)
    result = action()
    return result, cpu_spent(before, cpu_times(server_pid))


# --------------------------------------------------------------- books


@dataclass(frozen=True)
class Books:
    """What the database and the queue hold after the run."""

    rows: list[tuple[int, str, str, str]]  # id, shop_domain, webhook_id, md5
    job_ids: list[str]

    def copies(self) -> Counter[tuple[str, str]]:
        return Counter((shop, webhook_id) for _, shop, webhook_id, _ in self.rows)

    def jobs_match_rows(self) -> bool:
        expected = sorted(f"webhook-{row_id}" for row_id, *_ in self.rows)
        return sorted(self.job_ids) == expected


def read_books(database_url: str, redis: Redis) -> Books:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT id, shop_domain, webhook_id, md5(payload) FROM webhook_deliveries"
        ).fetchall()
    queue = Queue(QUEUE_NAME, connection=redis)
    # A worker's dispatcher queues the jobs just after the rows are recorded.
    deadline = time.monotonic() + DISPATCH_WAIT_SECONDS
    while queue.count < len(rows) and time.monotonic() < deadline:
        time.sleep(0.05)
    return Books(rows=rows, job_ids=queue.job_ids)


@contextmanager
def running_dispatcher(config: dict[str, str]) -> Iterator[None]:
    """The dispatcher a worker runs: it turns recorded deliveries into jobs."""
    from engine.webhooks.dispatcher import Dispatcher

    dispatcher = Dispatcher(plugin.create_app(config)).start()
    try:
        yield
    finally:
        dispatcher.stop()


@dataclass(frozen=True)
class Audit:
    sent: int
    accepted: int
    recorded_once: int
    duplicated: int
    payload_mismatches: int
    stray_rows: int
    rows: int
    jobs: int
    jobs_match: bool
    redelivered: int
    redelivery_failures: int
    rows_added_by_redelivery: int
    jobs_added_by_redelivery: int

    @property
    def nothing_lost(self) -> bool:
        return (
            self.accepted == self.sent
            and self.recorded_once == self.sent
            and self.stray_rows == 0
            and self.jobs_match
            and self.redelivery_failures == 0
            and self.rows_added_by_redelivery == 0
            and self.jobs_added_by_redelivery == 0
        )


def audit(load: Load, before: Books, after: Books, redelivery: Burst | None) -> Audit:
    """Compare what was sent and accepted with what was recorded and queued."""
    copies = before.copies()
    digests = {(shop, webhook_id): md5 for _, shop, webhook_id, md5 in before.rows}
    accepted = load.accepted()
    keys = [_key(load.deliveries[i]) for i in accepted]
    mismatches = sum(
        1
        for i, key in zip(accepted, keys, strict=True)
        if copies[key] and digests[key] != _md5(load.deliveries[i].body)
    )
    sent_keys = {_key(delivery) for delivery in load.deliveries[: load.sent]}
    return Audit(
        sent=load.sent,
        accepted=len(accepted),
        recorded_once=sum(1 for key in keys if copies[key] == 1) - mismatches,
        duplicated=sum(1 for key in keys if copies[key] > 1),
        payload_mismatches=mismatches,
        stray_rows=sum(n for key, n in copies.items() if key not in sent_keys),
        rows=len(before.rows),
        jobs=len(before.job_ids),
        jobs_match=before.jobs_match_rows() and after.jobs_match_rows(),
        redelivered=len(redelivery.statuses) if redelivery else 0,
        redelivery_failures=redelivery.failures if redelivery else 0,
        rows_added_by_redelivery=len(after.rows) - len(before.rows),
        jobs_added_by_redelivery=len(after.job_ids) - len(before.job_ids),
    )


def _key(delivery: Delivery) -> tuple[str, str]:
    return delivery.shop.lower(), delivery.webhook_id


def _md5(body: bytes) -> str:
    return hashlib.md5(body, usedforsecurity=False).hexdigest()


# ------------------------------------------------------------- profile


# (label, file path suffix, function name); nesting shows what includes what.
PROFILE_PARTS = (
    ("Flask request (wsgi_app)", "flask/app.py", "wsgi_app"),
    ("  view shopify_webhook", "plugin/webhooks/shopify.py", "shopify_webhook"),
    ("    as_shopify_request", "plugin/shopify_request.py", "as_shopify_request"),
    ("    verify_webhook_req", "shopify_app/verify/webhook.py", "verify_webhook_req"),
    ("      redact_http_log", "shopify_app/utils/redact.py", "redact_http_log"),
    ("    record_delivery", "engine/webhooks/deliveries.py", "record_delivery"),
    ("      _insert", "engine/webhooks/deliveries.py", "_insert"),
    ("        pool pre-ping", "sqlalchemy/engine/default.py", "_do_ping_w_event"),
    ("      Session.commit", "sqlalchemy/orm/session.py", "commit"),
    ("        COMMIT", "sqlalchemy/engine/default.py", "do_commit"),
    ("        RQ enqueue (send)", "engine/jobs.py", "send"),
    ("  app context teardown", "flask/ctx.py", "pop"),
    ("PostgreSQL waits", "psycopg/connection.py", "wait"),
    ("Redis replies read", "redis/connection.py", "read_response"),
)


def report_profile(directory: Path, top: int) -> None:
    files = sorted(directory.glob("*.prof"))
    if not files:
        print("profile: no data (the workers wrote none)")
        return
    stats = pstats.Stats(*(str(path) for path in files))
    requests = max(_entry(stats, "plugin/webhooks/shopify.py", "shopify_webhook")[0], 1)
    print(
        f"\nprofile of {requests} webhook requests (cProfile, wall clock, one"
        " thread per worker; speed figures above carry its overhead), per request:"
    )
    print(f"  {'part':<34} {'ms':>8} {'calls':>6}")
    for label, path, name in PROFILE_PARTS:
        calls, total = _entry(stats, path, name)
        print(f"  {label:<34} {1000 * total / requests:8.3f} {calls / requests:6.1f}")
    print(f"\ntop {top} functions by own time (ms per request)")
    for (path, line, name), own in _by_own_time(stats)[:top]:
        print(f"  {1000 * own / requests:8.3f}  {_short(path)}:{line}({name})")


def _entry(stats: pstats.Stats, path: str, name: str) -> tuple[int, float]:
    """Calls and cumulative time of the outermost function of that name."""
    found = [
        (value[1], value[3])
        for (filename, _, function), value in stats.stats.items()
        if function == name and filename.replace("\\", "/").endswith(path)
    ]
    return max(found, key=lambda item: item[1], default=(0, 0.0))


def _by_own_time(stats: pstats.Stats) -> list[tuple[tuple, float]]:
    own = [(key, value[2]) for key, value in stats.stats.items()]
    return sorted(own, key=lambda item: item[1], reverse=True)


def _short(path: str) -> str:
    marker = "site-packages/"
    path = path.replace("\\", "/")
    return path.split(marker, 1)[1] if marker in path else path


# -------------------------------------------------------------- report


@dataclass
class Results:
    rounds: list[Round]
    bare: Burst
    burst: Burst
    bare_cpu: Counter
    burst_cpu: Counter
    audit: Audit

    @property
    def ratio(self) -> float:
        return statistics.median(item.ratio for item in self.rounds)


def print_rounds(args: argparse.Namespace, results: Results) -> None:
    print(
        f"\nserver: gunicorn {args.workers} workers x {args.threads} threads"
        f" (gthread); client: {args.concurrency} keep-alive connections"
    )
    print(
        f"throughput: per round {args.requests} bare + {args.requests} webhook"
        f" requests in alternating chunks of {args.chunk}"
    )
    print("round  bare req/s  webhook req/s  ratio  webhook p99 ms")
    for number, item in enumerate(results.rounds, start=1):
        p99 = percentile(item.webhook.latencies_ms(), 99)
        print(
            f"{number:>5}  {item.bare.rate:>10.0f}  {item.webhook.rate:>13.0f}"
            f"  {item.ratio:>5.3f}  {p99:>14.1f}"
        )
    print(f"median{'':>27}{results.ratio:.3f}")


def print_burst(args: argparse.Namespace, results: Results) -> None:
    lat = results.burst.latencies_ms()
    print(
        f"\nburst of {len(lat)} webhook deliveries: {results.burst.rate:.0f} req/s,"
        f" p50 {percentile(lat, 50):.1f} ms, p90 {percentile(lat, 90):.1f} ms,"
        f" p99 {percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms"
        f" (bare burst: {results.bare.rate:.0f} req/s)"
    )
    if not results.burst_cpu:
        return
    print("CPU ms per request   " + "".join(f"{o:>9}" for o in CPU_OWNERS))
    for label, cpu, count in (
        ("bare burst", results.bare_cpu, len(results.bare.statuses)),
        ("webhook burst", results.burst_cpu, len(lat)),
    ):
        cells = "".join(f"{1000 * cpu[owner] / count:>9.2f}" for owner in CPU_OWNERS)
        print(f"  {label:<19}{cells}")


def print_books(result: Audit) -> None:
    print(
        f"\nbooks: {result.sent} deliveries sent, {result.accepted} answered 200,"
        f" {result.rows} rows, {result.recorded_once} recorded once,"
        f" {result.duplicated} duplicated, {result.payload_mismatches} payload"
        f" mismatches, {result.stray_rows} stray rows"
    )
    print(
        f"queue {QUEUE_NAME!r}: {result.jobs} jobs, one per row:"
        f" {'yes' if result.jobs_match else 'no'}"
    )
    print(
        f"redeliveries: {result.redelivered} sent,"
        f" {result.redelivered - result.redelivery_failures} answered 200,"
        f" rows added {result.rows_added_by_redelivery},"
        f" jobs added {result.jobs_added_by_redelivery}"
    )


def goals(results: Results) -> list[Goal]:
    p99 = percentile(results.burst.latencies_ms(), 99)
    ratio = results.ratio
    books = results.audit
    return [
        Goal(
            "throughput_ratio",
            f"{ratio:.2f}",
            f">= {GOAL_RATIO:.2f}",
            ratio >= GOAL_RATIO,
        ),
        Goal("p99_latency_ms", f"{p99:.1f}", f"<= {GOAL_P99_MS:g}", p99 <= GOAL_P99_MS),
        Goal(
            "nothing_lost",
            f"{books.recorded_once}/{books.sent} recorded once",
            "all",
            books.nothing_lost,
        ),
    ]


# ---------------------------------------------------------------- main


def measure(
    args: argparse.Namespace, server: Server, database_url: str, redis: Redis
) -> Results:
    load = Load(args, server.port)
    load.warm_up()
    rounds = []
    for number in range(1, args.rounds + 1):
        rounds.append(load.round(number))
        logger.info(
            "round %d: bare %.0f/s, webhook %.0f/s, ratio %.3f",
            number,
            rounds[-1].bare.rate,
            rounds[-1].webhook.rate,
            rounds[-1].ratio,
        )
    bare, bare_cpu = measured(server.pid, load.bare_burst)
    webhook, webhook_cpu = measured(
        server.pid, lambda: load.webhook_burst(args.requests)
    )
    before = read_books(database_url, redis)
    redelivery = load.redeliver()
    after = read_books(database_url, redis)
    books = audit(load, before, after, redelivery)
    return Results(rounds, bare, webhook, bare_cpu, webhook_cpu, books)


def bench(args: argparse.Namespace, profile_dir: Path | None) -> list[Goal]:
    with scratch_database(args.database_url, "revisit_bench") as database_url:
        with scratch_redis(args.redis_url) as redis:
            config = base_config(
                database_url, args.redis_url, api_secret=SHOPIFY_SECRET
            )
            migrate(config)
            with (
                running_dispatcher(config),
                running_server(args, config, profile_dir) as server,
            ):
                results = measure(args, server, database_url, redis)
    print_rounds(args, results)
    print_burst(args, results)
    print_books(results.audit)
    if profile_dir is not None:
        report_profile(profile_dir, args.profile_top)
    return goals(results)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_fd is not None:
        return serve(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.profile and args.threads != 1:
        logger.info("profiling: one thread per worker, so waits are not for the GIL")
        args.threads = 1
    try:
        with tempfile.TemporaryDirectory(prefix="revisit-bench-") as scratch:
            profile_dir = Path(scratch) if args.profile else None
            targets = bench(args, profile_dir)
    except Exception:
        logger.exception("the bench could not run")
        return 1
    print()
    for goal in targets:
        print(goal.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
