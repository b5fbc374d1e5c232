"""Turning recorded deliveries into queued jobs, outside the web request.

Every worker process runs one dispatcher thread. It listens on PostgreSQL's
``DELIVERIES_CHANNEL``, which the web request notifies in the same statement
that records a delivery, and enqueues ``apply_delivery`` for each. On every
(re)connection it first queues whatever is still waiting, so a delivery
recorded while no dispatcher listened is not left behind; the periodic sweep
catches anything else. Several dispatchers may queue the same delivery: its
job id is unique, so one job exists, and applying is idempotent anyway.

The worker forks a work-horse per job while this thread runs. A fork taken
while the thread held a lock of the database or Redis pools would leave the
horse waiting on it for good, so each round of work holds ``_fork_guard``
and a fork waits for it (``os.register_at_fork``): rounds take milliseconds.
"""

from __future__ import annotations

import logging
import os
import threading

import psycopg
from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.engine import make_url

from engine.db import db
from engine.jobs import PendingJob, send
from engine.webhooks.deliveries import DELIVERIES_CHANNEL
from engine.webhooks.jobs import apply_delivery
from engine.webhooks.models import RECEIVED, WebhookDelivery

logger = logging.getLogger(__name__)

_fork_guard = threading.Lock()
os.register_at_fork(
    before=_fork_guard.acquire,
    after_in_parent=_fork_guard.release,
    after_in_child=_fork_guard.release,
)

# How often the listening loop wakes to check whether it should stop.
POLL_SECONDS = 1.0
RECONNECT_SECONDS = 2.0
WAITING_BATCH = 5000


class Dispatcher:
    """A daemon thread that queues the jobs of newly recorded deliveries."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._stopped = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="webhook-dispatcher", daemon=True
        )

    def start(self) -> Dispatcher:
        self._thread.start()
        return self

    def wait_listening(self, timeout: float) -> bool:
        """Until the first round (the waiting deliveries) is done; False on timeout."""
        return self._listening.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._listen()
            except (psycopg.Error, RedisError):
                # Either server going away must not end the thread: every later
                # delivery would wait for the stale-delivery sweep, minutes on.
                logger.exception("webhooks.dispatcher_disconnected")
                self._stopped.wait(RECONNECT_SECONDS)

    def _listen(self) -> None:
        with psycopg.connect(_libpq_url(self.app), autocommit=True) as connection:
            connection.execute(f"LISTEN {DELIVERIES_CHANNEL}")
            with _fork_guard, self.app.app_context():
                queue_waiting_deliveries()
            logger.info("webhooks.dispatcher_listening")
            self._listening.set()

            while not self._stopped.is_set():
                ids = [
                    int(notice.payload)
                    for notice in connection.notifies(timeout=POLL_SECONDS)
                ]
                if ids:
                    with _fork_guard, self.app.app_context():
                        for delivery_id in ids:
                            queue_delivery(delivery_id)


def queue_delivery(delivery_id: int) -> None:
    """Enqueue the job applying one delivery, unless it is already queued."""
    send(
        PendingJob(
            apply_delivery,
            (delivery_id,),
            queue="webhooks",
            job_id=f"webhook-{delivery_id}",
            options={"unique": True},
        )
    )


def queue_waiting_deliveries() -> int:
    """Enqueue every delivery still waiting to be applied; returns how many."""
    waiting = list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == RECEIVED)
            .order_by(WebhookDelivery.id)
            .limit(WAITING_BATCH)
        )
    )
    db.session.rollback()
    for delivery_id in waiting:
        queue_delivery(delivery_id)
    return len(waiting)


def _libpq_url(app: Flask) -> str:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)
