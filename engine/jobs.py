"""Putting work on the RQ queues, only once the data it reads is committed.

A job enqueued before its rows are committed can run first and find nothing,
so every enqueue goes through ``enqueue_after_commit``: the job is held on the
session and sent when the transaction commits, or dropped if it rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rq import Retry
from rq.exceptions import DuplicateJobError
from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.db import db
from engine.runtime import current

logger = logging.getLogger(__name__)

_PENDING_KEY = "revisit.pending_jobs"

# Network and platform hiccups clear within minutes; a longer outage is caught
# by the periodic sweeps, which re-enqueue what is still due.
DEFAULT_RETRY = Retry(max=3, interval=[10, 60, 300])


@dataclass
class PendingJob:
    func: Callable[..., Any]
    args: tuple[Any, ...]
    queue: str = "default"
    job_id: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


def enqueue_after_commit(
    func: Callable[..., Any],
    *args: Any,
    queue: str = "default",
    job_id: str | None = None,
    **options: Any,
) -> None:
    """Enqueue ``func(*args)`` when the current transaction commits.

    Arguments must be ids and JSON-safe values: the job loads rows itself.
    """
    session = db.session()
    pending = session.info.setdefault(_PENDING_KEY, [])
    pending.append(PendingJob(func, args, queue, job_id, options))


def send(job: PendingJob) -> None:
    """Enqueue one job now; a duplicate id means it is already queued."""
    options = {"retry": DEFAULT_RETRY, **job.options}
    try:
        current().queue(job.queue).enqueue(
            job.func, *job.args, job_id=job.job_id, **options
        )
    except DuplicateJobError:
        logger.debug("jobs.already_queued", extra={"job_id": job.job_id})


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending: list[PendingJob] = session.info.pop(_PENDING_KEY, [])
    for job in pending:
        try:
            send(job)
        except Exception:
            # The data is committed; a sweep re-enqueues work left undone, so
            # a Redis outage must not turn a stored delivery into an error.
            logger.exception(
                "jobs.enqueue_failed",
                extra={"job_func": job.func.__name__, "job_id": job.job_id},
            )


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: object) -> None:
    session.info.pop(_PENDING_KEY, None)
