"""Binding through LINE Login, which also adds the shop's account as a friend.

The widget opens ``authorize_url``: LINE's consent screen with
``bot_prompt=aggressive`` (an add-friend screen follows the consent), a
signed ``state`` naming the visitor and a nonce. LINE sends the shopper
back to ``callback_url`` (one per shop, registered in the shop's LINE Login
channel) with a code; ``complete_login`` checks the state (this shop's,
unexpired, unused), exchanges the code, has LINE verify the ID token
against our client id and nonce (``/oauth2/v2.1/verify``), and binds the
token's ``sub``. The userId LINE Login gives is the one the Messaging API
uses only when both channels belong to the same provider, which the
merchant's set-up must ensure. Whether the shopper is a friend (so pushes
reach them) comes from ``/friendship/v1/status``
(https://developers.line.biz/en/docs/line-login/link-a-bot/).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from engine.binding import tokens
from engine.binding.bindings import bind
from engine.binding.errors import ChannelNotReady, InvalidBindingToken, LoginFailed
from engine.binding.models import LINE, LINE_LOGIN, ChannelBinding
from engine.binding.tokens import LOGIN_STATE, Intent
from engine.channels.models import ChannelAccount
from engine.channels.registry import account_of
from engine.runtime import current
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

SCOPE = "profile openid"
BOT_PROMPT = "aggressive"
TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=5.0)
_CALLBACK_MARKER = "callback"


def login_account(shop: Shop) -> ChannelAccount:
    """The shop's LINE account, if it has a LINE Login channel to bind with."""
    account = account_of(shop.id, LINE)
    if account is None or not account.enabled:
        raise ChannelNotReady(shop.id, LINE, "no LINE account is connected")
    if not (account.line_login_channel_id and account.line_login_channel_secret):
        raise ChannelNotReady(shop.id, LINE, "its LINE Login channel is not set")
    return account


def callback_url(account: ChannelAccount) -> str:
    """Where LINE sends the shopper back; register it in the Login channel."""
    base = current().settings.app_url
    return f"{base}/binding/line/{account.line_webhook_key}/callback"


def authorize_url(shop: Shop, intent: Intent) -> str:
    """LINE's consent screen for this intent, the add-friend step included."""
    account = login_account(shop)
    params = {
        "response_type": "code",
        "client_id": account.line_login_channel_id,
        "redirect_uri": callback_url(account),
        "state": tokens.sign(LOGIN_STATE, intent),
        "scope": SCOPE,
        "nonce": intent.nonce,
        "bot_prompt": BOT_PROMPT,
    }
    return f"{current().settings.line_access_base_url}/oauth2/v2.1/authorize?" + (
        urlencode(params)
    )


def complete_login(
    shop: Shop, account: ChannelAccount, args: Mapping[str, str]
) -> ChannelBinding:
    """Bind the shopper LINE sent back to the callback. The caller commits.

    Raises ``InvalidBindingToken`` for a bad state and ``LoginFailed`` when
    the shopper declined or LINE's answers do not verify.
    """
    if args.get("error"):
        raise LoginFailed(args.get("error_description") or args["error"])
    intent = tokens.verify(LOGIN_STATE, args.get("state", ""), shop.id)
    if not tokens.claim(LOGIN_STATE, intent, _CALLBACK_MARKER):
        raise InvalidBindingToken(LOGIN_STATE, "replayed")
    if not args.get("code"):
        raise LoginFailed("LINE sent no authorization code.")

    granted = _exchange_code(account, args["code"])
    user_id = _verified_user(account, granted.get("id_token"), intent.nonce)
    friend = _is_friend(granted.get("access_token"))
    return bind(shop, intent, LINE, user_id, LINE_LOGIN, reachable=friend)


def _exchange_code(account: ChannelAccount, code: str) -> dict[str, Any]:
    return _post(
        "/oauth2/v2.1/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": callback_url(account),
            "client_id": account.line_login_channel_id,
            "client_secret": account.line_login_channel_secret,
        },
    )


def _verified_user(account: ChannelAccount, id_token: Any, nonce: str) -> str:
    if not isinstance(id_token, str):
        raise LoginFailed("LINE's answer has no ID token (is 'openid' in scope?).")
    claims = _post(
        "/oauth2/v2.1/verify",
        {
            "id_token": id_token,
            "client_id": account.line_login_channel_id,
            "nonce": nonce,
        },
    )
    user_id = claims.get("sub")
    if not isinstance(user_id, str) or not user_id:
        raise LoginFailed("LINE's verified ID token names no user.")
    return user_id


def _is_friend(access_token: Any) -> bool:
    if not isinstance(access_token, str):
        return False
    try:
        response = current().http.get(
            f"{current().settings.line_api_base_url}/friendship/v1/status",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=TIMEOUT,
        )
    except httpx.TransportError:
        # Unknown friendship: the follow webhook will say.
        return False
    return response.status_code == 200 and response.json().get("friendFlag") is True


def _post(path: str, form: dict[str, Any]) -> dict[str, Any]:
    url = f"{current().settings.line_api_base_url}{path}"
    try:
        response = current().http.post(url, data=form, timeout=TIMEOUT)
    except httpx.TransportError as failure:
        raise LoginFailed(f"LINE did not answer ({type(failure).__name__}).") from None
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.status_code != 200 or not isinstance(payload, dict):
        reason = payload.get("error_description") or payload.get("error")
        logger.warning(
            "binding.line_login_refused",
            extra={"path": path, "status": response.status_code},
        )
        raise LoginFailed(f"LINE refused {path}: {reason or response.status_code}.")
    return payload
