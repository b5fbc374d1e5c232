"""Every game test: an idle event buffer, fresh memos, a movable game clock."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.game import clock as game_clock
from engine.game import targets
from engine.shops.models import Shop
from engine.tracking.buffer import EventBuffer
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import OTHER_SHOP_DOMAIN, SHOP_DOMAIN
from tests.game import Clock, install_paying_shop
from tests.widget_api import widget_state  # noqa: F401  (the fixture below uses it)


@pytest.fixture(autouse=True)
def _idle_buffer(widget_state: EventBuffer) -> EventBuffer:  # noqa: F811
    targets.forget_all()
    yield widget_state
    targets.forget_all()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(game_clock, "now", moved.now)
    return moved


@pytest.fixture
def shop(app: Flask, client: FlaskClient, platform: FakeShopifyPlatform) -> Shop:
    """A TWD shop that granted every scope the game uses."""
    return install_paying_shop(client, platform, SHOP_DOMAIN)


@pytest.fixture
def other_shop(shop: Shop, client: FlaskClient, platform: FakeShopifyPlatform) -> Shop:
    """A second paying shop on the same platform."""
    return install_paying_shop(client, platform, OTHER_SHOP_DOMAIN)
