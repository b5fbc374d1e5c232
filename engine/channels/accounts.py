"""Connecting a shop's LINE Official Account or Facebook Page.

``connect_line`` / ``connect_messenger`` store credentials as given (the demo
and tests use them). The panel goes through ``save_line_settings`` /
``save_messenger_settings``, which check the format of every field and then
ask the platform whether the token works before anything is stored. Opening
hours and the time zone are ``engine.channels.schedule``'s.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TypeVar

from sqlalchemy import select

from engine.channels.errors import (
    ChannelError,
    InvalidChannelSettingError,
    RetryableChannelError,
)
from engine.channels.line.client import verify_access_token
from engine.channels.messenger.client import page_of_token, subscribe_page
from engine.channels.models import CHANNEL_NAMES, ChannelAccount
from engine.channels.registry import account_of
from engine.db import db
from engine.runtime import current
from engine.shops.models import Shop

T = TypeVar("T")


class Unchanged(Enum):
    """A setting an edit leaves out: its stored value stays as it is."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED

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


# --- what the merchant edits in the panel -------------------------------------

LINE_CHANNEL_ID = re.compile(r"\d{10}")
LINE_CHANNEL_SECRET = re.compile(r"[0-9a-f]{32}")
# A basic ID is "@" and LINE's random string ("@123abcde"); a premium ID
# replaces the string with the merchant's own. The column holds 32.
LINE_BASIC_ID = re.compile(r"@[A-Za-z0-9._-]{1,31}")
BASIC_ID_RULE = (
    "a LINE basic ID is @ and up to 31 letters, digits, '.', '_' or '-', like @123abcde"
)
# Channel access tokens and Page tokens are opaque; these are the characters
# both platforms issue them in.
ACCESS_TOKEN = re.compile(r"[A-Za-z0-9+/=._\-]{20,1024}")
PAGE_ID = re.compile(r"\d{1,32}")
RECIPIENT_ID = {
    "line": re.compile(r"U[0-9a-f]{32}"),
    "messenger": re.compile(r"\d{1,32}"),
}
PLATFORM_NAMES = {"line": "LINE", "messenger": "Messenger"}


@dataclass(frozen=True)
class ChannelSettings:
    """What the panel shows of one channel: never a secret, only whether one is set."""

    channel: str
    connected: bool
    account_id: str | None
    secret_set: bool
    token_set: bool
    test_recipient_id: str | None
    quota_paused_until: datetime | None
    # LINE only (None and False for Messenger): the LINE Login channel and
    # the basic ID shoppers bind through.
    login_channel_id: str | None = None
    login_secret_set: bool = False
    basic_id: str | None = None


def channel_settings(shop: Shop) -> list[ChannelSettings]:
    """Both channels of the shop, connected or not, LINE first."""
    settings = []
    for channel in CHANNEL_NAMES:
        account = account_of(shop.id, channel)
        line = channel == "line"
        settings.append(
            ChannelSettings(
                channel=channel,
                connected=bool(account and account.enabled),
                account_id=(
                    (account.line_channel_id if line else account.messenger_page_id)
                    if account
                    else None
                ),
                secret_set=bool(account and account.line_channel_secret)
                if line
                else False,
                token_set=bool(
                    account
                    and (
                        account.line_channel_access_token
                        if line
                        else account.messenger_page_access_token
                    )
                ),
                test_recipient_id=account.test_recipient_id if account else None,
                quota_paused_until=(
                    account.quota_exhausted_until
                    if account is not None and account.quota_paused()
                    else None
                ),
                **(_line_binding_settings(account) if line else {}),
            )
        )
    return settings


def _line_binding_settings(account: ChannelAccount | None) -> dict[str, object]:
    if account is None:
        return {}
    return {
        "login_channel_id": account.line_login_channel_id,
        "login_secret_set": bool(account.line_login_channel_secret),
        "basic_id": account.line_basic_id,
    }


def save_line_settings(
    shop: Shop,
    channel_id: str,
    channel_secret: str | None,
    channel_access_token: str | None,
    test_recipient_id: str | None,
    *,
    login_channel_id: str | None | Unchanged = UNCHANGED,
    login_channel_secret: str | None = None,
    basic_id: str | None | Unchanged = UNCHANGED,
) -> ChannelAccount:
    """Check and store the LINE channel; a secret left empty keeps the stored one.

    The Messaging API channel sends; the LINE Login channel and the basic ID
    are how shoppers bind (either is enough): an empty id or basic ID
    removes it, ``UNCHANGED`` keeps what is stored. The access token is
    tried against LINE before anything is stored; the Login channel has no
    endpoint that checks its credentials without a shopper signing in, so
    only their format is checked. The caller commits.

    Raises:
        InvalidChannelSettingError: naming the field at fault.
    """
    stored = account_of(shop.id, "line")
    channel_id = _checked(
        "line",
        "channel_id",
        channel_id,
        LINE_CHANNEL_ID,
        "LINE channel ids are 10 digits",
    )
    secret = _kept_or_checked(
        "line",
        "channel_secret",
        channel_secret,
        stored.line_channel_secret if stored else None,
        LINE_CHANNEL_SECRET,
        "LINE channel secrets are 32 hexadecimal characters",
    )
    token = _kept_or_checked(
        "line",
        "channel_access_token",
        channel_access_token,
        stored.line_channel_access_token if stored else None,
        ACCESS_TOKEN,
        "a channel access token is 20 or more letters and digits",
    )
    login = _line_login(stored, channel_id, login_channel_id, login_channel_secret)
    basic = (
        (stored.line_basic_id if stored else None)
        if basic_id is UNCHANGED
        else _optional("line", "basic_id", basic_id, LINE_BASIC_ID, BASIC_ID_RULE)
    )
    recipient = _recipient("line", test_recipient_id)
    _refused_as_field(
        "line",
        "channel_access_token",
        lambda: verify_access_token(current().settings.line_api_base_url, token),
    )

    account = connect_line(
        shop,
        channel_id,
        secret,
        token,
        login_channel_id=login[0],
        login_channel_secret=login[1],
        basic_id=basic,
    )
    account.test_recipient_id = recipient
    return account


def _line_login(
    stored: ChannelAccount | None,
    channel_id: str,
    login_channel_id: str | None | Unchanged,
    login_channel_secret: str | None,
) -> tuple[str | None, str | None]:
    """The LINE Login channel's id and secret, both or neither."""
    stored_id = stored.line_login_channel_id if stored else None
    if login_channel_id is UNCHANGED:
        if not login_channel_secret:
            return stored_id, stored.line_login_channel_secret if stored else None
        login_channel_id = stored_id
    login_id = _optional(
        "line",
        "login_channel_id",
        login_channel_id,
        LINE_CHANNEL_ID,
        "LINE Login channel ids are 10 digits",
    )
    if login_id is None:
        if login_channel_secret:
            raise InvalidChannelSettingError(
                "line",
                "login_channel_id",
                "Give the LINE Login channel's id with its secret.",
            )
        return None, None
    if login_id == channel_id:
        raise InvalidChannelSettingError(
            "line",
            "login_channel_id",
            "This is the Messaging API channel's id; the LINE Login channel is"
            " another channel of the same provider, with an id of its own.",
        )
    # A secret belongs to its channel: a different Login channel needs its own.
    same_channel = stored is not None and stored_id == login_id
    secret = _kept_or_checked(
        "line",
        "login_channel_secret",
        login_channel_secret,
        stored.line_login_channel_secret if same_channel else None,
        LINE_CHANNEL_SECRET,
        "LINE Login channel secrets are 32 hexadecimal characters",
    )
    return login_id, secret


def save_messenger_settings(
    shop: Shop,
    page_id: str,
    page_access_token: str | None,
    test_recipient_id: str | None,
) -> ChannelAccount:
    """Check and store the Facebook Page; a token left empty keeps the stored one.

    The token is tried against the Graph API, and must belong to ``page_id``.
    The caller commits.

    Raises:
        InvalidChannelSettingError: naming the field at fault.
    """
    stored = account_of(shop.id, "messenger")
    page_id = _checked(
        "messenger", "page_id", page_id, PAGE_ID, "Facebook Page ids are digits"
    )
    _refuse_page_of_another_shop(shop, page_id)
    token = _kept_or_checked(
        "messenger",
        "page_access_token",
        page_access_token,
        stored.messenger_page_access_token if stored else None,
        ACCESS_TOKEN,
        "a Page access token is 20 or more letters and digits",
    )
    recipient = _recipient("messenger", test_recipient_id)
    runtime = current()
    owner = _refused_as_field(
        "messenger",
        "page_access_token",
        lambda: page_of_token(
            runtime.settings.messenger_graph_base_url, runtime.http, token
        ),
    )
    if owner != page_id:
        raise InvalidChannelSettingError(
            "messenger",
            "page_access_token",
            f"This token belongs to Page {owner}, not to Page {page_id}.",
        )
    _refused_as_field(
        "messenger",
        "page_access_token",
        lambda: subscribe_page(
            runtime.settings.messenger_graph_base_url, runtime.http, page_id, token
        ),
    )

    account = connect_messenger(shop, page_id, token)
    account.test_recipient_id = recipient
    return account


def _refuse_page_of_another_shop(shop: Shop, page_id: str) -> None:
    """A Page's events come to one webhook for every shop: were two installed
    shops connected to it, one of them would never see its shoppers' messages.
    A shop that was uninstalled lets go of its Page."""
    other = db.session.scalar(
        select(ChannelAccount.shop_id)
        .join(Shop, Shop.id == ChannelAccount.shop_id)
        .where(
            ChannelAccount.channel == "messenger",
            ChannelAccount.messenger_page_id == page_id,
            ChannelAccount.enabled.is_(True),
            ChannelAccount.shop_id != shop.id,
            Shop.uninstalled_at.is_(None),
        )
        .limit(1)
    )
    if other is not None:
        raise InvalidChannelSettingError(
            "messenger",
            "page_id",
            f"Page {page_id} is connected to another shop using Revisit;"
            " disconnect it there first.",
        )


def disconnect(shop: Shop, channel: str) -> None:
    """Stop using a channel (its secrets stay, for reconnecting); the caller commits."""
    account = account_of(shop.id, channel)
    if account is not None:
        account.enabled = False
        logger.info(
            "channels.disconnected", extra={"shop_id": shop.id, "channel": channel}
        )


def _checked(
    channel: str, field: str, value: object, pattern: re.Pattern, rule: str
) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not pattern.fullmatch(text):
        raise InvalidChannelSettingError(
            channel, field, f"{rule}; got {_shown(value)}."
        )
    return text


def _kept_or_checked(
    channel: str,
    field: str,
    value: str | None,
    stored: str | None,
    pattern: re.Pattern,
    rule: str,
) -> str:
    if value in (None, "") and stored:
        return stored
    if value in (None, ""):
        raise InvalidChannelSettingError(channel, field, f"This is required: {rule}.")
    return _checked(channel, field, value, pattern, rule)


def _optional(
    channel: str, field: str, value: str | None, pattern: re.Pattern, rule: str
) -> str | None:
    """An optional setting: empty is None (removed), anything else checked."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _checked(channel, field, value, pattern, rule)


def _recipient(channel: str, value: str | None) -> str | None:
    rule = (
        "a LINE user id is U and 32 hexadecimal characters"
        if channel == "line"
        else "a page-scoped id (PSID) is digits"
    )
    return _optional(channel, "test_recipient_id", value, RECIPIENT_ID[channel], rule)


def _refused_as_field(channel: str, field: str, check: Callable[[], T]) -> T:
    platform = PLATFORM_NAMES[channel]
    try:
        return check()
    except RetryableChannelError as error:
        raise InvalidChannelSettingError(
            channel,
            field,
            f"{platform} could not be asked whether this works"
            f" ({error.reason}); nothing was saved, try again.",
            error.code,
        ) from None
    except ChannelError as error:
        raise InvalidChannelSettingError(
            channel,
            field,
            f"{platform} refused these credentials: {error.reason}",
            error.code,
        ) from None


def _shown(value: object) -> str:
    """A refused value as the message shows it: never a whole secret."""
    if isinstance(value, str) and len(value) > 12:
        return f"{len(value)} characters"
    return repr(value)
