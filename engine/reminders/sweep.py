"""The sweep: the database, not Redis, decides what is due.

RQ keeps scheduled jobs only in Redis (CONTRACTS.md D), and a worker can die
between claiming a send and recording it. ``enqueue_due_reminders`` runs
every minute from ``engine.periodic`` (and on demand): it wakes a worker for
sends due and still pending, releases claims of workers that died mid-send
(LINE's retry key then turns a repeat into a 409, counted as sent), and
moves on runs left between two steps.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update

# Worker processes import this module (through engine.periodic) before they
# fork a work-horse per job; importing the dispatcher here means each horse
# starts with it, and line-bot-sdk (seconds to import), already loaded.
import engine.reminders.dispatch  # noqa: F401
from engine.db import db
from engine.reminders import clock
from engine.reminders.models import (
    ACTIVE,
    OPEN_SEND_STATES,
    PENDING,
    SENDING,
    ReminderRun,
    ReminderSend,
)
from engine.reminders.scheduling import JOB_TIMEOUT, wake_when_due
from engine.reminders.sequences import continue_run
from engine.runtime import current

logger = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died mid-send: RQ would
# have stopped a live one's job (JOB_TIMEOUT) well before.
CLAIM_LEASE = timedelta(seconds=JOB_TIMEOUT + 60)
SWEEP_LIMIT = 5000
# One woken job claims a batch (engine.reminders.dispatch), so the sweep
# wakes one job per this many due sends.
SENDS_PER_WAKEUP = 200


def enqueue_due_reminders(grace: timedelta | None = None) -> int:
    """The sweep: wake workers for due sends and repair stranded runs.

    Only sends at least ``grace`` late are woken (settings'
    ``reminder_sweep_grace_seconds``, 30 s by default): RQ's scheduler looks
    every second, so a send that late has lost its own job. Returns how many
    due sends were found. Safe to run any number of times from any process:
    waking twice only makes a job find nothing to do.
    """
    if grace is None:
        grace = timedelta(seconds=current().settings.reminder_sweep_grace_seconds)
    now = clock.now()
    released = _release_stale_claims(now)
    due = _due_sends(now - grace)
    for send, run in due[::SENDS_PER_WAKEUP]:
        wake_when_due(send, run)
    repaired = _repair_stranded_runs(now)
    db.session.commit()

    if released or due or repaired:
        logger.info(
            "reminders.sweep",
            extra={"due": len(due), "released": released, "repaired": repaired},
        )
    return len(due)


def _release_stale_claims(now: datetime) -> int:
    result = db.session.execute(
        update(ReminderSend)
        .where(
            ReminderSend.status == SENDING,
            ReminderSend.claimed_at < now - CLAIM_LEASE,
        )
        .values(status=PENDING, claimed_at=None, deferred_reason="worker_lost")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _due_sends(cutoff: datetime) -> list[tuple[ReminderSend, ReminderRun]]:
    rows = db.session.execute(
        select(ReminderSend, ReminderRun)
        .join(ReminderRun, ReminderRun.id == ReminderSend.run_id)
        .where(ReminderSend.status == PENDING, ReminderSend.due_at <= cutoff)
        .order_by(ReminderSend.due_at)
        .limit(SWEEP_LIMIT)
    )
    return [(send, run) for send, run in rows]


def _repair_stranded_runs(now: datetime) -> int:
    """Runs left active with no open send: a worker died between steps."""
    open_send = exists().where(
        ReminderSend.run_id == ReminderRun.id,
        ReminderSend.status.in_(OPEN_SEND_STATES),
    )
    runs = db.session.scalars(
        select(ReminderRun)
        .where(ReminderRun.status == ACTIVE, ~open_send)
        .limit(500)
        .with_for_update(skip_locked=True)
    ).all()
    for run in runs:
        continue_run(run, now)
    return len(runs)
