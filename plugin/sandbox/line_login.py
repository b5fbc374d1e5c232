"""The fake LINE's binding side: LINE Login, friendship, account link, webhooks.

Mixed into ``FakeLinePlatform``. It serves, as LINE documents them
(CONTRACTS.md section B):

* ``GET/POST /oauth2/v2.1/authorize``: the consent screen (an "Allow"
  button, the LINE user signed in), then with ``bot_prompt=aggressive`` an
  add-friend screen, then the redirect with ``code``, ``state`` and
  ``friendship_status_changed``; "Cancel" redirects with
  ``error=access_denied``;
* ``POST /oauth2/v2.1/token``: the code (single use, 10 minutes, bound to
  its client and redirect URI) for an access token and an HS256 ID token
  signed with the Login channel's secret;
* ``POST /oauth2/v2.1/verify``: checks an ID token's signature, audience,
  expiry and nonce, with LINE's error descriptions;
* ``GET /friendship/v1/status``; ``POST /v2/bot/user/{id}/linkToken``
  (10 minutes, single use) and the account-link dialog
  ``/dialog/bot/accountLink``, which reports an ``accountLink`` event (no
  event for an expired or used token);
* ``/R/oaMessage/{basic id}/``: the account's chat with a message typed in.

A shopper's actions (following, blocking, writing, sending an image,
tapping a quick reply) reach the app as webhook deliveries signed with the
Messaging API channel's secret, sent to the URL ``set_webhook`` gave the
channel; what they write also shows on their phone (``/outbox/{user id}``).
Each ``message``, ``postback``, ``follow`` and ``accountLink`` event carries
a fresh ``replyToken`` the platform remembers, as LINE's do (``unfollow``
has none).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlencode

import httpx
import jwt
from flask import Flask, Response, redirect, request

from plugin.sandbox import chat_pages
from plugin.sandbox.chat_platform import Tap

logger = logging.getLogger(__name__)

ISSUER = "https://access.line.me"
CODE_LIFETIME = timedelta(minutes=10)
LINK_TOKEN_LIFETIME = timedelta(minutes=10)
ID_TOKEN_SECONDS = 3600
ACCESS_TOKEN_SECONDS = 30 * 24 * 3600
# The events LINE gives a reply token (of those the fake sends).
REPLY_EVENT_TYPES = frozenset({"message", "postback", "follow", "accountLink"})


@dataclass
class LoginChannel:
    """A LINE Login channel, linked to a Messaging API channel (its bot)."""

    channel_id: str
    secret: str
    bot_channel_id: str | None
    name: str = "Demo store"


@dataclass
class Grant:
    """One pass through the consent screen, until its code is exchanged."""

    client_id: str
    redirect_uri: str
    state: str
    nonce: str | None
    bot_prompt: str | None
    user_id: str = ""
    friendship_changed: bool = False
    code: str | None = None
    issued_at: float = 0.0
    used: bool = False


@dataclass
class LinkToken:
    channel_id: str
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class BotSide:
    """What the Messaging API channel knows of its users, for bindings."""

    basic_id: str | None = None
    webhook_url: str | None = None
    friends: set[str] = field(default_factory=set)
    chats: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


class LineLoginMixin:
    """State and routes of LINE Login and the user side of the Messaging API."""

    def _init_login(self) -> None:
        self._login_channels: dict[str, LoginChannel] = {}
        self._grants: dict[str, Grant] = {}
        self._user_tokens: dict[str, tuple[str, str]] = {}
        self._link_tokens: dict[str, LinkToken] = {}
        self._bots: dict[str, BotSide] = {}
        self.deliveries: list[tuple[str, int]] = []

    # --- set-up ----------------------------------------------------------------

    def add_login_channel(
        self,
        channel_id: str,
        secret: str,
        bot_channel_id: str,
        *,
        basic_id: str | None = None,
        name: str = "Demo store",
    ) -> LoginChannel:
        """A LINE Login channel linked to the Messaging API ``bot_channel_id``."""
        channel = LoginChannel(channel_id, secret, bot_channel_id, name)
        with self._lock:
            self._login_channels[channel_id] = channel
            self._bot(bot_channel_id).basic_id = basic_id
        return channel

    def set_webhook(self, channel_id: str, url: str | None) -> None:
        """Where this channel's webhook events go (the LINE console's setting)."""
        with self._lock:
            self._bot(channel_id).webhook_url = url

    def is_friend(self, channel_id: str, user_id: str) -> bool:
        with self._lock:
            return user_id in self._bot(channel_id).friends

    # --- what a LINE user does (each sends the channel's webhook) ------------

    def user_follows(self, channel_id: str, user_id: str) -> int | None:
        with self._lock:
            self._bot(channel_id).friends.add(user_id)
            self._accounts[channel_id].blocked.discard(user_id)
        return self.deliver_event(channel_id, user_id, {"type": "follow"})

    def user_blocks(self, channel_id: str, user_id: str) -> int | None:
        with self._lock:
            self._bot(channel_id).friends.discard(user_id)
            self._accounts[channel_id].blocked.add(user_id)
        return self.deliver_event(channel_id, user_id, {"type": "unfollow"})

    def user_sends_text(self, channel_id: str, user_id: str, text: str) -> int | None:
        with self._lock:
            self._bot(channel_id).chats.setdefault(user_id, []).append(("mine", text))
        self.record_shopper_message(channel_id, user_id, {"type": "text", "text": text})
        message = {"id": str(next(self._ids)), "type": "text", "text": text}
        return self.deliver_event(
            channel_id, user_id, {"type": "message", "message": message}
        )

    def user_sends_image(
        self, channel_id: str, user_id: str, data: bytes, content_type: str
    ) -> int | None:
        """The user sends a photo: an ``image`` message whose content LINE keeps
        (``GET /v2/bot/message/{id}/content``)."""
        message_id = self.store_content(channel_id, data, content_type)
        with self._lock:
            chat = self._bot(channel_id).chats.setdefault(user_id, [])
            chat.append(("mine", "(image)"))
        # The phone shows a placeholder: LINE serves the bytes only to the bot.
        self.record_shopper_message(channel_id, user_id, {"type": "image"})
        message = {
            "id": message_id,
            "type": "image",
            "quoteToken": secrets.token_urlsafe(30),
            "contentProvider": {"type": "line"},
        }
        return self.deliver_event(
            channel_id, user_id, {"type": "message", "message": message}
        )

    def user_posts_back(self, channel_id: str, user_id: str, data: str) -> int | None:
        return self.deliver_event(
            channel_id, user_id, {"type": "postback", "postback": {"data": data}}
        )

    def user_taps(self, channel_id: str, user_id: str, tap: Tap) -> int | None:
        """The user taps a quick reply: a ``message`` action sends its text, a
        ``postback`` action its data, shown in the chat as its displayText."""
        if tap.kind == "message":
            return self.user_sends_text(channel_id, user_id, tap.data)
        if tap.kind != "postback":
            raise ValueError(f"LINE has no {tap.kind!r} action to tap.")
        if tap.label:
            self.record_shopper_message(
                channel_id, user_id, {"type": "text", "text": tap.label}
            )
        return self.user_posts_back(channel_id, user_id, tap.data)

    def _account_ids(self) -> list[str]:
        with self._lock:
            return list(self._accounts)

    def deliver_event(
        self, channel_id: str, user_id: str | None, event: dict[str, Any]
    ) -> int | None:
        """Send one event as LINE would; the app's status, or None (no webhook)."""
        full = {
            **event,
            "mode": "active",
            "timestamp": int(self.now().timestamp() * 1000),
            "webhookEventId": uuid.uuid4().hex.upper()[:26],
            "deliveryContext": {"isRedelivery": False},
        }
        if user_id is not None:
            full["source"] = {"type": "user", "userId": user_id}
            if event["type"] in REPLY_EVENT_TYPES:
                full["replyToken"] = self.issue_reply_token(channel_id, user_id)
        return self.deliver(
            channel_id, {"destination": "U" + "0" * 32, "events": [full]}
        )

    def deliver(self, channel_id: str, payload: dict[str, Any]) -> int | None:
        """POST a webhook body, signed with the channel secret, to its URL."""
        with self._lock:
            url = self._bot(channel_id).webhook_url
        if url is None:
            return None
        body = json.dumps(payload, separators=(",", ":")).encode()
        response = httpx.post(
            url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Line-Signature": self.sign_webhook(body, channel_id),
            },
            timeout=10,
        )
        with self._lock:
            self.deliveries.append((url, response.status_code))
        return response.status_code

    # --- internals -------------------------------------------------------------

    def _bot(self, channel_id: str) -> BotSide:
        return self._bots.setdefault(channel_id, BotSide())

    def _forget_login(self) -> None:
        self._init_login()

    def _add_login_routes(self, app: Flask) -> None:
        rule = app.add_url_rule
        rule("/oauth2/v2.1/authorize", "authorize", self._authorize, methods=["GET"])
        rule("/oauth2/v2.1/authorize", "consent", self._consent, methods=["POST"])
        rule("/oauth2/v2.1/friend", "add_friend", self._add_friend, methods=["POST"])
        rule("/oauth2/v2.1/token", "token", self._token, methods=["POST"])
        rule("/oauth2/v2.1/verify", "verify", self._verify, methods=["POST"])
        rule("/friendship/v1/status", "friendship", self._friendship)
        rule(
            "/v2/bot/user/<user_id>/linkToken",
            "link_token",
            self._issue_link_token,
            methods=["POST"],
        )
        rule(
            "/dialog/bot/accountLink",
            "account_link",
            self._account_link,
            methods=["GET", "POST"],
        )
        rule(
            "/R/oaMessage/<basic_id>/",
            "oa_message",
            self._oa_message,
            methods=["GET", "POST"],
        )

    def _authorize(self) -> Response:
        args = request.args
        channel = self._login_channels.get(args.get("client_id", ""))
        problem = _authorize_problem(args, channel)
        if problem:
            return _page("LINE Login", "This request cannot be handled", problem, 400)
        grant_id = secrets.token_urlsafe(12)
        with self._lock:
            self._grants[grant_id] = Grant(
                client_id=channel.channel_id,
                redirect_uri=args["redirect_uri"],
                state=args["state"],
                nonce=args.get("nonce"),
                bot_prompt=args.get("bot_prompt"),
            )
        html = chat_pages.render(
            "LINE Login",
            chat_pages.LINE_GREEN,
            chat_pages.LINE_CONSENT,
            channel_name=channel.name,
            action="/oauth2/v2.1/authorize",
            hidden={"grant": grant_id},
            user_id=request.args.get("user_id") or _new_user_id(),
        )
        return Response(html, mimetype="text/html")

    def _consent(self) -> Response:
        form = request.form
        with self._lock:
            grant = self._grants.get(form.get("grant", ""))
        if grant is None:
            return _page("LINE Login", "Session expired", "Start again.", 400)
        if form.get("decision") != "allow":
            return _back(grant, error="access_denied", description="The user denied.")
        grant.user_id = form.get("user_id") or _new_user_id()
        bot = self._login_channels[grant.client_id].bot_channel_id
        if (
            grant.bot_prompt == "aggressive"
            and bot
            and not self.is_friend(bot, grant.user_id)
        ):
            html = chat_pages.render(
                "LINE",
                chat_pages.LINE_GREEN,
                chat_pages.LINE_ADD_FRIEND,
                account_name=self._login_channels[grant.client_id].name,
                action="/oauth2/v2.1/friend",
                grant=form["grant"],
            )
            return Response(html, mimetype="text/html")
        return self._issue_code(grant)

    def _add_friend(self) -> Response:
        with self._lock:
            grant = self._grants.get(request.form.get("grant", ""))
        if grant is None or not grant.user_id:
            return _page("LINE", "Session expired", "Start again.", 400)
        if request.form.get("add") == "yes":
            bot = self._login_channels[grant.client_id].bot_channel_id
            grant.friendship_changed = True
            self.user_follows(bot, grant.user_id)
        return self._issue_code(grant)

    def _issue_code(self, grant: Grant) -> Response:
        grant.code = secrets.token_urlsafe(16)
        grant.issued_at = time.time()
        extra = {}
        if grant.bot_prompt:
            extra["friendship_status_changed"] = str(grant.friendship_changed).lower()
        return _back(grant, code=grant.code, **extra)

    def _token(self) -> Response:
        form = request.form
        channel = self._login_channels.get(form.get("client_id", ""))
        if channel is None or form.get("client_secret") != channel.secret:
            return _oauth_error(401, "invalid_client", "invalid client credentials")
        if form.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "unsupported grant")
        with self._lock:
            grant = next(
                (g for g in self._grants.values() if g.code == form.get("code")), None
            )
            if grant is None or grant.used or grant.client_id != channel.channel_id:
                return _oauth_error(400, "invalid_grant", "invalid authorization code")
            if time.time() - grant.issued_at > CODE_LIFETIME.total_seconds():
                return _oauth_error(400, "invalid_grant", "authorization code expired")
            if form.get("redirect_uri") != grant.redirect_uri:
                return _oauth_error(400, "invalid_grant", "redirect_uri does not match")
            grant.used = True
            access_token = secrets.token_urlsafe(24)
            self._user_tokens[access_token] = (channel.channel_id, grant.user_id)
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": grant.user_id,
            "aud": channel.channel_id,
            "exp": now + ID_TOKEN_SECONDS,
            "iat": now,
            "amr": ["pwd"],
            "name": "Demo Shopper",
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        return _json(
            200,
            {
                "access_token": access_token,
                "expires_in": ACCESS_TOKEN_SECONDS,
                "id_token": jwt.encode(claims, channel.secret, algorithm="HS256"),
                "refresh_token": secrets.token_urlsafe(16),
                "scope": "profile openid",
                "token_type": "Bearer",
            },
        )

    def _verify(self) -> Response:
        form = request.form
        channel = self._login_channels.get(form.get("client_id", ""))
        if channel is None:
            return _oauth_error(400, "invalid_client", "Invalid client_id.")
        try:
            claims = jwt.decode(
                form.get("id_token", ""),
                channel.secret,
                algorithms=["HS256"],
                audience=channel.channel_id,
                issuer=ISSUER,
            )
        except jwt.ExpiredSignatureError:
            return _oauth_error(400, "invalid_request", "IdToken expired.")
        except jwt.InvalidAudienceError:
            return _oauth_error(400, "invalid_request", "Invalid IdToken Audience.")
        except jwt.InvalidTokenError:
            return _oauth_error(400, "invalid_request", "Invalid IdToken.")
        if form.get("nonce") and claims.get("nonce") != form["nonce"]:
            return _oauth_error(400, "invalid_request", "Invalid IdToken Nonce.")
        return _json(200, claims)

    def _friendship(self) -> Response:
        token = _bearer_token()
        with self._lock:
            known = self._user_tokens.get(token)
        if known is None:
            return _oauth_error(401, "invalid_token", "The access token is invalid.")
        bot = self._login_channels[known[0]].bot_channel_id
        return _json(200, {"friendFlag": bool(bot) and self.is_friend(bot, known[1])})

    def _issue_link_token(self, user_id: str) -> Response:
        with self._lock:
            account = self._account_by_token(_bearer_token())
            if account is None:
                return _json(401, {"message": "Authentication failed."})
            token = secrets.token_urlsafe(24)
            self._link_tokens[token] = LinkToken(
                account.channel_id, user_id, time.time()
            )
        return _json(200, {"linkToken": token})

    def _account_link(self) -> Response:
        values = request.values
        token, nonce = values.get("linkToken", ""), values.get("nonce", "")
        done = None
        if request.method == "POST":
            done = self._link(token, nonce)
        html = chat_pages.render(
            "LINE",
            chat_pages.LINE_GREEN,
            chat_pages.LINE_ACCOUNT_LINK,
            account_name="the store",
            action="/dialog/bot/accountLink",
            link_token=token,
            nonce=nonce,
            done=done,
        )
        return Response(html, mimetype="text/html")

    def _link(self, token: str, nonce: str) -> str:
        with self._lock:
            link = self._link_tokens.get(token)
            fresh = link is not None and not link.used
            if (
                fresh
                and time.time() - link.issued_at > LINK_TOKEN_LIFETIME.total_seconds()
            ):
                fresh = False
            if fresh:
                link.used = True
        if not fresh:
            # LINE sends no event for an expired or used link token.
            return "This link has expired. Ask for a new one in the chat."
        event = {"type": "accountLink", "link": {"result": "ok", "nonce": nonce}}
        self.deliver_event(link.channel_id, link.user_id, event)
        return "Your accounts are linked. You can go back to LINE."

    def _oa_message(self, basic_id: str) -> Response:
        basic_id = unquote(basic_id)
        with self._lock:
            channel_id = next(
                (cid for cid, bot in self._bots.items() if bot.basic_id == basic_id),
                None,
            )
        if channel_id is None:
            return _page("LINE", "No such account", f"{basic_id} is not on LINE.", 404)
        user_id = request.values.get("user_id") or _new_user_id()
        if request.method == "POST":
            self.user_sends_text(channel_id, user_id, request.form.get("text", ""))
        with self._lock:
            history = [
                {"side": side, "text": text}
                for side, text in self._bot(channel_id).chats.get(user_id, [])
            ]
        history += [
            {"side": "", "text": _text_of(entry.messages)}
            for entry in self.delivered_to(user_id)
        ]
        html = chat_pages.render(
            "LINE",
            chat_pages.LINE_GREEN,
            chat_pages.LINE_CHAT,
            account_name=basic_id,
            history=history,
            action=request.path,
            user_id=user_id,
            text=""
            if request.method == "POST"
            else unquote(request.query_string.decode()),
        )
        return Response(html, mimetype="text/html")


def _authorize_problem(args: Any, channel: LoginChannel | None) -> str | None:
    if args.get("response_type") != "code":
        return "response_type must be code."
    if channel is None:
        return "Invalid client_id."
    if not (args.get("redirect_uri") or "").startswith(("http://", "https://")):
        return "Invalid redirect_uri."
    if "openid" not in (args.get("scope") or "").split():
        return "scope must include openid to get an ID token."
    if not args.get("state"):
        return "state is required."
    return None


def _back(grant: Grant, **params: str) -> Response:
    query = urlencode({**params, "state": grant.state})
    separator = "&" if "?" in grant.redirect_uri else "?"
    return redirect(f"{grant.redirect_uri}{separator}{query}", 302)


def _text_of(messages: list[dict[str, Any]]) -> str:
    return " / ".join(m.get("text") or m.get("altText") or m["type"] for m in messages)


def _new_user_id() -> str:
    return "U" + secrets.token_hex(16)


def _bearer_token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _page(title: str, heading: str, detail: str, status: int) -> Response:
    html = chat_pages.render(
        title, chat_pages.LINE_GREEN, chat_pages.PROBLEM, heading=heading, detail=detail
    )
    return Response(html, status=status, mimetype="text/html")


def _oauth_error(status: int, error: str, description: str) -> Response:
    return _json(status, {"error": error, "error_description": description})


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
