"""The binding funnel: pop-ups shown, channel buttons clicked, bindings made.

Counted per shop, channel and UTC day in ``binding_funnel_days`` with one
upsert each; a pop-up offering two channels counts as shown on both.
``funnel_of`` sums a period for the merchant; ``funnel_days`` gives it
day by day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.binding.models import CHANNELS, BindingFunnelDay
from engine.db import db, utcnow
from engine.shops.models import Shop

SHOWN = "shown"
CLICKED = "clicked"
BOUND = "bound"
STAGES = (SHOWN, CLICKED, BOUND)


MAX_DAYS = 366


@dataclass(frozen=True)
class FunnelCounts:
    """One channel's funnel over a period."""

    channel: str
    shown: int
    clicked: int
    bound: int

    def as_dict(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "shown": self.shown,
            "clicked": self.clicked,
            "bound": self.bound,
        }


def count(shop_id: int, channel: str, stage: str, at: datetime | None = None) -> None:
    """Add one to a stage of the shop's funnel for ``channel`` today."""
    if stage not in STAGES or channel not in CHANNELS:
        raise ValueError(f"No funnel stage {stage!r} for channel {channel!r}.")
    day = (at or utcnow()).date()
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    values = {"shown": 0, "clicked": 0, "bound": 0, stage: 1}
    db.session.execute(
        dialect.insert(BindingFunnelDay)
        .values(shop_id=shop_id, channel=channel, day=day, **values)
        .on_conflict_do_update(
            index_elements=["shop_id", "channel", "day"],
            set_={stage: getattr(BindingFunnelDay, stage) + 1},
        )
    )


def funnel_of(
    shop: Shop, since: date | None = None, until: date | None = None
) -> list[FunnelCounts]:
    """Each channel's funnel from ``since`` to ``until`` (inclusive, UTC days)."""
    query = select(
        BindingFunnelDay.channel,
        func.sum(BindingFunnelDay.shown),
        func.sum(BindingFunnelDay.clicked),
        func.sum(BindingFunnelDay.bound),
    ).where(BindingFunnelDay.shop_id == shop.id)
    if since is not None:
        query = query.where(BindingFunnelDay.day >= since)
    if until is not None:
        query = query.where(BindingFunnelDay.day <= until)
    rows = {
        channel: (shown, clicked, bound)
        for channel, shown, clicked, bound in db.session.execute(
            query.group_by(BindingFunnelDay.channel)
        )
    }
    return [
        FunnelCounts(channel, *(int(n) for n in rows.get(channel, (0, 0, 0))))
        for channel in CHANNELS
    ]


@dataclass(frozen=True)
class FunnelDay:
    """One channel's funnel on one UTC day."""

    day: date
    channel: str
    shown: int
    clicked: int
    bound: int


def funnel_days(shop: Shop, since: date, until: date) -> list[FunnelDay]:
    """Every day from ``since`` to ``until`` (UTC days), each channel, zeros kept.

    Days come in order, channels in ``CHANNELS`` order within a day; a day
    with nothing counted has zeros, so a chart gets every column.
    """
    if since > until or (until - since).days + 1 > MAX_DAYS:
        raise ValueError(f"No funnel period from {since} to {until}.")
    rows = db.session.execute(
        select(
            BindingFunnelDay.day,
            BindingFunnelDay.channel,
            BindingFunnelDay.shown,
            BindingFunnelDay.clicked,
            BindingFunnelDay.bound,
        ).where(
            BindingFunnelDay.shop_id == shop.id,
            BindingFunnelDay.day >= since,
            BindingFunnelDay.day <= until,
        )
    )
    counted = {(day, channel): counts for day, channel, *counts in rows}
    days = (since + timedelta(days=n) for n in range((until - since).days + 1))
    return [
        FunnelDay(day, channel, *counted.get((day, channel), (0, 0, 0)))
        for day in days
        for channel in CHANNELS
    ]
