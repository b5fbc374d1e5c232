"""Crediting orders to reminders: the last one clicked, else the last one sent.

An order placed within the flow's attribution window (default 7 days) after
a reminder reached its buyer is credited to one reminder: the last one the
buyer clicked inside the window, else the last one sent. The buyer is the
person the order matches across devices (``engine.reminders.identity``).
The credit carries the order's total in the shop's currency; a cancelled
order loses its credit. Each order is credited at most once, and news of the
same order again (paid after created) re-decides it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from engine.commerce.models import Order
from engine.db import db
from engine.reminders.models import (
    SENT,
    ReminderAttribution,
    ReminderFlow,
    ReminderSend,
)
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(days=7)


def attribute_order(
    shop: Shop, order: Order, visitor_ids: set[int]
) -> ReminderAttribution | None:
    """Credit ``order`` to the reminder that earned it, if any. The caller commits."""
    existing = db.session.scalar(
        select(ReminderAttribution).where(
            ReminderAttribution.shop_id == shop.id,
            ReminderAttribution.order_id == order.id,
        )
    )
    send, credited_for = _earning_send(shop, order, visitor_ids)
    if send is None or order.cancelled_at is not None:
        if existing is not None:
            db.session.delete(existing)
        return None

    credit = existing or ReminderAttribution(shop_id=shop.id, order_id=order.id)
    credit.send_id = send.id
    credit.position = send.position
    credit.channel = send.channel or "unknown"
    credit.credited_for = credited_for
    credit.revenue = order.total_price
    credit.currency = shop.currency or order.currency
    credit.placed_at = order.placed_at
    db.session.add(credit)
    logger.info(
        "reminders.order_attributed",
        extra={"shop_id": shop.id, "order_id": order.id, "send_id": send.id},
    )
    return credit


def _earning_send(
    shop: Shop, order: Order, visitor_ids: set[int]
) -> tuple[ReminderSend | None, str]:
    if not visitor_ids or order.placed_at is None:
        return None, ""
    placed = order.placed_at
    since = placed - _window(shop)
    sends = list(
        db.session.scalars(
            select(ReminderSend).where(
                ReminderSend.shop_id == shop.id,
                ReminderSend.visitor_id.in_(visitor_ids),
                ReminderSend.status == SENT,
                ReminderSend.sent_at >= since,
                ReminderSend.sent_at <= placed,
            )
        )
    )
    clicked = [
        (clicked_at, send.id, send)
        for send in sends
        if (clicked_at := _clicked_before(send, placed)) is not None
        and clicked_at >= since
    ]
    if clicked:
        return max(clicked, key=lambda row: row[:2])[2], "click"
    if sends:
        return max(sends, key=lambda send: (send.sent_at, send.id)), "send"
    return None, ""


def _clicked_before(send: ReminderSend, placed: datetime) -> datetime | None:
    """The latest click on ``send`` we know happened at or before ``placed``."""
    for clicked_at in (send.last_clicked_at, send.first_clicked_at):
        if clicked_at is not None and clicked_at <= placed:
            return clicked_at
    return None


def _window(shop: Shop) -> timedelta:
    days = db.session.scalar(
        select(ReminderFlow.attribution_days).where(ReminderFlow.shop_id == shop.id)
    )
    return timedelta(days=days) if days else DEFAULT_WINDOW
