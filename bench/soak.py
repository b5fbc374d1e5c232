"""Soak run: the whole app under a steady mixed load, its memory and its books.

    .venv/bin/python bench/soak.py [--seconds 120]

For ``--seconds`` it drives, together and at fixed rates (open loop, so a
stall counts against every request it delays), the app as production runs
it on one machine: ``revisit serve --workers 2`` (two gunicorn web
processes) and two ``revisit worker`` processes (forking, with RQ's
scheduler and the webhook dispatcher), against a scratch PostgreSQL
database and a Redis db of its own:

* tracking: page views (``POST /api/widget/v1/page``, a tenth without a
  visitor token) and event batches of 1 to 5 events (``POST events``: page
  leaves, cart additions and removals) from many visitors of 3 shops;
* store webhooks: signed with the fake platform's ``webhook_headers``,
  following shoppers' stories (cart created, updated, checkout created,
  updated, order created, paid), with a twentieth of them redeliveries of
  webhooks already accepted;
* chat: shopper messages through the widget API (``POST chat/messages``), a
  fiftieth of them sent twice at once with the same ``client_id`` as a
  retrying widget would, while ``--streams`` shoppers hold the live stream
  (``GET chat/stream``) open for the whole run;
* cart reminders: bound shoppers' carts reported by ``carts/update`` with a
  one-step LINE flow (5 minutes' wait, then 1 minute), so their reminders
  fall due during the middle of the run; every fifth cart's order
  (``orders/paid``) arrives before its reminder is due. The fake LINE runs
  in a process of its own and answers after ``--line-latency`` (0.15 s, a
  push from East Asia to LINE's API).

The web processes run with ``WIDGET_RATE_LIMITS=off``: every request comes
from 127.0.0.1, which production's per-address budget would rightly stop.

It prints, per kind, the throughput and the latency percentiles (timed
from when each request was due), reminders sent per second and how late,
the CPU each party used during the load (the machine is shared: other
processes' share is printed too), the work waiting in Redis, the RSS of
every long-lived process sampled every ``--sample-every`` seconds, and the
books. After the load the streams close, the web processes stop
gracefully (flushing their buffered events) and the workers get up to
``--drain-timeout`` seconds to finish what they hold; ``--log-dir`` keeps
the app's logs. Goals:

* ``memory_growth_after_warmup``: for each long-lived process (gunicorn's
  master and its 2 workers, the 2 RQ workers and RQ's scheduler process;
  not the work-horses, which live for one job), its RSS at the end of the
  load minus its RSS at the end of the warm-up (the first 20 % of the run)
  is at most 8 MiB, about 5 % of a web process. Why that figure: after the
  warm-up the app's caches are full (memoized shops and rules, SQLAlchemy's
  compiled statements, connection pools, the threads of gthread's pool),
  and what remains is the allocator settling, about 2 MiB per web process
  in the runs made when this was written; at the default rates each web
  process serves about 22 requests a second, so a leak of 4 KiB per request
  (a request's parsed JSON body and answer, kept by mistake, are more)
  exceeds 8 MiB within the 96 s after the default run's warm-up, and one of
  1.6 KiB per request within the 300 s run's. A share of RSS would be
  looser: 10 % of a 155 MiB web process is 15.5 MiB.
* ``books_balanced``: every webhook answered 200 has exactly one row and
  was applied; every accepted tracking event is in ``visitor_events``
  exactly once, and nothing else is; every chat message answered 201 is
  stored once and every conversation's messages are numbered 1..n without
  a gap; every reminder due during the run reached LINE exactly once (the
  fake LINE's accepted retry keys, one push per shopper) and none reached a
  shopper after their order was applied.
* ``errors``: no 5xx answer, no request left unanswered, no chat stream
  refused or closed by the server.

It uses a scratch PostgreSQL database (``revisit_bench_soak_<pid>``, made
through ``--database-url``, dropped at the end) and Redis db 0, which no
test and no other bench uses (``--redis-url``; flushed at the start and the
end). It prints a short table, then one line per goal, met or missed, and
exits 0; non-zero only when the soak itself could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import math
import multiprocessing
import os
import random
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import flask_migrate
import psycopg
from common import (
    Goal,
    add_onsite_rules,
    add_store_arguments,
    base_config,
    child_pids,
    free_port,
    insert_rows,
    percentile,
    positive,
    read_answer,
    resident_bytes,
    scratch_database,
    scratch_redis,
    served,
    start_revisit,
    stop,
)
from flask import Flask
from redis import Redis
from sqlalchemy import select
from werkzeug.serving import make_server

import plugin
from engine.binding.models import LINE, ChannelBinding
from engine.binding.person import visitor_for
from engine.channels.models import ChannelAccount
from engine.chat.conversations import NewMessage, append, start_for_visitor
from engine.chat.models import SHOPPER
from engine.chat.shopper import stream_token
from engine.commerce.models import Cart
from engine.db import db
from engine.reminders import flow_for, update_flow
from engine.runtime import QUEUE_NAMES
from engine.shops.install import record_install
from engine.shops.models import Shop
from engine.shops.tokens import TokenGrant
from engine.tracking.buffer import QUEUE_KEY
from engine.tracking.drain import LOCK_KEY
from engine.tracking.tokens import issue_token, new_public_id
from engine.visitors.models import Visitor
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.shopify_http import QuietRequestHandler
from plugin.sandbox.shopify_platform import (
    FakeShopifyPlatform,
    load_payload,
)

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
API_KEY = "bench-soak-api-key"
API_SECRET = "bench-soak-api-secret"
SECRET_KEY = "bench-soak-secret-key"
SHOP_COUNT = 3
VISITORS_PER_SHOP = 600
# Each shop's two products, as (variant id, title, price).
VARIANTS = ((808950810, "Oolong", "450.00"), (808950820, "Matcha", "680.00"))

PAGE_PATH = "/api/widget/v1/page"
EVENTS_PATH = "/api/widget/v1/events"
CHAT_PATH = "/api/widget/v1/chat/messages"
WEBHOOK_PATH = "/webhooks/shopify"
KINDS = ("page", "events", "webhook", "chat")
OK_STATUS = {"page": 200, "events": 202, "webhook": 200, "chat": 201}
# Keep-alive connections per kind: requests wait for a free one, and the
# wait counts in their latency.
POOL_SIZES = {"page": 8, "events": 8, "webhook": 8, "chat": 6}

# The flow's abandonment wait and its one step's delay, both the least the
# flow editor accepts: a cart last active this long before a moment falls
# due at that moment.
WAIT_MINUTES = 5
DELAY_MINUTES = 1
DUE_WINDOW = (0.25, 0.85)  # of the run: when the reminders fall due
ORDERED_EVERY = 5  # every fifth reminder cart is ordered before it is due
STORY_STEPS = (
    "carts/create",
    "carts/update",
    "checkouts/create",
    "checkouts/update",
    "orders/create",
    "orders/paid",
)
CONCURRENT_STORIES = 40
REDELIVER_EVERY = 20
CHAT_DOUBLE_EVERY = 50

MAX_SECONDS = 480
WARMUP_SHARE = 0.20
GROWTH_BOUND = 8 * 2**20  # bytes; see the module's docstring
REQUEST_TIMEOUT = 30.0
IDLE_SECONDS = 1.0
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 40.0
SETTLED_WEBHOOKS = ("applied", "ignored", "duplicate")


# ---------------------------------------------------------------- options


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=positive, default=120)
    parser.add_argument("--page-rate", type=float, default=20.0, help="per second")
    parser.add_argument("--events-rate", type=float, default=20.0, help="per second")
    parser.add_argument("--webhook-rate", type=float, default=1.0, help="per second")
    parser.add_argument("--chat-rate", type=float, default=2.0, help="per second")
    parser.add_argument(
        "--reminder-rate",
        type=float,
        default=1.0,
        help="reminders falling due per second, in the middle 60 %% of the run",
    )
    parser.add_argument("--chat-shoppers", type=positive, default=60)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--line-latency", type=float, default=0.15, help="seconds")
    parser.add_argument("--sample-every", type=float, default=3.0, help="seconds")
    parser.add_argument("--drain-timeout", type=float, default=180.0, help="seconds")
    parser.add_argument(
        "--log-dir",
        type=Path,
        help="keep the app's logs here (by default they go with a scratch folder)",
    )
    add_store_arguments(parser, DEFAULT_REDIS_URL)
    args = parser.parse_args(argv)
    if args.streams > args.chat_shoppers:
        parser.error("--streams may not exceed --chat-shoppers")
    if args.seconds > MAX_SECONDS:
        # The server ends a chat stream after 15 minutes, and stream tokens
        # last 10; these streams do not reconnect.
        parser.error(f"--seconds may be at most {MAX_SECONDS}")
    return args


# ----------------------------------------------------------- environment


def app_environment(
    database_url: str, redis_url: str, shopify_url: str, line_url: str
) -> dict[str, str]:
    return {
        **base_config(
            database_url,
            redis_url,
            secret_key=SECRET_KEY,
            api_key=API_KEY,
            api_secret=API_SECRET,
        ),
        "SHOPIFY_BASE_URL": shopify_url,
        "LINE_API_BASE_URL": line_url,
        "REVISIT_DEMO": "0",
        # Every request comes from 127.0.0.1; see the module's docstring.
        "WIDGET_RATE_LIMITS": "off",
    }


# ------------------------------------------------------------ fake LINE


class KeepAliveHandler(QuietRequestHandler):
    """HTTP/1.1, so the LINE client keeps its connections open as with LINE."""

    protocol_version = "HTTP/1.1"


@dataclass(frozen=True)
class LineSummary:
    # (recipient, accepted at as a POSIX time) of every push LINE delivered
    deliveries: list[tuple[str, float]]
    # (recipient, retry key) of every push answered 200
    accepted_keys: list[tuple[str, str | None]]
    conflicts: int  # 409s: a retry key LINE had already accepted
    throttled: int


class LineProcess:
    """The fake LINE in a process of its own, so its CPU is not the client's;
    commands and summaries go over a pipe."""

    def __init__(self, latency: float, channels: list[tuple[str, str]]) -> None:
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(
            target=_serve_line, args=(child, latency, channels), daemon=True
        )
        self._process.start()
        self.base_url: str = self._pipe.recv()

    def summary(self) -> LineSummary:
        self._pipe.send("summary")
        return self._pipe.recv()

    def stop(self) -> None:
        self._pipe.send("stop")
        self._pipe.recv()
        self._process.join(timeout=10)


def _serve_line(pipe: Pipe, latency: float, channels: list[tuple[str, str]]) -> None:
    line = FakeLinePlatform(latency=latency)
    for channel_id, token in channels:
        line.add_channel(channel_id, token, f"secret-{channel_id}")
    server = make_server(
        HOST, 0, line.wsgi_app, threaded=True, request_handler=KeepAliveHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pipe.send(f"http://{HOST}:{server.server_port}")
    while pipe.recv() == "summary":
        pipe.send(_line_summary(line))
    server.shutdown()
    pipe.send(None)


def _line_summary(line: FakeLinePlatform) -> LineSummary:
    deliveries = [
        (entry.recipient, entry.accepted_at.timestamp())
        for entry in list(line.outbox)
        if entry.delivered and not entry.reply
    ]
    accepted = [
        (call.recipient, call.retry_key)
        for call in list(line.calls)
        if call.status == 200 and call.path.endswith("/push")
    ]
    return LineSummary(
        deliveries, accepted, line.count_calls(409), line.throttled_count
    )


@contextmanager
def line_server(
    latency: float, channels: list[tuple[str, str]]
) -> Iterator[LineProcess]:
    line = LineProcess(latency, channels)
    try:
        yield line
    finally:
        line.stop()


# ------------------------------------------------------------- the stores


@dataclass(frozen=True)
class SoakShop:
    shop_id: int
    domain: str
    widget_key: str
    visitor_tokens: tuple[str, ...]

    @property
    def origin(self) -> str:
        return f"https://{self.domain}"


@dataclass(frozen=True)
class ChatShopper:
    shop: SoakShop
    visitor_token: str
    stream_path: str


@dataclass(frozen=True)
class ReminderCart:
    """A bound shopper's cart whose reminder falls due ``due`` s into the run."""

    number: int
    shop: SoakShop
    token: str
    line_user: str
    due: float
    ordered: bool


@dataclass(frozen=True)
class Plan:
    shops: list[SoakShop]
    chat_shoppers: list[ChatShopper]
    reminder_carts: list[ReminderCart]


def shop_domain(number: int) -> str:
    return f"soak-store-{number}.myshopify.com"


def line_channel(number: int) -> tuple[str, str]:
    return f"16500100{number:02d}", f"soak-line-token-{number}"


def line_user(number: int) -> str:
    return "U" + hashlib.md5(f"soak-{number}".encode()).hexdigest()


def prepare(app: Flask, shopify: FakeShopifyPlatform, args: argparse.Namespace) -> Plan:
    """Migrate; open the shops; seed chat shoppers and bound shoppers' carts."""
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        shops = [open_shop(shopify, number) for number in range(SHOP_COUNT)]
        chat_shoppers = seed_chat(shops, args.chat_shoppers)
        reminder_carts = plant_reminder_carts(shops, args)
        db.session.remove()
        db.engine.dispose()
    return Plan(shops, chat_shoppers, reminder_carts)


def open_shop(shopify: FakeShopifyPlatform, number: int) -> SoakShop:
    """Install a shop with its products, two on-site rules, LINE and a flow."""
    domain = shop_domain(number)
    shopify.add_shop(domain, name=f"Soak Tea {number}", currency="TWD")
    for variant_id, title, price in VARIANTS:
        shopify.add_product(
            domain,
            title,
            description=f"{title} for the soak.",
            image_url=f"https://cdn.example.com/{title.lower()}.jpg",
            variants=[{"id": variant_id, "price": price, "inventory": None}],
        )
    grant = shopify.issue_access_token(domain)
    shop = record_install(
        domain, TokenGrant.from_token_response(grant, datetime.now(UTC))
    )
    shop.name, shop.currency, shop.timezone = f"Soak Tea {number}", "TWD", "Asia/Taipei"
    channel_id, access_token = line_channel(number)
    db.session.add(
        ChannelAccount(
            shop_id=shop.id,
            channel=LINE,
            line_channel_id=channel_id,
            line_channel_access_token=access_token,
        )
    )
    db.session.commit()
    add_onsite_rules(shop)
    _one_step_flow(shop)
    tokens = tuple(
        issue_token(SECRET_KEY, shop.id, new_public_id())
        for _ in range(VISITORS_PER_SHOP)
    )
    return SoakShop(shop.id, domain, shop.widget_key, tokens)


def _one_step_flow(shop: Shop) -> None:
    flow_for(shop)
    update_flow(
        shop,
        {
            "abandonment_minutes": WAIT_MINUTES,
            "quiet_hours": None,
            "steps": [
                {
                    "delay_minutes": DELAY_MINUTES,
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


def seed_chat(shops: list[SoakShop], count: int) -> list[ChatShopper]:
    """Shoppers with a conversation (one message) and a stream token each."""
    shoppers = []
    for number in range(count):
        soak_shop = shops[number % len(shops)]
        shop = db.session.get(Shop, soak_shop.shop_id)
        public_id = new_public_id()
        conversation = start_for_visitor(shop, visitor_for(shop, public_id))
        append(conversation, NewMessage(author=SHOPPER, text="Hello"))
        token = stream_token(SECRET_KEY, shop.id, public_id)
        shoppers.append(
            ChatShopper(
                soak_shop,
                issue_token(SECRET_KEY, shop.id, public_id),
                f"/api/widget/v1/chat/stream?widget_key={soak_shop.widget_key}"
                f"&token={token}&after=1",
            )
        )
    db.session.commit()
    return shoppers


def plant_reminder_carts(
    shops: list[SoakShop], args: argparse.Namespace
) -> list[ReminderCart]:
    """Bound visitors, each owning a cart the platform has not reported yet."""
    first, last = (share * args.seconds for share in DUE_WINDOW)
    count = max(1, round(args.reminder_rate * (last - first)))
    carts = [
        ReminderCart(
            number=number,
            shop=shops[number % len(shops)],
            token=f"soak-cart-{number}",
            line_user=line_user(number),
            due=first + (last - first) * number / count,
            ordered=number % ORDERED_EVERY == ORDERED_EVERY - 1,
        )
        for number in range(count)
    ]
    now = datetime.now(UTC)
    insert_rows(
        Visitor,
        [
            {
                "shop_id": cart.shop.shop_id,
                "public_id": f"soak-bound-{cart.number}",
                "first_name": f"Shopper {cart.number}",
                "created_at": now,
                "last_seen_at": now,
            }
            for cart in carts
        ],
    )
    visitors = dict(
        db.session.execute(
            select(Visitor.public_id, Visitor.id).where(
                Visitor.public_id.like("soak-bound-%")
            )
        ).all()
    )
    insert_rows(
        ChannelBinding,
        [
            {
                "shop_id": cart.shop.shop_id,
                "visitor_id": visitors[f"soak-bound-{cart.number}"],
                "channel": LINE,
                "external_id": cart.line_user,
                "reachable": True,
                "created_at": now,
                "updated_at": now,
            }
            for cart in carts
        ],
    )
    # The widget's cart event linked each cart to its visitor before the
    # platform's news of it, as in the storefront.
    insert_rows(
        Cart,
        [
            {
                "shop_id": cart.shop.shop_id,
                "token": cart.token,
                "visitor_id": visitors[f"soak-bound-{cart.number}"],
                "currency": "TWD",
                "created_at": now,
                "updated_at": now,
            }
            for cart in carts
        ],
    )
    db.session.commit()
    return carts


# ------------------------------------------------------------- processes


class AppProcesses:
    """``revisit serve --workers 2`` and two ``revisit worker`` processes,
    each logging to a file of its own."""

    def __init__(self, env: dict[str, str], log_dir: Path, streams: int) -> None:
        self.port = free_port()
        self.logs = {
            "web": log_dir / "web.log",
            **{f"worker-{n}": log_dir / f"worker-{n}.log" for n in (1, 2)},
        }
        # A stream holds its thread; the kernel may hand every stream to the
        # same process.
        serve = [
            "serve",
            f"--bind={HOST}:{self.port}",
            "--workers=2",
            "--threads=4",
            f"--chat-streams={streams + 10}",
        ]
        self.web = start_revisit(serve, env, self.logs["web"])
        self.workers = [
            start_revisit(["worker"], env, self.logs[f"worker-{n}"]) for n in (1, 2)
        ]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        for name in ("worker-1", "worker-2"):
            _wait_for_line(self.logs[name], "webhooks.dispatcher_listening", deadline)
        while not _answers_healthz(self.port):
            if self.web.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"The web server did not start; see {self.logs['web']}."
                )
            time.sleep(0.2)
        # Each gunicorn worker imports the app on its own; wait for both.
        while len(child_pids(self.web.pid)) < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start its 2 workers.")
            time.sleep(0.2)

    def roles(self) -> dict[int, str]:
        """Every process of the app now, by pid: web master, web worker, worker,
        worker child (RQ's scheduler, or a work-horse for one job)."""
        found = {self.web.pid: "web master"}
        for pid in child_pids(self.web.pid):
            found[pid] = "web worker"
        for number, worker in enumerate(self.workers, start=1):
            found[worker.pid] = f"worker {number}"
            for pid in child_pids(worker.pid):
                found[pid] = f"worker {number} child"
        return found

    def stop_web(self) -> None:
        stop(self.web, STOP_TIMEOUT)

    def stop_workers(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            stop(process, STOP_TIMEOUT)

    def jobs_done(self) -> int:
        """Jobs the workers have finished so far, as their logs say."""
        return sum(
            self.logs[name].read_text(errors="replace").count("Successfully completed")
            for name in ("worker-1", "worker-2")
        )

    def errors_logged(self) -> int:
        return sum(
            path.read_text(errors="replace").count("Traceback (most recent call last)")
            for path in self.logs.values()
        )


@contextmanager
def running_app(
    env: dict[str, str], log_dir: Path, streams: int
) -> Iterator[AppProcesses]:
    app = AppProcesses(env, log_dir, streams)
    try:
        app.wait_ready()
        yield app
    finally:
        app.stop_web()
        app.stop_workers()


def _wait_for_line(path: Path, text: str, deadline: float) -> None:
    while text not in path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"A process did not log {text!r}; see {path}.")
        time.sleep(0.1)


def _answers_healthz(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as probe:
            probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: soak\r\n\r\n")
            return b" 200 " in probe.recv(200)
    except OSError:
        return False


# ----------------------------------------------------------------- memory


@dataclass
class Series:
    """One process's RSS samples: (seconds into the run, bytes)."""

    pid: int
    role: str
    samples: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class Samples:
    """RSS per process, and the work waiting in Redis, every few seconds."""

    series: dict[int, Series] = field(default_factory=dict)
    rounds: list[float] = field(default_factory=list)
    # (seconds into the run, jobs or events waiting by where they wait)
    backlog: list[tuple[float, dict[str, int]]] = field(default_factory=list)

    def sample(self, app: AppProcesses, redis: Redis, at: float) -> None:
        for pid, role in app.roles().items():
            rss = resident_bytes(pid)
            if rss is not None:
                entry = self.series.setdefault(pid, Series(pid, role))
                entry.samples.append((at, rss))
        self.rounds.append(at)
        self.backlog.append((at, waiting_work(redis)))


def waiting_work(redis: Redis) -> dict[str, int]:
    """Jobs on each RQ queue, and storefront events not yet drained."""
    with redis.pipeline(transaction=False) as pipe:
        for name in QUEUE_NAMES:
            pipe.llen(f"rq:queue:{name}")
        pipe.llen(QUEUE_KEY)
        counts = pipe.execute()
    return {**dict(zip(QUEUE_NAMES, counts[:-1], strict=True)), "events": counts[-1]}


# CPU owners, in the order the report shows them.
CPU_OWNERS = ("web", "workers", "postgres", "redis", "soak client and fakes", "other")


def cpu_snapshot(app: AppProcesses) -> Counter[str]:
    """CPU seconds so far by owner, and the whole machine's busy seconds
    (Linux). Each process counts its reaped children too: the workers their
    work-horses, PostgreSQL's postmaster its finished backends. PostgreSQL
    and Redis count every client's work, not only the app's."""
    roles = app.roles()
    spent: Counter[str] = Counter()
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        seconds = sum(int(value) for value in fields[11:15]) / tick
        if pid in roles:
            spent["web" if roles[pid].startswith("web") else "workers"] += seconds
        elif pid == os.getpid() or int(fields[1]) == os.getpid():
            spent["soak client and fakes"] += seconds
        elif comm.startswith(("postgres", "redis")):
            spent[comm.split("-")[0].split(":")[0]] += seconds
    spent["machine"] = _machine_busy_seconds()
    return spent


def _machine_busy_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Growth:
    pid: int
    role: str
    at_warmup: int
    final: int

    @property
    def growth(self) -> int:
        return self.final - self.at_warmup

    @property
    def within(self) -> bool:
        return self.growth <= GROWTH_BOUND


def growth_after_warmup(log: Samples, warmup: float) -> list[Growth]:
    """Each process sampled in the first round after the warm-up and in the
    last: its RSS then and at the end. A worker's child that lived so long is
    RQ's scheduler; work-horses live for one job."""
    first = next((at for at in log.rounds if at >= warmup), None)
    if first is None:
        return []
    last = log.rounds[-1]
    found = []
    for series in log.series.values():
        by_round = dict(series.samples)
        if first in by_round and last in by_round:
            role = series.role.replace("child", "scheduler")
            found.append(Growth(series.pid, role, by_round[first], by_round[last]))
    return sorted(found, key=lambda item: (item.role, item.pid))


# ----------------------------------------------------------------- client


def raw_request(
    method: str, path: str, port: int, headers: dict[str, str], body: bytes = b""
) -> bytes:
    """A keep-alive HTTP/1.1 request, as bytes."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    """One keep-alive connection; reopened if the server closes it.

    gunicorn closes a connection idle for 2 s (its ``keepalive``); a request
    sent just then would meet a closed socket, so, as browsers do, a
    connection idle for ``IDLE_SECONDS`` is not reused.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def exchange(self, payload: bytes) -> int:
        """Send one request, read its answer; the status, or 0 on failure."""
        if time.perf_counter() - self.used > IDLE_SECONDS:
            self.close()
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(
                    HOST, self.port
                )
            self.writer.write(payload)
            status, keep_alive = await asyncio.wait_for(
                read_answer(self.reader), REQUEST_TIMEOUT
            )
        except (OSError, EOFError, TimeoutError, ValueError, IndexError):
            self.close()
            return 0
        self.used = time.perf_counter()
        if not keep_alive:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Outgoing:
    """One request and what an answer of the expected status means."""

    payload: bytes
    accepted: Callable[[], None] | None = None


@dataclass
class Tally:
    """The answers to one kind of request."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def unanswered(self) -> int:
        return self.statuses[0]


class Client:
    """Sends each kind at its own pace over its own keep-alive connections;
    a request's latency counts from when it was due."""

    def __init__(self, port: int, t0: float) -> None:
        self.t0 = t0
        self.tallies = {kind: Tally() for kind in KINDS}
        self._pools: dict[str, asyncio.Queue[Connection]] = {}
        for kind in KINDS:
            pool: asyncio.Queue[Connection] = asyncio.Queue()
            for _ in range(POOL_SIZES[kind]):
                pool.put_nowait(Connection(port))
            self._pools[kind] = pool
        self._tasks: set[asyncio.Task] = set()

    async def paced(
        self,
        kind: str,
        rate: float,
        seconds: float,
        make: Callable[[int], list[Outgoing]],
    ) -> None:
        """``rate`` requests a second for ``seconds`` (a bounded count)."""
        for number in range(int(rate * seconds)):
            due = self.t0 + number / rate
            await _sleep_until(due)
            for outgoing in make(number):
                self._spawn(kind, outgoing, due)

    async def scheduled(
        self, kind: str, plan: list[tuple[float, Callable[[], Outgoing]]]
    ) -> None:
        """One request at each offset (seconds into the run) of ``plan``."""
        for offset, make in sorted(plan, key=lambda item: item[0]):
            due = self.t0 + offset
            await _sleep_until(due)
            self._spawn(kind, make(), due)

    async def finish(self) -> None:
        """Wait for the requests still in flight (each bounded by its timeout)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
        for pool in self._pools.values():
            while not pool.empty():
                pool.get_nowait().close()

    def _spawn(self, kind: str, outgoing: Outgoing, due: float) -> None:
        task = asyncio.create_task(self._send(kind, outgoing, due))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, kind: str, outgoing: Outgoing, due: float) -> None:
        pool = self._pools[kind]
        connection = await pool.get()
        try:
            status = await connection.exchange(outgoing.payload)
        finally:
            pool.put_nowait(connection)
        tally = self.tallies[kind]
        tally.latencies.append(time.perf_counter() - due)
        tally.statuses[status] += 1
        if status == OK_STATUS[kind] and outgoing.accepted is not None:
            outgoing.accepted()


async def _sleep_until(moment: float) -> None:
    delay = moment - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


class Stream:
    """A chat shopper's open event stream; notes the texts that arrive.

    ``held`` is true when it answered 200 and stayed open until closed here.
    """

    def __init__(self, port: int, path: str, origin: str) -> None:
        self.request = raw_request(
            "GET", path, port, {"Origin": origin, "Accept": "text/event-stream"}
        )
        self.port = port
        self.status = 0
        self.held = False
        self.arrived: set[str] = set()
        self._closing = False
        self._writer: asyncio.StreamWriter | None = None

    async def run(self) -> None:
        try:
            reader, self._writer = await asyncio.open_connection(HOST, self.port)
            self._writer.write(self.request)
            status = await reader.readline()
            self.status = int(status.split(b" ", 2)[1])
            while self.status == 200 and (line := await reader.readline()):
                if line.startswith(b"data: ") and b'"text"' in line:
                    self.arrived.add(json.loads(line[6:])["text"])
        except (OSError, ValueError, IndexError):
            pass
        self.held = self.status == 200 and self._closing

    def close(self) -> None:
        self._closing = True
        if self._writer is not None:
            self._writer.close()


# ---------------------------------------------------------------- traffic


@dataclass(frozen=True)
class SentWebhook:
    topic: str
    domain: str
    body: bytes
    webhook_id: str
    event_id: str


@dataclass
class Ledger:
    """What the app accepted, for the books."""

    events: set[str] = field(default_factory=set)
    webhooks: list[SentWebhook] = field(default_factory=list)
    chat: set[str] = field(default_factory=set)
    # Texts accepted for each streaming shopper, by shopper index.
    streamed: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    # The order webhook accepted for each ordered reminder cart, by cart number.
    orders: dict[int, SentWebhook] = field(default_factory=dict)


class Traffic:
    """Builds each request when it is due, so its times are current."""

    def __init__(
        self,
        plan: Plan,
        shopify: FakeShopifyPlatform,
        port: int,
        streams: int,
        started: datetime,
    ) -> None:
        self.plan = plan
        self.shopify = shopify
        self.port = port
        self.streams = streams
        self.started = started
        self.ledger = Ledger()
        self._random = random.Random(1)
        self._stories = 0

    # --- tracking ------------------------------------------------------------

    def page(self, number: int) -> list[Outgoing]:
        shop = self.plan.shops[number % len(self.plan.shops)]
        token = None if number % 10 == 9 else self._random.choice(shop.visitor_tokens)
        product = self._random.randrange(40)
        event_id = uuid.uuid4().hex
        body = {
            "widget_key": shop.widget_key,
            "visitor_token": token,
            "page": {
                "url": f"{shop.origin}/products/tea-{product}",
                "page_type": "product",
                "product_id": str(8000 + product),
                "product_handle": f"tea-{product}",
                "referrer": "https://www.google.com/",
                "title": "Tea",
            },
            "locale": "zh-TW",
            "event_id": event_id,
        }
        return [
            Outgoing(
                self._widget(PAGE_PATH, shop, body),
                lambda: self.ledger.events.add(event_id),
            )
        ]

    def events(self, number: int) -> list[Outgoing]:
        shop = self.plan.shops[number % len(self.plan.shops)]
        visitor = self._random.randrange(len(shop.visitor_tokens))
        batch = [self._event(shop, visitor) for _ in range(self._random.randint(1, 5))]
        body = {
            "widget_key": shop.widget_key,
            "visitor_token": shop.visitor_tokens[visitor],
            "events": batch,
        }
        ids = [event["id"] for event in batch]
        return [
            Outgoing(
                self._widget(EVENTS_PATH, shop, body),
                lambda: self.ledger.events.update(ids),
            )
        ]

    def _event(self, shop: SoakShop, visitor: int) -> dict[str, Any]:
        kind = self._random.choices(
            ("page_leave", "add_to_cart", "remove_from_cart"), (6, 3, 1)
        )[0]
        product = self._random.randrange(40)
        event: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "type": kind,
            "at": _iso(datetime.now(UTC)),
            "url": f"{shop.origin}/products/tea-{product}",
        }
        if kind == "page_leave":
            event["seconds_on_page"] = self._random.randrange(1, 300)
        else:
            event |= {
                "product_id": str(8000 + product),
                "variant_id": str(VARIANTS[product % 2][0]),
                "quantity": 1,
                "cart": {
                    "token": f"soak-widget-cart-{shop.shop_id}-{visitor}",
                    "total_price": VARIANTS[product % 2][2],
                    "item_count": 1,
                    "currency": "TWD",
                },
            }
        return event

    def _widget(self, path: str, shop: SoakShop, body: dict[str, Any]) -> bytes:
        headers = {"Origin": shop.origin, "Content-Type": "text/plain;charset=UTF-8"}
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return raw_request("POST", path, self.port, headers, data)

    # --- chat ------------------------------------------------------------------

    def chat(self, number: int) -> list[Outgoing]:
        index = self._random.randrange(len(self.plan.chat_shoppers))
        shopper = self.plan.chat_shoppers[index]
        text = f"soak message {number}"
        client_id = uuid.uuid4().hex
        body = {
            "widget_key": shopper.shop.widget_key,
            "visitor_token": shopper.visitor_token,
            "text": text,
            "client_id": client_id,
        }

        def accepted() -> None:
            self.ledger.chat.add(client_id)
            if index < self.streams:
                self.ledger.streamed[index].add(text)

        outgoing = Outgoing(self._widget(CHAT_PATH, shopper.shop, body), accepted)
        # A widget retrying a send it thinks lost: the same client id, at once.
        copies = 2 if number % CHAT_DOUBLE_EVERY == CHAT_DOUBLE_EVERY - 1 else 1
        return [outgoing] * copies

    # --- store webhooks ----------------------------------------------------------

    def webhook(self, number: int) -> list[Outgoing]:
        """The next step of one of the shoppers' stories, or a redelivery."""
        if number % REDELIVER_EVERY == REDELIVER_EVERY - 1 and self.ledger.webhooks:
            sent = self._random.choice(self.ledger.webhooks)
            return [Outgoing(self._signed(sent))]
        story = self._stories
        self._stories += 1
        slot, turn = story % CONCURRENT_STORIES, story // CONCURRENT_STORIES
        shopper = (turn // len(STORY_STEPS)) * CONCURRENT_STORIES + slot
        topic = STORY_STEPS[turn % len(STORY_STEPS)]
        shop = self.plan.shops[shopper % len(self.plan.shops)]
        payload = story_payload(topic, shopper, datetime.now(UTC))
        return [self._fresh(topic, shop.domain, payload)]

    def reminder_cart(self, cart: ReminderCart) -> Outgoing:
        """``carts/update`` for a bound shopper's cart, last active so long ago
        that its reminder falls due ``cart.due`` seconds into the run."""
        active = self.started + timedelta(
            seconds=cart.due, minutes=-(WAIT_MINUTES + DELAY_MINUTES)
        )
        payload = load_payload("carts_update")
        payload |= {
            "id": cart.token,
            "token": cart.token,
            "updated_at": _iso(active),
            "created_at": _iso(active - timedelta(minutes=2)),
            "line_items": _line_items(),
        }
        return self._fresh("carts/update", cart.shop.domain, payload)

    def reminder_order(self, cart: ReminderCart) -> Outgoing:
        """``orders/paid`` for an ordered reminder cart."""
        payload = order_payload(
            "orders/paid", 5_000_000 + cart.number, cart.token, datetime.now(UTC)
        )
        sent = _unsent("orders/paid", cart.shop.domain, payload)

        def accepted() -> None:
            self.ledger.webhooks.append(sent)
            self.ledger.orders[cart.number] = sent

        return Outgoing(self._signed(sent), accepted)

    def _fresh(self, topic: str, domain: str, payload: dict[str, Any]) -> Outgoing:
        sent = _unsent(topic, domain, payload)
        return Outgoing(self._signed(sent), lambda: self.ledger.webhooks.append(sent))

    def _signed(self, sent: SentWebhook) -> bytes:
        headers = self.shopify.webhook_headers(
            sent.topic,
            sent.domain,
            sent.body,
            webhook_id=sent.webhook_id,
            event_id=sent.event_id,
        )
        return raw_request("POST", WEBHOOK_PATH, self.port, headers, sent.body)


def _unsent(topic: str, domain: str, payload: dict[str, Any]) -> SentWebhook:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return SentWebhook(topic, domain, body, str(uuid.uuid4()), str(uuid.uuid4()))


def story_payload(topic: str, shopper: int, now: datetime) -> dict[str, Any]:
    """One step of shopper ``shopper``'s story: cart, checkout, order."""
    cart_token = f"soak-story-cart-{shopper}"
    if topic.startswith("carts/"):
        payload = load_payload(topic)
        payload |= {
            "id": cart_token,
            "token": cart_token,
            "updated_at": _iso(now),
            "created_at": _iso(now),
            "line_items": _line_items(),
        }
        return payload
    if topic.startswith("checkouts/"):
        payload = load_payload(topic)
        payload |= {
            "token": f"soak-story-checkout-{shopper}",
            "cart_token": cart_token,
            "email": f"shopper-{shopper}@example.com",
            "phone": None,
            "customer": _customer(shopper),
            "updated_at": _iso(now),
            "created_at": _iso(now),
            "completed_at": None,
        }
        return payload
    return order_payload(topic, 6_000_000 + shopper, cart_token, now)


def order_payload(
    topic: str, order_id: int, cart_token: str, now: datetime
) -> dict[str, Any]:
    payload = load_payload(topic)
    payload |= {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{order_id}",
        "cart_token": cart_token,
        "checkout_token": f"soak-checkout-of-{cart_token}",
        "email": f"buyer-{order_id}@example.com",
        "contact_email": f"buyer-{order_id}@example.com",
        "phone": None,
        "customer": _customer(order_id),
        "created_at": _iso(now),
        "updated_at": _iso(now),
        "processed_at": _iso(now),
    }
    return payload


def _customer(number: int) -> dict[str, Any]:
    return {
        "id": 9_000_000 + number,
        "email": f"customer-{number}@example.com",
        "phone": None,
        "first_name": "Mei",
        "last_name": f"Chen {number}",
    }


def _line_items() -> list[dict[str, Any]]:
    return [
        {
            "id": variant_id,
            "key": f"{variant_id}:soak",
            "quantity": 1,
            "variant_id": variant_id,
            "product_id": None,
            "title": title,
            "price": price,
            "line_price": price,
        }
        for variant_id, title, price in VARIANTS
    ]


def _iso(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


# ------------------------------------------------------------------- load


@dataclass
class LoadResult:
    tallies: dict[str, Tally]
    ledger: Ledger
    samples: Samples
    cpu: Counter[str]  # CPU seconds spent during the load, by owner
    cpu_at_start: Counter[str]
    jobs_at_start: int
    streams: list[Stream]
    seconds: float  # from the first request due to the last answer


async def drive(
    app: AppProcesses,
    redis: Redis,
    plan: Plan,
    shopify: FakeShopifyPlatform,
    args: argparse.Namespace,
) -> LoadResult:
    """Every kind of traffic together for ``args.seconds``, then the stragglers."""
    lead_in = 0.5
    t0 = time.perf_counter() + lead_in
    started = datetime.now(UTC) + timedelta(seconds=lead_in)
    traffic = Traffic(plan, shopify, app.port, args.streams, started)
    client = Client(app.port, t0)
    samples = Samples()
    streams = [
        Stream(app.port, shopper.stream_path, shopper.shop.origin)
        for shopper in plan.chat_shoppers[: args.streams]
    ]
    stream_tasks = [asyncio.create_task(stream.run()) for stream in streams]
    cpu_before = cpu_snapshot(app)
    jobs_before = app.jobs_done()

    await asyncio.gather(
        client.paced("page", args.page_rate, args.seconds, traffic.page),
        client.paced("events", args.events_rate, args.seconds, traffic.events),
        client.paced("webhook", args.webhook_rate, args.seconds, traffic.webhook),
        client.paced("chat", args.chat_rate, args.seconds, traffic.chat),
        client.scheduled("webhook", reminder_webhooks(plan, traffic, args.seconds)),
        sample_regularly(app, redis, samples, t0, args),
    )
    await client.finish()
    samples.sample(app, redis, time.perf_counter() - t0)
    cpu = cpu_snapshot(app)
    cpu.subtract(cpu_before)
    elapsed = time.perf_counter() - t0

    # The last messages reach the streams within a moment.
    await asyncio.sleep(1.0)
    for stream in streams:
        stream.close()
    if stream_tasks:
        await asyncio.wait(stream_tasks, timeout=5.0)
    return LoadResult(
        client.tallies,
        traffic.ledger,
        samples,
        cpu,
        cpu_before,
        jobs_before,
        streams,
        elapsed,
    )


def reminder_webhooks(
    plan: Plan, traffic: Traffic, seconds: float
) -> list[tuple[float, Callable[[], Outgoing]]]:
    """Each reminder cart reported ``lead`` s before its reminder is due; the
    ordered ones' orders a third of that later."""
    lead = min(30.0, 0.2 * seconds)
    schedule: list[tuple[float, Callable[[], Outgoing]]] = []
    for cart in plan.reminder_carts:
        reported = max(0.0, cart.due - lead)
        schedule.append((reported, lambda cart=cart: traffic.reminder_cart(cart)))
        if cart.ordered:
            schedule.append(
                (reported + lead / 3, lambda cart=cart: traffic.reminder_order(cart))
            )
    return schedule


async def sample_regularly(
    app: AppProcesses,
    redis: Redis,
    samples: Samples,
    t0: float,
    args: argparse.Namespace,
) -> None:
    for number in range(math.ceil(args.seconds / args.sample_every)):
        await _sleep_until(t0 + number * args.sample_every)
        samples.sample(app, redis, time.perf_counter() - t0)


# ------------------------------------------------------------------ drain


@dataclass(frozen=True)
class Drain:
    seconds: float
    # What was still unfinished when the drain ended (all zero when it did).
    left: dict[str, int]
    # The workers' jobs and CPU seconds from the start of the load to here.
    jobs: int
    worker_cpu: float


def drain(
    app: AppProcesses,
    database_url: str,
    redis: Redis,
    result: LoadResult,
    timeout: float,
) -> Drain:
    """Stop the web processes gracefully (they flush their buffered events),
    then give the workers up to ``timeout`` s to finish what they hold."""
    started = time.monotonic()
    app.stop_web()
    deadline = started + timeout
    while True:
        left = _unfinished(database_url, redis)
        if not any(left.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    seconds = time.monotonic() - started
    cpu = cpu_snapshot(app)["workers"] - result.cpu_at_start["workers"]
    return Drain(seconds, left, app.jobs_done() - result.jobs_at_start, cpu)


def _unfinished(database_url: str, redis: Redis) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        received = conn.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'received'"
        ).fetchone()[0]
        due = conn.execute(
            "SELECT count(*) FROM reminder_sends"
            " WHERE status IN ('pending', 'sending') AND due_at <= now()"
        ).fetchone()[0]
    return {
        "storefront events waiting in Redis": int(redis.llen(QUEUE_KEY)),
        "tracking drains running": int(redis.exists(LOCK_KEY)),
        "webhooks not applied": received,
        "reminders due, not sent": due,
    }


# ------------------------------------------------------------------ books


@dataclass(frozen=True)
class Account:
    """One line of the books: how much was accepted, how much of it balances,
    and anything found that should not be there."""

    name: str
    accepted: int
    balanced: int
    problems: int
    detail: str

    @property
    def ok(self) -> bool:
        return self.balanced == self.accepted and self.problems == 0


def tracking_books(database_url: str, ledger: Ledger) -> Account:
    with psycopg.connect(database_url) as conn:
        stored = Counter(
            row[0] for row in conn.execute("SELECT event_id FROM visitor_events")
        )
    once, twice, missing = _copies(ledger.events, stored)
    strays = sum(1 for event_id in stored if event_id not in ledger.events)
    return Account(
        "tracking events",
        len(ledger.events),
        once,
        twice + missing + strays,
        f"{once} stored once, {missing} missing, {twice} more than once,"
        f" {strays} stored but not accepted",
    )


def webhook_books(database_url: str, ledger: Ledger) -> Account:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT shop_domain, webhook_id, status FROM webhook_deliveries"
        ).fetchall()
    stored = Counter((domain, webhook_id) for domain, webhook_id, _ in rows)
    accepted = {(sent.domain, sent.webhook_id) for sent in ledger.webhooks}
    once, twice, missing = _copies(accepted, stored)
    strays = sum(1 for key in stored if key not in accepted)
    statuses = Counter(status for _, _, status in rows)
    unsettled = sum(
        n for status, n in statuses.items() if status not in SETTLED_WEBHOOKS
    )
    shown = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    return Account(
        "webhooks",
        len(accepted),
        once,
        twice + missing + strays + unsettled,
        f"{once} recorded once ({shown}), {missing} missing, {twice} more than"
        f" once, {strays} recorded but not accepted, {unsettled} not applied",
    )


def chat_books(database_url: str, ledger: Ledger) -> Account:
    with psycopg.connect(database_url) as conn:
        stored = Counter(
            row[0]
            for row in conn.execute(
                "SELECT client_id FROM chat_messages WHERE client_id IS NOT NULL"
            )
        )
        numbering = conn.execute(
            "SELECT c.last_seq, count(m.id), min(m.seq), max(m.seq)"
            " FROM chat_conversations c"
            " JOIN chat_messages m ON m.conversation_id = c.id"
            " GROUP BY c.id, c.last_seq"
        ).fetchall()
    once, twice, missing = _copies(ledger.chat, stored)
    gaps = sum(
        1
        for last_seq, count, lowest, highest in numbering
        if not (lowest == 1 and highest == count == last_seq)
    )
    return Account(
        "chat messages",
        len(ledger.chat),
        once,
        twice + missing + gaps,
        f"{once} stored once, {missing} missing, {twice} more than once;"
        f" {len(numbering)} conversations, {gaps} with a gap in their numbers",
    )


def _copies(accepted: set, stored: Counter) -> tuple[int, int, int]:
    """(stored once, more than once, missing) of the accepted keys."""
    once = sum(1 for key in accepted if stored[key] == 1)
    missing = sum(1 for key in accepted if not stored[key])
    return once, len(accepted) - once - missing, missing


@dataclass(frozen=True)
class ReminderBooks:
    account: Account
    sent: int
    lateness: list[float]  # seconds from due to sent, of each send


def reminder_books(
    database_url: str, plan: Plan, ledger: Ledger, line: LineSummary
) -> ReminderBooks:
    """Per bound shopper's cart: its sends in the database, LINE's deliveries
    and accepted retry keys, and when its order (if any) was applied."""
    with psycopg.connect(database_url) as conn:
        sends = conn.execute(
            "SELECT c.token, s.status, s.retry_key,"
            " extract(epoch FROM s.sent_at - s.due_at)"
            " FROM reminder_sends s"
            " JOIN reminder_runs r ON r.id = s.run_id"
            " JOIN carts c ON c.id = r.cart_id"
        ).fetchall()
        applied = dict(
            conn.execute(
                "SELECT webhook_id, extract(epoch FROM applied_at)"
                " FROM webhook_deliveries WHERE webhook_id = ANY(%s)",
                ([sent.webhook_id for sent in ledger.orders.values()],),
            ).fetchall()
        )
    sent_keys = defaultdict(list)
    for token, status, retry_key, _ in sends:
        if status == "sent":
            sent_keys[token].append(retry_key)
    deliveries = defaultdict(list)
    for recipient, accepted_at in line.deliveries:
        deliveries[recipient].append(accepted_at)
    accepted_keys = defaultdict(set)
    for recipient, retry_key in line.accepted_keys:
        accepted_keys[recipient].add(retry_key)

    outcomes: Counter[str] = Counter()
    for cart in plan.reminder_carts:
        order = ledger.orders.get(cart.number)
        order_applied = applied.get(order.webhook_id) if order else None
        outcomes[
            _reminder_outcome(
                cart,
                sent_keys[cart.token],
                deliveries[cart.line_user],
                accepted_keys[cart.line_user],
                float(order_applied) if order_applied is not None else None,
            )
        ] += 1
    bound = {cart.line_user for cart in plan.reminder_carts}
    strays = sum(len(times) for who, times in deliveries.items() if who not in bound)
    due = sum(1 for cart in plan.reminder_carts if not cart.ordered)
    troubles = {name[1:]: n for name, n in outcomes.items() if name.startswith("!")}
    detail = (
        f"{outcomes['sent once']} of {due} due sent once (one LINE delivery, its"
        f" retry key accepted); of {len(plan.reminder_carts) - due} ordered,"
        f" {outcomes['stopped by its order']} stopped by the order and"
        f" {outcomes['sent before its order was applied']} reminded before it"
        " was applied; "
        + "".join(f"{n} {name}, " for name, n in sorted(troubles.items()))
        + f"{strays} to no bound shopper; LINE: {line.conflicts} 409s (a retry"
        f" key already accepted), {line.throttled} 429s"
    )
    lateness = [
        float(late)
        for _, status, _, late in sends
        if status == "sent" and late is not None
    ]
    return ReminderBooks(
        Account(
            "reminders",
            due,
            outcomes["sent once"],
            sum(troubles.values()) + strays,
            detail,
        ),
        sum(1 for _, status, _, _ in sends if status == "sent"),
        lateness,
    )


def _reminder_outcome(
    cart: ReminderCart,
    sent_keys: list[str],
    pushes: list[float],
    accepted_keys: set[str | None],
    order_applied: float | None,
) -> str:
    """How one cart's reminder went; a leading "!" marks a problem."""
    if len(pushes) > 1 or len(sent_keys) > 1:
        return "!sent more than once"
    if pushes and not (sent_keys and sent_keys[0] in accepted_keys):
        return "!delivered without its send's retry key"
    if not pushes:
        if sent_keys:
            return "!recorded as sent, never delivered"
        return "stopped by its order" if cart.ordered else "!never sent"
    if not cart.ordered:
        return "sent once"
    if order_applied is not None and pushes[0] > order_applied:
        return "!sent after its order was applied"
    return "sent before its order was applied"


# ----------------------------------------------------------------- report


@dataclass(frozen=True)
class Outcome:
    result: LoadResult
    drained: Drain
    accounts: list[Account]
    reminders: ReminderBooks
    errors_logged: int


def report(args: argparse.Namespace, plan: Plan, outcome: Outcome) -> list[Goal]:
    result = outcome.result
    print(
        f"\nsoak: {args.seconds} s on {os.cpu_count()} cores; revisit serve"
        f" --workers 2 --threads 4 --chat-streams {args.streams + 10} and 2 revisit"
        f" worker processes; {SHOP_COUNT} shops; WIDGET_RATE_LIMITS=off (every"
        " request comes from 127.0.0.1)"
    )
    print_traffic(args, plan, result)
    print_reminders(args, plan, outcome.reminders)
    print_machine(result)
    growth = growth_after_warmup(result.samples, WARMUP_SHARE * args.seconds)
    print_memory(args, result.samples, growth)
    print_books(outcome)
    return goals(result, growth, outcome)


def print_traffic(args: argparse.Namespace, plan: Plan, result: LoadResult) -> None:
    planned = {
        "page": args.page_rate,
        "events": args.events_rate,
        "webhook": args.webhook_rate
        + sum(1 + cart.ordered for cart in plan.reminder_carts) / args.seconds,
        "chat": args.chat_rate * (1 + 1 / CHAT_DOUBLE_EVERY),
    }
    print(
        f"\n{'kind':<8}{'planned/s':>10}{'sent':>7}{'answered/s':>11}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}  answers"
    )
    for kind in KINDS:
        tally = result.tallies[kind]
        latencies = [1000 * value for value in tally.latencies]
        answers = " ".join(
            f"{status or 'none'}x{n}" for status, n in sorted(tally.statuses.items())
        )
        print(
            f"{kind:<8}{planned[kind]:>10.1f}{tally.sent:>7}"
            f"{tally.sent / result.seconds:>11.1f}{percentile(latencies, 50):>8.1f}"
            f"{percentile(latencies, 99):>8.1f}{max(latencies, default=0):>8.1f}"
            f"  {answers}"
        )
    expected = sum(len(texts) for texts in result.ledger.streamed.values())
    arrived = sum(
        len(texts & result.streams[index].arrived)
        for index, texts in result.ledger.streamed.items()
    )
    held = sum(1 for stream in result.streams if stream.held)
    print(
        f"chat streams: {held} of {len(result.streams)} open for the whole run;"
        f" {arrived} of the {expected} messages accepted from their shoppers"
        " arrived on them"
    )


def print_reminders(
    args: argparse.Namespace, plan: Plan, reminders: ReminderBooks
) -> None:
    first, last = (share * args.seconds for share in DUE_WINDOW)
    late = reminders.lateness
    print(
        f"reminders: {len(plan.reminder_carts)} carts falling due from {first:.0f} s"
        f" to {last:.0f} s, every {ORDERED_EVERY}th ordered first; {reminders.sent}"
        f" sent, {reminders.sent / (last - first):.1f}/s over those"
        f" {last - first:.0f} s; due to sent p50 {percentile(late, 50):.2f} s,"
        f" p99 {percentile(late, 99):.2f} s, max {max(late, default=0):.2f} s"
        f" (LINE answers after {args.line_latency:g} s)"
    )


def print_machine(result: LoadResult) -> None:
    cpu = result.cpu
    cores = os.cpu_count() or 1
    capacity = cores * result.seconds
    other = cpu["machine"] - sum(cpu[owner] for owner in CPU_OWNERS[:-1])
    shares = ", ".join(f"{owner} {cpu[owner]:.0f}" for owner in CPU_OWNERS[:-1])
    print(
        f"CPU seconds during the load, of {capacity:.0f} ({cores} cores):"
        f" {shares}, other processes {max(other, 0):.0f},"
        f" idle {max(capacity - cpu['machine'], 0):.0f}"
    )
    names = [*QUEUE_NAMES, "events"]
    peaks = {
        name: max(waiting[name] for _, waiting in result.samples.backlog)
        for name in names
    }
    final = result.samples.backlog[-1][1]
    print(
        "waiting in Redis (RQ queues, undrained events): "
        + ", ".join(f"{name} peak {peaks[name]} end {final[name]}" for name in names)
    )


def print_memory(
    args: argparse.Namespace, samples: Samples, growth: list[Growth]
) -> None:
    mib = 2**20
    marks = (0.2, 0.4, 0.6, 0.8)
    print(
        f"\nmemory: RSS (MiB) every {args.sample_every:g} s; growth from the end of"
        f" the warm-up ({WARMUP_SHARE * args.seconds:.0f} s) to the end of the load"
    )
    print(
        f"{'process':<20}{'pid':>8}"
        + "".join(f"{f'{mark:.0%}':>8}" for mark in marks)
        + f"{'end':>8}{'growth':>8}"
    )
    for item in growth:
        series = samples.series[item.pid].samples
        points = [_rss_at(series, mark * args.seconds) / mib for mark in marks]
        print(
            f"{item.role:<20}{item.pid:>8}"
            + "".join(f"{point:>8.1f}" for point in points)
            + f"{item.final / mib:>8.1f}{item.growth / mib:>+8.1f}"
        )


def _rss_at(series: list[tuple[float, int]], moment: float) -> float:
    """The first sample at or after ``moment`` (NaN if none)."""
    return next((rss for at, rss in series if at >= moment), math.nan)


def print_books(outcome: Outcome) -> None:
    drained = outcome.drained
    left = ", ".join(f"{n} {what}" for what, n in drained.left.items() if n)
    print(
        f"\ndrain: the web processes stopped and the workers caught up in"
        f" {drained.seconds:.1f} s; left unfinished: {left or 'nothing'}"
    )
    per_job = 1000 * drained.worker_cpu / max(drained.jobs, 1)
    print(
        f"workers: {drained.jobs} jobs from the start of the load to the end of"
        f" the drain, {drained.worker_cpu:.0f} CPU seconds, {per_job:.0f} ms a job"
        " (each in a work-horse forked for it)"
    )
    print("books:")
    for account in outcome.accounts:
        verdict = "balanced" if account.ok else "NOT balanced"
        print(f"  {account.name}: {account.accepted} accepted, {verdict}:")
        print(f"    {account.detail}")
    print(f"tracebacks in the app's logs: {outcome.errors_logged}")


def goals(result: LoadResult, growth: list[Growth], outcome: Outcome) -> list[Goal]:
    mib = 2**20
    worst = max(growth, key=lambda item: item.growth, default=None)
    target = f"<= {GROWTH_BOUND / mib:g} MiB per process"
    if worst is None:
        memory = Goal(
            "memory_growth_after_warmup", "no process sampled through", target, False
        )
    else:
        memory = Goal(
            "memory_growth_after_warmup",
            f"largest {worst.growth / mib:+.1f} MiB"
            f" ({worst.growth / worst.at_warmup:+.1%}, {worst.role} {worst.pid})",
            target,
            all(item.within for item in growth),
        )
    unbalanced = [account.name for account in outcome.accounts if not account.ok]
    books = f"{len(outcome.accounts) - len(unbalanced)} of {len(outcome.accounts)}"
    if unbalanced:
        books += f" (not {', '.join(unbalanced)})"
    server_errors = sum(tally.server_errors for tally in result.tallies.values())
    unanswered = sum(tally.unanswered for tally in result.tallies.values())
    streams = sum(1 for stream in result.streams if not stream.held)
    return [
        memory,
        Goal("books_balanced", f"{books} balance", "all", not unbalanced),
        Goal(
            "errors",
            f"{server_errors} 5xx, {unanswered} unanswered, {streams} streams"
            " refused or broken",
            "0",
            server_errors == unanswered == streams == 0,
        ),
    ]


# ------------------------------------------------------------------- main


def soak(args: argparse.Namespace) -> tuple[Plan, Outcome]:
    shopify = FakeShopifyPlatform(API_KEY, API_SECRET)
    channels = [line_channel(number) for number in range(SHOP_COUNT)]
    with (
        line_server(args.line_latency, channels) as line,
        scratch_database(args.database_url, "revisit_bench_soak") as database_url,
        scratch_redis(args.redis_url) as redis,
        served(shopify) as shopify_url,
        tempfile.TemporaryDirectory(prefix="revisit-soak-") as scratch,
    ):
        log_dir = args.log_dir or Path(scratch)
        log_dir.mkdir(parents=True, exist_ok=True)
        env = app_environment(database_url, args.redis_url, shopify_url, line.base_url)
        plan = prepare(plugin.create_app(env), shopify, args)
        logger.info(
            "prepared %d shops, %d chat shoppers, %d reminder carts",
            len(plan.shops),
            len(plan.chat_shoppers),
            len(plan.reminder_carts),
        )
        with running_app({**os.environ, **env}, log_dir, args.streams) as app:
            logger.info("load for %d s", args.seconds)
            result = asyncio.run(drive(app, redis, plan, shopify, args))
            logger.info("load done; draining")
            drained = drain(app, database_url, redis, result, args.drain_timeout)
            reminders = reminder_books(
                database_url, plan, result.ledger, line.summary()
            )
            accounts = [
                tracking_books(database_url, result.ledger),
                webhook_books(database_url, result.ledger),
                chat_books(database_url, result.ledger),
                reminders.account,
            ]
            app.stop_workers()
            errors_logged = app.errors_logged()
    return plan, Outcome(result, drained, accounts, reminders, errors_logged)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("alembic", "engine", "plugin"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        plan, outcome = soak(args)
    except Exception:
        logger.exception("the soak could not run")
        return 1
    targets = report(args, plan, outcome)
    print()
    for goal in targets:
        print(goal.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
