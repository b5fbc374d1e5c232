"""Collecting: the page answer's collectible, the credit, and every refusal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from engine.db import db
from engine.game import clock as game_clock
from engine.game import pause_campaign, targets, update_campaign
from engine.game.campaigns import active_targets
from engine.game.models import (
    GameCampaign,
    GameCollect,
    GameLedgerEntry,
    GameParticipant,
)
from engine.game.tokens import SALT, issue_collect_token
from engine.shops.models import Shop
from engine.visitors.models import Visitor
from tests.game import (
    OTHER_PRODUCT_URL,
    SECRET_KEY,
    Clock,
    a_campaign,
    collect,
    game_post,
    report_seen,
    view_page,
    wallet_of,
)
from tests.widget_api import drain


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def nothing_collected() -> None:
    db.session.expire_all()
    assert count(GameCollect) == 0
    assert count(GameLedgerEntry) == 0
    assert db.session.scalar(select(func.sum(GameCampaign.spent))) in (
        None,
        Decimal("0.00"),
    )


def test_page_answer_offers_the_collectible_of_a_target_page(
    client: FlaskClient, shop: Shop
) -> None:
    # given a campaign on the chew toy's page
    campaign = a_campaign(shop, look={"icon": "gift", "color": "#0F766E"})

    # when a shopper opens that page, and another one
    target = view_page(client, shop)
    other = view_page(client, shop, url=OTHER_PRODUCT_URL)

    # then the first answer carries the collectible, the second none
    collectible = target["collectible"]
    assert {key: collectible[key] for key in collectible if key != "token"} == {
        "campaign_id": campaign.id,
        "amount": "5.00",
        "currency": "TWD",
        "wait_seconds": 10,
        "look": {"icon": "gift", "color": "#0f766e", "label": None},
    }
    assert other["collectible"] is None
    assert target["features"]["game"] is True


def test_collection_and_url_targets_match_their_pages(
    client: FlaskClient, shop: Shop
) -> None:
    # given targets on the cats collection and on any /pages/ page
    a_campaign(
        shop,
        targets=[
            {"kind": "collection", "value": "cats", "reward": "3"},
            {"kind": "url", "value": "/pages/*", "reward": "2"},
        ],
    )

    # when a shopper opens those pages and a product listed in the collection
    def amount(url: str) -> str | None:
        answer = view_page(client, shop, url=url)
        return answer["collectible"] and answer["collectible"]["amount"]

    # then each page offers its own reward, the product none
    assert amount("https://revisit-test.myshopify.com/zh-tw/collections/cats") == (
        "3.00"
    )
    assert amount("https://revisit-test.myshopify.com/pages/about-us") == "2.00"
    assert amount("https://revisit-test.myshopify.com/collections/dogs") is None


def test_collect_after_the_minimum_time_credits_the_wallet(
    app: Flask, client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    # given a shopper who opened a target page 10 s ago (not drained yet)
    campaign = a_campaign(shop)
    answer = view_page(client, shop)
    clock.advance(10)

    # when they tap the collectible
    response = collect(client, shop, answer)

    # then NT$5 is in their wallet, expiring in 30 days, and the budget is spent
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["collected"]["amount"] == "5.00"
    assert body["wallet"]["balance"] == "5.00"
    [entry] = db.session.scalars(select(GameLedgerEntry)).all()
    assert (entry.kind, entry.amount, entry.campaign_id) == (
        "collected",
        Decimal("5.00"),
        campaign.id,
    )
    assert entry.expires_at - entry.created_at == timedelta(days=30)
    db.session.refresh(campaign)
    assert campaign.spent == Decimal("5.00")

    # and the drain, arriving later, finds the same visitor
    drain(app)
    [visitor] = db.session.scalars(select(Visitor)).all()
    [collected] = db.session.scalars(select(GameCollect)).all()
    assert collected.visitor_id == visitor.id
    assert visitor.page_views == 1


def test_collect_too_soon_is_refused_with_the_time_left(
    client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    # given a page opened 4 s ago on a 10 s campaign
    a_campaign(shop)
    answer = view_page(client, shop)
    clock.advance(4)

    # when the shopper (or a script) taps at once
    response = collect(client, shop, answer)

    # then it is refused by the server's clock, saying when to come back
    assert response.status_code == 409
    assert response.get_json()["code"] == "too_soon"
    assert response.headers["Retry-After"] == "6"
    nothing_collected()

    # and the same token works once the time has passed
    clock.advance(6)
    assert collect(client, shop, answer).status_code == 200


def test_collect_refused_when_the_campaign_is_not_live(
    client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    # given a collectible shown, then the campaign paused
    campaign = a_campaign(shop)
    answer = view_page(client, shop)
    pause_campaign(shop, campaign.id)
    clock.advance(10)

    # when the shopper taps it
    response = collect(client, shop, answer)

    # then nothing is credited, and pages offer no collectible any more
    assert response.status_code == 409
    assert response.get_json()["code"] == "campaign_not_live"
    nothing_collected()
    assert view_page(client, shop)["collectible"] is None


def test_collect_refused_after_the_campaign_ended(
    client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    # given a campaign that ends in 5 s
    campaign = a_campaign(shop, min_seconds=0)
    update_campaign(shop, campaign.id, ends_at=clock.now() + timedelta(seconds=5))
    answer = view_page(client, shop)

    # when the shopper taps after the end
    clock.advance(6)
    response = collect(client, shop, answer)

    # then
    assert response.get_json()["code"] == "campaign_not_live"
    nothing_collected()


def test_collect_refused_when_already_collected(
    client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    # given a visitor who collected the page's reward
    a_campaign(shop, min_seconds=0)
    first = view_page(client, shop)
    assert collect(client, shop, first).status_code == 200

    # when they view the page again and tap the new token
    again = view_page(client, shop, token=first["visitor_token"])
    response = collect(client, shop, first, token=another_token(shop, first))

    # then the page offers nothing, and a tap is refused; one credit stays
    assert again["collectible"] is None
    assert response.status_code == 409
    assert response.get_json()["code"] == "already_collected"
    assert count(GameCollect) == 1
    assert wallet_of(client, shop, first["visitor_token"])["balance"] == "5.00"


def another_token(shop: Shop, answer: dict, target_id: int | None = None) -> str:
    """A genuine token for the same visitor, as a new page view would bring,
    for the same target or another."""
    ticket = URLSafeSerializer(SECRET_KEY, salt=SALT).loads(
        answer["collectible"]["token"]
    )
    return issue_collect_token(
        SECRET_KEY,
        shop.id,
        ticket["v"],
        ticket["c"],
        target_id or ticket["t"],
        "another-page-view-01",
        game_clock.now(),
    )


def test_collect_refused_when_the_token_is_reused(
    client: FlaskClient, shop: Shop
) -> None:
    # given a token already used
    a_campaign(shop, min_seconds=0)
    answer = view_page(client, shop)
    assert collect(client, shop, answer).status_code == 200

    # when it is sent again
    response = collect(client, shop, answer)

    # then
    assert response.status_code == 409
    assert response.get_json()["code"] == "token_used"
    assert count(GameCollect) == 1


def test_collect_refused_with_a_forged_token(client: FlaskClient, shop: Shop) -> None:
    # given a genuine token, and versions of it no one issued
    a_campaign(shop, min_seconds=0)
    answer = view_page(client, shop)
    genuine = answer["collectible"]["token"]
    payload, signature = genuine.rsplit(".", 1)
    forgeries = [
        payload + "." + signature[::-1],
        URLSafeSerializer("not-our-secret", salt=SALT).dumps(
            URLSafeSerializer(SECRET_KEY, salt=SALT).loads(genuine)
        ),
        "not-a-token",
        payload + ".\udfff",
    ]

    # when each is sent
    responses = [collect(client, shop, answer, token=forged) for forged in forgeries]

    # then each is refused, and nothing is credited
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert {r.get_json()["code"] for r in responses} == {"invalid_collect_token"}
    nothing_collected()


def test_collect_refused_with_another_visitors_token(
    client: FlaskClient, shop: Shop
) -> None:
    # given two visitors on the page
    a_campaign(shop, min_seconds=0)
    mine, theirs = view_page(client, shop), view_page(client, shop)

    # when one sends the other's collect token
    response = collect(client, shop, mine, token=theirs["collectible"]["token"])

    # then
    assert response.status_code == 403
    nothing_collected()


def test_collect_refused_at_the_per_visitor_cap(
    client: FlaskClient, shop: Shop
) -> None:
    # given a NT$8 cap, and two NT$5 pages
    campaign = a_campaign(
        shop,
        min_seconds=0,
        cap_per_visitor="8",
        targets=[
            {"kind": "product", "value": "chew-toy", "reward": "5"},
            {"kind": "product", "value": "rope-tug", "reward": "5"},
        ],
    )
    first = view_page(client, shop)
    assert collect(client, shop, first).status_code == 200

    # when the visitor collects on the second page
    [_, rope] = active_targets(campaign)
    token = first["visitor_token"]
    second = view_page(client, shop, token=token, url=OTHER_PRODUCT_URL)
    response = collect(
        client, shop, first, token=another_token(shop, first, target_id=rope.id)
    )

    # then the page offers nothing and the tap is refused: the cap holds
    assert second["collectible"] is None
    assert response.status_code == 409
    assert response.get_json()["code"] == "cap_reached"
    assert wallet_of(client, shop, token)["balance"] == "5.00"
    participant = db.session.scalars(select(GameParticipant)).one()
    assert participant.collected == Decimal("5.00")


def test_collect_refused_when_the_budget_is_spent(
    client: FlaskClient, shop: Shop
) -> None:
    # given a NT$5 budget already collected by one visitor
    campaign = a_campaign(shop, min_seconds=0, budget="5")
    first, second = view_page(client, shop), view_page(client, shop)
    assert collect(client, shop, first).status_code == 200

    # when a second visitor taps their collectible
    response = collect(client, shop, second)

    # then it is refused and the budget is not overspent
    assert response.status_code == 409
    assert response.get_json()["code"] == "budget_spent"
    db.session.refresh(campaign)
    assert campaign.spent == Decimal("5.00")
    assert count(GameCollect) == 1
    # and a spent campaign offers no more collectibles (once the memo of
    # live campaigns, a few seconds old at most, is read again)
    targets.forget_all()
    assert view_page(client, shop)["collectible"] is None


def test_collect_refused_for_another_shops_campaign(
    client: FlaskClient, shop: Shop, other_shop: Shop
) -> None:
    # given a campaign of the first shop, and a visitor of the second
    campaign = a_campaign(shop, min_seconds=0)
    answer = view_page(client, shop)
    other_visitor = view_page(client, other_shop)["visitor_token"]
    public_id = URLSafeSerializer(SECRET_KEY, salt="revisit.visitor.v1").loads(
        other_visitor
    )["v"]

    # when the second shop's widget sends the first shop's token, or a token
    # the server signed for the second shop that names the first's campaign
    foreign = game_post(
        client,
        other_shop,
        "collect",
        {
            "visitor_token": other_visitor,
            "collect_token": answer["collectible"]["token"],
        },
    )
    crossed = issue_collect_token(
        SECRET_KEY,
        other_shop.id,
        public_id,
        campaign.id,
        1,
        "pv-000003",
        game_clock.now(),
    )
    named = game_post(
        client,
        other_shop,
        "collect",
        {"visitor_token": other_visitor, "collect_token": crossed},
    )

    # then neither credits anything
    assert foreign.status_code == 403
    assert named.status_code == 404
    assert named.get_json()["code"] == "campaign_not_found"
    nothing_collected()


def test_collect_refused_once_the_token_is_too_old(
    client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    # given a collectible shown 13 hours ago
    a_campaign(shop)
    answer = view_page(client, shop)
    clock.advance(13 * 3600)

    # when tapped
    response = collect(client, shop, answer)

    # then
    assert response.get_json()["code"] == "token_expired"
    nothing_collected()


def test_collect_refused_for_a_removed_target(client: FlaskClient, shop: Shop) -> None:
    # given a collectible shown, then its page taken out of the campaign
    campaign = a_campaign(
        shop,
        min_seconds=0,
        targets=[
            {"kind": "product", "value": "chew-toy", "reward": "5"},
            {"kind": "product", "value": "rope-tug", "reward": "5"},
        ],
    )
    answer = view_page(client, shop)
    update_campaign(
        shop,
        campaign.id,
        targets=[{"kind": "product", "value": "rope-tug", "reward": "5"}],
    )

    # when tapped
    response = collect(client, shop, answer)

    # then
    assert response.get_json()["code"] == "target_removed"
    nothing_collected()


def test_seen_counts_each_visitor_once_per_campaign(
    client: FlaskClient, shop: Shop
) -> None:
    # given a collectible shown twice to one visitor, once to another
    a_campaign(shop)
    first = view_page(client, shop)
    again = view_page(client, shop, token=first["visitor_token"])
    other = view_page(client, shop)

    # when the widget reports each sighting
    for answer in (first, again, other):
        report_seen(client, shop, answer)

    # then two visitors saw it
    rows = db.session.scalars(select(GameParticipant)).all()
    assert len(rows) == 2
    assert all(row.seen_at is not None for row in rows)


def test_game_requests_need_a_valid_visitor_token(
    client: FlaskClient, shop: Shop
) -> None:
    # given a collectible
    a_campaign(shop, min_seconds=0)
    answer = view_page(client, shop)

    # when the visitor token is not ours, or a field is missing
    bad_visitor = game_post(
        client,
        shop,
        "collect",
        {"visitor_token": "forged", "collect_token": answer["collectible"]["token"]},
    )
    missing = game_post(client, shop, "collect", {"visitor_token": "x"})

    # then each is refused, naming the problem
    assert bad_visitor.status_code == 401
    assert bad_visitor.get_json()["code"] == "invalid_visitor_token"
    assert missing.status_code == 400
    assert missing.get_json()["detail"] == (
        "collect_token: Missing data for required field."
    )
    nothing_collected()
