"""A fake Messenger Platform: the Graph API Send endpoint and webhook signatures.

``FakeMessengerPlatform`` serves ``POST /{version}/{page id or me}/messages``
at the address ``MESSENGER_GRAPH_BASE_URL`` points to (version included),
and refuses what Meta refuses (CONTRACTS.md section C), in Graph's error
shape ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}``: an unknown Page token (190), a body breaking a limit (100),
a PSID that never wrote to the Page (100/2018001), a send outside the
shopper's 24-hour window (10/2018278, the fake records each PSID's last
inbound message; tests set it), a shopper who blocked the Page (551) and
more calls per second than the Page's rate limit (613). A ``HUMAN_AGENT``
tagged send reaches 7 days back instead of 24 hours, and only from a Page
with the Human Agent permission (``set_human_agent``, off by default): from
any other Page it is refused, whatever the window, with 403 and code 200,
``HUMAN_AGENT_REFUSED`` (Meta's exact answer is not documented; Graph
reports missing permissions with code 200). Accepted messages appear at
``/outbox``. m.me links, threads and signed webhooks come from
``MessengerThreadsMixin``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request

from plugin.sandbox.chat_platform import ChatCall, FakeChatPlatform, OutboxEntry
from plugin.sandbox.messenger_rules import send_problem
from plugin.sandbox.messenger_threads import MessengerThreadsMixin

__all__ = ["FakeMessengerPlatform", "MessengerPage"]

logger = logging.getLogger(__name__)

API_VERSION = "v25.0"
SEND_RATE_LIMIT = 300
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
HUMAN_AGENT_REFUSED = "(#200) The Human Agent tag is not available for this page."
_FAULT_ERRORS = {
    429: (4, None, "(#4) Application request limit reached"),
    500: (
        2,
        None,
        "An unexpected error has occurred. Please retry your request later.",
    ),
    502: (
        2,
        None,
        "An unexpected error has occurred. Please retry your request later.",
    ),
    503: (2, None, "Service temporarily unavailable"),
    504: (
        2,
        None,
        "An unexpected error has occurred. Please retry your request later.",
    ),
}


# Page webhook fields the fake accepts in subscribed_apps (a subset of Meta's).
PAGE_FIELDS = (
    "messages",
    "messaging_postbacks",
    "messaging_referrals",
    "messaging_optins",
    "message_deliveries",
    "message_reads",
)


@dataclass
class MessengerPage:
    """One Facebook Page the fake knows, and what its shoppers did."""

    page_id: str
    access_token: str
    last_inbound: dict[str, datetime] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)
    # The webhook fields the Page subscribed the app to (subscribed_apps).
    subscribed_fields: tuple[str, ...] = ()
    # Whether Meta granted the Page's app the Human Agent permission.
    human_agent: bool = False


class GraphError(Exception):
    """A Graph API error answer: HTTP status and the ``error`` object."""

    def __init__(
        self, status: int, code: int, message: str, subcode: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.subcode = subcode
        self.message = message

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = secrets.token_urlsafe(8)
        return {"error": error}


class FakeMessengerPlatform(MessengerThreadsMixin, FakeChatPlatform):
    """The Send API in memory, served over HTTP by a werkzeug thread.

    ``app_secret`` signs webhooks (``sign_webhook``); ``rate_limit`` is Send
    API calls per second per Page (Meta: 300). See ``FakeChatPlatform``.
    """

    platform = "messenger"
    display_name = "Messenger"

    def __init__(
        self,
        app_secret: str = "fake-messenger-app-secret",
        *,
        rate_limit: int = SEND_RATE_LIMIT,
        latency: float = 0.0,
        api_version: str = API_VERSION,
    ) -> None:
        self.app_secret = app_secret
        self.api_version = api_version
        self._pages: dict[str, MessengerPage] = {}
        self._subscription_refusal: str | None = None
        self._ids = itertools.count(1)
        self._init_threads()
        super().__init__(rate_limit=rate_limit, latency=latency)

    # --- pages and shoppers ----------------------------------------------------

    def page(self, page_id: str) -> MessengerPage:
        with self._lock:
            return self._pages[page_id]

    def refuse_subscriptions(self, message: str | None) -> None:
        """Answer every ``subscribed_apps`` call with Meta's permission error
        (code 200) saying ``message``; None answers normally again."""
        with self._lock:
            self._subscription_refusal = message

    def add_page(self, page_id: str, access_token: str) -> MessengerPage:
        page = MessengerPage(page_id, access_token)
        with self._lock:
            self._pages[page_id] = page
        return page

    def receive_message(
        self, page_id: str, psid: str, at: datetime | None = None
    ) -> None:
        """The shopper writes to the Page, opening a 24-hour window from ``at``."""
        with self._lock:
            self._pages[page_id].last_inbound[psid] = at or self.now()

    def set_human_agent(self, page_id: str, allowed: bool = True) -> None:
        """Grant (or take back) the Page's Human Agent permission."""
        with self._lock:
            self._pages[page_id].human_agent = allowed

    def block(self, page_id: str, psid: str) -> None:
        with self._lock:
            self._pages[page_id].blocked.add(psid)

    def delivered_to(self, psid: str) -> list[OutboxEntry]:
        with self._lock:
            return [e for e in self.outbox if e.recipient == psid]

    def sign_webhook(self, body: bytes) -> str:
        """The ``X-Hub-Signature-256`` Meta sends with ``body``: sha256=<hex HMAC>."""
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return f"sha256={digest}"

    # --- the send itself (called by the route) --------------------------------

    def send(self, page_ref: str, token: str, body: Any) -> dict[str, Any]:
        """Answer one Send API call; raises ``GraphError`` when refused."""
        # Checking the body needs no shared state; do it before taking the lock.
        problem = send_problem(body)
        with self._lock:
            page = self._page_by_token(token)
            if page is None or page_ref not in ("me", page.page_id):
                raise GraphError(
                    400, 190, "Invalid OAuth access token - Cannot parse access token"
                )
            if not self.admit_request(page.page_id):
                raise GraphError(
                    400, 613, "(#613) Calls to this api have exceeded the rate limit."
                )
            if problem:
                raise GraphError(400, 100, f"(#100) {problem}")

            psid = body["recipient"]["id"]
            self._check_recipient(page, psid, body)
            return self._accept(page, psid, body["message"])

    # --- internals ---------------------------------------------------------------

    def _check_recipient(self, page: MessengerPage, psid: str, body: dict) -> None:
        last_inbound = page.last_inbound.get(psid)
        if last_inbound is None:
            raise GraphError(400, 100, "(#100) No matching user found", 2018001)
        if psid in page.blocked:
            raise GraphError(
                400, 551, "(#551) This person isn't available right now.", 1545041
            )

        tag = body.get("tag") if body["messaging_type"] == "MESSAGE_TAG" else None
        if tag == "HUMAN_AGENT" and not page.human_agent:
            raise GraphError(403, 200, HUMAN_AGENT_REFUSED)
        if tag is None:
            window = STANDARD_WINDOW
        elif tag == "HUMAN_AGENT":
            window = HUMAN_AGENT_WINDOW
        else:
            # Other tags may go outside the window (and must not carry
            # promotions, which a fake cannot judge).
            return
        if self.now() - last_inbound > window:
            raise GraphError(
                400,
                10,
                "(#10) This message is sent outside of allowed window.",
                2018278,
            )

    def _accept(
        self, page: MessengerPage, psid: str, message: dict[str, Any]
    ) -> dict[str, Any]:
        message_id = f"m_{next(self._ids):08d}{secrets.token_hex(6)}"
        self.outbox.append(
            OutboxEntry(
                platform=self.platform,
                account=page.page_id,
                recipient=psid,
                messages=[message],
                delivered=True,
                accepted_at=self.now(),
                message_ids=(message_id,),
            )
        )
        return {"recipient_id": psid, "message_id": message_id}

    def _page_by_token(self, token: str) -> MessengerPage | None:
        for page in self._pages.values():
            if token and hmac.compare_digest(page.access_token, token):
                return page
        return None

    def _forget_accounts(self) -> None:
        self._pages.clear()
        self._subscription_refusal = None
        self._forget_threads()

    def _base_url(self, root: str) -> str:
        return f"{root}/{self.api_version}"

    def _add_api_routes(self, app: Flask) -> None:
        app.add_url_rule(
            "/<version>/<page_ref>/messages", "send", self._send_route, methods=["POST"]
        )
        self._add_thread_routes(app)
        app.add_url_rule("/<version>/me", "me", self._me_route)
        app.add_url_rule(
            "/<version>/<page_id>/subscribed_apps",
            "subscribed_apps",
            self._subscribed_apps_route,
            methods=["POST"],
        )

    def _subscribed_apps_route(self, version: str, page_id: str) -> Response:
        """``POST /{page-id}/subscribed_apps``: the Page's token, known fields."""
        token = request.args.get("access_token") or _bearer()
        fields = [f for f in request.args.get("subscribed_fields", "").split(",") if f]
        with self._lock:
            page = self._page_by_token(token)
            if self._subscription_refusal is not None:
                error = GraphError(403, 200, self._subscription_refusal)
                return jsonify(error.body()), 403
            if page is None or page.page_id != page_id:
                error = GraphError(
                    400, 190, "Invalid OAuth access token - Cannot parse access token"
                )
                return jsonify(error.body()), 400
            unknown = [f for f in fields if f not in PAGE_FIELDS]
            if not fields or unknown:
                error = GraphError(
                    400,
                    100,
                    "(#100) Param subscribed_fields must be one of"
                    f" {{{', '.join(PAGE_FIELDS)}}} - got {','.join(unknown)!r}.",
                )
                return jsonify(error.body()), 400
            page.subscribed_fields = tuple(fields)
        return jsonify({"success": True})

    def _me_route(self, version: str) -> Response:
        """``GET /me`` with a Page token: the Page it belongs to, as Graph answers."""
        token = request.args.get("access_token") or _bearer()
        with self._lock:
            page = self._page_by_token(token)
        if page is None:
            error = GraphError(
                400, 190, "Invalid OAuth access token - Cannot parse access token"
            )
            return jsonify(error.body()), 400
        return jsonify({"id": page.page_id, "name": f"Page {page.page_id}"})

    def _send_route(self, version: str, page_ref: str) -> Response:
        if self.latency:
            time.sleep(self.latency)
        body = request.get_json(silent=True)
        token = request.args.get("access_token") or _bearer()

        fault = self.take_fault()
        try:
            if fault is not None:
                raise _fault_error(fault)
            if version != self.api_version:
                raise GraphError(400, 2635, f"(#2635) Unknown API version {version}.")
            status, payload, headers = 200, self.send(page_ref, token, body), {}
        except GraphError as error:
            status, payload = error.status, error.body()
            headers = (
                {"Retry-After": fault.retry_after}
                if fault and fault.retry_after
                else {}
            )

        recipient = _recipient_of(body)
        self.record_call(
            ChatCall("POST", request.path, status, page_ref, recipient, None)
        )
        response = jsonify(payload)
        response.status_code = status
        response.headers.update(headers)
        return response


def _fault_error(fault: Any) -> GraphError:
    status = fault.outcome
    if status == "timeout":
        # The platform's lock is not held here, so other requests go on.
        time.sleep(fault.delay)
        status = 504
    code, subcode, message = _FAULT_ERRORS.get(
        int(status), (1, None, "An unknown error occurred.")
    )
    return GraphError(int(status), code, message, subcode)


def _recipient_of(body: Any) -> str | None:
    recipient = body.get("recipient") if isinstance(body, dict) else None
    return recipient.get("id") if isinstance(recipient, dict) else None


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
