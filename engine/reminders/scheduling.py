"""Waking workers up when sends fall due.

The database says what is due; RQ only wakes a worker at the right time.
Each send gets one RQ job per time it falls due, id
``reminder-c<cart>-r<round>-s<step>-t<epoch second>``, set with a
timezone-aware UTC ``enqueue_at`` (CONTRACTS.md D: naive times are read in
the server's zone, an hour off in winter), and only once the transaction
that wrote the send commits. The due time is in the id because a job that
defers its own send wakes it again later: under the running job's own id,
RQ would mark the new wake-up finished with the old one and let it expire.
The job's function claims whatever is due, so a job that finds its send gone
or done simply ends. What Redis loses, ``engine.reminders.sweep`` finds again
in the database.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from rq import Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.db import db
from engine.reminders import clock
from engine.reminders.models import ReminderRun, ReminderSend
from engine.runtime import REMINDERS_QUEUE, current

logger = logging.getLogger(__name__)

# A queue of their own, which workers take before the bulk queues (see
# engine.runtime for why): wake-ups never wait behind webhooks or tracking.
QUEUE = REMINDERS_QUEUE
# Where store webhooks wait, orders among them (engine.webhooks.deliveries).
WEBHOOKS_QUEUE = "webhooks"
DELIVER_JOB = "engine.reminders.dispatch.deliver_reminders"
# RQ stops a wake-up job after this long; engine.reminders.sweep takes a
# claim older than that as left by a dead worker.
JOB_TIMEOUT = 240
# Keep finished wake-up jobs briefly: there is one per send.
RESULT_TTL = 60
_RETRY_KEY_NAMESPACE = uuid.UUID("0b6f4a52-7c1e-4d36-9a8f-2f5d3c9e7b10")
_PENDING_KEY = "revisit.reminder_wakeups"


@dataclass(frozen=True)
class Wakeup:
    send_id: int
    job_id: str
    at: datetime


def job_id(cart_id: int, round_: int, position: int, due_at: datetime) -> str:
    """The wake-up job's id: one per cart, run, step and due second."""
    second = int(_whole_second_after(clock.to_wall(due_at)).timestamp())
    return f"reminder-c{cart_id}-r{round_}-s{position}-t{second}"


def retry_key_for(run: ReminderRun, position: int) -> str:
    """The same UUID for the same shop, cart, run and step, whoever computes it."""
    name = f"{run.shop_id}:{run.cart_id}:{run.round}:{position}"
    return str(uuid.uuid5(_RETRY_KEY_NAMESPACE, name))


def wake_when_due(send: ReminderSend, run: ReminderRun) -> None:
    """Have a worker woken at ``send.due_at``, once the transaction commits."""
    if send.id is None:
        db.session.flush()
    pending = db.session().info.setdefault(_PENDING_KEY, [])
    wakeup_id = job_id(run.cart_id, run.round, send.position, send.due_at)
    pending.append(Wakeup(send.id, wakeup_id, send.due_at))


def enqueue_wakeups(wakeups: list[Wakeup]) -> None:
    """Put wake-up jobs on RQ now: due ones on the queue, others scheduled."""
    queue = current().queue(QUEUE)
    wall_now = datetime.now(UTC)
    retry = Retry(max=3, interval=[10, 60, 300])
    for wakeup in wakeups:
        options = {
            "job_id": wakeup.job_id,
            "job_timeout": JOB_TIMEOUT,
            "result_ttl": RESULT_TTL,
            "retry": retry,
        }
        wall = clock.to_wall(wakeup.at)
        if wall <= wall_now:
            queue.enqueue(DELIVER_JOB, wakeup.send_id, **options)
        else:
            at = _whole_second_after(wall)
            queue.enqueue_at(at, DELIVER_JOB, wakeup.send_id, **options)


def _whole_second_after(moment: datetime) -> datetime:
    # RQ's scheduled registry keeps whole seconds and rounds down; a job
    # woken before its send is due would find nothing to claim.
    return datetime.fromtimestamp(math.ceil(moment.timestamp()), UTC)


def forget_jobs(job_ids: list[str]) -> None:
    """Drop waiting wake-up jobs of sends another job has already claimed.

    One job sends a whole batch; without this each of the others would still
    fork a work-horse only to find nothing to do.
    """
    if not job_ids:
        return
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    queue = current().queue(QUEUE)
    registry = ScheduledJobRegistry(queue=queue)
    # One ZREM and one DEL for the whole batch: three commands per job took a
    # tenth of a 200-send batch's time (bench/reminders.py under py-spy). A
    # job already due sits in the queue's list, which LREM takes one by one.
    with queue.connection.pipeline() as pipe:
        for job_id in job_ids:
            pipe.lrem(queue.key, 1, job_id)
        pipe.zrem(registry.key, *job_ids)
        pipe.delete(*(Job.key_for(job_id) for job_id in job_ids))
        pipe.execute()


def webhooks_waiting() -> bool:
    """Whether webhook jobs wait on their queue, the one workers take next."""
    return current().queue(WEBHOOKS_QUEUE).count > 0


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    wakeups: list[Wakeup] = session.info.pop(_PENDING_KEY, [])
    if not wakeups:
        return
    try:
        enqueue_wakeups(wakeups)
    except Exception:
        # The sends are committed; the sweep wakes a worker for them once
        # they are due, so a Redis outage delays reminders, never loses them.
        logger.exception("reminders.wakeup_failed", extra={"count": len(wakeups)})


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: object) -> None:
    session.info.pop(_PENDING_KEY, None)
