"""Reading a cart again at send time: what is left to show, and where to send.

Lines whose variant the platform no longer has (deleted) or cannot sell
(out of stock) are left out; when nothing is left, nothing is sent. Missing
data never breaks a card: the cart line's own title and price stand in for a
product the catalog could not describe, and the renderer draws a placeholder
for a missing image. ``{cart_total}`` is what the remaining items cost now.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from engine.catalog.variants import VariantDetails
from engine.channels.prices import format_price
from engine.commerce.models import Cart, Checkout, LineItem
from engine.db import db
from engine.reminders.content import CartItem, CartView
from engine.shops.models import Shop
from engine.visitors.models import Visitor


@dataclass(frozen=True)
class CartTarget:
    """Where a reminder's links lead, and the shopper's first name if known."""

    url: str
    first_name: str | None


def view_cart(
    shop: Shop,
    cart: Cart,
    details: dict[str, VariantDetails | None],
    target: CartTarget,
    link: str,
) -> CartView | None:
    """What a reminder shows of ``cart``, or None when nothing can be sold."""
    currency = shop.currency or cart.currency or "USD"
    kept = [
        (line, details.get(line.variant_id or ""))
        for line in cart.line_items
        if _still_sold(line, details)
    ]
    if not kept:
        return None

    items = tuple(_item(line, detail, currency) for line, detail in kept)
    prices = [_price(line, detail) for line, detail in kept]
    if any(price is None for price in prices):
        total = cart.total_price
    else:
        total = sum(
            (
                price * line.quantity
                for price, (line, _) in zip(prices, kept, strict=True)
            ),
            Decimal(0),
        )
    values = {
        "first_name": target.first_name,
        "cart_total": format_price(total, currency) if total is not None else None,
        "item_count": str(sum(line.quantity for line, _ in kept)),
        "shop_name": shop.name or shop.shop_name,
    }
    return CartView(items=items, values=values, link=link)


def open_checkouts(carts: list[Cart]) -> dict[tuple[int, str], Checkout]:
    """The newest unfinished checkout of each cart, keyed by shop and cart token."""
    tokens = {cart.token for cart in carts}
    shop_ids = {cart.shop_id for cart in carts}
    if not tokens:
        return {}
    checkouts = db.session.scalars(
        select(Checkout)
        .where(
            Checkout.shop_id.in_(shop_ids),
            Checkout.cart_token.in_(tokens),
            Checkout.completed_at.is_(None),
        )
        .order_by(Checkout.platform_updated_at.desc().nulls_last(), Checkout.id.desc())
    )
    newest: dict[tuple[int, str], Checkout] = {}
    for checkout in checkouts:
        newest.setdefault((checkout.shop_id, checkout.cart_token or ""), checkout)
    return newest


def cart_target(
    shop: Shop,
    cart: Cart,
    checkout: Checkout | None,
    visitor: Visitor | None,
    details: dict[str, VariantDetails | None],
) -> CartTarget:
    """The recovered checkout of the cart, else a cart link that rebuilds it
    from what is still for sale."""
    first_name = (checkout.first_name if checkout else None) or (
        visitor.first_name if visitor else None
    )
    if checkout is not None and checkout.abandoned_checkout_url:
        return CartTarget(checkout.abandoned_checkout_url, first_name)
    return CartTarget(_cart_permalink(shop, cart, details), first_name)


def _cart_permalink(
    shop: Shop, cart: Cart, details: dict[str, VariantDetails | None]
) -> str:
    # The platform's cart permalinks (/cart/<variant>:<quantity>,...) fill a
    # cart on any device, which a cart token cannot. A sold-out or deleted
    # variant would make the platform refuse the whole link.
    lines = ",".join(
        f"{line.variant_id}:{line.quantity}"
        for line in cart.line_items
        if line.variant_id and _still_sold(line, details)
    )
    return (
        f"https://{shop.shop_domain}/cart/{lines}"
        if lines
        else (f"https://{shop.shop_domain}/cart")
    )


def _still_sold(line: LineItem, details: dict[str, VariantDetails | None]) -> bool:
    if not line.variant_id or line.variant_id not in details:
        # A custom line, or one the catalog could not be asked about: it
        # stays, described by the cart itself.
        return True
    detail = details[line.variant_id]
    return detail is not None and detail.available


def _item(line: LineItem, detail: VariantDetails | None, currency: str) -> CartItem:
    price = _price(line, detail)
    title = (detail.product_title if detail else None) or line.title or "Your item"
    variant = (detail.variant_title if detail else None) or line.variant_title
    description = detail.description if detail else None
    subtitle = " · ".join(part for part in (variant, description) if part) or None
    return CartItem(
        title=title,
        subtitle=subtitle,
        price_text=format_price(price, currency) if price is not None else "",
        image_url=detail.image_url if detail else None,
        quantity=line.quantity,
    )


def _price(line: LineItem, detail: VariantDetails | None) -> Decimal | None:
    if detail is not None and detail.price is not None:
        return detail.price
    return line.price
