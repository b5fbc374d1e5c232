"""What reminders did for the shop, per step and per channel.

For each step position and channel: reminders sent and failed, how many were
clicked (at least once), orders credited to them and their revenue, the
conversion rate (orders per reminder sent) and the return on ad spend:
revenue over what the sent messages cost at the merchant's cost per message
(``None`` while that cost is zero). Counted over sends made in the period
and orders placed in it. Also: the same day by day for charts, failed
reminders grouped by the platform's reason, and open notices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from sqlalchemy import case, func, select

from engine.db import db
from engine.reminders.defaults import flow_for
from engine.reminders.models import (
    FAILED,
    SENT,
    ReminderAttribution,
    ReminderNotice,
    ReminderSend,
)
from engine.shops.models import Shop

# The longest period the day-by-day figures cover.
MAX_PERIOD_DAYS = 366
_TICK = timedelta(microseconds=1)


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


@dataclass(frozen=True)
class DayFigures:
    """One day of the period, in the shop's time zone."""

    day: date
    sent: int
    clicked: int
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class FailureReason:
    """Failed reminders of one kind: how many, and the platform's latest words."""

    channel: str | None
    reason: str | None
    error_code: str | None
    count: int
    latest_detail: str | None
    latest_at: datetime | None


def daily_figures(
    shop: Shop, since: datetime, until: datetime, zone: tzinfo
) -> list[DayFigures]:
    """Reminders sent and clicked, orders and revenue per day, every day listed.

    Sends are grouped by the local day they went out, orders by the local
    day they were placed. The rows of the period are read and grouped here,
    since the database's date functions differ between backends; a period
    is at most ``MAX_PERIOD_DAYS`` long.
    """
    days: dict[date, list] = {}
    first, last = since.astimezone(zone).date(), (until - _TICK).astimezone(zone).date()
    day = first
    while day <= last:
        days[day] = [0, 0, 0, Decimal(0)]
        day += timedelta(days=1)

    sends = db.session.execute(
        select(ReminderSend.sent_at, ReminderSend.clicks).where(
            ReminderSend.shop_id == shop.id,
            ReminderSend.status == SENT,
            ReminderSend.sent_at >= since,
            ReminderSend.sent_at < until,
        )
    )
    for sent_at, clicks in sends:
        figures = days.get(sent_at.astimezone(zone).date())
        if figures is not None:
            figures[0] += 1
            figures[1] += 1 if clicks else 0

    orders = db.session.execute(
        select(ReminderAttribution.placed_at, ReminderAttribution.revenue).where(
            ReminderAttribution.shop_id == shop.id,
            ReminderAttribution.placed_at >= since,
            ReminderAttribution.placed_at < until,
        )
    )
    for placed_at, revenue in orders:
        figures = days.get(placed_at.astimezone(zone).date())
        if figures is not None:
            figures[2] += 1
            figures[3] += Decimal(revenue or 0)

    return [DayFigures(day, *figures) for day, figures in days.items()]


def failure_reasons(
    shop: Shop, since: datetime | None = None, until: datetime | None = None
) -> list[FailureReason]:
    """Failed reminders grouped by channel, reason and platform code, most first."""
    query = (
        select(
            ReminderSend.channel,
            ReminderSend.reason,
            ReminderSend.error_code,
            func.count(),
            func.max(ReminderSend.ended_at),
        )
        .where(ReminderSend.shop_id == shop.id, ReminderSend.status == FAILED)
        .group_by(ReminderSend.channel, ReminderSend.reason, ReminderSend.error_code)
        .order_by(func.count().desc())
    )
    if since is not None:
        query = query.where(ReminderSend.ended_at >= since)
    if until is not None:
        query = query.where(ReminderSend.ended_at < until)
    rows = db.session.execute(query).all()
    return [
        FailureReason(
            channel=channel,
            reason=reason,
            error_code=code,
            count=int(count),
            latest_detail=_latest_detail(shop, channel, reason, code),
            latest_at=latest,
        )
        for channel, reason, code, count, latest in rows
    ]


def open_notices(shop: Shop) -> list[ReminderNotice]:
    """What the merchant must know now (e.g. LINE's quota spent), newest first."""
    return list(
        db.session.scalars(
            select(ReminderNotice)
            .where(
                ReminderNotice.shop_id == shop.id,
                ReminderNotice.resolved_at.is_(None),
            )
            .order_by(ReminderNotice.created_at.desc(), ReminderNotice.id.desc())
        )
    )


def _latest_detail(
    shop: Shop, channel: str | None, reason: str | None, code: str | None
) -> str | None:
    return db.session.scalar(
        select(ReminderSend.error_detail)
        .where(
            ReminderSend.shop_id == shop.id,
            ReminderSend.status == FAILED,
            _same(ReminderSend.channel, channel),
            _same(ReminderSend.reason, reason),
            _same(ReminderSend.error_code, code),
        )
        .order_by(ReminderSend.ended_at.desc().nulls_last(), ReminderSend.id.desc())
        .limit(1)
    )


def _same(column, value):  # noqa: ANN001, ANN202
    return column.is_(None) if value is None else column == value
