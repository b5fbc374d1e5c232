"""Helpers for the tracking tests: records as the widget API buffers them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from engine.shops.models import Shop
from engine.tracking.events import client_record, page_view_record

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
VISITOR = "v" * 22
SHOP_URL = "https://revisit-test.myshopify.com"


def page_view(
    shop: Shop,
    at: datetime = T0,
    *,
    visitor: str = VISITOR,
    path: str = "/",
    page_type: str = "index",
    product_id: str | None = None,
    handle: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    page = {
        "url": SHOP_URL + path,
        "page_type": page_type,
        "product_id": product_id,
        "product_handle": handle,
    }
    return page_view_record(
        shop.id, visitor, event_id or str(uuid.uuid4()), page, "en", at.timestamp()
    )


def widget_event(
    shop: Shop, type_: str, at: datetime = T0, *, visitor: str = VISITOR, **fields: Any
) -> dict[str, Any]:
    event = {
        "id": fields.pop("event_id", None) or str(uuid.uuid4()),
        "type": type_,
        "at": at.timestamp(),
        "url": SHOP_URL + "/cart",
        **fields,
    }
    return client_record(shop.id, visitor, event, at.timestamp())
