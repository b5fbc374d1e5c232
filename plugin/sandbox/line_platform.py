"""A fake LINE Messaging API: push and reply, quota, content, webhook signatures.

``FakeLinePlatform`` serves ``POST /v2/bot/message/push`` and the quota
endpoints at the address ``LINE_API_BASE_URL`` points to, and refuses what
LINE refuses (CONTRACTS.md section B): an unknown access token (401), a
retry key that is not a UUID (400), a repeat of an accepted retry key (409
with ``x-line-accepted-request-id``), a body breaking any message limit
(400 with LINE's ``details``), more requests per second than the channel's
rate limit (429) and the monthly quota (429 "You have reached your monthly
limit."). A push to a user who blocked the account is answered 200 and not
delivered, as LINE documents. Accepted pushes appear at ``/outbox``. LINE
Login, account linking and signed webhooks come from ``LineLoginMixin``.

``POST /v2/bot/message/reply`` takes the ``replyToken`` of a delivered
``message``, ``postback``, ``follow`` or ``accountLink`` event: once, and
for ``REPLY_TOKEN_LIFETIME`` on the fake's clock (LINE says only "shortly";
the fake's minute is longer than the app's own 50 seconds, so the app's
limit is what tests meet first). A used, expired or unknown token is 400
"Invalid reply token"; a retry key is 400, as LINE refuses one on every
endpoint but the four that take it. Replies are rate-limited apart from
pushes (LINE limits each endpoint), appear in the outbox marked ``reply``
and are not counted against the monthly quota, nor stopped by it.
``GET /v2/bot/message/{id}/content`` serves what a user sent
(``user_sends_image``); LINE serves it from api-data.line.me, the fake from
the same address as everything else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request

from plugin.sandbox.chat_platform import ChatCall, FakeChatPlatform, OutboxEntry
from plugin.sandbox.line_login import LineLoginMixin
from plugin.sandbox.line_rules import push_problems, recipient_is_valid

__all__ = ["FakeLinePlatform", "LineAccount"]

logger = logging.getLogger(__name__)

PUSH_RATE_LIMIT = 2000
RETRY_KEY_LIFETIME = timedelta(hours=24)
REPLY_TOKEN_LIFETIME = timedelta(seconds=60)
QUOTA_MESSAGE = "You have reached your monthly limit."
INVALID_REPLY_TOKEN_MESSAGE = "Invalid reply token"
# LINE documents the 400, not its wording; this sentence is the fake's own.
RETRY_KEY_REFUSED_MESSAGE = "The X-Line-Retry-Key header is not supported here."
_UNPARSABLE_MESSAGE = "The request body could not be parsed as JSON."
RATE_LIMIT_MESSAGE = "The API rate limit has been exceeded. Try again later."
AUTH_MESSAGE = (
    "Authentication failed. Confirm that the access token in the authorization"
    " header is valid."
)
_FAULT_MESSAGES = {
    429: RATE_LIMIT_MESSAGE,
    500: "An error occurred in the API server.",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class AcceptedPush:
    request_id: str
    message_ids: tuple[str, ...]
    accepted_at: datetime


@dataclass
class ReplyToken:
    """A reply token handed out with one webhook event."""

    user_id: str
    issued_at: datetime
    used: bool = False


@dataclass
class LineAccount:
    """One channel (LINE Official Account) the fake knows.

    ``contents`` holds what users sent (message id to bytes and media type).
    """

    channel_id: str
    access_token: str
    channel_secret: str
    monthly_quota: int | None = None
    usage: dict[str, int] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)
    retry_keys: dict[str, AcceptedPush] = field(default_factory=dict)
    reply_tokens: dict[str, ReplyToken] = field(default_factory=dict)
    contents: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def used(self, month: str) -> int:
        return self.usage.get(month, 0)


class FakeLinePlatform(LineLoginMixin, FakeChatPlatform):
    """LINE's push API in memory, served over HTTP by a werkzeug thread.

    ``rate_limit`` is push requests per second per channel (LINE: 2,000);
    ``latency`` delays every answer. ``accepted_count`` and
    ``throttled_count`` count 200s and 429s. See ``FakeChatPlatform``.
    """

    platform = "line"
    display_name = "LINE"

    def __init__(self, *, rate_limit: int = PUSH_RATE_LIMIT, latency: float = 0.0):
        self._accounts: dict[str, LineAccount] = {}
        # Message ids never repeat across runs: the demo's database outlives
        # the fake, and the app takes a known message id for a redelivery.
        self._ids = itertools.count(600_000_000_000_000_001 + time.time_ns() // 1000)
        self._init_login()
        super().__init__(rate_limit=rate_limit, latency=latency)

    # --- accounts and users ----------------------------------------------------

    def add_channel(
        self,
        channel_id: str,
        access_token: str,
        channel_secret: str,
        *,
        monthly_quota: int | None = None,
    ) -> LineAccount:
        """Register a channel; ``monthly_quota`` ``None`` means unlimited."""
        account = LineAccount(channel_id, access_token, channel_secret, monthly_quota)
        with self._lock:
            self._accounts[channel_id] = account
        return account

    def set_monthly_quota(self, channel_id: str, quota: int | None) -> None:
        with self._lock:
            self._accounts[channel_id].monthly_quota = quota

    def usage(self, channel_id: str) -> int:
        """Messages counted against this month's quota (blocked users excluded)."""
        with self._lock:
            return self._accounts[channel_id].used(self._month())

    def block(self, channel_id: str, user_id: str) -> None:
        """The user blocks the account: pushes still answer 200, deliver nothing."""
        with self._lock:
            self._accounts[channel_id].blocked.add(user_id)

    def unblock(self, channel_id: str, user_id: str) -> None:
        with self._lock:
            self._accounts[channel_id].blocked.discard(user_id)

    def delivered_to(self, user_id: str) -> list[OutboxEntry]:
        """The pushes and replies that reached ``user_id``, oldest first."""
        with self._lock:
            return [e for e in self.outbox if e.recipient == user_id and e.delivered]

    def sign_webhook(self, body: bytes, channel_id: str | None = None) -> str:
        """The ``X-Line-Signature`` LINE sends with ``body``: base64 HMAC-SHA256.

        Signed with the channel secret of ``channel_id`` (or of the only channel).
        """
        account = self._account_for_signing(channel_id)
        digest = hmac.new(account.channel_secret.encode(), body, hashlib.sha256)
        return base64.b64encode(digest.digest()).decode()

    def issue_reply_token(self, channel_id: str, user_id: str) -> str:
        """A fresh reply token for an event from ``user_id`` (webhooks call it)."""
        token = secrets.token_hex(16)
        now = self.now()
        with self._lock:
            tokens = self._accounts[channel_id].reply_tokens
            # Forget the expired ones, so a long demo does not pile them up.
            for expired in [
                key
                for key, issued in tokens.items()
                if now - issued.issued_at > REPLY_TOKEN_LIFETIME
            ]:
                del tokens[expired]
            tokens[token] = ReplyToken(user_id, now)
        return token

    def store_content(self, channel_id: str, data: bytes, content_type: str) -> str:
        """Keep what a user sent; the message id that serves it."""
        message_id = str(next(self._ids))
        with self._lock:
            self._accounts[channel_id].contents[message_id] = (data, content_type)
        return message_id

    # --- the push itself (called by the route) --------------------------------

    def push(
        self, token: str, retry_key: str | None, body: Any
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one push request: (status, JSON body, extra headers)."""
        # Checking the body needs no shared state; do it before taking the lock.
        refusal = _body_refusal(body)
        with self._lock:
            account = self._account_by_token(token)
            if account is None:
                return 401, {"message": AUTH_MESSAGE}, {}
            if not self.admit_request(account.channel_id):
                return 429, {"message": RATE_LIMIT_MESSAGE}, {}
            if retry_key is not None and not _is_uuid(retry_key):
                return 400, {"message": "The retry key must be a UUID."}, {}

            accepted = self._accepted(account, retry_key)
            if accepted is not None:
                return _conflict(accepted)

            if refusal is not None:
                return 400, refusal, {}

            month = self._month()
            quota = account.monthly_quota
            if quota is not None and account.used(month) >= quota:
                return 429, {"message": QUOTA_MESSAGE}, {}

            return self._accept(account, body, retry_key, month)

    def reply(
        self, token: str, retry_key: str | None, body: Any
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one reply request: (status, JSON body, extra headers)."""
        refusal = _reply_body_refusal(body)
        with self._lock:
            account = self._account_by_token(token)
            if account is None:
                return 401, {"message": AUTH_MESSAGE}, {}
            if retry_key is not None:
                return 400, {"message": RETRY_KEY_REFUSED_MESSAGE}, {}
            if not self.admit_request(f"{account.channel_id}:reply"):
                return 429, {"message": RATE_LIMIT_MESSAGE}, {}
            if refusal is not None:
                return 400, refusal, {}

            issued = account.reply_tokens.get(body["replyToken"])
            if (
                issued is None
                or issued.used
                or self.now() - issued.issued_at > REPLY_TOKEN_LIFETIME
            ):
                return 400, {"message": INVALID_REPLY_TOKEN_MESSAGE}, {}
            issued.used = True

            # Free: a reply is neither counted nor stopped by the monthly quota.
            status, payload, headers, _ = self._record(
                account, issued.user_id, body["messages"], reply=True
            )
            return status, payload, headers

    # --- internals ---------------------------------------------------------------

    def _accept(
        self,
        account: LineAccount,
        body: dict[str, Any],
        retry_key: str | None,
        month: str,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        status, payload, headers, entry = self._record(
            account, body["to"], body["messages"], reply=False
        )
        if retry_key is not None:
            account.retry_keys[retry_key] = AcceptedPush(
                headers["x-line-request-id"], entry.message_ids, entry.accepted_at
            )
        # LINE counts requests x recipients, and nothing sent to blocked users.
        if entry.delivered:
            account.usage[month] = account.used(month) + 1
        return status, payload, headers

    def _record(
        self,
        account: LineAccount,
        to: str,
        messages: list[dict[str, Any]],
        *,
        reply: bool,
    ) -> tuple[int, dict[str, Any], dict[str, str], OutboxEntry]:
        """Put an accepted send in the outbox; LINE's answer and the entry."""
        entry = OutboxEntry(
            platform=self.platform,
            account=account.channel_id,
            recipient=to,
            messages=messages,
            delivered=to not in account.blocked,
            accepted_at=self.now(),
            message_ids=tuple(str(next(self._ids)) for _ in messages),
            reply=reply,
        )
        self.outbox.append(entry)
        sent = [
            {"id": mid, "quoteToken": _quote_token(mid)} for mid in entry.message_ids
        ]
        request_id = uuid.uuid4().hex
        return 200, {"sentMessages": sent}, {"x-line-request-id": request_id}, entry

    def _accepted(
        self, account: LineAccount, retry_key: str | None
    ) -> AcceptedPush | None:
        if retry_key is None:
            return None
        accepted = account.retry_keys.get(retry_key)
        if accepted is None or self.now() - accepted.accepted_at > RETRY_KEY_LIFETIME:
            return None
        return accepted

    def _account_by_token(self, token: str) -> LineAccount | None:
        for account in self._accounts.values():
            if token and hmac.compare_digest(account.access_token, token):
                return account
        return None

    def _account_for_signing(self, channel_id: str | None) -> LineAccount:
        with self._lock:
            if channel_id is not None:
                return self._accounts[channel_id]
            if len(self._accounts) != 1:
                raise ValueError(
                    "Name the channel_id: the fake knows several channels."
                )
            return next(iter(self._accounts.values()))

    def _month(self) -> str:
        return self.now().strftime("%Y-%m")

    def _forget_accounts(self) -> None:
        self._accounts.clear()
        self._forget_login()

    def _add_api_routes(self, app: Flask) -> None:
        app.add_url_rule(
            "/v2/bot/message/push", "push", self._push_route, methods=["POST"]
        )
        app.add_url_rule(
            "/v2/bot/message/reply", "reply", self._reply_route, methods=["POST"]
        )
        app.add_url_rule(
            "/v2/bot/message/<message_id>/content", "content", self._content_route
        )
        app.add_url_rule("/v2/bot/message/quota", "quota", self._quota_route)
        app.add_url_rule(
            "/v2/bot/message/quota/consumption", "consumption", self._consumption_route
        )
        self._add_login_routes(app)

    def _push_route(self) -> Response:
        return self._send_route(self.push, _recipient_of)

    def _reply_route(self) -> Response:
        return self._send_route(self.reply, self._replied_user)

    def _send_route(
        self,
        answer: Callable[[str, str | None, Any], tuple[int, dict, dict[str, str]]],
        recipient_of: Callable[[Any], str | None],
    ) -> Response:
        """Push or reply: latency, an injected fault or ``answer``, the call log."""
        if self.latency:
            time.sleep(self.latency)
        retry_key = request.headers.get("X-Line-Retry-Key")
        body = request.get_json(silent=True)

        fault = self.take_fault()
        if fault is not None:
            status, payload, headers = _fault_answer(fault)
        else:
            status, payload, headers = answer(_bearer(), retry_key, body)

        self.record_call(
            ChatCall(
                "POST",
                request.path,
                status,
                self._channel_of_request(),
                recipient_of(body),
                retry_key,
            )
        )
        response = jsonify(payload)
        response.status_code = status
        response.headers.update(headers)
        return response

    def _content_route(self, message_id: str) -> Response:
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            account = self._account_by_token(_bearer())
            content = account.contents.get(message_id) if account else None
        if account is None:
            return _json(401, {"message": AUTH_MESSAGE})
        if content is None:
            return _json(404, {"message": "Not found"})
        data, content_type = content
        return Response(data, status=200, content_type=content_type)

    def _replied_user(self, body: Any) -> str | None:
        """The user a reply token was issued for, for the call log."""
        token = body.get("replyToken") if isinstance(body, dict) else None
        with self._lock:
            for account in self._accounts.values():
                issued = account.reply_tokens.get(token or "")
                if issued is not None:
                    return issued.user_id
        return None

    def _quota_route(self) -> Response:
        account = self._account_by_token(_bearer())
        if account is None:
            return _json(401, {"message": AUTH_MESSAGE})
        if account.monthly_quota is None:
            return _json(200, {"type": "none"})
        return _json(200, {"type": "limited", "value": account.monthly_quota})

    def _consumption_route(self) -> Response:
        account = self._account_by_token(_bearer())
        if account is None:
            return _json(401, {"message": AUTH_MESSAGE})
        return _json(200, {"totalUsage": self.usage(account.channel_id)})

    def _channel_of_request(self) -> str | None:
        with self._lock:
            account = self._account_by_token(_bearer())
        return account.channel_id if account else None


def _body_refusal(body: Any) -> dict[str, Any] | None:
    if body is None:
        return {"message": _UNPARSABLE_MESSAGE}
    if not recipient_is_valid(body):
        return {"message": _invalid_property_message("to")}
    return _messages_refusal(body)


def _reply_body_refusal(body: Any) -> dict[str, Any] | None:
    if body is None:
        return {"message": _UNPARSABLE_MESSAGE}
    if not isinstance(body, dict) or not isinstance(body.get("replyToken"), str):
        return {"message": _invalid_property_message("replyToken")}
    return _messages_refusal(body)


def _messages_refusal(body: Any) -> dict[str, Any] | None:
    problems = push_problems(body)
    if not problems:
        return None
    return {
        "message": f"The request body has {len(problems)} error(s)",
        "details": [{"message": p.message, "property": p.property} for p in problems],
    }


def _invalid_property_message(name: str) -> str:
    return (
        f"The property, '{name}', in the request body is invalid (line: -, column: -)"
    )


def _recipient_of(body: Any) -> str | None:
    return body.get("to") if isinstance(body, dict) else None


def _conflict(accepted: AcceptedPush) -> tuple[int, dict[str, Any], dict[str, str]]:
    sent = [
        {"id": mid, "quoteToken": _quote_token(mid)} for mid in accepted.message_ids
    ]
    return (
        409,
        {"message": "The retry key is already accepted", "sentMessages": sent},
        {"x-line-accepted-request-id": accepted.request_id},
    )


def _fault_answer(fault: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    status = fault.outcome
    if status == "timeout":
        # The platform's lock is not held here, so other requests go on.
        time.sleep(fault.delay)
        status = 504
    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
    return int(status), {"message": _FAULT_MESSAGES.get(int(status), "Error")}, headers


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _quote_token(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()[:40]


def _json(status: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response
