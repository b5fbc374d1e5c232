"""Paying out rewards through the Admin API: store credit and discount codes.

Sources (shopify.dev, GraphQL Admin API 2026-10; CONTRACTS.md A4):
``storeCreditAccountCredit(id, creditInput: {creditAmount: MoneyInput!,
expiresAt})`` takes a customer id and opens the customer's account in that
currency if there is none; it needs ``write_store_credit_account_transactions``
and answers ``storeCreditAccountTransaction`` and ``userErrors{code field
message}``. The platform offers no idempotency key for it, so it is sent
once (``resend=False``); ``find_store_credit`` reads the customer's recent
transactions to learn whether a call whose answer was lost went through.
Store credit is spendable at checkout only by a customer signed in with new
customer accounts.

``discountCodeBasicCreate(basicCodeDiscount: DiscountCodeBasicInput!)``
needs ``write_discounts``; on create ``code``, ``title`` and ``context``
(which buyers may use it: ``{all: ALL}`` or ``{customers: {add: [ids]}}``,
replacing ``customerSelection`` since 2025-10) are required. A code is
unique in its shop, so sending the same code again is safe: the second call
fails with ``TAKEN`` and ``codeDiscountNodeByCode`` shows the first one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.shopify.admin_api import AdminApi
from engine.shopify.errors import AdminApiError, PlatformError
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

STORE_CREDIT_SCOPE = "write_store_credit_account_transactions"
# userErrors that mean the shop cannot hold this store credit at all.
UNAVAILABLE_CODES = {"UNSUPPORTED_CURRENCY"}
RECENT_TRANSACTIONS = 25

CREDIT_STORE_CREDIT = """
mutation CreditBonus($id: ID!, $creditInput: StoreCreditAccountCreditInput!) {
  storeCreditAccountCredit(id: $id, creditInput: $creditInput) {
    storeCreditAccountTransaction {
      id
      expiresAt
      amount { amount currencyCode }
      account { id }
    }
    userErrors { code field message }
  }
}
"""

CREATE_DISCOUNT_CODE = """
mutation CreateBonusCode($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { code field message }
  }
}
"""

FIND_DISCOUNT_CODE = """
query FindBonusCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount {
      ... on DiscountCodeBasic { title endsAt }
    }
  }
}
"""

RECENT_STORE_CREDITS = """
query RecentStoreCredits($customerId: ID!, $first: Int!) {
  customer(id: $customerId) {
    storeCreditAccounts(first: 5) {
      nodes {
        id
        transactions(first: $first, reverse: true) {
          nodes {
            createdAt
            amount { amount currencyCode }
            ... on StoreCreditAccountCreditTransaction { id expiresAt }
          }
        }
      }
    }
  }
}
"""


class RewardRefused(PlatformError):
    """The platform refused the payout (``userErrors``); it did not happen."""

    def __init__(self, message: str, *, shop_domain: str, codes: list[str]) -> None:
        super().__init__(message, shop_domain=shop_domain)
        self.codes = codes


class StoreCreditUnavailable(RewardRefused):
    """The shop cannot take store credit (no access, or not in this currency)."""


def can_grant_store_credit(shop: Shop) -> bool:
    """Whether the merchant granted the scope store credit needs."""
    return STORE_CREDIT_SCOPE in (shop.scopes or "").split(",")


def credit_store_credit(
    shop: Shop,
    customer_id: str,
    amount: Decimal,
    currency: str,
    expires_at: datetime,
) -> str:
    """Add ``amount`` to the customer's store credit; returns the transaction id.

    Raises:
        StoreCreditUnavailable: the shop cannot hold it; nothing happened.
        RewardRefused: the platform said no; nothing happened.
        OutcomeUnknownError: the answer was lost; it may have happened.
        AdminApiError: it failed without running.
    """
    variables = {
        "id": customer_gid(customer_id),
        "creditInput": {
            "creditAmount": {"amount": str(amount), "currencyCode": currency},
            "expiresAt": graphql_time(expires_at),
        },
    }
    try:
        data = AdminApi(shop).query(CREDIT_STORE_CREDIT, variables, resend=False)
    except AdminApiError as exc:
        if _access_denied(exc):
            raise StoreCreditUnavailable(
                "The app may not grant store credit in this shop.",
                shop_domain=shop.shop_domain,
                codes=["ACCESS_DENIED"],
            ) from exc
        raise

    payload = data.get("storeCreditAccountCredit") or {}
    _raise_user_errors(shop, payload, unavailable=UNAVAILABLE_CODES)
    return payload["storeCreditAccountTransaction"]["id"]


def find_store_credit(
    shop: Shop,
    customer_id: str,
    amount: Decimal,
    currency: str,
    expires_at: datetime,
    since: datetime,
    taken: set[str],
) -> str | None:
    """The id of a credit transaction like ours made since ``since``, if any.

    Alike means the same amount, currency and expiry; ``taken`` ids (already
    matched to other redemptions) do not count.
    """
    data = AdminApi(shop).query(
        RECENT_STORE_CREDITS,
        {"customerId": customer_gid(customer_id), "first": RECENT_TRANSACTIONS},
    )
    accounts = ((data.get("customer") or {}).get("storeCreditAccounts") or {}).get(
        "nodes"
    ) or []
    for account in accounts:
        for transaction in account["transactions"]["nodes"]:
            if _is_our_credit(transaction, amount, currency, expires_at, since, taken):
                return transaction["id"]
    return None


def create_discount_code(
    shop: Shop,
    code: str,
    title: str,
    amount: Decimal,
    starts_at: datetime,
    ends_at: datetime,
    customer_id: str | None,
) -> str:
    """Create a single-use amount-off code; returns the code discount's id.

    Safe to call again with the same code and title: a code already made by
    an earlier call whose answer was lost is found and returned.

    Raises:
        RewardRefused: the platform said no; no code exists.
        AdminApiError: it failed after its retries.
    """
    context: dict[str, Any] = (
        {"customers": {"add": [customer_gid(customer_id)]}}
        if customer_id
        else {"all": "ALL"}
    )
    basic = {
        "title": title,
        "code": code,
        "startsAt": graphql_time(starts_at),
        "endsAt": graphql_time(ends_at),
        "context": context,
        "customerGets": {
            "value": {
                "discountAmount": {"amount": str(amount), "appliesOnEachItem": False}
            },
            "items": {"all": True},
        },
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "combinesWith": {
            "orderDiscounts": False,
            "productDiscounts": True,
            "shippingDiscounts": True,
        },
    }
    data = AdminApi(shop).query(CREATE_DISCOUNT_CODE, {"basicCodeDiscount": basic})
    payload = data.get("discountCodeBasicCreate") or {}
    codes = [error.get("code") for error in payload.get("userErrors") or []]
    if codes == ["TAKEN"]:
        existing = find_discount_code(shop, code)
        if existing is not None and _title_of(existing) == title:
            return existing["id"]
    _raise_user_errors(shop, payload)
    return payload["codeDiscountNode"]["id"]


def find_discount_code(shop: Shop, code: str) -> dict[str, Any] | None:
    data = AdminApi(shop).query(FIND_DISCOUNT_CODE, {"code": code})
    return data.get("codeDiscountNodeByCode")


def customer_gid(customer_id: str) -> str:
    return f"gid://shopify/Customer/{customer_id}"


def graphql_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _raise_user_errors(
    shop: Shop, payload: dict[str, Any], unavailable: set[str] = frozenset()
) -> None:
    errors = payload.get("userErrors") or []
    if not errors:
        return
    codes = [str(error.get("code")) for error in errors]
    message = "; ".join(str(error.get("message")) for error in errors)
    kind = StoreCreditUnavailable if set(codes) & unavailable else RewardRefused
    logger.warning(
        "shopify.reward_refused",
        extra={"shop_id": shop.id, "codes": codes},
    )
    raise kind(
        f"The platform refused the reward: {message}",
        shop_domain=shop.shop_domain,
        codes=codes,
    )


def _access_denied(exc: AdminApiError) -> bool:
    return any(
        (error.get("extensions") or {}).get("code") == "ACCESS_DENIED"
        for error in exc.errors
        if isinstance(error, dict)
    )


def _is_our_credit(
    transaction: dict[str, Any],
    amount: Decimal,
    currency: str,
    expires_at: datetime,
    since: datetime,
    taken: set[str],
) -> bool:
    if "id" not in transaction or transaction["id"] in taken:
        return False
    money = transaction.get("amount") or {}
    if Decimal(str(money.get("amount"))) != amount or money.get("currencyCode") != (
        currency
    ):
        return False
    if transaction.get("expiresAt") != graphql_time(expires_at):
        return False
    created = datetime.fromisoformat(transaction["createdAt"].replace("Z", "+00:00"))
    # Clocks differ a little between us and the platform.
    return created >= since - timedelta(minutes=1)


def _title_of(node: dict[str, Any]) -> str | None:
    return (node.get("codeDiscount") or {}).get("title")
