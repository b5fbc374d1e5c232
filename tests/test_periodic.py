"""Periodic jobs: scheduled once per slot, and put back after Redis lost them."""

from __future__ import annotations

from flask import Flask
from rq.registry import ScheduledJobRegistry

from engine.periodic import schedule
from engine.runtime import current
from engine.worker import MAINTENANCE_SECONDS, make_worker


def scheduled_periodic_names() -> set[str]:
    registry = ScheduledJobRegistry("default", connection=current().redis)
    # Ids are "periodic-<name>-<slot epoch>".
    return {
        job_id.removeprefix("periodic-").rsplit("-", 1)[0]
        for job_id in registry.get_job_ids()
        if job_id.startswith("periodic-")
    }


def test_worker_schedules_every_periodic_job_once(app: Flask) -> None:
    # when two workers start
    make_worker(app, forking=False)
    make_worker(app, forking=False)

    # then each periodic job has exactly one next run
    registry = ScheduledJobRegistry("default", connection=current().redis)
    ids = [i for i in registry.get_job_ids() if i.startswith("periodic-")]
    assert len(ids) == len(schedule())
    assert scheduled_periodic_names() == {periodic.name for periodic in schedule()}


def test_maintenance_puts_periodic_jobs_back_after_redis_lost_them(
    app: Flask,
) -> None:
    # given a running worker, then a Redis that lost everything
    worker = make_worker(app, forking=False)
    current().redis.flushdb()
    assert scheduled_periodic_names() == set()

    # when the worker's next maintenance tick comes
    worker.last_cleaned_at = None
    worker.run_maintenance_tasks()

    # then the reminder sweep and the others are scheduled again, and that
    # tick comes every minute
    assert "reminders" in scheduled_periodic_names()
    assert scheduled_periodic_names() == {periodic.name for periodic in schedule()}
    assert worker.maintenance_interval == MAINTENANCE_SECONDS == 60
