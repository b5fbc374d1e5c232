"""Carts, checkouts and orders, with their line items."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Timestamps, UTCDateTime, db

Money = Numeric(14, 2)


class Priced:
    """A total in the currency the shopper saw."""

    currency: Mapped[str | None] = mapped_column(String(3))
    total_price: Mapped[Decimal | None] = mapped_column(Money)


class BuyerContact:
    """Who the platform says is buying; any of the three may be missing."""

    customer_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))


class Cart(Priced, Timestamps, db.Model):
    __tablename__ = "carts"
    __table_args__ = (UniqueConstraint("shop_id", "token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(255))
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("visitors.id", ondelete="SET NULL")
    )
    item_count: Mapped[int] = mapped_column(default=0)
    # When an order was placed from this cart; set once, never cleared.
    ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    platform_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    platform_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    line_items: Mapped[list[LineItem]] = relationship(
        cascade="all, delete-orphan",
        order_by="LineItem.position",
        foreign_keys="LineItem.cart_id",
    )


class Checkout(BuyerContact, Priced, Timestamps, db.Model):
    __tablename__ = "checkouts"
    __table_args__ = (
        UniqueConstraint("shop_id", "token"),
        Index("ix_checkouts_shop_cart_token", "shop_id", "cart_token"),
        Index("ix_checkouts_shop_customer", "shop_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # The platform keys checkouts by token since it removed their id (2026-04).
    token: Mapped[str] = mapped_column(String(255))
    cart_token: Mapped[str | None] = mapped_column(String(255))
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("visitors.id", ondelete="SET NULL")
    )
    first_name: Mapped[str | None] = mapped_column(String(255))
    abandoned_checkout_url: Mapped[str | None] = mapped_column(Text)
    # Set once the checkout became an order; never cleared by older news.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    platform_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    platform_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    line_items: Mapped[list[LineItem]] = relationship(
        cascade="all, delete-orphan",
        order_by="LineItem.position",
        foreign_keys="LineItem.checkout_id",
    )


class Order(BuyerContact, Priced, Timestamps, db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "order_id"),
        Index("ix_orders_shop_checkout_token", "shop_id", "checkout_token"),
        Index("ix_orders_shop_cart_token", "shop_id", "cart_token"),
        Index("ix_orders_shop_customer", "shop_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    # The platform's numeric order id, kept as text.
    order_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(64))
    checkout_token: Mapped[str | None] = mapped_column(String(255))
    cart_token: Mapped[str | None] = mapped_column(String(255))
    visitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("visitors.id", ondelete="SET NULL")
    )
    financial_status: Mapped[str | None] = mapped_column(String(32))
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    platform_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    line_items: Mapped[list[LineItem]] = relationship(
        cascade="all, delete-orphan",
        order_by="LineItem.position",
        foreign_keys="LineItem.order_id",
    )


class LineItem(db.Model):
    """One product line of exactly one cart, checkout or order."""

    __tablename__ = "line_items"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN cart_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN checkout_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN order_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_parent",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    cart_id: Mapped[int | None] = mapped_column(
        ForeignKey("carts.id", ondelete="CASCADE"), index=True
    )
    checkout_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkouts.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    product_id: Mapped[str | None] = mapped_column(String(64))
    variant_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(512), default="")
    variant_title: Mapped[str | None] = mapped_column(String(512))
    sku: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(default=1)
    price: Mapped[Decimal | None] = mapped_column(Money)
