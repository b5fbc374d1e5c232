"""``channel_for(shop, name)``: the ready-to-send channel of a shop."""

from __future__ import annotations

from sqlalchemy import select

from engine.channels.base import Channel
from engine.channels.errors import ChannelNotConfiguredError
from engine.channels.line.client import LineChannel
from engine.channels.messenger.client import MessengerChannel
from engine.channels.models import ChannelAccount
from engine.channels.rate_limit import Budget, RateLimiter
from engine.channels.sandbox import SandboxChannel
from engine.db import db
from engine.runtime import current
from engine.shops.models import Shop

CHANNELS = ("line", "messenger", "sandbox")


# A batch's sends to one account take their rate-limit slots from Redis this
# many at a time: one round trip per eight sends instead of per send.
SLOTS_PER_RESERVATION = 8


def channel_for(shop: Shop, name: str) -> Channel:
    """The shop's ``name`` channel ("line", "messenger" or "sandbox").

    LINE and Messenger use the shop's enabled ``ChannelAccount``, the
    configured base URLs and the shared rate limiter; the sandbox records
    messages rendered as LINE would get them. Raises
    ``ChannelNotConfiguredError`` when the shop has no enabled account.
    Whether LINE's quota is paused (``ChannelAccount.quota_paused``) is the
    caller's check: a paused shop still gets its channel.
    """
    if name not in CHANNELS:
        raise ValueError(f"Unknown channel {name!r}; use one of {CHANNELS}.")
    if name == "sandbox":
        return SandboxChannel(shop.id)

    account = account_of(shop.id, name)
    if account is None or not account.enabled:
        raise ChannelNotConfiguredError(name, shop.id)

    runtime = current()
    limiter = RateLimiter(runtime.redis, block=SLOTS_PER_RESERVATION)
    settings = runtime.settings
    if name == "line":
        return LineChannel(
            access_token=account.line_channel_access_token or "",
            base_url=settings.line_api_base_url,
            data_base_url=settings.line_data_base_url,
            channel_key=f"line:{account.line_channel_id or account.id}",
            limiter=limiter,
            budget=Budget.under(settings.line_push_rate_limit),
        )
    return MessengerChannel(
        page_id=account.messenger_page_id or "me",
        page_access_token=account.messenger_page_access_token or "",
        base_url=runtime.settings.messenger_graph_base_url,
        http=runtime.http,
        redis=runtime.redis,
        limiter=limiter,
        budget=Budget.under(settings.messenger_send_rate_limit),
    )


def account_of(shop_id: int, name: str) -> ChannelAccount | None:
    """The shop's account row for a channel, enabled or not."""
    return db.session.scalar(
        select(ChannelAccount).where(
            ChannelAccount.shop_id == shop_id, ChannelAccount.channel == name
        )
    )
