"""Benchmark of reminder delivery: batched jobs against one message per job.

It plants ``--carts`` abandoned carts (10,000) whose one reminder step falls
due evenly over ``--spread`` seconds (60), each with its own RQ wake-up job
as production schedules them, and lets real ``revisit worker`` processes
(``--workers``, forking, with RQ's scheduler) deliver them to the fake LINE
server, which answers after ``--latency`` seconds (0.05) and enforces LINE's
push rate limit (2,000 requests per second per channel). Then it does the
same for ``--baseline-carts`` carts (fewer: the plain design cannot keep up)
due over a proportionally shorter spread, so the load per second is the
same, with the plain design: each wake-up job sends its own message and
nothing else (``deliver_reminders(send_id, 1, 1, 0)``).

Sends per second per worker process are sends divided by the seconds worker
processes spent delivering (each batch logs its ``busy_seconds``; a batched
job's waits for later sends are not counted; for one message per job the
fork of each job is not counted either, which flatters the baseline).
Lateness is ``sent_at`` minus ``due_at`` as recorded by the engine (the 50 ms
answer included). 429s, the busiest second at LINE, duplicates (a LINE user
receiving twice) and losses (a cart never reminded) are read from the fake
LINE server and the database.

It uses a scratch PostgreSQL database (``revisit_bench_reminders_<pid>``,
dropped at the end) and Redis db 15 (flushed at the start and the end). Run::

    .venv/bin/python bench/reminders.py [--carts 10000] [--workers 1]

It prints a short table, then one line per goal, met or missed, and exits 0;
it exits non-zero only when the bench itself could not run.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

import flask_migrate
from common import (
    Goal,
    add_store_arguments,
    base_config,
    insert_rows,
    percentile,
    positive,
    scratch_database,
    scratch_redis,
    served,
    start_revisit,
)
from flask import Flask
from sqlalchemy import func, select, text
from werkzeug.serving import make_server

import plugin
from engine.binding.models import LINE, ChannelBinding
from engine.channels.models import ChannelAccount
from engine.commerce.models import Cart, LineItem
from engine.db import db
from engine.reminders import flow_for, update_flow
from engine.reminders.models import ReminderRun, ReminderSend
from engine.reminders.scheduling import (
    DELIVER_JOB,
    JOB_TIMEOUT,
    QUEUE,
    Wakeup,
    enqueue_wakeups,
    job_id,
    retry_key_for,
)
from engine.runtime import current
from engine.shops.install import record_install
from engine.shops.tokens import TokenGrant
from engine.visitors.models import Visitor
from plugin.sandbox.line_platform import PUSH_RATE_LIMIT, FakeLinePlatform
from plugin.sandbox.shopify_http import QuietRequestHandler
from plugin.sandbox.shopify_platform import FakeShopifyPlatform

logger = logging.getLogger(__name__)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
SHOP_DOMAIN = "bench-reminders.myshopify.com"
API_KEY = "bench-reminders-api-key"
API_SECRET = "bench-reminders-api-secret"
LINE_CHANNEL_ID = "1650009999"
LINE_TOKEN = "bench-line-access-token"
VARIANTS = ((808950810, "Oolong", "450.00"), (808950820, "Matcha", "680.00"))
# Wake-up jobs are scheduled before the first send falls due, this long after
# planting; the workers are up and idle by then.
LEAD_SECONDS = 8.0
DRAIN_TIMEOUT = 60.0

GOAL_RATIO = 20.0
GOAL_RATE = 300.0
GOAL_P99_SECONDS = 2.0
GOAL_SHARE_OF_LIMIT = 0.80

_BATCH_LINE = re.compile(r"reminders\.batch_done (?P<fields>.*)$")
_FIELD = re.compile(r"(\w+)=([0-9.]+)")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_store_arguments(parser, DEFAULT_REDIS_URL)
    parser.add_argument("--carts", type=positive, default=10_000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds")
    parser.add_argument("--baseline-carts", type=positive, default=300)
    parser.add_argument("--latency", type=float, default=0.05, help="LINE's answer")
    parser.add_argument("--workers", type=positive, default=1)
    return parser.parse_args(argv)


# ----------------------------------------------------------- environment


class KeepAliveHandler(QuietRequestHandler):
    """HTTP/1.1, so the LINE client keeps its connections open as with LINE."""

    protocol_version = "HTTP/1.1"


@dataclass
class LineSummary:
    throttled: int
    # (recipient, delivered, accepted at as a POSIX time) per accepted push
    accepted: list[tuple[str, bool, float]]


class LineProcess:
    """The fake LINE server in a process of its own, so its CPU is not the
    bench's; commands and summaries go over a pipe."""

    def __init__(self, latency: float) -> None:
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(
            target=_serve_line, args=(child, latency), daemon=True
        )
        self._process.start()
        self.base_url = self._pipe.recv()

    def reset(self) -> None:
        self._ask(("reset",))

    def summary(self) -> LineSummary:
        return self._ask(("summary",))

    def stop(self) -> None:
        self._ask(("stop",))
        self._process.join(timeout=10)

    def _ask(self, command: tuple) -> object:
        self._pipe.send(command)
        return self._pipe.recv()


def _serve_line(pipe: Connection, latency: float) -> None:
    line = FakeLinePlatform(latency=latency)
    server = make_server(
        "127.0.0.1", 0, line.wsgi_app, threaded=True, request_handler=KeepAliveHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    line.add_channel(LINE_CHANNEL_ID, LINE_TOKEN, "bench-line-secret")
    pipe.send(f"http://127.0.0.1:{server.server_port}")
    while True:
        command = pipe.recv()
        if command[0] == "reset":
            line.reset()
            line.add_channel(LINE_CHANNEL_ID, LINE_TOKEN, "bench-line-secret")
            pipe.send(None)
        elif command[0] == "summary":
            accepted = [
                (entry.recipient, entry.delivered, entry.accepted_at.timestamp())
                for entry in list(line.outbox)
            ]
            pipe.send(LineSummary(line.throttled_count, accepted))
        else:
            server.shutdown()
            pipe.send(None)
            return


@contextmanager
def line_server(latency: float) -> Iterator[LineProcess]:
    line = LineProcess(latency)
    try:
        yield line
    finally:
        line.stop()


def app_environment(
    database_url: str, redis_url: str, shopify_url: str, line_url: str
) -> dict[str, str]:
    return {
        **base_config(database_url, redis_url, api_key=API_KEY, api_secret=API_SECRET),
        "SHOPIFY_BASE_URL": shopify_url,
        "LINE_API_BASE_URL": line_url,
        "REVISIT_DEMO": "0",
        # The sweep is the safety net for wake-ups Redis lost; here it would
        # wake a lagging baseline's sends with batched jobs, measuring a mix.
        "REMINDER_SWEEP_GRACE_SECONDS": "3600",
    }


# ------------------------------------------------------------- the store


def open_store(app: Flask, shopify: FakeShopifyPlatform) -> int:
    """Install the bench shop with a 1-step flow and a LINE account."""
    shopify.add_shop(SHOP_DOMAIN, name="Bench Tea", currency="TWD")
    for variant_id, title, price in VARIANTS:
        shopify.add_product(
            SHOP_DOMAIN,
            title,
            description=f"{title} for the bench.",
            image_url=f"https://cdn.example.com/{title.lower()}.jpg",
            variants=[{"id": variant_id, "price": price, "inventory": None}],
        )
    grant = shopify.issue_access_token(SHOP_DOMAIN)
    with app.app_context():
        shop = record_install(
            SHOP_DOMAIN, TokenGrant.from_token_response(grant, datetime.now(UTC))
        )
        shop.name, shop.currency, shop.timezone = "Bench Tea", "TWD", "Asia/Taipei"
        db.session.add(
            ChannelAccount(
                shop_id=shop.id,
                channel=LINE,
                line_channel_id=LINE_CHANNEL_ID,
                line_channel_access_token=LINE_TOKEN,
            )
        )
        flow_for(shop)
        update_flow(
            shop,
            {
                "quiet_hours": None,
                "frequency_cap": 20,
                "steps": [
                    {
                        "delay_minutes": 60,
                        "channel": LINE,
                        "message": [
                            {"type": "text", "text": "Hi {first_name|there}!"},
                            {"type": "carousel"},
                        ],
                    }
                ],
            },
        )
        db.session.commit()
        return shop.id


def line_user(number: int) -> str:
    return "U" + hashlib.md5(f"bench-{number}".encode()).hexdigest()


def plant_shoppers(app: Flask, shop_id: int, count: int) -> list[int]:
    """``count`` bound visitors, each with a two-line cart; returns cart ids."""
    now = datetime.now(UTC)
    with app.app_context():
        insert_rows(
            Visitor,
            [
                {
                    "shop_id": shop_id,
                    "public_id": f"bench-{n}",
                    "first_name": f"Shopper {n}",
                    "created_at": now,
                    "last_seen_at": now,
                }
                for n in range(count)
            ],
        )
        visitors = _ids(select(Visitor.id).order_by(Visitor.id))
        insert_rows(
            ChannelBinding,
            [
                {
                    "shop_id": shop_id,
                    "visitor_id": visitor_id,
                    "channel": LINE,
                    "external_id": line_user(n),
                    "reachable": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for n, visitor_id in enumerate(visitors)
            ],
        )
        insert_rows(
            Cart,
            [
                {
                    "shop_id": shop_id,
                    "token": f"bench-cart-{n}",
                    "visitor_id": visitor_id,
                    "currency": "TWD",
                    "total_price": "1130.00",
                    "item_count": 2,
                    "created_at": now,
                    "updated_at": now,
                }
                for n, visitor_id in enumerate(visitors)
            ],
        )
        carts = _ids(select(Cart.id).order_by(Cart.id))
        insert_rows(
            LineItem,
            [
                {
                    "shop_id": shop_id,
                    "cart_id": cart_id,
                    "position": position,
                    "product_id": None,
                    "variant_id": str(variant_id),
                    "title": title,
                    "quantity": 1,
                    "price": price,
                }
                for cart_id in carts
                for position, (variant_id, title, price) in enumerate(VARIANTS)
            ],
        )
        db.session.commit()
        return carts


@dataclass(frozen=True)
class Phase:
    """One delivery run: which carts, which job arguments, when due."""

    name: str
    round: int
    carts: list[int]
    spread: float
    job_args: tuple[int, ...]


def plant_sends(app: Flask, shop_id: int, phase: Phase, start: datetime) -> None:
    """A run and its one pending send per cart, due evenly from ``start``."""
    step = phase.spread / max(1, len(phase.carts))
    with app.app_context():
        visitors = dict(
            db.session.execute(
                select(Cart.id, Cart.visitor_id).where(Cart.id.in_(phase.carts))
            ).all()
        )
        insert_rows(
            ReminderRun,
            [
                {
                    "shop_id": shop_id,
                    "cart_id": cart_id,
                    "visitor_id": visitors[cart_id],
                    "round": phase.round,
                    "status": "active",
                    "cart_fingerprint": "bench",
                    "last_activity_at": start - timedelta(minutes=90),
                    "abandoned_at": start - timedelta(minutes=60),
                    "created_at": start - timedelta(minutes=90),
                }
                for cart_id in phase.carts
            ],
        )
        runs = db.session.scalars(
            select(ReminderRun).where(ReminderRun.round == phase.round)
        ).all()
        runs = sorted(runs, key=lambda run: run.cart_id)
        sends = []
        for index, run in enumerate(runs):
            due = start + timedelta(seconds=index * step)
            sends.append(
                {
                    "shop_id": shop_id,
                    "run_id": run.id,
                    "position": 1,
                    "visitor_id": run.visitor_id,
                    "status": "pending",
                    "planned_at": due,
                    "due_at": due,
                    "attempts": 0,
                    "retry_key": retry_key_for(run, 1),
                    "duplicate": False,
                    "clicks": 0,
                    "created_at": start,
                    "updated_at": start,
                }
            )
        insert_rows(ReminderSend, sends)
        db.session.commit()
        # A live database's tables have statistics (autovacuum analyzes
        # them); without them the planner takes rows just planted for a few
        # and the batch's locking join scans every cart, 100-200 ms a batch.
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def schedule_wakeups(app: Flask, phase: Phase) -> None:
    """One RQ wake-up job per send at its due time, as the engine makes them."""
    with app.app_context():
        rows = db.session.execute(
            select(ReminderSend.id, ReminderSend.due_at, ReminderRun.cart_id)
            .join(ReminderRun, ReminderRun.id == ReminderSend.run_id)
            .where(ReminderRun.round == phase.round)
        ).all()
        wakeups = [
            Wakeup(send_id, job_id(cart_id, phase.round, 1, due_at), due_at)
            for send_id, due_at, cart_id in rows
        ]
        if phase.job_args:
            _schedule_plain(wakeups, phase.job_args)
            return
        chunks = [wakeups[i : i + 500] for i in range(0, len(wakeups), 500)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda chunk: _in_app(app, enqueue_wakeups, chunk), chunks))


def _schedule_plain(wakeups: list[Wakeup], job_args: tuple[int, ...]) -> None:
    queue = current().queue(QUEUE)
    for wakeup in wakeups:
        at = datetime.fromtimestamp(math.ceil(wakeup.at.timestamp()), UTC)
        queue.enqueue_at(
            at,
            DELIVER_JOB,
            wakeup.send_id,
            *job_args,
            job_id=wakeup.job_id,
            job_timeout=JOB_TIMEOUT,
            result_ttl=60,
        )


def _in_app(app: Flask, function, *args) -> object:  # noqa: ANN001, ANN002
    with app.app_context():
        return function(*args)


def _ids(query) -> list[int]:  # noqa: ANN001
    return list(db.session.scalars(query))


# ------------------------------------------------------------- workers


class Workers:
    """``revisit worker`` processes logging to one file each."""

    def __init__(self, env: dict[str, str], count: int, log_dir: Path) -> None:
        self.logs = [log_dir / f"worker-{n}.log" for n in range(count)]
        self.processes = [start_revisit(["worker"], env, path) for path in self.logs]

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until each worker's webhook dispatcher listens: a work-horse forked
        while that thread starts can hang (see the report)."""
        deadline = time.monotonic() + timeout
        for path, process in zip(self.logs, self.processes, strict=True):
            while "*** Listening on" not in path.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"A worker did not start; see {path}.")
                time.sleep(0.1)
            while "webhooks.dispatcher_listening" not in path.read_text(
                errors="replace"
            ):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)

    def batches(self) -> tuple[int, float, int]:
        """Batches logged so far: (count, busy seconds, sends delivered)."""
        count, busy, delivered = 0, 0.0, 0
        for path in self.logs:
            for line in path.read_text(errors="replace").splitlines():
                match = _BATCH_LINE.search(line)
                if match is None:
                    continue
                fields = dict(_FIELD.findall(match.group("fields")))
                count += 1
                busy += float(fields.get("busy_seconds", 0))
                delivered += int(fields.get("delivered", 0))
        return count, busy, delivered

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


# ------------------------------------------------------------- measuring


@dataclass
class Result:
    name: str
    carts: int
    sent: int
    lost: int
    duplicates: int
    throttled: int
    peak_per_second: int
    busy_seconds: float
    batches: int
    lateness: list[float]
    wall_seconds: float

    @property
    def rate_per_process(self) -> float:
        return self.sent / self.busy_seconds if self.busy_seconds else 0.0

    @property
    def p99_lateness(self) -> float:
        return percentile(self.lateness, 99)


def run_phase(
    app: Flask,
    shop_id: int,
    phase: Phase,
    line: LineProcess,
    workers: Workers,
) -> Result:
    print(
        f"{phase.name}: {len(phase.carts)} carts due over {phase.spread:.1f} s ...",
        flush=True,
    )
    line.reset()
    batches_before = workers.batches()

    start = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
    plant_sends(app, shop_id, phase, start)
    schedule_wakeups(app, phase)
    began = time.monotonic()
    settled = _wait_settled(app, phase, start)
    wall = time.monotonic() - began

    batches_after = workers.batches()
    return _result(app, phase, line, settled, batches_before, batches_after, wall)


def _wait_settled(app: Flask, phase: Phase, start: datetime) -> bool:
    deadline = start + timedelta(seconds=phase.spread + DRAIN_TIMEOUT)
    with app.app_context():
        while datetime.now(UTC) < deadline:
            waiting = db.session.scalar(
                select(func.count())
                .select_from(ReminderSend)
                .join(ReminderRun, ReminderRun.id == ReminderSend.run_id)
                .where(
                    ReminderRun.round == phase.round,
                    ReminderSend.status.in_(("pending", "sending")),
                )
            )
            db.session.commit()
            if waiting == 0:
                return True
            # Not more often: the count takes the workers' CPU, and no
            # figure depends on when the bench notices the end.
            time.sleep(1.0)
    return False


def _result(
    app: Flask,
    phase: Phase,
    line: LineProcess,
    settled: bool,
    before: tuple[int, float, int],
    after: tuple[int, float, int],
    wall: float,
) -> Result:
    with app.app_context():
        rows = db.session.execute(
            select(ReminderSend.status, ReminderSend.sent_at, ReminderSend.due_at)
            .join(ReminderRun, ReminderRun.id == ReminderSend.run_id)
            .where(ReminderRun.round == phase.round)
        ).all()
    sent = [(sent_at, due_at) for status, sent_at, due_at in rows if status == "sent"]
    summary = line.summary()
    deliveries = Counter(who for who, delivered, _ in summary.accepted if delivered)
    accepted = sorted(at for _, _, at in summary.accepted)
    if not settled:
        print(f"  {phase.name}: not every send settled in time", flush=True)
    return Result(
        name=phase.name,
        carts=len(phase.carts),
        sent=len(sent),
        lost=len(phase.carts) - len(deliveries),
        duplicates=sum(count - 1 for count in deliveries.values()),
        throttled=summary.throttled,
        peak_per_second=_busiest_second(accepted),
        busy_seconds=after[1] - before[1],
        batches=after[0] - before[0],
        lateness=[(s - d).total_seconds() for s, d in sent],
        wall_seconds=wall,
    )


def _busiest_second(times: list[float]) -> int:
    """The most requests LINE accepted within any one-second window."""
    busiest, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


# ---------------------------------------------------------------- report


def report(batched: Result, plain: Result, args: argparse.Namespace) -> None:
    print()
    print(f"{'':24}{'batched':>14}{'one per job':>14}")
    for label, value in (
        ("carts", lambda r: f"{r.carts}"),
        ("sent", lambda r: f"{r.sent}"),
        ("jobs / batches", lambda r: f"{r.batches}"),
        ("busy seconds", lambda r: f"{r.busy_seconds:.1f}"),
        ("sends/s per process", lambda r: f"{r.rate_per_process:.1f}"),
        ("p50 lateness (s)", lambda r: f"{percentile(r.lateness, 50):.3f}"),
        ("p99 lateness (s)", lambda r: f"{r.p99_lateness:.3f}"),
        ("max lateness (s)", lambda r: f"{max(r.lateness, default=0):.3f}"),
        ("429s", lambda r: f"{r.throttled}"),
        ("busiest second at LINE", lambda r: f"{r.peak_per_second}"),
        ("duplicates", lambda r: f"{r.duplicates}"),
        ("lost", lambda r: f"{r.lost}"),
    ):
        print(f"{label:24}{value(batched):>14}{value(plain):>14}")
    print(
        f"\nThe one-message-per-job design ran {plain.carts} carts due over"
        f" {args.spread * plain.carts / args.carts:.1f} s (the same load per"
        f" second as {batched.carts} over {args.spread:.0f} s) and is scaled"
        " as a rate: it would need"
        f" {batched.carts / max(plain.rate_per_process, 1e-9) / 60:.0f} minutes"
        f" of one process for all {batched.carts}. {args.workers} worker"
        f" process(es); LINE answered after {args.latency * 1000:.0f} ms."
    )
    print()

    ratio = batched.rate_per_process / max(plain.rate_per_process, 1e-9)
    limit = PUSH_RATE_LIMIT
    share = batched.peak_per_second / limit
    _goal("ratio", f"{ratio:.1f}x", f">= {GOAL_RATIO:.0f}x", ratio >= GOAL_RATIO)
    _goal(
        "sends_per_second_per_process",
        f"{batched.rate_per_process:.0f}",
        f">= {GOAL_RATE:.0f}",
        batched.rate_per_process >= GOAL_RATE,
    )
    _goal(
        "p99_lateness",
        f"{batched.p99_lateness:.2f} s",
        f"<= {GOAL_P99_SECONDS:.0f} s",
        batched.p99_lateness <= GOAL_P99_SECONDS,
    )
    _goal(
        "rate_limit",
        f"{batched.throttled} 429s, busiest second {batched.peak_per_second}"
        f" requests = {share:.0%} of LINE's {limit}/s",
        f"0 and <= {GOAL_SHARE_OF_LIMIT:.0%}",
        batched.throttled == 0 and share <= GOAL_SHARE_OF_LIMIT,
    )
    _goal("duplicates", f"{batched.duplicates}", "0", batched.duplicates == 0)
    _goal("lost", f"{batched.lost}", "0", batched.lost == 0 and batched.sent > 0)


def _goal(name: str, figure: str, target: str, met: bool) -> None:
    print(Goal(name, figure, target, met).line())


# ------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    shopify = FakeShopifyPlatform(API_KEY, API_SECRET)
    with (
        line_server(args.latency) as line,
        scratch_database(args.database_url, "revisit_bench_reminders") as database_url,
        scratch_redis(args.redis_url),
        served(shopify) as shopify_url,
        tempfile.TemporaryDirectory(prefix="bench-reminders-") as log_dir,
    ):
        env = app_environment(database_url, args.redis_url, shopify_url, line.base_url)
        app = plugin.create_app(env)
        with app.app_context():
            flask_migrate.upgrade(revision="heads")
        shop_id = open_store(app, shopify)
        carts = plant_shoppers(app, shop_id, max(args.carts, args.baseline_carts))
        print(f"planted {len(carts)} shoppers with carts", flush=True)

        workers = Workers({**os.environ, **env}, args.workers, Path(log_dir))
        try:
            workers.wait_ready()
            batched = run_phase(
                app,
                shop_id,
                Phase("batched", 1, carts[: args.carts], args.spread, ()),
                line,
                workers,
            )
            plain_spread = args.spread * args.baseline_carts / args.carts
            plain = run_phase(
                app,
                shop_id,
                Phase(
                    "one per job",
                    2,
                    carts[: args.baseline_carts],
                    plain_spread,
                    (1, 1, 0),
                ),
                line,
                workers,
            )
        finally:
            workers.stop()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        report(batched, plain, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
