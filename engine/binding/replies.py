"""Short answers to a shopper in the LINE or Messenger chat they just wrote in.

A confirmation after binding, the reason a code or link did not work, the
account-link button. Each is best-effort: the binding (or refusal) stands
whether or not the answer gets through, so a channel error is logged, not
raised. Retry keys come from the webhook event, so a redelivered event
answers once.
"""

from __future__ import annotations

import logging
import uuid

from engine.binding.errors import BindingError
from engine.channels.errors import ChannelError
from engine.channels.messages import Buttons, Option, Part, Text
from engine.channels.registry import channel_for
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

_NAMESPACE = uuid.UUID("6f1c5d0e-8a4b-4f7e-9a61-2b9a8f0c3d11")


def tell(shop: Shop, channel: str, recipient: str, text: str, event_key: str) -> None:
    """Send ``text`` to ``recipient``, once per ``event_key``."""
    _send(shop, channel, recipient, (Text(text),), event_key)


def refuse(
    shop: Shop, channel: str, recipient: str, refused: BindingError, event_key: str
) -> None:
    """Tell the shopper why nothing was bound (a bad code, ref or nonce)."""
    logger.info(
        "binding.refused",
        extra={"shop_id": shop.id, "channel": channel, "code": refused.code},
    )
    tell(shop, channel, recipient, f"{refused} Nothing was linked.", event_key)


def offer_link(
    shop: Shop, recipient: str, text: str, label: str, url: str, event_key: str
) -> None:
    """Send a message with one button opening ``url``."""
    parts = (Buttons(text, (Option(label, url=url),)),)
    _send(shop, "line", recipient, parts, event_key)


def _send(
    shop: Shop, channel: str, recipient: str, parts: tuple[Part, ...], key: str
) -> None:
    retry_key = str(uuid.uuid5(_NAMESPACE, f"{shop.id}:{key}"))
    try:
        channel_for(shop, channel).send(recipient, parts, retry_key=retry_key)
    except ChannelError as exc:
        logger.warning(
            "binding.reply_failed",
            extra={"shop_id": shop.id, "channel": channel, "error": exc.reason},
        )
