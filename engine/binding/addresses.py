"""The addresses LINE and Meta send to, as the merchant's set-up needs them.

A shop's LINE addresses name it by its webhook key, made when LINE is first
connected: the LINE Login callback, registered in the shop's Login channel,
and the Messaging API webhook, set in the shop's Messaging API channel.
Messenger has one webhook for every shop: Revisit's Meta app subscribes to
it once, with the verify token of the server's settings, and each entry's
Page id picks the shop. That token is the operator's, set once for the
whole app, so it is reported only as set or not, never shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.binding.line_login import callback_url
from engine.binding.models import LINE
from engine.channels.registry import account_of
from engine.runtime import current
from engine.shops.models import Shop


@dataclass(frozen=True)
class SetupAddresses:
    """Where the platforms send; None until the shop's LINE is connected."""

    line_login_callback_url: str | None
    line_webhook_url: str | None
    messenger_webhook_url: str
    # The server verifies Messenger's deliveries (the app secret) and
    # answers Meta's subscription check (the verify token).
    messenger_webhook_ready: bool


def setup_addresses(shop: Shop) -> SetupAddresses:
    """The shop's LINE addresses and the app's Messenger webhook."""
    settings = current().settings
    account = account_of(shop.id, LINE)
    if account is None or account.line_webhook_key is None:
        login_callback = webhook = None
    else:
        login_callback = callback_url(account)
        webhook = f"{settings.app_url}/webhooks/line/{account.line_webhook_key}"
    return SetupAddresses(
        line_login_callback_url=login_callback,
        line_webhook_url=webhook,
        messenger_webhook_url=f"{settings.app_url}/webhooks/messenger",
        messenger_webhook_ready=bool(
            settings.messenger_app_secret and settings.messenger_verify_token
        ),
    )
