"""A drain that emptied Redis watches for more events before it ends, so a
steady stream is written by one job instead of a job per flush."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from flask import Flask
from rq import Queue

from engine.runtime import REMINDERS_QUEUE, current
from engine.shops.models import Shop
from engine.tracking.buffer import LOCK_KEY, QUEUE_KEY, EventBuffer
from engine.tracking.drain import QUEUES_FIRST, drain_events
from tests.tracking import page_view
from tests.tracking.test_drain import rows


@pytest.fixture
def linger(app: Flask, monkeypatch: pytest.MonkeyPatch):
    """Give the drain a linger of ``seconds`` (the suite runs with none)."""

    def set_linger(seconds: float) -> None:
        runtime = current()
        settings = dataclasses.replace(
            runtime.settings, tracking_drain_linger_seconds=seconds
        )
        monkeypatch.setattr(runtime, "settings", settings)

    return set_linger


def tracking_queue() -> Queue:
    return Queue("tracking", connection=current().redis)


def drain_jobs() -> list[str]:
    return tracking_queue().job_ids


def test_events_flushed_while_the_drain_lingers_are_written_by_it(
    app: Flask, shop: Shop, widget_state: EventBuffer, linger
) -> None:
    # given a drain that lingers a second, no job waiting that would end its
    # linger, one event in Redis, and a second flushed by another thread a
    # moment after the drain emptied Redis
    linger(1.0)
    for name in QUEUES_FIRST:
        current().queue(name).empty()
    widget_state.add([page_view(shop, visitor="a" * 22)])
    widget_state.flush()
    # (the first flush's drain job is the one run by hand below)
    tracking_queue().empty()

    second = page_view(shop, visitor="b" * 22)

    def flush_later() -> None:
        time.sleep(0.4)
        widget_state.add([second])
        widget_state.flush()

    later = threading.Thread(target=flush_later)
    later.start()

    # when
    written = drain_events()
    later.join()

    # then the one job wrote both, and the second flush, finding it at work,
    # enqueued no drain
    assert written == 2
    assert rows() == 2
    assert current().redis.llen(QUEUE_KEY) == 0
    assert drain_jobs() == []


def test_drain_ends_its_linger_when_a_reminder_job_waits(
    app: Flask, shop: Shop, widget_state: EventBuffer, linger
) -> None:
    # given a long linger and a reminder wake-up waiting
    linger(30.0)
    widget_state.add([page_view(shop)])
    widget_state.flush()
    current().queue(REMINDERS_QUEUE).enqueue("builtins.len", [])

    # when
    began = time.monotonic()
    written = drain_events()

    # then it wrote what there was and made way for the reminder at once
    assert written == 1
    assert time.monotonic() - began < 5
    assert current().redis.exists(LOCK_KEY) == 0


def test_flush_enqueues_no_drain_while_a_drain_holds_the_lock(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given a drain at work
    current().redis.set(LOCK_KEY, "another-drainer")

    # when
    widget_state.add([page_view(shop)])
    widget_state.flush()

    # then the events wait for that drain, which looks again before it ends
    assert current().redis.llen(QUEUE_KEY) == 1
    assert drain_jobs() == []
