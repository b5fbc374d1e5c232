"""Binding from the LINE chat: the one-time code, and LINE's account link.

*The code* (desktop): the pop-up shows a QR code of ``oa_message_url``,
which opens the shop's account in LINE on the phone with "RV-XXXXXXXX"
typed in; when that message arrives, ``bind_by_code`` binds its sender.

*Account link* (a shopper who starts in the chat, by sending "link" or
tapping a rich-menu postback): ``begin_account_link`` issues LINE's link
token (10 minutes, single use) and sends a button to the storefront with
it; the widget there, knowing the visitor, asks ``account_link_url`` for
LINE's account-link dialog with our nonce; LINE then reports an
``accountLink`` event with that nonce, and ``complete_account_link`` binds
(https://developers.line.biz/en/docs/messaging-api/linking-accounts/).
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlencode

from linebot.v3.messaging import ApiClient, ApiException, Configuration, MessagingApi

from engine.binding import replies, tokens
from engine.binding.bindings import bind
from engine.binding.errors import ChannelNotReady, InvalidBindingToken
from engine.binding.models import LINE, LINE_ACCOUNT_LINK, LINE_CODE
from engine.binding.tokens import LINE_CODE as CODE_KIND
from engine.binding.tokens import LINK_NONCE, Intent
from engine.channels.registry import account_of
from engine.runtime import current
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

LINK_PARAMETER = "revisit_link"
CODE_MESSAGE = "Link my account: {code}"
DONE = "Thanks! Your LINE account is now linked to {shop}."
LINK_INVITE = "Link this LINE account to your {shop} account to get cart reminders."
LINK_LABEL = "Link my account"


def oa_message_url(shop: Shop, code: str) -> str:
    """The link that opens the shop's account in LINE with ``code`` typed in."""
    account = account_of(shop.id, LINE)
    if account is None or not account.enabled or not account.line_basic_id:
        raise ChannelNotReady(shop.id, LINE, "its LINE basic ID is not set")
    text = quote(CODE_MESSAGE.format(code=code))
    basic_id = quote(account.line_basic_id)
    return f"{current().settings.line_web_base_url}/R/oaMessage/{basic_id}/?{text}"


def bind_by_code(shop: Shop, user_id: str, code: str, event_key: str) -> bool:
    """Bind the sender of a message carrying a one-time code; False if refused."""
    return _bind_from_record(shop, CODE_KIND, code, user_id, LINE_CODE, event_key)


def begin_account_link(shop: Shop, user_id: str, event_key: str) -> None:
    """Send the shopper a button to the storefront carrying a fresh link token."""
    account = account_of(shop.id, LINE)
    if account is None or not account.line_channel_access_token:
        raise ChannelNotReady(shop.id, LINE, "no Messaging API channel is connected")
    configuration = Configuration(
        host=current().settings.line_api_base_url,
        access_token=account.line_channel_access_token,
    )
    try:
        with ApiClient(configuration) as client:
            link_token = MessagingApi(client).issue_link_token(user_id).link_token
    except ApiException as refusal:
        logger.warning(
            "binding.link_token_refused",
            extra={"shop_id": shop.id, "status": refusal.status},
        )
        return
    url = f"{storefront_url(shop)}?{urlencode({LINK_PARAMETER: link_token})}"
    invite = LINK_INVITE.format(shop=shop.name or shop.shop_domain)
    replies.offer_link(shop, user_id, invite, LINK_LABEL, url, event_key)


def account_link_url(shop: Shop, intent: Intent, link_token: str) -> str:
    """LINE's account-link dialog for this visitor, with our nonce for it."""
    # LINE's link tokens are short ASCII; a lone surrogate would break the
    # query string below.
    if (
        not link_token
        or len(link_token) > tokens.MAX_TOKEN_LENGTH
        or not link_token.isascii()
    ):
        raise InvalidBindingToken("LINE link token", "tampered")
    nonce = tokens.issue_link_nonce(intent)
    query = urlencode({"linkToken": link_token, "nonce": nonce})
    base = current().settings.line_access_base_url
    return f"{base}/dialog/bot/accountLink?{query}"


def complete_account_link(shop: Shop, user_id: str, nonce: str, event_key: str) -> bool:
    """Bind after LINE reported a successful account link; False if refused."""
    return _bind_from_record(
        shop, LINK_NONCE, nonce, user_id, LINE_ACCOUNT_LINK, event_key
    )


def storefront_url(shop: Shop) -> str:
    """The store's home page (on the fake platform when one stands in)."""
    base = current().settings.shopify_base_url
    if base:
        return f"{base.rstrip('/')}/store/{shop.shop_domain}/"
    return f"https://{shop.shop_domain}/"


def _bind_from_record(
    shop: Shop, kind: str, key: str, user_id: str, via: str, event_key: str
) -> bool:
    """Bind ``user_id`` to the intent a code or nonce stands for, and say so."""
    try:
        intent = tokens.redeem(kind, key, shop.id)
        first = tokens.claim(kind, intent, user_id)
    except InvalidBindingToken as refused:
        replies.refuse(shop, LINE, user_id, refused, event_key)
        return False
    if first:
        bind(shop, intent, LINE, user_id, via)
        done = DONE.format(shop=shop.name or shop.shop_domain)
        replies.tell(shop, LINE, user_id, done, event_key)
    return True
