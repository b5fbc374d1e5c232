"""The game's part of the platform's privacy requests."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.db import db
from engine.game.models import (
    GameAttribution,
    GameCampaign,
    GameCollect,
    GameLedgerEntry,
    GameParticipant,
    GameRedemption,
    GameTarget,
    GameWallet,
)
from engine.privacy.models import DataExport
from engine.shops.models import Shop
from engine.visitors.models import Visitor
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import run_jobs
from tests.game import (
    CUSTOMER_ID,
    a_campaign,
    becomes_customer,
    collect,
    game_post,
    view_page,
)
from tests.webhooks import post_webhook, sample_payload

GAME_MODELS = (
    GameAttribution,
    GameCampaign,
    GameCollect,
    GameLedgerEntry,
    GameParticipant,
    GameRedemption,
    GameTarget,
    GameWallet,
)


def customer_with_a_redemption(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    """The sample payloads' customer, who collected NT$5 and redeemed it."""
    platform.add_customer(shop.shop_domain, CUSTOMER_ID)
    a_campaign(shop, min_seconds=0)
    answer = view_page(client, shop)
    assert collect(client, shop, answer).status_code == 200
    becomes_customer(shop, answer["visitor_token"], CUSTOMER_ID)
    game_post(client, shop, "redeem", {"visitor_token": answer["visitor_token"]})
    run_jobs(app)


def deliver(app: Flask, client: FlaskClient, platform, topic: str) -> None:  # noqa: ANN001
    response = post_webhook(client, platform, topic, sample_payload(topic))
    assert response.status_code == 200
    run_jobs(app)
    db.session.expire_all()


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_data_request_exports_the_customers_wallet(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given the customer's wallet, NT$5 collected and turned into store credit
    customer_with_a_redemption(app, client, shop, platform)

    # when the platform asks for their data
    deliver(app, client, platform, "customers/data_request")

    # then the export lists the wallet and its entries
    export = db.session.scalars(select(DataExport)).one()
    [wallet] = export.document["bonus_wallets"]
    assert (wallet["balance"], wallet["currency"]) == ("0.00", "TWD")
    assert [(e["kind"], e["amount"]) for e in wallet["entries"]] == [
        ("transferred_in", "5.00"),
        ("redeemed", "-5.00"),
    ]


def test_customers_redact_unlinks_the_wallet_and_keeps_the_ledger(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given the customer's wallet and redemption
    customer_with_a_redemption(app, client, shop, platform)
    entries = count(GameLedgerEntry)

    # when the platform asks to erase them
    deliver(app, client, platform, "customers/redact")

    # then nothing names them, and the money's history stays for the figures
    wallets = db.session.scalars(select(GameWallet)).all()
    assert all(wallet.customer_id is None for wallet in wallets)
    assert all(not wallet.owner_key.startswith("customer:") for wallet in wallets)
    assert db.session.scalars(select(GameRedemption.customer_id)).all() == [None]
    assert count(GameLedgerEntry) == entries
    assert count(Visitor) == 0


def test_shop_redact_erases_every_row_of_the_game(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a shop with campaigns, collects, wallets and a redemption
    customer_with_a_redemption(app, client, shop, platform)
    assert all(count(model) for model in GAME_MODELS if model is not GameAttribution)

    # when the platform asks to erase the shop
    deliver(app, client, platform, "shop/redact")

    # then none of its game rows is left
    assert [count(model) for model in GAME_MODELS] == [0] * len(GAME_MODELS)
