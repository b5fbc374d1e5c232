"""``revisit demo``: the whole app on one machine, with nothing installed.

It runs the web app, an RQ worker with its scheduler, an embedded Redis,
the fake store platform and fake LINE and Messenger platforms, keeps its
data in ``.demo/`` (SQLite), installs a demo store the way the platform
would, connects its LINE and Messenger accounts (on the fakes) and sends it
the platform's sample webhooks. For the chat it adds an agent to the team,
saved replies and a first LINE question, sent through the fake LINE so it
arrives as every LINE message does; the fakes' phone pages let a person
write as a LINE or Messenger shopper. Everything here is for trying Revisit
out; production runs ``revisit serve`` and ``revisit worker`` against
PostgreSQL and Redis.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import click
import flask_migrate
import httpx
from cryptography.fernet import Fernet
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from engine.binding.models import LINE
from engine.binding.popup import popup_of, update_popup
from engine.channels.accounts import connect_line, connect_messenger
from engine.chat.conversations import conversation_of_account
from engine.chat.setup import list_saved_replies, save_reply, update_chat_settings
from engine.db import db, utcnow
from engine.game import create_campaign, list_campaigns
from engine.reminders.defaults import flow_for
from engine.settings import DEFAULT_SCOPES
from engine.shops.install import shop_by_domain
from engine.shops.tokens import forget_access_token
from engine.team.accounts import add_member, member_by_email
from engine.team.models import AGENT
from plugin import create_app
from plugin.sandbox.chat_platform import FakeChatPlatform
from plugin.sandbox.embedded_redis import start_embedded_redis
from plugin.sandbox.line_platform import FakeLinePlatform
from plugin.sandbox.messenger_platform import FakeMessengerPlatform
from plugin.sandbox.reminder_history import seed_reminder_history
from plugin.sandbox.shopify_platform import FakeShopifyPlatform, load_payload
from plugin.sandbox.storefront import open_storefront

logger = logging.getLogger(__name__)

DEMO_SHOP = "revisit-demo.myshopify.com"
DEMO_API_KEY = "revisit-demo-client-id"
HOST = "127.0.0.1"
# The demo store's chat accounts on the fake platforms (never real credentials).
DEMO_LINE_CHANNEL_ID = "2000000001"
DEMO_LINE_SECRET = "demo-line-channel-secret"
DEMO_LINE_TOKEN = "demo-line-channel-access-token"
DEMO_LOGIN_CHANNEL_ID = "2000000002"
DEMO_LOGIN_SECRET = "demo-line-login-channel-secret-0123456789"
DEMO_BASIC_ID = "@revisit-demo"
DEMO_APP_SECRET = "demo-messenger-app-secret"
DEMO_VERIFY_TOKEN = "demo-messenger-verify-token"
DEMO_PAGE_ID = "100000000000001"
DEMO_PAGE_TOKEN = "demo-messenger-page-access-token"
DEMO_PSID = "7000000000000001"
# The demo's team owner, for the panel outside the store admin (demo only).
DEMO_OWNER_EMAIL = "owner@revisit-demo.example"
DEMO_OWNER_PASSWORD = "revisit-demo-owner"
# An agent beside the owner, so the inbox has someone to assign to.
DEMO_AGENT_EMAIL = "alex@revisit-demo.example"
DEMO_AGENT_NAME = "Alex (agent)"
DEMO_AGENT_PASSWORD = "revisit-demo-agent"
# A LINE user, bound to no visitor, whose question waits in the inbox.
DEMO_LINE_USER = "U" + "de" * 16
DEMO_LINE_QUESTION = "Does the rope tug come in large?"
# Saved replies in the reminders' variable syntax ({name|fallback}).
DEMO_SAVED_REPLIES = {
    "Shipping times": (
        "Hi {first_name|there}! Orders placed before 2 pm ship the same day and"
        " reach you in 1-3 days. {agent_name}, {shop_name}"
    ),
    "Return policy": (
        "Hi {first_name|there}, unused items can come back within 30 days. Send"
        " us your order number ({order_name|from your confirmation e-mail}) and"
        " we will arrange the pick-up."
    ),
}

# The sample story: a shopper's cart became a checkout that was left unpaid.
SEED_TOPICS = ("carts/create", "checkouts/create", "checkouts/update")
# The demo's bonus game: small rewards on three pages, collected after 5 s.
DEMO_CAMPAIGN = {
    "name": "Explore the shop",
    "targets": [
        {"kind": "product", "value": "rope-tug", "reward": "5"},
        {"kind": "product", "value": "donut-bed", "reward": "10"},
        {"kind": "collection", "value": "cats", "reward": "5"},
    ],
    "min_seconds": 5,
    "cap_per_visitor": "50",
    "budget": "5000",
    "credit_expiry_days": 30,
    "look": {"icon": "coin", "color": "#b45309"},
}


def run_demo(port: int = 8000, data_dir: Path = Path(".demo")) -> None:
    """Start everything, seed the demo store and serve until interrupted."""
    data_dir.mkdir(exist_ok=True)
    app_url = f"http://{HOST}:{port}"

    redis_url = start_embedded_redis(HOST)
    secret = _persistent_secret(data_dir / "api-secret")
    platform = FakeShopifyPlatform(DEMO_API_KEY, secret, app_url=app_url)
    platform_url = platform.serve(HOST, port + 1)
    # Every scope the app asks for, so the bonus game can create codes.
    platform.add_shop(DEMO_SHOP, name="Revisit Demo Pet Supply", scopes=DEFAULT_SCOPES)
    line, messenger = _start_chat_platforms(port)

    environment = _environment(data_dir, redis_url, platform_url, app_url, secret)
    environment.update(_chat_environment(line, messenger))
    os.environ.update(environment)
    app = create_app()
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        # The fake platform starts with no memory of the tokens it issued
        # last run; let the seeding install exchange fresh ones.
        forget_access_token_of(DEMO_SHOP)

    worker = _start_worker()
    server = make_server(HOST, port, app, threaded=True)
    threading.Thread(
        target=_seed,
        args=(platform, app_url, app, line, messenger),
        name="demo-seed",
        daemon=True,
    ).start()

    _stop_on_signals(server)
    _announce(platform, app_url, line, messenger)
    try:
        server.serve_forever()
    finally:
        logger.info("demo.stopping")
        worker.terminate()
        worker.wait(timeout=15)
        platform.shutdown()
        line.shutdown()
        messenger.shutdown()


def _start_chat_platforms(port: int) -> tuple[FakeLinePlatform, FakeMessengerPlatform]:
    """Fake LINE and Messenger beside the app, with the demo store's accounts."""
    line = FakeLinePlatform()
    line.add_channel(DEMO_LINE_CHANNEL_ID, DEMO_LINE_TOKEN, DEMO_LINE_SECRET)
    line.add_login_channel(
        DEMO_LOGIN_CHANNEL_ID,
        DEMO_LOGIN_SECRET,
        DEMO_LINE_CHANNEL_ID,
        basic_id=DEMO_BASIC_ID,
        name="Revisit Demo Pet Supply",
    )
    messenger = FakeMessengerPlatform(DEMO_APP_SECRET)
    messenger.add_page(DEMO_PAGE_ID, DEMO_PAGE_TOKEN)
    # A shopper who just wrote to the Page, so Messenger's window is open.
    messenger.receive_message(DEMO_PAGE_ID, DEMO_PSID)
    # The team's chat replies may then reach shoppers up to 7 days back.
    messenger.set_human_agent(DEMO_PAGE_ID)
    _serve_beside(line, port + 2)
    _serve_beside(messenger, port + 3)
    return line, messenger


def _chat_environment(
    line: FakeLinePlatform, messenger: FakeMessengerPlatform
) -> dict[str, str]:
    """Every LINE and Messenger address pointed at the fakes, and the app's
    Messenger secrets."""
    return {
        "LINE_API_BASE_URL": line.base_url or "",
        "LINE_DATA_BASE_URL": line.base_url or "",
        "LINE_ACCESS_BASE_URL": line.base_url or "",
        "LINE_WEB_BASE_URL": line.base_url or "",
        "MESSENGER_GRAPH_BASE_URL": messenger.base_url or "",
        "MESSENGER_ME_BASE_URL": messenger.me_url or "",
        "MESSENGER_APP_SECRET": DEMO_APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": DEMO_VERIFY_TOKEN,
    }


def _serve_beside(fake: FakeChatPlatform, port: int) -> None:
    try:
        fake.serve(HOST, port)
    except OSError:
        # The port is taken: any free one does, the addresses are printed.
        fake.serve(HOST, 0)


def _stop_on_signals(server: BaseWSGIServer) -> None:
    # Handled explicitly: a shell starting the demo in the background makes
    # it ignore SIGINT, and SIGTERM would otherwise leave the worker behind.
    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _environment(
    data_dir: Path, redis_url: str, platform_url: str, app_url: str, secret: str
) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{data_dir.resolve() / 'revisit.sqlite3'}",
        "REDIS_URL": redis_url,
        "SECRET_KEY": _persistent_secret(data_dir / "secret-key"),
        "TOKEN_ENCRYPTION_KEY": _persistent_secret(
            data_dir / "token-key", Fernet.generate_key().decode()
        ),
        "SHOPIFY_API_KEY": DEMO_API_KEY,
        "SHOPIFY_API_SECRET": secret,
        "SHOPIFY_BASE_URL": platform_url,
        "APP_URL": app_url,
        "REVISIT_DEMO": "1",
        # The demo worker reconciles often, so its effect is visible.
        "RECONCILE_INTERVAL_MINUTES": "2",
    }


def forget_access_token_of(shop_domain: str) -> None:
    shop = shop_by_domain(shop_domain)
    if shop is not None:
        forget_access_token(shop.id)


def _persistent_secret(path: Path, new_value: str | None = None) -> str:
    """A value generated once and kept, so restarts can read stored tokens."""
    if path.exists():
        return path.read_text().strip()
    value = new_value or secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _start_worker() -> subprocess.Popen:
    # RQ's worker installs signal handlers, which only a main thread may do:
    # it gets a process of its own, as in production.
    return subprocess.Popen(
        [sys.executable, "-m", "plugin.cli", "worker"], env=dict(os.environ)
    )


def _seed(
    platform: FakeShopifyPlatform,
    app_url: str,
    app: Flask,
    line: FakeLinePlatform,
    messenger: FakeMessengerPlatform,
) -> None:
    """Install the demo store by token exchange, connect its chats, send webhooks."""
    _wait_until_up(app_url)
    token = platform.session_token(DEMO_SHOP)
    response = httpx.get(
        f"{app_url}/", params={"shop": DEMO_SHOP, "embedded": "1", "id_token": token}
    )
    if response.status_code != 200:
        logger.error("demo.install_failed", extra={"status": response.status_code})
        return
    _connect_chat_accounts(app, app_url, line, messenger)
    _seed_panel(app)
    _seed_chat(app, line)
    _open_storefront(app, platform, app_url)
    _start_bonus_game(app)

    for topic in SEED_TOPICS:
        payload = load_payload(topic)
        if topic.startswith("checkouts/"):
            platform.add_abandoned_checkout(DEMO_SHOP, payload)
        platform.deliver_webhook(
            f"{app_url}/webhooks/shopify", topic, DEMO_SHOP, payload
        )
    logger.info("demo.seeded", extra={"shop_domain": DEMO_SHOP})


def _connect_chat_accounts(
    app: Flask, app_url: str, line: FakeLinePlatform, messenger: FakeMessengerPlatform
) -> None:
    """Connect LINE (Login included) and the Page, point the fakes' webhooks at
    the app, and switch on the binding pop-up (five seconds into a page)."""
    with app.app_context():
        shop = shop_by_domain(DEMO_SHOP)
        account = connect_line(
            shop,
            DEMO_LINE_CHANNEL_ID,
            DEMO_LINE_SECRET,
            DEMO_LINE_TOKEN,
            login_channel_id=DEMO_LOGIN_CHANNEL_ID,
            login_channel_secret=DEMO_LOGIN_SECRET,
            basic_id=DEMO_BASIC_ID,
        )
        connect_messenger(shop, DEMO_PAGE_ID, DEMO_PAGE_TOKEN)
        db.session.commit()
        webhook_key = account.line_webhook_key
        if popup_of(shop) is None:
            update_popup(shop, trigger="seconds", trigger_count=5, max_per_day=3)
    line.set_webhook(DEMO_LINE_CHANNEL_ID, f"{app_url}/webhooks/line/{webhook_key}")
    if not messenger.set_webhook(f"{app_url}/webhooks/messenger", DEMO_VERIFY_TOKEN):
        logger.error("demo.messenger_webhook_refused")


def _seed_panel(app: Flask) -> None:
    """A team owner to sign in with, and two weeks of results, made once."""
    with app.app_context():
        shop = shop_by_domain(DEMO_SHOP)
        if member_by_email(shop, DEMO_OWNER_EMAIL) is not None:
            return
        add_member(shop, DEMO_OWNER_EMAIL, "Demo Owner", "owner", DEMO_OWNER_PASSWORD)
        shop.currency = shop.currency or "TWD"
        shop.timezone = shop.timezone or "Asia/Taipei"
        flow_for(shop).message_costs = {"line": "0.40", "messenger": "0"}
        seed_reminder_history(shop, utcnow(), days=14)
        db.session.commit()


def _seed_chat(app: Flask, line: FakeLinePlatform) -> None:
    """The chat's set-up and a first LINE question, each made once.

    The question goes through the fake LINE (a signed webhook, then the
    worker), as any LINE message does; a conversation already kept from an
    earlier run is not asked again.
    """
    with app.app_context():
        shop = shop_by_domain(DEMO_SHOP)
        # The fake Page is granted Meta's permission on every start
        # (``_start_chat_platforms``), so the setting says so every start too.
        update_chat_settings(shop, messenger_human_agent=True)
        if member_by_email(shop, DEMO_AGENT_EMAIL) is None:
            add_member(
                shop, DEMO_AGENT_EMAIL, DEMO_AGENT_NAME, AGENT, DEMO_AGENT_PASSWORD
            )
        saved = {reply.title for reply in list_saved_replies(shop)}
        for title, body in DEMO_SAVED_REPLIES.items():
            if title not in saved:
                save_reply(shop, title, body)
        asked = conversation_of_account(shop, LINE, DEMO_LINE_USER) is not None
        db.session.commit()
    if asked:
        return
    line.user_follows(DEMO_LINE_CHANNEL_ID, DEMO_LINE_USER)
    status = line.user_sends_text(
        DEMO_LINE_CHANNEL_ID, DEMO_LINE_USER, DEMO_LINE_QUESTION
    )
    if status != 200:
        logger.error("demo.line_question_refused", extra={"status": status})


def _start_bonus_game(app: Flask) -> None:
    """A live bonus campaign on the demo store (once: it survives restarts)."""
    with app.app_context():
        shop = shop_by_domain(DEMO_SHOP)
        if list_campaigns(shop):
            return
        create_campaign(shop, currency="TWD", starts_at=utcnow(), **DEMO_CAMPAIGN)


def _open_storefront(app: Flask, platform: FakeShopifyPlatform, app_url: str) -> None:
    """Switch on the app embed in the demo store's theme, with its widget key."""
    with app.app_context():
        widget_key = shop_by_domain(DEMO_SHOP).widget_key
    open_storefront(platform, DEMO_SHOP, app_url=app_url, widget_key=widget_key)


def _wait_until_up(app_url: str) -> None:
    for _ in range(50):
        try:
            httpx.get(f"{app_url}/auth/patch-id-token", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)


def _announce(
    platform: FakeShopifyPlatform,
    app_url: str,
    line: FakeLinePlatform,
    messenger: FakeMessengerPlatform,
) -> None:
    admin = f"{platform.base_url}/{DEMO_SHOP}/admin/apps/{DEMO_API_KEY}"
    inbox = urlencode({"shop": DEMO_SHOP, "next": "/admin/inbox"})
    click.echo(
        "\nRevisit demo is running (Ctrl-C stops it).\n"
        f"  Open the store admin with Revisit:  {admin}\n"
        "    (the panel's screens, the Inbox among them, are in its navigation)\n"
        f"  Revisit itself:                     {app_url}\n"
        f"  The admin panel on its own:         {app_url}/admin/login\n"
        f"    (shop {DEMO_SHOP}, {DEMO_OWNER_EMAIL} / {DEMO_OWNER_PASSWORD})\n"
        f"  The team's inbox, as the agent:     {app_url}/admin/login?{inbox}\n"
        f"    ({DEMO_AGENT_EMAIL} / {DEMO_AGENT_PASSWORD})\n"
        f"  The admin API's OpenAPI document:   {app_url}/api/admin/v1/openapi.json\n"
        f"  The demo store's storefront:        {platform.base_url}/store/"
        f"{DEMO_SHOP}/\n"
        f"  The fake store platform:            {platform.base_url}\n"
        f"  Messages sent to LINE:              {line.outbox_url}\n"
        f"  Messages sent to Messenger:         {messenger.outbox_url}\n"
        f"  Write as the LINE shopper:          {line.phone_url(DEMO_LINE_USER)}\n"
        f"  Write as the Messenger shopper:     {messenger.phone_url(DEMO_PSID)}\n"
        f"  The sandbox channel's outbox:       {app_url}/sandbox/outbox"
        f"?shop={DEMO_SHOP}\n"
        "  Data is kept in .demo/ (delete it to start over).\n"
    )
