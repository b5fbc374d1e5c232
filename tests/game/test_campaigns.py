"""Campaigns through the engine's API: checked fields, edits that keep collects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.db import db
from engine.game import (
    create_campaign,
    get_campaign,
    list_campaigns,
    pause_campaign,
    resume_campaign,
    targets,
    update_campaign,
)
from engine.game.campaigns import active_targets
from engine.game.errors import CampaignNotFound, InvalidCampaignError
from engine.game.models import GameCampaign, GameCollect, GameTarget
from engine.shops.models import Shop
from tests.game import (
    OTHER_PRODUCT_URL,
    a_campaign,
    collect,
    view_page,
    wallet_of,
)

START = datetime(2026, 12, 1, tzinfo=UTC)


def test_create_campaign_stores_its_targets_and_defaults(shop: Shop) -> None:
    # when a campaign is created with the required fields only
    campaign = a_campaign(
        shop,
        starts_at=START,
        targets=[
            {"kind": "product", "value": "chew-toy", "reward": "5"},
            {"kind": "collection", "value": "cats", "reward": 3},
            {"kind": "url", "value": "/pages/*", "reward": "2.50"},
        ],
    )

    # then the defaults fill the rest, in the shop's currency
    assert (campaign.name, campaign.currency, campaign.paused) == (
        "Explore the shop",
        "TWD",
        False,
    )
    assert (campaign.min_seconds, campaign.credit_expiry_days) == (10, 30)
    assert (campaign.cap_per_visitor, campaign.budget, campaign.spent) == (
        Decimal("50.00"),
        Decimal("1000.00"),
        Decimal("0.00"),
    )
    assert campaign.look == {"icon": "coin", "color": "#b45309", "texts": {}}
    assert [(t.kind, t.value, t.reward) for t in active_targets(campaign)] == [
        ("product", "chew-toy", Decimal("5.00")),
        ("collection", "cats", Decimal("3.00")),
        ("url", "/pages/*", Decimal("2.50")),
    ]
    assert list_campaigns(shop) == [campaign]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "  "}, "name"),
        ({"starts_at": datetime(2026, 12, 1)}, "starts_at"),
        ({"ends_at": START - timedelta(days=1), "starts_at": START}, "ends_at"),
        ({"targets": []}, "targets"),
        (
            {"targets": [{"kind": "page", "value": "x", "reward": "5"}]},
            "targets[0].kind",
        ),
        (
            {"targets": [{"kind": "product", "value": "Chew Toy", "reward": "5"}]},
            "targets[0].value",
        ),
        (
            {"targets": [{"kind": "url", "value": "pages", "reward": "5"}]},
            "targets[0].value",
        ),
        (
            {"targets": [{"kind": "product", "value": "x", "reward": 5.5}]},
            "targets[0].reward",
        ),
        (
            {"targets": [{"kind": "product", "value": "x", "reward": "0"}]},
            "targets[0].reward",
        ),
        (
            {"targets": [{"kind": "product", "value": "x", "reward": "60"}]},
            "targets[0].reward",
        ),
        (
            {
                "targets": [
                    {"kind": "product", "value": "x", "reward": "5"},
                    {"kind": "product", "value": "x", "reward": "6"},
                ]
            },
            "targets[1]",
        ),
        ({"min_seconds": -1}, "min_seconds"),
        ({"cap_per_visitor": "abc"}, "cap_per_visitor"),
        ({"budget": "0.001"}, "budget"),
        ({"credit_expiry_days": 0}, "credit_expiry_days"),
        ({"look": {"icon": "rocket"}}, "look.icon"),
        ({"look": {"color": "gold"}}, "look.color"),
        ({"look": {"texts": {"zh-TW": "x" * 61}}}, "look.texts.zh-TW"),
        ({"paused": "no"}, "paused"),
        ({"currency": "NT$"}, "currency"),
        ({"colour": "#000000"}, "colour"),
    ],
)
def test_create_campaign_refuses_a_bad_field_naming_it(
    shop: Shop, fields: dict[str, Any], field: str
) -> None:
    # when
    with pytest.raises(InvalidCampaignError) as refused:
        a_campaign(shop, **fields)

    # then the error names the field, and nothing was stored
    assert refused.value.field == field
    assert f"Campaign field {field!r}" in str(refused.value)
    assert db.session.scalar(select(func.count()).select_from(GameCampaign)) == 0
    assert db.session.scalar(select(func.count()).select_from(GameTarget)) == 0


def test_create_campaign_requires_the_essentials(shop: Shop) -> None:
    with pytest.raises(InvalidCampaignError) as refused:
        create_campaign(shop, name="No targets", starts_at=START)

    assert refused.value.field == "targets"


def test_update_never_takes_back_what_was_collected(
    client: FlaskClient, shop: Shop
) -> None:
    # given a visitor who collected NT$5 on the chew toy's page
    campaign = a_campaign(shop, min_seconds=0)
    answer = view_page(client, shop)
    assert collect(client, shop, answer).status_code == 200
    [chew_toy] = active_targets(campaign)

    # when the merchant swaps that page for another and doubles the reward
    update_campaign(
        shop,
        campaign.id,
        targets=[{"kind": "product", "value": "rope-tug", "reward": "10"}],
    )

    # then the collect and the wallet stand; the old page is marked removed
    db.session.refresh(chew_toy)
    assert chew_toy.removed_at is not None
    assert db.session.scalar(select(func.count()).select_from(GameCollect)) == 1
    assert wallet_of(client, shop, answer["visitor_token"])["balance"] == "5.00"
    [rope] = active_targets(campaign)
    assert (rope.value, rope.reward) == ("rope-tug", Decimal("10.00"))

    # and putting the page back brings back the same target: no second collect
    update_campaign(
        shop,
        campaign.id,
        targets=[
            {"id": rope.id, "reward": "10"},
            {"kind": "product", "value": "chew-toy", "reward": "5"},
        ],
    )
    assert [t.id for t in active_targets(campaign)] == [chew_toy.id, rope.id]
    targets.forget_all()
    assert view_page(client, shop, token=answer["visitor_token"])["collectible"] is None
    other = view_page(
        client, shop, token=answer["visitor_token"], url=OTHER_PRODUCT_URL
    )
    assert other["collectible"]["amount"] == "10.00"


def test_update_refuses_a_budget_below_what_was_collected(
    client: FlaskClient, shop: Shop
) -> None:
    # given NT$5 collected
    campaign = a_campaign(shop, min_seconds=0)
    assert collect(client, shop, view_page(client, shop)).status_code == 200

    # when the merchant cuts the budget to NT$4
    with pytest.raises(InvalidCampaignError) as refused:
        update_campaign(shop, campaign.id, budget="4", cap_per_visitor="4")

    # then it is refused, and nothing changed
    assert refused.value.field == "budget"
    db.session.rollback()
    db.session.refresh(campaign)
    assert (campaign.budget, campaign.cap_per_visitor) == (
        Decimal("1000.00"),
        Decimal("50.00"),
    )


def test_update_refuses_to_change_a_targets_page(shop: Shop) -> None:
    # given a target
    campaign = a_campaign(shop)
    [target] = active_targets(campaign)

    # when an edit names it with another page
    with pytest.raises(InvalidCampaignError) as refused:
        update_campaign(
            shop,
            campaign.id,
            targets=[{"id": target.id, "value": "rope-tug", "reward": "5"}],
        )

    # then
    assert refused.value.field == "targets[0].value"
    db.session.rollback()
    assert [t.value for t in active_targets(campaign)] == ["chew-toy"]


def test_pause_and_resume(client: FlaskClient, shop: Shop) -> None:
    # given a live campaign
    campaign = a_campaign(shop)

    # when paused, then resumed
    pause_campaign(shop, campaign.id)
    paused = view_page(client, shop)
    resume_campaign(shop, campaign.id)
    resumed = view_page(client, shop)

    # then collectibles stop and come back
    assert paused["collectible"] is None
    assert paused["features"]["game"] is False
    assert resumed["collectible"]["campaign_id"] == campaign.id


def test_another_shops_campaign_is_not_found(shop: Shop, other_shop: Shop) -> None:
    # given a campaign of the first shop
    campaign = a_campaign(shop)

    # when the second shop asks for it or edits it
    with pytest.raises(CampaignNotFound):
        get_campaign(other_shop, campaign.id)
    with pytest.raises(CampaignNotFound):
        pause_campaign(other_shop, campaign.id)

    # then it is untouched
    db.session.refresh(campaign)
    assert campaign.paused is False
    assert list_campaigns(other_shop) == []
