"""Accepting storefront events fast: a per-process buffer flushed to Redis.

A request only appends its events to this process's buffer; it never waits on
Redis or the database. A background thread pushes the buffer to the Redis list
``QUEUE_KEY`` every ``FLUSH_INTERVAL`` seconds, or sooner once ``FLUSH_AT``
events wait, in one ``RPUSH`` per flush (chunks of ``CHUNK`` events, each a
JSON array), then enqueues the drain job (``engine.tracking.drain``), which
writes them to the database in batches, unless a drain is at work already.

What a stop costs: a graceful stop (gunicorn's SIGTERM, a restart, the end of
``max_requests``) flushes what is left, from gunicorn's ``worker_exit`` hook
(``plugin/gunicorn_conf.py``) and from ``atexit`` as a fallback, so nothing is
lost. A process killed outright (SIGKILL, a crash) loses what it had not
flushed: at most about one second of its events. While Redis is unreachable
the buffer keeps up to ``MAX_PENDING`` events and retries each second; beyond
that the oldest are dropped and logged.
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import time
import weakref
from typing import Any

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError

from engine.db import db
from engine.jobs import enqueue_after_commit
from engine.runtime import EXTENSION_KEY

logger = logging.getLogger(__name__)

QUEUE_KEY = "revisit:tracking:events"
# Held by the one drain at work (engine.tracking.drain), which looks for more
# events before it lets go: a flush that finds it held enqueues no drain.
LOCK_KEY = "revisit:tracking:drain-lock"
DRAIN_QUEUE = "tracking"
FLUSH_INTERVAL = 1.0
FLUSH_AT = 250
CHUNK = 250
MAX_PENDING = 100_000
CLOSE_TIMEOUT = 5.0
BUFFER_KEY = "revisit.tracking_buffer"

_buffers: weakref.WeakSet[EventBuffer] = weakref.WeakSet()


class EventBuffer:
    """One process's accepted events on their way to Redis.

    ``background=False`` leaves flushing to the caller (tests call ``flush``).
    """

    def __init__(self, app: Flask, *, background: bool = True) -> None:
        self.app = app
        self.background = background
        self._redis: Redis = app.extensions[EXTENSION_KEY].redis
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        _buffers.add(self)

    def add(self, records: list[dict[str, Any]]) -> None:
        """Accept records; they reach Redis within about ``FLUSH_INTERVAL``."""
        with self._lock:
            self._pending.extend(records)
            waiting = len(self._pending)

        if self.background:
            self._ensure_flusher()
            if waiting >= FLUSH_AT:
                self._wake.set()

    def flush(self) -> int:
        """Push every pending record to Redis and trigger the drain; return count.

        On a Redis error the records go back to the buffer for the next try.
        """
        with self._flush_lock:
            records = self.take()
            if not records:
                return 0
            try:
                draining = self._push(_chunks(records))
            except RedisError:
                self._restore(records)
                logger.warning("tracking.flush_failed", extra={"pending": len(records)})
                return 0
            if not draining:
                self._trigger_drain()
            logger.debug("tracking.flushed", extra={"count": len(records)})
            return len(records)

    def _push(self, chunks: list[str]) -> bool:
        """Append the chunks to the Redis list; return whether a drain holds
        the lock. One transaction: a drain lets go of the lock and then looks
        at the list once more, so it either sees these chunks or left the
        lock free for this flush to see and enqueue a drain."""
        pipeline = self._redis.pipeline(transaction=True)
        pipeline.rpush(QUEUE_KEY, *chunks)
        pipeline.exists(LOCK_KEY)
        _, draining = pipeline.execute()
        return bool(draining)

    def take(self) -> list[dict[str, Any]]:
        """Remove and return the pending records."""
        with self._lock:
            records, self._pending = self._pending, []
        return records

    def pending(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        """Stop the flusher thread for good and flush what is left (idempotent)."""
        self.background = False
        self.stop_background()
        flushed = self.flush()
        if flushed:
            logger.info("tracking.flushed_on_exit", extra={"count": flushed})

    def stop_background(self) -> None:
        """Stop the flusher thread, if running; pending records stay."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._wake.set()
            thread.join(CLOSE_TIMEOUT)

    def _ensure_flusher(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="revisit-tracking-flusher", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        me = threading.current_thread()
        while self._thread is me:
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                # The thread is the buffer's only way out: it must outlive
                # any one failed flush.
                logger.exception("tracking.flusher_error")

    def _restore(self, records: list[dict[str, Any]]) -> None:
        with self._lock:
            self._pending[:0] = records
            overflow = len(self._pending) - MAX_PENDING
            if overflow > 0:
                del self._pending[:overflow]
        if overflow > 0:
            logger.error("tracking.events_dropped", extra={"count": overflow})

    def _trigger_drain(self) -> None:
        from engine.tracking.drain import drain_events

        # One job id per second: a burst of flushes from many processes
        # enqueues one drain; the drain itself runs one at a time.
        with self.app.app_context():
            enqueue_after_commit(
                drain_events,
                queue=DRAIN_QUEUE,
                job_id=f"tracking-drain-{int(time.time())}",
                unique=True,
                retry=None,
                result_ttl=0,
                failure_ttl=86_400,
            )
            # The events are already safe in Redis; this commit, which writes
            # nothing, is what sends the job.
            db.session.commit()


def init_app(app: Flask, *, background: bool = True) -> EventBuffer:
    """Give the app its buffer (once); the widget API calls this."""
    if BUFFER_KEY not in app.extensions:
        app.extensions[BUFFER_KEY] = EventBuffer(app, background=background)
    return app.extensions[BUFFER_KEY]


def buffer_of(app: Flask) -> EventBuffer:
    return app.extensions[BUFFER_KEY]


def accept(records: list[dict[str, Any]]) -> None:
    """Buffer records built by ``engine.tracking.events`` for the current app."""
    current_app.extensions[BUFFER_KEY].add(records)


def flush_all() -> None:
    """Flush every buffer of this process: gunicorn's worker_exit and atexit."""
    for buffer in list(_buffers):
        try:
            buffer.close()
        except Exception:
            logger.exception("tracking.flush_on_exit_failed")


def _chunks(records: list[dict[str, Any]]) -> list[str]:
    return [
        json.dumps(records[start : start + CHUNK], separators=(",", ":"))
        for start in range(0, len(records), CHUNK)
    ]


atexit.register(flush_all)
