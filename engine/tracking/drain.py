"""The drain job: buffered events from Redis into the database, in batches.

Crash-safe by order of steps: read a batch from the head of the Redis list,
write and commit it, and only then trim it from the list. A crash between the
commit and the trim leaves the batch in Redis; the next drain writes it again
and the database keeps one copy (see ``engine.tracking.writer``).

One drainer at a time: the drain holds a Redis lock and trims only while it
still holds it (checked in the same Redis script), so two drainers can never
trim each other's batches. It is enqueued after a flush that finds no drain
at work (one job id per second) and every minute by ``engine.periodic`` as a
safety net.

Once Redis is empty a drain watches for more, every ``LINGER_POLL`` seconds
for ``TRACKING_DRAIN_LINGER_SECONDS`` (2), before it ends; it ends at once
when jobs wait on a queue workers take first (reminders, webhooks), and
after ``MAX_LINGER_RUN_SECONDS`` of work in all, so that a worker's warm
shutdown never waits long. Under a steady stream of events one job, with
one work-horse, one database connection and its compiled statements, writes
batch after batch: a drain that ended as soon as Redis was empty was
enqueued again by nearly every flush, five jobs a second at 2,600 events a
second in ``bench/tracking.py``, and those jobs' start-up (a fork, a
connection, compiling the statements anew) was most of the drain's CPU.

A chunk that cannot be written (bad data rather than a database outage) is
written again event by event: the good events are kept, and only the events
that cannot be written are moved to ``DEAD_KEY`` and logged, for a person to
look at. A chunk mixes many visitors and shops, so one shopper's bad event
never costs another shop its events, nor blocks the events behind it. A
database or Redis outage fails the job instead, and the events wait in Redis
for the next drain.
"""

from __future__ import annotations

import json
import logging
import secrets
import time

from redis import Redis
from sqlalchemy.exc import DataError, IntegrityError

from engine.db import db
from engine.runtime import QUEUE_NAMES, current
from engine.tracking.buffer import DRAIN_QUEUE, LOCK_KEY, QUEUE_KEY
from engine.tracking.events import TrackedEvent
from engine.tracking.writer import write_batch

logger = logging.getLogger(__name__)

DEAD_KEY = "revisit:tracking:dead"
LOCK_TTL_MS = 120_000
# Chunks hold up to 250 events each: about 1,000 events per INSERT.
CHUNKS_PER_BATCH = 4
# Stay well inside RQ's default job timeout (180 s); the next job goes on.
MAX_RUN_SECONDS = 60.0
# A drain that emptied Redis looks again this often while it lingers, and
# stops lingering once it has been at work this long.
LINGER_POLL = 0.2
MAX_LINGER_RUN_SECONDS = 20.0
# The queues workers take before the drain's: their jobs end a linger.
QUEUES_FIRST = QUEUE_NAMES[: QUEUE_NAMES.index(DRAIN_QUEUE)]

# Bad data: the event is set aside. Anything else fails the job.
UNWRITABLE = (
    IntegrityError,
    DataError,
    ValueError,
    KeyError,
    TypeError,
    ArithmeticError,
)

_TRIM = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('ltrim', KEYS[2], tonumber(ARGV[2]), -1)
redis.call('pexpire', KEYS[1], ARGV[3])
return 1
"""
_SET_ASIDE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then redis.call('rpush', KEYS[3], ARGV[2]) end
redis.call('ltrim', KEYS[2], 1, -1)
return 1
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class DrainLock:
    """The one-drainer-at-a-time lock; every list change checks it is still ours."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.token = secrets.token_hex(16)
        self._trim = redis.register_script(_TRIM)
        self._set_aside = redis.register_script(_SET_ASIDE)
        self._release = redis.register_script(_RELEASE)

    def acquire(self) -> bool:
        return bool(self.redis.set(LOCK_KEY, self.token, nx=True, px=LOCK_TTL_MS))

    def trim(self, chunks: int) -> bool:
        """Remove the first ``chunks`` chunks and extend the lock, if still ours."""
        keys = [LOCK_KEY, QUEUE_KEY]
        return bool(self._trim(keys=keys, args=[self.token, chunks, LOCK_TTL_MS]))

    def set_aside_first(self, dead: bytes | str) -> bool:
        """Trim the first chunk, keeping ``dead`` (what of it could not be
        written; empty for nothing) in ``DEAD_KEY``, if the lock is still ours."""
        keys = [LOCK_KEY, QUEUE_KEY, DEAD_KEY]
        return bool(self._set_aside(keys=keys, args=[self.token, dead]))

    def release(self) -> None:
        self._release(keys=[LOCK_KEY], args=[self.token])


def drain_events() -> int:
    """Write buffered events to the database until Redis holds none; return count.

    Returns 0 at once when another drain is running: that one drains everything.
    """
    redis = current().redis
    started = time.monotonic()
    deadline = started + MAX_RUN_SECONDS
    linger = _Linger(
        redis,
        current().settings.tracking_drain_linger_seconds,
        started + MAX_LINGER_RUN_SECONDS,
    )
    written = 0
    while time.monotonic() < deadline:
        lock = DrainLock(redis)
        if not lock.acquire():
            break
        try:
            written += _drain_holding(lock, deadline, linger)
        finally:
            lock.release()
        # A flush that landed after our last read found our job id taken or
        # the lock held, and enqueued nothing that will run: look again.
        if not redis.llen(QUEUE_KEY):
            break
    if written:
        logger.info("tracking.drained", extra={"count": written})
    return written


def _drain_holding(lock: DrainLock, deadline: float, linger: _Linger) -> int:
    written = 0
    size = CHUNKS_PER_BATCH
    while time.monotonic() < deadline:
        chunks = lock.redis.lrange(QUEUE_KEY, 0, size - 1)
        if not chunks:
            if linger.more_arrived():
                continue
            break

        try:
            written += write_batch(decode(chunks))
            db.session.commit()
        except UNWRITABLE:
            db.session.rollback()
            if size > 1:
                # Find the bad chunk: retry chunk by chunk.
                size = 1
                continue
            kept, unwritable = _write_one_by_one(chunks[0])
            written += kept
            if not lock.set_aside_first(unwritable):
                break
            continue

        if not lock.trim(len(chunks)):
            logger.warning("tracking.drain_lock_lost")
            break
        size = CHUNKS_PER_BATCH
    return written


class _Linger:
    """A drain's wait for more events once Redis is empty."""

    def __init__(self, redis: Redis, seconds: float, until: float) -> None:
        self.redis = redis
        self.seconds = seconds
        self.until = until

    def more_arrived(self) -> bool:
        """Watch the list for ``seconds``; True as soon as it holds events.

        False at once past ``until`` or while jobs wait on a queue that
        workers take first: the next flush enqueues a drain again.
        """
        ends = min(time.monotonic() + self.seconds, self.until)
        while time.monotonic() < ends and not self._jobs_wait_first():
            time.sleep(LINGER_POLL)
            if self.redis.llen(QUEUE_KEY):
                return True
        return False

    def _jobs_wait_first(self) -> bool:
        return any(current().queue(name).count for name in QUEUES_FIRST)


def _write_one_by_one(chunk: bytes) -> tuple[int, bytes | str]:
    """Write a chunk's events one at a time; return (written, what is left).

    Each event goes in a savepoint of one transaction, committed at the end,
    so a crash before the trim writes nothing twice (the writer skips known
    event ids). Slow, but only for a chunk that holds bad data. What is left
    is a JSON array of the unwritable records, or the whole chunk when it is
    not an array of records at all.
    """
    try:
        records = json.loads(chunk)
    except ValueError:
        records = None
    if not isinstance(records, list):
        logger.error("tracking.chunk_set_aside", extra={"dead_key": DEAD_KEY})
        return 0, chunk

    written = 0
    unwritable: list[dict] = []
    for record in records:
        try:
            with db.session.begin_nested():
                written += write_batch([TrackedEvent.from_record(record)])
        except UNWRITABLE:
            logger.exception(
                "tracking.event_set_aside",
                extra={"dead_key": DEAD_KEY, "shop_id": record.get("shop")},
            )
            unwritable.append(record)
    db.session.commit()
    return written, json.dumps(unwritable) if unwritable else ""


def decode(chunks: list[bytes]) -> list[TrackedEvent]:
    """The events of buffered chunks (JSON arrays of records)."""
    return [
        TrackedEvent.from_record(record)
        for chunk in chunks
        for record in json.loads(chunk)
    ]
