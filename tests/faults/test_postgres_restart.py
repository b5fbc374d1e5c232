"""PostgreSQL restarts under a web process and a worker; nothing accepted is lost.

While the database is away the web answers 503 with ``Retry-After``
(``plugin.errors``), and the store platform and the widget send again; the
test plays both, delivering webhooks, storefront events and a shopper's chat
messages throughout, while reminders fall due just as the server goes down.
The books afterwards: every webhook is stored and applied once, every event
and chat message the web accepted is stored once, every reminder due is
sent once, and both processes are still serving.

Restarting the server breaks every other test run that shares it, so this
runs only with ``REVISIT_FAULTS_RESTART_POSTGRES=1`` (CI sets it: it runs
alone on its machine). It restarts the cluster serving the test database,
found by its port, with ``pg_ctlcluster``, then empties every pool this
process keeps, so the tests that run after it in the same process meet no
connection the restart killed.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from flask import current_app
from sqlalchemy import Engine

from engine.db import db
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.reads import READS_KEY
from plugin.ops import PROBES_KEY
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests import backends
from tests.faults.books import (
    Sender,
    Sent,
    all_ended,
    applied_deliveries,
    assert_chat_stored_once,
    assert_line_sent_each_once,
    carts_due_in,
    count_status,
    deliver_cart,
    send_chat_message,
    send_event,
    stored_events,
    visitor_token,
    widget_of,
)
from tests.faults.conftest import Processes, needs_postgresql
from tests.faults.processes import wait_until
from tests.reminders import Shopper

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

# Deliveries, event batches and chat messages, one every SPACING seconds,
# for a while before, during and after the restart, RESTART_AFTER seconds in.
SENDS = 40
SPACING = 0.25
RESTART_AFTER = SENDS * SPACING / 3
# How long the platform and the widget keep sending one thing again.
GIVE_UP_SECONDS = 90.0
# Carts whose first reminder falls due as the restart begins.
REMINDERS = 6


def test_postgres_restart_loses_nothing_and_sends_each_reminder_once(
    reminder_shop: Shop,
    line: FakeLinePlatform,
    platform: FakeShopifyPlatform,
    processes: Processes,
) -> None:
    # given a web process, a worker, a shopper's visitor token, and
    # reminders falling due just as PostgreSQL will restart
    shop = reminder_shop
    web = processes.web(wait=False)
    worker = processes.worker(wait=False).wait_listening()
    web.wait_ready()
    widget = widget_of(shop)
    token = visitor_token(web, widget)
    client_ids = [str(uuid.uuid4()) for _ in range(SENDS)]
    shoppers = carts_due_in(shop, REMINDERS, seconds=RESTART_AFTER + 0.5)

    # when the platform delivers 40 cart webhooks, the widget sends 40
    # events and the shopper 40 chat messages, a quarter second apart, and
    # PostgreSQL restarts in the middle
    webhooks = _sender(lambda n: deliver_cart(web, platform, f"cart-{n}"))
    events = _sender(lambda n: send_event(web, widget, token))
    chat = _sender(lambda n: send_chat_message(web, widget, token, client_ids[n]))
    for sender in (webhooks, events, chat):
        sender.start()
    time.sleep(RESTART_AFTER)
    restarted = _restart_postgresql()
    shop, shoppers = _read_again(shop, shoppers)
    for sender in (webhooks, events, chat):
        sender.join(timeout=SENDS * SPACING + GIVE_UP_SECONDS)
        assert not sender.is_alive()

    # then each was taken in the end; while the database was away the web
    # answered 503 with Retry-After, and nothing else
    assert (webhooks.unexpected, events.unexpected, chat.unexpected) == ([], [], [])
    assert [len(sender.accepted) for sender in (webhooks, events, chat)] == [SENDS] * 3
    assert webhooks.refused, "no delivery met the restart"
    refused = webhooks.refused + events.refused + chat.refused
    assert all(retry_after for retry_after in refused)

    # and every one is stored and applied, every accepted event and chat
    # message stored once, every reminder due sent once
    wait_until(
        lambda: applied_deliveries(list(webhooks.accepted)) == SENDS,
        60,
        "every webhook to be applied",
    )
    wait_until(
        lambda: set(stored_events(list(events.accepted))) == set(events.accepted),
        60,
        "every accepted event to be stored",
    )
    assert set(stored_events(list(events.accepted)).values()) == {1}
    assert_chat_stored_once(shop, chat.accepted)
    wait_until(
        lambda: all_ended(shop),
        60,
        "the reminders due across the restart to be sent",
        details=lambda: str(count_status(shop)),
    )
    assert_line_sent_each_once(shop, line, shoppers)
    assert web.alive() and worker.alive()
    logger.info(
        "faults.postgres_restart",
        extra={"restart_seconds": restarted, "refused": len(refused)},
    )


def _sender(send_one: Callable[[int], Sent]) -> Sender:
    return Sender(send_one, count=SENDS, spacing=SPACING, give_up=GIVE_UP_SECONDS)


def _read_again(shop: Shop, shoppers: list[Shopper]) -> tuple[Shop, list[Shopper]]:
    """The shop and shoppers from the new server: emptying the pools
    detached the rows the old session held."""
    return db.session.merge(shop), [
        Shopper(db.session.merge(shopper.visitor), db.session.merge(shopper.binding))
        for shopper in shoppers
    ]


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
