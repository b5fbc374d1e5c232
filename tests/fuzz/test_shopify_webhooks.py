"""Fuzzing ``POST /webhooks/shopify``: signed bodies of any shape, hostile headers.

The HMAC covers the body only, so a signed body may still be hostile in
shape: it is recorded and then fails safely in its job (kept with its error,
``failed`` after the last attempt), or is refused at the door with a 4xx. A
hostile delivery never costs another delivery its turn: each example records
an honest cart beside it, and the same worker run must apply it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, note
from hypothesis import strategies as st
from sqlalchemy import select

from engine.commerce.models import Cart
from engine.db import db
from engine.shops.models import Shop
from engine.webhooks.jobs import MAX_ATTEMPTS, apply_delivery
from engine.webhooks.models import APPLIED, FAILED, IGNORED, RECEIVED, WebhookDelivery
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import SHOP_DOMAIN, run_jobs
from tests.fuzz import (
    FUZZ,
    FUZZ_WITH_WORKER,
    HEADER_TEXT,
    assert_answer_shape,
    assert_refused_cleanly,
    field_paths,
    hostile_values,
    random_bodies,
    stored_state,
    with_value,
)
from tests.webhooks import WEBHOOK_PATH, post_webhook, sample_payload

# Topics whose delivery changes records; the two that delete or revoke
# (shop/redact, app/uninstalled) are fuzzed in their shop field only, since
# an honest body of theirs would end the shop the other examples need.
TOPICS = [
    "carts/create",
    "carts/update",
    "checkouts/create",
    "checkouts/update",
    "orders/create",
    "orders/paid",
    "orders/cancelled",
    "customers/data_request",
    "customers/redact",
]
DESTRUCTIVE = {"shop/redact": "shop_domain", "app/uninstalled": "myshopify_domain"}
MAX_BODY = 2 * 1024 * 1024


def fresh_payload(topic: str) -> dict[str, Any]:
    """The topic's sample with new keys, so no example is another's duplicate."""
    payload = sample_payload(topic)
    for key in ("token", "id"):
        if key in payload:
            payload[key] = (
                uuid.uuid4().hex if key == "token" else uuid.uuid4().int % 10**12
            )
    return payload


@st.composite
def hostile_deliveries(draw: st.DrawFn) -> tuple[str, bytes]:
    """(topic, signed body): one field of a real sample made hostile, or a
    body of any shape at all."""
    topic = draw(st.sampled_from([*TOPICS, *DESTRUCTIVE, "unknown/topic"]))
    payload = fresh_payload(topic if topic != "unknown/topic" else "carts/create")
    if draw(st.booleans()):
        return topic, draw(random_bodies())
    if topic in DESTRUCTIVE:
        path = (DESTRUCTIVE[topic],)
        value = draw(hostile_values().filter(lambda found: found != SHOP_DOMAIN))
    else:
        path = draw(st.sampled_from(field_paths(payload)))
        value = draw(hostile_values())
    return topic, json.dumps(with_value(payload, path, value)).encode()


def _honest_cart(client: FlaskClient, platform: FakeShopifyPlatform) -> str:
    payload = fresh_payload("carts/update")
    response = post_webhook(client, platform, "carts/update", payload)
    assert response.status_code == 200
    return payload["token"]


def _delivery(webhook_id: str) -> WebhookDelivery | None:
    db.session.expire_all()
    return db.session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    )


def _fail_to_the_end(delivery: WebhookDelivery) -> WebhookDelivery:
    """Run the job's remaining attempts, as RQ's retries and the sweep would."""
    for _ in range(MAX_ATTEMPTS):
        if _delivery(delivery.webhook_id).status != RECEIVED:
            break
        try:
            apply_delivery(delivery.id)
        except Exception:
            # The job raises for RQ to see; the delivery keeps the error.
            db.session.rollback()
    return _delivery(delivery.webhook_id)


@FUZZ_WITH_WORKER
@given(delivery=hostile_deliveries())
def test_signed_hostile_body_is_recorded_then_fails_safely_or_is_refused(
    app: Flask,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    delivery: tuple[str, bytes],
) -> None:
    # given a hostile delivery, signed, and an honest one behind it
    topic, body = delivery
    note(f"{topic}: {body[:2000]!r}")
    webhook_id = str(uuid.uuid4())

    # when
    response = post_webhook(client, platform, topic, body, webhook_id=webhook_id)
    honest_token = _honest_cart(client, platform)
    run_jobs(app)

    # then the honest cart was applied whatever became of the hostile body
    assert db.session.scalar(select(Cart).filter_by(token=honest_token)) is not None
    assert_answer_shape(response)
    recorded = _delivery(webhook_id)
    if response.status_code >= 400:
        assert recorded is None
        return
    assert recorded is not None and recorded.topic == topic
    if recorded.status in (APPLIED, IGNORED):
        assert recorded.payload is None
        return

    # and a delivery that fails keeps its body and error, failed at the end
    assert recorded.error, (recorded.status, recorded.attempts)
    ended = _fail_to_the_end(recorded)
    assert ended.status == FAILED
    assert ended.attempts == MAX_ATTEMPTS
    assert ended.payload is not None and ended.error


@FUZZ
@given(
    header=st.sampled_from(
        [
            "X-Shopify-Topic",
            "X-Shopify-Shop-Domain",
            "X-Shopify-Webhook-Id",
            "X-Shopify-Event-Id",
            "X-Shopify-API-Version",
            "X-Shopify-Triggered-At",
        ]
    ),
    value=st.one_of(
        HEADER_TEXT,
        st.sampled_from(
            [
                "",
                " ",
                "0000-00-00",
                "9999-12-31T23:59:59Z",
                "0001-01-01T00:00:00+14:00",
                "9999-12-31T23:59:59-14:00",
                "2026-12-03T10:00:00",
            ]
        ),
        st.integers(256, 8_000).map(lambda size: "h" * size),
    ),
)
def test_signed_body_with_a_hostile_header_is_recorded_or_refused(
    app: Flask,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    header: str,
    value: str,
) -> None:
    # given
    payload = fresh_payload("carts/update")
    before = stored_state()

    # when
    response = post_webhook(
        client, platform, "carts/update", payload, headers={header: value}
    )

    # then
    assert_answer_shape(response)
    if response.status_code >= 400:
        assert_refused_cleanly(response, before)
        return
    assert response.status_code == 200
    run_jobs(app)
    assert db.session.scalar(select(Shop).filter_by(id=shop.id)) is not None


@FUZZ
@given(
    data=random_bodies(),
    signature=st.one_of(
        st.none(),
        st.just(""),
        HEADER_TEXT,
        st.binary(min_size=32, max_size=32).map(lambda raw: raw.hex()),
    ),
)
def test_unsigned_or_badly_signed_body_is_refused_with_401(
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    data: bytes,
    signature: str | None,
) -> None:
    # given
    before = stored_state()

    # when
    response = post_webhook(
        client,
        platform,
        "carts/update",
        data,
        headers={"X-Shopify-Hmac-Sha256": signature},
    )

    # then 401, or 400 for JSON no parser of ours can read, signed or not
    if response.status_code == 400:
        assert response.get_json()["code"] == "invalid_json"
    else:
        assert response.status_code == 401, response.get_data(as_text=True)
    assert_refused_cleanly(response, before)


@FUZZ
@given(extra=st.integers(1, 512 * 1024))
def test_signed_body_over_2_mb_is_refused_with_413(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, extra: int
) -> None:
    # given a signed body past the app's documented 2 MB limit
    body = json.dumps(fresh_payload("carts/update")).encode()
    body += b" " * (MAX_BODY - len(body) + extra)
    before = stored_state()

    # when
    response = post_webhook(client, platform, "carts/update", body)

    # then
    assert response.status_code == 413
    assert_refused_cleanly(response, before)


@FUZZ
@given(
    content_type=st.sampled_from(
        ["text/plain", "application/x-www-form-urlencoded", "", "image/png"]
    )
)
def test_signed_body_is_taken_whatever_its_content_type(
    app: Flask,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    content_type: str,
) -> None:
    # given the body is what the signature covers, whatever it claims to be
    payload = fresh_payload("carts/update")

    # when
    response = post_webhook(
        client,
        platform,
        "carts/update",
        payload,
        headers={"Content-Type": content_type or None},
    )
    run_jobs(app)

    # then
    assert response.status_code == 200
    assert db.session.scalar(select(Cart).filter_by(token=payload["token"]))


def test_webhook_path_takes_only_post(client: FlaskClient) -> None:
    # when
    response = client.get(WEBHOOK_PATH)

    # then
    assert response.status_code == 405
    assert_answer_shape(response)
