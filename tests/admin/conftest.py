"""Fixtures for the admin panel: fake chat platforms wired into the app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask

from engine.runtime import current
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform


@pytest.fixture(scope="session")
def line_fake() -> Iterator[FakeLinePlatform]:
    fake = FakeLinePlatform()
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture(scope="session")
def messenger_fake() -> Iterator[FakeMessengerPlatform]:
    fake = FakeMessengerPlatform()
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture
def chat_fakes(
    app: Flask, line_fake: FakeLinePlatform, messenger_fake: FakeMessengerPlatform
) -> Iterator[tuple[FakeLinePlatform, FakeMessengerPlatform]]:
    """Both fakes emptied, and the app's LINE and Graph addresses pointing at them."""
    line_fake.reset()
    messenger_fake.reset()
    runtime = current()
    original = runtime.settings
    runtime.settings = replace(
        original,
        line_api_base_url=line_fake.base_url,
        messenger_graph_base_url=messenger_fake.base_url,
    )
    yield line_fake, messenger_fake
    runtime.settings = original
