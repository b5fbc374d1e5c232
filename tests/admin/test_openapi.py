"""The served OpenAPI document, and the API held to it by generated requests."""

from __future__ import annotations

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from engine.shops.models import Shop
from plugin.admin.openapi import document
from plugin.sandbox.shopify_platform import FakeShopifyPlatform
from tests.admin import bearer

DOCUMENT = "/api/admin/v1/openapi.json"
# Checks that a response never contradicts the document. Left out:
# positive_data_acceptance (the engine rightly refuses much that is
# well-formed: a delay of 400 days has the right type) and the stateful
# checks, which need links between operations the document does not declare.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]


# The document as the app serves it: built from the registered operations,
# which need no database, so it can be loaded when the tests are collected.
# Schemathesis's own list of statuses that reject negative data, and 413: a
# generated body may outgrow the app's 2 MB limit, refused as surely.
REJECTIONS = "400 401 403 404 405 406 409 413 415 422 428 429 5xx".split()
api = schemathesis.openapi.from_dict(
    document(),
    config=SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}
    ),
)


def test_openapi_document_describes_every_admin_route(
    app: Flask, client: FlaskClient
) -> None:
    # when
    document = client.get(DOCUMENT).json

    # then
    served = {
        rule.rule.replace("/api/admin/v1", "")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/admin/v1/")
    }
    documented = {path.replace("/api/admin/v1", "") for path in document["paths"]}
    assert len(documented) == len(served) == 47
    assert "/messages/{message_id}" in documented
    assert document["openapi"] == "3.0.3"
    error = document["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"detail", "code", "field"}
    assert error["required"] == ["code", "detail"]


@api.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_admin_api_never_contradicts_its_document(
    case: schemathesis.Case,
    app: Flask,
    platform: FakeShopifyPlatform,
    shop: Shop,
    chat_fakes: object,
) -> None:
    # given a fresh session token for every request, as App Bridge sends
    headers = bearer(platform, shop)

    # when / then
    case.call_and_validate(app=app, headers=headers, checks=CHECKS)
