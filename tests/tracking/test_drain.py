"""The drain: buffered events into the database, once each, crash-safe."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.db import db
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking import drain as drain_module
from engine.tracking.buffer import QUEUE_KEY, EventBuffer
from engine.tracking.drain import DEAD_KEY, LOCK_KEY, drain_events
from engine.tracking.models import VisitorEvent
from engine.visitors.models import Visitor
from tests.tracking import T0, page_view, widget_event
from tests.widget_api import drain


def rows() -> int:
    return db.session.scalar(select(func.count()).select_from(VisitorEvent))


def visitor() -> Visitor:
    return db.session.scalars(select(Visitor)).one()


def test_buffered_page_view_becomes_a_row_and_a_footprint(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    widget_state.add(
        [
            page_view(
                shop,
                path="/products/chew-toy",
                page_type="product",
                product_id="123",
                handle="chew-toy",
                event_id="e-0001-aaaa",
            )
        ]
    )

    # when
    drain(app)

    # then
    event = db.session.scalars(select(VisitorEvent)).one()
    assert (event.shop_id, event.event_id, event.type) == (
        shop.id,
        "e-0001-aaaa",
        "page_view",
    )
    assert (event.page_type, event.product_id, event.product_handle) == (
        "product",
        "123",
        "chew-toy",
    )
    assert event.occurred_at == T0
    footprint = visitor()
    assert event.visitor_id == footprint.id
    assert (footprint.page_views, footprint.visit_count) == (1, 1)
    assert (
        footprint.last_page_url
        == "https://revisit-test.myshopify.com/products/chew-toy"
    )
    assert footprint.products_viewed == [
        {
            "product_id": "123",
            "handle": "chew-toy",
            "views": 1,
            "last_viewed_at": T0.isoformat(),
        }
    ]
    assert current().redis.llen(QUEUE_KEY) == 0


def test_repeated_client_event_id_is_stored_once(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given the same page view reported in two batches
    widget_state.add([page_view(shop, event_id="e-same-0001")])
    drain(app)
    widget_state.add(
        [page_view(shop, T0 + timedelta(seconds=5), event_id="e-same-0001")]
    )

    # when
    drain(app)

    # then
    assert rows() == 1
    assert visitor().page_views == 1


def test_same_client_event_id_in_two_shops_is_two_events(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given a second shop (the id is the client's, so only unique per shop)
    other = Shop(shop_domain="second.myshopify.com")
    db.session.add(other)
    db.session.commit()

    # when
    widget_state.add([page_view(shop, event_id="e-both-0001")])
    widget_state.add([page_view(other, event_id="e-both-0001")])
    drain(app)

    # then
    assert rows() == 2


def test_drain_leaves_nothing_in_redis_and_returns_at_once_when_empty(
    app: Flask, shop: Shop
) -> None:
    # when
    written = drain_events()

    # then
    assert written == 0
    assert current().redis.exists(LOCK_KEY) == 0


def test_drain_does_nothing_while_another_drain_holds_the_lock(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    widget_state.add([page_view(shop)])
    widget_state.flush()
    current().redis.set(LOCK_KEY, "another-drainer")

    # when
    written = drain_events()

    # then
    assert written == 0
    assert rows() == 0
    assert current().redis.llen(QUEUE_KEY) == 1


def test_crash_between_commit_and_trim_writes_nothing_twice(
    app: Flask, shop: Shop, widget_state: EventBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a drain that dies after committing, before trimming Redis
    widget_state.add([page_view(shop), page_view(shop, T0 + timedelta(minutes=1))])
    widget_state.flush()

    def crash(self, chunks: int) -> bool:
        raise ConnectionError("the worker died here")

    with monkeypatch.context() as patch:
        patch.setattr(drain_module.DrainLock, "trim", crash)
        with pytest.raises(ConnectionError):
            drain_events()
    current().redis.delete(LOCK_KEY)  # its lock would expire
    assert rows() == 2
    assert current().redis.llen(QUEUE_KEY) == 1

    # when the next drain reads the same batch again
    drain_events()
    db.session.expire_all()

    # then
    assert rows() == 2
    assert (visitor().page_views, visitor().visit_count) == (2, 1)
    assert current().redis.llen(QUEUE_KEY) == 0


def test_crash_before_commit_writes_nothing_and_keeps_the_batch(
    app: Flask, shop: Shop, widget_state: EventBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a drain that dies half-way through writing a batch
    widget_state.add([page_view(shop)])
    widget_state.flush()

    def crash(events: object) -> None:
        raise ConnectionError("the database went away")

    with monkeypatch.context() as patch:
        patch.setattr("engine.tracking.writer.count_message_events", crash)
        with pytest.raises(ConnectionError):
            drain_events()
    db.session.rollback()
    current().redis.delete(LOCK_KEY)
    assert rows() == 0

    # when
    drain_events()

    # then
    assert rows() == 1
    assert current().redis.llen(QUEUE_KEY) == 0


def test_unwritable_chunk_is_set_aside_and_the_rest_written(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given a chunk that is not JSON ahead of a good one
    redis = current().redis
    redis.rpush(QUEUE_KEY, b"{not json")
    widget_state.add([page_view(shop)])
    widget_state.flush()

    # when
    drain_events()

    # then
    assert rows() == 1
    assert redis.llen(QUEUE_KEY) == 0
    assert redis.lrange(DEAD_KEY, 0, -1) == [b"{not json"]


def test_unwritable_event_is_set_aside_alone_and_its_chunk_mates_written(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given one chunk where a bad event (a message id past 64 bits, which no
    # column of either backend holds) sits between two good events of other
    # visitors
    bad = widget_event(shop, "message_view", visitor="b" * 22, message_id=2**70)
    good = [page_view(shop, visitor="a" * 22), page_view(shop, visitor="c" * 22)]
    widget_state.add([good[0], bad, good[1]])
    widget_state.flush()

    # when
    drain_events()

    # then the good events are stored, and only the bad one is set aside
    assert rows() == 2
    assert current().redis.llen(QUEUE_KEY) == 0
    [dead] = current().redis.lrange(DEAD_KEY, 0, -1)
    assert [record["id"] for record in json.loads(dead)] == [bad["id"]]


def test_events_of_an_erased_shop_are_dropped(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given events of a shop that no longer exists, ahead of a live shop's
    ghost = page_view(shop)
    ghost["shop"] = shop.id + 1000
    widget_state.add([ghost, page_view(shop)])

    # when
    drain(app)

    # then
    assert rows() == 1
    assert db.session.scalars(select(VisitorEvent.shop_id)).all() == [shop.id]
    assert current().redis.llen(DEAD_KEY) == 0


def test_events_arrive_through_the_flush_triggered_job(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    widget_state.add(
        [page_view(shop), widget_event(shop, "page_leave", seconds_on_page=9)]
    )

    # when (flush enqueues the drain job; the worker runs it)
    drain(app)

    # then
    kinds = db.session.scalars(select(VisitorEvent.type).order_by(VisitorEvent.id))
    assert sorted(kinds) == ["page_leave", "page_view"]
    leave = db.session.scalars(
        select(VisitorEvent).where(VisitorEvent.type == "page_leave")
    ).one()
    assert leave.seconds_on_page == 9


def test_chunks_hold_json_arrays_of_records(
    app: Flask, shop: Shop, widget_state: EventBuffer
) -> None:
    # given
    widget_state.add([page_view(shop, event_id="e-json-0001")])

    # when
    widget_state.flush()

    # then
    [chunk] = current().redis.lrange(QUEUE_KEY, 0, -1)
    [record] = json.loads(chunk)
    assert (record["id"], record["shop"], record["type"]) == (
        "e-json-0001",
        shop.id,
        "page_view",
    )
