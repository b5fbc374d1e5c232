"""The sidebar beside a conversation: footprint, cart, orders, wallet, bindings,
reminders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from engine.binding.bindings import bind
from engine.binding.models import LINE_LOGIN
from engine.binding.tokens import Intent
from engine.chat.conversations import start_for_account
from engine.chat.errors import ConversationNotFound
from engine.chat.models import Conversation
from engine.chat.sidebar import shopper_context
from engine.commerce.models import Cart, Checkout, LineItem, Order
from engine.db import db, utcnow
from engine.game.models import COLLECTED
from engine.game.wallets import lock_wallet, post
from engine.reminders.models import SENT, ReminderRun, ReminderSend
from engine.shops.models import Shop
from engine.tracking.models import VisitorEvent
from engine.visitors.models import Visitor
from tests.chat import a_conversation, a_visitor

EMAIL = "lin@example.com"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def an_order(shop: Shop, number: int, **fields: object) -> Order:
    order = Order(
        shop_id=shop.id,
        order_id=str(9000 + number),
        name=f"#{1000 + number}",
        total_price=Decimal("100.00") + number,
        currency="TWD",
        placed_at=NOW - timedelta(days=30 - number),
        **fields,
    )
    db.session.add(order)
    return order


def a_cart(shop: Shop, visitor: Visitor, token: str, at: datetime) -> Cart:
    cart = Cart(
        shop_id=shop.id,
        token=token,
        visitor_id=visitor.id,
        total_price=Decimal("450.00"),
        currency="TWD",
        platform_updated_at=at,
        line_items=[
            LineItem(
                shop_id=shop.id, title="Rope tug", quantity=1, price=Decimal("450")
            )
        ],
    )
    db.session.add(cart)
    return cart


def a_sent_reminder(shop: Shop, visitor: Visitor, cart: Cart) -> ReminderSend:
    run = ReminderRun(
        shop_id=shop.id,
        cart_id=cart.id,
        visitor_id=visitor.id,
        cart_fingerprint="f",
        last_activity_at=NOW,
        abandoned_at=NOW,
    )
    db.session.add(run)
    db.session.flush()
    send = ReminderSend(
        shop_id=shop.id,
        run_id=run.id,
        position=1,
        visitor_id=visitor.id,
        status=SENT,
        planned_at=NOW,
        due_at=NOW,
        retry_key=str(uuid.uuid4()),
        channel="line",
        sent_at=NOW + timedelta(hours=1),
        clicks=1,
    )
    db.session.add(send)
    return send


@pytest.fixture
def known_shopper(shop: Shop) -> Visitor:
    """Lin: browsed, has a cart, bound LINE, collected a bonus."""
    visitor = a_visitor(
        shop,
        "Lin",
        email=EMAIL,
        page_views=7,
        visit_count=3,
        first_seen_at=NOW - timedelta(days=2),
        last_seen_at=NOW,
        last_page_url="https://revisit-test.myshopify.com/products/rope-tug",
        last_page_type="product",
        products_viewed=[
            {
                "product_id": "42",
                "handle": "rope-tug",
                "views": 4,
                "last_viewed_at": NOW.isoformat(),
            }
        ],
    )
    db.session.add(
        VisitorEvent(
            shop_id=shop.id,
            visitor_id=visitor.id,
            event_id="e1",
            type="page_view",
            occurred_at=NOW,
            url="https://revisit-test.myshopify.com/products/rope-tug",
            page_type="product",
        )
    )
    bind(
        shop, Intent.new(shop.id, visitor.public_id, True), "line", "U-lin", LINE_LOGIN
    )
    wallet = lock_wallet(shop.id, visitor.id, None, "TWD", utcnow())
    post(
        wallet,
        COLLECTED,
        Decimal("5"),
        now=utcnow(),
        expires_at=utcnow() + timedelta(days=30),
    )
    db.session.commit()
    return visitor


def test_the_sidebar_shows_what_the_shop_knows_of_the_shopper(
    shop: Shop, known_shopper: Visitor
) -> None:
    # given Lin's cart, a newer unfinished checkout with her e-mail, twelve
    # orders, a reminder she tapped, and someone else's order
    cart = a_cart(shop, known_shopper, "cart-lin", NOW - timedelta(hours=2))
    db.session.add(
        Checkout(
            shop_id=shop.id,
            token="checkout-lin",
            email=EMAIL,
            total_price=Decimal("900.00"),
            currency="TWD",
            abandoned_checkout_url="https://revisit-test.myshopify.com/recover",
            platform_updated_at=NOW - timedelta(hours=1),
            line_items=[
                LineItem(
                    shop_id=shop.id, title="Rope tug", quantity=2, price=Decimal("450")
                )
            ],
        )
    )
    for number in range(12):
        an_order(shop, number, email=EMAIL)
    an_order(shop, 50, email="someone@example.com")
    db.session.flush()
    a_sent_reminder(shop, known_shopper, cart)
    conversation = a_conversation(shop, known_shopper, "Is the rope tug in stock?")

    # when the panel opens the conversation
    context = shopper_context(shop, conversation)

    # then it has her footprint
    footprint = context["footprint"]
    assert footprint["last_page"] == {
        "url": "https://revisit-test.myshopify.com/products/rope-tug",
        "type": "product",
        "at": "2026-12-01T09:00:00Z",
    }
    assert (footprint["visit_count"], footprint["page_views"]) == (3, 7)
    assert [(p["handle"], p["views"]) for p in footprint["products_viewed"]] == [
        ("rope-tug", 4)
    ]
    assert [page["type"] for page in footprint["recent_pages"]] == ["product"]
    # her live cart is the newer checkout
    assert context["cart"]["source"] == "checkout"
    assert (context["cart"]["total"], context["cart"]["currency"]) == ("900.00", "TWD")
    assert context["cart"]["items"] == [
        {"title": "Rope tug", "variant_title": None, "quantity": 2, "price": "450.00"}
    ]
    # her ten latest orders, newest first
    assert [order["name"] for order in context["orders"]] == [
        f"#{1000 + number}" for number in range(11, 1, -1)
    ]
    assert context["orders"][0]["total"] == "111.00"
    # her bonus wallet, her LINE binding, the reminder she tapped
    assert (context["wallet"]["balance"], context["wallet"]["currency"]) == (
        "5.00",
        "TWD",
    )
    [binding] = context["bindings"]
    assert (binding["channel"], binding["bound"], binding["reachable"]) == (
        "line",
        True,
        True,
    )
    assert binding["marketing_consent"] is True
    assert context["reminders"] == [
        {
            "sent_at": "2026-12-01T10:00:00Z",
            "channel": "line",
            "step": 1,
            "clicked": True,
        }
    ]
    assert context["visitor"]["first_name"] == "Lin"


def test_an_ordered_cart_is_not_live(shop: Shop) -> None:
    # given a shopper whose only cart became an order
    visitor = a_visitor(shop, "Bo")
    cart = a_cart(shop, visitor, "cart-bo", NOW)
    cart.ordered_at = NOW
    conversation = a_conversation(shop, visitor, "Thanks")

    # then the sidebar shows no cart, and an order through the cart's token
    an_order(shop, 1, cart_token="cart-bo")
    context = shopper_context(shop, conversation)
    assert context["cart"] is None
    assert [order["name"] for order in context["orders"]] == ["#1001"]
    assert context["wallet"] is None


def test_a_line_user_who_never_bound_has_only_the_account(shop: Shop) -> None:
    # given a conversation started by a LINE user nobody knows
    conversation = start_for_account(shop, "line", "U-unknown", "Somebody")
    db.session.commit()

    # then
    context = shopper_context(shop, conversation)
    assert context == {
        "visitor": None,
        "footprint": None,
        "cart": None,
        "orders": [],
        "wallet": None,
        "bindings": [
            {
                "channel": "line",
                "bound": False,
                "reachable": None,
                "marketing_consent": None,
                "bound_at": None,
            }
        ],
        "reminders": [],
    }


def test_a_line_user_bound_after_writing_is_known_through_the_binding(
    shop: Shop,
) -> None:
    # given a LINE user who wrote first, then bound on the storefront
    conversation = start_for_account(shop, "line", "U-later", "Lin")
    visitor = a_visitor(shop, "Lin", email=EMAIL)
    bind(
        shop,
        Intent.new(shop.id, visitor.public_id, False),
        "line",
        "U-later",
        LINE_LOGIN,
    )
    an_order(shop, 3, email=EMAIL)
    db.session.commit()

    # then the sidebar knows the visitor and their orders
    context = shopper_context(shop, conversation)
    assert context["visitor"]["id"] == visitor.public_id
    assert [order["name"] for order in context["orders"]] == ["#1003"]
    [binding] = context["bindings"]
    assert (binding["bound"], binding["marketing_consent"]) == (True, False)


def test_another_shops_conversation_is_refused(
    other_shop: Shop, conversation: Conversation
) -> None:
    with pytest.raises(ConversationNotFound):
        shopper_context(other_shop, conversation)
