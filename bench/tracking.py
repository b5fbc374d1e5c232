"""Benchmark of the widget's tracking endpoints: throughput, latency, the books.

It serves the real app with gunicorn (gthread workers, the ``revisit serve``
defaults, with ``plugin.gunicorn_conf``'s flush on exit) on a free loopback
port, adds ``POST /bench/bare`` (answers 204, nothing else) to the same app
object, and runs an RQ worker beside it that drains events as in production.
A small asyncio client sends pre-built requests over keep-alive connections,
each with the storefront's Origin header. It measures:

* throughput_ratio: accepted events per second over bare requests per second,
  one event per ``POST /api/widget/v1/events`` request (a page-leave beacon,
  the commonest). Each round sends ``--requests`` bare and as many events
  requests in alternating chunks on the same connections, so noise falls on
  both alike; the median over ``--rounds`` is reported. ``POST page`` (a
  returning visitor, on a shop with on-site rules: two small reads) is
  measured the same way and reported beside it;
* p99_latency_ms: latency of events requests sent at a steady half of the
  measured events rate for ``--seconds``, timed from when each request was
  due, so a stall counts against every request it delays;
* nothing_lost: after the load the server is stopped gracefully (SIGTERM: the
  workers flush their buffers on exit) and the worker drains Redis; then every
  accepted event id must be in ``visitor_events`` exactly once, and no other.

It also prints the server's CPU per request for each kind, which does not
depend on how fast this client can send, and what storing those requests'
events costs afterwards: the drain worker's CPU (with the work-horses it
forks) and PostgreSQL's (the machine's whole server), per request.

It uses a scratch PostgreSQL database (``revisit_bench_tracking_<pid>``,
created through ``--database-url``, migrated, dropped at the end) and Redis db
13 (flushed at the start and the end). Run::

    .venv/bin/python bench/tracking.py [--requests 2000] [--concurrency 16]

It prints a short table, then one line per goal, met or missed, and exits 0;
non-zero only when the bench itself could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import flask_migrate
import psycopg
from common import (
    Goal,
    add_onsite_rules,
    add_store_arguments,
    base_config,
    free_port,
    percentile,
    positive,
    read_answer,
    scratch_database,
    scratch_redis,
    stop,
)
from flask import Flask, Response
from gunicorn.app.base import BaseApplication
from redis import Redis

import plugin
from engine.db import db, utcnow
from engine.shops.models import Shop
from engine.tracking.buffer import QUEUE_KEY
from engine.tracking.drain import LOCK_KEY
from engine.tracking.tokens import issue_token, new_public_id

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
EVENTS_PATH = "/api/widget/v1/events"
PAGE_PATH = "/api/widget/v1/page"
BARE_PATH = "/bench/bare"
SECRET_KEY = "bench-secret-key"
SHOPS = tuple(f"bench-store-{n}.myshopify.com" for n in range(4))
VISITORS_PER_SHOP = 250

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
REQUEST_TIMEOUT = 30.0
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
DRAIN_TIMEOUT = 120.0
WARMUP = 300

GOAL_RATIO = 0.80
GOAL_P99_MS = 50.0


# ---------------------------------------------------------------- options


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_store_arguments(parser, DEFAULT_REDIS_URL)
    parser.add_argument("--requests", type=positive, default=2000)
    parser.add_argument("--rounds", type=positive, default=5)
    parser.add_argument("--chunk", type=positive, default=200)
    parser.add_argument("--concurrency", type=positive, default=16)
    parser.add_argument("--seconds", type=positive, default=10)
    parser.add_argument("--workers", type=positive, default=2)
    parser.add_argument("--threads", type=positive, default=4)
    # Internal: the processes this script starts for itself.
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--drain-worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ----------------------------------------------------------- environment


def app_config(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **base_config(database_url, redis_url, secret_key=SECRET_KEY),
        # Every request comes from one address and few visitors: budgets no
        # bench can exhaust, so the limiter's cost is measured, not its refusals.
        "WIDGET_RATE_LIMIT_IP": "1000000/1",
        "WIDGET_RATE_LIMIT_SHOP": "1000000/1",
        "WIDGET_RATE_LIMIT_VISITOR": "1000000/1",
    }


@dataclass(frozen=True)
class BenchShop:
    shop_id: int
    domain: str
    widget_key: str
    tokens: tuple[str, ...]


def prepare(config: dict[str, str]) -> list[BenchShop]:
    """Migrate; create the shops, each with two on-site rules; issue tokens."""
    app = plugin.create_app(config)
    shops = []
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        for domain in SHOPS:
            shop = Shop(shop_domain=domain, installed_at=utcnow())
            db.session.add(shop)
            db.session.commit()
            add_onsite_rules(shop)
            tokens = tuple(
                issue_token(SECRET_KEY, shop.id, new_public_id())
                for _ in range(VISITORS_PER_SHOP)
            )
            shops.append(BenchShop(shop.id, domain, shop.widget_key, tokens))
        db.session.remove()
        db.engine.dispose()
    return shops


# ------------------------------------------------------ child processes


class BenchServer(BaseApplication):
    """gunicorn serving the real app plus the bare route, as ``revisit serve``."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        from plugin import gunicorn_conf

        self.cfg.set("worker_exit", gunicorn_conf.worker_exit)
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        app = plugin.create_app()
        app.add_url_rule(BARE_PATH, "bench_bare", _bare, methods=["POST"])
        return app


def _bare() -> Response:
    return Response(status=204)


def serve(args: argparse.Namespace) -> int:
    BenchServer(
        {
            "bind": args.serve,
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": "gthread",
            "keepalive": 5,
            "graceful_timeout": 25,
            "backlog": 2048,
            "loglevel": "warning",
            "accesslog": None,
        }
    ).run()
    return 0


def drain_worker() -> int:
    from engine.worker import make_worker

    app = plugin.create_app()
    worker = make_worker(app)
    worker.log.setLevel(logging.WARNING)
    worker.work(with_scheduler=False, logging_level="WARNING")
    return 0


@dataclass
class Processes:
    port: int
    server: subprocess.Popen
    worker: subprocess.Popen


@contextmanager
def running(args: argparse.Namespace, config: dict[str, str]) -> Iterator[Processes]:
    port = free_port()
    env = {**os.environ, **config}
    me = [sys.executable, str(Path(__file__).resolve())]
    server = subprocess.Popen(
        [
            *me,
            f"--serve={HOST}:{port}",
            f"--workers={args.workers}",
            f"--threads={args.threads}",
        ],
        env=env,
    )
    worker = subprocess.Popen([*me, "--drain-worker"], env=env)
    try:
        _wait_ready(port, server)
        yield Processes(port, server, worker)
    finally:
        for process in (server, worker):
            stop(process, STOP_TIMEOUT)


def _wait_ready(port: int, process: subprocess.Popen) -> None:
    probe = [raw_request(BARE_PATH, port, "", b"{}")]
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            if closed_loop(port, 1, probe).statuses == [204]:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {READY_TIMEOUT:g} s")


# --------------------------------------------------------------- requests


def raw_request(path: str, port: int, origin: str, body: bytes) -> bytes:
    """The raw keep-alive request, built before any timing."""
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {HOST}:{port}\r\n"
        "Content-Type: text/plain;charset=UTF-8\r\n"
        f"Origin: {origin}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


@dataclass
class Requests:
    """Pre-built requests of one kind and the client event ids they carry."""

    payloads: list[bytes] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    used: int = 0

    def take(self, count: int) -> tuple[list[bytes], list[str]]:
        part = slice(self.used, self.used + count)
        self.used += count
        return self.payloads[part], self.event_ids[part]


def build(
    shops: list[BenchShop], port: int, count: int
) -> tuple[Requests, Requests, Requests]:
    """``count`` each of bare, events (one page-leave) and page requests."""
    bare, events, pages = Requests(), Requests(), Requests()
    at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    for number in range(count):
        shop = shops[number % len(shops)]
        token = shop.tokens[number // len(shops) % len(shop.tokens)]
        origin = f"https://{shop.domain}"
        url = f"https://{shop.domain}/products/chew-toy-{number % 40}"
        event_id = str(uuid.uuid4())
        beacon = {
            "widget_key": shop.widget_key,
            "visitor_token": token,
            "events": [
                {
                    "id": event_id,
                    "type": "page_leave",
                    "at": at,
                    "url": url,
                    "seconds_on_page": number % 90,
                }
            ],
        }
        body = json.dumps(beacon, separators=(",", ":")).encode()
        events.payloads.append(raw_request(EVENTS_PATH, port, origin, body))
        events.event_ids.append(event_id)
        bare.payloads.append(raw_request(BARE_PATH, port, origin, body))

        page_id = str(uuid.uuid4())
        view = {
            "widget_key": shop.widget_key,
            "visitor_token": token,
            "page": {
                "url": url,
                "page_type": "product",
                "product_id": str(8000 + number % 40),
                "product_handle": f"chew-toy-{number % 40}",
                "referrer": "https://www.google.com/",
                "title": "Chew toy",
            },
            "locale": "zh-TW",
            "event_id": page_id,
        }
        body = json.dumps(view, separators=(",", ":")).encode()
        pages.payloads.append(raw_request(PAGE_PATH, port, origin, body))
        pages.event_ids.append(page_id)
    return bare, events, pages


# ----------------------------------------------------------------- client


@dataclass
class Burst:
    elapsed: float
    latencies: list[float]
    statuses: list[int]

    @property
    def rate(self) -> float:
        return len(self.statuses) / self.elapsed

    def failures(self, ok: int) -> int:
        return sum(1 for status in self.statuses if status != ok)

    def latencies_ms(self) -> list[float]:
        return [1000 * value for value in self.latencies]

    @classmethod
    def combine(cls, parts: Sequence[Burst]) -> Burst:
        return cls(
            elapsed=sum(part.elapsed for part in parts),
            latencies=[value for part in parts for value in part.latencies],
            statuses=[value for part in parts for value in part.statuses],
        )


class Connection:
    """One keep-alive connection; reopened if the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, payload: bytes) -> int:
        """Send one request, read its answer; the status, or 0 on failure."""
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(
                    HOST, self.port
                )
            self.writer.write(payload)
            status, keep_alive = await asyncio.wait_for(
                read_answer(self.reader), REQUEST_TIMEOUT
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


async def _closed_loop(connections: list[Connection], payloads: Sequence[bytes]):
    statuses = [0] * len(payloads)
    latencies = [0.0] * len(payloads)
    order = iter(range(len(payloads)))

    async def drive(connection: Connection) -> None:
        for index in order:
            started = time.perf_counter()
            statuses[index] = await connection.exchange(payloads[index])
            latencies[index] = time.perf_counter() - started

    started = time.perf_counter()
    await asyncio.gather(*(drive(connection) for connection in connections))
    return Burst(time.perf_counter() - started, latencies, statuses)


def closed_loop(port: int, concurrency: int, payloads: Sequence[bytes]) -> Burst:
    """Send back to back over ``concurrency`` connections."""

    async def run() -> Burst:
        connections = [Connection(port) for _ in range(concurrency)]
        try:
            return await _closed_loop(connections, payloads)
        finally:
            for connection in connections:
                connection.close()

    return asyncio.run(run())


def alternating(
    port: int, concurrency: int, first: list[bytes], second: list[bytes], chunk: int
) -> tuple[Burst, Burst]:
    """Chunks of ``first`` and ``second`` in turn on the same connections."""

    async def run() -> tuple[Burst, Burst]:
        connections = [Connection(port) for _ in range(concurrency)]
        firsts, seconds = [], []
        try:
            for start in range(0, len(first), chunk):
                firsts.append(
                    await _closed_loop(connections, first[start : start + chunk])
                )
                seconds.append(
                    await _closed_loop(connections, second[start : start + chunk])
                )
        finally:
            for connection in connections:
                connection.close()
        return Burst.combine(firsts), Burst.combine(seconds)

    return asyncio.run(run())


def paced(port: int, rate: float, payloads: Sequence[bytes], pool: int) -> Burst:
    """Send at ``rate`` per second (open loop); latency counts from when due."""

    async def run() -> Burst:
        idle: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(pool):
            idle.put_nowait(Connection(port))
        statuses = [0] * len(payloads)
        latencies = [0.0] * len(payloads)
        start = time.perf_counter()

        async def one(index: int, due: float) -> None:
            connection = await idle.get()
            statuses[index] = await connection.exchange(payloads[index])
            latencies[index] = time.perf_counter() - due
            idle.put_nowait(connection)

        tasks = []
        for index in range(len(payloads)):
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        while not idle.empty():
            idle.get_nowait().close()
        return Burst(elapsed, latencies, statuses)

    return asyncio.run(run())


# ----------------------------------------------------------- CPU by process


def server_cpu(server_pid: int) -> float:
    """CPU seconds so far of the gunicorn master and its workers."""
    return cpu_seconds(
        lambda stat: stat.own if server_pid in (stat.pid, stat.ppid) else 0.0
    )


def worker_cpu(worker_pid: int) -> float:
    """CPU seconds so far of the RQ worker and the work-horses it has reaped."""
    return cpu_seconds(
        lambda stat: stat.own + stat.reaped if stat.pid == worker_pid else 0.0
    )


def postgres_cpu() -> float:
    """CPU seconds so far of every PostgreSQL process and its ended backends:
    the machine's whole PostgreSQL, which on a quiet machine is this bench's."""
    return cpu_seconds(
        lambda stat: stat.own + stat.reaped if stat.name == "postgres" else 0.0
    )


@dataclass(frozen=True)
class ProcessStat:
    pid: int
    ppid: int
    name: str
    own: float
    reaped: float


def cpu_seconds(share: Callable[[ProcessStat], float]) -> float:
    """The sum of ``share`` over every process, from /proc; NaN off Linux."""
    proc = Path("/proc")
    if not proc.is_dir():
        return math.nan
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        stat = ProcessStat(
            pid=int(entry.name),
            ppid=int(fields[1]),
            name=text[text.index("(") + 1 : text.rindex(")")],
            own=(int(fields[11]) + int(fields[12])) / tick,
            reaped=(int(fields[13]) + int(fields[14])) / tick,
        )
        total += share(stat)
    return total


def cpu_per_request(server_pid: int, port: int, concurrency: int, payloads) -> float:
    """Server CPU ms per request over one closed-loop burst."""
    before = server_cpu(server_pid)
    closed_loop(port, concurrency, payloads)
    return 1000 * (server_cpu(server_pid) - before) / len(payloads)


# ---------------------------------------------------------------- measure


@dataclass
class Ledger:
    """Which client event ids the server accepted."""

    accepted: set[str] = field(default_factory=set)
    sent: int = 0
    refused: int = 0

    def record(self, burst: Burst, ids: list[str], ok: int) -> Burst:
        self.sent += len(ids)
        for status, event_id in zip(burst.statuses, ids, strict=True):
            if status == ok:
                self.accepted.add(event_id)
            else:
                self.refused += 1
        return burst


@dataclass
class Results:
    events_ratios: list[float]
    page_ratios: list[float]
    bare_rates: list[float]
    events_rates: list[float]
    page_rates: list[float]
    cpu_ms: dict[str, float]
    paced: Burst
    paced_rate: float
    drained_in: float
    ledger: Ledger
    rows: int
    found: int
    duplicates: int
    left_in_redis: int


def measure(
    args: argparse.Namespace,
    shops: list[BenchShop],
    processes: Processes,
    database_url: str,
    redis: Redis,
) -> Results:
    port, pid = processes.port, processes.server.pid
    paced_count = 0
    bare, events, pages = build(shops, port, _requests_needed(args))
    ledger = Ledger()

    logger.info("warming up")
    closed_loop(port, args.concurrency, bare.payloads[:WARMUP])
    for kind in (events, pages):
        payloads, ids = kind.take(WARMUP)
        ledger.record(
            closed_loop(port, args.concurrency, payloads), ids, _ok(kind, events)
        )

    events_ratios, page_ratios, bare_rates, events_rates, page_rates = (
        [],
        [],
        [],
        [],
        [],
    )
    for number in range(1, args.rounds + 1):
        for kind, ratios, rates in (
            (events, events_ratios, events_rates),
            (pages, page_ratios, page_rates),
        ):
            payloads, ids = kind.take(args.requests)
            bare_part = bare.payloads[: args.requests]
            if number % 2:
                base, tried = alternating(
                    port, args.concurrency, bare_part, payloads, args.chunk
                )
            else:
                tried, base = alternating(
                    port, args.concurrency, payloads, bare_part, args.chunk
                )
            ledger.record(tried, ids, _ok(kind, events))
            ratios.append(tried.rate / base.rate)
            rates.append(tried.rate)
            if kind is events:
                bare_rates.append(base.rate)
        logger.info(
            "round %d: bare %.0f/s, events %.0f/s (%.3f), page %.0f/s (%.3f)",
            number,
            bare_rates[-1],
            events_rates[-1],
            events_ratios[-1],
            page_rates[-1],
            page_ratios[-1],
        )

    cpu_ms = {
        "bare": cpu_per_request(
            pid, port, args.concurrency, bare.payloads[: args.requests]
        )
    }
    for name, kind in (("events", events), ("page", pages)):
        payloads, ids = kind.take(args.requests)
        _wait_drained(redis)
        before = server_cpu(pid), worker_cpu(processes.worker.pid), postgres_cpu()
        ledger.record(
            closed_loop(port, args.concurrency, payloads), ids, _ok(kind, events)
        )
        cpu_ms[name] = 1000 * (server_cpu(pid) - before[0]) / len(payloads)
        # What writing them costs after the answer: the drain and the database.
        _wait_drained(redis)
        cpu_ms[f"{name}_drain"] = (
            1000 * (worker_cpu(processes.worker.pid) - before[1]) / len(payloads)
        )
        cpu_ms[f"{name}_postgres"] = 1000 * (postgres_cpu() - before[2]) / len(payloads)

    rate = statistics.median(events_rates) / 2
    paced_count = int(rate * args.seconds)
    payloads, ids = events.take(paced_count)
    logger.info("steady load: %d events requests at %.0f/s", paced_count, rate)
    steady = ledger.record(paced(port, rate, payloads, args.concurrency * 4), ids, 202)

    logger.info("stopping the server gracefully, then draining")
    stopped = time.monotonic()
    stop(processes.server, STOP_TIMEOUT)
    left = _wait_drained(redis)
    drained_in = time.monotonic() - stopped
    rows, found, duplicates = audit(database_url, ledger.accepted)
    return Results(
        events_ratios,
        page_ratios,
        bare_rates,
        events_rates,
        page_rates,
        cpu_ms,
        steady,
        rate,
        drained_in,
        ledger,
        rows,
        found,
        duplicates,
        left,
    )


def _ok(kind: Requests, events: Requests) -> int:
    return 202 if kind is events else 200


def _requests_needed(args: argparse.Namespace) -> int:
    # Generous: the steady phase's size depends on the measured rate.
    return WARMUP + (args.rounds + 1) * args.requests + 4000 * args.seconds


def _wait_drained(redis: Redis) -> int:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        if not redis.llen(QUEUE_KEY) and not redis.exists(LOCK_KEY):
            return 0
        time.sleep(0.2)
    return int(redis.llen(QUEUE_KEY))


def audit(database_url: str, accepted: set[str]) -> tuple[int, int, int]:
    """(rows, accepted ids found, ids stored more than once)."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        stored = [row[0] for row in conn.execute("SELECT event_id FROM visitor_events")]
    unique = set(stored)
    return len(stored), len(accepted & unique), len(stored) - len(unique)


# ----------------------------------------------------------------- report


def report(args: argparse.Namespace, results: Results) -> list[Goal]:
    print(
        f"\nserver: gunicorn {args.workers} workers x {args.threads} threads (gthread),"
        f" an RQ worker draining; client: {args.concurrency} keep-alive connections"
    )
    print("round  bare req/s  events ev/s  ratio  page req/s  ratio")
    for n in range(args.rounds):
        print(
            f"{n + 1:>5}  {results.bare_rates[n]:>10.0f}"
            f"  {results.events_rates[n]:>11.0f}"
            f"  {results.events_ratios[n]:>5.3f}  {results.page_rates[n]:>10.0f}"
            f"  {results.page_ratios[n]:>5.3f}"
        )
    events_ratio = statistics.median(results.events_ratios)
    page_ratio = statistics.median(results.page_ratios)
    print(f"median{'':>24}{events_ratio:.3f}{'':>14}{page_ratio:.3f}")
    cpu = results.cpu_ms
    print(
        f"server CPU ms per request: bare {cpu['bare']:.3f}, events {cpu['events']:.3f}"
        f" ({cpu['bare'] / cpu['events']:.2f} of bare's rate), page {cpu['page']:.3f}"
        f" ({cpu['bare'] / cpu['page']:.2f})"
    )
    print(
        "then, to store them, CPU ms per request: events: drain worker"
        f" {cpu['events_drain']:.3f}, PostgreSQL {cpu['events_postgres']:.3f};"
        f" page: drain worker {cpu['page_drain']:.3f},"
        f" PostgreSQL {cpu['page_postgres']:.3f}"
    )
    lat = results.paced.latencies_ms()
    print(
        f"steady {results.paced_rate:.0f} events requests/s for {args.seconds} s:"
        f" p50 {percentile(lat, 50):.1f} ms, p99 {percentile(lat, 99):.1f} ms,"
        f" max {max(lat):.1f} ms, refused {results.paced.failures(202)}"
    )
    ledger = results.ledger
    print(
        f"books: {ledger.sent} events sent, {len(ledger.accepted)} accepted,"
        f" {ledger.refused} refused; {results.rows} rows, {results.found} accepted"
        f" ids found, {results.duplicates} duplicates,"
        f" {results.rows - results.found - results.duplicates} strays;"
        f" {results.left_in_redis} chunks left in Redis;"
        f" stop + drain took {results.drained_in:.1f} s"
    )
    p99 = percentile(lat, 99)
    complete = (
        results.found == len(ledger.accepted)
        and results.rows == results.found
        and ledger.refused == 0
        and results.left_in_redis == 0
    )
    return [
        Goal(
            "throughput_ratio",
            f"{events_ratio:.2f}",
            f">= {GOAL_RATIO:.2f}",
            events_ratio >= GOAL_RATIO,
        ),
        Goal("p99_latency_ms", f"{p99:.1f}", f"<= {GOAL_P99_MS:g}", p99 <= GOAL_P99_MS),
        Goal(
            "nothing_lost",
            f"{results.found}/{len(ledger.accepted)} stored once",
            "all",
            complete,
        ),
    ]


# ------------------------------------------------------------------- main


def bench(args: argparse.Namespace) -> list[Goal]:
    with scratch_database(args.database_url, "revisit_bench_tracking") as database_url:
        with scratch_redis(args.redis_url) as redis:
            config = app_config(database_url, args.redis_url)
            shops = prepare(config)
            with running(args, config) as processes:
                results = measure(args, shops, processes, database_url, redis)
    return report(args, results)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        return serve(args)
    if args.drain_worker:
        return drain_worker()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("engine").setLevel(logging.WARNING)
    try:
        goals = bench(args)
    except Exception:
        logger.exception("the bench could not run")
        return 1
    print()
    for goal in goals:
        print(goal.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
