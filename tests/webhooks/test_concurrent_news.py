"""News of one purchase applied by two workers at once: they take turns.

Each test applies one payload in this thread's session and leaves it
uncommitted, as a worker midway through its delivery, then applies another
in a second thread (another worker, another connection) and checks that it
waits for the first to commit and then sees its rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.commerce.apply import apply_cart, apply_checkout, apply_order
from engine.commerce.models import Cart, Checkout
from engine.db import db
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import load_payload
from tests.conftest import BACKENDS

pytestmark = pytest.mark.skipif(
    BACKENDS.admin_database_url is None,
    reason="Advisory locks are PostgreSQL's; SQLite runs one worker (the demo).",
)

# orders_create.json's created_at, 2026-11-21T09:31:05+08:00, in UTC.
ORDER_PLACED_AT = datetime(2026, 11, 21, 1, 31, 5, tzinfo=UTC)
# Long enough for the second worker to reach its lock on a loaded machine.
WAIT_SECONDS = 0.5

Apply = Callable[[Shop, dict[str, Any]], object]


class SecondWorker(threading.Thread):
    """Applies one payload in its own app context, session and connection."""

    def __init__(self, app: Flask, shop_id: int, apply: Apply, payload: dict) -> None:
        super().__init__(daemon=True)
        self.app, self.shop_id = app, shop_id
        self.apply, self.payload = apply, payload
        self.error: BaseException | None = None

    def run(self) -> None:
        with self.app.app_context():
            try:
                self.apply(db.session.get(Shop, self.shop_id), self.payload)
                db.session.commit()
            except BaseException as exc:  # handed to the test thread
                self.error = exc
                db.session.rollback()
            finally:
                db.session.remove()


def _apply_while_first_is_open(
    app: Flask, shop: Shop, first: tuple[Apply, str], second: tuple[Apply, str]
) -> bool:
    """Apply ``first`` uncommitted here, ``second`` in another worker; commit
    the first. True if the second was still waiting when the first committed."""
    first_apply, first_topic = first
    first_apply(shop, load_payload(first_topic))
    db.session.flush()

    second_apply, second_topic = second
    worker = SecondWorker(app, shop.id, second_apply, load_payload(second_topic))
    worker.start()
    worker.join(WAIT_SECONDS)
    waited = worker.is_alive()
    db.session.commit()

    worker.join(10)
    assert not worker.is_alive()
    assert worker.error is None
    db.session.expire_all()
    return waited


@pytest.mark.parametrize(
    ("first", "second", "model", "field"),
    [
        (
            (apply_order, "orders/create"),
            (apply_checkout, "checkouts/update"),
            Checkout,
            "completed_at",
        ),
        (
            (apply_order, "orders/create"),
            (apply_cart, "carts/update"),
            Cart,
            "ordered_at",
        ),
        (
            (apply_checkout, "checkouts/update"),
            (apply_order, "orders/create"),
            Checkout,
            "completed_at",
        ),
    ],
    ids=[
        "checkout news during its order",
        "cart news during its order",
        "order during its checkout's first news",
    ],
)
def test_news_of_one_purchase_waits_for_the_other_and_sees_it(
    app: Flask,
    shop: Shop,
    first: tuple[Apply, str],
    second: tuple[Apply, str],
    model: type,
    field: str,
) -> None:
    # given a worker applying news of a purchase, not yet committed
    # when another worker applies other news of the same purchase
    waited = _apply_while_first_is_open(app, shop, first, second)

    # then it waited for the first and saw what it recorded
    row = db.session.scalars(select(model)).one()
    assert waited is True
    assert getattr(row, field) == ORDER_PLACED_AT


def test_news_of_another_cart_does_not_wait(app: Flask, shop: Shop) -> None:
    # given a worker applying a cart, not yet committed
    apply_cart(shop, load_payload("carts/update"))
    db.session.flush()
    other = load_payload("carts/update")
    other["token"] = "0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"

    # when another worker applies news of another cart
    worker = SecondWorker(app, shop.id, apply_cart, other)
    worker.start()
    worker.join(10)

    # then it went on at once
    assert not worker.is_alive()
    assert worker.error is None
    db.session.commit()
    assert len(db.session.scalars(select(Cart)).all()) == 2
