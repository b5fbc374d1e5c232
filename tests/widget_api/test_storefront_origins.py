"""Storefront addresses the shop owner adds: allowed at once here, soon elsewhere."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask.testing import FlaskClient

from engine.db import db
from engine.shops.models import Shop
from engine.tracking import memo, storefronts
from engine.tracking.buffer import EventBuffer
from engine.tracking.storefronts import (
    MEMO_SECONDS,
    replace_platform_origins,
    set_owner_origins,
)
from tests.widget_api import EVENTS_PATH, post_page

MARKET = "https://tw.tea-house.example"


def preflight(client: FlaskClient, origin: str):  # noqa: ANN201
    return client.options(
        EVENTS_PATH,
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )


def test_an_added_origin_may_post_at_once_and_a_removed_one_no_more(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given a Markets domain the widget was refused from (and the refusal memoized)
    assert post_page(client, shop, origin=MARKET).status_code == 403
    assert preflight(client, MARKET).status_code == 403

    # when the owner adds it
    set_owner_origins(shop, ["https://TW.Tea-House.example/"])
    db.session.commit()

    # then this process allows it without waiting for the memo to expire
    answer = post_page(client, shop, origin=MARKET)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == MARKET
    assert preflight(client, MARKET).status_code == 204

    # and once removed, it is refused again
    set_owner_origins(shop, [])
    db.session.commit()
    assert post_page(client, shop, origin=MARKET).status_code == 403
    assert widget_state.pending() == 1


def test_another_process_sees_an_added_origin_within_the_memos_ttl(
    shop: Shop,
    client: FlaskClient,
    widget_state: EventBuffer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given this process memoized the shop without the Markets domain
    assert post_page(client, shop, origin=MARKET).status_code == 403

    # when another process adds it: this process's memo is not told
    monkeypatch.setattr(storefronts, "_forget_origins", lambda shop, origins: None)
    set_owner_origins(shop, [MARKET])
    db.session.commit()
    still_memoized = post_page(client, shop, origin=MARKET).status_code

    # then it is allowed once the memo's entries have expired
    later = memo.time.monotonic() + MEMO_SECONDS + 0.1
    monkeypatch.setattr(memo, "time", SimpleNamespace(monotonic=lambda: later))
    assert still_memoized == 403
    assert post_page(client, shop, origin=MARKET).status_code == 200


def test_a_store_domain_dropped_by_the_platform_is_refused_but_the_owners_stay(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given the store listed two domains, and the owner added another
    replace_platform_origins(shop, ["tea-house.example", "tw.tea-house.example"])
    set_owner_origins(shop, ["https://pop-up.example"])
    db.session.commit()

    # when the platform lists only the first now
    replace_platform_origins(shop, ["tea-house.example", shop.shop_domain])
    db.session.commit()

    # then
    statuses = {
        origin: post_page(client, shop, origin=origin).status_code
        for origin in (
            "https://tea-house.example",
            MARKET,
            "https://pop-up.example",
        )
    }
    assert statuses == {
        "https://tea-house.example": 200,
        MARKET: 403,
        "https://pop-up.example": 200,
    }
