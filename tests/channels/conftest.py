"""Fake LINE and Messenger platforms (served once, emptied per test) and Redis."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from redis import Redis

from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from tests.conftest import BACKENDS

LINE_CHANNEL_ID = "2000000001"
LINE_TOKEN = "line-access-token-0123456789"
LINE_SECRET = "line-channel-secret-0123456789"
LINE_USER = "U" + "1" * 32
OTHER_LINE_USER = "U" + "2" * 32

PAGE_ID = "100000000000001"
PAGE_TOKEN = "page-access-token-0123456789"
APP_SECRET = "messenger-app-secret-0123456789"
PSID = "7000000000000001"


def frozen_clock() -> float:
    return 1000.0


@pytest.fixture(scope="session")
def served_line() -> Iterator[FakeLinePlatform]:
    fake = FakeLinePlatform()
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture(scope="session")
def served_messenger() -> Iterator[FakeMessengerPlatform]:
    fake = FakeMessengerPlatform(APP_SECRET)
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture
def line(served_line: FakeLinePlatform) -> Iterator[FakeLinePlatform]:
    """The fake LINE with one channel, no latency and LINE's own rate limit.

    Its rate window's clock stands still, so a test's requests all fall in
    one second however slowly this machine runs.
    """
    served_line.reset()
    served_line.set_latency(0.0)
    served_line.set_rate_limit(2000)
    served_line.rate_clock = frozen_clock
    served_line.add_channel(LINE_CHANNEL_ID, LINE_TOKEN, LINE_SECRET)
    yield served_line
    served_line.reset()


@pytest.fixture
def messenger(
    served_messenger: FakeMessengerPlatform,
) -> Iterator[FakeMessengerPlatform]:
    """The fake Messenger with one Page and a shopper who just wrote to it.

    Its rate window's clock stands still, as the fake LINE's does.
    """
    served_messenger.reset()
    served_messenger.set_latency(0.0)
    served_messenger.set_rate_limit(300)
    served_messenger.rate_clock = frozen_clock
    served_messenger.add_page(PAGE_ID, PAGE_TOKEN)
    served_messenger.receive_message(PAGE_ID, PSID)
    yield served_messenger
    served_messenger.reset()


@pytest.fixture
def redis() -> Iterator[Redis]:
    """The tests' Redis, emptied before each test."""
    client = Redis.from_url(BACKENDS.redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client
