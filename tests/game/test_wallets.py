"""Wallets and the ledger: balances explained by entries, expiry, folding, CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from engine.db import db
from engine.game import ledger_csv, merge_visitor_wallets
from engine.game.models import GameLedgerEntry, GameWallet
from engine.game.sweep import sweep_game
from engine.shops.models import Shop
from tests.conftest import run_jobs
from tests.game import (
    OTHER_PRODUCT_URL,
    TWO_PAGES,
    Clock,
    a_campaign,
    assert_ledger_explains_balances,
    collect,
    game_post,
    view_page,
    visitor_of,
    wallet_of,
)


def collected(client: FlaskClient, shop: Shop, token: str | None = None, url=None):
    """A page view and its collect; returns the page answer."""
    answer = view_page(client, shop, token=token, **({"url": url} if url else {}))
    response = collect(client, shop, answer)
    assert response.status_code == 200, response.get_json()
    return answer


def entries(shop: Shop) -> list[tuple[str, Decimal]]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(GameLedgerEntry)
        .where(GameLedgerEntry.shop_id == shop.id)
        .order_by(GameLedgerEntry.id)
    )
    return [(row.kind, row.amount) for row in rows]


def test_credit_expires_and_is_written_off_on_the_next_read(
    client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    # given NT$5 collected today, expiring in 30 days, and NT$7 in 10 days
    a_campaign(shop, min_seconds=0, targets=TWO_PAGES, credit_expiry_days=30)
    token = collected(client, shop)["visitor_token"]
    clock.advance(10 * 86400)
    collected(client, shop, token=token, url=OTHER_PRODUCT_URL)

    # when the wallet is opened 31 days after the first collect
    clock.advance(21 * 86400)
    wallet = wallet_of(client, shop, token)

    # then the first NT$5 expired, the NT$7 is left, and the ledger says so
    assert wallet["balance"] == "7.00"
    assert [lot["amount"] for lot in wallet["expiring"]] == ["7.00"]
    assert entries(shop) == [
        ("collected", Decimal("5.00")),
        ("collected", Decimal("7.00")),
        ("expired", Decimal("-5.00")),
    ]
    assert_ledger_explains_balances(shop)


def test_sweep_expires_credit_in_wallets_nobody_opens(
    app: Flask, client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    # given NT$5 collected, then 31 days without a visit
    a_campaign(shop, min_seconds=0)
    collected(client, shop)
    clock.advance(31 * 86400)

    # when the periodic sweep runs
    done = sweep_game()

    # then the credit is written off
    assert done["wallets_expired"] == 1
    assert entries(shop) == [
        ("collected", Decimal("5.00")),
        ("expired", Decimal("-5.00")),
    ]
    assert_ledger_explains_balances(shop)


def test_visitor_wallet_folds_into_the_customers_across_devices(
    client: FlaskClient, shop: Shop
) -> None:
    # given a shopper who collected on two devices before signing in
    a_campaign(shop, min_seconds=0, targets=TWO_PAGES)
    phone = collected(client, shop)["visitor_token"]
    laptop = collected(client, shop, url=OTHER_PRODUCT_URL)["visitor_token"]

    # when both visitors turn out to be the same customer
    for token in (phone, laptop):
        visitor_of(shop, token).customer_id = "7012345678901"
    db.session.commit()

    # then each device shows the one wallet, holding both rewards
    assert wallet_of(client, shop, phone)["balance"] == "5.00"
    assert wallet_of(client, shop, laptop)["balance"] == "12.00"
    assert wallet_of(client, shop, phone)["balance"] == "12.00"
    owners = db.session.scalars(
        select(GameWallet.owner_key).where(GameWallet.merged_into_id.is_(None))
    ).all()
    assert owners == ["customer:7012345678901"]
    assert_ledger_explains_balances(shop)


def test_merging_two_visitors_moves_lots_with_their_expiry(
    client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    # given two visitors found to be one person (a shared LINE account)
    a_campaign(shop, min_seconds=0, targets=TWO_PAGES)
    old = collected(client, shop)["visitor_token"]
    new = collected(client, shop, url=OTHER_PRODUCT_URL)["visitor_token"]
    source, target = visitor_of(shop, old), visitor_of(shop, new)
    [lot] = db.session.scalars(
        select(GameLedgerEntry).where(GameLedgerEntry.amount == Decimal("5.00"))
    ).all()

    # when the identity work merges them
    merge_visitor_wallets(shop.id, source.id, target.id, clock.now())
    db.session.commit()

    # then the second wallet holds both, the moved lot keeping its expiry
    assert wallet_of(client, shop, new)["balance"] == "12.00"
    assert wallet_of(client, shop, old)["balance"] == "12.00"
    moved = db.session.scalars(
        select(GameLedgerEntry).where(GameLedgerEntry.kind == "transferred_in")
    ).one()
    assert (moved.amount, moved.expires_at, moved.campaign_id) == (
        Decimal("5.00"),
        lot.expires_at,
        lot.campaign_id,
    )
    assert_ledger_explains_balances(shop)


def test_ledger_entries_cannot_be_changed(client: FlaskClient, shop: Shop) -> None:
    # given an entry
    a_campaign(shop, min_seconds=0)
    collected(client, shop)

    # when anything tries to change it
    with pytest.raises(DBAPIError) as refused:
        db.session.execute(update(GameLedgerEntry).values(amount=Decimal("500")))
    db.session.rollback()

    # then the database refuses, and the entry is as written
    assert "append-only" in str(refused.value)
    assert entries(shop) == [("collected", Decimal("5.00"))]


def test_wallet_balance_can_never_go_below_zero(
    client: FlaskClient, shop: Shop
) -> None:
    # given a wallet of NT$5
    a_campaign(shop, min_seconds=0)
    collected(client, shop)

    # when something would take more than it holds
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE game_wallets SET balance = balance - 6"))
    db.session.rollback()

    # then
    assert db.session.scalar(select(GameWallet.balance)) == Decimal("5.00")


def test_ledger_csv_explains_every_balance(
    client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    # given collects, an expiry, and two wallets
    campaign = a_campaign(shop, min_seconds=0, targets=TWO_PAGES)
    first = collected(client, shop)["visitor_token"]
    collected(client, shop, token=first, url=OTHER_PRODUCT_URL)
    collected(client, shop)
    clock.advance(31 * 86400)
    wallet_of(client, shop, first)

    # when the ledger is exported
    rows = list(csv.DictReader(io.StringIO("".join(ledger_csv(shop)))))

    # then each row's balance_after is its wallet's running sum
    assert [(row["kind"], row["amount"], row["balance_after"]) for row in rows] == [
        ("collected", "5.00", "5.00"),
        ("collected", "7.00", "12.00"),
        ("collected", "5.00", "5.00"),
        ("expired", "-5.00", "7.00"),
        ("expired", "-7.00", "0.00"),
    ]
    assert {row["campaign"] for row in rows} == {"Explore the shop"}
    assert {row["campaign_id"] for row in rows} == {str(campaign.id)}
    assert all(row["page_event_id"] for row in rows if row["kind"] == "collected")
    assert all(row["owner"].startswith("visitor:") for row in rows)
    # (the second wallet's NT$5 expires too, on its own next read or sweep)
    assert_ledger_explains_balances(shop)


def test_ledger_csv_of_one_campaign_leaves_the_others_out(
    client: FlaskClient, shop: Shop
) -> None:
    # given collects in two campaigns
    first = a_campaign(shop, min_seconds=0)
    a_campaign(
        shop,
        name="Rope week",
        min_seconds=0,
        targets=[{"kind": "product", "value": "rope-tug", "reward": "7"}],
    )
    token = collected(client, shop)["visitor_token"]
    collected(client, shop, token=token, url=OTHER_PRODUCT_URL)

    # when one campaign's ledger is exported
    rows = list(csv.DictReader(io.StringIO("".join(ledger_csv(shop, first.id)))))

    # then only its entry shows, with the wallet's balance at that point
    assert [(row["campaign"], row["balance_after"]) for row in rows] == [
        ("Explore the shop", "5.00")
    ]


def test_ledger_sums_to_the_balance_through_every_kind_of_movement(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    clock: Clock,
) -> None:
    # given two visitors collecting, their credit expiring, redeemed, refused,
    # given back and folded together: after every step the ledger sums to
    # each wallet's balance
    a_campaign(shop, min_seconds=0, targets=TWO_PAGES, credit_expiry_days=3)
    first = collected(client, shop)["visitor_token"]
    assert_ledger_explains_balances(shop)
    second = collected(client, shop, url=OTHER_PRODUCT_URL)["visitor_token"]
    collected(client, shop, token=second)
    assert_ledger_explains_balances(shop)
    clock.advance(4 * 86400)
    wallet_of(client, shop, second)
    assert_ledger_explains_balances(shop)

    a_campaign(
        shop,
        name="Later",
        min_seconds=0,
        targets=[{"kind": "url", "value": "/pages/*", "reward": "3"}],
    )
    page = "https://revisit-test.myshopify.com/pages/faq"
    collected(client, shop, token=second, url=page)
    game_post(client, shop, "redeem", {"visitor_token": second})
    run_jobs(app)
    assert_ledger_explains_balances(shop)

    collected(client, shop, token=first, url=page)
    # A customer the platform does not know: the store credit is refused.
    visitor_of(shop, first).customer_id = "1"
    db.session.commit()
    game_post(client, shop, "redeem", {"visitor_token": first})
    run_jobs(app)
    assert_ledger_explains_balances(shop)

    merge_visitor_wallets(
        shop.id, visitor_of(shop, second).id, visitor_of(shop, first).id, clock.now()
    )
    db.session.commit()
    assert_ledger_explains_balances(shop)

    # then every kind of entry was written
    assert {kind for kind, _ in entries(shop)} == {
        "collected",
        "expired",
        "redeemed",
        "released",
        "transferred_out",
        "transferred_in",
    }
    assert wallet_of(client, shop, first)["balance"] == "3.00"
