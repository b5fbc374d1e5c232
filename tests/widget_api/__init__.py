"""Helpers for the widget API, tracking and on-site message tests.

``widget_state`` (imported by each area's conftest) stops the event buffer's
background thread and empties it and the per-process memos around each test,
so a test decides when events are flushed (``drain``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.db import db
from engine.onsite import selection
from engine.shops.models import Shop
from engine.tracking import storefronts
from engine.tracking.buffer import EventBuffer, buffer_of
from tests.conftest import run_jobs

PAGE_PATH = "/api/widget/v1/page"
EVENTS_PATH = "/api/widget/v1/events"
PRODUCT_URL = "https://revisit-test.myshopify.com/products/chew-toy"


@pytest.fixture
def widget_state(app: Flask) -> Iterator[EventBuffer]:
    buffer = buffer_of(app)
    buffer.stop_background()
    buffer.background = False
    buffer.take()
    storefronts.forget_all()
    selection.forget_all()
    yield buffer
    buffer.take()
    buffer.background = True


def storefront(shop: Shop) -> str:
    return f"https://{shop.shop_domain}"


def post_page(
    client: FlaskClient,
    shop: Shop,
    *,
    token: str | None = None,
    url: str = PRODUCT_URL,
    page: dict[str, Any] | None = None,
    locale: str | None = "zh-TW",
    event_id: str | None = None,
    origin: str | None = None,
    content_type: str = "text/plain;charset=UTF-8",
    body: dict[str, Any] | None = None,
) -> TestResponse:
    """A page view as the widget sends it (``body`` replaces the whole body)."""
    if body is None:
        body = {
            "widget_key": shop.widget_key,
            "visitor_token": token,
            "page": page
            or {
                "url": url,
                "page_type": "product",
                "product_id": "123",
                "product_handle": "chew-toy",
                "referrer": "https://www.google.com/",
                "title": "Chew toy",
            },
            "locale": locale,
            "event_id": event_id or str(uuid.uuid4()),
        }
    return _post(client, PAGE_PATH, body, origin or storefront(shop), content_type)


def post_events(
    client: FlaskClient,
    shop: Shop,
    token: str,
    events: list[dict[str, Any]],
    *,
    origin: str | None = None,
    content_type: str = "text/plain;charset=UTF-8",
) -> TestResponse:
    body = {"widget_key": shop.widget_key, "visitor_token": token, "events": events}
    return _post(client, EVENTS_PATH, body, origin or storefront(shop), content_type)


def event(type_: str, **fields: Any) -> dict[str, Any]:
    """A widget event of ``type_`` happening now."""
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "url": PRODUCT_URL,
        **fields,
    }


def new_visitor(client: FlaskClient, shop: Shop) -> str:
    """A visitor token from a first page view (its page view stays buffered)."""
    response = post_page(client, shop)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["visitor_token"]


def drain(app: Flask) -> None:
    """Flush the buffer to Redis and run the drain job, as production would."""
    buffer_of(app).flush()
    run_jobs(app)
    db.session.expire_all()


def _post(
    client: FlaskClient, path: str, body: dict, origin: str | None, content_type: str
) -> TestResponse:
    headers = {"Content-Type": content_type}
    if origin is not None:
        headers["Origin"] = origin
    return client.post(path, data=json.dumps(body), headers=headers)
