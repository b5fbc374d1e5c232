"""Shop records of the fake platform and their GraphQL shapes.

Checkouts and orders are kept exactly as their webhook payloads (the same dicts
``plugin/sandbox/payloads`` holds) and turned into GraphQL objects on demand, so
one fixture feeds both a webhook delivery and the Admin API.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from plugin.sandbox.shopify_catalog import Catalog

if TYPE_CHECKING:
    from plugin.sandbox.shopify_rewards import RewardBook

# Payload values of ``financial_status`` and the enum GraphQL reports for them.
FINANCIAL_STATUSES = {
    "authorized": "AUTHORIZED",
    "expired": "EXPIRED",
    "paid": "PAID",
    "partially_paid": "PARTIALLY_PAID",
    "partially_refunded": "PARTIALLY_REFUNDED",
    "pending": "PENDING",
    "refunded": "REFUNDED",
    "voided": "VOIDED",
}


@dataclass
class CostBucket:
    """A leaky bucket of query-cost points, as the Admin API keeps per app and shop."""

    maximum_available: float
    restore_rate: float
    currently_available: float
    refreshed_at: datetime

    def restore(self, now: datetime) -> None:
        elapsed = max(0.0, (now - self.refreshed_at).total_seconds())
        self.currently_available = min(
            self.maximum_available,
            self.currently_available + elapsed * self.restore_rate,
        )
        self.refreshed_at = now

    def spend(self, points: float) -> None:
        self.currently_available = max(0.0, self.currently_available - points)

    def status(self) -> dict[str, float | int]:
        # Shopify reports the maximum and the rate as floats, the balance as an int.
        return {
            "maximumAvailable": float(self.maximum_available),
            "currentlyAvailable": int(self.currently_available),
            "restoreRate": float(self.restore_rate),
        }


@dataclass
class StoredCheckout:
    """A checkout payload plus the numeric id only the Admin API still shows."""

    numeric_id: int
    payload: dict[str, Any]


@dataclass
class ShopRecord:
    """Everything the fake platform knows about one shop."""

    shop_domain: str
    shop_id: int
    name: str
    email: str
    currency: str
    timezone: str
    scopes: str
    bucket: CostBucket
    installed: bool = True
    # The online store's primary domain; None: the myshopify.com one.
    primary_domain: str | None = None
    # The store's other domains (a market's, one that redirects), hosts only.
    domains: list[str] = field(default_factory=list)
    checkouts: dict[str, StoredCheckout] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    catalog: Catalog = field(default_factory=Catalog)
    # Customers, store credit and discount codes (see shopify_rewards).
    rewards: RewardBook = field(default_factory=lambda: _new_reward_book())


def _new_reward_book() -> RewardBook:
    # shopify_rewards builds on this module's shapes, so it is imported late.
    from plugin.sandbox.shopify_rewards import RewardBook

    return RewardBook()


def parse_time(text: str) -> datetime:
    """Read a payload timestamp, which always carries its UTC offset."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"Timestamp {text!r} has no UTC offset.")
    return moment


def graphql_time(text: str | None) -> str | None:
    """A payload timestamp in the Admin API's ``DateTime`` form (UTC, ``Z``)."""
    if not text:
        return None
    return parse_time(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def gid(resource: str, numeric_id: int | str) -> str:
    return f"gid://shopify/{resource}/{numeric_id}"


def shop_node(shop: ShopRecord) -> dict[str, Any]:
    primary = shop.primary_domain or shop.shop_domain
    # Like the platform's, the list holds the myshopify.com domain too.
    hosts = dict.fromkeys([shop.shop_domain, primary, *shop.domains])
    return {
        "id": gid("Shop", shop.shop_id),
        "name": shop.name,
        "email": shop.email,
        "contactEmail": shop.email,
        "myshopifyDomain": shop.shop_domain,
        "url": f"https://{primary}",
        "primaryDomain": domain_node(primary),
        "domains": [domain_node(host) for host in hosts],
        "currencyCode": shop.currency,
        "ianaTimezone": shop.timezone,
    }


def domain_node(host: str) -> dict[str, Any]:
    return {
        "id": gid("Domain", zlib.crc32(host.encode())),
        "host": host,
        "url": f"https://{host}",
        "sslEnabled": True,
    }


def checkout_node(
    shop: ShopRecord,
    checkout: StoredCheckout,
    cursor: str,
    line_items: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """An ``AbandonedCheckout``; ``line_items`` resolves its connection."""
    payload = checkout.payload
    presentment = payload.get("presentment_currency") or shop.currency
    return {
        "id": gid("AbandonedCheckout", checkout.numeric_id),
        "name": payload.get("name") or f"#{checkout.numeric_id}",
        "abandonedCheckoutUrl": payload.get("abandoned_checkout_url"),
        "createdAt": graphql_time(payload.get("created_at")),
        "updatedAt": graphql_time(payload.get("updated_at")),
        "completedAt": graphql_time(payload.get("completed_at")),
        "customer": customer_node(payload.get("customer")),
        "customAttributes": _attributes(payload.get("note_attributes")),
        "discountCodes": [
            code.get("code", "") for code in payload.get("discount_codes") or []
        ],
        "note": payload.get("note") or "",
        "taxesIncluded": bool(payload.get("taxes_included")),
        "subtotalPriceSet": money_bag(
            payload.get("subtotal_price"), shop.currency, presentment
        ),
        "totalPriceSet": money_bag(
            payload.get("total_price"), shop.currency, presentment
        ),
        "defaultCursor": cursor,
        "lineItems": line_items,
    }


def checkout_line_node(
    shop: ShopRecord, checkout: StoredCheckout, index: int, line: dict[str, Any]
) -> dict[str, Any]:
    # Checkout payload lines carry a ``key``, not a numeric id; the fake derives
    # a stable id from the checkout and the line's position.
    quantity = int(line.get("quantity") or 0)
    price = Decimal(str(line.get("price") or "0"))
    return {
        "id": gid("AbandonedCheckoutLineItem", checkout.numeric_id * 1000 + index),
        "title": line.get("title"),
        "variantTitle": line.get("variant_title"),
        "sku": line.get("sku"),
        "quantity": quantity,
        "variant": _variant(line),
        "product": _product(line),
        "originalUnitPriceSet": money_bag(price, shop.currency),
        "originalTotalPriceSet": money_bag(price * quantity, shop.currency),
    }


def order_node(
    shop: ShopRecord,
    order: dict[str, Any],
    line_items: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """An ``Order``; ``line_items`` resolves its connection."""
    total = _price_set(order.get("total_price_set"), order.get("total_price"), shop)
    current = _price_set(
        order.get("current_total_price_set"),
        order.get("current_total_price") or order.get("total_price"),
        shop,
    )
    return {
        "id": gid("Order", order["id"]),
        "name": order.get("name") or f"#{order.get('order_number', order['id'])}",
        "createdAt": graphql_time(order.get("created_at")),
        "updatedAt": graphql_time(order.get("updated_at")),
        "processedAt": graphql_time(
            order.get("processed_at") or order.get("created_at")
        ),
        "cancelledAt": graphql_time(order.get("cancelled_at")),
        "closedAt": graphql_time(order.get("closed_at")),
        "email": order.get("email"),
        "phone": order.get("phone"),
        "currencyCode": order.get("currency") or shop.currency,
        "displayFinancialStatus": FINANCIAL_STATUSES.get(
            order.get("financial_status") or ""
        ),
        "sourceName": order.get("source_name"),
        "cartToken": order.get("cart_token"),
        "checkoutToken": order.get("checkout_token"),
        "customer": customer_node(order.get("customer")),
        "subtotalPriceSet": _price_set(
            order.get("subtotal_price_set"), order.get("subtotal_price"), shop
        ),
        "totalPriceSet": total,
        "currentTotalPriceSet": current,
        "customAttributes": _attributes(order.get("note_attributes")),
        "lineItems": line_items,
    }


def order_line_node(shop: ShopRecord, line: dict[str, Any]) -> dict[str, Any]:
    quantity = int(line.get("quantity") or 0)
    price = Decimal(str(line.get("price") or "0"))
    return {
        "id": gid("LineItem", line["id"]),
        "title": line.get("title") or "",
        "variantTitle": line.get("variant_title"),
        "sku": line.get("sku"),
        "quantity": quantity,
        "variant": _variant(line),
        "product": _product(line),
        "originalUnitPriceSet": money_bag(price, shop.currency),
        "originalTotalSet": money_bag(price * quantity, shop.currency),
    }


def customer_node(customer: dict[str, Any] | None) -> dict[str, Any] | None:
    if not customer or customer.get("id") is None:
        return None

    email = customer.get("email")
    phone = customer.get("phone")
    first_name = customer.get("first_name")
    last_name = customer.get("last_name")
    display_name = " ".join(part for part in (first_name, last_name) if part)
    return {
        "id": gid("Customer", customer["id"]),
        "firstName": first_name,
        "lastName": last_name,
        "displayName": display_name or email or phone or "",
        "defaultEmailAddress": {"emailAddress": email} if email else None,
        "defaultPhoneNumber": {"phoneNumber": phone} if phone else None,
        "email": email,
        "phone": phone,
    }


def money_bag(
    amount: object, currency: str, presentment_currency: str | None = None
) -> dict[str, Any]:
    # The fake has no exchange rates: presentment money repeats the shop amount.
    value = str(Decimal(str(amount if amount is not None else "0")))
    return {
        "shopMoney": {"amount": value, "currencyCode": currency},
        "presentmentMoney": {
            "amount": value,
            "currencyCode": presentment_currency or currency,
        },
    }


def _price_set(
    price_set: dict[str, Any] | None, fallback: object, shop: ShopRecord
) -> dict[str, Any]:
    if not price_set:
        return money_bag(fallback, shop.currency)

    shop_money = price_set.get("shop_money") or {}
    presentment = price_set.get("presentment_money") or shop_money
    return {
        "shopMoney": {
            "amount": str(shop_money.get("amount", fallback)),
            "currencyCode": shop_money.get("currency_code", shop.currency),
        },
        "presentmentMoney": {
            "amount": str(presentment.get("amount", fallback)),
            "currencyCode": presentment.get("currency_code", shop.currency),
        },
    }


def _variant(line: dict[str, Any]) -> dict[str, Any] | None:
    if line.get("variant_id") is None:
        return None
    return {
        "id": gid("ProductVariant", line["variant_id"]),
        "title": line.get("variant_title") or "Default Title",
        "sku": line.get("sku"),
    }


def _product(line: dict[str, Any]) -> dict[str, Any] | None:
    if line.get("product_id") is None:
        return None
    return {"id": gid("Product", line["product_id"]), "title": line.get("title") or ""}


def _attributes(pairs: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {"key": str(pair.get("name", "")), "value": pair.get("value")}
        for pair in pairs or []
    ]
