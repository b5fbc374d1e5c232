"""What the fake LINE and Messenger platforms share.

Serving a Flask app from a daemon thread, a controllable answer latency,
injected faults, a per-account request-rate window, the call log and the
outbox of accepted messages (served as a phone-like page at ``/outbox`` and
as JSON at ``/outbox.json``; the counters at ``/stats.json``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from flask import Flask, Response, jsonify
from werkzeug.serving import BaseWSGIServer, make_server

from plugin.sandbox.phone import PhoneItem, render_phone_page, threads_by_recipient
from plugin.sandbox.shopify_http import QuietRequestHandler

logger = logging.getLogger(__name__)


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
        # For a bench running the fake in a process of its own.
        app.add_url_rule("/stats.json", "stats_json", self._stats_json)
        return app

    def _outbox_page(self) -> Response:
        with self._lock:
            entries = list(self.outbox)
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
        ]
        page = render_phone_page(
            f"Fake {self.display_name}: outbox",
            f"{len(entries)} accepted send(s), newest conversation last.",
            threads_by_recipient(items),
        )
        return Response(page, mimetype="text/html")

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
