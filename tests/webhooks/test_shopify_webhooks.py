"""The webhook endpoint: HMAC first, then recorded once, queued, applied, swept."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from werkzeug.test import TestResponse

from engine.commerce.models import Checkout
from engine.db import db, utcnow
from engine.privacy.models import DataExport
from engine.runtime import current
from engine.shops.install import shop_by_domain
from engine.shops.models import Shop
from engine.webhooks.dispatcher import Dispatcher
from engine.webhooks.jobs import MAX_ATTEMPTS, apply_delivery, sweep_stale_deliveries
from engine.webhooks.models import WebhookDelivery
from plugin.logs import EventFormatter
from plugin.sandbox.shopify_platform import FakeShopifyPlatform, load_payload
from tests.conftest import API_KEY, OTHER_SHOP_DOMAIN, SHOP_DOMAIN, run_jobs
from tests.webhooks import (
    WEBHOOK_PATH,
    count_rows,
    iso,
    post_webhook,
    queued_webhook_jobs,
    sample_payload,
    uninstalled_payload,
)

CHECKOUT_TOKEN = "5e8c1b7a3d2f4a90b6e4c2d8f1a7b3c5"


def _only_delivery() -> WebhookDelivery:
    db.session.expire_all()
    return db.session.scalars(select(WebhookDelivery)).one()


def _assert_refused(response: TestResponse, code: str) -> None:
    assert response.status_code == 401
    assert response.get_json() == {
        "detail": "The webhook's X-Shopify-Hmac-Sha256 is not valid.",
        "code": code,
    }
    assert count_rows(WebhookDelivery) == 0
    assert queued_webhook_jobs() == 0


# --- HMAC ---------------------------------------------------------------------


def test_webhook_with_valid_hmac_is_recorded_and_queued(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    payload = load_payload("checkouts/create")

    # when
    response = post_webhook(
        client,
        platform,
        "checkouts/create",
        payload,
        webhook_id="wh-valid-1",
        event_id="ev-valid-1",
    )

    # then
    assert response.status_code == 200
    delivery = _only_delivery()
    assert delivery.shop_domain == SHOP_DOMAIN
    assert delivery.topic == "checkouts/create"
    assert delivery.webhook_id == "wh-valid-1"
    assert delivery.event_id == "ev-valid-1"
    assert delivery.status == "received"
    assert json.loads(delivery.payload) == payload
    assert queued_webhook_jobs() == 1


def test_webhook_with_tampered_body_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given headers signed for one body, sent with another
    signed_body = json.dumps(load_payload("checkouts/create")).encode()
    headers = platform.webhook_headers("checkouts/create", SHOP_DOMAIN, signed_body)
    tampered = signed_body.replace(b"1520.00", b"1.00")

    # when
    response = client.post(WEBHOOK_PATH, data=tampered, headers=headers)

    # then
    _assert_refused(response, "invalid_hmac")


def test_webhook_without_hmac_header_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = post_webhook(
        client,
        platform,
        "checkouts/create",
        load_payload("checkouts/create"),
        headers={"X-Shopify-Hmac-Sha256": None},
    )

    # then
    _assert_refused(response, "missing_hmac_header")


def test_webhook_signed_with_wrong_secret_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    impostor = FakeShopifyPlatform(API_KEY, "not-the-app-secret-0123456789abcdef")

    # when
    response = post_webhook(
        client, impostor, "checkouts/create", load_payload("checkouts/create")
    )

    # then
    _assert_refused(response, "invalid_hmac")


def test_webhook_with_non_ascii_hmac_header_is_refused(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when (hmac.compare_digest raises TypeError on non-ASCII text)
    response = post_webhook(
        client,
        platform,
        "checkouts/create",
        load_payload("checkouts/create"),
        headers={"X-Shopify-Hmac-Sha256": "signé"},
    )

    # then
    _assert_refused(response, "invalid_hmac")


def test_webhook_body_is_not_parsed_before_hmac_check(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a body that is not JSON, with an HMAC that is not its own
    headers = {"X-Shopify-Hmac-Sha256": "Zm9yZ2VkLWhtYWMtdmFsdWU="}

    # when
    response = post_webhook(
        client, platform, "checkouts/create", b"{not json", headers=headers
    )

    # then 401 for the signature, not 400 for the body
    _assert_refused(response, "invalid_hmac")


FORGED_HMAC = "Zm9yZ2VkLWhtYWMtdmFsdWU="


@pytest.mark.parametrize(
    ("hmac_header", "code"),
    [
        (FORGED_HMAC, "invalid_hmac"),
        (None, "missing_hmac_header"),
        ("signé", "invalid_hmac"),
    ],
)
def test_refused_webhook_is_logged_without_its_body(
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    caplog: pytest.LogCaptureFixture,
    hmac_header: str | None,
    code: str,
) -> None:
    # given a body naming a shopper, under a signature that does not verify
    payload = load_payload("checkouts/create")
    caplog.set_level(logging.DEBUG)

    # when
    response = post_webhook(
        client,
        platform,
        "checkouts/create",
        payload,
        headers={"X-Shopify-Hmac-Sha256": hmac_header},
    )

    # then one warning names the event, the refusal and the sender's address
    assert response.status_code == 401
    [record] = [r for r in caplog.records if r.name == "plugin.webhooks.shopify"]
    assert (record.levelno, record.getMessage()) == (
        logging.WARNING,
        "webhooks.shopify.rejected",
    )
    assert (record.code, record.remote_addr) == (code, "127.0.0.1")

    # and no log line holds anything of the body or the signature
    logged = "\n".join(EventFormatter().format(r) for r in caplog.records)
    for secret in (payload["email"], payload["token"], payload["total_price"]):
        assert secret not in logged
    assert FORGED_HMAC not in logged


@pytest.mark.parametrize(
    "body", [b"[" * 50_000 + b"]" * 50_000, b'{"id": ' + b"7" * 5_000 + b"}"]
)
def test_webhook_body_python_cannot_read_as_json_is_400_not_500(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, body: bytes
) -> None:
    # given JSON nested past Python's stack, or with a number over 4,300
    # digits, which shopifyapp parses (for its logs) before any signature
    headers = {"X-Shopify-Hmac-Sha256": "Zm9yZ2VkLWhtYWMtdmFsdWU="}

    # when
    response = post_webhook(client, platform, "carts/update", body, headers=headers)

    # then
    assert response.status_code == 400
    assert response.get_json() == {
        "detail": "The body's JSON nests too deeply or holds a number too long"
        " to read.",
        "code": "invalid_json",
    }
    assert count_rows(WebhookDelivery) == 0
    assert queued_webhook_jobs() == 0


def test_webhook_without_webhook_id_is_refused_naming_the_header(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = post_webhook(
        client,
        platform,
        "checkouts/create",
        load_payload("checkouts/create"),
        headers={"X-Shopify-Webhook-Id": None},
    )

    # then
    assert response.status_code == 400
    assert response.get_json() == {
        "detail": "Header X-Shopify-Webhook-Id is required.",
        "code": "missing_header",
    }
    assert count_rows(WebhookDelivery) == 0
    assert queued_webhook_jobs() == 0


@pytest.mark.parametrize(
    ("header", "value", "detail"),
    [
        ("X-Shopify-Topic", "t" * 65, "Header X-Shopify-Topic is over 64 characters."),
        (
            "X-Shopify-Webhook-Id",
            "w" * 256,
            "Header X-Shopify-Webhook-Id is over 255 characters.",
        ),
        (
            "X-Shopify-Shop-Domain",
            "s" * 242 + ".myshopify.com",
            "Header X-Shopify-Shop-Domain is over 255 characters.",
        ),
        (
            "X-Shopify-API-Version",
            "2026-10-unstable+",
            "Header X-Shopify-API-Version is over 16 characters.",
        ),
        (
            "X-Shopify-Triggered-At",
            "0001-01-01T00:00:00+14:00",
            "Header X-Shopify-Triggered-At is not ISO 8601.",
        ),
    ],
)
def test_signed_webhook_with_a_header_no_column_can_hold_is_400(
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    header: str,
    value: str,
    detail: str,
) -> None:
    # given a genuine signature: the headers are not signed
    topic = "app/uninstalled" if header == "X-Shopify-Triggered-At" else "carts/update"

    # when
    response = post_webhook(
        client, platform, topic, sample_payload(topic), headers={header: value}
    )

    # then
    assert response.status_code == 400
    assert response.get_json() == {"detail": detail, "code": "invalid_header"}
    assert count_rows(WebhookDelivery) == 0
    assert queued_webhook_jobs() == 0


# --- duplicates ---------------------------------------------------------------


def test_webhook_redelivered_with_same_id_is_applied_once_and_erased(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    payload = load_payload("checkouts/create")
    first = post_webhook(
        client, platform, "checkouts/create", payload, webhook_id="wh-dup"
    )

    # when the platform redelivers it (a new event id, the same webhook id)
    again = post_webhook(
        client, platform, "checkouts/create", payload, webhook_id="wh-dup"
    )
    jobs = queued_webhook_jobs()
    run_jobs(app)

    # then
    assert (first.status_code, again.status_code) == (200, 200)
    assert jobs == 1
    delivery = _only_delivery()
    assert (delivery.status, delivery.attempts) == ("applied", 1)
    assert (delivery.payload, delivery.shop_id) == (None, shop.id)
    assert count_rows(Checkout) == 1
    assert queued_webhook_jobs() == 0


def test_webhook_same_event_under_new_webhook_id_is_recorded_once(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    payload = load_payload("checkouts/create")
    post_webhook(client, platform, "checkouts/create", payload, event_id="ev-1")

    # when the same merchant action is reported under another webhook id
    response = post_webhook(
        client, platform, "checkouts/create", payload, event_id="ev-1"
    )

    # then
    assert response.status_code == 200
    assert count_rows(WebhookDelivery) == 1
    assert queued_webhook_jobs() == 1


def test_webhook_same_event_id_on_other_topic_is_recorded_twice(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    payload = load_payload("orders/create")
    post_webhook(client, platform, "orders/create", payload, event_id="ev-2")

    # when
    response = post_webhook(
        client, platform, "orders/paid", load_payload("orders/paid"), event_id="ev-2"
    )

    # then
    assert response.status_code == 200
    assert count_rows(WebhookDelivery, event_id="ev-2") == 2
    assert queued_webhook_jobs() == 2


def test_webhook_for_unknown_shop_is_ignored(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # when
    post_webhook(client, platform, "checkouts/create", load_payload("checkouts/create"))
    run_jobs(app)

    # then
    delivery = _only_delivery()
    assert (delivery.status, delivery.shop_id) == ("ignored", None)
    assert count_rows(Checkout) == 0


# --- uninstall and reinstall --------------------------------------------------


def _post_uninstall(
    client: FlaskClient, platform: FakeShopifyPlatform, triggered_at: str | None = None
) -> int:
    payload = uninstalled_payload()
    response = post_webhook(
        client, platform, "app/uninstalled", payload, triggered_at=triggered_at
    )
    return response.status_code


def _open_app(client: FlaskClient, platform: FakeShopifyPlatform) -> Shop:
    """The merchant opens the app in the admin; returns the shop as stored."""
    token = platform.session_token(SHOP_DOMAIN)
    response = client.get(f"/?shop={SHOP_DOMAIN}&embedded=1&id_token={token}")
    assert response.status_code == 200
    db.session.expire_all()
    return shop_by_domain(SHOP_DOMAIN)


def test_uninstall_revokes_access_before_any_job_runs(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    platform.uninstall(SHOP_DOMAIN)
    moment = utcnow()

    # when
    status = _post_uninstall(client, platform, triggered_at=iso(moment))

    # then, with the job still queued
    assert (status, queued_webhook_jobs()) == (200, 1)
    db.session.expire_all()
    revoked = shop_by_domain(SHOP_DOMAIN)
    assert (revoked.access_token, revoked.refresh_token) == (None, None)
    assert revoked.access_token_expires_at is None
    assert revoked.refresh_token_expires_at is None
    assert revoked.uninstalled_at == moment
    assert revoked.is_installed is False


def test_uninstall_triggered_before_current_install_does_not_revoke(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given an uninstall from before the current install, delivered late
    access_token, installed_at = shop.access_token, shop.installed_at

    # when
    status = _post_uninstall(client, platform, iso(installed_at - timedelta(hours=1)))

    # then
    assert status == 200
    db.session.expire_all()
    kept = shop_by_domain(SHOP_DOMAIN)
    assert kept.access_token == access_token
    assert (kept.installed_at, kept.uninstalled_at) == (installed_at, None)
    assert kept.is_installed is True


def test_reinstall_after_uninstall_installs_with_new_tokens(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given an uninstalled shop
    old_access, old_refresh = shop.access_token, shop.refresh_token
    old_installed_at = shop.installed_at
    platform.uninstall(SHOP_DOMAIN)
    _post_uninstall(client, platform)
    run_jobs(app)

    # when the merchant installs again and opens the app
    platform.install(SHOP_DOMAIN)
    reinstalled = _open_app(client, platform)

    # then
    assert (reinstalled.id, count_rows(Shop)) == (shop.id, 1)
    assert reinstalled.is_installed is True
    assert reinstalled.uninstalled_at is None
    assert reinstalled.installed_at > old_installed_at
    assert reinstalled.access_token not in (None, old_access)
    assert reinstalled.refresh_token not in (None, old_refresh)


def test_late_uninstall_after_reinstall_keeps_new_tokens(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given the merchant uninstalled, then reinstalled before we heard of it,
    # and opening the app re-authorised it since the stored token had expired
    platform.uninstall(SHOP_DOMAIN)
    uninstalled_at = utcnow()
    platform.install(SHOP_DOMAIN)
    shop.access_token_expires_at = uninstalled_at - timedelta(minutes=1)
    db.session.commit()
    new_access = _open_app(client, platform).access_token

    # when the uninstall webhook arrives late
    _post_uninstall(client, platform, triggered_at=iso(uninstalled_at))

    # then the reinstall stands
    db.session.expire_all()
    reinstalled = shop_by_domain(SHOP_DOMAIN)
    assert reinstalled.access_token == new_access
    assert reinstalled.is_installed is True


# --- failures -----------------------------------------------------------------


def test_delivery_whose_rows_the_database_refuses_fails_with_its_error_kept(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a signed data request whose customer e-mail is an empty object,
    # which the handler accepts and only the database refuses
    payload = sample_payload("customers/data_request")
    payload["customer"]["email"] = {}
    post_webhook(client, platform, "customers/data_request", payload)

    # when the worker tries it, and then its retries run out
    run_jobs(app)
    first = _only_delivery()
    first_try = (first.status, first.attempts, bool(first.error))
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(DBAPIError):
            apply_delivery(first.id)

    # then each attempt counted with its error, and it ended failed, body kept
    assert first_try == ("received", 1, True)
    delivery = _only_delivery()
    assert (delivery.status, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert delivery.error.startswith("ProgrammingError: ")
    assert json.loads(delivery.payload) == payload
    assert count_rows(DataExport) == 0


# --- stale delivery sweep -----------------------------------------------------


def _lose_queued_job() -> WebhookDelivery:
    """Empty the queue, as if Redis lost the job, and return the waiting row."""
    current().queue("webhooks").empty()
    return _only_delivery()


def test_sweep_requeues_and_applies_stale_delivery(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a delivery left waiting for three minutes with no job
    post_webhook(client, platform, "checkouts/create", load_payload("checkouts/create"))
    delivery = _lose_queued_job()
    delivery.received_at = utcnow() - timedelta(minutes=3)
    db.session.commit()

    # when
    swept = sweep_stale_deliveries()
    jobs = queued_webhook_jobs()
    run_jobs(app)

    # then
    assert (swept, jobs) == (1, 1)
    applied = _only_delivery()
    assert (applied.status, applied.payload, applied.attempts) == ("applied", None, 1)
    checkout = db.session.scalars(select(Checkout)).one()
    assert checkout.token == CHECKOUT_TOKEN


@pytest.mark.parametrize("status", ["received", "applied"])
def test_sweep_leaves_recent_or_finished_delivery_alone(
    app: Flask,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    status: str,
) -> None:
    # given a delivery that is recent (received) or old but already applied
    post_webhook(client, platform, "checkouts/create", load_payload("checkouts/create"))
    delivery = _lose_queued_job()
    if status == "applied":
        delivery.status = "applied"
        delivery.received_at = utcnow() - timedelta(minutes=30)
    db.session.commit()

    # when
    swept = sweep_stale_deliveries()

    # then (counting the queue itself: the dispatcher is not part of this)
    assert swept == 0
    assert current().queue("webhooks").count == 0
    assert _only_delivery().status == status


def test_uninstall_body_naming_another_shop_does_not_revoke(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a genuine signed uninstall body of another shop, replayed under
    # this shop's (unsigned) header
    body = uninstalled_payload(OTHER_SHOP_DOMAIN)

    # when
    response = post_webhook(client, platform, "app/uninstalled", body)

    # then it is acknowledged but changes nothing
    assert response.status_code == 200
    db.session.expire_all()
    assert shop_by_domain(SHOP_DOMAIN).is_installed


def test_shop_redact_replayed_under_another_topic_is_ignored(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a signed checkout body replayed with the topic header shop/redact
    body = load_payload("checkouts/create")

    # when
    post_webhook(client, platform, "shop/redact", body)
    run_jobs(app)

    # then the shop is still there and the delivery was ignored
    db.session.expire_all()
    assert shop_by_domain(SHOP_DOMAIN) is not None
    assert count_rows(WebhookDelivery, topic="shop/redact", status="ignored") == 1


def test_dispatcher_queues_delivery_notified_by_the_database(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a worker's dispatcher listening (PostgreSQL only: SQLite enqueues
    # in the request)
    if db.engine.dialect.name != "postgresql":
        pytest.skip("Notifications need PostgreSQL.")
    dispatcher = Dispatcher(app).start()
    try:
        time.sleep(0.5)

        # when a delivery is recorded
        post_webhook(client, platform, "carts/create", load_payload("carts/create"))

        # then its job appears without anyone sweeping
        deadline = time.monotonic() + 5
        while current().queue("webhooks").count == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        (job_id,) = current().queue("webhooks").job_ids
        assert job_id.startswith("webhook-")
    finally:
        dispatcher.stop()
