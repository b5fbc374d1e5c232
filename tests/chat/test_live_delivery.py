"""Live chat across web processes: two real gunicorn processes, one Redis.

A shopper's stream is open on one process while messages are sent through
the other; the stream must carry each message once, in order, and a client
that drops its connection in the middle of a burst and comes back with
``Last-Event-ID`` must end with every message exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.chat.conversations import find
from engine.chat.fanout import hub_for
from engine.chat.replies import post_agent_reply
from engine.db import db
from engine.runtime import current
from engine.shops.models import Shop
from tests.chat import a_member
from tests.conftest import BACKENDS
from tests.widget_api import new_visitor, storefront

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60.0

pytestmark = pytest.mark.skipif(
    BACKENDS.admin_database_url is None,
    reason="Two web processes need PostgreSQL; CI runs this on it.",
)


class WebProcess:
    """``gunicorn plugin:create_app()`` on a port of its own."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        with log_path.open("ab") as log:
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
                    "16",
                    "--config",
                    "python:plugin.gunicorn_conf",
                    "plugin:create_app()",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"gunicorn never answered:\n{self.log()}")

    def stop(self) -> None:
        # Open streams would hold a graceful stop for its whole timeout.
        self.process.terminate()
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


class Stream:
    """A shopper's EventSource, read on a thread; ``seqs`` as they arrive."""

    def __init__(self, url: str, origin: str, last_event_id: int | None = None):
        self.seqs: list[int] = []
        self.opened = threading.Event()
        self._stop = threading.Event()
        headers = {"Origin": origin, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self._thread = threading.Thread(
            target=self._read, args=(url, headers), daemon=True
        )
        self._thread.start()
        assert self.opened.wait(15), "The stream never opened."

    def _read(self, url: str, headers: dict[str, str]) -> None:
        timeout = httpx.Timeout(5, read=30)
        with httpx.stream("GET", url, headers=headers, timeout=timeout) as response:
            assert response.status_code == 200, response.read()
            self._response = response
            self.opened.set()
            name = None
            with contextlib.suppress(httpx.HTTPError, AttributeError, OSError):
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: ") and name == "message":
                        self.seqs.append(json.loads(line[6:])["seq"])

    def close(self) -> None:
        """Drop the connection now, as a closed tab would."""
        self._stop.set()
        with contextlib.suppress(httpx.HTTPError, AttributeError, OSError):
            self._response.close()
        # The reading thread notices at the stream's next line; it is a daemon.
        self._thread.join(timeout=1)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while len(self.seqs) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.seqs)


@pytest.fixture(scope="module")
def web_processes(
    settings_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WebProcess, WebProcess]]:
    env = dict(os.environ, **settings_env, WIDGET_RATE_LIMITS="off")
    logs = tmp_path_factory.mktemp("web")
    processes = (
        WebProcess(env, logs / "web-a.log"),
        WebProcess(env, logs / "web-b.log"),
    )
    try:
        for process in processes:
            process.wait_ready()
        yield processes
    finally:
        for process in processes:
            process.stop()


@pytest.fixture
def two_processes(
    app: Flask, web_processes: tuple[WebProcess, WebProcess]
) -> tuple[WebProcess, WebProcess]:
    return web_processes


def say(base: str, shop: Shop, token: str, text: str) -> dict:
    response = httpx.post(
        f"{base}/api/widget/v1/chat/messages",
        content=json.dumps(
            {
                "widget_key": shop.widget_key,
                "visitor_token": token,
                "text": text,
                "client_id": str(uuid.uuid4()),
            }
        ),
        headers={"Content-Type": "text/plain", "Origin": storefront(shop)},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


def stream_path(answer: dict) -> str:
    url = answer["stream_url"]
    return url[url.index("/api/") :]


def test_a_message_sent_through_one_process_reaches_a_stream_on_another(
    client: FlaskClient, shop: Shop, two_processes: tuple[WebProcess, WebProcess]
) -> None:
    # given a shopper's stream open on process A
    web_a, web_b = two_processes
    token = new_visitor(client, shop)
    first = say(web_b.base, shop, token, "Hello")
    stream = Stream(web_a.base + stream_path(first), storefront(shop))
    assert stream.wait_for(1) == [1]

    # when the team answers through process B's engine and the shopper
    # writes again through process B
    conversation = find(shop, first["conversation"]["id"])
    post_agent_reply(shop, conversation, a_member(shop, "Mei"), "Hi! How can I help?")
    db.session.commit()
    say(web_b.base, shop, token, "Is the donut bed washable?")

    # then process A's stream carried both, in order, once
    try:
        assert stream.wait_for(3) == [1, 2, 3]
    finally:
        stream.close()


def test_a_client_that_drops_during_a_burst_of_100_ends_with_all_in_order(
    client: FlaskClient, shop: Shop, two_processes: tuple[WebProcess, WebProcess]
) -> None:
    # given a stream on process A
    web_a, web_b = two_processes
    token = new_visitor(client, shop)
    first = say(web_b.base, shop, token, "message 1")
    url = web_a.base + stream_path(first)
    stream = Stream(url, storefront(shop))

    # when 100 messages are sent through process B, and the client drops
    # its connection part-way and comes back with the last id it saw
    sender = threading.Thread(
        target=lambda: [
            say(web_b.base, shop, token, f"message {number}")
            for number in range(2, 101)
        ]
    )
    sender.start()
    stream.wait_for(30)
    stream.close()
    seen_before = list(stream.seqs)
    again = Stream(url, storefront(shop), last_event_id=seen_before[-1])
    sender.join(timeout=120)

    # then the two connections together saw 1..100, in order, none twice
    try:
        after = again.wait_for(100 - len(seen_before), timeout=30)
        assert seen_before + after == list(range(1, 101))
    finally:
        again.close()


def test_the_process_hub_uses_one_redis_connection_for_many_streams(
    app: Flask,
) -> None:
    # given the process's hub with 200 listeners of one shop
    hub = hub_for(current().settings.redis_url)
    before = _client_count()
    listeners = [hub.listen(1, lambda event: True) for _ in range(200)]

    # then it holds one subscription, not one per listener
    try:
        time.sleep(0.5)
        assert _client_count() - before <= 1
    finally:
        for listener in listeners:
            hub.forget(listener)


def _client_count() -> int:
    """This process's open connections to the tests' Redis (other programs on
    the same server do not count)."""
    port = urlsplit(current().settings.redis_url).port or 6379
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if fields[3] == "01" and remote_port == port and fields[9] in inodes:
                count += 1
    return count


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
