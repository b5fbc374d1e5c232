"""Every test here starts with an idle, empty event buffer and fresh memos."""

from __future__ import annotations

import pytest

from engine.tracking.buffer import EventBuffer
from tests.widget_api import widget_state  # noqa: F401  (the fixture below uses it)


@pytest.fixture(autouse=True)
def _idle_buffer(widget_state: EventBuffer) -> EventBuffer:  # noqa: F811
    return widget_state
