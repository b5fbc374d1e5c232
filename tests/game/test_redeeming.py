"""Redeeming against the fake Admin API: store credit, codes, failures, release."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.db import db
from engine.game.models import GameAttribution, GameLedgerEntry, GameRedemption
from engine.game.redeeming import issue_redemption
from engine.game.sweep import sweep_game
from engine.shopify import admin_api
from engine.shopify.errors import AdminApiError
from engine.shopify.rewards import CREATE_DISCOUNT_CODE, CREDIT_STORE_CREDIT
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import OTHER_SHOP_DOMAIN, run_jobs
from tests.game import (
    CUSTOMER_ID,
    GAME_SCOPES,
    Clock,
    a_campaign,
    assert_ledger_explains_balances,
    becomes_customer,
    collect,
    deliver,
    game_post,
    install_paying_shop,
    order_payload,
    the_redemption,
    view_page,
    wallet_of,
)

NO_STORE_CREDIT = "read_customers,read_orders,read_products,write_discounts"
READ_ONLY = "read_customers,read_orders,read_products"


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries of the Admin API client without their waits."""
    monkeypatch.setattr(admin_api, "_backoff", lambda attempt: 0.0)


def collected_five(
    client: FlaskClient, shop: Shop, customer_id: int | None = None
) -> str:
    """A visitor who collected NT$5 (as a known customer, if given)."""
    a_campaign(shop, min_seconds=0)
    answer = view_page(client, shop)
    assert collect(client, shop, answer).status_code == 200
    if customer_id is not None:
        becomes_customer(shop, answer["visitor_token"], customer_id)
    return answer["visitor_token"]


def redeem(client: FlaskClient, shop: Shop, token: str) -> dict[str, Any]:
    response = game_post(client, shop, "redeem", {"visitor_token": token})
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def kinds(shop: Shop) -> list[tuple[str, str]]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(GameLedgerEntry)
        .where(GameLedgerEntry.shop_id == shop.id)
        .order_by(GameLedgerEntry.id)
    )
    return [(row.kind, str(row.amount)) for row in rows]


def test_anonymous_shopper_gets_a_single_use_code_for_anyone(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a visitor with NT$5
    token = collected_five(client, shop)

    # when they redeem, and the worker runs the payout
    answer = redeem(client, shop, token)
    run_jobs(app)

    # then the balance became a NT$5 code, usable once by anyone until the
    # credit's expiry, and the wallet shows it
    assert answer["redemption"]["status"] == "pending"
    assert answer["wallet"]["balance"] == "0.00"
    redemption = the_redemption()
    [discount] = platform.discounts(shop.shop_domain)
    assert (discount.code, discount.amount, discount.usage_limit) == (
        redemption.code,
        Decimal("5.00"),
        1,
    )
    assert discount.customer_ids is None
    assert discount.ends_at == redemption.expires_at
    shown = wallet_of(client, shop, token)["redemption"]
    assert (shown["status"], shown["code"], shown["method"]) == (
        "issued",
        redemption.code,
        "discount_code",
    )
    assert kinds(shop) == [("collected", "5.00"), ("redeemed", "-5.00")]
    assert_ledger_explains_balances(shop)


def test_known_customer_gets_store_credit_with_its_expiry(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a signed-in customer with NT$5
    platform.add_customer(shop.shop_domain, CUSTOMER_ID)
    token = collected_five(client, shop, customer_id=CUSTOMER_ID)

    # when they redeem
    redeem(client, shop, token)
    run_jobs(app)

    # then their store credit account holds NT$5, expiring with the credit
    redemption = the_redemption()
    assert (redemption.method, redemption.status) == ("store_credit", "issued")
    assert platform.store_credit_balance(shop.shop_domain, CUSTOMER_ID) == Decimal(
        "5.00"
    )
    [account] = platform.find_shop(shop.shop_domain).rewards.accounts.values()
    [transaction] = account.transactions
    assert transaction.expires_at == redemption.expires_at
    assert redemption.transaction_id == (
        f"gid://shopify/StoreCreditAccountCreditTransaction/{transaction.numeric_id}"
    )
    assert platform.discounts(shop.shop_domain) == []
    assert wallet_of(client, shop, token)["redemption"]["method"] == "store_credit"
    assert_ledger_explains_balances(shop)


def test_customer_gets_a_code_of_their_own_without_store_credit_access(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given a shop that did not grant store credit, and a known customer
    shop = install_paying_shop(client, platform, OTHER_SHOP_DOMAIN, NO_STORE_CREDIT)
    platform.add_customer(shop.shop_domain, CUSTOMER_ID)
    token = collected_five(client, shop, customer_id=CUSTOMER_ID)

    # when they redeem
    redeem(client, shop, token)
    run_jobs(app)

    # then the code is restricted to that customer
    [discount] = platform.discounts(shop.shop_domain)
    assert discount.customer_ids == frozenset({CUSTOMER_ID})
    assert the_redemption().status == "issued"


def test_store_that_turns_store_credit_down_gets_a_code_instead(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a store whose store credit is not in the shop's currency
    platform.find_shop(shop.shop_domain).currency = "USD"
    platform.add_customer(shop.shop_domain, CUSTOMER_ID)
    token = collected_five(client, shop, customer_id=CUSTOMER_ID)

    # when the customer redeems
    redeem(client, shop, token)
    run_jobs(app)

    # then the platform's UNSUPPORTED_CURRENCY led to a code for them
    redemption = the_redemption()
    assert (redemption.method, redemption.status) == ("discount_code", "issued")
    [discount] = platform.discounts(shop.shop_domain)
    assert discount.customer_ids == frozenset({CUSTOMER_ID})
    assert platform.store_credit_balance(shop.shop_domain, CUSTOMER_ID) == 0


def test_refused_store_credit_leaves_the_balance_intact(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a customer the platform does not know (OWNER_NOT_FOUND)
    token = collected_five(client, shop, customer_id=CUSTOMER_ID)

    # when they redeem
    redeem(client, shop, token)
    run_jobs(app)

    # then the redemption failed and the NT$5 is back in the wallet
    redemption = the_redemption()
    assert redemption.status == "failed"
    assert "Owner does not exist" in redemption.error
    wallet = wallet_of(client, shop, token)
    assert (wallet["balance"], wallet["redemption"]["status"]) == ("5.00", "failed")
    # (the visitor's wallet was first folded into the customer's)
    assert kinds(shop) == [
        ("collected", "5.00"),
        ("transferred_out", "-5.00"),
        ("transferred_in", "5.00"),
        ("redeemed", "-5.00"),
        ("released", "5.00"),
    ]
    assert_ledger_explains_balances(shop)


def test_refused_code_leaves_the_balance_intact(
    app: Flask, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given a shop that never granted write_discounts
    shop = install_paying_shop(client, platform, OTHER_SHOP_DOMAIN, READ_ONLY)
    token = collected_five(client, shop)

    # when the visitor redeems
    redeem(client, shop, token)
    run_jobs(app)

    # then the platform's ACCESS_DENIED ends it at once, balance intact
    redemption = the_redemption()
    assert (redemption.status, redemption.attempts) == ("failed", 1)
    assert "write_discounts" in redemption.error
    assert wallet_of(client, shop, token)["balance"] == "5.00"
    assert platform.discounts(shop.shop_domain) == []
    assert_ledger_explains_balances(shop)


def test_outage_is_retried_and_then_the_code_is_issued(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    platform: FakeShopifyPlatform,
    no_backoff: None,
) -> None:
    # given a redemption while the platform answers 503 to every try
    token = collected_five(client, shop)
    redeem(client, shop, token)
    redemption_id = the_redemption().id
    platform.inject_faults("graphql", [503] * admin_api.MAX_ATTEMPTS)

    # when the job runs (RQ would retry it later) and runs again
    with pytest.raises(AdminApiError):
        issue_redemption(redemption_id)
    first = the_redemption()
    held = (first.status, first.attempts, first.attempted_at)
    outcome = issue_redemption(redemption_id)

    # then the first run kept the amount held for the retry, the second issued
    assert held == ("pending", 1, None)
    assert outcome == "issued"
    assert len(platform.discounts(shop.shop_domain)) == 1
    assert wallet_of(client, shop, token)["balance"] == "0.00"


def test_outage_that_outlasts_the_retries_gives_the_balance_back(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    platform: FakeShopifyPlatform,
    no_backoff: None,
) -> None:
    # given a platform that stays down
    token = collected_five(client, shop)
    redeem(client, shop, token)
    redemption_id = the_redemption().id
    platform.inject_faults("graphql", [500] * admin_api.MAX_ATTEMPTS * 4)

    # when every attempt fails
    for _ in range(3):
        with pytest.raises(AdminApiError):
            issue_redemption(redemption_id)
    outcome = issue_redemption(redemption_id)

    # then the fourth gives up, and the wallet has its NT$5 again
    assert outcome == "failed"
    assert the_redemption().attempts == 4
    assert wallet_of(client, shop, token)["balance"] == "5.00"
    assert_ledger_explains_balances(shop)


def test_code_made_before_a_lost_answer_is_found_not_made_twice(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a redemption whose code the platform already made (an answer lost)
    token = collected_five(client, shop)
    redeem(client, shop, token)
    redemption = the_redemption()
    made = platform.run_graphql(
        shop.shop_domain,
        frozenset(GAME_SCOPES.split(",")),
        {
            "query": CREATE_DISCOUNT_CODE,
            "variables": {"basicCodeDiscount": _code_input(redemption)},
        },
    )
    existing_id = made["data"]["discountCodeBasicCreate"]["codeDiscountNode"]["id"]

    # when the job runs
    run_jobs(app)

    # then the platform's TAKEN led to the existing code, not a second one
    assert len(platform.discounts(shop.shop_domain)) == 1
    issued = the_redemption()
    assert (issued.status, issued.discount_id) == ("issued", existing_id)


def _code_input(redemption: GameRedemption) -> dict[str, Any]:
    return {
        "title": f"Revisit bonus 5.00 TWD #{redemption.id}",
        "code": redemption.code,
        "context": {"all": "ALL"},
        "customerGets": {
            "value": {"discountAmount": {"amount": "5.00"}},
            "items": {"all": True},
        },
    }


def test_lost_store_credit_answer_is_checked_and_given_back_if_absent(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    platform: FakeShopifyPlatform,
    clock: Clock,
) -> None:
    # given a customer's store credit call answered by a 502 (may have run)
    platform.add_customer(shop.shop_domain, CUSTOMER_ID)
    token = collected_five(client, shop, customer_id=CUSTOMER_ID)
    redeem(client, shop, token)
    platform.inject_faults("graphql", [502])
    calls = platform.count_calls("graphql")

    # when the job runs
    run_jobs(app)

    # then it is not sent again blindly: the amount stays held, unconfirmed
    assert the_redemption().status == "unconfirmed"
    assert platform.count_calls("graphql") == calls + 1
    assert wallet_of(client, shop, token)["balance"] == "0.00"

    # when the sweep looks at the customer's account two minutes later
    sweep_game()
    run_jobs(app)
    assert the_redemption().status == "unconfirmed"
    clock.advance(121)
    sweep_game()
    run_jobs(app)

    # then no such credit is there: the balance comes back
    assert the_redemption().status == "failed"
    assert wallet_of(client, shop, token)["balance"] == "5.00"
    assert platform.store_credit_balance(shop.shop_domain, CUSTOMER_ID) == 0
    assert_ledger_explains_balances(shop)


def test_lost_store_credit_answer_found_in_the_account_is_issued(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    platform: FakeShopifyPlatform,
    clock: Clock,
) -> None:
    # given an unconfirmed store credit that did reach the account
    platform.add_customer(shop.shop_domain, CUSTOMER_ID)
    token = collected_five(client, shop, customer_id=CUSTOMER_ID)
    redeem(client, shop, token)
    platform.inject_faults("graphql", [502])
    run_jobs(app)
    redemption = the_redemption()
    platform.run_graphql(
        shop.shop_domain,
        frozenset(GAME_SCOPES.split(",")),
        {
            "query": CREDIT_STORE_CREDIT,
            "variables": {
                "id": f"gid://shopify/Customer/{CUSTOMER_ID}",
                "creditInput": {
                    "creditAmount": {"amount": "5.00", "currencyCode": "TWD"},
                    "expiresAt": redemption.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            },
        },
    )

    # when the sweep checks two minutes later
    clock.advance(121)
    sweep_game()
    run_jobs(app)

    # then it is recognized as ours: issued, once, the balance not given back
    issued = the_redemption()
    assert issued.status == "issued"
    assert issued.transaction_id.startswith(
        "gid://shopify/StoreCreditAccountCreditTransaction/"
    )
    assert platform.store_credit_balance(shop.shop_domain, CUSTOMER_ID) == Decimal(
        "5.00"
    )
    assert wallet_of(client, shop, token)["balance"] == "0.00"


def test_nothing_to_redeem_is_refused(client: FlaskClient, shop: Shop) -> None:
    # given a visitor who never collected
    a_campaign(shop)
    token = view_page(client, shop)["visitor_token"]

    # when they press redeem
    response = game_post(client, shop, "redeem", {"visitor_token": token})

    # then
    assert response.status_code == 409
    assert response.get_json()["code"] == "nothing_to_redeem"
    assert db.session.scalars(select(GameRedemption)).all() == []


def test_issuing_twice_makes_one_code(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given an issued redemption
    token = collected_five(client, shop)
    redeem(client, shop, token)
    run_jobs(app)

    # when its job runs again (a redelivery, the sweep)
    outcome = issue_redemption(the_redemption().id)

    # then nothing more happens
    assert outcome == "skipped"
    assert len(platform.discounts(shop.shop_domain)) == 1


def test_unused_code_is_given_back_after_it_expires(
    app: Flask, client: FlaskClient, shop: Shop, clock: Clock
) -> None:
    # given an issued code for credit that expires in 1 day
    a_campaign(shop, min_seconds=0, credit_expiry_days=1)
    answer = view_page(client, shop)
    collect(client, shop, answer)
    token = answer["visitor_token"]
    redeem(client, shop, token)
    run_jobs(app)

    # when the sweep runs just after the code expired, and after the grace
    clock.advance(86400 + 60)
    sweep_game()
    held = the_redemption().status
    clock.advance(6 * 3600)
    sweep_game()

    # then the code's amount came back, and, its credit expired, was written off
    assert held == "issued"
    assert the_redemption().status == "released"
    assert kinds(shop) == [
        ("collected", "5.00"),
        ("redeemed", "-5.00"),
        ("released", "5.00"),
        ("expired", "-5.00"),
    ]
    assert wallet_of(client, shop, token)["balance"] == "0.00"
    assert_ledger_explains_balances(shop)


def test_order_with_the_code_spends_it_and_credits_the_campaign(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given an issued code
    token = collected_five(client, shop)
    redeem(client, shop, token)
    run_jobs(app)
    code = the_redemption().code

    # when an order arrives that used it (in lower case, as typed)
    payload = order_payload(
        discount_codes=[
            {"code": code.lower(), "amount": "5.00", "type": "fixed_amount"}
        ]
    )
    deliver(app, client, platform, shop, "orders/create", payload)

    # then the code is used and the order credited to the campaign
    redemption = the_redemption()
    assert redemption.status == "used"
    [credit] = db.session.scalars(select(GameAttribution)).all()
    assert (credit.amount, credit.revenue, credit.redemption_id) == (
        Decimal("5.00"),
        Decimal("1520.00"),
        redemption.id,
    )
    assert wallet_of(client, shop, token)["redemption"]["status"] == "used"


def test_cancelled_order_gives_its_codes_amount_back(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given a code used on an order
    token = collected_five(client, shop)
    redeem(client, shop, token)
    run_jobs(app)
    discount = [{"code": the_redemption().code, "amount": "5.00"}]
    placed = order_payload(discount_codes=discount)
    deliver(app, client, platform, shop, "orders/create", placed)

    # when the order is cancelled
    cancelled = {
        **placed,
        "cancelled_at": placed["created_at"],
        "updated_at": (datetime.now(UTC) + timedelta(minutes=2)).isoformat(),
    }
    deliver(app, client, platform, shop, "orders/cancelled", cancelled)

    # then the NT$5 is back in the wallet and the order no longer counts
    assert the_redemption().status == "released"
    assert db.session.scalars(select(GameAttribution)).all() == []
    assert wallet_of(client, shop, token)["balance"] == "5.00"
    assert_ledger_explains_balances(shop)


def test_order_paid_with_store_credit_uses_the_customers_credit(
    app: Flask, client: FlaskClient, shop: Shop, platform: FakeShopifyPlatform
) -> None:
    # given store credit issued to a customer
    platform.add_customer(shop.shop_domain, CUSTOMER_ID)
    token = collected_five(client, shop, customer_id=CUSTOMER_ID)
    redeem(client, shop, token)
    run_jobs(app)

    # when an order of that customer is paid partly with store credit
    payload = order_payload(
        payment_gateway_names=["shopify_store_credit", "Bank Deposit"]
    )
    payload["customer"]["id"] = CUSTOMER_ID
    deliver(app, client, platform, shop, "orders/create", payload)

    # then that credit is used and the order credited
    assert the_redemption().status == "used"
    [credit] = db.session.scalars(select(GameAttribution)).all()
    assert credit.revenue == Decimal("1520.00")


def test_sweep_picks_up_redemptions_whose_job_was_lost(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    platform: FakeShopifyPlatform,
    clock: Clock,
) -> None:
    # given a redemption whose job vanished (Redis restarted)
    token = collected_five(client, shop)
    redeem(client, shop, token)
    from engine.runtime import current

    current().redis.flushdb()

    # when the sweep runs three minutes later
    clock.advance(180)
    done = sweep_game()
    run_jobs(app)

    # then it was queued again and issued
    assert done["redemptions_requeued"] == 1
    assert the_redemption().status == "issued"


def test_store_credit_attempt_that_died_is_not_sent_again(
    app: Flask,
    client: FlaskClient,
    shop: Shop,
    platform: FakeShopifyPlatform,
    clock: Clock,
) -> None:
    # given a store credit attempt whose worker died mid-call
    platform.add_customer(shop.shop_domain, CUSTOMER_ID)
    token = collected_five(client, shop, customer_id=CUSTOMER_ID)
    redeem(client, shop, token)
    redemption = the_redemption()
    redemption.attempted_at, redemption.attempts = clock.now(), 1
    db.session.commit()
    calls = platform.count_calls("graphql")

    # when the sweep finds it after the lease
    clock.advance(6 * 60)
    sweep_game()

    # then it is marked unconfirmed, to be checked, never re-sent
    assert the_redemption().status == "unconfirmed"
    assert platform.count_calls("graphql") == calls
