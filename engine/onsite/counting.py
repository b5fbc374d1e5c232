"""Counting what visitors did with on-site messages, from tracking events.

The drain hands over each batch's new ``message_view``, ``message_click`` and
``message_dismiss`` events; they add up per visitor and message in
``onsite_impressions`` (what the cap and "closed means closed" read) and, summed,
per message (``message_stats``). An event naming another shop's message, or
one since deleted, is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.db import db
from engine.onsite.models import OnsiteImpression, OnsiteMessage
from engine.shops.models import Shop
from engine.tracking.events import (
    MESSAGE_CLICK,
    MESSAGE_DISMISS,
    MESSAGE_TYPES,
    MESSAGE_VIEW,
    TrackedEvent,
)
from engine.tracking.models import VisitorEvent


@dataclass(frozen=True)
class MessageStats:
    """A message's lifetime counts: views, clicks, dismissals, distinct viewers."""

    views: int
    clicks: int
    dismissals: int
    viewers: int


@dataclass
class _Tally:
    shop_id: int
    message_id: int
    visitor_id: int
    views: int = 0
    clicks: int = 0
    last_viewed_at: datetime | None = None
    dismissed_at: datetime | None = None

    def add(self, event: TrackedEvent) -> None:
        at = event.occurred_at
        if event.type == MESSAGE_VIEW:
            self.views += 1
            self.last_viewed_at = max(self.last_viewed_at or at, at)
        elif event.type == MESSAGE_CLICK:
            self.clicks += 1
        elif event.type == MESSAGE_DISMISS:
            self.dismissed_at = min(self.dismissed_at or at, at)


def count_message_events(events: Iterable[TrackedEvent]) -> None:
    """Add new message events to the per-visitor counts (part of the drain)."""
    about_messages = [
        event
        for event in events
        if event.type in MESSAGE_TYPES and event.message_id is not None
    ]
    if not about_messages:
        return

    known = _messages_of_their_shops(about_messages)
    tallies: dict[tuple[int, int], _Tally] = {}
    for event in about_messages:
        if (event.shop_id, event.message_id) not in known:
            continue
        key = (event.message_id, event.visitor_id)
        if key not in tallies:
            tallies[key] = _Tally(event.shop_id, event.message_id, event.visitor_id)
        tallies[key].add(event)
    if tallies:
        _add_tallies(list(tallies.values()))


def message_stats(shop: Shop, message_id: int) -> MessageStats:
    """Views, clicks and dismissals of one of the shop's messages, all time."""
    impressions = OnsiteImpression
    row = db.session.execute(
        select(
            func.coalesce(func.sum(impressions.views), 0),
            func.coalesce(func.sum(impressions.clicks), 0),
            func.count(impressions.dismissed_at),
            func.count().filter(impressions.views > 0),
        ).where(impressions.shop_id == shop.id, impressions.message_id == message_id)
    ).one()
    return MessageStats(
        views=int(row[0]), clicks=int(row[1]), dismissals=row[2], viewers=row[3]
    )


def _messages_of_their_shops(events: list[TrackedEvent]) -> set[tuple[int, int]]:
    message_ids = {event.message_id for event in events}
    rows = db.session.execute(
        select(OnsiteMessage.shop_id, OnsiteMessage.id).where(
            OnsiteMessage.id.in_(message_ids)
        )
    )
    return {(row.shop_id, row.id) for row in rows}


def _add_tallies(tallies: list[_Tally]) -> None:
    table = OnsiteImpression.__table__
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table)
    excluded = insert.excluded
    statement = insert.on_conflict_do_update(
        index_elements=["visitor_id", "message_id"],
        set_={
            "views": table.c.views + excluded.views,
            "clicks": table.c.clicks + excluded.clicks,
            "last_viewed_at": func.coalesce(
                excluded.last_viewed_at, table.c.last_viewed_at
            ),
            # The first dismissal is the one that counts.
            "dismissed_at": func.coalesce(table.c.dismissed_at, excluded.dismissed_at),
        },
    )
    db.session.execute(
        statement,
        [
            {
                "shop_id": tally.shop_id,
                "message_id": tally.message_id,
                "visitor_id": tally.visitor_id,
                "views": tally.views,
                "clicks": tally.clicks,
                "last_viewed_at": tally.last_viewed_at,
                "dismissed_at": tally.dismissed_at,
            }
            for tally in tallies
        ],
    )


@dataclass(frozen=True)
class PeriodMessageStats:
    """What visitors did with one message within a period."""

    message_id: int
    name: str
    views: int
    clicks: int
    dismissals: int


def period_message_stats(
    shop: Shop, since: datetime, until: datetime
) -> list[PeriodMessageStats]:
    """Views, clicks and dismissals per message of the shop within a period.

    Counted from the raw events, so a period older than the tracking
    retention shows nothing; the lifetime counts stay in ``message_stats``.
    """
    counts = db.session.execute(
        select(VisitorEvent.message_id, VisitorEvent.type, func.count())
        .where(
            VisitorEvent.shop_id == shop.id,
            VisitorEvent.type.in_(MESSAGE_TYPES),
            VisitorEvent.message_id.is_not(None),
            VisitorEvent.occurred_at >= since,
            VisitorEvent.occurred_at < until,
        )
        .group_by(VisitorEvent.message_id, VisitorEvent.type)
    )
    tallies: dict[int, dict[str, int]] = {}
    for message_id, kind, count in counts:
        tallies.setdefault(message_id, {})[kind] = int(count)

    messages = db.session.execute(
        select(OnsiteMessage.id, OnsiteMessage.name)
        .where(OnsiteMessage.shop_id == shop.id)
        .order_by(OnsiteMessage.id)
    )
    return [
        PeriodMessageStats(
            message_id=message_id,
            name=name,
            views=tallies.get(message_id, {}).get(MESSAGE_VIEW, 0),
            clicks=tallies.get(message_id, {}).get(MESSAGE_CLICK, 0),
            dismissals=tallies.get(message_id, {}).get(MESSAGE_DISMISS, 0),
        )
        for message_id, name in messages
    ]
