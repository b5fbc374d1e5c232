"""The RQ worker that runs engine jobs inside the Flask app's context.

Each job gets a fresh app context, so it starts with a clean database session
and ends with it removed. In a forked work-horse the pooled connections
inherited from the parent are dropped first: two processes must never share
one database socket.

Stopping is RQ's: a first SIGTERM or SIGINT is a warm shutdown (no new job;
the job in hand finishes; exit status 0), a second one more than a second
later is a cold shutdown (the work-horse is killed), which exits 128 plus
the signal's number, as a shell reports a process a signal ended: the job
in hand did not finish (RQ retries or fails it once its timeout has passed).
"""

from __future__ import annotations

import logging
import time
from types import FrameType

from flask import Flask
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from rq.job import Job
from rq.queue import Queue

from engine.db import db
from engine.periodic import ensure_scheduled
from engine.webhooks.dispatcher import Dispatcher, queue_waiting_deliveries

logger = logging.getLogger(__name__)

# RQ's maintenance tick (10 minutes by default) is also when the periodic jobs
# are put back after Redis lost them; the reminder sweep among them is what
# recovers due reminders, so a flushed Redis should cost a minute, not ten.
MAINTENANCE_SECONDS = 60
# The longest an idle worker waits for a job before it looks after itself.
IDLE_CHECK_SECONDS = 10
# Set once the periodic jobs are scheduled; gone, it means Redis lost its data
# (a flush, a restart without persistence) and the periodic jobs with it.
SCHEDULE_MARKER = "revisit:periodic:scheduled"
# How long a worker that lost Redis mid-job waits between tries, at most.
REDIS_RETRY_SECONDS = 8.0


class AppContextMixin:
    """Runs each job in its own app context of ``self.app``."""

    app: Flask

    def perform_job(self, job: Job, queue: Queue) -> bool:
        with self.app.app_context():
            if self.is_forking:
                db.engine.dispose(close=False)
            return super().perform_job(job, queue)

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            super().execute_job(job, queue)
        except RedisError:
            # RQ waits out a Redis outage only while it waits for a job; a
            # Redis error while it looks after one (the job's status, its
            # heartbeats) ended the whole worker, so a Redis restart mid-job
            # left none. The job is the work-horse's to finish; what Redis
            # lost of its record, RQ's registry cleanup and the sweeps mend.
            logger.warning(
                "worker.redis_lost_mid_job", extra={"job_id": job.id}, exc_info=True
            )
            if self.horse_pid:
                self.wait_for_horse()
                self._horse_pid = 0
            self._wait_for_redis()

    def _wait_for_redis(self) -> None:
        """Until Redis answers again, or the worker is asked to stop.

        A warm shutdown asked meanwhile ends the wait, and the worker then
        exits as RQ does on a Redis error, with status 1, not 0.
        """
        delay = 1.0
        while not self._stop_requested:
            try:
                self.connection.ping()
            except RedisError:
                time.sleep(delay)
                delay = min(delay * 2, REDIS_RETRY_SECONDS)
                continue
            logger.info("worker.redis_back")
            return

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        try:
            super().request_force_stop(signum, frame)
        except SystemExit:
            # RQ exits 0 here; a supervisor should see that work was cut short.
            raise SystemExit(128 + signum) from None

    @property
    def dequeue_timeout(self) -> int:
        # RQ looks after itself only between waits for a job, and an idle
        # worker waited worker_ttl - 15 s (405 s) at a time: the periodic jobs
        # a flushed Redis lost came back minutes late, not within the minute.
        return min(super().dequeue_timeout, IDLE_CHECK_SECONDS)

    @property
    def should_run_maintenance_tasks(self) -> bool:
        # Only maintenance restarts RQ's scheduler process, which exits on its
        # first Redis error, and puts back the periodic jobs a Redis that lost
        # its data lost with it: do it at the next check, not a minute on, or
        # every scheduled reminder and sweep waits meanwhile.
        if not self._stop_requested and (
            self._scheduler_died() or self._schedule_lost()
        ):
            return True
        return super().should_run_maintenance_tasks

    def _scheduler_died(self) -> bool:
        process = self.scheduler._process if self.scheduler is not None else None
        return process is not None and not process.is_alive()

    def _schedule_lost(self) -> bool:
        try:
            return not self.connection.exists(SCHEDULE_MARKER)
        except RedisError:
            # RQ's own loop notices the outage and waits it out.
            return False

    def run_maintenance_tasks(self) -> None:
        data_lost = self._schedule_lost()
        super().run_maintenance_tasks()
        # Redis may have lost the periodic jobs (a flush, a restart without
        # persistence); put them back on every maintenance.
        with self.app.app_context():
            ensure_scheduled()
            if data_lost:
                # The queued jobs of recorded webhook deliveries went too, and
                # the dispatcher queues the waiting ones again only when its
                # own connections fail: without this they waited for the
                # stale-delivery sweep, two minutes and more.
                queue_waiting_deliveries()
        self.connection.set(SCHEDULE_MARKER, "1")


class RevisitWorker(AppContextMixin, Worker):
    """The production worker: forks a work-horse per job."""

    is_forking = True


class RevisitSimpleWorker(AppContextMixin, SimpleWorker):
    """Runs jobs in its own process: for tests and single-process demos."""

    is_forking = False


def make_worker(app: Flask, *, forking: bool = True, **kwargs: object) -> Worker:
    """Build a worker for the app's queues, ready for ``work()``."""
    from engine.runtime import EXTENSION_KEY

    runtime = app.extensions[EXTENSION_KEY]
    if forking:
        _warm_up()
    worker_class = RevisitWorker if forking else RevisitSimpleWorker
    kwargs.setdefault("maintenance_interval", MAINTENANCE_SECONDS)
    worker = worker_class(runtime.queues, connection=runtime.redis, **kwargs)
    worker.app = app
    with app.app_context():
        ensure_scheduled()
    return worker


def _warm_up() -> None:
    """Do in the parent what every forked work-horse would otherwise do again.

    A work-horse is a fresh fork of this process for each job: whatever the
    parent has not set up, each job pays for anew (measured by bench/soak.py
    at most of a webhook job's 200-900 ms of CPU: SQLAlchemy configuring its
    mappers and the job modules' imports).
    """
    import gc
    import importlib

    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    for module in _JOB_MODULES:
        importlib.import_module(module)
    # A work-horse's garbage collections walked every object inherited
    # from here, copying each page it touched: 200-350 ms of a one-message
    # job (bench/reminders.py under py-spy). Frozen objects are never walked.
    gc.collect()
    gc.freeze()


# The modules RQ imports in a work-horse to find the job functions it runs.
_JOB_MODULES = (
    "engine.binding.inbound",
    "engine.chat.delivery",
    "engine.game.redeeming",
    "engine.periodic",
    "engine.reminders.dispatch",
    "engine.reminders.rechecks",
    "engine.shops.jobs",
    "engine.tracking.drain",
    "engine.webhooks.jobs",
)


def start_dispatcher(app: Flask) -> Dispatcher | None:
    """Start the thread queuing new webhook deliveries, where the database notifies.

    SQLite (the demo) has no notifications; there the web request enqueues.
    """
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return None
    return Dispatcher(app).start()
