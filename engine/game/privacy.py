"""The bonus game's part of the platform's privacy requests.

A wallet names its customer (``owner_key``, ``customer_id``); its ledger
holds amounts and times only. An export lists the customer's wallets with
their entries; erasure unlinks the wallets and redemptions from the
customer, keeping the money's history (the merchant's cost figures count it)
under a key that names nobody.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from engine.db import db
from engine.game.models import GameLedgerEntry, GameRedemption, GameWallet
from engine.shops.models import Shop


def customer_wallets(shop: Shop, customer_id: str | None) -> list[dict[str, Any]]:
    """The customer's wallets and their entries, for a data export."""
    if not customer_id:
        return []
    wallets = db.session.scalars(
        select(GameWallet).where(
            GameWallet.shop_id == shop.id, GameWallet.customer_id == customer_id
        )
    )
    return [
        {
            "balance": str(wallet.balance),
            "currency": wallet.currency,
            "entries": [
                {
                    "kind": entry.kind,
                    "amount": str(entry.amount),
                    "at": entry.created_at.isoformat(),
                    "expires_at": entry.expires_at.isoformat()
                    if entry.expires_at
                    else None,
                }
                for entry in db.session.scalars(
                    select(GameLedgerEntry)
                    .where(
                        GameLedgerEntry.shop_id == shop.id,
                        GameLedgerEntry.wallet_id == wallet.id,
                    )
                    .order_by(GameLedgerEntry.id)
                )
            ],
        }
        for wallet in wallets
    ]


def forget_customer(shop: Shop, customer_id: str | None) -> None:
    """Unlink the customer from their wallets and redemptions (caller commits)."""
    if not customer_id:
        return
    wallet_ids = list(
        db.session.scalars(
            select(GameWallet.id).where(
                GameWallet.shop_id == shop.id, GameWallet.customer_id == customer_id
            )
        )
    )
    for wallet_id in wallet_ids:
        db.session.execute(
            update(GameWallet)
            .where(GameWallet.shop_id == shop.id, GameWallet.id == wallet_id)
            .values(customer_id=None, owner_key=f"redacted:{wallet_id}")
        )
    db.session.execute(
        update(GameRedemption)
        .where(
            GameRedemption.shop_id == shop.id,
            GameRedemption.customer_id == customer_id,
        )
        .values(customer_id=None)
    )
