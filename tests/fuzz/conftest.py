"""Fuzz fixtures: an idle event buffer, no rate limits, the chat platforms' fakes.

The widget's rate limits stay wired in (their ``before_request`` still reads
every body) but spend no budget: hundreds of examples from one address
would otherwise be refused with 429 before reaching the checks under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask

from engine.runtime import current
from engine.tracking.buffer import EventBuffer
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from tests.widget_api import widget_state  # noqa: F401  (the fixture below uses it)

MESSENGER_APP_SECRET = "messenger-app-secret-fuzz-0123456789"


@pytest.fixture(autouse=True)
def _idle_buffer(widget_state: EventBuffer) -> EventBuffer:  # noqa: F811
    return widget_state


@pytest.fixture(scope="session")
def line_fake() -> Iterator[FakeLinePlatform]:
    fake = FakeLinePlatform()
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture(scope="session")
def messenger_fake() -> Iterator[FakeMessengerPlatform]:
    fake = FakeMessengerPlatform(MESSENGER_APP_SECRET)
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture(autouse=True)
def fuzz_settings(
    app: Flask, line_fake: FakeLinePlatform, messenger_fake: FakeMessengerPlatform
) -> Iterator[None]:
    """No widget budgets; LINE and Messenger calls go to the fakes."""
    line_fake.reset()
    messenger_fake.reset()
    runtime = current()
    original = runtime.settings
    runtime.settings = replace(
        original,
        widget_rate_limit_ip=None,
        widget_rate_limit_shop=None,
        widget_rate_limit_visitor=None,
        line_api_base_url=line_fake.base_url,
        line_access_base_url=line_fake.base_url,
        line_web_base_url=line_fake.base_url,
        messenger_graph_base_url=messenger_fake.base_url,
        messenger_me_base_url=messenger_fake.me_url,
        messenger_app_secret=MESSENGER_APP_SECRET,
    )
    yield
    runtime.settings = original
