"""Every ops test starts with an idle event buffer and its own settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from flask import Flask

from engine.runtime import current
from engine.tracking.buffer import EventBuffer
from tests.widget_api import widget_state  # noqa: F401  (the fixture below uses it)


@pytest.fixture(autouse=True)
def _idle_buffer(widget_state: EventBuffer) -> EventBuffer:  # noqa: F811
    return widget_state


@pytest.fixture
def set_settings(app: Flask) -> Iterator[Callable[..., None]]:
    """Change some of the app's settings for one test: ``set_settings(x=...)``."""
    runtime = current()
    original = runtime.settings

    def change(**fields: object) -> None:
        runtime.settings = replace(runtime.settings, **fields)

    yield change
    runtime.settings = original
