"""Reconciliation: fetch recent checkouts and orders, applying what we missed.

The platform does not guarantee webhook delivery, so each installed shop is
polled every few minutes for abandoned checkouts and orders updated since
the last run. Nodes are turned into webhook-shaped payloads and go through
the same ``apply`` functions, so newest-state-wins holds here too.

Each run also refreshes the domains the shop's storefronts live on, so a
domain the merchant adds or a new primary domain reaches the widget's allowed
origins within one run (``engine.shops.jobs.refresh_storefront_domains``).

A polled abandoned checkout carries no checkout token (the platform's
GraphQL ``AbandonedCheckout`` has none). It is matched to a checkout we know
by its recovery URL, which webhooks carry too; failing that, by the token in
that URL's path (``…/checkouts/<token>/recover``), where the platform's
sample payloads put it. A node matching neither is skipped and logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine.commerce.apply import apply_checkout, apply_order
from engine.commerce.models import Checkout
from engine.db import db, utcnow
from engine.jobs import enqueue_after_commit
from engine.shopify.admin_api import AdminApi
from engine.shopify.errors import AccessRevokedError
from engine.shopify.queries import (
    ABANDONED_CHECKOUTS,
    ABANDONED_CHECKOUTS_PAGE_SIZE,
    LINE_ITEMS_PAGE_SIZE,
    ORDERS,
    ORDERS_PAGE_SIZE,
)
from engine.shops.install import shop_by_domain
from engine.shops.jobs import refresh_storefront_domains
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

# How far back the first run of a shop looks.
FIRST_LOOKBACK = timedelta(days=3)
# Re-read a little before the watermark: the platform's clock and search
# index may lag behind what it already sent.
OVERLAP = timedelta(minutes=5)

_TOKEN_IN_URL = re.compile(r"/checkouts/([A-Za-z0-9_-]+)/recover")


def enqueue_reconciliation() -> int:
    """Queue one reconciliation job per installed shop; returns how many."""
    shop_ids = list(
        db.session.scalars(
            select(Shop.id).where(
                Shop.uninstalled_at.is_(None), Shop.access_token.is_not(None)
            )
        )
    )
    for shop_id in shop_ids:
        enqueue_after_commit(reconcile_shop, shop_id, job_id=f"reconcile-{shop_id}")
    db.session.commit()
    return len(shop_ids)


def reconcile_now(shop_domain: str | None = None) -> int:
    """Reconcile one shop, or every installed shop, in this process."""
    if shop_domain is not None:
        shop = shop_by_domain(shop_domain)
        shop_ids = [shop.id] if shop else []
    else:
        shop_ids = list(db.session.scalars(select(Shop.id)))
    for shop_id in shop_ids:
        reconcile_shop(shop_id)
    return len(shop_ids)


def reconcile_shop(shop_id: int) -> dict[str, int]:
    """Apply the shop's checkouts and orders updated since the last run."""
    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.is_installed:
        return {}

    started = utcnow()
    since = (shop.reconciled_through or started - FIRST_LOOKBACK) - OVERLAP
    api = AdminApi(shop)
    try:
        checkouts = _reconcile_checkouts(shop, api, since)
        orders = _reconcile_orders(shop, api, since)
        refresh_storefront_domains(shop, api)
    except AccessRevokedError:
        logger.warning("reconcile.access_revoked", extra={"shop_id": shop_id})
        return {}

    shop.reconciled_through = started
    db.session.commit()
    counts = {"checkouts": checkouts, "orders": orders}
    logger.info("reconcile.finished", extra={"shop_id": shop_id, **counts})
    return counts


def _reconcile_checkouts(shop: Shop, api: AdminApi, since: datetime) -> int:
    applied = 0
    for node in _nodes(
        api,
        ABANDONED_CHECKOUTS,
        "abandonedCheckouts",
        ABANDONED_CHECKOUTS_PAGE_SIZE,
        since,
    ):
        payload = checkout_payload(node)
        payload["token"] = _checkout_token(shop, node)
        if payload["token"] is None:
            logger.warning(
                "reconcile.checkout_unkeyed",
                extra={"shop_id": shop.id, "node_id": node.get("id")},
            )
            continue
        if apply_checkout(shop, payload) is not None:
            applied += 1
        db.session.commit()
    return applied


def _reconcile_orders(shop: Shop, api: AdminApi, since: datetime) -> int:
    applied = 0
    for node in _nodes(api, ORDERS, "orders", ORDERS_PAGE_SIZE, since):
        if apply_order(shop, order_payload(node)) is not None:
            applied += 1
        db.session.commit()
    return applied


def _nodes(
    api: AdminApi, query: str, root: str, page_size: int, since: datetime
) -> Iterator[dict[str, Any]]:
    after = None
    while True:
        data = api.query(
            query,
            {
                "first": page_size,
                "after": after,
                "query": f"updated_at:>'{since.isoformat()}'",
                "lineItemsFirst": LINE_ITEMS_PAGE_SIZE,
            },
        )
        connection = data[root]
        yield from connection["nodes"]
        if not connection["pageInfo"]["hasNextPage"]:
            return
        after = connection["pageInfo"]["endCursor"]


def _checkout_token(shop: Shop, node: dict[str, Any]) -> str | None:
    url = node.get("abandonedCheckoutUrl")
    if not url:
        return None
    known = db.session.scalar(
        select(Checkout.token).where(
            Checkout.shop_id == shop.id, Checkout.abandoned_checkout_url == url
        )
    )
    if known:
        return known
    match = _TOKEN_IN_URL.search(url)
    return match.group(1) if match else None


def checkout_payload(node: dict[str, Any]) -> dict[str, Any]:
    """An ``AbandonedCheckout`` node in the shape of a ``checkouts/*`` webhook."""
    total = _money(node.get("totalPriceSet"))
    return {
        "abandoned_checkout_url": node.get("abandonedCheckoutUrl"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "completed_at": node.get("completedAt"),
        "customer": _customer(node.get("customer")),
        "email": _email(node.get("customer")),
        "phone": _phone(node.get("customer")),
        "total_price": total["amount"],
        "currency": total["currencyCode"],
        "line_items": _line_items(node),
    }


def order_payload(node: dict[str, Any]) -> dict[str, Any]:
    """An ``Order`` node in the shape of an ``orders/*`` webhook."""
    total = _money(node.get("totalPriceSet"))
    status = node.get("displayFinancialStatus")
    return {
        "id": node["id"],
        "name": node.get("name"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "checkout_token": node.get("checkoutToken"),
        "cart_token": node.get("cartToken"),
        "email": node.get("email") or _email(node.get("customer")),
        "phone": node.get("phone") or _phone(node.get("customer")),
        "customer": _customer(node.get("customer")),
        "financial_status": status.lower() if status else None,
        "total_price": total["amount"],
        "currency": total["currencyCode"],
        "line_items": _line_items(node),
    }


def _line_items(node: dict[str, Any]) -> list[dict[str, Any]]:
    lines = (node.get("lineItems") or {}).get("nodes") or []
    return [
        {
            "title": line.get("title"),
            "variant_title": line.get("variantTitle"),
            "quantity": line.get("quantity"),
            "variant_id": (line.get("variant") or {}).get("id"),
            "product_id": (line.get("product") or {}).get("id"),
            "price": _money(line.get("originalUnitPriceSet"))["amount"],
        }
        for line in lines
    ]


def _customer(customer: dict[str, Any] | None) -> dict[str, Any] | None:
    if not customer:
        return None
    return {
        "id": customer.get("id"),
        "first_name": customer.get("firstName"),
        "email": _email(customer),
        "phone": _phone(customer),
    }


def _email(customer: dict[str, Any] | None) -> str | None:
    return ((customer or {}).get("defaultEmailAddress") or {}).get("emailAddress")


def _phone(customer: dict[str, Any] | None) -> str | None:
    return ((customer or {}).get("defaultPhoneNumber") or {}).get("phoneNumber")


def _money(price_set: dict[str, Any] | None) -> dict[str, Any]:
    money = (price_set or {}).get("shopMoney") or {}
    return {"amount": money.get("amount"), "currencyCode": money.get("currencyCode")}
