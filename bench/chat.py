"""Live chat across web processes: delivery latency, Redis connections, memory.

    .venv/bin/python bench/chat.py [--connections 2000] [--messages 300]

Two gunicorn processes serve the real app (gthread, enough threads for
their share of streams) against a scratch PostgreSQL database and a Redis
db. ``--connections`` shoppers, each with a conversation, open the widget's
server-sent event stream, split evenly between the two processes. Then
``--messages`` shopper messages are posted, one at a time, each through the
process that does *not* hold that shopper's stream, and the client times
each from the POST to the event arriving on the stream (same machine, same
clock). The web processes' connections to Redis are counted (from /proc)
with 20 streams open and again with all of them open; memory is the two processes' RSS
before the streams open and with all of them open.

Goals: ``delivery_p99_ms`` ≤ 50 on loopback; ``redis_connections``: the
same count with every stream open as with 20 (a subscriber per process,
not per shopper); ``nothing_lost``: every message arrived once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
from common import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    Goal,
    base_config,
    child_pids,
    free_port,
    percentile,
    resident_bytes,
    scratch_database,
    scratch_redis,
)

import plugin  # noqa: E402
from engine.binding.person import visitor_for  # noqa: E402
from engine.chat.conversations import (  # noqa: E402
    NewMessage,
    append,
    start_for_visitor,
)
from engine.chat.models import SHOPPER  # noqa: E402
from engine.chat.shopper import stream_token  # noqa: E402
from engine.db import db  # noqa: E402
from engine.shops.install import record_install  # noqa: E402
from engine.shops.tokens import TokenGrant  # noqa: E402
from engine.tracking.tokens import issue_token, new_public_id  # noqa: E402

ORIGIN = "https://bench-shop.myshopify.com"
SHOP_DOMAIN = "bench-shop.myshopify.com"
SECRET_KEY = "bench-secret-key"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    return parser.parse_args(argv)


# ----------------------------------------------------------- environment


def app_config(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **base_config(
            database_url,
            redis_url,
            secret_key=SECRET_KEY,
            api_secret="bench-shopify-api-secret-0123456789",
        ),
        "WIDGET_RATE_LIMITS": "off",
    }


@dataclass(frozen=True)
class Shopper:
    visitor_token: str
    stream_path: str


def seed(config: dict[str, str], count: int) -> tuple[str, list[Shopper]]:
    """Migrate, install a shop, and give ``count`` shoppers a conversation."""
    app = plugin.create_app(config)
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        shop = record_install(SHOP_DOMAIN, TokenGrant("bench-access-token"))
        db.session.commit()
        shoppers = []
        for _ in range(count):
            public_id = new_public_id()
            conversation = start_for_visitor(shop, visitor_for(shop, public_id))
            append(conversation, NewMessage(author=SHOPPER, text="Hello"))
            token = stream_token(SECRET_KEY, shop.id, public_id)
            shoppers.append(
                Shopper(
                    issue_token(SECRET_KEY, shop.id, public_id),
                    f"/api/widget/v1/chat/stream?widget_key={shop.widget_key}"
                    f"&token={token}&after=1",
                )
            )
        db.session.commit()
        widget_key = shop.widget_key
        db.session.remove()
        db.engine.dispose()
    return widget_key, shoppers


class WebProcess:
    """One gunicorn process (one worker) with enough threads for its streams."""

    def __init__(self, env: dict[str, str], threads: int) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                "gthread",
                "--threads",
                str(threads),
                # gthread accepts no more connections than this at once.
                "--worker-connections",
                str(threads * 2),
                "--backlog",
                "4096",
                "--config",
                "python:plugin.gunicorn_conf",
                "plugin:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_ready(self.port, self.process)

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def rss_bytes(self) -> int:
        pids = [self.process.pid, *self.worker_pids()]
        return sum(resident_bytes(pid) or 0 for pid in pids)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


# ---------------------------------------------------------------- client


class Stream:
    """A shopper's open event stream, read by an asyncio task."""

    def __init__(self, port: int, path: str) -> None:
        self.port = port
        self.path = path
        self.arrived: dict[str, float] = {}
        self.opened = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None

    async def run(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._writer = writer
        writer.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Origin: {ORIGIN}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")
        self.opened.set()
        while line := await reader.readline():
            if line.startswith(b"data: ") and b'"text"' in line:
                text = json.loads(line[6:])["text"]
                self.arrived.setdefault(text, time.perf_counter())

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


async def post_message(port: int, widget_key: str, token: str, text: str) -> None:
    body = json.dumps(
        {
            "widget_key": widget_key,
            "visitor_token": token,
            "text": text,
            "client_id": str(uuid.uuid4()),
        }
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"POST /api/widget/v1/chat/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Origin: {ORIGIN}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        + body
    )
    await writer.drain()
    status = await reader.readline()
    await reader.read()
    writer.close()
    if b" 201 " not in status:
        raise RuntimeError(f"message refused: {status!r}")


@dataclass
class Measured:
    latencies_ms: list[float]
    lost: int
    redis_few: int
    redis_all: int
    rss_before: int
    rss_after: int
    connections: int


async def measure(
    processes: list[WebProcess],
    widget_key: str,
    shoppers: list[Shopper],
    messages: int,
    redis_port: int,
) -> Measured:
    streams = [
        Stream(processes[index % 2].port, shopper.stream_path)
        for index, shopper in enumerate(shoppers)
    ]
    rss_before = sum(process.rss_bytes() for process in processes)
    tasks = []
    for index, stream in enumerate(streams):
        tasks.append(asyncio.create_task(stream.run()))
        if index == 19:
            await _all_open(streams[:20])
            await asyncio.sleep(1.0)
            redis_few = _redis_connections(processes, redis_port)
        if index % 100 == 99:
            await asyncio.sleep(0.05)
    await _all_open(streams)
    await asyncio.sleep(1.0)
    redis_all = _redis_connections(processes, redis_port)
    rss_after = sum(process.rss_bytes() for process in processes)

    latencies, lost = [], 0
    for number in range(messages):
        index = (number * 7919) % len(shoppers)
        other = processes[(index + 1) % 2]
        text = f"bench message {number}"
        started = time.perf_counter()
        await asyncio.wait_for(
            post_message(other.port, widget_key, shoppers[index].visitor_token, text),
            timeout=10,
        )
        arrived = await _arrival(streams[index], text, timeout=5.0)
        if arrived is None:
            lost += 1
        else:
            latencies.append((arrived - started) * 1000)

    for stream in streams:
        stream.close()
    for task in tasks:
        task.cancel()
    return Measured(
        latencies, lost, redis_few, redis_all, rss_before, rss_after, len(streams)
    )


async def _all_open(streams: list[Stream]) -> None:
    await asyncio.wait_for(
        asyncio.gather(*(stream.opened.wait() for stream in streams)), timeout=120
    )


async def _arrival(stream: Stream, text: str, timeout: float) -> float | None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if text in stream.arrived:
            return stream.arrived[text]
        await asyncio.sleep(0.0005)
    return None


def _redis_connections(processes: list[WebProcess], redis_port: int) -> int:
    """Established TCP connections from the web processes to Redis.

    Read from /proc rather than Redis's own client count, which would also
    count every other program using the same server.
    """
    inodes = set()
    for process in processes:
        for pid in [process.process.pid, *process.worker_pids()]:
            inodes |= _socket_inodes(pid)
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if fields[3] == "01" and remote_port == redis_port and fields[9] in inodes:
                count += 1
    return count


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


# -------------------------------------------------------------- report


def report(result: Measured, messages: int) -> list[Goal]:
    p50 = percentile(result.latencies_ms, 50) if result.latencies_ms else math.inf
    p99 = percentile(result.latencies_ms, 99) if result.latencies_ms else math.inf
    per_connection = (result.rss_after - result.rss_before) / result.connections
    print(f"open streams:               {result.connections} (2 web processes)")
    print(f"messages sent:              {messages}, each to the other process")
    print(f"delivery latency p50 / p99: {p50:.1f} ms / {p99:.1f} ms")
    print(
        f"web processes' Redis conns: {result.redis_few} with 20 streams,"
        f" {result.redis_all} with {result.connections}"
    )
    print(
        f"web processes' RSS:         {result.rss_before / 2**20:.0f} MiB before,"
        f" {result.rss_after / 2**20:.0f} MiB with every stream open"
    )
    print(f"memory per open stream:     {per_connection / 1024:.1f} KiB")
    return [
        Goal("delivery_p99_ms", f"{p99:.1f}", "<= 50", p99 <= 50),
        Goal(
            "redis_connections",
            f"{result.redis_all} with {result.connections} streams,"
            f" {result.redis_few} with 20",
            "the same",
            result.redis_all == result.redis_few,
        ),
        Goal(
            "nothing_lost",
            f"{messages - result.lost}/{messages} arrived",
            "all",
            result.lost == 0,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with (
        scratch_database(args.database_url, "revisit_chat_bench") as database_url,
        scratch_redis(args.redis_url),
    ):
        config = app_config(database_url, args.redis_url)
        widget_key, shoppers = seed(config, args.connections)
        env = dict(os.environ, **config)
        threads = args.connections // 2 + 50
        processes = [WebProcess(env, threads), WebProcess(env, threads)]
        try:
            result = asyncio.run(
                measure(
                    processes,
                    widget_key,
                    shoppers,
                    args.messages,
                    urlsplit(args.redis_url).port or 6379,
                )
            )
        finally:
            for process in processes:
                process.stop()
    for goal in report(result, args.messages):
        print(goal.line())
    return 0


def _wait_ready(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if b" 200 " in probe.recv(200):
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


if __name__ == "__main__":
    sys.exit(main())
