"""Shoppers' LINE and Messenger messages, into the same conversations as the widget's.

The binding's webhook handlers (``engine.binding.line_events``,
``messenger_events``) pass on every message that is conversation rather
than a keyword or a code. A LINE or Messenger account bound to a storefront
visitor continues that person's conversation; an account that is not bound
gets a conversation of its own. The platform's message id makes a
redelivered webhook store nothing twice. Images are fetched from the
platform and kept (the platforms' copies expire).
"""

from __future__ import annotations

import logging
from datetime import datetime

import httpx

from engine.channels.errors import ChannelError
from engine.channels.registry import channel_for
from engine.chat.conversations import NewMessage, append, start_for_account
from engine.chat.errors import InvalidImage
from engine.chat.images import MAX_BYTES, store_image
from engine.chat.models import IMAGE, LINE, SHOPPER, TEXT, Conversation
from engine.chat.rating import record_rating
from engine.chat.setup import chat_settings
from engine.runtime import current
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

IMAGE_FAILED = "[The shopper sent an image that could not be fetched.]"


def receive_text(
    shop: Shop,
    channel: str,
    external_id: str,
    text: str,
    at: datetime,
    *,
    message_id: str | None = None,
    reply_token: str | None = None,
) -> Conversation | None:
    """Keep a shopper's text from LINE or Messenger; None if chat is off."""
    conversation = _conversation(shop, channel, external_id, at, reply_token)
    if conversation is None:
        return None
    append(
        conversation,
        NewMessage(
            author=SHOPPER,
            kind=TEXT,
            channel=channel,
            text=text[:2000] or " ",
            external_id=message_id,
        ),
    )
    return conversation


def receive_image(
    shop: Shop,
    channel: str,
    external_id: str,
    at: datetime,
    *,
    message_id: str | None,
    url: str | None = None,
    reply_token: str | None = None,
) -> Conversation | None:
    """Keep a shopper's image: LINE's by message id, Messenger's by its URL."""
    conversation = _conversation(shop, channel, external_id, at, reply_token)
    if conversation is None:
        return None
    try:
        data, content_type = _fetch(shop, channel, message_id, url)
        image = store_image(shop.id, data, content_type)
    except (ChannelError, InvalidImage, httpx.HTTPError) as failure:
        logger.warning(
            "chat.inbound_image_failed",
            extra={"shop_id": shop.id, "channel": channel, "error": str(failure)},
        )
        new = NewMessage(
            author=SHOPPER, channel=channel, text=IMAGE_FAILED, external_id=message_id
        )
    else:
        new = NewMessage(
            author=SHOPPER,
            kind=IMAGE,
            channel=channel,
            image=image,
            external_id=message_id,
        )
    append(conversation, new)
    return conversation


def receive_rating(shop: Shop, channel: str, external_id: str, score: int) -> bool:
    """A rating button tapped on LINE or Messenger; False if nothing was asked."""
    conversation = start_for_account(shop, channel, external_id)
    if conversation.rating_requested_at is None:
        return False
    record_rating(shop, conversation, score)
    return True


def _conversation(
    shop: Shop,
    channel: str,
    external_id: str,
    at: datetime,
    reply_token: str | None,
) -> Conversation | None:
    if not chat_settings(shop).enabled:
        return None
    conversation = start_for_account(shop, channel, external_id)
    if channel == LINE and reply_token:
        conversation.line_reply_token = reply_token[:255]
        conversation.line_reply_token_at = at
    return conversation


def _fetch(
    shop: Shop, channel: str, message_id: str | None, url: str | None
) -> tuple[bytes, str | None]:
    if channel == LINE:
        return channel_for(shop, LINE).fetch_content(message_id or "")
    if not url or not url.startswith(("https://", "http://")):
        raise InvalidImage("image_missing", "The image has no address.", "image")
    with current().http.stream("GET", url, timeout=10.0) as response:
        response.raise_for_status()
        data = b""
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) > MAX_BYTES:
                raise InvalidImage(
                    "image_too_large", "The image is too large.", "image"
                )
        return data, response.headers.get("Content-Type")
