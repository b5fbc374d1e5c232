"""What the fake LINE and Messenger platforms share.

Serving a Flask app from a daemon thread, a controllable answer latency,
injected faults, a per-account request-rate window, the call log and the
outbox of accepted messages (served as a phone-like page at ``/outbox`` and
as JSON at ``/outbox.json``; the counters at ``/stats.json``).

``/outbox/<recipient>`` is that shopper's own phone: what they received and
what they sent, with a "Write as this shopper" box (``POST .../say``) and
quick replies and postback buttons that tap (``POST .../tap``). Both go
through the platform's user side (``user_sends_text``, ``user_taps``), so
the app gets the signed webhook the real platform would send, and the page
redirects back to the thread.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode

from flask import Flask, Response, jsonify, redirect, request
from werkzeug.serving import BaseWSGIServer, make_server

from plugin.sandbox.phone import (
    PhoneItem,
    PhoneThread,
    render_phone_page,
    threads_by_recipient,
)
from plugin.sandbox.shopify_http import QuietRequestHandler

logger = logging.getLogger(__name__)

# A user id or PSID as the phone's address: both platforms' are plain tokens.
RECIPIENT = re.compile(r"[A-Za-z0-9_-]{1,64}")
# What a shopper may type in one go on the phone page (LINE's text limit).
SAY_MAX = 5000
TAP_FIELD_MAX = 1000


class ChatCall(NamedTuple):
    """One request a fake chat platform answered."""

    method: str
    path: str
    status: int
    account: str | None
    recipient: str | None
    retry_key: str | None


class ChatFault(NamedTuple):
    """An injected failure: an HTTP status, or ``"timeout"`` after ``delay`` s."""

    outcome: int | str
    retry_after: str | None
    delay: float


@dataclass(frozen=True)
class OutboxEntry:
    """A send the platform accepted; ``delivered`` is false when it went nowhere.

    ``reply`` marks LINE's replies (sent with a reply token), as against pushes.
    """

    platform: str
    account: str
    recipient: str
    messages: list[dict[str, Any]]
    delivered: bool
    accepted_at: datetime
    message_ids: tuple[str, ...]
    reply: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account,
            "recipient": self.recipient,
            "delivered": self.delivered,
            "reply": self.reply,
            "accepted_at": self.accepted_at.isoformat(),
            "message_ids": list(self.message_ids),
            "messages": self.messages,
        }


@dataclass(frozen=True)
class ShopperMessage:
    """Something a shopper sent from their phone, as the platform's message
    object (LINE's or Messenger's shape), for their thread on ``/outbox``."""

    platform: str
    account: str
    sender: str
    message: dict[str, Any]
    sent_at: datetime


@dataclass(frozen=True)
class Tap:
    """A shopper's tap on a button the phone shows.

    ``kind`` is the button's type: LINE's ``postback`` or ``message`` action,
    Messenger's ``quick_reply`` or ``postback``; ``data`` its postback data,
    payload or text; ``label`` what the chat shows as the shopper's message
    (empty for a LINE postback without ``displayText``, which shows nothing).
    """

    kind: str
    data: str
    label: str = ""


class RequestWindow:
    """At most ``limit`` admitted requests per key within any one second."""

    def __init__(self) -> None:
        self._admitted: dict[str, deque[float]] = defaultdict(deque)

    def admit(self, key: str, limit: int, now: float) -> bool:
        """Count a request for ``key`` at ``now`` (monotonic s) if under ``limit``."""
        admitted = self._admitted[key]
        while admitted and admitted[0] <= now - 1.0:
            admitted.popleft()
        if len(admitted) >= limit:
            return False
        admitted.append(now)
        return True

    def clear(self) -> None:
        self._admitted.clear()


class FakeChatPlatform:
    """Base of the fake chat platforms; subclasses add the platform's API.

    Attributes tests and benches may read or set:
        latency: seconds every API answer waits before being worked out
            (without holding the platform's lock), like a network round trip.
        rate_limit: requests per second each account may make.
        now: the platform's clock (an aware-datetime callable).
        rate_clock: the clock of the request-rate window (monotonic seconds);
            tests freeze it so a slow machine cannot spread a burst out.
        calls: every answered API request, as ``ChatCall``.
        outbox: every accepted send, as ``OutboxEntry``.
        shopper_messages: what shoppers sent, as ``ShopperMessage``.
    """

    platform = "chat"
    display_name = "Chat platform"

    def __init__(self, *, rate_limit: int, latency: float = 0.0) -> None:
        self.latency = latency
        self.rate_limit = rate_limit
        self.now: Callable[[], datetime] = _wall_clock
        self.rate_clock: Callable[[], float] = time.monotonic
        self.calls: list[ChatCall] = []
        self.outbox: list[OutboxEntry] = []
        self.shopper_messages: list[ShopperMessage] = []
        self.base_url: str | None = None

        self._lock = threading.RLock()
        self._faults: deque[ChatFault] = deque()
        self._window = RequestWindow()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.wsgi_app = self._build_app()

    # --- what subclasses provide ---------------------------------------------

    def _add_api_routes(self, app: Flask) -> None:
        raise NotImplementedError

    def _forget_accounts(self) -> None:
        raise NotImplementedError

    def _account_ids(self) -> list[str]:
        """The accounts (LINE channels, Pages) the platform knows."""
        raise NotImplementedError

    def user_sends_text(self, account: str, sender: str, text: str) -> int | None:
        """The shopper writes ``text``; the app's webhook status, or None."""
        raise NotImplementedError

    def user_taps(self, account: str, sender: str, tap: Tap) -> int | None:
        """The shopper taps a button; the app's webhook status, or None.

        Raises ``ValueError`` for a kind of button the platform does not have.
        """
        raise NotImplementedError

    # --- what shoppers sent -----------------------------------------------------

    def record_shopper_message(
        self, account: str, sender: str, message: dict[str, Any]
    ) -> None:
        """Keep what a shopper sent, so their phone shows it beside the replies."""
        with self._lock:
            self.shopper_messages.append(
                ShopperMessage(self.platform, account, sender, message, self.now())
            )

    # --- counters, latency, faults --------------------------------------------

    @property
    def accepted_count(self) -> int:
        """How many sends were accepted (answered 200)."""
        return self.count_calls(200)

    @property
    def throttled_count(self) -> int:
        """How many requests were answered 429."""
        return self.count_calls(429)

    def count_calls(self, status: int | None = None) -> int:
        """Answered API requests, optionally only those with ``status``."""
        with self._lock:
            return sum(1 for call in self.calls if status in (None, call.status))

    def set_latency(self, seconds: float) -> None:
        """Make every API answer wait ``seconds`` (the bench uses 0.05)."""
        self.latency = seconds

    def set_rate_limit(self, per_second: int) -> None:
        """Change how many requests per second each account may make."""
        with self._lock:
            self.rate_limit = per_second
            self._window.clear()

    def inject_faults(
        self,
        faults: list[int | str],
        *,
        retry_after: str | None = None,
        timeout_seconds: float = 6.0,
    ) -> None:
        """Make the next API calls fail, one fault per call, in order.

        A fault is an HTTP status (a 429 carries ``Retry-After: retry_after``
        when given) or ``"timeout"``: the answer waits ``timeout_seconds`` and
        then is a 504, so a client that waits that long still sees a failure.
        """
        with self._lock:
            for fault in faults:
                if fault != "timeout" and not isinstance(fault, int):
                    raise ValueError(
                        f"A fault is an HTTP status or 'timeout', not {fault!r}."
                    )
                self._faults.append(ChatFault(fault, retry_after, timeout_seconds))

    def take_fault(self) -> ChatFault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def admit_request(self, account: str) -> bool:
        """Whether ``account`` is still under its request rate; counts it if so."""
        with self._lock:
            return self._window.admit(account, self.rate_limit, self.rate_clock())

    def record_call(self, call: ChatCall) -> None:
        with self._lock:
            self.calls.append(call)

    def reset(self) -> None:
        """Forget accounts, calls, faults, the outbox and the clock; keep serving."""
        with self._lock:
            self.now = _wall_clock
            self.rate_clock = time.monotonic
            self.calls.clear()
            self.outbox.clear()
            self.shopper_messages.clear()
            self._faults.clear()
            self._window.clear()
            self._forget_accounts()

    # --- serving --------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving in a daemon thread; returns the base URL."""
        if self._server is not None:
            raise RuntimeError(f"Already serving at {self.base_url}.")
        self._server = make_server(
            host,
            port,
            self.wsgi_app,
            threaded=True,
            request_handler=QuietRequestHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-{self.platform}",
            daemon=True,
        )
        self._thread.start()
        self.base_url = self._base_url(f"http://{host}:{self._server.server_port}")
        logger.info(
            "sandbox.chat.serving",
            extra={"platform": self.platform, "base_url": self.base_url},
        )
        return self.base_url

    def shutdown(self) -> None:
        """Stop the server thread started by ``serve``."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
        self.base_url = None

    @property
    def outbox_url(self) -> str | None:
        """The phone-like page of accepted messages, while serving."""
        if self._server is None:
            return None
        return (
            f"http://{self._server.server_address[0]}:{self._server.server_port}/outbox"
        )

    def phone_url(self, recipient: str) -> str | None:
        """One shopper's phone, where a person can write as them, while serving."""
        outbox = self.outbox_url
        return f"{outbox}/{quote(recipient, safe='')}" if outbox else None

    def _base_url(self, root: str) -> str:
        """The URL clients are configured with (Messenger's carries the version)."""
        return root

    def _build_app(self) -> Flask:
        app = Flask(f"fake_{self.platform}")
        # Keep keys in the order the platform writes them.
        app.json.sort_keys = False
        self._add_api_routes(app)
        app.add_url_rule("/outbox", "outbox", self._outbox_page)
        app.add_url_rule("/outbox.json", "outbox_json", self._outbox_json)
        app.add_url_rule("/outbox/<recipient>", "phone", self._phone_page)
        app.add_url_rule(
            "/outbox/<recipient>/say", "say", self._say_route, methods=["POST"]
        )
        app.add_url_rule(
            "/outbox/<recipient>/tap", "tap", self._tap_route, methods=["POST"]
        )
        # For a bench running the fake in a process of its own.
        app.add_url_rule("/stats.json", "stats_json", self._stats_json)
        return app

    def _outbox_page(self) -> Response:
        with self._lock:
            sends = len(self.outbox)
        threads = threads_by_recipient(self._phone_items())
        for thread in threads:
            thread.url = f"/outbox/{quote(thread.recipient, safe='')}"
        page = render_phone_page(
            f"Fake {self.display_name}: outbox",
            f"{sends} accepted send(s), newest conversation last. Open a"
            " recipient's phone to write or tap as them.",
            threads,
        )
        return Response(page, mimetype="text/html")

    def _phone_page(self, recipient: str) -> Response:
        """One shopper's phone, with a box to write as them."""
        if not RECIPIENT.fullmatch(recipient):
            return _not_found("That is not a user id of this platform.")
        threads = threads_by_recipient(self._phone_items(recipient))
        account = self._account_for(recipient, request.args.get("account"))
        if account is None:
            return _not_found("Name a known account: ?account=<id>.")
        thread = threads[0] if threads else None
        if thread is None:
            thread = PhoneThread(self.platform, recipient, account)
        address = f"/outbox/{quote(recipient, safe='')}"
        query = urlencode({"account": account})
        thread.say_url = f"{address}/say?{query}"
        thread.tap_url = f"{address}/tap?{query}"
        page = render_phone_page(
            f"Fake {self.display_name}: {recipient}'s phone",
            f"Writing or tapping here sends the app the webhook {self.display_name}"
            " would. Reload to see the shop's answers.",
            [thread],
            back_url="/outbox",
        )
        return Response(page, mimetype="text/html")

    def _say_route(self, recipient: str) -> Response:
        """``POST /outbox/<recipient>/say``: the shopper sends ``text``."""
        account = self._phone_account(recipient)
        if account is None:
            return _not_found("No such phone here.")
        text = request.form.get("text", "")
        if len(text) > SAY_MAX:
            return _bad_request(f"A message holds at most {SAY_MAX} characters.")
        # A phone does not send a blank message; the page comes back as it was.
        if text.strip():
            status = self.user_sends_text(account, recipient, text)
            self._warn_if_undelivered("say", account, status)
        return self._back_to_phone(recipient, account)

    def _tap_route(self, recipient: str) -> Response:
        """``POST /outbox/<recipient>/tap``: the shopper taps a button."""
        account = self._phone_account(recipient)
        if account is None:
            return _not_found("No such phone here.")
        fields = [request.form.get(name, "") for name in ("kind", "data", "label")]
        if any(len(value) > TAP_FIELD_MAX for value in fields):
            return _bad_request("That button's data is too long.")
        try:
            status = self.user_taps(account, recipient, Tap(*fields))
        except ValueError as refusal:
            return _bad_request(str(refusal))
        self._warn_if_undelivered("tap", account, status)
        return self._back_to_phone(recipient, account)

    def _phone_items(self, recipient: str | None = None) -> list[PhoneItem]:
        """Sends and the shoppers' own messages, oldest first (one recipient's
        when ``recipient`` is given)."""
        with self._lock:
            entries = list(self.outbox)
            said = list(self.shopper_messages)
        items = [
            PhoneItem(
                platform=entry.platform,
                recipient=entry.recipient,
                account=entry.account,
                messages=entry.messages,
                at=entry.accepted_at,
                note=None if entry.delivered else "accepted, not delivered (blocked)",
            )
            for entry in entries
        ] + [
            PhoneItem(
                platform=message.platform,
                recipient=message.sender,
                account=message.account,
                messages=[message.message],
                at=message.sent_at,
                from_shopper=True,
            )
            for message in said
        ]
        if recipient is not None:
            items = [item for item in items if item.recipient == recipient]
        # Stable: at the same instant, what the platform sent comes first.
        return sorted(items, key=lambda item: item.at)

    def _phone_account(self, recipient: str) -> str | None:
        """The account a form on ``recipient``'s phone posts to, if both are real."""
        if not RECIPIENT.fullmatch(recipient):
            return None
        return self._account_for(recipient, request.values.get("account"))

    def _account_for(self, recipient: str, named: str | None) -> str | None:
        """The account a phone talks to: the one named, else the one its
        latest message came through, else the platform's only one."""
        known = self._account_ids()
        if named:
            return named if named in known else None
        items = self._phone_items(recipient)
        if items:
            return items[-1].account
        return known[0] if len(known) == 1 else None

    def _back_to_phone(self, recipient: str, account: str) -> Response:
        query = urlencode({"account": account})
        # 303: the browser follows with a GET, so a reload does not post again.
        return redirect(f"/outbox/{quote(recipient, safe='')}?{query}", 303)

    def _warn_if_undelivered(
        self, action: str, account: str, status: int | None
    ) -> None:
        if status is None or status >= 300:
            logger.warning(
                "sandbox.chat.shopper_webhook_failed",
                extra={
                    "platform": self.platform,
                    "action": action,
                    "account": account,
                    "status": status,
                },
            )

    def _stats_json(self) -> Response:
        return jsonify(
            accepted=self.accepted_count,
            throttled=self.throttled_count,
            calls=self.count_calls(),
        )

    def _outbox_json(self) -> Response:
        with self._lock:
            return jsonify([entry.as_json() for entry in self.outbox])


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _not_found(detail: str) -> Response:
    return Response(detail, status=404, mimetype="text/plain")


def _bad_request(detail: str) -> Response:
    return Response(detail, status=400, mimetype="text/plain")
