"""Fuzzing the app proxy (``GET /proxy/identify``): signed and unsigned queries.

The platform signs the whole query, so a signed query may still carry
hostile values (a visitor token, a customer id): each is answered 2xx or a
4xx in the one error shape, and a refusal links nobody. An unsigned query,
a forged signature or a stale timestamp is 401 and changes nothing.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from flask.testing import FlaskClient
from hypothesis import given, note
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.tokens import issue_token, new_public_id
from plugin.sandbox.shopify_app_proxy import signed_proxy_query
from tests.conftest import API_SECRET
from tests.fuzz import (
    EVERY_NASTY_VALUE,
    FUZZ,
    assert_answer_shape,
    assert_refused_cleanly,
    assert_unchanged,
    stored_state,
)

PATH = "/proxy/identify"
# Query values as a browser can send them: any text, its lone surrogates
# sent as the bytes they would have been.
QUERY_TEXT = st.one_of(
    st.sampled_from([v for v in EVERY_NASTY_VALUE if isinstance(v, str)]),
    st.text(max_size=60),
)


def visitor(shop: Shop) -> str:
    return issue_token(current().settings.secret_key, shop.id, new_public_id())


def identify(client: FlaskClient, query: str) -> TestResponse:
    return client.get(f"{PATH}?{query}")


def _wire(value: str) -> str:
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def test_fuzzing_starts_from_a_query_the_proxy_takes(
    client: FlaskClient, shop: Shop
) -> None:
    # when
    query = signed_proxy_query(
        API_SECRET, shop.shop_domain, "7012345678901", {"visitor_token": visitor(shop)}
    )
    response = identify(client, query)

    # then
    assert (response.status_code, response.get_json()) == (200, {"linked": True})


@FUZZ
@given(
    field=st.sampled_from(["visitor_token", "customer_id", "shop", "extra"]),
    value=QUERY_TEXT,
)
def test_signed_query_with_a_hostile_value_is_answered_or_refused_cleanly(
    client: FlaskClient, shop: Shop, field: str, value: str
) -> None:
    # given a query the platform signed, one of its values hostile
    params = {"visitor_token": visitor(shop)}
    customer, shop_domain = "7012345678901", shop.shop_domain
    if field == "customer_id":
        customer = _wire(value)
    elif field == "shop":
        shop_domain = _wire(value)
    elif field == "visitor_token":
        params["visitor_token"] = _wire(value)
    else:
        params["ref"] = _wire(value)
    query = signed_proxy_query(API_SECRET, shop_domain, customer, params)
    note(query)
    before = stored_state()

    # when
    response = identify(client, query)

    # then
    assert_answer_shape(response)
    if response.status_code >= 400:
        assert_unchanged(before)


@FUZZ
@given(
    signature=st.one_of(
        st.none(),
        QUERY_TEXT,
        st.binary(min_size=32, max_size=32).map(lambda raw: raw.hex()),
    ),
    shop_domain=st.one_of(st.none(), QUERY_TEXT),
    timestamp=st.one_of(
        st.none(),
        st.sampled_from(["0", "-1", "9" * 30, "1e9", "", "now"]),
        st.integers(-(2**63), 2**63).map(str),
    ),
)
def test_unsigned_or_forged_query_is_refused_with_401(
    client: FlaskClient,
    shop: Shop,
    signature: str | None,
    shop_domain: str | None,
    timestamp: str | None,
) -> None:
    # given a query no platform signed
    values = {
        "shop": shop.shop_domain if shop_domain is None else _wire(shop_domain),
        "logged_in_customer_id": "7012345678901",
        "path_prefix": "/apps/revisit",
        "timestamp": str(int(time.time())) if timestamp is None else timestamp,
        "visitor_token": visitor(shop),
    }
    if signature is not None:
        values["signature"] = _wire(signature)
    before = stored_state()

    # when
    response = identify(client, urlencode(values))

    # then
    assert response.status_code == 401, response.get_data(as_text=True)
    assert_refused_cleanly(response, before)


@FUZZ
@given(age=st.integers(120, 10**6))
def test_signed_query_of_a_stale_timestamp_is_refused_with_401(
    client: FlaskClient, shop: Shop, age: int
) -> None:
    # given a genuine signature over a time past the 90 seconds allowed
    query = signed_proxy_query(
        API_SECRET,
        shop.shop_domain,
        "7012345678901",
        {"visitor_token": visitor(shop)},
        timestamp=int(time.time()) - age,
    )
    before = stored_state()

    # when
    response = identify(client, query)

    # then
    assert response.status_code == 401
    assert_refused_cleanly(response, before)


def test_signed_query_for_a_shop_that_never_installed_is_404(
    client: FlaskClient, shop: Shop
) -> None:
    # given
    query = signed_proxy_query(
        API_SECRET, "never-installed.myshopify.com", "1", {"visitor_token": "x"}
    )
    before = stored_state()

    # when
    response = identify(client, query)

    # then
    assert response.status_code == 404
    assert response.get_json()["code"] == "unknown_shop"
    assert_refused_cleanly(response, before)
