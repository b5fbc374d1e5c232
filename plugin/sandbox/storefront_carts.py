"""Carts of the demo storefront, in the shapes Shopify gives them.

``StoreCarts`` keeps every cart in memory, keyed by its token (the value of
the ``cart`` cookie). ``ajax_cart`` and ``ajax_line`` answer in the Ajax Cart
API's JSON (money in hundredths); ``webhook_payload`` is the body of a
``carts/create`` or ``carts/update`` webhook (money as decimal strings), like
``payloads/carts_update.json``.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from plugin.sandbox.storefront_catalog import (
    VENDOR,
    Product,
    Variant,
    money,
    variant_by_id,
)

if TYPE_CHECKING:
    from plugin.sandbox.shopify_rewards import StoredDiscount


class CartError(Exception):
    """A cart request Shopify would refuse, with its status and description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description

    def body(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": "Cart Error",
            "description": self.description,
        }


@dataclass
class CartLine:
    product: Product
    variant: Variant
    quantity: int

    @property
    def key(self) -> str:
        # Shopify's line key: the variant id and a digest of the line's
        # properties (none here).
        digest = hashlib.md5(str(self.variant.id).encode()).hexdigest()
        return f"{self.variant.id}:{digest}"


@dataclass
class Cart:
    token: str
    currency: str
    created_at: datetime
    updated_at: datetime
    lines: list[CartLine] = field(default_factory=list)
    # The key /cart.js appends to the token since 2024-06; webhooks omit it.
    key: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def total_price(self) -> int:
        return sum(line.variant.price * line.quantity for line in self.lines)

    def line_for(self, reference: str | int) -> CartLine | None:
        """The line a change names: by line key, or by variant id."""
        for line in self.lines:
            if str(reference) in (line.key, str(line.variant.id)):
                return line
        return None


class StoreCarts:
    """Every cart of every demo store, safe to use from server threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._carts: dict[str, Cart] = {}

    def find(self, token: str | None) -> Cart | None:
        with self._lock:
            return self._carts.get(token or "")

    def open(self, token: str | None, currency: str) -> tuple[Cart, bool]:
        """The cart of this token, or a new one; True when it was created."""
        with self._lock:
            cart = self._carts.get(token or "")
            if cart is not None:
                return cart, False
            now = datetime.now(UTC)
            cart = Cart(secrets.token_hex(16), currency, now, now)
            self._carts[cart.token] = cart
            return cart, True

    def add(self, cart: Cart, variant_id: Any, quantity: Any) -> CartLine:
        """Add a variant to the cart (merging into its line); the line after."""
        found = variant_by_id(_integer(variant_id, "id"))
        if found is None:
            raise CartError(404, "Cannot find variant")
        count = _integer(quantity if quantity not in (None, "") else 1, "quantity")
        if count < 1:
            raise CartError(422, "Quantity must be 1 or more")

        with self._lock:
            product, variant = found
            line = cart.line_for(variant.id)
            if line is None:
                line = CartLine(product, variant, 0)
                cart.lines.append(line)
            line.quantity += count
            cart.updated_at = datetime.now(UTC)
            return line

    def set_quantity(self, cart: Cart, line: CartLine, quantity: Any) -> None:
        """Set a line's quantity; zero removes the line."""
        count = _integer(quantity, "quantity")
        if count < 0:
            raise CartError(422, "Quantity must be 0 or more")
        with self._lock:
            if count == 0:
                cart.lines.remove(line)
            else:
                line.quantity = count
            cart.updated_at = datetime.now(UTC)

    def clear(self, cart: Cart) -> None:
        with self._lock:
            cart.lines.clear()
            cart.updated_at = datetime.now(UTC)

    def forget_all(self) -> None:
        with self._lock:
            self._carts.clear()


def ajax_line(line: CartLine, store_root: str) -> dict[str, Any]:
    """A line as /cart.js and /cart/add.js show it (a subset of the fields)."""
    product, variant = line.product, line.variant
    line_price = variant.price * line.quantity
    return {
        "id": variant.id,
        "properties": {},
        "quantity": line.quantity,
        "variant_id": variant.id,
        "key": line.key,
        "title": _line_title(product, variant),
        "price": variant.price,
        "original_price": variant.price,
        "discounted_price": variant.price,
        "line_price": line_price,
        "original_line_price": line_price,
        "final_price": variant.price,
        "final_line_price": line_price,
        "total_discount": 0,
        "discounts": [],
        "sku": variant.sku,
        "grams": variant.grams,
        "vendor": VENDOR,
        "taxable": True,
        "product_id": product.id,
        "product_has_only_default_variant": product.has_only_default_variant,
        "gift_card": False,
        "url": f"{store_root}products/{product.handle}?variant={variant.id}",
        "image": f"{store_root}images/{product.handle}.svg",
        "handle": product.handle,
        "requires_shipping": True,
        "product_type": product.product_type,
        "product_title": product.title,
        "variant_title": None if product.has_only_default_variant else variant.title,
    }


def ajax_cart(cart: Cart, store_root: str) -> dict[str, Any]:
    """The cart as GET /cart.js and the change endpoints answer it."""
    total = cart.total_price
    return {
        "token": f"{cart.token}?key={cart.key}",
        "note": None,
        "attributes": {},
        "original_total_price": total,
        "total_price": total,
        "total_discount": 0,
        "total_weight": sum(line.variant.grams * line.quantity for line in cart.lines),
        "item_count": cart.item_count,
        "items": [ajax_line(line, store_root) for line in cart.lines],
        "requires_shipping": bool(cart.lines),
        "currency": cart.currency,
        "items_subtotal_price": total,
        "cart_level_discount_applications": [],
    }


def empty_ajax_cart(currency: str) -> dict[str, Any]:
    """/cart.js for a visitor without a cart yet."""
    return {
        "token": None,
        "note": None,
        "attributes": {},
        "original_total_price": 0,
        "total_price": 0,
        "total_discount": 0,
        "total_weight": 0,
        "item_count": 0,
        "items": [],
        "requires_shipping": False,
        "currency": currency,
        "items_subtotal_price": 0,
        "cart_level_discount_applications": [],
    }


def with_discount_code(
    ajax: dict[str, Any], code: str, discount: StoredDiscount | None, now: datetime
) -> dict[str, Any]:
    """The cart as /cart.js shows it with a code applied (the ``discount_code``
    cookie that /discount/<code> sets), or marked not applicable.

    An amount-off code takes its amount off the whole cart, never below zero;
    the storefront has no signed-in customers, so a code for named
    customers does not apply here.
    """
    refusal = "This discount code doesn't exist." if discount is None else None
    refusal = refusal or discount.refusal(now, customer_id=None)
    applies = refusal is None and ajax["item_count"] > 0
    ajax = {**ajax, "discount_codes": [{"code": code, "applicable": applies}]}
    if not applies:
        ajax["discount_refusal"] = refusal
        return ajax

    cents = min(int(discount.amount * 100), ajax["total_price"])
    ajax["total_discount"] = cents
    ajax["total_price"] -= cents
    ajax["cart_level_discount_applications"] = [
        {
            "type": "discount_code",
            "key": discount.code,
            "title": discount.code,
            "description": None,
            "value": str(discount.amount),
            "value_type": "fixed_amount",
            "allocation_method": "across",
            "target_selection": "all",
            "target_type": "line_item",
            "total_allocated_amount": cents,
        }
    ]
    return ajax


def webhook_payload(cart: Cart) -> dict[str, Any]:
    """The body of carts/create or carts/update for this cart, as it is now."""
    return {
        "id": cart.token,
        "token": cart.token,
        "line_items": [_webhook_line(line) for line in cart.lines],
        "note": None,
        "updated_at": _timestamp(cart.updated_at),
        "created_at": _timestamp(cart.created_at),
    }


def _webhook_line(line: CartLine) -> dict[str, Any]:
    product, variant = line.product, line.variant
    line_price = money(variant.price * line.quantity)
    return {
        "id": variant.id,
        "key": line.key,
        "properties": {},
        "quantity": line.quantity,
        "variant_id": variant.id,
        "product_id": product.id,
        "title": product.title,
        "variant_title": variant.title,
        "sku": variant.sku,
        "vendor": VENDOR,
        "price": money(variant.price),
        "original_price": money(variant.price),
        "discounted_price": money(variant.price),
        "line_price": line_price,
        "original_line_price": line_price,
        "total_discount": "0.00",
        "discounts": [],
        "grams": variant.grams,
        "taxable": True,
        "gift_card": False,
    }


def _line_title(product: Product, variant: Variant) -> str:
    if product.has_only_default_variant:
        return product.title
    return f"{product.title} - {variant.title}"


def _integer(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise CartError(422, f"Parameter {name!r} must be a number") from None


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
