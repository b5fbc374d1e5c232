"""Campaigns and their target pages, collects, wallets, the ledger, redemptions.

A *campaign* puts rewards on *target* pages. A visitor who stays long enough
on a target page *collects* its reward once; the amount becomes a *lot* in
the person's *wallet*, an entry of the append-only *ledger* that keeps its
campaign and its expiry. Every later movement of that amount (it expires,
is redeemed, comes back, moves to another wallet) is another entry naming
the lot, so a wallet's balance is always the sum of its entries and each
part of it can be traced to the page it was collected on.

``GameParticipant`` is one visitor in one campaign: when they first saw a
collectible, and how much they collected (the row the per-visitor cap is
checked against, atomically). ``GameRedemption`` is a balance turned into
store credit or a discount code; ``GameAttribution`` credits an order that
used one to the campaigns its amount came from.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import UTCDateTime, db, utcnow

Money = Numeric(14, 2)
# SQLite only auto-increments an INTEGER primary key.
EntryId = BigInteger().with_variant(Integer(), "sqlite")

# Target kinds: a URL pattern, one product, one collection page.
URL = "url"
PRODUCT = "product"
COLLECTION = "collection"
TARGET_KINDS = (URL, PRODUCT, COLLECTION)

# Ledger entry kinds. Lots add to a wallet; the others name the lot they
# take from (negative) or give back to (positive).
COLLECTED = "collected"
TRANSFERRED_IN = "transferred_in"
LOT_KINDS = (COLLECTED, TRANSFERRED_IN)
EXPIRED = "expired"
REDEEMED = "redeemed"
RELEASED = "released"
TRANSFERRED_OUT = "transferred_out"
ENTRY_KINDS = (*LOT_KINDS, EXPIRED, REDEEMED, RELEASED, TRANSFERRED_OUT)

# Redemption methods.
STORE_CREDIT = "store_credit"
DISCOUNT_CODE = "discount_code"
METHODS = (STORE_CREDIT, DISCOUNT_CODE)

# Redemption states: pending (amount held, the platform not yet asked or
# being asked) -> issued (credit granted or code created) -> used (an order
# used it); or failed (refused: the amount came back), released (an issued
# code expired unused or its order was cancelled: the amount came back), or
# unconfirmed (a store-credit call whose outcome is unknown: still held
# until the account's transactions say whether it happened).
PENDING = "pending"
ISSUED = "issued"
USED = "used"
FAILED = "failed"
RELEASED_STATE = "released"
UNCONFIRMED = "unconfirmed"
OPEN_STATES = (PENDING, UNCONFIRMED)


class GameCampaign(db.Model):
    """A merchant's bonus game: where rewards are, and the rules for collecting.

    ``spent`` is what visitors collected so far; the database refuses it
    above ``budget``. Money is in ``currency``, the shop's.
    """

    __tablename__ = "game_campaigns"
    __table_args__ = (
        CheckConstraint("spent >= 0 AND spent <= budget", name="within_budget"),
        Index("ix_game_campaigns_shop", "shop_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    paused: Mapped[bool] = mapped_column(default=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Seconds a page view must be old, by the server's clock, to collect.
    min_seconds: Mapped[int] = mapped_column()
    # Most one visitor may collect in this campaign.
    cap_per_visitor: Mapped[Decimal] = mapped_column(Money)
    budget: Mapped[Decimal] = mapped_column(Money)
    spent: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    # Collected credit expires this many days after it was collected.
    credit_expiry_days: Mapped[int] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    # How the collectible looks: {"icon", "color", "texts": {locale: label}}.
    look: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    def is_live(self, now: datetime) -> bool:
        if self.paused or now < self.starts_at:
            return False
        return self.ends_at is None or now < self.ends_at

    def __repr__(self) -> str:
        return f"<GameCampaign {self.id} {self.name!r}>"


class GameTarget(db.Model):
    """One page of a campaign and its reward.

    Removed targets stay (``removed_at``), so what was collected on them
    keeps its page and nobody collects a page twice by its being re-added.
    """

    __tablename__ = "game_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("game_campaigns.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    # A URL pattern (``*`` for any text), a product id or handle, or a
    # collection handle.
    value: Mapped[str] = mapped_column(Text)
    reward: Mapped[Decimal] = mapped_column(Money)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GameParticipant(db.Model):
    """One visitor in one campaign: first sight of a collectible, amount collected."""

    __tablename__ = "game_participants"
    __table_args__ = (
        UniqueConstraint("campaign_id", "visitor_id"),
        CheckConstraint("collected >= 0", name="collected_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("game_campaigns.id", ondelete="CASCADE")
    )
    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("visitors.id", ondelete="CASCADE")
    )
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    collected: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GameWallet(db.Model):
    """One person's bonus balance in one shop.

    ``owner_key`` is ``customer:<id>`` once the platform's customer is
    known, else ``visitor:<visitor id>``. A wallet that was folded into
    another (the visitor turned out to be a known customer, or two visitors
    one person) keeps ``merged_into_id`` and a zero balance.
    """

    __tablename__ = "game_wallets"
    __table_args__ = (
        UniqueConstraint("shop_id", "owner_key"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    owner_key: Mapped[str] = mapped_column(String(96))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("visitors.id", ondelete="SET NULL")
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("game_wallets.id", ondelete="SET NULL")
    )
    # Kept equal to the sum of the wallet's ledger entries, in the same
    # transaction as each entry.
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )


class GameCollect(db.Model):
    """A reward collected: one per target page and visitor, one per token."""

    __tablename__ = "game_collects"
    __table_args__ = (
        UniqueConstraint("target_id", "visitor_id"),
        UniqueConstraint("token_nonce"),
        Index("ix_game_collects_campaign", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("game_campaigns.id", ondelete="CASCADE")
    )
    target_id: Mapped[int] = mapped_column(
        ForeignKey("game_targets.id", ondelete="CASCADE")
    )
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("visitors.id", ondelete="SET NULL")
    )
    amount: Mapped[Decimal] = mapped_column(Money)
    # The collect token's single-use nonce.
    token_nonce: Mapped[str] = mapped_column(String(32))
    # The page view the token was issued for: its client event id (the row
    # in visitor_events, once drained) and the server's time of it.
    page_event_id: Mapped[str] = mapped_column(String(64))
    page_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GameRedemption(db.Model):
    """A wallet's balance turned into store credit or a single-use discount code."""

    __tablename__ = "game_redemptions"
    __table_args__ = (
        UniqueConstraint("shop_id", "code"),
        UniqueConstraint("shop_id", "transaction_id"),
        Index("ix_game_redemptions_shop_status", "shop_id", "status"),
        Index("ix_game_redemptions_wallet", "wallet_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    wallet_id: Mapped[int] = mapped_column(
        ForeignKey("game_wallets.id", ondelete="CASCADE")
    )
    # The platform customer the credit or code is for; None: anyone's code.
    customer_id: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    code: Mapped[str | None] = mapped_column(String(64))
    # The platform's ids: the code discount, or the credit transaction.
    discount_id: Mapped[str | None] = mapped_column(String(128))
    transaction_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(default=0)
    # When an attempt to call the platform started; None between attempts.
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )


class GameLedgerEntry(db.Model):
    """One movement of bonus money in a wallet. Never changed once written.

    A lot (``collected``, ``transferred_in``) carries its campaign and
    expiry; every other entry names its lot (``lot_id``) and repeats them.
    """

    __tablename__ = "game_ledger_entries"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_game_ledger_entries_wallet", "wallet_id", "id"),
        Index("ix_game_ledger_entries_lot", "lot_id"),
        Index("ix_game_ledger_entries_campaign", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(EntryId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    wallet_id: Mapped[int] = mapped_column(
        ForeignKey("game_wallets.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(24))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    lot_id: Mapped[int | None] = mapped_column(
        EntryId, ForeignKey("game_ledger_entries.id", ondelete="CASCADE")
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("game_campaigns.id", ondelete="CASCADE")
    )
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    collect_id: Mapped[int | None] = mapped_column(
        ForeignKey("game_collects.id", ondelete="CASCADE")
    )
    redemption_id: Mapped[int | None] = mapped_column(
        ForeignKey("game_redemptions.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GameAttribution(db.Model):
    """An order that used a redemption, credited to one campaign it came from.

    ``revenue`` is the campaign's share of the order's total, in proportion
    to the part of the redeemed amount collected in that campaign.
    """

    __tablename__ = "game_attributions"
    __table_args__ = (UniqueConstraint("order_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("game_campaigns.id", ondelete="CASCADE"), index=True
    )
    redemption_id: Mapped[int] = mapped_column(
        ForeignKey("game_redemptions.id", ondelete="CASCADE")
    )
    wallet_id: Mapped[int] = mapped_column(
        ForeignKey("game_wallets.id", ondelete="CASCADE")
    )
    # The part of the redeemed amount that was this campaign's.
    amount: Mapped[Decimal] = mapped_column(Money)
    revenue: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
