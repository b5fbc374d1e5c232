"""Raw events are deleted after TRACKING_RETENTION_DAYS; footprints stay."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from engine.db import db
from engine.shops.models import Shop
from engine.tracking.buffer import EventBuffer
from engine.tracking.models import VisitorEvent
from engine.tracking.retention import purge_old_events
from engine.visitors.models import Visitor
from tests.tracking import T0, page_view
from tests.widget_api import drain


def test_events_older_than_the_retention_period_are_purged(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given events received 91, 89 and 1 days before "now"
    now = T0 + timedelta(days=91)
    widget_state.add([page_view(shop, T0, event_id="e-old-00001")])
    widget_state.add(
        [page_view(shop, now - timedelta(days=89), event_id="e-kept-0001")]
    )
    widget_state.add([page_view(shop, now - timedelta(days=1), event_id="e-kept-0002")])
    drain(app)

    # when
    purged = purge_old_events(now)

    # then
    assert purged == 1
    kept = db.session.scalars(select(VisitorEvent.event_id).order_by(VisitorEvent.id))
    assert list(kept) == ["e-kept-0001", "e-kept-0002"]
    assert db.session.scalars(select(Visitor)).one().page_views == 3


def test_purge_with_nothing_old_deletes_nothing(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    widget_state.add([page_view(shop, T0)])
    drain(app)

    # when
    purged = purge_old_events(T0 + timedelta(days=90))

    # then
    assert purged == 0
    assert db.session.scalar(select(func.count()).select_from(VisitorEvent)) == 1
