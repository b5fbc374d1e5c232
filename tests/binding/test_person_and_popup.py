"""One person across devices, the pop-up's rules and funnel, and erasure."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.binding.errors import InvalidPopupSettings
from engine.binding.funnel import funnel_of
from engine.binding.models import ConsentRecord
from engine.binding.popup import popup_of, update_popup
from engine.db import db
from engine.privacy.requests import redact_customer
from engine.reminders.identity import visitors_of_account
from engine.shops.models import Shop
from engine.visitors.models import Visitor
from plugin.sandbox.shopify_app_proxy import signed_proxy_query
from tests.binding.conftest import (
    ORIGIN,
    consent_through_line,
    visitor_token,
    widget_call,
)
from tests.binding.test_line import USER, bindings, callback, start
from tests.conftest import API_SECRET

CUSTOMER = "7001"


def identify(client: FlaskClient, shop: Shop, token: str, customer: str | None):  # noqa: ANN201
    query = signed_proxy_query(
        API_SECRET, shop.shop_domain, customer, {"visitor_token": token}
    )
    return client.get(f"/proxy/identify?{query}")


def test_bound_on_the_phone_and_logged_in_on_the_desktop_is_one_person(
    app: Flask, client: FlaskClient, binding_shop: Shop
) -> None:
    # given a phone visitor who bound LINE and later logged in there
    phone_id, phone = visitor_token(binding_shop)
    callback(
        client,
        consent_through_line(start(client, binding_shop, phone, "login")["url"], USER),
    )
    assert identify(client, binding_shop, phone, CUSTOMER).get_json() == {
        "linked": True
    }

    # when the same customer logs in on the desktop
    desktop_id, desktop = visitor_token(binding_shop)
    answer = identify(client, binding_shop, desktop, CUSTOMER)

    # then the desktop visitor shares the LINE binding: one person
    assert answer.get_json() == {"linked": True}
    assert widget_call(client, binding_shop, "status", desktop).get_json() == {
        "bound": ["line"]
    }
    phone_binding, desktop_binding = bindings(binding_shop)
    assert desktop_binding.external_id == USER
    ids = {
        v.public_id: v.id
        for v in db.session.scalars(
            select(Visitor).where(Visitor.shop_id == binding_shop.id)
        )
    }
    assert visitors_of_account(binding_shop, phone_binding) == {
        ids[phone_id],
        ids[desktop_id],
    }


def test_app_proxy_refuses_a_bad_signature(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a proxied query signed with another secret
    _, token = visitor_token(binding_shop)
    query = signed_proxy_query(
        "not-the-secret", binding_shop.shop_domain, CUSTOMER, {"visitor_token": token}
    )

    # when it arrives
    response = client.get(f"/proxy/identify?{query}")

    # then nobody is linked, and the widget is told why in JSON
    assert response.status_code == 401
    assert response.get_json() == {
        "detail": "The app proxy request's signature is not valid.",
        "code": "invalid_signature",
    }
    assert db.session.scalars(select(Visitor.customer_id)).all() == []


def test_app_proxy_refuses_a_signature_that_is_not_ascii(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a proxied query whose signature is not even hex
    _, token = visitor_token(binding_shop)
    query = signed_proxy_query(
        API_SECRET, binding_shop.shop_domain, CUSTOMER, {"visitor_token": token}
    )
    forged = query.rsplit("signature=", 1)[0] + "signature=sign%C3%A9"

    # when it arrives
    response = client.get(f"/proxy/identify?{forged}")

    # then it is refused like any forged signature
    assert response.status_code == 401
    assert response.get_json()["code"] == "invalid_signature"
    assert db.session.scalars(select(Visitor.customer_id)).all() == []


@pytest.mark.parametrize("shop_domain", ["\x00.myshopify.com", "evil.com"])
def test_app_proxy_answers_404_for_a_signed_shop_no_domain_has(
    client: FlaskClient, binding_shop: Shop, shop_domain: str
) -> None:
    # given a signed query whose "shop" is no shop's domain
    _, token = visitor_token(binding_shop)
    query = signed_proxy_query(
        API_SECRET, shop_domain, CUSTOMER, {"visitor_token": token}
    )

    # when it arrives
    response = client.get(f"/proxy/identify?{query}")

    # then no shop is found, and nobody is linked
    assert response.status_code == 404
    assert response.get_json()["code"] == "unknown_shop"
    assert db.session.scalars(select(Visitor.customer_id)).all() == []


@pytest.mark.parametrize("customer", ["\x00", "7001x", "7" * 65])
def test_app_proxy_refuses_a_customer_id_that_is_not_the_platforms(
    client: FlaskClient, binding_shop: Shop, customer: str
) -> None:
    # given a signed query naming no customer id the platform issues
    _, token = visitor_token(binding_shop)

    # when it arrives
    response = identify(client, binding_shop, token, customer)

    # then nobody is linked
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_customer_id"
    assert db.session.scalars(select(Visitor.customer_id)).all() == []


def test_pop_up_shows_at_most_its_daily_limit(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a pop-up allowed twice a day
    update_popup(binding_shop, max_per_day=2)
    _, token = visitor_token(binding_shop)

    # when the widget asks three times
    answers = [
        widget_call(client, binding_shop, "offer", token).get_json() for _ in range(3)
    ]

    # then it shows twice, offering both channels, and not a third time
    assert [a["show"] for a in answers] == [True, True, False]
    assert answers[0]["channels"] == ["line", "messenger"]
    assert answers[2]["reason"] == "shown_enough_today"
    assert [(f.channel, f.shown) for f in funnel_of(binding_shop)] == [
        ("line", 2),
        ("messenger", 2),
    ]


def test_pop_up_dismissed_stays_away_for_the_day(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a pop-up the visitor saw and closed
    update_popup(binding_shop, max_per_day=5)
    _, token = visitor_token(binding_shop)
    widget_call(client, binding_shop, "offer", token)
    widget_call(client, binding_shop, "dismiss", token)

    # when the widget asks again
    answer = widget_call(client, binding_shop, "offer", token).get_json()

    # then it does not show
    assert (answer["show"], answer["reason"]) == (False, "dismissed_today")


def test_pop_up_hides_a_channel_already_bound(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a visitor bound on LINE
    update_popup(binding_shop)
    _, token = visitor_token(binding_shop)
    callback(
        client,
        consent_through_line(start(client, binding_shop, token, "login")["url"], USER),
    )

    # when the widget asks
    answer = widget_call(client, binding_shop, "offer", token).get_json()

    # then only Messenger is offered
    assert answer == {"show": True, "channels": ["messenger"], "reason": None}


def test_pop_up_settings_travel_with_the_page_view(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a pop-up for product pages after two additions to the cart
    update_popup(
        binding_shop, page_types=["product"], trigger="add_to_cart", trigger_count=2
    )

    # when a product page and the home page are viewed
    def page(url: str, page_type: str) -> dict:
        return client.post(
            "/api/widget/v1/page",
            json={
                "widget_key": binding_shop.widget_key,
                "page": {"url": url, "page_type": page_type},
                "event_id": "evt-00000001",
                "locale": "zh-TW",
            },
            headers={"Origin": ORIGIN},
        ).get_json()["features"]["binding"]

    product = page(f"{ORIGIN}/products/tea", "product")
    home = page(f"{ORIGIN}/", "index")

    # then the product page carries the pop-up, the home page only the channels
    assert product["popup"]["trigger_count"] == 2
    assert product["popup"]["texts"]["title"] == "用 LINE 或 Messenger 接收購物車提醒"
    assert home == {"channels": ["line", "messenger"], "popup": None}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_per_day": 0}, "max_per_day"),
        ({"trigger": "on_exit"}, "trigger"),
        ({"trigger": "seconds", "trigger_count": 601}, "trigger_count"),
        ({"page_types": ["checkout"]}, "page_types"),
        ({"channels": []}, "channels"),
        ({"texts": {"en": {"title": ""}}}, "texts.en.title"),
        ({"texts": {"en": {"title": "Hi", "success": "x" * 201}}}, "texts.en.success"),
        ({"tag": "x" * 41}, "tag"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_pop_up_settings_name_the_bad_field(
    binding_shop: Shop, changes: dict, field: str
) -> None:
    # given a stored pop-up
    update_popup(binding_shop, max_per_day=3)

    # when a bad change is made
    with pytest.raises(InvalidPopupSettings) as refused:
        update_popup(binding_shop, **changes)

    # then the error names the field and nothing changed
    assert refused.value.field == field
    db.session.rollback()
    assert popup_of(binding_shop).max_per_day == 3


def test_bound_shopper_gets_the_pop_ups_tag(
    client: FlaskClient, binding_shop: Shop
) -> None:
    # given a pop-up that tags the shoppers it binds
    update_popup(binding_shop, tag="line-popup")
    _, token = visitor_token(binding_shop)

    # when a shopper binds
    callback(
        client,
        consent_through_line(start(client, binding_shop, token, "login")["url"], USER),
    )

    # then the binding carries the tag
    assert bindings(binding_shop)[0].tag == "line-popup"


def test_customer_redact_erases_bindings_on_every_device(
    app: Flask, client: FlaskClient, binding_shop: Shop
) -> None:
    # given a customer bound on the phone (logged in) and the desktop (not)
    _, phone = visitor_token(binding_shop)
    callback(
        client,
        consent_through_line(start(client, binding_shop, phone, "login")["url"], USER),
    )
    identify(client, binding_shop, phone, CUSTOMER)
    _, desktop = visitor_token(binding_shop)
    callback(
        client,
        consent_through_line(
            start(client, binding_shop, desktop, "login")["url"], USER
        ),
    )

    # when the platform asks to erase the customer
    redact_customer(binding_shop, {"customer": {"id": int(CUSTOMER)}})
    db.session.commit()

    # then no binding or consent of that LINE account is left
    assert bindings(binding_shop) == []
    assert db.session.scalars(select(ConsentRecord)).all() == []


def test_app_home_shows_the_binding_funnel(
    client: FlaskClient, binding_shop: Shop, platform
) -> None:
    # given a pop-up shown once and one LINE binding
    update_popup(binding_shop)
    _, token = visitor_token(binding_shop)
    widget_call(client, binding_shop, "offer", token)
    callback(
        client,
        consent_through_line(start(client, binding_shop, token, "login")["url"], USER),
    )

    # when the merchant opens the app home
    session = platform.session_token(binding_shop.shop_domain)
    page = client.get(
        f"/?shop={binding_shop.shop_domain}&embedded=1&id_token={session}"
    ).get_data(as_text=True)

    # then the funnel is there, per channel
    assert "Shoppers bound to LINE and Messenger" in page
    line_row = page.split('<th scope="row">LINE</th>')[1].split("</tr>")[0]
    assert "<td>1</td><td>1</td><td>1</td>" in "".join(line_row.split())
