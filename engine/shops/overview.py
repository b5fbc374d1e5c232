"""What the app home shows a merchant about their shop's data with us."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from engine.commerce.models import Cart, Checkout, Order
from engine.db import db
from engine.shops.models import Shop
from engine.webhooks.models import WebhookDelivery


@dataclass(frozen=True)
class ShopOverview:
    carts: int
    open_checkouts: int
    orders: int
    webhooks_received: int
    last_webhook_at: datetime | None


def shop_overview(shop: Shop) -> ShopOverview:
    """Counts of what the platform has told us about this shop."""
    return ShopOverview(
        carts=_count(select(Cart.id).where(Cart.shop_id == shop.id)),
        open_checkouts=_count(
            select(Checkout.id).where(
                Checkout.shop_id == shop.id, Checkout.completed_at.is_(None)
            )
        ),
        orders=_count(select(Order.id).where(Order.shop_id == shop.id)),
        webhooks_received=_count(
            select(WebhookDelivery.id).where(WebhookDelivery.shop_id == shop.id)
        ),
        last_webhook_at=db.session.scalar(
            select(func.max(WebhookDelivery.received_at)).where(
                WebhookDelivery.shop_id == shop.id
            )
        ),
    )


def _count(query) -> int:  # noqa: ANN001
    return db.session.scalar(select(func.count()).select_from(query.subquery()))
