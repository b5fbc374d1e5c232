"""Helpers for the on-site message tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.onsite.matching import VisitorFacts
from engine.onsite.models import OnsiteMessage
from engine.onsite.rules import create_message
from engine.shops.models import Shop

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
HOME = "https://revisit-test.myshopify.com/"
PRODUCT = "https://revisit-test.myshopify.com/products/chew-toy"
TEXTS = {
    "zh-TW": {"title": "歡迎光臨", "body": "新客首購九折"},
    "en": {"title": "Welcome", "body": "10% off your first order"},
}


def add_message(shop: Shop, **fields: Any) -> OnsiteMessage:
    """A text message on every page unless ``fields`` say otherwise."""
    return create_message(
        shop, **{"name": "Welcome", "kind": "text", "texts": TEXTS, **fields}
    )


def facts(
    visit_count: int = 1,
    *,
    orders: int = 0,
    cart_total: str = "0",
    visitor_id: int | None = None,
) -> VisitorFacts:
    return VisitorFacts(visitor_id, visit_count, orders, Decimal(cart_total))
