"""Tests of ``POST /webhooks/shopify``; its helpers serve the privacy and
tenancy tests too."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine.db import db
from engine.runtime import current
from engine.webhooks.dispatcher import queue_waiting_deliveries
from plugin.sandbox.shopify_platform import FakeShopifyPlatform, load_payload
from tests.conftest import SHOP_DOMAIN

WEBHOOK_PATH = "/webhooks/shopify"


def post_webhook(
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    topic: str,
    payload: dict[str, Any] | bytes,
    *,
    shop_domain: str = SHOP_DOMAIN,
    webhook_id: str | None = None,
    event_id: str | None = None,
    triggered_at: str | None = None,
    headers: dict[str, str | None] | None = None,
) -> TestResponse:
    """Deliver a webhook signed as the platform signs it.

    ``headers`` replace the signed headers by name; a ``None`` value drops one.
    """
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = platform.webhook_headers(
        topic,
        shop_domain,
        body,
        webhook_id=webhook_id,
        event_id=event_id,
        triggered_at=triggered_at,
    )
    for name, value in (headers or {}).items():
        sent.pop(name, None)
        if value is not None:
            sent[name] = value
    return client.post(WEBHOOK_PATH, data=body, headers=sent)


def sample_payload(topic: str, shop_domain: str = SHOP_DOMAIN) -> dict[str, Any]:
    """The platform's sample body for a topic, naming the shop where it names one."""
    payload = load_payload(topic)
    for field in ("shop_domain", "myshopify_domain"):
        if field in payload:
            payload[field] = shop_domain
    return payload


def uninstalled_payload(shop_domain: str = SHOP_DOMAIN) -> dict[str, Any]:
    return sample_payload("app/uninstalled", shop_domain)


def queued_webhook_jobs() -> int:
    """Jobs on the webhooks queue once a worker's dispatcher has run."""
    queue_waiting_deliveries()
    return current().queue("webhooks").count


def count_rows(model: type, **filters: object) -> int:
    query = select(func.count()).select_from(model).filter_by(**filters)
    return db.session.scalar(query)


def iso(moment: datetime) -> str:
    """A time as the platform writes it in headers: UTC with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
