"""The fake platform's store credit and discount codes keep Shopify's rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.shopify.rewards import (
    CREATE_DISCOUNT_CODE,
    CREDIT_STORE_CREDIT,
    FIND_DISCOUNT_CODE,
    RECENT_STORE_CREDITS,
)
from plugin.sandbox.shopify_platform import FakeShopifyPlatform

SHOP = "revisit-demo.myshopify.com"
ALL_SCOPES = frozenset(
    {
        "read_customers",
        "read_store_credit_accounts",
        "write_discounts",
        "write_store_credit_account_transactions",
    }
)
CUSTOMER = "gid://shopify/Customer/7012345678901"


@pytest.fixture
def platform() -> FakeShopifyPlatform:
    fake = FakeShopifyPlatform("sandbox-client-id", "sandbox-secret")
    fake.add_shop(SHOP, currency="TWD")
    fake.add_customer(SHOP, 7012345678901, email="mei.chen@example.com")
    return fake


def run(
    platform: FakeShopifyPlatform,
    query: str,
    variables: dict[str, Any],
    scopes: frozenset[str] = ALL_SCOPES,
) -> dict[str, Any]:
    return platform.run_graphql(SHOP, scopes, {"query": query, "variables": variables})


def credit(amount: str = "5.00", **changes: Any) -> dict[str, Any]:
    variables = {
        "id": CUSTOMER,
        "creditInput": {
            "creditAmount": {"amount": amount, "currencyCode": "TWD"},
            "expiresAt": "2030-01-01T00:00:00Z",
        },
    }
    variables.update(changes)
    return variables


def code_input(**changes: Any) -> dict[str, Any]:
    basic = {
        "title": "Bonus",
        "code": "BONUS-ABC",
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": "2030-01-01T00:00:00Z",
        "context": {"all": "ALL"},
        "customerGets": {
            "value": {"discountAmount": {"amount": "5.00"}},
            "items": {"all": True},
        },
        "usageLimit": 1,
    }
    basic.update(changes)
    return {"basicCodeDiscount": basic}


def test_credit_opens_the_account_and_adds_to_it(platform: FakeShopifyPlatform):
    # when a customer is credited twice
    first = run(platform, CREDIT_STORE_CREDIT, credit())
    run(platform, CREDIT_STORE_CREDIT, credit("2.50"))

    # then one account holds both, the first answer showing its transaction
    payload = first["data"]["storeCreditAccountCredit"]
    assert payload["userErrors"] == []
    transaction = payload["storeCreditAccountTransaction"]
    assert transaction["amount"] == {"amount": "5.00", "currencyCode": "TWD"}
    assert transaction["expiresAt"] == "2030-01-01T00:00:00Z"
    assert platform.store_credit_balance(SHOP, 7012345678901) == Decimal("7.50")
    # and a mutation costs 10 plus its objects (payload, transaction, amount,
    # account, the error list)
    assert first["extensions"]["cost"]["requestedQueryCost"] == 15


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        (credit(id="gid://shopify/Customer/1"), "OWNER_NOT_FOUND", ["id"]),
        (
            credit(id="gid://shopify/StoreCreditAccount/9"),
            "ACCOUNT_NOT_FOUND",
            ["id"],
        ),
        (
            credit("0"),
            "NEGATIVE_OR_ZERO_AMOUNT",
            ["creditInput", "creditAmount", "amount"],
        ),
        (
            credit(
                creditInput={
                    "creditAmount": {"amount": "5", "currencyCode": "TWD"},
                    "expiresAt": "2020-01-01T00:00:00Z",
                }
            ),
            "EXPIRES_AT_IN_PAST",
            ["creditInput", "expiresAt"],
        ),
        (
            credit(
                creditInput={"creditAmount": {"amount": "5", "currencyCode": "USD"}}
            ),
            "UNSUPPORTED_CURRENCY",
            ["creditInput", "creditAmount", "currencyCode"],
        ),
    ],
)
def test_credit_refusals_are_user_errors_and_change_nothing(
    platform: FakeShopifyPlatform, variables: dict, code: str, field: list[str]
) -> None:
    # when
    answer = run(platform, CREDIT_STORE_CREDIT, variables)

    # then
    payload = answer["data"]["storeCreditAccountCredit"]
    assert payload["storeCreditAccountTransaction"] is None
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == (code, field)
    assert platform.store_credit_balance(SHOP, 7012345678901) == 0


def test_credit_needs_its_scope(platform: FakeShopifyPlatform) -> None:
    # when the app lacks write_store_credit_account_transactions
    answer = run(platform, CREDIT_STORE_CREDIT, credit(), frozenset({"read_orders"}))

    # then the field is denied, nothing credited
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "ACCESS_DENIED"
    assert platform.store_credit_balance(SHOP, 7012345678901) == 0


def test_recent_credits_are_listed_newest_first(platform: FakeShopifyPlatform):
    # given two credits
    run(platform, CREDIT_STORE_CREDIT, credit("1.00"))
    run(platform, CREDIT_STORE_CREDIT, credit("2.00"))

    # when the customer's accounts are read
    answer = run(platform, RECENT_STORE_CREDITS, {"customerId": CUSTOMER, "first": 25})

    # then
    [account] = answer["data"]["customer"]["storeCreditAccounts"]["nodes"]
    amounts = [t["amount"]["amount"] for t in account["transactions"]["nodes"]]
    assert amounts == ["2.00", "1.00"]


def test_code_is_created_once_and_found_by_code(platform: FakeShopifyPlatform):
    # when a code is created, then created again
    made = run(platform, CREATE_DISCOUNT_CODE, code_input())
    again = run(platform, CREATE_DISCOUNT_CODE, code_input())
    found = run(platform, FIND_DISCOUNT_CODE, {"code": "bonus-abc"})

    # then the second is TAKEN, and the code is found in any case
    node = made["data"]["discountCodeBasicCreate"]["codeDiscountNode"]
    [taken] = again["data"]["discountCodeBasicCreate"]["userErrors"]
    assert (taken["code"], taken["field"]) == ("TAKEN", ["basicCodeDiscount", "code"])
    by_code = found["data"]["codeDiscountNodeByCode"]
    assert by_code["id"] == node["id"]
    assert by_code["codeDiscount"] == {
        "title": "Bonus",
        "endsAt": "2030-01-01T00:00:00Z",
    }
    assert len(platform.discounts(SHOP)) == 1


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"title": ""}, "BLANK", ["basicCodeDiscount", "title"]),
        ({"code": " "}, "BLANK", ["basicCodeDiscount", "code"]),
        ({"code": "X" * 256}, "TOO_LONG", ["basicCodeDiscount", "code"]),
        ({"context": None}, "MISSING_ARGUMENT", ["basicCodeDiscount", "context"]),
        (
            {"endsAt": "2025-01-01T00:00:00Z"},
            "INVALID",
            ["basicCodeDiscount", "endsAt"],
        ),
        (
            {"context": {"customers": {"add": ["gid://shopify/Customer/1"]}}},
            "INVALID",
            ["basicCodeDiscount", "context", "customers", "add"],
        ),
        (
            {
                "customerGets": {
                    "value": {"discountAmount": {"amount": "0"}},
                    "items": {"all": True},
                }
            },
            "GREATER_THAN",
            ["basicCodeDiscount", "customerGets", "value", "discountAmount", "amount"],
        ),
    ],
)
def test_code_refusals_are_user_errors_and_create_nothing(
    platform: FakeShopifyPlatform, changes: dict, code: str, field: list[str]
) -> None:
    # when
    answer = run(platform, CREATE_DISCOUNT_CODE, code_input(**changes))

    # then
    payload = answer["data"]["discountCodeBasicCreate"]
    assert payload["codeDiscountNode"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)]
    assert platform.discounts(SHOP) == []


def test_code_for_one_customer_is_theirs_only(platform: FakeShopifyPlatform):
    # when a code is made for one customer
    run(
        platform,
        CREATE_DISCOUNT_CODE,
        code_input(context={"customers": {"add": [CUSTOMER]}}),
    )

    # then the storefront's anonymous cart may not use it
    discount = platform.find_discount(SHOP, "BONUS-ABC")
    now = platform.current_time()
    assert discount.refusal(now, customer_id=None) == (
        "This discount code isn't available to you."
    )
    assert discount.refusal(now, customer_id=7012345678901) is None


def test_code_needs_write_discounts(platform: FakeShopifyPlatform) -> None:
    answer = run(
        platform, CREATE_DISCOUNT_CODE, code_input(), frozenset({"read_orders"})
    )

    assert answer["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert platform.discounts(SHOP) == []
