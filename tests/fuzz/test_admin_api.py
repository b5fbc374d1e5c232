"""Fuzzing the admin API: every operation of its served OpenAPI document.

``tests/admin/test_openapi.py`` already holds every response to the
document (schemathesis, positive and negative data). Here: that document
names every admin route and method, so that test reaches the game's and the
inbox's too; a refused request of any operation changes nothing stored;
bodies no schema describes (nested past the stack, numbers too long to
read, not JSON, over the documented 2 MB) are refused on every operation
that takes one, under both kinds of sign-in; and bad credentials are 401.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from werkzeug.test import TestResponse

from engine.shops.models import Shop
from plugin.admin.openapi import OPERATIONS, PREFIX, Operation, document
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import HTTPS, bearer, member, sign_in
from tests.fuzz import (
    FUZZ,
    HEADER_TEXT,
    assert_answer_shape,
    assert_refused_cleanly,
    assert_unchanged,
    nested,
    stored_state,
)

MAX_BODY = 2 * 1024 * 1024
WRITES = [record for record in OPERATIONS if record.body is not None]
UNREADABLE_BODIES = {
    "nested arrays": nested(50_000),
    "nested objects": '{"a":' * 20_000 + "1" + "}" * 20_000,
    "a 5,000-digit number": '{"name": ' + "9" * 5_000 + "}",
    "not JSON": "{not json",
    "a NUL": '{"name": "\x00"}',
    "empty": "",
}
# The document as the app serves it, loaded when the tests are collected.
# Schemathesis's coverage phase (hundreds of cases per operation) already
# runs in tests/admin; here its fuzzing phase alone, with state compared.
api = schemathesis.openapi.from_dict(
    document(),
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}),
)


def url_of(record: Operation) -> str:
    """The operation's URL with a value in each path parameter."""

    def value(match: re.Match[str]) -> str:
        converter, arguments, _name = match.groups()
        if converter == "int":
            return "1"
        if converter == "any":
            return arguments.split(",")[0].strip()
        return "c_fuzz"

    return PREFIX + re.sub(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", value, record.rule)


@pytest.fixture
def staff(client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop) -> None:
    """The store's staff user as the inbox records them on first use, any
    answer of theirs included: that is who they are, not what they sent."""
    response = client.get(f"{PREFIX}/inbox/team", headers=bearer(platform, shop))
    assert response.status_code == 200


@pytest.fixture
def team_client(client: FlaskClient, shop: Shop) -> tuple[FlaskClient, str]:
    """A client signed in as the shop's owner, and its CSRF token."""
    member(shop)
    return client, sign_in(client, shop)


def send(
    client: FlaskClient,
    record: Operation,
    data: str,
    headers: dict[str, str],
    content_type: str = "application/json",
) -> TestResponse:
    return client.open(
        url_of(record),
        method=record.method,
        base_url=HTTPS,
        data=data,
        headers={**headers, "Content-Type": content_type},
    )


def test_document_names_every_admin_route_and_method(app: Flask) -> None:
    # given every admin API route the app serves, by method
    served = {
        (method, re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(PREFIX + "/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    # then the document (so the schemathesis test) has each, games and inbox too
    documented = {
        (method.upper(), path)
        for path, operations in document()["paths"].items()
        for method in operations
    }
    assert documented == served
    assert {path for _, path in documented if "/game/" in path}
    assert {path for _, path in documented if "/inbox/" in path}


@api.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_admin_api_refusal_changes_nothing(
    case: schemathesis.Case,
    app: Flask,
    platform: FakeShopifyPlatform,
    shop: Shop,
    staff: None,
) -> None:
    # given
    before = stored_state()

    # when
    response = case.call(app=app, headers=bearer(platform, shop))

    # then never a 5xx; a refusal in the one shape, with nothing changed
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/json")
        answer = response.json()
        assert answer["code"] and answer["detail"], answer
        assert_unchanged(before)


def test_body_no_schema_can_read_is_refused_cleanly(
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    staff: None,
    team_client: tuple[FlaskClient, str],
) -> None:
    # given every operation that takes a body, its caller signed in either way
    signed_in = {
        "session token": lambda: bearer(platform, shop),
        "team session": lambda: {"X-CSRF-Token": team_client[1]},
    }
    before = stored_state()

    for record in WRITES:
        for way, headers in signed_in.items():
            for name, data in UNREADABLE_BODIES.items():
                # when
                response = send(client, record, data, headers())

                # then
                case = (record.method, record.rule, way, name)
                assert response.status_code in (400, 422), (case, response.json)
                assert_answer_shape(response)

    # and none of them changed anything
    assert_unchanged(before)


def test_body_over_2_mb_is_413(
    client: FlaskClient, platform: FakeShopifyPlatform, shop: Shop, staff: None
) -> None:
    # given a JSON body past the app's documented limit, for every operation
    data = '{"name": "' + "x" * MAX_BODY + '"}'
    before = stored_state()

    for record in WRITES:
        # when
        response = send(client, record, data, bearer(platform, shop))

        # then
        assert response.status_code == 413, (record.rule, response.json)
        assert_answer_shape(response)
    assert_unchanged(before)


@FUZZ
@given(
    record=st.sampled_from(WRITES),
    content_type=st.sampled_from(
        ["text/plain", "application/x-www-form-urlencoded", "text/html", ""]
    ),
)
def test_body_that_is_not_declared_json_is_refused(
    client: FlaskClient,
    platform: FakeShopifyPlatform,
    shop: Shop,
    staff: None,
    record: Operation,
    content_type: str,
) -> None:
    # given
    before = stored_state()

    # when
    response = send(
        client, record, '{"name": "x"}', bearer(platform, shop), content_type
    )

    # then
    assert_refused_cleanly(response, before)


@FUZZ
@given(
    record=st.sampled_from([r for r in OPERATIONS if not r.public]),
    authorization=st.one_of(
        st.none(),
        HEADER_TEXT,
        HEADER_TEXT.map(lambda text: "Bearer " + text),
        st.sampled_from(["Bearer ", "Bearer a.b.c", "Basic dXNlcjpwYXNz"]),
    ),
    cookie=st.one_of(st.none(), HEADER_TEXT),
)
def test_request_without_valid_credentials_is_401(
    client: FlaskClient,
    shop: Shop,
    record: Operation,
    authorization: str | None,
    cookie: str | None,
) -> None:
    # given
    headers: dict[str, Any] = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    if cookie is not None:
        client.set_cookie("__Host-revisit_session", cookie, domain="localhost")
    before = stored_state()

    # when
    response = send(client, record, "{}", headers)

    # then
    assert response.status_code == 401, response.get_json()
    assert_refused_cleanly(response, before)
    client.delete_cookie("__Host-revisit_session", domain="localhost")


@FUZZ
@given(
    record=st.sampled_from([r for r in OPERATIONS if r.method != "GET"]),
    csrf=st.one_of(st.none(), HEADER_TEXT),
)
def test_team_change_without_its_csrf_token_is_403(
    team_client: tuple[FlaskClient, str], record: Operation, csrf: str | None
) -> None:
    # given a signed-in team member's browser, and a forged or no CSRF token
    client, genuine = team_client
    if csrf == genuine or record.public:
        return
    headers = {} if csrf is None else {"X-CSRF-Token": csrf}
    before = stored_state()

    # when
    response = send(client, record, "{}", headers)

    # then
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["code"] == "csrf_failed"
    assert_refused_cleanly(response, before)
