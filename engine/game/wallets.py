"""Wallets: whose a balance is, its lots, expiry, and folding wallets together.

A wallet belongs to the platform's customer once we know who the visitor is
(``Visitor.customer_id``, set from a signed source), so a logged-in shopper
finds it on every device; before that, to the visitor (one browser). When a
visitor's customer becomes known, their visitor wallet is folded into the
customer's wallet the next time either is used; ``merge_visitor_wallets``
does the same for two visitors found to be one person (the identity work
calls it), so a merged person keeps everything.

Folding moves each live lot with its campaign and expiry: a
``transferred_out`` entry in the old wallet and a ``transferred_in`` lot in
the new one. The old wallet keeps its history and points to the new one.

Every change to a wallet happens with its row locked (``SELECT … FOR
UPDATE``) and writes the ledger entry and the balance in one transaction;
the database refuses a negative balance. Lock order, to stay clear of
deadlocks: a collect's participant row, then the wallet, then the
campaign's budget. Folding locks the wallet money moves into, then the old
one, and never locks a wallet already folded; money coming back to a folded
wallet (a redemption given back) locks the old one, then the new: the two
orders never meet, because a wallet is folded only once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from engine.db import db, insert_for
from engine.game.models import (
    EXPIRED,
    LOT_KINDS,
    TRANSFERRED_IN,
    TRANSFERRED_OUT,
    GameLedgerEntry,
    GameWallet,
)
from engine.visitors.models import Visitor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lot:
    """What is left of one collected (or moved-in) amount."""

    id: int
    remaining: Decimal
    expires_at: datetime
    campaign_id: int | None


def owner_key(visitor_id: int, customer_id: str | None) -> str:
    return f"customer:{customer_id}" if customer_id else f"visitor:{visitor_id}"


def lock_wallet(
    shop_id: int,
    visitor_id: int,
    customer_id: str | None,
    currency: str,
    now: datetime,
) -> GameWallet:
    """The visitor's wallet, created if need be, locked for this transaction.

    With a known customer, the visitor's own wallet (if any) is folded in.
    """
    key = owner_key(visitor_id, customer_id)
    _insert_if_missing(shop_id, key, visitor_id, customer_id, currency)
    wallet = _lock_final(shop_id, key)
    if customer_id:
        _absorb_visitor_wallet(wallet, visitor_id, now)
    return wallet


def existing_wallet(
    shop_id: int, visitor_id: int, customer_id: str | None, now: datetime
) -> GameWallet | None:
    """The visitor's wallet locked, or None (and nothing written) if they never
    had one. A known customer's visitor wallet is folded in on the way."""
    keys = {owner_key(visitor_id, customer_id), owner_key(visitor_id, None)}
    currency = db.session.scalar(
        select(GameWallet.currency).where(
            GameWallet.shop_id == shop_id, GameWallet.owner_key.in_(keys)
        )
    )
    if currency is None:
        return None
    return lock_wallet(shop_id, visitor_id, customer_id, currency, now)


def live_lots(wallet: GameWallet) -> list[Lot]:
    """The wallet's lots with something left, soonest to expire first."""
    lot = aliased(GameLedgerEntry)
    taken = aliased(GameLedgerEntry)
    remaining = lot.amount + func.coalesce(func.sum(taken.amount), 0)
    rows = db.session.execute(
        select(lot.id, remaining.label("remaining"), lot.expires_at, lot.campaign_id)
        .outerjoin(taken, taken.lot_id == lot.id)
        .where(
            lot.shop_id == wallet.shop_id,
            lot.wallet_id == wallet.id,
            lot.kind.in_(LOT_KINDS),
        )
        .group_by(lot.id, lot.amount, lot.expires_at, lot.campaign_id)
        .having(remaining > 0)
        .order_by(lot.expires_at, lot.id)
    )
    return [Lot(row.id, row.remaining, row.expires_at, row.campaign_id) for row in rows]


def settle_expiry(wallet: GameWallet, now: datetime) -> Decimal:
    """Write off what expired by ``now``; returns the amount expired."""
    expired = Decimal(0)
    for lot in live_lots(wallet):
        if lot.expires_at > now:
            break
        post(wallet, EXPIRED, -lot.remaining, lot=lot, now=now)
        expired += lot.remaining
    if expired:
        logger.info(
            "game.credit_expired",
            extra={"shop_id": wallet.shop_id, "wallet_id": wallet.id},
        )
    return expired


def post(
    wallet: GameWallet,
    kind: str,
    amount: Decimal,
    *,
    now: datetime,
    lot: Lot | None = None,
    campaign_id: int | None = None,
    expires_at: datetime | None = None,
    collect_id: int | None = None,
    redemption_id: int | None = None,
) -> None:
    """Append one entry to the ledger and move the wallet's balance with it.

    The caller holds the wallet's lock. An entry that takes from or gives
    back to a lot names it and repeats its campaign and expiry.
    """
    if lot is not None:
        campaign_id, expires_at = lot.campaign_id, lot.expires_at
    db.session.add(
        GameLedgerEntry(
            shop_id=wallet.shop_id,
            wallet_id=wallet.id,
            kind=kind,
            amount=amount,
            currency=wallet.currency,
            lot_id=lot.id if lot is not None else None,
            campaign_id=campaign_id,
            expires_at=expires_at,
            collect_id=collect_id,
            redemption_id=redemption_id,
            created_at=now,
        )
    )
    db.session.execute(
        update(GameWallet)
        .where(GameWallet.shop_id == wallet.shop_id, GameWallet.id == wallet.id)
        .values(balance=GameWallet.balance + amount, updated_at=now)
    )
    db.session.flush()


def forward_if_merged(wallet: GameWallet, now: datetime) -> None:
    """Money that came back to a wallet folded since moves on to where it went."""
    if wallet.merged_into_id is None:
        return
    target = db.session.scalar(
        select(GameWallet)
        .where(
            GameWallet.shop_id == wallet.shop_id,
            GameWallet.id == wallet.merged_into_id,
        )
        .with_for_update()
    )
    if target is not None:
        _move_lots(wallet, target, now)


def merge_visitor_wallets(
    shop_id: int, from_visitor_id: int, into_visitor_id: int, now: datetime
) -> GameWallet | None:
    """Fold one visitor's wallet into another's (two visitors, one person).

    For the identity work, when it finds two visitors to be one person; the
    caller commits. Returns the wallet that holds the money now, or None
    when the first visitor had no wallet.
    """
    source_id = _wallet_id(shop_id, owner_key(from_visitor_id, None))
    if source_id is None:
        return None
    into = db.session.get(Visitor, into_visitor_id)
    if into is None or into.shop_id != shop_id:
        raise ValueError(f"Visitor {into_visitor_id!r} is not of shop {shop_id!r}.")
    currency = _currency_of(shop_id, owner_key(from_visitor_id, None))
    target = lock_wallet(shop_id, into.id, into.customer_id, currency, now)
    source = _locked_wallet(shop_id, source_id)
    if source is not None and source.id != target.id and source.merged_into_id is None:
        _move_lots(source, target, now)
    return target


# --- internals -----------------------------------------------------------------


def _absorb_visitor_wallet(target: GameWallet, visitor_id: int, now: datetime) -> None:
    found = db.session.execute(
        select(GameWallet.id, GameWallet.merged_into_id).where(
            GameWallet.shop_id == target.shop_id,
            GameWallet.owner_key == owner_key(visitor_id, None),
        )
    ).first()
    # A wallet folded once stays folded: it is not locked again, which keeps
    # this (new wallet, then old) clear of money coming back to the old one
    # (old, then new) in forward_if_merged.
    if found is None or found.id == target.id or found.merged_into_id is not None:
        return
    source = _locked_wallet(target.shop_id, found.id)
    if source is not None and source.merged_into_id is None:
        _move_lots(source, target, now)


def _move_lots(source: GameWallet, target: GameWallet, now: datetime) -> None:
    for lot in live_lots(source):
        post(source, TRANSFERRED_OUT, -lot.remaining, lot=lot, now=now)
        post(
            target,
            TRANSFERRED_IN,
            lot.remaining,
            now=now,
            campaign_id=lot.campaign_id,
            expires_at=lot.expires_at,
        )
    if source.merged_into_id is None:
        source.merged_into_id = target.id
        db.session.flush()
        logger.info(
            "game.wallet_merged",
            extra={"shop_id": source.shop_id, "from": source.id, "into": target.id},
        )


def _insert_if_missing(
    shop_id: int,
    key: str,
    visitor_id: int,
    customer_id: str | None,
    currency: str,
) -> None:
    db.session.execute(
        insert_for(GameWallet)
        .values(
            shop_id=shop_id,
            owner_key=key,
            customer_id=customer_id,
            visitor_id=visitor_id,
            balance=Decimal(0),
            currency=currency,
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "owner_key"])
    )


def _lock_final(shop_id: int, key: str) -> GameWallet:
    """Lock the wallet of ``key``, or the one it was folded into."""
    wallet_id = _wallet_id(shop_id, key)
    while True:
        wallet = db.session.scalar(
            select(GameWallet)
            .where(GameWallet.shop_id == shop_id, GameWallet.id == wallet_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if wallet.merged_into_id is None:
            return wallet
        wallet_id = wallet.merged_into_id


def _locked_wallet(shop_id: int, wallet_id: int) -> GameWallet | None:
    return db.session.scalar(
        select(GameWallet)
        .where(GameWallet.shop_id == shop_id, GameWallet.id == wallet_id)
        .with_for_update()
    )


def _wallet_id(shop_id: int, key: str) -> int | None:
    return db.session.scalar(
        select(GameWallet.id).where(
            GameWallet.shop_id == shop_id, GameWallet.owner_key == key
        )
    )


def _currency_of(shop_id: int, key: str) -> str:
    return db.session.scalar(
        select(GameWallet.currency).where(
            GameWallet.shop_id == shop_id, GameWallet.owner_key == key
        )
    )
