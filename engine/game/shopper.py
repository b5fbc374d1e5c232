"""The wallet as the shopper sees it in the widget: balance, history, expiry.

Reading a wallet settles it first (credit past its expiry is written off,
a visitor wallet whose customer is now known is folded into the customer's),
so what the widget shows is what the ledger holds. A visitor without a
wallet reads as an empty one, and nothing is written for them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from engine.db import db
from engine.game import clock
from engine.game.models import (
    TRANSFERRED_OUT,
    GameCampaign,
    GameLedgerEntry,
    GameRedemption,
    GameWallet,
)
from engine.game.wallets import existing_wallet, live_lots, settle_expiry
from engine.visitors.models import Visitor

HISTORY_LENGTH = 30


def wallet_for_shopper(shop_id: int, public_id: str, currency: str | None) -> dict:
    """The widget's ``wallet``: settled, then read; committed."""
    now = clock.now()
    visitor = db.session.scalar(
        select(Visitor).where(
            Visitor.shop_id == shop_id, Visitor.public_id == public_id
        )
    )
    wallet = (
        existing_wallet(shop_id, visitor.id, visitor.customer_id, now)
        if visitor is not None
        else None
    )
    if wallet is None:
        db.session.rollback()
        return _empty(currency)

    settle_expiry(wallet, now)
    db.session.commit()
    return describe_wallet(wallet, now)


def describe_wallet(wallet: GameWallet, now: datetime) -> dict[str, Any]:
    """Balance, what expires when, recent history and the latest redemption."""
    db.session.refresh(wallet)
    # Lots collected in the same second expire together: one line each.
    expiring: dict[str, Decimal] = {}
    for lot in live_lots(wallet):
        moment = _iso(lot.expires_at)
        expiring[moment] = expiring.get(moment, Decimal(0)) + lot.remaining
    return {
        "balance": str(wallet.balance),
        "currency": wallet.currency,
        "expiring": [
            {"amount": str(amount), "expires_at": expires_at}
            for expires_at, amount in expiring.items()
        ],
        "history": _history(wallet),
        "redemption": _latest_redemption(wallet),
    }


def _history(wallet: GameWallet) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(
            GameLedgerEntry.kind,
            GameLedgerEntry.amount,
            GameLedgerEntry.created_at,
            GameLedgerEntry.expires_at,
            GameCampaign.name,
        )
        .outerjoin(GameCampaign, GameCampaign.id == GameLedgerEntry.campaign_id)
        .where(
            GameLedgerEntry.shop_id == wallet.shop_id,
            GameLedgerEntry.wallet_id == wallet.id,
            GameLedgerEntry.kind != TRANSFERRED_OUT,
        )
        .order_by(GameLedgerEntry.id.desc())
        .limit(HISTORY_LENGTH)
    )
    return [
        {
            "kind": row.kind,
            "amount": str(row.amount),
            "at": _iso(row.created_at),
            "expires_at": _iso(row.expires_at),
            "campaign": row.name,
        }
        for row in rows
    ]


def _latest_redemption(wallet: GameWallet) -> dict[str, Any] | None:
    redemption = db.session.scalar(
        select(GameRedemption)
        .where(
            GameRedemption.shop_id == wallet.shop_id,
            GameRedemption.wallet_id == wallet.id,
        )
        .order_by(GameRedemption.id.desc())
        .limit(1)
    )
    if redemption is None:
        return None
    return describe_redemption(redemption)


def describe_redemption(redemption: GameRedemption) -> dict[str, Any]:
    issued = redemption.issued_at is not None
    return {
        "id": redemption.id,
        "status": redemption.status,
        "method": redemption.method,
        "amount": str(redemption.amount),
        "currency": redemption.currency,
        "expires_at": _iso(redemption.expires_at),
        # The code is the shopper's only once the platform has it.
        "code": redemption.code if issued else None,
    }


def _empty(currency: str | None) -> dict[str, Any]:
    return {
        "balance": "0.00",
        "currency": currency,
        "expiring": [],
        "history": [],
        "redemption": None,
    }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
