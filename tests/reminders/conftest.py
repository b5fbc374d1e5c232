"""Fixtures for reminders: a movable clock, fake LINE and Messenger, a real worker.

The worker is ``revisit worker`` in a process of its own (forking work-horses,
RQ's scheduler), started once per test module against the test database and
Redis, the fake platforms and the same sandbox clock file as the tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask, has_app_context

from engine.reminders import clock
from engine.reminders.scheduling import QUEUE
from engine.runtime import current
from engine.shops.models import Shop
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import SHOP_DOMAIN
from tests.reminders import (
    LINE_CHANNEL_ID,
    LINE_TOKEN,
    PAGE_ID,
    PAGE_TOKEN,
    connect_channels,
    stock_products,
)

ROOT = Path(__file__).resolve().parents[2]


class ArrivalLog:
    """WSGI middleware noting when each API request reached a fake platform."""

    def __init__(self, app: Callable, prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        self.arrivals: list[float] = []
        self.arrived = threading.Event()

    def __call__(self, environ: dict, start_response: Callable) -> object:
        if environ.get("PATH_INFO", "").startswith(self.prefix):
            self.arrivals.append(time.monotonic())
            self.arrived.set()
        return self.app(environ, start_response)

    def clear(self) -> None:
        self.arrivals.clear()
        self.arrived.clear()


@pytest.fixture(scope="session")
def clock_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("clock") / "offset"
    path.write_text("0")
    previous = os.environ.get(clock.CLOCK_FILE_ENV)
    os.environ[clock.CLOCK_FILE_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(clock.CLOCK_FILE_ENV, None)
    else:
        os.environ[clock.CLOCK_FILE_ENV] = previous


@pytest.fixture(autouse=True)
def sandbox_clock(clock_file: Path) -> Iterator[None]:
    clock.set_offset(0)
    yield
    clock.set_offset(0)


@pytest.fixture(scope="session")
def line_fake() -> Iterator[FakeLinePlatform]:
    fake = FakeLinePlatform()
    fake.wsgi_app = ArrivalLog(fake.wsgi_app, "/v2/bot/message/push")
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture(scope="session")
def messenger_fake() -> Iterator[FakeMessengerPlatform]:
    fake = FakeMessengerPlatform()
    fake.wsgi_app = ArrivalLog(fake.wsgi_app, "/v")
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture
def line(line_fake: FakeLinePlatform) -> FakeLinePlatform:
    """The fake LINE, empty, on the reminders' clock, knowing the shop's channel."""
    line_fake.reset()
    line_fake.wsgi_app.clear()
    line_fake.set_latency(0)
    line_fake.now = clock.now
    line_fake.add_channel(LINE_CHANNEL_ID, LINE_TOKEN, "line-secret")
    return line_fake


@pytest.fixture
def messenger(messenger_fake: FakeMessengerPlatform) -> FakeMessengerPlatform:
    messenger_fake.reset()
    messenger_fake.wsgi_app.clear()
    messenger_fake.set_latency(0)
    messenger_fake.now = clock.now
    messenger_fake.add_page(PAGE_ID, PAGE_TOKEN)
    return messenger_fake


@pytest.fixture
def chat_settings(
    app: Flask, line: FakeLinePlatform, messenger: FakeMessengerPlatform
) -> Iterator[None]:
    """Point this process's app at the fake chat platforms for one test."""
    runtime = current()
    original = runtime.settings
    runtime.settings = replace(
        original,
        line_api_base_url=line.base_url,
        messenger_graph_base_url=messenger.base_url,
    )
    yield
    runtime.settings = original


@pytest.fixture
def reminder_shop(
    shop: Shop, platform: FakeShopifyPlatform, chat_settings: None
) -> Shop:
    """The installed test shop with products on sale and both channels connected."""
    stock_products(platform, SHOP_DOMAIN)
    shop.name, shop.currency, shop.timezone = "Tea House", "TWD", "Asia/Taipei"
    connect_channels(shop)
    return shop


class WorkerProcess:
    """``revisit worker`` in a subprocess; ``kill`` and ``start`` it at will."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.dead_executions: set[bytes] = set()

    def restart(self) -> None:
        """Start again after ``kill``, in an app context."""
        # The killed worker's scheduler held RQ's scheduler locks for 61 s, and
        # a new scheduler only tries again minutes later: let them run out now.
        redis = current().redis
        for lock in redis.keys("rq:scheduler-lock:*"):
            redis.delete(lock)
        self.start()
        self.wait_for_dispatcher()

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "plugin.cli", "worker"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """Kill the worker, its work-horse and its scheduler at once, as a
        crash of the machine would (RQ puts the horse in a group of its own)."""
        if not self.alive():
            return
        # RQ keeps a killed horse's execution in its started registry until
        # the job times out; remember it, so "idle" below means no live job.
        if has_app_context():
            self.dead_executions |= _started_executions()
        for pid in [self.process.pid, *_descendants(self.process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_until_working(self, timeout: float = 20.0) -> None:
        """Run a no-op job through the worker; returns once it finished."""
        job = current().queue("default").enqueue("builtins.len", [])
        deadline = time.monotonic() + timeout
        while job.get_status(refresh=True) != "finished":
            if not self.alive() or time.monotonic() > deadline:
                raise AssertionError(
                    "The worker did not run a job; its log:\n" + self.log_tail()
                )
            time.sleep(0.02)

    def wait_until_idle(self, timeout: float = 20.0) -> None:
        """Until no reminder job is queued or running.

        A job the worker has popped from a queue is in neither place until
        RQ registers it as started, so first a no-op job goes through behind
        everything queued (on ``default``, which the worker takes after the
        reminders' queue), and then "idle" must hold for a quarter second.
        """
        self.wait_until_working(timeout)
        queues = [current().queue(name) for name in (QUEUE, "default")]
        deadline = time.monotonic() + timeout
        idle_since = None
        while idle_since is None or time.monotonic() - idle_since < 0.25:
            if time.monotonic() > deadline:
                raise AssertionError("The worker stayed busy:\n" + self.log_tail())
            queued = sum(queue.count for queue in queues)
            busy = queued or _started_executions() - self.dead_executions
            if busy:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            time.sleep(0.02)

    def wait_for_dispatcher(self, timeout: float = 15.0) -> None:
        """Until the worker's webhook dispatcher thread has started.

        A work-horse forked while that thread is still starting up can hang
        (a lock held by the thread at fork time); the first job waits for it.
        """
        deadline = time.monotonic() + timeout
        while "webhooks.dispatcher_listening" not in self.log_path.read_text(
            errors="replace"
        ):
            if not self.alive() or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@pytest.fixture(scope="module")
def worker_process(
    settings_env: dict[str, str],
    line_fake: FakeLinePlatform,
    messenger_fake: FakeMessengerPlatform,
    clock_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    env = {
        **os.environ,
        **settings_env,
        "LINE_API_BASE_URL": line_fake.base_url,
        "MESSENGER_GRAPH_BASE_URL": messenger_fake.base_url,
        clock.CLOCK_FILE_ENV: str(clock_file),
        "PYTHONFAULTHANDLER": "1",
    }
    worker = WorkerProcess(env, tmp_path_factory.mktemp("worker") / "worker.log")
    worker.start()
    worker.wait_for_dispatcher()
    yield worker
    worker.stop()


@pytest.fixture
def worker(
    app: Flask, reminder_shop: Shop, worker_process: WorkerProcess
) -> Iterator[WorkerProcess]:
    """The real worker, running and idle, for one test."""
    if not worker_process.alive():
        worker_process.restart()
    worker_process.wait_until_working()
    yield worker_process
    if worker_process.alive():
        worker_process.wait_until_idle()


def _started_executions() -> set[bytes]:
    """The raw entries of RQ's started registries (the reminders' queue and
    ``default``): job id and execution id."""
    found: set[bytes] = set()
    for name in (QUEUE, "default"):
        registry = current().queue(name).started_job_registry
        found |= set(current().redis.zrange(registry.key, 0, -1))
    return found


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, read from /proc (children first listed)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = [], [pid]
    while pending:
        children = parents.get(pending.pop(), [])
        found.extend(children)
        pending.extend(children)
    return found
