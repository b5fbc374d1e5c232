"""``POST /api/widget/v1/page``: answers, visitor tokens, and what it refuses."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from engine.db import db, utcnow
from engine.shops.models import Shop
from engine.tracking import reads, storefronts
from engine.tracking.buffer import EventBuffer
from engine.tracking.models import VisitorEvent
from engine.tracking.tokens import issue_token, new_public_id, read_token
from engine.visitors.models import Visitor
from tests.widget_api import PAGE_PATH, drain, post_page

SECRET_KEY = "test-secret-key"


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_page_new_visitor_gets_a_token_and_nothing_is_written(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # when
    response = post_page(client, shop, event_id="6f1c2a8e-0b7d-4e21-9a55-1d2e3f4a5b6c")

    # then the answer
    answer = response.get_json()
    assert response.status_code == 200
    assert answer["visit_count"] == 1
    assert answer["message"] is None
    assert answer["features"] == {"chat": True, "game": False, "binding": False}
    public_id = read_token(SECRET_KEY, shop.id, answer["visitor_token"])
    assert len(public_id) == 22

    # then the page view waits in the buffer, and the database is untouched
    [record] = widget_state.take()
    assert record["id"] == "6f1c2a8e-0b7d-4e21-9a55-1d2e3f4a5b6c"
    assert (record["shop"], record["visitor"], record["type"]) == (
        shop.id,
        public_id,
        "page_view",
    )
    assert record["url"] == "https://revisit-test.myshopify.com/products/chew-toy"
    assert (record["page_type"], record["product_id"]) == ("product", "123")
    assert count(VisitorEvent) == 0
    assert count(Visitor) == 0


def test_page_keeps_a_valid_token(shop: Shop, client: FlaskClient) -> None:
    # given
    token = issue_token(SECRET_KEY, shop.id, new_public_id())

    # when
    response = post_page(client, shop, token=token)

    # then
    assert response.get_json()["visitor_token"] == token


@pytest.mark.parametrize(
    "token",
    ["not-a-token", "eyJzIjoxLCJ2IjoiYWJjIn0.forged-signature"],
)
def test_page_replaces_a_token_that_does_not_verify(
    shop: Shop, client: FlaskClient, token: str
) -> None:
    # when
    response = post_page(client, shop, token=token)

    # then
    issued = response.get_json()["visitor_token"]
    assert response.status_code == 200
    assert issued != token
    assert len(read_token(SECRET_KEY, shop.id, issued)) == 22


def test_page_takes_application_json_too(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # when
    response = post_page(client, shop, content_type="application/json")

    # then
    assert response.status_code == 200
    assert widget_state.pending() == 1


def test_page_answer_carries_cors_headers_for_the_storefront(
    shop: Shop, client: FlaskClient
) -> None:
    # when
    response = post_page(client, shop)

    # then
    assert response.headers["Access-Control-Allow-Origin"] == (
        "https://revisit-test.myshopify.com"
    )
    assert response.headers["Vary"] == "Origin"


def test_page_unknown_widget_key_is_404(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given
    body = _body(shop)
    body["widget_key"] = "wk_nobody"

    # when
    response = post_page(client, shop, body=body)

    # then
    assert response.status_code == 404
    assert response.get_json()["code"] == "unknown_widget_key"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert widget_state.pending() == 0


@pytest.mark.parametrize(
    "widget_key", ["wk_\x00", "wk_\ud800", "wk_" + "a" * 62, "wk nobody"]
)
def test_page_widget_key_no_shop_could_have_is_404(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer, widget_key: str
) -> None:
    # given a key of a shape no widget key has (a NUL cannot even be compared)
    body = _body(shop)
    body["widget_key"] = widget_key

    # when
    response = post_page(client, shop, body=body)

    # then
    assert response.status_code == 404
    assert response.get_json()["code"] == "unknown_widget_key"
    assert widget_state.pending() == 0


def test_page_while_the_database_is_unreachable_is_503_with_retry_after(
    shop: Shop,
    client: FlaskClient,
    widget_state: EventBuffer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a database that refuses connections (a restart under way)
    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    storefronts.forget_all()
    monkeypatch.setattr(reads, "rows", refuse)

    # when
    response = post_page(client, shop, body=_body(shop))

    # then
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json() == {
        "code": "unavailable",
        "detail": "The service is briefly unavailable; try again.",
    }
    assert widget_state.pending() == 0


def test_page_of_uninstalled_shop_is_404(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given
    shop.uninstalled_at = utcnow()
    db.session.commit()

    # when
    response = post_page(client, shop)

    # then
    assert response.status_code == 404
    assert widget_state.pending() == 0


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://revisit-test.myshopify.com",
        "https://other-test.myshopify.com",
        None,
    ],
)
def test_page_from_a_foreign_origin_is_403(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer, origin: str | None
) -> None:
    # when
    response = client.post(
        PAGE_PATH,
        json=_body(shop),
        headers={"Origin": origin} if origin else {},
    )

    # then
    assert response.status_code == 403
    assert response.get_json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert widget_state.pending() == 0


def test_page_over_32_kb_is_413(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given
    body = _body(shop)
    body["page"]["title"] = "x" * (33 * 1024)

    # when
    response = post_page(client, shop, body=body)

    # then
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"
    assert widget_state.pending() == 0


def test_page_body_that_is_not_json_is_400(shop: Shop, client: FlaskClient) -> None:
    # when
    response = client.post(
        PAGE_PATH,
        data=b"{not json",
        headers={"Origin": "https://revisit-test.myshopify.com"},
        content_type="text/plain",
    )

    # then
    assert response.status_code == 400
    assert response.get_json() == {
        "code": "invalid_json",
        "detail": "The body is not valid JSON.",
    }


def test_page_body_nested_past_the_stack_is_400(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer
) -> None:
    # given JSON arrays nested deeper than Python's recursion limit
    depth = 10_000

    # when
    response = client.post(
        PAGE_PATH,
        data="[" * depth + "]" * depth,
        headers={"Origin": "https://revisit-test.myshopify.com"},
        content_type="text/plain",
    )

    # then
    assert response.status_code == 400
    assert response.get_json() == {
        "code": "invalid_json",
        "detail": "The body is not valid JSON.",
    }
    assert widget_state.pending() == 0


def test_page_form_body_is_415(shop: Shop, client: FlaskClient) -> None:
    # when
    response = client.post(
        PAGE_PATH,
        data={"widget_key": shop.widget_key},
        headers={"Origin": "https://revisit-test.myshopify.com"},
    )

    # then
    assert response.status_code == 415
    assert response.get_json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda body: body.pop("widget_key"), "widget_key"),
        (lambda body: body.update(widget_key=7), "widget_key"),
        (lambda body: body.pop("page"), "page"),
        (lambda body: body["page"].pop("url"), "page.url"),
        (lambda body: body["page"].update(url="javascript:alert(1)"), "page.url"),
        (lambda body: body["page"].update(url="https://a/" + "b" * 2048), "page.url"),
        (lambda body: body["page"].update(product_id=True), "page.product_id"),
        (
            lambda body: body["page"].update(product_handle="h" * 256),
            "page.product_handle",
        ),
        (lambda body: body["page"].update(referrer=12), "page.referrer"),
        (lambda body: body.pop("event_id"), "event_id"),
        (lambda body: body.update(event_id="short"), "event_id"),
        (lambda body: body.update(event_id="has spaces in it"), "event_id"),
        (lambda body: body.update(locale="x" * 17), "locale"),
        (lambda body: body.update(locale="en\x00"), "locale"),
        (lambda body: body["page"].update(referrer="https://a/\x00"), "page.referrer"),
        (lambda body: body["page"].update(title="Toy \ud83d"), "page.title"),
        (lambda body: body["page"].update(product_id="\udc00"), "page.product_id"),
        (lambda body: body.update(visitor_token=["a"]), "visitor_token"),
        (lambda body: body.update(visitor_token="\ud800.x"), "visitor_token"),
    ],
)
def test_page_malformed_field_is_400_naming_it(
    shop: Shop, client: FlaskClient, widget_state: EventBuffer, change, field: str
) -> None:
    # given
    body = _body(shop)
    change(body)

    # when
    response = post_page(client, shop, body=body)

    # then
    answer = response.get_json()
    assert response.status_code == 400
    assert answer["code"] == "invalid_field"
    assert answer["detail"].startswith(f"{field}: ")
    assert widget_state.pending() == 0


def test_page_ignores_fields_it_does_not_know(shop: Shop, client: FlaskClient) -> None:
    # given
    body = _body(shop)
    body["screen"] = {"width": 390}
    body["page"]["scroll"] = 0.5

    # when
    response = post_page(client, shop, body=body)

    # then
    assert response.status_code == 200


def test_page_view_is_recorded_after_the_drain(
    app: Flask, shop: Shop, client: FlaskClient
) -> None:
    # when
    post_page(
        client,
        shop,
        url="https://revisit-test.myshopify.com/?utm_source=line&utm_campaign=spring",
        page={
            "url": "https://revisit-test.myshopify.com/?utm_source=line&utm_campaign=spring",
            "page_type": "index",
        },
        event_id="1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6",
    )
    drain(app)

    # then
    row = db.session.scalars(select(VisitorEvent)).one()
    assert (row.type, row.page_type, row.event_id) == (
        "page_view",
        "home",
        "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6",
    )
    assert (row.utm_source, row.utm_campaign, row.utm_medium) == (
        "line",
        "spring",
        None,
    )
    assert row.locale == "zh-TW"


def _body(shop: Shop) -> dict:
    return {
        "widget_key": shop.widget_key,
        "visitor_token": None,
        "page": {
            "url": "https://revisit-test.myshopify.com/",
            "page_type": "index",
            "product_id": None,
            "product_handle": None,
            "referrer": None,
            "title": "Home",
        },
        "locale": "en",
        "event_id": "0b9f3c1e-5a7d-4c2b-8e6f-1a2b3c4d5e6f",
    }
