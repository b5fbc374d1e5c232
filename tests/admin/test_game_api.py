"""The Bonus game API and screen: campaigns listed, created, changed, paused,
their results and ledger; refusals at their field; owners only; one shop only."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.db import db
from engine.game import clock as game_clock
from engine.game import get_campaign, list_campaigns, targets
from engine.game.campaigns import active_targets
from engine.game.results import LEDGER_COLUMNS
from engine.shops.models import Shop
from engine.tracking.buffer import EventBuffer
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import AGENT_EMAIL, HTTPS, bearer, member, sign_in
from tests.conftest import OTHER_SHOP_DOMAIN, SHOP_DOMAIN
from tests.game import (
    OTHER_PRODUCT_URL,
    PRODUCT_URL,
    a_campaign,
    collect,
    install_paying_shop,
    report_seen,
    view_page,
)
from tests.widget_api import widget_state  # noqa: F401  (the fixture below uses it)

CAMPAIGNS = "/api/admin/v1/game/campaigns"
LEDGER = "/api/admin/v1/game/ledger.csv"
START = datetime(2026, 12, 1, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, 1, tzinfo=UTC)
BODY: dict[str, Any] = {
    "name": "Explore the toys",
    "starts_at": "2026-12-01T09:00:00+08:00",
    "ends_at": "2027-01-01T09:00:00+08:00",
    "targets": [
        {"kind": "product", "value": "chew-toy", "reward": "5"},
        {"kind": "collection", "value": "cats", "reward": "3.50"},
        {"kind": "url", "value": "/pages/*", "reward": "2"},
    ],
    "min_seconds": 15,
    "cap_per_visitor": "20",
    "budget": "1000",
    "credit_expiry_days": 14,
    "look": {"icon": "star", "color": "#1D4ED8", "texts": {"en": "Grab it"}},
}


@pytest.fixture(autouse=True)
def _idle_buffer(widget_state: EventBuffer) -> Iterator[EventBuffer]:  # noqa: F811
    # The collects below go through the widget's endpoints, as a shopper's do.
    targets.forget_all()
    yield widget_state
    targets.forget_all()


@pytest.fixture
def shop(app: Flask, client: FlaskClient, platform: FakeShopifyPlatform) -> Shop:
    """A TWD shop that granted every scope the game uses."""
    return install_paying_shop(client, platform, SHOP_DOMAIN)


def _collected(client: FlaskClient, shop: Shop, visitors: int, url: str) -> None:
    """``visitors`` new visitors see the page's collectible and collect it."""
    for _ in range(visitors):
        answer = view_page(client, shop, url=url)
        report_seen(client, shop, answer)
        assert collect(client, shop, answer).status_code == 200


def _stored(shop: Shop) -> list[dict[str, Any]]:
    db.session.expire_all()
    return [
        {
            "name": campaign.name,
            "paused": campaign.paused,
            "budget": campaign.budget,
            "spent": campaign.spent,
            "targets": [(t.kind, t.value, t.reward) for t in active_targets(campaign)],
        }
        for campaign in list_campaigns(shop)
    ]


def _when(moment: datetime) -> str:
    return moment.isoformat()


# --- listing --------------------------------------------------------------------


def test_campaigns_are_listed_with_their_state_and_headline_figures(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given one campaign of each state, and two collects on the live one
    now = datetime.now(UTC)
    a_campaign(shop, name="Over", starts_at=now - timedelta(days=9), ends_at=now)
    a_campaign(shop, name="Later", starts_at=now + timedelta(days=1))
    a_campaign(shop, name="On hold", paused=True)
    live = a_campaign(
        shop,
        name="Now",
        min_seconds=0,
        targets=[{"kind": "product", "value": "chew-toy", "reward": "5"}],
    )
    _collected(client, shop, 2, url=PRODUCT_URL)

    # when
    response = client.get(CAMPAIGNS, headers=bearer(platform, shop))

    # then newest first, each in its state
    assert response.status_code == 200
    listed = response.json["campaigns"]
    assert [(c["name"], c["state"]) for c in listed] == [
        ("Now", "live"),
        ("On hold", "paused"),
        ("Later", "scheduled"),
        ("Over", "ended"),
    ]
    assert response.json["currency"] == "TWD"
    db.session.refresh(live)
    [target] = active_targets(live)
    assert listed[0] == {
        "id": live.id,
        "name": "Now",
        "state": "live",
        "paused": False,
        "starts_at": _when(live.starts_at),
        "ends_at": None,
        "targets": [
            {"id": target.id, "kind": "product", "value": "chew-toy", "reward": "5.00"}
        ],
        "min_seconds": 0,
        "cap_per_visitor": "50.00",
        "budget": "1000.00",
        "spent": "10.00",
        "budget_left": "990.00",
        "credit_expiry_days": 30,
        "currency": "TWD",
        "look": {"icon": "coin", "color": "#b45309", "texts": {}},
        "figures": {
            "shown_to": 2,
            "collectors": 2,
            "collected": "10.00",
            "orders": 0,
            "revenue": "0.00",
        },
        "created_at": _when(live.created_at),
        "updated_at": _when(live.updated_at),
    }


def test_an_empty_shop_lists_no_campaigns(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # when
    response = client.get(CAMPAIGNS, headers=bearer(platform, shop))

    # then
    assert response.status_code == 200
    assert response.json == {"campaigns": [], "currency": "TWD"}


# --- creating -------------------------------------------------------------------


def test_a_campaign_is_created_as_sent(
    monkeypatch: pytest.MonkeyPatch,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
) -> None:
    # given the game's clock inside the campaign's dates
    monkeypatch.setattr(game_clock, "now", lambda: START + timedelta(days=1))

    # when
    response = client.post(CAMPAIGNS, headers=bearer(platform, shop), json=BODY)

    # then it is answered and stored, times in UTC, amounts with two decimals
    assert response.status_code == 201, response.json
    answer = response.json
    assert (answer["name"], answer["state"], answer["currency"]) == (
        "Explore the toys",
        "live",
        "TWD",
    )
    assert (answer["starts_at"], answer["ends_at"]) == (_when(START), _when(END))
    assert [(t["kind"], t["value"], t["reward"]) for t in answer["targets"]] == [
        ("product", "chew-toy", "5.00"),
        ("collection", "cats", "3.50"),
        ("url", "/pages/*", "2.00"),
    ]
    assert (answer["min_seconds"], answer["credit_expiry_days"]) == (15, 14)
    assert (answer["cap_per_visitor"], answer["budget"], answer["spent"]) == (
        "20.00",
        "1000.00",
        "0.00",
    )
    assert answer["look"] == {
        "icon": "star",
        "color": "#1d4ed8",
        "texts": {"en": "Grab it"},
    }
    assert _stored(shop) == [
        {
            "name": "Explore the toys",
            "paused": False,
            "budget": Decimal("1000.00"),
            "spent": Decimal("0.00"),
            "targets": [
                ("product", "chew-toy", Decimal("5.00")),
                ("collection", "cats", Decimal("3.50")),
                ("url", "/pages/*", Decimal("2.00")),
            ],
        }
    ]


def _with_target(index: int, **changes: Any) -> dict[str, Any]:
    changed = [dict(target) for target in BODY["targets"]]
    changed[index].update(changes)
    return {"targets": changed}


CREATE_REFUSALS = {
    "reward-above-the-cap": (
        _with_target(1, reward="25"),
        "targets[1].reward",
        "must not exceed cap_per_visitor, or nobody could collect it.",
    ),
    "reward-not-an-amount": (
        _with_target(1, reward="3,50"),
        "targets[1].reward",
        "must be an amount above 0 and below 1000000 with at most two decimals,"
        " given as text or a whole number, not '3,50'.",
    ),
    "product-handle-in-capitals": (
        _with_target(0, value="Chew-Toy"),
        "targets[0].value",
        "must be a product id or handle (lower-case letters, digits, '-'),"
        " not 'Chew-Toy'.",
    ),
    "page-twice": (
        _with_target(2, kind="product", value="chew-toy"),
        "targets[2]",
        "repeats the product 'chew-toy'.",
    ),
    "no-pages": ({"targets": []}, "targets", "must be a list of 1 to 50 pages."),
    "end-before-start": (
        {"ends_at": "2026-11-30T09:00:00+08:00"},
        "ends_at",
        "must come after starts_at.",
    ),
    "an-hour-and-more-on-a-page": (
        {"min_seconds": 3601},
        "min_seconds",
        "must be a whole number from 0 to 3600, not 3601.",
    ),
    "budget-zero": (
        {"budget": "0"},
        "budget",
        "must be an amount above 0 and below 1000000 with at most two decimals,"
        " given as text or a whole number, not '0'.",
    ),
    "colour-by-name": (
        {"look": {"icon": "star", "color": "red"}},
        "look.color",
        "must be a colour such as '#b45309', not 'red'.",
    ),
    "label-too-long": (
        {"look": {"texts": {"en": "x" * 61}}},
        "look.texts.en",
        f"must be 1 to 60 characters, not {'x' * 61!r}.",
    ),
}


@pytest.mark.parametrize("case", sorted(CREATE_REFUSALS))
def test_a_refused_campaign_names_its_field_and_stores_nothing(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, case: str
) -> None:
    # given
    changes, field, problem = CREATE_REFUSALS[case]

    # when
    response = client.post(
        CAMPAIGNS, headers=bearer(platform, shop), json={**BODY, **changes}
    )

    # then
    assert response.status_code == 422
    assert response.json == {
        "detail": f"{field}: {problem}",
        "code": "invalid_campaign",
        "field": field,
    }
    assert _stored(shop) == []


SHAPE_REFUSALS = {
    "unknown-kind": (
        _with_target(1, kind="page"),
        "targets[1].kind",
        "Must be one of: url, product, collection.",
    ),
    "reward-as-a-float": (
        _with_target(0, reward=2.5),
        "targets[0].reward",
        "Not a valid string.",
    ),
    "naive-start": (
        {"starts_at": "2026-12-01T09:00:00"},
        "starts_at",
        "Not a valid aware datetime.",
    ),
    "start-in-year-one": (
        {"starts_at": "0001-01-01T00:30:00+01:00"},
        "starts_at",
        "must be a date from 2000 to 2099.",
    ),
    "no-name": ({"name": None}, "name", "Field may not be null."),
    "unknown-field": ({"spent": "0"}, "spent", "Unknown field."),
}


@pytest.mark.parametrize("case", sorted(SHAPE_REFUSALS))
def test_a_campaign_of_the_wrong_shape_is_refused_before_the_engine(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, case: str
) -> None:
    # given
    changes, field, problem = SHAPE_REFUSALS[case]

    # when
    response = client.post(
        CAMPAIGNS, headers=bearer(platform, shop), json={**BODY, **changes}
    )

    # then
    assert response.status_code == 422
    assert response.json == {
        "detail": f"{field}: {problem}",
        "code": "invalid_request",
        "field": field,
    }
    assert _stored(shop) == []


def test_a_new_campaign_needs_a_currency_until_the_shop_has_one(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given the platform has not told the shop's currency yet
    shop.currency = None
    db.session.commit()
    headers = bearer(platform, shop)

    # when
    refused = client.post(CAMPAIGNS, headers=headers, json=BODY)
    created = client.post(CAMPAIGNS, headers=headers, json={**BODY, "currency": "JPY"})

    # then
    assert refused.status_code == 422
    assert refused.json["field"] == "currency"
    assert created.status_code == 201
    assert created.json["currency"] == "JPY"


# --- changing -------------------------------------------------------------------


def test_an_edit_changes_what_it_sends_and_keeps_what_was_collected(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a campaign on two pages, each collected once
    campaign = a_campaign(
        shop,
        min_seconds=0,
        targets=[
            {"kind": "product", "value": "chew-toy", "reward": "5"},
            {"kind": "product", "value": "rope-tug", "reward": "7"},
        ],
    )
    chew_toy, rope_tug = active_targets(campaign)
    _collected(client, shop, 1, url=PRODUCT_URL)
    _collected(client, shop, 1, url=OTHER_PRODUCT_URL)

    # when the merchant raises one reward, drops the other page, adds a third,
    # renames it and lowers the budget to what was collected
    response = client.put(
        f"{CAMPAIGNS}/{campaign.id}",
        headers=bearer(platform, shop),
        json={
            "name": "Explore more",
            "budget": "12",
            "targets": [
                {"id": chew_toy.id, "reward": "6"},
                {"kind": "url", "value": "/pages/about", "reward": "1"},
            ],
        },
    )

    # then the changes hold and the collects stay
    assert response.status_code == 200, response.json
    assert response.json["name"] == "Explore more"
    assert [(t["id"], t["value"], t["reward"]) for t in response.json["targets"]] == [
        (chew_toy.id, "chew-toy", "6.00"),
        (response.json["targets"][1]["id"], "/pages/about", "1.00"),
    ]
    assert (response.json["spent"], response.json["budget_left"]) == ("12.00", "0.00")
    assert response.json["figures"]["collected"] == "12.00"
    assert _stored(shop) == [
        {
            "name": "Explore more",
            "paused": False,
            "budget": Decimal("12.00"),
            "spent": Decimal("12.00"),
            "targets": [
                ("product", "chew-toy", Decimal("6.00")),
                ("url", "/pages/about", Decimal("1.00")),
            ],
        }
    ]
    assert rope_tug.id not in [t["id"] for t in response.json["targets"]]


# Each edit is made from the id of the campaign's one saved target.
UPDATE_REFUSALS = {
    "budget-below-collected": (
        lambda target_id: {"budget": "4.99"},
        "budget",
        "must be at least the 5.00 visitors already collected; editing never"
        " takes back what was collected.",
    ),
    "page-of-a-saved-target": (
        lambda target_id: {
            "targets": [{"id": target_id, "value": "rope-tug", "reward": "5"}]
        },
        "targets[0].value",
        "cannot change; remove the target and add a new one.",
    ),
    "reward-above-the-cap": (
        lambda target_id: {"targets": [{"id": target_id, "reward": "51"}]},
        "targets[0].reward",
        "must not exceed cap_per_visitor, or nobody could collect it.",
    ),
    "someone-elses-target": (
        lambda target_id: {"targets": [{"id": target_id + 1000, "reward": "5"}]},
        "targets[0].id",
        "TARGET_ID is not a target of this campaign.",
    ),
    "currency": (lambda target_id: {"currency": "USD"}, "currency", "Unknown field."),
}


@pytest.mark.parametrize("case", sorted(UPDATE_REFUSALS))
def test_a_refused_edit_names_its_field_and_changes_nothing(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, case: str
) -> None:
    # given a campaign with NT$5 collected
    campaign = a_campaign(shop, min_seconds=0)
    [target] = active_targets(campaign)
    _collected(client, shop, 1, url=PRODUCT_URL)
    before = _stored(shop)
    changes, field, problem = UPDATE_REFUSALS[case]

    # when the refused change comes with a good one
    response = client.put(
        f"{CAMPAIGNS}/{campaign.id}",
        headers=bearer(platform, shop),
        json={"name": "Renamed", **changes(target.id)},
    )

    # then
    assert response.status_code == 422
    assert response.json["field"] == field
    problem = problem.replace("TARGET_ID", str(target.id + 1000))
    assert response.json["detail"] == f"{field}: {problem}"
    assert _stored(shop) == before


def test_pause_and_resume(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    campaign = a_campaign(shop)
    path = f"{CAMPAIGNS}/{campaign.id}"

    # when
    paused = client.post(f"{path}/pause", headers=bearer(platform, shop))
    stored_paused = _stored(shop)[0]["paused"]
    resumed = client.post(f"{path}/resume", headers=bearer(platform, shop))

    # then
    assert (paused.status_code, paused.json["state"], paused.json["paused"]) == (
        200,
        "paused",
        True,
    )
    assert stored_paused is True
    assert (resumed.status_code, resumed.json["state"]) == (200, "live")
    assert _stored(shop)[0]["paused"] is False


def test_one_campaign_is_read_by_its_id(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    campaign = a_campaign(shop, name="Only this")
    a_campaign(shop, name="Not this")

    # when
    response = client.get(f"{CAMPAIGNS}/{campaign.id}", headers=bearer(platform, shop))

    # then
    assert response.status_code == 200
    assert (response.json["id"], response.json["name"]) == (campaign.id, "Only this")


# --- results and the ledger -----------------------------------------------------


def test_results_of_a_campaign(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given three visitors shown the collectible, two of whom collect it, and
    # another campaign's page collected too
    campaign = a_campaign(shop, min_seconds=0)
    a_campaign(
        shop,
        name="Rope week",
        min_seconds=0,
        targets=[{"kind": "product", "value": "rope-tug", "reward": "7"}],
    )
    _collected(client, shop, 2, url=PRODUCT_URL)
    report_seen(client, shop, view_page(client, shop))
    _collected(client, shop, 1, url=OTHER_PRODUCT_URL)

    # when
    response = client.get(
        f"{CAMPAIGNS}/{campaign.id}/results", headers=bearer(platform, shop)
    )

    # then only this campaign's figures, none of them bought yet
    assert response.status_code == 200
    assert response.json == {
        "campaign_id": campaign.id,
        "name": "Explore the shop",
        "currency": "TWD",
        "shown_to": 3,
        "collectors": 2,
        "collects": 2,
        "collected": "10.00",
        "expired": "0.00",
        "codes_issued": 0,
        "credits_issued": 0,
        "issued_amount": "0.00",
        "codes_used": 0,
        "credits_used": 0,
        "used_amount": "0.00",
        "orders": 0,
        "revenue": "0.00",
        "conversion_rate": 0.0,
        "cost": "0.00",
        "cost_to_revenue": None,
    }


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_ledger_csv_of_a_campaign_and_of_the_shop(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given a collect in each of two campaigns
    first = a_campaign(shop, min_seconds=0)
    _collected(client, shop, 1, url=PRODUCT_URL)
    second = a_campaign(
        shop,
        name="Rope week",
        min_seconds=0,
        targets=[{"kind": "product", "value": "rope-tug", "reward": "7"}],
    )
    _collected(client, shop, 1, url=OTHER_PRODUCT_URL)

    # when (the ledger is streamed: ``buffered`` reads each answer whole
    # before the next request, as a browser would)
    one = client.get(
        f"{CAMPAIGNS}/{second.id}/ledger.csv",
        headers=bearer(platform, shop),
        buffered=True,
    )
    whole = client.get(LEDGER, headers=bearer(platform, shop), buffered=True)

    # then
    assert one.status_code == whole.status_code == 200
    assert one.mimetype == "text/csv"
    assert one.headers["Content-Disposition"] == (
        f'attachment; filename="revisit-ledger-{second.id}.csv"'
    )
    assert one.get_data(as_text=True).splitlines()[0] == ",".join(LEDGER_COLUMNS)
    [entry] = _csv_rows(one.get_data(as_text=True))
    assert {
        name: entry[name]
        for name in ("kind", "amount", "currency", "balance_after", "campaign")
    } == {
        "kind": "collected",
        "amount": "7.00",
        "currency": "TWD",
        "balance_after": "7.00",
        "campaign": "Rope week",
    }
    assert entry["campaign_id"] == str(second.id)
    assert [
        (row["campaign_id"], row["amount"])
        for row in _csv_rows(whole.get_data(as_text=True))
    ] == [(str(first.id), "5.00"), (str(second.id), "7.00")]


# --- who may do what ------------------------------------------------------------


def test_an_agent_reads_but_cannot_change(client: FlaskClient, shop: Shop) -> None:
    # given
    campaign = a_campaign(shop)
    member(shop, AGENT_EMAIL, role="agent")
    csrf = sign_in(client, shop, AGENT_EMAIL)
    headers = {"X-CSRF-Token": csrf}
    path = f"{CAMPAIGNS}/{campaign.id}"
    before = _stored(shop)

    # when
    reads = [
        client.get(CAMPAIGNS, base_url=HTTPS),
        client.get(path, base_url=HTTPS),
        client.get(f"{path}/results", base_url=HTTPS),
        client.get(f"{path}/ledger.csv", base_url=HTTPS, buffered=True),
        client.get(LEDGER, base_url=HTTPS, buffered=True),
    ]
    changes = [
        client.post(CAMPAIGNS, base_url=HTTPS, headers=headers, json=BODY),
        client.put(path, base_url=HTTPS, headers=headers, json={"name": "Mine"}),
        client.post(f"{path}/pause", base_url=HTTPS, headers=headers),
        client.post(f"{path}/resume", base_url=HTTPS, headers=headers),
    ]

    # then
    assert [response.status_code for response in reads] == [200] * 5
    assert [response.status_code for response in changes] == [403] * 4
    assert {response.json["code"] for response in changes} == {"owner_only"}
    assert _stored(shop) == before


def test_an_owner_without_the_csrf_token_changes_nothing(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    campaign = a_campaign(shop)
    member(shop)
    sign_in(client, shop)

    # when
    created = client.post(CAMPAIGNS, base_url=HTTPS, json=BODY)
    paused = client.post(f"{CAMPAIGNS}/{campaign.id}/pause", base_url=HTTPS)

    # then
    assert (created.status_code, paused.status_code) == (403, 403)
    assert created.json["code"] == paused.json["code"] == "csrf_failed"
    assert [c["paused"] for c in _stored(shop)] == [False]


def test_no_session_reads_nothing(client: FlaskClient, shop: Shop) -> None:
    # given
    a_campaign(shop)

    # when
    response = client.get(CAMPAIGNS, base_url=HTTPS)

    # then
    assert response.status_code == 401
    assert response.json["code"] == "not_signed_in"


def test_another_shops_campaign_is_not_found(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given the other shop's campaign, collected once
    other = install_paying_shop(client, platform, OTHER_SHOP_DOMAIN)
    theirs = a_campaign(other, name="Theirs", min_seconds=0)
    _collected(client, other, 1, url=f"https://{OTHER_SHOP_DOMAIN}/products/chew-toy")
    headers = bearer(platform, shop)
    path = f"{CAMPAIGNS}/{theirs.id}"

    # when
    answers = [
        client.get(path, headers=headers),
        client.put(path, headers=headers, json={"name": "Mine now"}),
        client.post(f"{path}/pause", headers=headers),
        client.post(f"{path}/resume", headers=headers),
        client.get(f"{path}/results", headers=headers),
        client.get(f"{path}/ledger.csv", headers=headers),
    ]
    listed = client.get(CAMPAIGNS, headers=headers)
    ledger = client.get(LEDGER, headers=headers, buffered=True)

    # then
    assert [answer.status_code for answer in answers] == [404] * 6
    assert {answer.json["code"] for answer in answers} == {"not_found"}
    assert listed.json["campaigns"] == []
    assert ledger.get_data(as_text=True).splitlines() == [",".join(LEDGER_COLUMNS)]
    db.session.expire_all()
    stored = get_campaign(other, theirs.id)
    assert (stored.name, stored.paused) == ("Theirs", False)


# --- the screen -----------------------------------------------------------------


def test_the_screen_lists_campaigns_and_shows_the_selected_ones_results(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    older = a_campaign(shop, name="Spring", min_seconds=0)
    _collected(client, shop, 1, url=PRODUCT_URL)
    newer = a_campaign(shop, name="Summer", paused=True)
    member(shop)
    sign_in(client, shop)

    # when
    default = client.get("/admin/game", base_url=HTTPS).get_data(as_text=True)
    chosen = client.get(f"/admin/game?campaign={older.id}", base_url=HTTPS)
    blank = client.get("/admin/game?new=1", base_url=HTTPS).get_data(as_text=True)

    # then the newest is selected unless another is asked for
    page = chosen.get_data(as_text=True)
    assert chosen.status_code == 200
    assert f'data-path="/api/admin/v1/game/campaigns/{newer.id}"' in default
    assert "Results of Summer" in default
    assert "Results of Spring" in page
    assert f'href="/api/admin/v1/game/campaigns/{older.id}/ledger.csv"' in page
    assert '<strong data-figure="collected">5.00</strong>' in page
    assert page.count("<svg") == 2
    assert '<span class="state paused" data-state>Paused</span>' in page
    assert '<span class="state live" data-state>Live</span>' in page
    assert 'data-path="/api/admin/v1/game/campaigns"' in blank
    assert "Results of" not in blank


def test_the_screen_of_another_shops_campaign_is_not_found(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop
) -> None:
    # given
    other = install_paying_shop(client, platform, OTHER_SHOP_DOMAIN)
    theirs = a_campaign(other, name="Theirs")
    member(shop)
    sign_in(client, shop)

    # when
    response = client.get(f"/admin/game?campaign={theirs.id}", base_url=HTTPS)

    # then
    assert response.status_code == 404
    assert "Theirs" not in response.get_data(as_text=True)


def test_an_agent_sees_the_form_but_cannot_use_it(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    a_campaign(shop)
    member(shop, AGENT_EMAIL, role="agent")
    sign_in(client, shop, AGENT_EMAIL)

    # when
    page = client.get("/admin/game", base_url=HTTPS).get_data(as_text=True)

    # then
    assert '<fieldset class="plain" disabled>' in page
    assert "Only the shop's owners can change campaigns." in page
    assert "data-pause" not in page
    assert 'id="new-campaign"' not in page


def test_campaign_state_by_the_games_clock(
    monkeypatch: pytest.MonkeyPatch,
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
) -> None:
    # given a campaign for December, read before, during and after it
    a_campaign(shop, starts_at=START, ends_at=END)
    states = []

    # when
    for moment in (START - timedelta(seconds=1), START, END):
        monkeypatch.setattr(game_clock, "now", lambda moment=moment: moment)
        listed = client.get(CAMPAIGNS, headers=bearer(platform, shop)).json
        states.append(listed["campaigns"][0]["state"])

    # then
    assert states == ["scheduled", "live", "ended"]


def test_the_form_keeps_labels_in_languages_it_does_not_edit(
    client: FlaskClient, shop: Shop
) -> None:
    # given a label in Japanese, set through the API
    a_campaign(
        shop, look={"icon": "coin", "color": "#b45309", "texts": {"ja": "ボーナス"}}
    )
    member(shop)
    sign_in(client, shop)

    # when
    page = client.get("/admin/game", base_url=HTTPS).get_data(as_text=True)

    # then it goes back with the form's next save
    assert '<input type="hidden" name="look.texts.ja" value="ボーナス">' in page
