"""Applying Messenger webhook events to bindings; each Page picks its shop.

One app serves every shop's Page, so a delivery's ``entry[].id`` (the Page
id) names the shop of each entry; an entry for a Page no shop connected is
ignored. A referral (``messaging_postbacks`` with ``postback.referral`` in
a new thread, ``messaging_referrals`` in an existing one) carries the m.me
ref that binds; every message, tap and referral opens the 24-hour window; a
text may be a keyword (STOP, "no thanks"), a quick reply or postback may be
"no thanks", a rating button answers the chat's question; other messages
and images go to the chat. Echoes of the Page's own messages are ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from engine.binding import answers, keywords, messenger_link
from engine.binding.models import MESSENGER
from engine.channels.models import ChannelAccount
from engine.db import db
from engine.shops.models import Shop

logger = logging.getLogger(__name__)


def apply(payload: dict[str, Any], delivery_id: int) -> None:
    if payload.get("object") != "page":
        return
    for entry_index, entry in enumerate(payload.get("entry") or ()):
        shop = shop_of_page(str((entry or {}).get("id", "")))
        if shop is None:
            logger.info("binding.messenger_unknown_page", extra={"entry": entry_index})
            continue
        for index, event in enumerate(entry.get("messaging") or ()):
            if isinstance(event, dict):
                _apply_event(shop, event, f"{delivery_id}:{entry_index}:{index}")


def _apply_event(shop: Shop, event: dict[str, Any], fallback_key: str) -> None:
    psid = (event.get("sender") or {}).get("id")
    message = event.get("message") or {}
    if not isinstance(psid, str) or not psid or message.get("is_echo"):
        return
    at = answers.event_time(event.get("timestamp"))
    postback = event.get("postback") or {}
    key = str(message.get("mid") or postback.get("mid") or fallback_key)

    ref = (postback.get("referral") or event.get("referral") or {}).get("ref")
    if isinstance(ref, str) and ref:
        messenger_link.bind_by_ref(shop, psid, ref, key)
    answers.note_inbound(shop, MESSENGER, psid, at)

    if postback:
        data = postback.get("payload")
        if answers.receive_rating(shop, MESSENGER, psid, data):
            return
        instruction = keywords.instruction_of_postback(data)
    elif message:
        quick_reply = (message.get("quick_reply") or {}).get("payload")
        if answers.receive_rating(shop, MESSENGER, psid, quick_reply):
            return
        instruction = keywords.instruction_of_postback(quick_reply)
        instruction = instruction or keywords.instruction_in(message.get("text"))
        if instruction is None:
            answers.receive_message(shop, MESSENGER, psid, at, _content(message, key))
    else:
        instruction = None
    if instruction in (keywords.STOP, keywords.NO_THANKS):
        answers.opt_out(shop, MESSENGER, psid, instruction)


def _content(message: dict[str, Any], key: str) -> answers.InboundContent:
    """The text, or the first image's address, of a Messenger message."""
    for attachment in message.get("attachments") or ():
        if isinstance(attachment, dict) and attachment.get("type") == "image":
            url = (attachment.get("payload") or {}).get("url")
            if isinstance(url, str):
                return answers.InboundContent(message_id=key, image_url=url)
    text = message.get("text")
    return answers.InboundContent(
        text=text if isinstance(text, str) else None, message_id=key
    )


def shop_of_page(page_id: str) -> Shop | None:
    """The installed shop whose Facebook Page this is, if any."""
    if not page_id:
        return None
    # One installed shop at most holds a Page (engine.channels.accounts);
    # one that was uninstalled may still have it on record.
    return db.session.scalar(
        select(Shop)
        .join(ChannelAccount, ChannelAccount.shop_id == Shop.id)
        .where(
            ChannelAccount.channel == MESSENGER,
            ChannelAccount.messenger_page_id == page_id,
            ChannelAccount.enabled.is_(True),
            Shop.uninstalled_at.is_(None),
        )
        .limit(1)
    )
