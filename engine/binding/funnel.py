"""The binding funnel: pop-ups shown, channel buttons clicked, bindings made.

Counted per shop, channel and UTC day in ``binding_funnel_days`` with one
upsert each; a pop-up offering two channels counts as shown on both.
``funnel_of`` sums a period for the merchant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.binding.models import CHANNELS, BindingFunnelDay
from engine.db import db, utcnow
from engine.shops.models import Shop

SHOWN = "shown"
CLICKED = "clicked"
BOUND = "bound"
STAGES = (SHOWN, CLICKED, BOUND)


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
