"""The per-process event buffer: flushing, on exit, and when Redis is down."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue

from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.buffer import CHUNK, QUEUE_KEY, EventBuffer, flush_all
from plugin.gunicorn_conf import worker_exit
from tests.tracking import page_view


def queued() -> int:
    return current().redis.llen(QUEUE_KEY)


def drain_jobs() -> list[str]:
    return Queue("tracking", connection=current().redis).job_ids


def test_flush_pushes_chunks_in_one_call_and_enqueues_one_drain(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given more events than one chunk holds
    widget_state.add([page_view(shop) for _ in range(CHUNK + 1)])

    # when
    flushed = widget_state.flush()

    # then
    assert flushed == CHUNK + 1
    assert queued() == 2
    assert widget_state.pending() == 0
    [job_id] = drain_jobs()
    assert job_id.startswith("tracking-drain-")


def test_flush_with_nothing_pending_does_nothing(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # when
    flushed = widget_state.flush()

    # then
    assert flushed == 0
    assert queued() == 0
    assert drain_jobs() == []


def test_gunicorn_worker_exit_flushes_what_is_pending(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    widget_state.add([page_view(shop), page_view(shop)])

    # when (gunicorn calls this as a worker stops gracefully)
    worker_exit(server=None, worker=None)

    # then
    assert widget_state.pending() == 0
    assert queued() == 1
    assert len(drain_jobs()) == 1


def test_a_process_that_exits_flushes_what_is_pending(
    app: Flask, shop: Shop, settings_env: dict[str, str]
) -> None:
    # given a process that buffers an event and ends without flushing
    script = textwrap.dedent(
        """
        import json, sys
        from engine.tracking.buffer import buffer_of
        from plugin import create_app

        app = create_app(json.loads(sys.argv[1]))
        buffer_of(app).background = False
        buffer_of(app).add([json.loads(sys.argv[2])])
        """
    )
    record = page_view(shop, event_id="e-exit-0001")

    # when
    subprocess.run(
        [sys.executable, "-c", script, json.dumps(settings_env), json.dumps(record)],
        check=True,
        timeout=60,
    )

    # then (atexit flushed it)
    [chunk] = current().redis.lrange(QUEUE_KEY, 0, -1)
    assert [item["id"] for item in json.loads(chunk)] == ["e-exit-0001"]


def test_flush_keeps_the_events_while_redis_is_down(
    app: Flask, shop: Shop, widget_state: EventBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    records = [page_view(shop), page_view(shop)]
    widget_state.add(records)

    def refuse(*args: object, **kwargs: object) -> None:
        raise RedisConnectionError("Redis is restarting")

    # when no connection to Redis can be had
    with monkeypatch.context() as patch:
        patch.setattr(widget_state._redis.connection_pool, "get_connection", refuse)
        flushed = widget_state.flush()

    # then
    assert flushed == 0
    assert widget_state.pending() == 2
    assert queued() == 0

    # and the next flush delivers them
    assert widget_state.flush() == 2
    assert queued() == 1


def test_background_thread_flushes_within_about_a_second(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    widget_state.background = True

    # when
    widget_state.add([page_view(shop)])

    # then
    deadline = time.monotonic() + 5
    while queued() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    widget_state.stop_background()
    assert queued() == 1
    assert widget_state.pending() == 0


def test_close_flushes_and_stops_the_thread(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    widget_state.background = True
    widget_state.add([page_view(shop)])

    # when
    flush_all()

    # then
    assert widget_state.pending() == 0
    assert queued() == 1
    assert widget_state._thread is None
