"""The figures behind ``GET /metrics``: are the queues and the engine keeping up.

Per RQ queue: jobs queued and the age of the oldest (how late the workers
are), started, failed and scheduled jobs, how overdue the earliest scheduled
job is (a scheduler that stopped), and the workers listening. From the
database, the engine's own backlog, which RQ cannot see: reminder sends due
but not sent yet and webhook deliveries recorded but not applied, each with
the age of its oldest. These are whole-deployment sums across shops, on
purpose: an operator's view, never shown to a merchant.

Everything is read on scrape and nothing is written (RQ's registries are
counted without their clean-up). A source that cannot be read leaves its
figures out and says so in ``revisit_metrics_source_up``; the others still
answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job
from rq.utils import str_to_date
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from engine import ratelimit
from engine.db import db, utcnow
from engine.ops.prometheus import Family, render
from engine.reminders.models import OPEN_SEND_STATES, ReminderSend
from engine.runtime import current
from engine.webhooks.models import FAILED, RECEIVED, WebhookDelivery

logger = logging.getLogger(__name__)

# Queued jobs looked at for the oldest: the head is the next to run, but a
# job enqueued at the front (a retry) may sit before older ones.
HEAD_JOBS = 10


def scrape() -> str:
    """Every figure, in Prometheus's text format (needs an app context)."""
    runtime = current()
    now = utcnow()
    families: list[Family] = []
    up = Family(
        "revisit_metrics_source_up",
        "Whether this scrape could read the source (1) or not (0).",
    )
    sources: list[tuple[str, Callable[[], list[Family]]]] = [
        ("redis", lambda: queue_families(runtime.redis, runtime.queues, now)),
        ("database", lambda: backlog_families(now)),
    ]
    for source, read in sources:
        try:
            families += read()
        except (RedisError, SQLAlchemyError) as exc:
            if isinstance(exc, SQLAlchemyError):
                db.session.rollback()
            logger.warning(
                "ops.metrics_source_failed",
                extra={"source": source, "error": type(exc).__name__},
            )
            up.add(0, source=source)
        else:
            up.add(1, source=source)
    return render([*families, up])


def queue_families(
    redis: Redis, queues: Sequence[Queue], now: datetime
) -> list[Family]:
    """The RQ figures per queue, and the widget API's refusals."""
    queued = Family("revisit_rq_queued_jobs", "Jobs waiting in the RQ queue.")
    oldest = Family(
        "revisit_rq_oldest_queued_job_age_seconds",
        "Age of the oldest job waiting in the queue; 0 when it is empty.",
    )
    started = Family(
        "revisit_rq_started_jobs", "Jobs a worker has started and not finished."
    )
    failed = Family(
        "revisit_rq_failed_jobs", "Jobs in the failed registry (kept a year)."
    )
    scheduled = Family(
        "revisit_rq_scheduled_jobs", "Jobs scheduled for later (retries included)."
    )
    overdue = Family(
        "revisit_rq_scheduled_overdue_seconds",
        "How long past its time the earliest scheduled job still waits for the"
        " scheduler to queue it; 0 when none is due.",
    )
    workers = Family("revisit_rq_workers", "Workers listening on the queue.")

    for queue in queues:
        name = queue.name
        queued.add(queue.count, queue=name)
        oldest.add(_oldest_queued_age(redis, queue, now), queue=name)
        started.add(queue.started_job_registry.get_job_count(cleanup=False), queue=name)
        failed.add(queue.failed_job_registry.get_job_count(cleanup=False), queue=name)
        scheduled.add(
            queue.scheduled_job_registry.get_job_count(cleanup=False), queue=name
        )
        overdue.add(_scheduled_overdue(redis, queue, now), queue=name)
        workers.add(Worker.count(connection=redis, queue=queue), queue=name)

    refused = Family(
        "revisit_widget_rate_limited_total",
        "Widget API requests refused (429), by the budget that refused them.",
        type="counter",
    )
    for scope, count in sorted(ratelimit.refusals(redis).items()):
        refused.add(count, budget=scope)
    return [queued, oldest, started, failed, scheduled, overdue, workers, refused]


def backlog_families(now: datetime) -> list[Family]:
    """The engine's own backlog, from the database."""
    sends_due, oldest_send = db.session.execute(
        select(func.count(), func.min(ReminderSend.due_at)).where(
            ReminderSend.status.in_(OPEN_SEND_STATES), ReminderSend.due_at <= now
        )
    ).one()
    unapplied, oldest_delivery = db.session.execute(
        select(func.count(), func.min(WebhookDelivery.received_at)).where(
            WebhookDelivery.status == RECEIVED
        )
    ).one()
    gave_up = db.session.scalar(
        select(func.count()).where(WebhookDelivery.status == FAILED)
    )
    db.session.rollback()

    return [
        Family(
            "revisit_reminder_sends_due",
            "Reminder sends past their due time and not sent yet.",
        ).add(sends_due),
        Family(
            "revisit_reminder_oldest_due_age_seconds",
            "How long the most overdue unsent reminder has been due; 0 when none.",
        ).add(_age(oldest_send, now)),
        Family(
            "revisit_webhook_deliveries_unapplied",
            "Store webhook deliveries recorded and not applied yet.",
        ).add(unapplied),
        Family(
            "revisit_webhook_oldest_unapplied_age_seconds",
            "Age of the oldest delivery not applied yet; 0 when none.",
        ).add(_age(oldest_delivery, now)),
        Family(
            "revisit_webhook_deliveries_failed",
            "Deliveries that failed every attempt and wait for a person.",
        ).add(gave_up),
    ]


def _oldest_queued_age(redis: Redis, queue: Queue, now: datetime) -> float:
    job_ids = queue.get_job_ids(0, HEAD_JOBS)
    pipeline = redis.pipeline(transaction=False)
    for job_id in job_ids:
        pipeline.hget(Job.key_for(job_id), "enqueued_at")
    # A job deleted or expired while queued has no hash left to read.
    enqueued = [str_to_date(stamp) for stamp in pipeline.execute() if stamp]
    return _age(min(enqueued, default=None), now)


def _scheduled_overdue(redis: Redis, queue: Queue, now: datetime) -> float:
    earliest = redis.zrange(queue.scheduled_job_registry.key, 0, 0, withscores=True)
    if not earliest:
        return 0.0
    return max(0.0, now.timestamp() - earliest[0][1])


def _age(moment: datetime | None, now: datetime) -> float:
    if moment is None:
        return 0.0
    return max(0.0, round((now - moment).total_seconds(), 3))
