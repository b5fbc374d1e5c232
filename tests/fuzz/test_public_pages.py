"""Fuzzing the public addresses a browser opens: reminder links, chat images,
LINE Login's callback, the install routes, the app home and the sign-in form.

These answer pages or redirects, not the JSON API, so only two rules hold:
never a 5xx, and a refusal (4xx) leaves everything stored as it was.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from flask.testing import FlaskClient
from hypothesis import given, note
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from engine.channels.accounts import connect_line
from engine.db import db
from engine.shops.models import Shop
from engine.team.accounts import member_by_email
from tests.admin import HTTPS, OWNER_EMAIL, PASSWORD, member
from tests.fuzz import EVERY_NASTY_VALUE, FUZZ, assert_unchanged, stored_state

# What a browser can put in a path or a query: any text, a lone surrogate
# arriving as the bytes it would have been.
URL_TEXT = st.one_of(
    st.sampled_from([v for v in EVERY_NASTY_VALUE if isinstance(v, str) and v]),
    st.text(min_size=1, max_size=80),
)
PATHS = [
    "/r/{}",
    "/chat/images/{}",
    "/binding/line/{}/callback",
    "/static/widget/{}",
]
QUERIES = {
    "/": ["shop", "id_token", "embedded", "host", "hmac", "timestamp"],
    "/auth": ["shop", "host"],
    "/auth/callback": ["shop", "code", "state", "hmac", "timestamp", "host"],
    "/auth/patch-id-token": ["shop", "shopify-reload", "host"],
    "/binding/line/{key}/callback": ["code", "state", "error", "friendship_status"],
    "/admin": ["shop", "id_token", "embedded"],
    "/metrics": ["token"],
}


@pytest.fixture
def line_key(shop: Shop) -> str:
    """The shop's LINE channel with its LINE Login; its callback's key."""
    account = connect_line(
        shop,
        "2000000001",
        "line-channel-secret-fuzz-0123456789",
        "line-access-token-fuzz-0123456789",
        login_channel_id="2000000099",
        login_channel_secret="line-login-secret-fuzz-0123456789",
    )
    db.session.commit()
    return account.line_webhook_key


def _quoted(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _assert_page_answer(response: TestResponse, before: dict) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code < 500, body[:2000]
    if 400 <= response.status_code < 500:
        assert_unchanged(before)


@FUZZ
@given(path=st.sampled_from(PATHS), segment=URL_TEXT)
def test_path_with_any_segment_is_answered_without_a_5xx(
    client: FlaskClient, shop: Shop, path: str, segment: str
) -> None:
    # given
    url = path.format(_quoted(segment))
    note(url)
    before = stored_state()

    # when
    response = client.get(url)

    # then
    _assert_page_answer(response, before)


@FUZZ
@given(path=st.sampled_from(sorted(QUERIES)), data=st.data())
def test_page_with_any_query_is_answered_without_a_5xx(
    client: FlaskClient, shop: Shop, line_key: str, path: str, data: st.DataObject
) -> None:
    # given any of the page's own parameters, each with any value
    names = data.draw(st.lists(st.sampled_from(QUERIES[path]), unique=True))
    query = {name: data.draw(URL_TEXT) for name in names}
    encoded = urlencode(
        {name: value.encode("utf-8", "surrogatepass") for name, value in query.items()}
    )
    url = path.format(key=line_key) + "?" + encoded
    note(url)
    before = stored_state()

    # when
    response = client.get(url)

    # then
    _assert_page_answer(response, before)


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            "csrf_token": URL_TEXT,
            "shop": URL_TEXT,
            "email": URL_TEXT,
            "password": URL_TEXT,
        },
    )
)
def test_sign_in_form_with_any_fields_is_answered_without_a_5xx(
    client: FlaskClient, shop: Shop, fields: dict[str, str]
) -> None:
    # given
    form = {
        name: value.encode("utf-8", "surrogatepass") for name, value in fields.items()
    }
    before = stored_state()

    # when
    response = client.post(
        "/admin/login",
        base_url="https://localhost",
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
    )

    # then
    _assert_page_answer(response, before)


@FUZZ
@given(
    field=st.sampled_from(["shop", "email", "password"]),
    value=URL_TEXT,
)
def test_sign_in_with_its_form_token_and_a_hostile_field_opens_no_session(
    client: FlaskClient, shop: Shop, field: str, value: str
) -> None:
    # given the form's own CSRF token, a member, and one field hostile
    if not member_by_email(shop, OWNER_EMAIL):
        member(shop)
    page = client.get("/admin/login", base_url=HTTPS).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "shop": shop.shop_domain, "email": OWNER_EMAIL}
    form["password"] = PASSWORD + "-wrong"
    form[field] = value.encode("utf-8", "surrogatepass")
    sessions = stored_state()["team_sessions"]

    # when
    response = client.post(
        "/admin/login",
        base_url=HTTPS,
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
    )

    # then refused (counted as a failed sign-in), never a 5xx or a session
    assert response.status_code in (401, 429), response.get_data(as_text=True)[:500]
    assert stored_state()["team_sessions"] == sessions
