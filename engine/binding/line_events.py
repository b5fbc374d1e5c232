"""Applying LINE webhook events to bindings (one shop per delivery).

``follow`` (added as a friend, or unblocked) makes the account reachable
again; ``unfollow`` (blocked) unreachable: a push to a blocked user is
answered 200 and not delivered, so these events are the only truth. A text
message may carry a one-time code, a keyword (STOP, "no thanks", "link"),
or be conversation; a postback may be "no thanks" or "link"; an
``accountLink`` event with ``result: ok`` finishes an account link. Other
events are ignored.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from engine.binding import answers, keywords, line_chat
from engine.binding.bindings import bindings_of_account
from engine.binding.models import LINE
from engine.binding.tokens import find_code
from engine.db import db
from engine.reminders.optout import mark_reachable, mark_unreachable
from engine.shops.models import Shop

logger = logging.getLogger(__name__)


def apply(shop_id: int, payload: dict[str, Any], delivery_id: int) -> None:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        return
    for index, event in enumerate(payload.get("events") or ()):
        if isinstance(event, dict):
            key = event.get("webhookEventId") or f"{delivery_id}:{index}"
            _apply_event(shop, event, str(key))


def _apply_event(shop: Shop, event: dict[str, Any], key: str) -> None:
    user_id = (event.get("source") or {}).get("userId")
    kind = event.get("type")
    if not isinstance(user_id, str) or not user_id:
        # accountLink failures and group events name no user: nothing to bind.
        return
    at = answers.event_time(event.get("timestamp"))

    if kind == "follow":
        _set_reachable(shop, user_id, True)
    elif kind == "unfollow":
        _set_reachable(shop, user_id, False)
    elif kind == "message":
        answers.note_inbound(shop, LINE, user_id, at)
        _message(shop, user_id, event, at, key)
    elif kind == "postback":
        answers.note_inbound(shop, LINE, user_id, at)
        data = (event.get("postback") or {}).get("data")
        if not answers.receive_rating(shop, LINE, user_id, data):
            _instruction(shop, user_id, keywords.instruction_of_postback(data), key)
    elif kind == "accountLink":
        link = event.get("link") or {}
        if link.get("result") == "ok":
            line_chat.complete_account_link(shop, user_id, link.get("nonce", ""), key)


def _message(
    shop: Shop, user_id: str, event: dict[str, Any], at: Any, key: str
) -> None:
    message = event.get("message") or {}
    content = answers.InboundContent(
        message_id=str(message.get("id") or key),
        reply_token=event.get("replyToken"),
    )
    if message.get("type") == "text":
        _text(shop, user_id, message.get("text") or "", at, key, content)
    elif message.get("type") == "image":
        image = replace(content, image_id=content.message_id)
        answers.receive_message(shop, LINE, user_id, at, image)


def _text(
    shop: Shop,
    user_id: str,
    text: str,
    at: Any,
    key: str,
    content: answers.InboundContent,
) -> None:
    code = find_code(text)
    if code is not None:
        line_chat.bind_by_code(shop, user_id, code, key)
        return
    instruction = keywords.instruction_in(text)
    if instruction is not None:
        _instruction(shop, user_id, instruction, key)
        return
    answers.receive_message(shop, LINE, user_id, at, replace(content, text=text))


def _instruction(shop: Shop, user_id: str, instruction: str | None, key: str) -> None:
    if instruction == keywords.LINK:
        line_chat.begin_account_link(shop, user_id, key)
    elif instruction is not None:
        answers.opt_out(shop, LINE, user_id, instruction)


def _set_reachable(shop: Shop, user_id: str, reachable: bool) -> None:
    bindings = bindings_of_account(shop, LINE, user_id)
    if not bindings:
        return
    if reachable:
        mark_reachable(bindings[0])
    else:
        mark_unreachable(bindings[0])
    logger.info(
        "binding.reachability_changed",
        extra={"shop_id": shop.id, "channel": LINE, "reachable": reachable},
    )
