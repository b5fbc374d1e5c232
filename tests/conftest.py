"""Shared fixtures: the app on real or stand-in backends, and a fake platform."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete

from engine.db import db
from engine.runtime import current
from engine.shops.install import shop_by_domain
from engine.shops.models import Shop
from engine.tracking.memo import forget_all_memos
from engine.webhooks.dispatcher import queue_waiting_deliveries
from engine.worker import make_worker
from plugin import create_app
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from plugin.widget_api.limits import LIMITER_KEY, limiter_for
from tests import backends

API_KEY = "test-api-key"
API_SECRET = "test-api-secret-0123456789abcdef0123"
SHOP_DOMAIN = "revisit-test.myshopify.com"
OTHER_SHOP_DOMAIN = "other-test.myshopify.com"
APP_URL = "http://localhost"

BACKENDS = backends.detect()


def pytest_report_header() -> str:
    return f"revisit backends: {BACKENDS.describe()}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKENDS.admin_database_url is None:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'revisit.sqlite3'}"
        return
    name = f"revisit_tests_{os.getpid()}"
    url = backends.create_database(BACKENDS.admin_database_url, name)
    yield url
    backends.drop_database(BACKENDS.admin_database_url, name)


@pytest.fixture(scope="session")
def platform() -> Iterator[FakeShopifyPlatform]:
    fake = FakeShopifyPlatform(API_KEY, API_SECRET, app_url=APP_URL)
    fake.serve()
    yield fake
    fake.shutdown()


@pytest.fixture(scope="session")
def settings_env(database_url: str, platform: FakeShopifyPlatform) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": BACKENDS.redis_url,
        "SECRET_KEY": "test-secret-key",
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SHOPIFY_API_KEY": API_KEY,
        "SHOPIFY_API_SECRET": API_SECRET,
        "SHOPIFY_BASE_URL": platform.base_url,
        "APP_URL": APP_URL,
        "REVISIT_DEMO": "0",
        # A drain ends once Redis is empty, so a test's drain returns at once
        # (tests/tracking/test_drain_linger.py turns the linger back on).
        "TRACKING_DRAIN_LINGER_SECONDS": "0",
    }


@pytest.fixture(scope="session")
def session_app(settings_env: dict[str, str]) -> Flask:
    app = create_app(settings_env)
    app.config["TESTING"] = True
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
    return app


@pytest.fixture
def app(session_app: Flask, platform: FakeShopifyPlatform) -> Iterator[Flask]:
    """The app with empty tables, an empty Redis and a fresh fake platform."""
    _reset_platform(platform)
    with session_app.app_context():
        _empty_tables()
        forget_all_memos()
        current().redis.flushdb()
        # The limiter's copies of the budgets go with Redis's.
        session_app.extensions[LIMITER_KEY] = limiter_for(current().settings)
        yield session_app
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def shop(app: Flask, client: FlaskClient, platform: FakeShopifyPlatform) -> Shop:
    """A shop installed the embedded way: the admin opens the app home."""
    return install_shop(client, platform, SHOP_DOMAIN)


def install_shop(
    client: FlaskClient, platform: FakeShopifyPlatform, shop_domain: str
) -> Shop:
    platform.add_shop(shop_domain)
    token = platform.session_token(shop_domain)
    response = client.get(f"/?shop={shop_domain}&embedded=1&id_token={token}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return shop_by_domain(shop_domain)


def run_jobs(app: Flask) -> None:
    """Queue recorded deliveries as a worker's dispatcher would, then run every
    queued job to completion, in this process."""
    with app.app_context():
        queue_waiting_deliveries()
    make_worker(app, forking=False).work(burst=True, with_scheduler=False)


def _reset_platform(platform: FakeShopifyPlatform) -> None:
    reset = getattr(platform, "reset", None)
    if reset is not None:
        reset()
        return
    with platform._lock:
        platform.calls.clear()
        platform._shops.clear()
        platform._faults.clear()


def _empty_tables() -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.commit()


PAYLOADS = Path(__file__).resolve().parent.parent / "plugin" / "sandbox" / "payloads"
