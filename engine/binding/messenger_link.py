"""Binding through an m.me link whose ``ref`` is a signed visitor token.

The pop-up opens ``m_me_url``. Messenger reports the ref in a
``messaging_postbacks`` event (``postback.referral``, a new thread after
"Get Started") or a ``messaging_referrals`` event (an existing thread), and
``bind_by_ref`` binds the sender's page-scoped id
(https://developers.facebook.com/docs/messenger-platform/discovery/m-me-links).
A ref is at most about 120 characters of ``[A-Za-z0-9_.-]``, inside the
250 Meta documents for refs.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlencode

from engine.binding import replies, tokens
from engine.binding.bindings import bind
from engine.binding.errors import ChannelNotReady, InvalidBindingToken
from engine.binding.models import MESSENGER, MESSENGER_REF
from engine.binding.tokens import MESSENGER_REF as REF_KIND
from engine.binding.tokens import Intent
from engine.channels.registry import account_of
from engine.runtime import current
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

DONE = "Thanks! You'll hear from {shop} here."


def m_me_url(shop: Shop, intent: Intent) -> str:
    """The m.me link that opens the shop's Page with this intent as its ref."""
    account = account_of(shop.id, MESSENGER)
    if account is None or not account.enabled or not account.messenger_page_id:
        raise ChannelNotReady(shop.id, MESSENGER, "no Facebook Page is connected")
    ref = tokens.sign(REF_KIND, intent)
    base = current().settings.messenger_me_base_url
    return f"{base}/{quote(account.messenger_page_id)}?{urlencode({'ref': ref})}"


def bind_by_ref(shop: Shop, psid: str, ref: str, event_key: str) -> bool:
    """Bind the sender of an m.me referral; False (and an answer) if refused."""
    try:
        intent = tokens.verify(REF_KIND, ref, shop.id)
        first = tokens.claim(REF_KIND, intent, psid)
    except InvalidBindingToken as refused:
        replies.refuse(shop, MESSENGER, psid, refused, event_key)
        return False
    if first:
        bind(shop, intent, MESSENGER, psid, MESSENGER_REF)
        done = DONE.format(shop=shop.name or shop.shop_domain)
        replies.tell(shop, MESSENGER, psid, done, event_key)
    return True
