"""Setting up the work a fault interrupts, and checking the books afterwards.

"The books" are what a merchant trusts: each due reminder reached its
shopper once (the platform's outbox, by recipient and retry key) or is on
record as failed with a reason; every accepted webhook, storefront event and
chat message is stored once.

``Sender`` plays the store platform and the widget against a web process
while a fault happens: each thing is sent until it is taken, as they do.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select

from engine.binding.models import LINE, ChannelBinding
from engine.chat.models import ChatMessage
from engine.commerce.apply import apply_cart
from engine.commerce.models import Cart
from engine.db import db
from engine.reminders import clock
from engine.reminders.models import ENDED_SEND_STATES, SENT, ReminderSend
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.models import VisitorEvent
from engine.visitors.models import Visitor
from engine.webhooks.models import APPLIED, WebhookDelivery
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import SHOP_DOMAIN
from tests.faults.processes import WebProcess
from tests.reminders import (
    OOLONG_100G,
    Shopper,
    cart_payload,
    line_user_id,
    move_clock_to,
    taipei,
)
from tests.widget_api import event, storefront

# The default flow's first step: 30 minutes without activity, then 1 hour.
FIRST_STEP_AFTER = timedelta(minutes=30) + timedelta(hours=1)
# Noon in Taipei: outside the default quiet hours (22:00 to 09:00).
NOON = taipei(3, 12)


def carts_due_in(
    shop: Shop,
    count: int,
    seconds: float,
    *,
    prefix: str = "shopper",
    channel: str = LINE,
    wrote_at: datetime | None = None,
) -> list[Shopper]:
    """``count`` shoppers bound on ``channel`` whose carts' first reminder falls
    due ``seconds`` from now, by the wall clock (RQ's scheduler wakes a worker).

    One transaction: every wake-up job is sent at its commit, so on a slow
    machine they fall due all at once, never a few at a time. Messenger
    shoppers last wrote to the Page at ``wrote_at``.
    """
    if abs(clock.now() - NOON) > timedelta(hours=1):
        move_clock_to(NOON)
    left_at = clock.now() - FIRST_STEP_AFTER + timedelta(seconds=seconds)
    shoppers = []
    for number in range(count):
        shopper, cart = _linked_cart(shop, f"{prefix}-{number}", channel, wrote_at)
        apply_cart(shop, cart_payload(cart.token, [(OOLONG_100G, 1)], left_at))
        shoppers.append(shopper)
    db.session.commit()
    return shoppers


@dataclass(frozen=True)
class BoundCart:
    """A cart the widget linked to a shopper bound on LINE; no news of it yet."""

    token: str
    external_id: str


def bound_carts(shop: Shop, count: int, *, prefix: str = "bound") -> list[BoundCart]:
    """``count`` carts linked to shoppers bound on LINE, the platform silent."""
    found = []
    for number in range(count):
        shopper, cart = _linked_cart(shop, f"{prefix}-{number}", LINE, None)
        found.append(BoundCart(cart.token, shopper.binding.external_id))
    db.session.commit()
    return found


def _linked_cart(
    shop: Shop, name: str, channel: str, wrote_at: datetime | None
) -> tuple[Shopper, Cart]:
    visitor = Visitor(shop_id=shop.id, public_id=f"v-{name}", first_name="Mei")
    db.session.add(visitor)
    db.session.flush()
    binding = ChannelBinding(
        shop_id=shop.id,
        visitor_id=visitor.id,
        channel=channel,
        external_id=_external_id(channel, name),
        last_inbound_at=wrote_at,
    )
    cart = Cart(shop_id=shop.id, token=f"cart-{name}", visitor_id=visitor.id)
    db.session.add_all([binding, cart])
    db.session.flush()
    return Shopper(visitor, binding), cart


def _external_id(channel: str, name: str) -> str:
    """A LINE userId, or a Messenger PSID (digits), standing for ``name``."""
    if channel == LINE:
        return line_user_id(name)
    digest = int(hashlib.md5(name.encode()).hexdigest()[:8], 16)
    return str(6_024_000_000_000_000 + digest)


def first_steps(shop: Shop) -> list[ReminderSend]:
    """The first step's send of every run of the shop, fresh from the database."""
    db.session.rollback()
    return list(
        db.session.scalars(
            select(ReminderSend)
            .where(ReminderSend.shop_id == shop.id, ReminderSend.position == 1)
            .order_by(ReminderSend.id)
        )
    )


def all_ended(shop: Shop) -> bool:
    """Whether every first step is sent, failed or skipped."""
    return all(send.status in ENDED_SEND_STATES for send in first_steps(shop))


def count_status(shop: Shop) -> Counter[str]:
    return Counter(send.status for send in first_steps(shop))


def assert_line_sent_each_once(
    shop: Shop, line: FakeLinePlatform, shoppers: list[Shopper]
) -> None:
    """Every shopper's first reminder: one push delivered, the send ``sent``;
    and LINE accepted each retry key once (a repeat answered 409)."""
    sends = {send.recipient_id: send for send in first_steps(shop)}
    for shopper in shoppers:
        user = shopper.binding.external_id
        delivered = line.delivered_to(user)
        send = sends.get(user)
        assert send is not None, f"{user}: no send on record"
        assert (send.status, send.reason) == (SENT, None), (
            f"{user}: {send.status} {send.reason} {send.error_detail}"
        )
        assert len(delivered) == 1, f"{user}: {len(delivered)} pushes delivered"

    calls = list(line.calls)
    accepted = Counter(call.retry_key for call in calls if call.status == 200)
    assert set(accepted.values()) == {1}, accepted.most_common(3)
    assert len(accepted) == len(shoppers)


def rows(model: type, **filters: object) -> int:
    """How many rows of ``model`` match, read afresh."""
    db.session.rollback()
    return db.session.scalar(
        select(func.count()).select_from(model).filter_by(**filters)
    )


def run_reminder_sweep() -> None:
    """Have a worker run the minute's reminder sweep now, not at its slot."""
    current().queue("default").enqueue("engine.periodic.run_reminders")


def release_scheduler_locks() -> None:
    """Drop RQ's scheduler locks: a killed scheduler's would hold them a minute."""
    redis = current().redis
    for lock in redis.keys("rq:scheduler-lock:*"):
        redis.delete(lock)


# What one try of a send gave: the key of the thing sent, and the web's
# answer (None when no answer came).
Sent = tuple[str, httpx.Response | None]


class Sender(threading.Thread):
    """Sends ``count`` things ``spacing`` seconds apart, each again while it is
    refused 503, after its ``Retry-After`` (a second when nothing answered),
    for up to ``give_up`` seconds.

    ``accepted`` maps the key of each thing taken to the answer that took
    it, ``refused`` holds the Retry-After of each 503, ``unexpected`` any
    other answer (not sent again).
    """

    def __init__(
        self,
        send_one: Callable[[int], Sent],
        *,
        count: int,
        spacing: float,
        give_up: float,
    ) -> None:
        super().__init__(daemon=True)
        self.send_one = send_one
        self.count = count
        self.spacing = spacing
        self.give_up = give_up
        self.accepted: dict[str, httpx.Response] = {}
        self.refused: list[str | None] = []
        self.unexpected: list[str] = []

    def run(self) -> None:
        for number in range(self.count):
            started = time.monotonic()
            self._send_until_taken(number, started + self.give_up)
            time.sleep(max(0.0, self.spacing - (time.monotonic() - started)))

    def _send_until_taken(self, number: int, deadline: float) -> None:
        while time.monotonic() < deadline:
            key, response = self.send_one(number)
            if response is None:
                time.sleep(1.0)
                continue
            if response.status_code in (200, 201, 202):
                self.accepted[key] = response
                return
            if response.status_code != 503:
                self.unexpected.append(f"{response.status_code} {response.text}")
                return
            self.refused.append(response.headers.get("Retry-After"))
            time.sleep(float(response.headers.get("Retry-After") or 1))


def deliver_cart(web: WebProcess, platform: FakeShopifyPlatform, token: str) -> Sent:
    """One delivery of a cart webhook; the platform keeps the webhook id."""
    body = json.dumps(cart_payload(token, [(OOLONG_100G, 1)], taipei(3, 12))).encode()
    webhook_id = str(uuid.uuid5(uuid.NAMESPACE_URL, token))
    headers = platform.webhook_headers(
        "carts/update", SHOP_DOMAIN, body, webhook_id=webhook_id, event_id=webhook_id
    )
    return webhook_id, post(web, "/webhooks/shopify", body, headers)


@dataclass(frozen=True)
class Widget:
    """What a shop's widget sends with each call: read once, so that sender
    threads never touch the database session."""

    widget_key: str
    origin: str


def widget_of(shop: Shop) -> Widget:
    return Widget(shop.widget_key, storefront(shop))


def send_event(web: WebProcess, widget: Widget, visitor_token: str) -> Sent:
    """A storefront event batch of one page leave; a new event id each try."""
    leave = event("page_leave", seconds_on_page=5)
    body = {
        "widget_key": widget.widget_key,
        "visitor_token": visitor_token,
        "events": [leave],
    }
    return leave["id"], _widget_post(web, widget, "/api/widget/v1/events", body)


def send_chat_message(
    web: WebProcess, widget: Widget, visitor_token: str, client_id: str
) -> Sent:
    """A shopper's chat message; a try again keeps its ``client_id``."""
    body = {
        "widget_key": widget.widget_key,
        "visitor_token": visitor_token,
        "text": f"message {client_id[:8]}",
        "client_id": client_id,
    }
    return client_id, _widget_post(web, widget, "/api/widget/v1/chat/messages", body)


def visitor_token(web: WebProcess, widget: Widget) -> str:
    """A new visitor's token, from a first page view."""
    body = {
        "widget_key": widget.widget_key,
        "visitor_token": None,
        "page": {
            "url": f"{widget.origin}/products/chew-toy",
            "page_type": "product",
        },
        "locale": "en",
        "event_id": str(uuid.uuid4()),
    }
    response = _widget_post(web, widget, "/api/widget/v1/page", body)
    assert response is not None and response.status_code == 200
    return response.json()["visitor_token"]


def _widget_post(
    web: WebProcess, widget: Widget, path: str, body: dict
) -> httpx.Response | None:
    headers = {"Content-Type": "text/plain", "Origin": widget.origin}
    return post(web, path, json.dumps(body), headers)


def post(
    web: WebProcess, path: str, body: bytes | str, headers: dict[str, str]
) -> httpx.Response | None:
    """POST to the web process; None when no answer came."""
    try:
        return httpx.post(
            f"{web.base}{path}", content=body, headers=headers, timeout=10
        )
    except httpx.TransportError:
        return None


def applied_deliveries(webhook_ids: list[str]) -> int:
    """How many of these webhooks are recorded and applied, read afresh."""
    db.session.rollback()
    return len(
        db.session.scalars(
            select(WebhookDelivery.id).where(
                WebhookDelivery.webhook_id.in_(webhook_ids),
                WebhookDelivery.status == APPLIED,
            )
        ).all()
    )


def stored_events(event_ids: list[str]) -> Counter[str]:
    """How many times each of these storefront events is stored, read afresh."""
    db.session.rollback()
    return Counter(
        db.session.scalars(
            select(VisitorEvent.event_id).where(VisitorEvent.event_id.in_(event_ids))
        )
    )


def assert_chat_stored_once(shop: Shop, accepted: dict[str, httpx.Response]) -> None:
    """Each accepted chat message is stored once, with the seq it was answered
    with, and the shop's seqs run 1..N without a gap."""
    db.session.rollback()
    stored = list(
        db.session.execute(
            select(ChatMessage.seq, ChatMessage.client_id).where(
                ChatMessage.shop_id == shop.id
            )
        )
    )
    assert sorted(seq for seq, _ in stored) == list(range(1, len(stored) + 1))
    stored_ids = Counter(client_id for _, client_id in stored)
    answered = Counter(list(accepted))
    assert stored_ids == answered, (
        f"stored, not accepted: {stored_ids - answered};"
        f" accepted, not stored: {answered - stored_ids}"
    )
    assert {client_id: seq for seq, client_id in stored} == {
        client_id: answer.json()["message"]["seq"]
        for client_id, answer in accepted.items()
    }
