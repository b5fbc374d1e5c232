"""PostgreSQL restarts under a web process and a worker; nothing accepted is lost.

While the database is away the web answers 503 with ``Retry-After``
(``plugin.errors``), and the store platform and the widget send again; the
test plays both, delivering webhooks and storefront events throughout. The
books afterwards: every webhook is stored and applied once, every event the
web accepted is stored, and both processes are still serving.

Restarting the server breaks every other test run that shares it, so this
runs only with ``REVISIT_FAULTS_RESTART_POSTGRES=1`` (CI sets it: it runs
alone on its machine). It restarts the cluster serving the test database,
found by its port, with ``pg_ctlcluster``, then empties every pool this
process keeps, so the tests that run after it in the same process meet no
connection the restart killed.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest
from flask import current_app
from sqlalchemy import Engine, select

from engine.db import db
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.models import VisitorEvent
from engine.tracking.reads import READS_KEY
from engine.webhooks.models import APPLIED, WebhookDelivery
from plugin.ops import PROBES_KEY
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests import backends
from tests.conftest import SHOP_DOMAIN
from tests.faults.conftest import Processes, needs_postgresql
from tests.faults.processes import WebProcess, wait_until
from tests.reminders import OOLONG_100G, cart_payload, taipei
from tests.widget_api import event, storefront

logger = logging.getLogger(__name__)

RESTART_ENV = "REVISIT_FAULTS_RESTART_POSTGRES"
pytestmark = [
    needs_postgresql,
    pytest.mark.skipif(
        os.environ.get(RESTART_ENV) != "1",
        reason=f"Restarts the PostgreSQL server other runs on this machine may"
        f" share; set {RESTART_ENV}=1 where it runs alone (CI does).",
    ),
]

# Deliveries and event batches, one every SPACING seconds, for a while
# before, during and after the restart.
SENDS = 40
SPACING = 0.25
# How long the platform and the widget keep sending one thing again.
GIVE_UP_SECONDS = 90.0


def test_postgres_restart_loses_no_webhook_or_event(
    shop: Shop, platform: FakeShopifyPlatform, processes: Processes
) -> None:
    # given a web process, a worker and a shopper's visitor token
    web = processes.web(wait=False)
    worker = processes.worker(wait=False).wait_listening()
    web.wait_ready()
    visitor_token = _visitor_token(web, shop)

    # when the platform delivers 40 cart webhooks and the widget sends 40
    # events, a quarter second apart, and PostgreSQL restarts in the middle
    webhooks = _Sender(lambda n: _deliver_cart(web, platform, f"cart-{n}"))
    events = _Sender(lambda n: _send_event(web, shop, visitor_token))
    webhooks.start()
    events.start()
    time.sleep(SENDS * SPACING / 3)
    restarted = _restart_postgresql()
    for sender in (webhooks, events):
        sender.join(timeout=SENDS * SPACING + GIVE_UP_SECONDS)
        assert not sender.is_alive()

    # then each was taken in the end; while the database was away the web
    # answered 503 with Retry-After, and nothing else
    assert (webhooks.unexpected, events.unexpected) == ([], [])
    assert len(webhooks.accepted) == len(events.accepted) == SENDS
    assert webhooks.refused, "no delivery met the restart"
    assert all(retry_after for retry_after in webhooks.refused + events.refused)

    # and every one is stored and applied, every accepted event stored
    wait_until(
        lambda: _applied(webhooks.accepted) == SENDS, 60, "every webhook to be applied"
    )
    wait_until(
        lambda: _stored_events(events.accepted) == SENDS,
        60,
        "every accepted event to be stored",
    )
    assert web.alive() and worker.alive()
    logger.info(
        "faults.postgres_restart",
        extra={"restart_seconds": restarted, "refused": len(webhooks.refused)},
    )


class _Sender(threading.Thread):
    """Sends ``SENDS`` things ``SPACING`` apart, each again while it is refused
    503, after its ``Retry-After`` (a second when nothing answered).

    ``accepted`` are the keys of what was taken, ``refused`` the Retry-After
    of each 503, ``unexpected`` any other answer (not sent again).
    """

    def __init__(self, send_one: Callable[[int], tuple[str, httpx.Response | None]]):
        super().__init__(daemon=True)
        self.send_one = send_one
        self.accepted: list[str] = []
        self.refused: list[str | None] = []
        self.unexpected: list[str] = []

    def run(self) -> None:
        for number in range(SENDS):
            started = time.monotonic()
            self._send_until_taken(number, started + GIVE_UP_SECONDS)
            time.sleep(max(0.0, SPACING - (time.monotonic() - started)))

    def _send_until_taken(self, number: int, deadline: float) -> None:
        while time.monotonic() < deadline:
            key, response = self.send_one(number)
            if response is None:
                time.sleep(1.0)
                continue
            if response.status_code in (200, 202):
                self.accepted.append(key)
                return
            if response.status_code != 503:
                self.unexpected.append(f"{response.status_code} {response.text}")
                return
            self.refused.append(response.headers.get("Retry-After"))
            time.sleep(float(response.headers.get("Retry-After") or 1))


def _deliver_cart(
    web: WebProcess, platform: FakeShopifyPlatform, token: str
) -> tuple[str, httpx.Response | None]:
    """One delivery of a cart webhook; the platform keeps the webhook id."""
    body = json.dumps(cart_payload(token, [(OOLONG_100G, 1)], taipei(3, 12))).encode()
    webhook_id = str(uuid.uuid5(uuid.NAMESPACE_URL, token))
    headers = platform.webhook_headers(
        "carts/update", SHOP_DOMAIN, body, webhook_id=webhook_id, event_id=webhook_id
    )
    return webhook_id, _post(web, "/webhooks/shopify", body, headers)


def _send_event(
    web: WebProcess, shop: Shop, visitor_token: str
) -> tuple[str, httpx.Response | None]:
    leave = event("page_leave", seconds_on_page=5)
    body = {
        "widget_key": shop.widget_key,
        "visitor_token": visitor_token,
        "events": [leave],
    }
    headers = {"Content-Type": "text/plain", "Origin": storefront(shop)}
    return leave["id"], _post(web, "/api/widget/v1/events", json.dumps(body), headers)


def _post(
    web: WebProcess, path: str, body: bytes | str, headers: dict[str, str]
) -> httpx.Response | None:
    try:
        return httpx.post(
            f"{web.base}{path}", content=body, headers=headers, timeout=10
        )
    except httpx.TransportError:
        return None


def _visitor_token(web: WebProcess, shop: Shop) -> str:
    body = {
        "widget_key": shop.widget_key,
        "visitor_token": None,
        "page": {
            "url": f"{storefront(shop)}/products/chew-toy",
            "page_type": "product",
        },
        "locale": "en",
        "event_id": str(uuid.uuid4()),
    }
    headers = {"Content-Type": "text/plain", "Origin": storefront(shop)}
    response = _post(web, "/api/widget/v1/page", json.dumps(body), headers)
    assert response is not None and response.status_code == 200
    return response.json()["visitor_token"]


def _restart_postgresql() -> float:
    """Restart the cluster serving the test database; seconds it took."""
    port = urlsplit(backends.ADMIN_DATABASE_URL).port or 5432
    clusters = subprocess.run(
        ["pg_lsclusters", "--no-header"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.split("\n")
    version, cluster = next(
        line.split()[:2] for line in clusters if line.split()[2:3] == [str(port)]
    )
    started = time.monotonic()
    try:
        subprocess.run(
            [
                "pg_ctlcluster",
                "--skip-systemctl-redirect",
                version,
                cluster,
                "restart",
            ],
            check=True,
            timeout=60,
            capture_output=True,
        )
    finally:
        # Also after a failed restart: the old server may be gone all the same.
        _forget_dead_connections()
    return time.monotonic() - started


def _forget_dead_connections() -> None:
    """Drop every connection this process holds, all dead after the restart.

    ``pg_ctlcluster`` returns once the new server accepts connections, so
    the pools refill from it. The session holds a connection inside a
    transaction (the ``shop`` fixture's read opened one): it is invalidated,
    since a ROLLBACK on a dead connection raises. The autocommit and
    widget-read pools skip pre-ping on purpose, so a dead connection left in
    one would fail the next call through it, in whichever test comes next.
    """
    db.session().invalidate()
    db.session.remove()
    for engine in _engines_of_this_process():
        engine.dispose()


def _engines_of_this_process() -> list[Engine]:
    """The session app's pools: the session's, the autocommit writes', the
    readiness probe's and, once a widget read made it, the widget reads'."""
    extensions = current_app.extensions
    engines = [
        *db.engines.values(),
        current().autocommit_engine,
        extensions[PROBES_KEY].engine,
    ]
    if READS_KEY in extensions:
        engines.append(extensions[READS_KEY])
    return engines


def _applied(webhook_ids: list[str]) -> int:
    db.session.rollback()
    return len(
        db.session.scalars(
            select(WebhookDelivery.id).where(
                WebhookDelivery.webhook_id.in_(webhook_ids),
                WebhookDelivery.status == APPLIED,
            )
        ).all()
    )


def _stored_events(event_ids: list[str]) -> int:
    db.session.rollback()
    return len(
        db.session.scalars(
            select(VisitorEvent.event_id).where(VisitorEvent.event_id.in_(event_ids))
        ).all()
    )
