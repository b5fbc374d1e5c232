"""Creating and changing on-site messages, and what validation refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.db import db
from engine.onsite.errors import InvalidMessageError, MessageNotFound
from engine.onsite.models import OnsiteMessage
from engine.onsite.rules import (
    create_message,
    delete_message,
    list_messages,
    update_message,
)
from engine.shops.models import Shop
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.conftest import OTHER_SHOP_DOMAIN, install_shop
from tests.onsite import TEXTS, add_message

START = datetime(2026, 12, 1, tzinfo=UTC)


def test_create_message_fills_the_defaults(shop: Shop) -> None:
    # when
    message = add_message(shop)

    # then
    stored = db.session.get(OnsiteMessage, message.id)
    assert (stored.shop_id, stored.name, stored.kind) == (shop.id, "Welcome", "text")
    assert stored.default_locale == "zh-TW"
    assert (stored.url_match, stored.url_value, stored.excluded_pages) == (
        "any",
        None,
        [],
    )
    assert (stored.delay_seconds, stored.exit_intent, stored.audience) == (
        0,
        False,
        "all",
    )
    assert (stored.visit_number, stored.visit_mode, stored.cap_per_visitor) == (
        None,
        "exactly",
        None,
    )
    assert stored.active is True


def test_create_message_with_every_condition(shop: Shop) -> None:
    # when
    message = add_message(
        shop,
        kind="image",
        image_url="https://cdn.example.com/banner.png",
        link_url="/collections/sale",
        slug="winter-sale",
        default_locale="en",
        url_match="wildcard",
        url_value="/products/*",
        excluded_pages=["/products/gift-card"],
        delay_seconds=5,
        visit_number=3,
        visit_mode="at_least",
        cart_over="1000",
        audience="returning",
        starts_at=START,
        ends_at=START + timedelta(days=7),
        cap_per_visitor=2,
    )

    # then
    assert message.cart_over == Decimal("1000.00")
    assert message.default_locale == "en"
    assert message.ends_at == START + timedelta(days=7)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"kind": "popup"}, "kind"),
        ({"texts": {}}, "texts"),
        ({"texts": {"zh_TW": {"title": "x"}}}, "texts"),
        ({"texts": {"en": {"title": "", "body": ""}}}, "texts"),
        ({"texts": {"en": {"title": "x", "colour": "red"}}}, "texts"),
        ({"texts": {"en": {"title": "x" * 121}}}, "texts"),
        ({"default_locale": "ja"}, "default_locale"),
        ({"kind": "image", "link_url": "https://x.example"}, "image_url"),
        (
            {"kind": "image", "image_url": "https://x.example/a.png"},
            "link_url",
        ),
        ({"kind": "button", "link_url": "/sale"}, "texts"),
        ({"link_url": "javascript:alert(1)"}, "link_url"),
        ({"link_url": "//evil.example/"}, "link_url"),
        ({"link_url": "/\\evil.example/"}, "link_url"),
        ({"link_url": "/\t/evil.example/"}, "link_url"),
        ({"image_url": "/relative.png"}, "image_url"),
        ({"slug": "Winter Sale"}, "slug"),
        ({"url_match": "regex", "url_value": "x"}, "url_match"),
        ({"url_match": "is"}, "url_value"),
        ({"url_value": "/products"}, "url_value"),
        ({"excluded_pages": "/cart"}, "excluded_pages"),
        ({"excluded_pages": [""]}, "excluded_pages"),
        ({"delay_seconds": -1}, "delay_seconds"),
        ({"delay_seconds": 5, "exit_intent": True}, "delay_seconds"),
        ({"exit_intent": "yes"}, "exit_intent"),
        ({"visit_number": 0}, "visit_number"),
        ({"visit_mode": "sometimes"}, "visit_mode"),
        ({"cart_over": "-1"}, "cart_over"),
        ({"cart_over": "lots"}, "cart_over"),
        ({"audience": "vip"}, "audience"),
        ({"starts_at": datetime(2026, 12, 1)}, "starts_at"),
        ({"starts_at": START, "ends_at": START}, "ends_at"),
        ({"cap_per_visitor": 0}, "cap_per_visitor"),
        ({"active": 1}, "active"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_create_message_refuses_a_bad_field_naming_it(
    shop: Shop, fields: dict, field: str
) -> None:
    # when
    with pytest.raises(InvalidMessageError) as raised:
        add_message(shop, **fields)

    # then
    assert raised.value.field == field
    assert str(raised.value).startswith(f"Message field {field!r} ")
    assert db.session.scalar(select(func.count()).select_from(OnsiteMessage)) == 0


def test_create_message_requires_name_kind_and_texts(shop: Shop) -> None:
    with pytest.raises(InvalidMessageError) as raised:
        create_message(shop, name="No kind", texts=TEXTS)

    assert raised.value.field == "kind"


def test_update_message_changes_only_what_it_is_given(shop: Shop) -> None:
    # given
    message = add_message(shop, cap_per_visitor=2)

    # when
    update_message(shop, message.id, active=False, url_match="is", url_value="/")

    # then
    db.session.expire_all()
    stored = db.session.get(OnsiteMessage, message.id)
    assert (stored.active, stored.url_match, stored.url_value) == (False, "is", "/")
    assert stored.cap_per_visitor == 2


def test_update_message_validates_the_whole_message(shop: Shop) -> None:
    # given
    message = add_message(shop)

    # when
    with pytest.raises(InvalidMessageError) as raised:
        update_message(shop, message.id, url_match="contains")

    # then
    assert raised.value.field == "url_value"
    db.session.rollback()
    assert db.session.get(OnsiteMessage, message.id).url_match == "any"


def test_another_shops_message_is_not_found(
    shop: Shop, client: FlaskClient, platform: FakeShopifyPlatform
) -> None:
    # given
    other = install_shop(client, platform, OTHER_SHOP_DOMAIN)
    theirs = add_message(other)

    # when / then
    with pytest.raises(MessageNotFound):
        update_message(shop, theirs.id, active=False)
    with pytest.raises(MessageNotFound):
        delete_message(shop, theirs.id)
    db.session.expire_all()
    assert db.session.get(OnsiteMessage, theirs.id).active is True
    assert list_messages(shop) == []


def test_delete_and_list_messages(shop: Shop) -> None:
    # given
    first = add_message(shop, name="First")
    second = add_message(shop, name="Second")

    # when
    delete_message(shop, first.id)

    # then
    assert [message.id for message in list_messages(shop)] == [second.id]
