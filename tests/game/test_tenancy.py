"""The game's endpoints act on the widget key's shop only."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.db import db
from engine.game.models import GameParticipant, GameRedemption
from engine.shops.models import Shop
from tests.game import a_campaign, collect, game_post, view_page, wallet_of


def count(model: type, shop: Shop) -> int:
    return db.session.scalar(
        select(func.count()).select_from(model).where(model.shop_id == shop.id)
    )


def visitor_with_five(client: FlaskClient, shop: Shop) -> dict:
    a_campaign(shop, min_seconds=0)
    answer = view_page(client, shop)
    assert collect(client, shop, answer).status_code == 200
    return answer


def test_seen_counts_in_the_widget_keys_shop_only(
    client: FlaskClient, shop: Shop, other_shop: Shop
) -> None:
    # given a collectible of the first shop
    a_campaign(shop)
    answer = view_page(client, shop)

    # when it is reported through the second shop's widget key
    response = game_post(
        client,
        other_shop,
        "seen",
        {
            "visitor_token": answer["visitor_token"],
            "collect_token": answer["collectible"]["token"],
        },
    )

    # then the visitor token does not verify there, and nothing is counted
    assert response.status_code == 401
    assert count(GameParticipant, shop) + count(GameParticipant, other_shop) == 0


def test_collect_credits_the_widget_keys_shop_only(
    client: FlaskClient, shop: Shop, other_shop: Shop
) -> None:
    # given a collectible of the first shop, and a visitor of the second
    a_campaign(shop, min_seconds=0)
    answer = view_page(client, shop)
    theirs = view_page(client, other_shop)["visitor_token"]

    # when it is sent through the second shop, with either visitor's token
    refused = [
        collect(client, other_shop, answer).status_code,
        game_post(
            client,
            other_shop,
            "collect",
            {
                "visitor_token": theirs,
                "collect_token": answer["collectible"]["token"],
            },
        ).status_code,
    ]

    # then neither credits anything anywhere
    assert refused == [401, 403]
    assert wallet_of(client, shop, answer["visitor_token"])["balance"] == "0.00"
    assert wallet_of(client, other_shop, theirs)["balance"] == "0.00"


def test_wallet_shows_the_widget_keys_shop_only(
    client: FlaskClient, shop: Shop, other_shop: Shop
) -> None:
    # given a visitor of the first shop with NT$5
    answer = visitor_with_five(client, shop)

    # when their token asks the second shop for a wallet
    response = game_post(
        client, other_shop, "wallet", {"visitor_token": answer["visitor_token"]}
    )

    # then it is refused; the first shop still shows the NT$5
    assert response.status_code == 401
    assert wallet_of(client, shop, answer["visitor_token"])["balance"] == "5.00"


def test_redeem_spends_the_widget_keys_shop_only(
    client: FlaskClient, shop: Shop, other_shop: Shop
) -> None:
    # given a visitor of the first shop with NT$5
    answer = visitor_with_five(client, shop)

    # when their token asks the second shop to redeem
    response = game_post(
        client, other_shop, "redeem", {"visitor_token": answer["visitor_token"]}
    )

    # then nothing is redeemed in either shop
    assert response.status_code == 401
    assert count(GameRedemption, shop) + count(GameRedemption, other_shop) == 0
    assert wallet_of(client, shop, answer["visitor_token"])["balance"] == "5.00"
