"""Fixtures for the fault tests: fake LINE and Messenger, the reminders' clock,
and the processes a test starts (killed in teardown, whatever happened).

The fakes run in the test's process and note every send request they answer
(``Recorder``): when it came, to whom, with which retry key, and the answer,
so a test can check the order of events as the platform saw it.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from engine.reminders import clock
from engine.shops.models import Shop
from plugin.sandbox.chat_platform import FakeChatPlatform
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import BACKENDS, SHOP_DOMAIN
from tests.faults.books import release_scheduler_locks
from tests.faults.processes import Processes
from tests.reminders import (
    LINE_CHANNEL_ID,
    LINE_TOKEN,
    PAGE_ID,
    PAGE_TOKEN,
    connect_channels,
    stock_products,
)

needs_postgresql = pytest.mark.skipif(
    BACKENDS.admin_database_url is None,
    reason="Several processes on one database need PostgreSQL; CI runs this on it.",
)


@dataclass(frozen=True)
class Answered:
    """One send request a fake answered: arrival and answer (monotonic s)."""

    arrived: float
    answered: float
    recipient: str | None
    retry_key: str | None
    status: int
    retry_after: str | None


class Recorder:
    """WSGI middleware around a fake: notes every send request and its answer.

    ``before`` (if set) runs as a request arrives, before the fake sees it:
    a test injects the fake's faults there for a while. It returns how many
    seconds to hold back the fake's answer, once the fake has worked it out
    (a platform that accepted a message and answered too late).
    """

    def __init__(self, app: Callable, send_path: Callable[[str], bool]) -> None:
        self.app = app
        self.send_path = send_path
        self.answers: list[Answered] = []
        self.before: Callable[[], float] | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> object:
        if not self.send_path(environ.get("PATH_INFO", "")):
            return self.app(environ, start_response)

        arrived = time.monotonic()
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        hold_back = self.before() if self.before is not None else 0.0
        seen: dict[str, object] = {}

        def note_start(status: str, headers: list, exc_info: object = None) -> object:
            seen["status"] = int(status.split()[0])
            seen["retry_after"] = dict(headers).get("Retry-After")
            return start_response(status, headers, exc_info)

        result = list(self.app(environ, note_start))
        time.sleep(hold_back)
        with self._lock:
            self.answers.append(
                Answered(
                    arrived,
                    time.monotonic(),
                    _recipient(body),
                    environ.get("HTTP_X_LINE_RETRY_KEY"),
                    int(seen["status"]),
                    seen["retry_after"],
                )
            )
        return result

    def to(self, recipient: str) -> list[Answered]:
        with self._lock:
            return sorted(
                (a for a in self.answers if a.recipient == recipient),
                key=lambda a: a.arrived,
            )

    def clear(self) -> None:
        with self._lock:
            self.answers.clear()
        self.before = None


def _recipient(body: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    recipient = payload.get("to") or payload.get("recipient")
    return recipient.get("id") if isinstance(recipient, dict) else recipient


def recorder_of(fake: FakeChatPlatform) -> Recorder:
    return fake.wsgi_app  # type: ignore[return-value]


@pytest.fixture(scope="module")
def clock_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The reminders' sandbox clock, shared with the processes of one module."""
    path = tmp_path_factory.mktemp("clock") / "offset"
    path.write_text("0")
    previous = os.environ.get(clock.CLOCK_FILE_ENV)
    os.environ[clock.CLOCK_FILE_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(clock.CLOCK_FILE_ENV, None)
    else:
        os.environ[clock.CLOCK_FILE_ENV] = previous


@pytest.fixture
def sandbox_clock(clock_file: Path) -> Iterator[Path]:
    clock.set_offset(0)
    yield clock_file
    clock.set_offset(0)


@pytest.fixture(scope="module")
def line_fake() -> Iterator[FakeLinePlatform]:
    fake = FakeLinePlatform()
    fake.wsgi_app = Recorder(fake.wsgi_app, lambda path: path == "/v2/bot/message/push")
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture(scope="module")
def messenger_fake() -> Iterator[FakeMessengerPlatform]:
    fake = FakeMessengerPlatform()
    fake.wsgi_app = Recorder(fake.wsgi_app, lambda path: path.endswith("/messages"))
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture
def line(line_fake: FakeLinePlatform, sandbox_clock: Path) -> FakeLinePlatform:
    """The fake LINE, empty, on the reminders' clock, knowing the shop's channel."""
    line_fake.reset()
    recorder_of(line_fake).clear()
    line_fake.set_latency(0)
    line_fake.now = clock.now
    line_fake.add_channel(LINE_CHANNEL_ID, LINE_TOKEN, "line-secret")
    return line_fake


@pytest.fixture
def messenger(
    messenger_fake: FakeMessengerPlatform, sandbox_clock: Path
) -> FakeMessengerPlatform:
    messenger_fake.reset()
    recorder_of(messenger_fake).clear()
    messenger_fake.set_latency(0)
    messenger_fake.now = clock.now
    messenger_fake.add_page(PAGE_ID, PAGE_TOKEN)
    return messenger_fake


@pytest.fixture(scope="module")
def process_env(
    settings_env: dict[str, str],
    line_fake: FakeLinePlatform,
    messenger_fake: FakeMessengerPlatform,
    clock_file: Path,
) -> dict[str, str]:
    """What every process of the module is started with."""
    return {
        **os.environ,
        **settings_env,
        "LINE_API_BASE_URL": line_fake.base_url,
        "MESSENGER_GRAPH_BASE_URL": messenger_fake.base_url,
        clock.CLOCK_FILE_ENV: str(clock_file),
        "WIDGET_RATE_LIMITS": "off",
        "PYTHONFAULTHANDLER": "1",
    }


@pytest.fixture
def processes(
    app: Flask, process_env: dict[str, str], tmp_path: Path
) -> Iterator[Processes]:
    """This test's processes, all killed when it ends (their logs join the
    report of a test that failed)."""
    started = Processes(process_env, tmp_path)
    try:
        yield started
    finally:
        started.kill_all()
        release_scheduler_locks()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    outcome = yield
    report = outcome.get_result()
    started = getattr(item, "funcargs", {}).get("processes")
    if report.when == "call" and report.failed and started is not None:
        report.sections.append(("processes' logs", started.logs_of_all()))


@pytest.fixture
def reminder_shop(shop: Shop, platform: FakeShopifyPlatform) -> Shop:
    """The installed test shop with products on sale and both channels connected."""
    stock_products(platform, SHOP_DOMAIN)
    shop.name, shop.currency, shop.timezone = "Tea House", "TWD", "Asia/Taipei"
    connect_channels(shop)
    return shop
