"""Message parts for the channel tests: a tea shop's cart, built to order."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from engine.channels.messages import Card, Carousel, SeeAll
from engine.channels.prices import format_price

CART_URL = "https://revisit-test.myshopify.com/cart/c/abc123?rv=tok"
IMAGE_URL = "https://cdn.shopify.com/s/files/1/0001/products/oolong.jpg?v=1"


def card(index: int = 1, **changes: object) -> Card:
    """A product card; ``changes`` replace fields."""
    base = Card(
        title=f"Alishan Oolong {index}",
        subtitle="150 g tin",
        price_text=format_price(Decimal("1290"), "TWD", "zh-TW"),
        image_url=IMAGE_URL,
        button_label="Check out",
        button_url=CART_URL,
    )
    return replace(base, **changes)


def cards(count: int) -> tuple[Card, ...]:
    return tuple(card(index + 1) for index in range(count))


def carousel(count: int, *, see_all_total: int | None = None) -> Carousel:
    """A carousel of ``count`` cards, with a see-all card for a larger cart."""
    see_all = None
    if see_all_total is not None:
        see_all = SeeAll(f"See all {see_all_total} items", CART_URL, see_all_total)
    return Carousel(cards(count), "Your cart is waiting", see_all)
