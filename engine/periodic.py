"""Jobs that run on a clock: reconciliation and the stale-delivery sweep.

Each run is an RQ scheduled job whose id names its time slot, so any number
of workers can call ``ensure_scheduled`` and only one job per slot exists.
A run schedules the next slot when it finishes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rq.exceptions import DuplicateJobError
from rq.job import Job

from engine.chat.timers import run_chat_timers
from engine.game.sweep import sweep_game
from engine.reminders.sweep import enqueue_due_reminders
from engine.runtime import current
from engine.shopify.reconcile import enqueue_reconciliation
from engine.tracking.drain import drain_events
from engine.tracking.retention import purge_old_events
from engine.webhooks.jobs import sweep_stale_deliveries

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    func_path: str


def schedule() -> list[Periodic]:
    settings = current().settings
    return [
        Periodic(
            "sweep-deliveries",
            timedelta(minutes=1),
            "engine.periodic.run_sweep_deliveries",
        ),
        # The database is the truth of what reminders are due; Redis may lose jobs.
        Periodic("reminders", timedelta(minutes=1), "engine.periodic.run_reminders"),
        Periodic(
            "reconcile",
            timedelta(minutes=settings.reconcile_interval_minutes),
            "engine.periodic.run_reconcile",
        ),
        # A safety net: each flush of buffered events enqueues a drain itself.
        Periodic(
            "tracking-drain", timedelta(minutes=1), "engine.periodic.run_tracking_drain"
        ),
        Periodic(
            "tracking-retention",
            timedelta(hours=1),
            "engine.periodic.run_tracking_retention",
        ),
        # Bonus credit expiry, unused codes given back, lost payouts retried.
        Periodic("game", timedelta(minutes=1), "engine.periodic.run_game_sweep"),
        # Unanswered chats change hands; follow-up dates reopen conversations.
        Periodic("chat", timedelta(minutes=1), "engine.periodic.run_chat"),
    ]


def ensure_scheduled() -> None:
    """Make sure each periodic job has its next run scheduled."""
    for periodic in schedule():
        _schedule_next(periodic, datetime.now(UTC))


def _schedule_next(periodic: Periodic, now: datetime) -> None:
    slot = _next_slot(now, periodic.every)
    job_id = f"periodic-{periodic.name}-{int(slot.timestamp())}"
    queue = current().queue("default")
    if Job.exists(job_id, connection=queue.connection):
        return
    try:
        queue.enqueue_at(slot, periodic.func_path, job_id=job_id, unique=True)
    except DuplicateJobError:
        return
    logger.debug("periodic.scheduled", extra={"job_id": job_id})


def _next_slot(now: datetime, every: timedelta) -> datetime:
    seconds = int(every.total_seconds())
    slot = (int(now.timestamp()) // seconds + 1) * seconds
    return datetime.fromtimestamp(slot, UTC)


def _run_then_reschedule(name: str, work: Callable[[], object]) -> object:
    try:
        return work()
    finally:
        for periodic in schedule():
            if periodic.name == name:
                _schedule_next(periodic, datetime.now(UTC))


def run_sweep_deliveries() -> object:
    return _run_then_reschedule("sweep-deliveries", sweep_stale_deliveries)


def run_reconcile() -> object:
    return _run_then_reschedule("reconcile", enqueue_reconciliation)


def run_reminders() -> object:
    return _run_then_reschedule("reminders", enqueue_due_reminders)


def run_tracking_drain() -> object:
    return _run_then_reschedule("tracking-drain", drain_events)


def run_tracking_retention() -> object:
    return _run_then_reschedule("tracking-retention", purge_old_events)


def run_game_sweep() -> object:
    return _run_then_reschedule("game", sweep_game)


def run_chat() -> object:
    return _run_then_reschedule("chat", run_chat_timers)
