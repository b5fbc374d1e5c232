"""Connecting a shop's LINE Official Account or Facebook Page (one row per channel)."""

from __future__ import annotations

import logging
import secrets

from engine.channels.models import ChannelAccount
from engine.channels.registry import account_of
from engine.db import db
from engine.shops.models import Shop

logger = logging.getLogger(__name__)


def connect_line(
    shop: Shop,
    channel_id: str,
    channel_secret: str,
    channel_access_token: str,
    *,
    login_channel_id: str | None = None,
    login_channel_secret: str | None = None,
    basic_id: str | None = None,
) -> ChannelAccount:
    """Store (or replace) the shop's LINE channel credentials and enable it.

    The Messaging API channel sends; the LINE Login channel (linked to the
    same Official Account) and the basic ID let shoppers bind. The caller
    commits. Replacing credentials also clears a quota pause, since a new
    channel has a quota of its own. The webhook key is made once and kept.
    """
    account = _account(shop, "line")
    account.line_channel_id = channel_id
    account.line_channel_secret = channel_secret
    account.line_channel_access_token = channel_access_token
    account.line_login_channel_id = login_channel_id
    account.line_login_channel_secret = login_channel_secret
    account.line_basic_id = basic_id
    account.line_webhook_key = account.line_webhook_key or secrets.token_urlsafe(18)
    account.quota_exhausted_until = None
    account.enabled = True
    db.session.flush()
    logger.info("channels.line_connected", extra={"shop_id": shop.id})
    return account


def connect_messenger(
    shop: Shop, page_id: str, page_access_token: str
) -> ChannelAccount:
    """Store (or replace) the shop's Facebook Page and its token; the caller commits."""
    account = _account(shop, "messenger")
    account.messenger_page_id = page_id
    account.messenger_page_access_token = page_access_token
    account.enabled = True
    db.session.flush()
    logger.info("channels.messenger_connected", extra={"shop_id": shop.id})
    return account


def _account(shop: Shop, channel: str) -> ChannelAccount:
    account = account_of(shop.id, channel)
    if account is None:
        account = ChannelAccount(shop_id=shop.id, channel=channel)
        db.session.add(account)
    return account
