"""``GET /metrics``: behind its token, the queues' and the engine's backlog."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from rq import Queue, Worker
from rq.job import Job
from rq.utils import utcformat

from engine.commerce.models import Cart
from engine.db import db, utcnow
from engine.ops.connections import prompt_redis
from engine.ratelimit import Budget, Charge, Limiter
from engine.reminders.models import SENT, ReminderRun, ReminderSend
from engine.runtime import current
from engine.shops.models import Shop
from engine.webhooks.models import APPLIED, FAILED, RECEIVED, WebhookDelivery

TOKEN = "metrics-token-for-tests"
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}"}
SAMPLE = re.compile(r"^([a-z_]+)(\{[^}]*\})? (\S+)$")


@pytest.fixture
def metrics_on(set_settings: Callable[..., None]) -> None:
    set_settings(metrics_token=TOKEN)


def samples(text: str) -> dict[str, float]:
    """``{'name{labels}': value}`` of every sample line."""
    found = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, labels, value = SAMPLE.match(line).groups()
        found[name + (labels or "")] = float(value)
    return found


def test_metrics_does_not_exist_without_a_token_setting(client: FlaskClient) -> None:
    # when
    response = client.get("/metrics", headers=AUTHORIZATION)

    # then
    assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x"],
)
def test_metrics_refuses_anything_but_the_bearer_token(
    client: FlaskClient, metrics_on: None, authorization: str | None
) -> None:
    # given
    headers = {"Accept": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization

    # when
    response = client.get("/metrics", headers=headers)

    # then
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_json()["code"] == "invalid_metrics_token"


def test_metrics_on_an_idle_app(client: FlaskClient, metrics_on: None) -> None:
    # when
    response = client.get("/metrics", headers=AUTHORIZATION)

    # then every family has its HELP and TYPE, and every figure is 0
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert "Set-Cookie" not in response.headers
    assert text.startswith(
        "# HELP revisit_rq_queued_jobs Jobs waiting in the RQ queue.\n"
        "# TYPE revisit_rq_queued_jobs gauge\n"
        'revisit_rq_queued_jobs{queue="reminders"} 0\n'
        'revisit_rq_queued_jobs{queue="webhooks"} 0\n'
        'revisit_rq_queued_jobs{queue="tracking"} 0\n'
        'revisit_rq_queued_jobs{queue="default"} 0\n'
        "# HELP revisit_rq_oldest_queued_job_age_seconds"
    )
    assert text.endswith(
        "# HELP revisit_metrics_source_up Whether this scrape could read the"
        " source (1) or not (0).\n"
        "# TYPE revisit_metrics_source_up gauge\n"
        'revisit_metrics_source_up{source="redis"} 1\n'
        'revisit_metrics_source_up{source="database"} 1\n'
    )
    figures = samples(text)
    assert len(figures) == 7 * 4 + 5 + 2
    assert {value for name, value in figures.items() if "source_up" not in name} == {
        0.0
    }
    families = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE)
    assert families == [
        ("revisit_rq_queued_jobs", "gauge"),
        ("revisit_rq_oldest_queued_job_age_seconds", "gauge"),
        ("revisit_rq_started_jobs", "gauge"),
        ("revisit_rq_failed_jobs", "gauge"),
        ("revisit_rq_scheduled_jobs", "gauge"),
        ("revisit_rq_scheduled_overdue_seconds", "gauge"),
        ("revisit_rq_workers", "gauge"),
        ("revisit_widget_rate_limited_total", "counter"),
        ("revisit_reminder_sends_due", "gauge"),
        ("revisit_reminder_oldest_due_age_seconds", "gauge"),
        ("revisit_webhook_deliveries_unapplied", "gauge"),
        ("revisit_webhook_oldest_unapplied_age_seconds", "gauge"),
        ("revisit_webhook_deliveries_failed", "gauge"),
        ("revisit_metrics_source_up", "gauge"),
    ]


def test_metrics_show_how_late_the_queues_are(
    client: FlaskClient, metrics_on: None
) -> None:
    # given two webhook jobs waiting, the older one for 90 s
    webhooks = current().queue("webhooks")
    older = webhooks.enqueue("builtins.len", [])
    webhooks.enqueue("builtins.len", [])
    current().redis.hset(
        Job.key_for(older.id),
        "enqueued_at",
        utcformat(utcnow() - timedelta(seconds=90)),
    )
    # and on default: one failed job, one scheduled later, one 120 s overdue
    default = current().queue("default")
    failed = default.enqueue("builtins.len", [])
    default.remove(failed)
    default.failed_job_registry.add(failed, ttl=60, exc_string="boom")
    default.enqueue_in(timedelta(minutes=5), "builtins.len", [])
    default.enqueue_at(utcnow() - timedelta(seconds=120), "builtins.len", [])
    # and a reminder wake-up scheduled on the reminders' own queue
    current().queue("reminders").enqueue_in(timedelta(minutes=1), "builtins.len", [])
    # and a worker listening
    worker = Worker(current().queues, connection=current().redis)
    worker.register_birth()

    # when
    try:
        response = client.get("/metrics", headers=AUTHORIZATION)
    finally:
        worker.register_death()

    # then
    figures = samples(response.get_data(as_text=True))
    assert figures['revisit_rq_queued_jobs{queue="webhooks"}'] == 2
    assert figures['revisit_rq_queued_jobs{queue="default"}'] == 0
    assert (
        90 <= figures['revisit_rq_oldest_queued_job_age_seconds{queue="webhooks"}'] < 95
    )
    assert figures['revisit_rq_oldest_queued_job_age_seconds{queue="default"}'] == 0
    assert figures['revisit_rq_failed_jobs{queue="default"}'] == 1
    assert figures['revisit_rq_scheduled_jobs{queue="default"}'] == 2
    assert 120 <= figures['revisit_rq_scheduled_overdue_seconds{queue="default"}'] < 125
    assert figures['revisit_rq_scheduled_jobs{queue="reminders"}'] == 1
    assert figures['revisit_rq_scheduled_overdue_seconds{queue="reminders"}'] == 0
    assert figures['revisit_rq_workers{queue="reminders"}'] == 1
    assert figures['revisit_rq_workers{queue="webhooks"}'] == 1
    assert figures['revisit_rq_workers{queue="default"}'] == 1


def test_metrics_show_the_engines_backlog(
    client: FlaskClient, shop: Shop, metrics_on: None
) -> None:
    # given two sends due (the older 300 s ago), one sent, one due later
    now = utcnow()
    run = a_reminder_run(shop)
    for position, (due_in, status) in enumerate(
        [(-300, "pending"), (-30, "sending"), (-600, SENT), (600, "pending")], 1
    ):
        db.session.add(
            ReminderSend(
                shop_id=shop.id,
                run_id=run.id,
                position=position,
                status=status,
                planned_at=now + timedelta(seconds=due_in),
                due_at=now + timedelta(seconds=due_in),
                retry_key=f"00000000-0000-0000-0000-00000000000{position}",
            )
        )
    # and deliveries: two not applied (the older 45 s old), one applied, one failed
    for number, (age, status) in enumerate(
        [(45, RECEIVED), (5, RECEIVED), (60, APPLIED), (70, FAILED)]
    ):
        db.session.add(
            WebhookDelivery(
                shop_domain=shop.shop_domain,
                topic="carts/update",
                webhook_id=f"webhook-{number}",
                received_at=now - timedelta(seconds=age),
                status=status,
            )
        )
    db.session.commit()

    # when
    response = client.get("/metrics", headers=AUTHORIZATION)

    # then
    figures = samples(response.get_data(as_text=True))
    assert figures["revisit_reminder_sends_due"] == 2
    assert 300 <= figures["revisit_reminder_oldest_due_age_seconds"] < 305
    assert figures["revisit_webhook_deliveries_unapplied"] == 2
    assert 45 <= figures["revisit_webhook_oldest_unapplied_age_seconds"] < 50
    assert figures["revisit_webhook_deliveries_failed"] == 1


def test_metrics_count_the_widget_refusals(
    client: FlaskClient, metrics_on: None
) -> None:
    # given two refusals by the address budget
    limiter = Limiter(current().redis)
    charge = Charge("ip", "widget:ip:203.0.113.9", Budget(1, 60))
    for _ in range(3):
        limiter.hit([charge])
    limiter.sync()

    # when
    response = client.get("/metrics", headers=AUTHORIZATION)

    # then
    assert (
        "# TYPE revisit_widget_rate_limited_total counter\n"
        'revisit_widget_rate_limited_total{budget="ip"} 2\n'
    ) in response.get_data(as_text=True)


def test_metrics_without_redis_still_show_the_database(
    client: FlaskClient, metrics_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the app's Redis out of reach
    unreachable = prompt_redis("redis://127.0.0.1:1/0", 0.5)
    monkeypatch.setattr(current(), "redis", unreachable)
    monkeypatch.setattr(
        current(),
        "queues",
        [Queue(q.name, connection=unreachable) for q in current().queues],
    )

    # when
    response = client.get("/metrics", headers=AUTHORIZATION)

    # then
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "revisit_rq_" not in text
    assert "revisit_reminder_sends_due 0\n" in text
    assert text.endswith(
        'revisit_metrics_source_up{source="redis"} 0\n'
        'revisit_metrics_source_up{source="database"} 1\n'
    )


def a_reminder_run(shop: Shop) -> ReminderRun:
    now = utcnow()
    cart = Cart(shop_id=shop.id, token="cart-for-metrics")
    db.session.add(cart)
    db.session.flush()
    run = ReminderRun(
        shop_id=shop.id,
        cart_id=cart.id,
        cart_fingerprint="fingerprint",
        last_activity_at=now - timedelta(hours=1),
        abandoned_at=now - timedelta(minutes=30),
    )
    db.session.add(run)
    db.session.flush()
    return run
