"""Re-checking a shopper's open carts once they can be reminded.

A run starts when the platform reports a cart or its checkout, but only if
by then the cart is linked to a visitor with a binding. Often it is not yet:
the widget's cart event reaches the database a second or two after the
platform's news, and the binding pop-up usually asks after the first
addition to the cart. So when a visitor gains a binding (``bind``, a shared
binding, a follow again) or the drain links an already reported cart to a
bound visitor, the person's open carts are looked at again, in a job queued
after the commit (``recheck_carts``): the drain, a hot path, only queues.

A cart is open when the platform reported it with items, it has no order
and no completed checkout, and it has no run for what it holds now; its
last activity is the latest ``updated_at`` of the cart and its checkouts,
and ``engine.reminders.sequences.start_late_run`` keeps the flow's timeline
from there. Running the job twice starts nothing twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import select, tuple_

from engine.binding.models import ChannelBinding
from engine.commerce.models import Cart, Checkout
from engine.db import db
from engine.jobs import enqueue_after_commit
from engine.reminders.identity import visitors_bound_with
from engine.reminders.sequences import start_late_run
from engine.shops.models import Shop

logger = logging.getLogger(__name__)


def recheck_carts_later(shop_id: int, visitor_ids: Iterable[int]) -> None:
    """Re-check these visitors' open carts once the transaction commits."""
    ids = sorted(set(visitor_ids))
    if ids:
        # On ``default``, not the reminders' queue: a run started late keeps
        # its timeline from the cart's activity, so waiting there moves no step.
        enqueue_after_commit(recheck_carts, shop_id, ids)


def recheck_linked_carts_later(links: Iterable[tuple[int, int]]) -> None:
    """The drain linked reported carts to these ``(shop id, visitor id)``.

    Only visitors with a binding can be reminded, so only theirs are
    re-checked: one query here, and a job per shop only when one is bound.
    """
    pairs = set(links)
    if not pairs:
        return
    bound = db.session.execute(
        select(ChannelBinding.shop_id, ChannelBinding.visitor_id)
        .where(tuple_(ChannelBinding.shop_id, ChannelBinding.visitor_id).in_(pairs))
        .distinct()
    )
    by_shop: dict[int, set[int]] = defaultdict(set)
    for shop_id, visitor_id in bound:
        by_shop[shop_id].add(visitor_id)
    for shop_id, visitor_ids in by_shop.items():
        recheck_carts_later(shop_id, visitor_ids)


def recheck_carts(shop_id: int, visitor_ids: list[int]) -> int:
    """The job: start runs for the person's open carts; returns how many started.

    The person is these visitors and every visitor bound to the same LINE
    or Messenger account.
    """
    shop = db.session.get(Shop, shop_id)
    if shop is None or not shop.is_installed:
        return 0

    visitors = visitors_bound_with(shop, set(visitor_ids))
    started = sum(
        start_late_run(shop, cart, activity_at)
        for cart, activity_at in _open_carts(shop, visitors)
    )
    db.session.commit()

    if started:
        logger.info(
            "reminders.late_runs_started",
            extra={"shop_id": shop_id, "count": started},
        )
    return started


def _open_carts(shop: Shop, visitor_ids: set[int]) -> Iterator[tuple[Cart, datetime]]:
    """The visitors' reported, unordered carts with their last activity."""
    carts = list(
        db.session.scalars(
            select(Cart)
            .where(
                Cart.shop_id == shop.id,
                Cart.visitor_id.in_(visitor_ids),
                Cart.ordered_at.is_(None),
                Cart.platform_updated_at.is_not(None),
                Cart.item_count > 0,
            )
            .order_by(Cart.id)
        )
    )
    if not carts:
        return

    checkouts = db.session.execute(
        select(
            Checkout.cart_token, Checkout.completed_at, Checkout.platform_updated_at
        ).where(
            Checkout.shop_id == shop.id,
            Checkout.cart_token.in_([cart.token for cart in carts]),
        )
    ).all()
    for cart in carts:
        activity_at = cart.platform_updated_at
        completed = False
        for token, completed_at, updated_at in checkouts:
            if token != cart.token:
                continue
            completed = completed or completed_at is not None
            if updated_at is not None and updated_at > activity_at:
                activity_at = updated_at
        if not completed:
            yield cart, activity_at
