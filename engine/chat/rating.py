"""Asking a shopper how the team did, and keeping their answer (1 to 5).

When a case is resolved the shopper gets the question on the channel they
wrote on: five buttons in the widget, postback buttons on LINE and quick
replies on Messenger (channel-native, so one tap answers). The answer
arrives through the widget or as a postback (``RATE_POSTBACK_PREFIX``).
"""

from __future__ import annotations

import logging

from engine.chat.conversations import NewMessage, append, publish_change
from engine.chat.delivery import RATE_POSTBACK_PREFIX, queue_delivery, reply_state
from engine.chat.errors import InvalidChatInput
from engine.chat.models import QUEUED, RATING_REQUEST, SYSTEM, WEB, Conversation
from engine.db import utcnow
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

QUESTION = "How did we do? Tap a rating from 1 to 5 stars."


def request_rating(shop: Shop, conversation: Conversation) -> None:
    """Ask for a rating once per resolution; the caller commits."""
    now = utcnow()
    state = reply_state(shop, conversation, now)
    channel = state.channel if state.open else WEB
    message = append(
        conversation,
        NewMessage(
            author=SYSTEM,
            kind=RATING_REQUEST,
            channel=channel,
            text=QUESTION,
            delivery=None if channel == WEB else QUEUED,
        ),
    )
    conversation.rating_requested_at = now
    conversation.rating = None
    conversation.rated_at = None
    if message.delivery == QUEUED:
        queue_delivery(message)


def record_rating(shop: Shop, conversation: Conversation, score: object) -> None:
    """Keep the shopper's answer; a later answer replaces an earlier one.

    Raises:
        InvalidChatInput: a score that is not a whole number from 1 to 5, or
            no rating was asked for.
    """
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidChatInput("invalid_rating", "Give a rating from 1 to 5.", "score")
    if conversation.rating_requested_at is None:
        raise InvalidChatInput(
            "rating_not_requested", "This conversation was not rated yet.", "score"
        )
    conversation.rating = score
    conversation.rated_at = utcnow()
    publish_change(conversation, "rating")
    logger.info(
        "chat.rated",
        extra={"shop_id": shop.id, "conversation_id": conversation.id, "score": score},
    )


def score_of_postback(data: str | None) -> int | None:
    """The score a rating button carries, or None for another postback."""
    if not data or not data.startswith(RATE_POSTBACK_PREFIX):
        return None
    value = data.removeprefix(RATE_POSTBACK_PREFIX)
    return int(value) if value in {"1", "2", "3", "4", "5"} else None
