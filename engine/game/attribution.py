"""Orders that used a bonus: the redemption is spent, the campaigns credited.

``note_order`` runs at the end of every applied order payload (webhooks, in
the commerce layer's transaction). An order uses a redemption when its
``discount_codes`` name the redemption's code, or, for store credit, when it
was paid partly with store credit (``payment_gateway_names`` holds
``shopify_store_credit``, ◐: the gateway name as orders report it in public
integrations, not found in a primary source) by the customer the credit
went to, after it was issued: the oldest such credit is the one counted.
Each campaign whose collected money the redemption held is credited with
the order, with a share of its total in proportion to that money.

A cancelled order loses its credit. Its code's amount goes back to the
wallet (``released``); store credit goes back to the customer's account on
the platform, so the redemption is merely issued again, unused.

Payloads without ``discount_codes`` (reconciliation's, built from GraphQL)
change nothing already credited.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select

from engine.commerce.models import Order
from engine.db import db
from engine.game.models import (
    DISCOUNT_CODE,
    ISSUED,
    REDEEMED,
    RELEASED_STATE,
    STORE_CREDIT,
    USED,
    GameAttribution,
    GameLedgerEntry,
    GameRedemption,
)
from engine.game.redeeming import give_back
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

STORE_CREDIT_GATEWAY = "shopify_store_credit"
CENT = Decimal("0.01")


def note_order(shop: Shop, order: Order, payload: dict[str, Any]) -> None:
    """Credit, re-credit or un-credit an order (the caller commits)."""
    if order.cancelled_at is not None:
        _cancelled(shop, order)
        return
    for redemption in _redemptions_used(shop, order, payload):
        _credit(shop, order, redemption)


def _redemptions_used(
    shop: Shop, order: Order, payload: dict[str, Any]
) -> list[GameRedemption]:
    found = {r.id: r for r in _locked(GameRedemption.order_id == order.id, shop)}

    codes = {
        str(entry.get("code") or "").strip().upper()
        for entry in payload.get("discount_codes") or []
        if isinstance(entry, dict)
    } - {""}
    if codes:
        for redemption in _locked(
            (GameRedemption.method == DISCOUNT_CODE)
            & func.upper(GameRedemption.code).in_(codes),
            shop,
        ):
            found.setdefault(redemption.id, redemption)

    gateways = payload.get("payment_gateway_names") or []
    if (
        STORE_CREDIT_GATEWAY in gateways
        and order.customer_id
        and not any(r.method == STORE_CREDIT for r in found.values())
    ):
        credit = _oldest_unused_credit(shop, order)
        if credit is not None:
            found[credit.id] = credit
    return [r for r in found.values() if r.order_id in (None, order.id)]


def _oldest_unused_credit(shop: Shop, order: Order) -> GameRedemption | None:
    credits = _locked(
        (GameRedemption.method == STORE_CREDIT)
        & (GameRedemption.status == ISSUED)
        & (GameRedemption.customer_id == order.customer_id)
        & (GameRedemption.issued_at <= order.placed_at),
        shop,
    )
    return min(credits, key=lambda r: (r.issued_at, r.id), default=None)


def _credit(shop: Shop, order: Order, redemption: GameRedemption) -> None:
    if redemption.status == RELEASED_STATE:
        # Used after its amount came back (a delivery later than the release
        # grace): the order is still credited, the wallet keeps the amount.
        logger.warning(
            "game.code_used_after_release",
            extra={"shop_id": shop.id, "redemption_id": redemption.id},
        )
    elif redemption.status == ISSUED:
        redemption.status = USED
        redemption.used_at = order.placed_at
    elif redemption.status != USED:
        return
    redemption.order_id = order.id

    total = order.total_price or Decimal(0)
    existing = {
        row.campaign_id: row
        for row in db.session.scalars(
            select(GameAttribution).where(
                GameAttribution.shop_id == shop.id,
                GameAttribution.order_id == order.id,
            )
        )
    }
    for campaign_id, part in campaign_parts(redemption).items():
        row = existing.get(campaign_id) or GameAttribution(
            shop_id=shop.id, order_id=order.id, campaign_id=campaign_id
        )
        row.redemption_id = redemption.id
        row.wallet_id = redemption.wallet_id
        row.amount = part
        row.revenue = (total * part / redemption.amount).quantize(CENT)
        row.currency = redemption.currency
        row.placed_at = order.placed_at
        db.session.add(row)
    db.session.flush()
    logger.info(
        "game.order_attributed",
        extra={
            "shop_id": shop.id,
            "order_id": order.id,
            "redemption_id": redemption.id,
        },
    )


def campaign_parts(redemption: GameRedemption) -> dict[int, Decimal]:
    """How much of the redeemed amount each campaign's collects made up."""
    rows = db.session.execute(
        select(GameLedgerEntry.campaign_id, func.sum(GameLedgerEntry.amount))
        .where(
            GameLedgerEntry.shop_id == redemption.shop_id,
            GameLedgerEntry.redemption_id == redemption.id,
            GameLedgerEntry.kind == REDEEMED,
            GameLedgerEntry.campaign_id.is_not(None),
        )
        .group_by(GameLedgerEntry.campaign_id)
    )
    return {campaign_id: -amount for campaign_id, amount in rows}


def _cancelled(shop: Shop, order: Order) -> None:
    db.session.execute(
        delete(GameAttribution).where(
            GameAttribution.shop_id == shop.id, GameAttribution.order_id == order.id
        )
    )
    for redemption in _locked(GameRedemption.order_id == order.id, shop):
        redemption.order_id = None
        if redemption.method == DISCOUNT_CODE:
            give_back(
                redemption, RELEASED_STATE, "The order that used it was cancelled."
            )
        elif redemption.status == USED:
            redemption.status = ISSUED
            redemption.used_at = None
    db.session.flush()


def _locked(condition: Any, shop: Shop) -> list[GameRedemption]:
    return list(
        db.session.scalars(
            select(GameRedemption)
            .where(GameRedemption.shop_id == shop.id, condition)
            .order_by(GameRedemption.id)
            .with_for_update()
        )
    )
