"""Helpers for the reminder tests: shoppers with carts, products and bindings."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.binding.models import LINE, MESSENGER, ChannelBinding
from engine.channels.models import ChannelAccount
from engine.commerce.apply import apply_cart, apply_order
from engine.commerce.models import Cart, Order
from engine.db import db
from engine.reminders import clock
from engine.reminders.models import ReminderRun, ReminderSend
from engine.reminders.sweep import enqueue_due_reminders
from engine.shops.models import Shop
from engine.visitors.models import Visitor
from plugin.sandbox.shopify_platform import FakeShopifyPlatform

LINE_CHANNEL_ID = "1650000001"
LINE_TOKEN = "line-access-token-for-tests"
PAGE_ID = "1000000001"
PAGE_TOKEN = "page-access-token-for-tests"
TAIPEI = ZoneInfo("Asia/Taipei")
# A new shop's abandonment wait, and its first step's delay.
WAIT = timedelta(minutes=30)
HOUR = timedelta(hours=1)

# Products of the test shop: (product id, title, [(variant id, title, price)]).
OOLONG = 632910392
OOLONG_100G = 808950810
OOLONG_250G = 808950811
MATCHA = 632910393
MATCHA_TIN = 808950820
KETTLE = 632910394
KETTLE_STEEL = 808950830


def taipei(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in December 2026, Taipei time, as an aware UTC datetime."""
    return datetime(2026, 12, day, hour, minute, tzinfo=TAIPEI).astimezone(UTC)


def kick() -> None:
    """The sweep, with no grace: wake a worker for everything due now."""
    enqueue_due_reminders(grace=timedelta())


def move_clock_to(moment: datetime) -> datetime:
    """Set the reminders' sandbox clock so that now is ``moment``."""
    clock.set_offset((moment - datetime.now(UTC)).total_seconds())
    return clock.now()


def line_user_id(name: str) -> str:
    """A LINE userId ("U" and 32 hex digits) standing for ``name``."""
    return "U" + hashlib.md5(name.encode()).hexdigest()


def stock_products(platform: FakeShopifyPlatform, shop_domain: str) -> None:
    platform.add_product(
        shop_domain,
        "High Mountain Oolong",
        product_id=OOLONG,
        description="Roasted oolong from Alishan, picked in spring.",
        image_url="https://cdn.example.com/oolong.jpg",
        variants=[
            {"id": OOLONG_100G, "title": "100 g", "price": "450.00", "inventory": 5},
            {"id": OOLONG_250G, "title": "250 g", "price": "990.00", "inventory": 5},
        ],
    )
    platform.add_product(
        shop_domain,
        "Ceremonial Matcha",
        product_id=MATCHA,
        description="Stone-ground in Uji.",
        image_url="https://cdn.example.com/matcha.png",
        variants=[{"id": MATCHA_TIN, "price": "680.00", "inventory": 2}],
    )
    platform.add_product(
        shop_domain,
        "Steel Kettle",
        product_id=KETTLE,
        variants=[{"id": KETTLE_STEEL, "price": "1200.00", "inventory": None}],
    )


def connect_channels(shop: Shop) -> None:
    """The shop's LINE account and Facebook Page, as the fakes know them."""
    db.session.add_all(
        [
            ChannelAccount(
                shop_id=shop.id,
                channel=LINE,
                line_channel_id=LINE_CHANNEL_ID,
                line_channel_access_token=LINE_TOKEN,
                line_channel_secret="line-secret",
            ),
            ChannelAccount(
                shop_id=shop.id,
                channel=MESSENGER,
                messenger_page_id=PAGE_ID,
                messenger_page_access_token=PAGE_TOKEN,
            ),
        ]
    )
    db.session.commit()


@dataclass
class Shopper:
    visitor: Visitor
    binding: ChannelBinding


def make_shopper(
    shop: Shop,
    name: str = "mei",
    *,
    channel: str = LINE,
    external_id: str | None = None,
    email: str | None = None,
    customer_id: str | None = None,
    last_inbound_at: datetime | None = None,
) -> Shopper:
    visitor = Visitor(
        shop_id=shop.id,
        public_id=f"v-{name}",
        first_name=name.title(),
        email=email,
        customer_id=customer_id,
    )
    db.session.add(visitor)
    db.session.flush()
    binding = ChannelBinding(
        shop_id=shop.id,
        visitor_id=visitor.id,
        channel=channel,
        external_id=external_id or line_user_id(name),
        last_inbound_at=last_inbound_at,
    )
    db.session.add(binding)
    db.session.commit()
    return Shopper(visitor, binding)


def cart_payload(
    token: str, lines: list[tuple[int, int]], updated_at: datetime
) -> dict[str, Any]:
    """A ``carts/update`` body holding ``(variant id, quantity)`` lines."""
    prices = {
        OOLONG_100G: ("High Mountain Oolong", "100 g", OOLONG, "450.00"),
        OOLONG_250G: ("High Mountain Oolong", "250 g", OOLONG, "990.00"),
        MATCHA_TIN: ("Ceremonial Matcha", None, MATCHA, "680.00"),
        KETTLE_STEEL: ("Steel Kettle", None, KETTLE, "1200.00"),
    }
    line_items = []
    for variant_id, quantity in lines:
        title, variant_title, product_id, price = prices[variant_id]
        line_items.append(
            {
                "id": variant_id,
                "product_id": product_id,
                "variant_id": variant_id,
                "title": title,
                "variant_title": variant_title,
                "quantity": quantity,
                "price": price,
                "line_price": f"{float(price) * quantity:.2f}",
            }
        )
    stamp = updated_at.isoformat()
    return {
        "id": token,
        "token": token,
        "line_items": line_items,
        "created_at": stamp,
        "updated_at": stamp,
        "currency": "TWD",
    }


def leave_cart(
    shop: Shop,
    shopper: Shopper,
    token: str,
    lines: list[tuple[int, int]],
    at: datetime,
) -> Cart:
    """The shopper's cart as the platform reports it, owned by their visitor."""
    cart = db.session.scalar(
        select(Cart).where(Cart.shop_id == shop.id, Cart.token == token)
    )
    if cart is None:
        cart = Cart(shop_id=shop.id, token=token, visitor_id=shopper.visitor.id)
        db.session.add(cart)
        db.session.flush()
    apply_cart(shop, cart_payload(token, lines, at))
    db.session.commit()
    return cart


def place_order(
    shop: Shop,
    order_id: int,
    at: datetime,
    *,
    cart_token: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    customer_id: int | None = None,
    total: str = "1130.00",
) -> Order:
    stamp = at.isoformat()
    payload = {
        "id": order_id,
        "name": f"#{order_id}",
        "created_at": stamp,
        "updated_at": stamp,
        "cart_token": cart_token,
        "checkout_token": None,
        "email": email,
        "phone": phone,
        "currency": "TWD",
        "total_price": total,
        "financial_status": "paid",
        "customer": {"id": customer_id, "email": email} if customer_id else None,
        "line_items": [],
    }
    order = apply_order(shop, payload)
    db.session.commit()
    return order


def sends_of(shop: Shop) -> list[ReminderSend]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ReminderSend)
            .where(ReminderSend.shop_id == shop.id)
            .order_by(ReminderSend.run_id, ReminderSend.position)
        )
    )


def runs_of(shop: Shop) -> list[ReminderRun]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ReminderRun)
            .where(ReminderRun.shop_id == shop.id)
            .order_by(ReminderRun.id)
        )
    )


def wait_for(
    condition: Callable[[], object], timeout: float = 15.0, what: str = "condition"
) -> object:
    """Poll until ``condition()`` is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {what}.")
        time.sleep(0.02)
