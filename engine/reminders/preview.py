"""What a step's message looks like on LINE and Messenger, and test sends of it.

The preview is the real thing: the step's parts are built exactly as at send
time (``content.build_parts``) from a cart of the shop, read again as a send
would read it, or from a sample cart, and then rendered by each channel's
own renderer, so a preview that renders is a message the platform takes.
Only the buttons' address differs: a real send opens a tracked link to the
recovered checkout, the preview opens the checkout itself.

``send_test`` delivers the same parts to the merchant's own account on the
channel (``ChannelAccount.test_recipient_id``), or, without one, records
them in the sandbox outbox rendered for that channel. Test sends are not
reminders: they never count in the results.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.binding.models import CHANNELS, LINE, MESSENGER
from engine.catalog.variants import variant_details
from engine.channels.errors import ChannelError, InvalidMessageError
from engine.channels.line import render as line_render
from engine.channels.messenger import render as messenger_render
from engine.channels.prices import format_price
from engine.channels.registry import account_of, channel_for
from engine.channels.sandbox import SandboxChannel
from engine.commerce.models import Cart
from engine.db import db
from engine.reminders.cart_view import cart_target, open_checkouts, view_cart
from engine.reminders.content import CartItem, CartView, build_parts
from engine.reminders.defaults import flow_for
from engine.reminders.errors import FlowValidationError
from engine.reminders.models import ANY_CHANNEL
from engine.shopify.errors import AccessRevokedError, AdminApiError
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

RENDERERS = {LINE: line_render.render, MESSENGER: messenger_render.render}
# Carts offered to preview with: the shop's newest that still hold items.
RECENT_CARTS = 10
SANDBOX_RECIPIENT = "you (test)"

_PART = re.compile(r"part (\d+) \((\w+)\)")


@dataclass(frozen=True)
class Rendering:
    """One channel's payload for a step, or why that channel refuses it."""

    channel: str
    payload: list[dict[str, Any]] | None
    field: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Preview:
    """A step rendered for each channel it may go to, from one cart."""

    cart_id: int | None
    cart_label: str
    renderings: tuple[Rendering, ...]


@dataclass(frozen=True)
class TestSend:
    """Where a test went: ``delivered_to`` is "line", "messenger" or "sandbox"."""

    channel: str
    delivered_to: str
    recipient_id: str
    message_ids: tuple[str, ...]


def sample_view(shop: Shop) -> CartView:
    """A cart of two made-up items in the shop's currency, for previews."""
    currency = shop.currency or "USD"
    prices = (Decimal("1290"), Decimal("450"))
    items = (
        CartItem("Sample product", "Large · a short description", "", None, 1),
        CartItem("Another product", None, "", None, 2),
    )
    items = tuple(
        CartItem(
            item.title,
            item.subtitle,
            format_price(price, currency),
            item.image_url,
            item.quantity,
        )
        for item, price in zip(items, prices, strict=True)
    )
    total = prices[0] + prices[1] * 2
    return CartView(
        items=items,
        values={
            "first_name": "Mei",
            "cart_total": format_price(total, currency),
            "item_count": "3",
            "shop_name": shop.name or shop.shop_name,
        },
        link=f"https://{shop.shop_domain}/cart",
    )


def preview_step(
    shop: Shop, message: Sequence[dict[str, Any]], channel: str, cart_id: int | None
) -> Preview:
    """Render a step's (already validated) message for each channel it may use.

    ``channel`` is the step's: one channel, or "any" for both. A ``cart_id``
    of the shop previews with that cart as a send would see it; without one,
    or when nothing of it is for sale any more, with the sample.
    """
    view, label, used_cart = _view_for(shop, cart_id)
    channels = CHANNELS if channel == ANY_CHANNEL else (channel,)
    return Preview(
        cart_id=used_cart,
        cart_label=label,
        renderings=tuple(_render(message, view, name) for name in channels),
    )


def check_renders(steps: Sequence[dict[str, Any]], sample: CartView) -> None:
    """Refuse a step that a channel it may go to could not take.

    Each enabled step is rendered from ``sample`` for its channel (both for
    "any"), so a text too long for Messenger or a button set LINE cannot
    show is refused when saved, at the field, not at send time.

    Raises:
        FlowValidationError: naming the step's part at fault.
    """
    for index, step in enumerate(steps):
        channels = CHANNELS if step["channel"] == ANY_CHANNEL else (step["channel"],)
        for name in channels:
            rendering = _render(step["message"], sample, name, f"steps[{index}]")
            if rendering.error is not None:
                raise FlowValidationError(rendering.field or "steps", rendering.error)


def recent_carts(shop: Shop) -> list[Cart]:
    """The shop's newest unordered carts with items, to preview with."""
    return list(
        db.session.scalars(
            select(Cart)
            .where(
                Cart.shop_id == shop.id,
                Cart.ordered_at.is_(None),
                Cart.item_count > 0,
            )
            .order_by(Cart.updated_at.desc(), Cart.id.desc())
            .limit(RECENT_CARTS)
        )
    )


def send_test(
    shop: Shop, message: Sequence[dict[str, Any]], channel: str, cart_id: int | None
) -> TestSend:
    """Deliver a step's message to the merchant, or to the sandbox outbox.

    For a step on "any" channel the first channel of the flow's order with
    a test recipient is used, else the first in that order. The caller
    commits (the sandbox records in the caller's transaction).

    Raises:
        ChannelError: what the platform said (or the renderer found).
    """
    name = _test_channel(shop, channel)
    view, _, _ = _view_for(shop, cart_id)
    parts = build_parts(message, view)
    account = account_of(shop.id, name)
    retry_key = str(uuid.uuid4())

    if account is not None and account.enabled and account.test_recipient_id:
        result = channel_for(shop, name).send(
            account.test_recipient_id, parts, retry_key=retry_key
        )
        delivered_to, recipient = name, account.test_recipient_id
    else:
        sandbox = SandboxChannel(shop.id, rendered_for=name)
        result = sandbox.send(SANDBOX_RECIPIENT, parts, retry_key=retry_key)
        delivered_to, recipient = "sandbox", SANDBOX_RECIPIENT
    logger.info(
        "reminders.test_sent",
        extra={"shop_id": shop.id, "channel": name, "delivered_to": delivered_to},
    )
    return TestSend(name, delivered_to, recipient, result.platform_message_ids)


def _test_channel(shop: Shop, channel: str) -> str:
    if channel != ANY_CHANNEL:
        return channel
    order = flow_for(shop).channel_order or list(CHANNELS)
    for name in order:
        account = account_of(shop.id, name)
        if account is not None and account.enabled and account.test_recipient_id:
            return name
    return order[0]


def _view_for(shop: Shop, cart_id: int | None) -> tuple[CartView, str, int | None]:
    if cart_id is not None:
        cart = db.session.scalar(
            select(Cart)
            .where(Cart.shop_id == shop.id, Cart.id == cart_id)
            .options(selectinload(Cart.line_items))
        )
        if cart is not None:
            view = _cart_view(shop, cart)
            if view is not None:
                return view, f"Cart {cart.id} ({cart.item_count} item(s))", cart.id
    return sample_view(shop), "Sample cart", None


def _cart_view(shop: Shop, cart: Cart) -> CartView | None:
    ids = {line.variant_id for line in cart.line_items if line.variant_id}
    try:
        details = variant_details(shop, ids) if ids else {}
    except (AdminApiError, AccessRevokedError) as error:
        # The preview still shows the cart, described by its own lines.
        logger.warning(
            "reminders.preview_catalog_unavailable",
            extra={"shop_id": shop.id, "error": type(error).__name__},
        )
        details = {}
    checkout = open_checkouts([cart]).get((shop.id, cart.token))
    target = cart_target(shop, cart, checkout, None)
    return view_cart(shop, cart, details, target, target.url)


def _render(
    message: Sequence[dict[str, Any]],
    view: CartView,
    channel: str,
    step_field: str = "step",
) -> Rendering:
    try:
        parts = build_parts(message, view)
        return Rendering(channel, RENDERERS[channel](parts))
    except InvalidMessageError as error:
        return Rendering(
            channel,
            None,
            field=_field_of(error, message, f"{step_field}.message"),
            error=f"{channel_title(channel)}: {error.reason}",
        )
    except ChannelError as error:
        return Rendering(channel, None, f"{step_field}.message", error.reason)


def _field_of(
    error: InvalidMessageError, message: Sequence[dict[str, Any]], field: str
) -> str:
    """The editor's field for a renderer's refusal ("part 2 (Text)" → its text)."""
    found = _PART.search(error.part or "")
    if found is None:
        return field
    index = int(found.group(1)) - 1
    if not 0 <= index < len(message):
        return field
    kind = message[index]["type"]
    suffix = {"text": ".text", "image": ".url", "buttons": ".text"}.get(kind, "")
    if kind == "buttons" and "option" in error.reason:
        suffix = ".options"
    return f"{field}[{index}]{suffix}"


def channel_title(channel: str) -> str:
    return {LINE: "LINE", MESSENGER: "Messenger"}.get(channel, channel)
