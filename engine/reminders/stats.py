"""What reminders did for the shop, per step and per channel.

For each step position and channel: reminders sent and failed, how many were
clicked (at least once), orders credited to them and their revenue, the
conversion rate (orders per reminder sent) and the return on ad spend:
revenue over what the sent messages cost at the merchant's cost per message
(``None`` while that cost is zero). Counted over sends made in the period
and orders placed in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select

from engine.db import db
from engine.reminders.defaults import flow_for
from engine.reminders.models import FAILED, SENT, ReminderAttribution, ReminderSend
from engine.shops.models import Shop


@dataclass(frozen=True)
class StepStats:
    position: int
    channel: str
    sent: int
    failed: int
    clicked: int
    orders: int
    revenue: Decimal
    cost: Decimal
    conversion_rate: float | None
    roas: float | None


def reminder_stats(
    shop: Shop, since: datetime | None = None, until: datetime | None = None
) -> list[StepStats]:
    """Figures per (step, channel), ordered by step then channel."""
    sends = _send_counts(shop, since, until)
    orders = _order_totals(shop, since, until)
    costs = flow_for(shop).message_costs

    rows = []
    for key in sorted(set(sends) | set(orders)):
        sent, failed, clicked = sends.get(key, (0, 0, 0))
        count, revenue = orders.get(key, (0, Decimal(0)))
        cost = Decimal(costs.get(key[1], "0")) * sent
        rows.append(
            StepStats(
                position=key[0],
                channel=key[1],
                sent=sent,
                failed=failed,
                clicked=clicked,
                orders=count,
                revenue=revenue,
                cost=cost,
                conversion_rate=count / sent if sent else None,
                roas=float(revenue / cost) if cost else None,
            )
        )
    return rows


def _send_counts(
    shop: Shop, since: datetime | None, until: datetime | None
) -> dict[tuple[int, str], tuple[int, int, int]]:
    moment = func.coalesce(ReminderSend.sent_at, ReminderSend.ended_at)
    query = (
        select(
            ReminderSend.position,
            ReminderSend.channel,
            func.sum(case((ReminderSend.status == SENT, 1), else_=0)),
            func.sum(case((ReminderSend.status == FAILED, 1), else_=0)),
            func.sum(
                case(
                    ((ReminderSend.status == SENT) & (ReminderSend.clicks > 0), 1),
                    else_=0,
                )
            ),
        )
        .where(
            ReminderSend.shop_id == shop.id,
            ReminderSend.status.in_((SENT, FAILED)),
            ReminderSend.channel.is_not(None),
        )
        .group_by(ReminderSend.position, ReminderSend.channel)
    )
    if since is not None:
        query = query.where(moment >= since)
    if until is not None:
        query = query.where(moment < until)
    return {
        (position, channel): (int(sent), int(failed), int(clicked))
        for position, channel, sent, failed, clicked in db.session.execute(query)
    }


def _order_totals(
    shop: Shop, since: datetime | None, until: datetime | None
) -> dict[tuple[int, str], tuple[int, Decimal]]:
    query = (
        select(
            ReminderAttribution.position,
            ReminderAttribution.channel,
            func.count(),
            func.coalesce(func.sum(ReminderAttribution.revenue), 0),
        )
        .where(ReminderAttribution.shop_id == shop.id)
        .group_by(ReminderAttribution.position, ReminderAttribution.channel)
    )
    if since is not None:
        query = query.where(ReminderAttribution.placed_at >= since)
    if until is not None:
        query = query.where(ReminderAttribution.placed_at < until)
    return {
        (position, channel): (int(count), Decimal(revenue))
        for position, channel, count, revenue in db.session.execute(query)
    }
