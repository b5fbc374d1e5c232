"""Browser fixtures: the app served live, the demo storefront, headless Chromium.

The app (``session_app``) is served by a threaded werkzeug server on a
loopback port, and the fake platform serves the storefront, so the widget
talks to the real endpoints cross-origin, as on a real store. Chromium is
Debian's (``/usr/bin/chromium``), driven by Playwright's sync API; nothing is
downloaded. Without Chromium or Playwright the folder is skipped, unless
``REVISIT_REQUIRE_BROWSER=1`` (CI) turns that into a failure.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from engine.db import db
from engine.onsite import selection
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking import storefronts
from engine.tracking.buffer import buffer_of
from engine.tracking.models import VisitorEvent
from plugin.sandbox.shopify_http import QuietRequestHandler
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from plugin.sandbox.storefront import open_storefront, wait_for_webhooks
from tests.conftest import run_jobs

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "plugin" / "static" / "widget" / "manifest.json"
LOADER = REPO / "extensions" / "revisit-widget" / "assets" / "revisit-loader.js"


def _missing_requirement() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if not (MANIFEST.is_file() and LOADER.is_file()):
        return "the widget is not built (node widget/build.mjs, or ./dev test)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    missing = _missing_requirement()
    if missing is not None:
        if os.environ.get("REVISIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Browser tests are required here, but {missing}.")
        pytest.skip(f"browser tests skipped: {missing}")

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class Console:
    """Errors a page reported: console errors and uncaught exceptions."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"page error: {error}")


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    """A fresh browser profile (no storage, no cookies) and one tab in it."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.on("console", console.on_console)
    tab.on("pageerror", console.on_page_error)
    yield tab
    context.close()


@pytest.fixture(scope="session")
def live_app(session_app: Flask) -> Iterator[str]:
    """The app served over HTTP on a loopback port; yields its URL."""
    server = make_server(
        "127.0.0.1",
        0,
        session_app,
        threaded=True,
        request_handler=QuietRequestHandler,
    )
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="live-app",
        daemon=True,
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    _stop(server, thread)


@pytest.fixture
def app_url_is_live(app: Flask, live_app: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Addresses the app hands out under its public URL (the chat's stream,
    its images) lead to the live server, as they lead to the app in production."""
    runtime = current()
    settings = dataclasses.replace(runtime.settings, app_url=live_app)
    monkeypatch.setattr(runtime, "settings", settings)


@pytest.fixture
def store_url(
    app: Flask,
    shop: Shop,
    platform: FakeShopifyPlatform,
    live_app: str,
    app_url_is_live: None,
) -> Iterator[str]:
    """The installed shop's storefront, with the app embed switched on."""
    # Shop ids can come back after the tables are emptied (SQLite): drop the
    # memos of shops and rules from earlier tests.
    storefronts.forget_all()
    selection.forget_all()
    url = open_storefront(
        platform, shop.shop_domain, app_url=live_app, widget_key=shop.widget_key
    )
    yield url
    wait_for_webhooks(platform)


TrackedEvents = Callable[..., list[VisitorEvent]]


@pytest.fixture
def tracked(app: Flask, shop: Shop) -> TrackedEvents:
    """Waits until ``count`` events of a type reached the database; returns them.

    Events travel from the widget to the app's buffer, then Redis, then the
    drain job: each round here flushes the buffer and runs the queued jobs.
    Returns what is there after ``timeout`` seconds, so a test can assert on
    fewer events than hoped for.
    """

    def wait(event_type: str, count: int = 1, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while True:
            buffer_of(app).flush()
            run_jobs(app)
            db.session.rollback()
            rows = db.session.scalars(
                select(VisitorEvent)
                .where(VisitorEvent.shop_id == shop.id, VisitorEvent.type == event_type)
                .order_by(VisitorEvent.id)
            ).all()
            if len(rows) >= count or time.monotonic() > deadline:
                return list(rows)
            time.sleep(0.1)

    return wait


def _stop(server: BaseWSGIServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
