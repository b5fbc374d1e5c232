"""``POST page`` and ``POST events``: verify, hand to the engine, answer.

``events`` answers 202 with no body; ``page`` answers 200 with the widget's
JSON. Checks run in this order, each with its own answer: body over 32 KB (413),
not JSON (400), no widget key (400), unknown widget key (404), origin not
the shop's (403), a field of the wrong shape (400, naming it), and, for
events, a visitor token that does not verify (401).
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Response, g, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from engine.binding.popup import widget_feature
from engine.chat.shopper import widget_offers_chat
from engine.db import utcnow
from engine.game.collectibles import collectible_for_page_view, game_is_on
from engine.onsite.selection import message_for_page_view
from engine.runtime import current
from engine.tracking.buffer import accept
from engine.tracking.errors import InvalidVisitorToken
from engine.tracking.events import client_record, page_view_record
from engine.tracking.storefronts import WidgetShop, shop_for_widget_key
from engine.tracking.tokens import identify, read_token
from plugin.errors import ApiError
from plugin.static_widget import entry_chunks
from plugin.widget_api import bp
from plugin.widget_api.cors import add_cors_headers, preflight, require_allowed_origin
from plugin.widget_api.schemas import EVENTS_REQUEST, PAGE_REQUEST, first_error

MAX_BODY = 32 * 1024
# Where the rate limiter leaves a JSON object body it parsed, for the view.
PARSED_BODY = "widget_parsed_body"
# sendBeacon sends a string as text/plain, which needs no CORS preflight.
BODY_TYPES = ("", "text/plain", "application/json")
# What the widget may offer besides messages, before the shop's own answer:
# binding's is worked out per shop and page (engine.binding.popup), the game
# is on for a shop running a live campaign (engine.game), the chat unless the
# shop switched it off (engine.chat).
FEATURES = {"chat": False, "game": False}

bp.after_request(add_cors_headers)


@bp.route("/page", methods=["POST", "OPTIONS"])
def page() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, payload = _read(PAGE_REQUEST)
    secret_key = current().settings.secret_key
    visitor = identify(secret_key, shop.shop_id, payload["visitor_token"])
    now = utcnow()

    page, locale = payload["page"], payload["locale"]
    accept(
        [
            page_view_record(
                shop.shop_id,
                visitor.public_id,
                payload["event_id"],
                page,
                locale,
                now.timestamp(),
            )
        ]
    )
    known = visitor.public_id if visitor.known else None
    facts, message = message_for_page_view(
        shop.shop_id, known, page["url"], locale, now
    )
    collectible = collectible_for_page_view(
        secret_key,
        shop.shop_id,
        visitor.public_id,
        visitor.known,
        page,
        locale,
        payload["event_id"],
    )
    features = {
        **FEATURES,
        "chat": widget_offers_chat(shop.shop_id),
        "game": FEATURES["game"] or game_is_on(shop.shop_id),
        "binding": widget_feature(
            shop.shop_id, page["url"], page.get("page_type"), locale
        ),
    }
    return _json(
        {
            "visitor_token": visitor.token,
            "visit_count": facts.visit_count,
            "message": message,
            "collectible": collectible,
            "features": features,
            "chunks": entry_chunks(),
        }
    )


@bp.route("/events", methods=["POST", "OPTIONS"])
def events() -> Response:
    if request.method == "OPTIONS":
        return preflight()
    shop, payload = _read(EVENTS_REQUEST)
    secret_key = current().settings.secret_key
    try:
        public_id = read_token(secret_key, shop.shop_id, payload["visitor_token"])
    except InvalidVisitorToken as exc:
        raise ApiError(401, "invalid_visitor_token", str(exc)) from None

    received = time.time()
    records = [
        client_record(shop.shop_id, public_id, event, received)
        for event in payload["events"]
    ]
    accept(records)
    # Accepted, to be written by the drain. No body: the widget sends events
    # with sendBeacon, which never reads an answer, and a body is a second
    # socket write for the server (a sixth of this call's CPU under gunicorn).
    return Response(status=202)


def _read(schema: Schema) -> tuple[WidgetShop, dict[str, Any]]:
    """The shop and the validated body, or the first check's error."""
    body = _json_body()
    shop = _shop(body.get("widget_key"))
    require_allowed_origin(shop)
    try:
        return shop, schema.load(body)
    except ValidationError as exc:
        field, problem = first_error(exc.messages)
        raise ApiError(400, "invalid_field", f"{field}: {problem}") from None


def _json_body() -> dict[str, Any]:
    if (request.content_length or 0) > MAX_BODY:
        raise _too_large()
    # Cheaper than request.mimetype, which parses every parameter.
    mimetype = request.headers.get("Content-Type", "").split(";", 1)[0].strip()
    if mimetype.lower() not in BODY_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {mimetype!r} is not text/plain or application/json.",
        )
    # The rate limiter has parsed most bodies already (plugin.widget_api.limits).
    parsed = g.pop(PARSED_BODY, None)
    if parsed is not None:
        return parsed

    # Also caps a body sent without a Content-Length (chunked).
    request.max_content_length = MAX_BODY
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise _too_large() from None

    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        # RecursionError: arrays or objects nested past Python's stack.
        raise ApiError(400, "invalid_json", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return body


def _shop(widget_key: object) -> WidgetShop:
    if not isinstance(widget_key, str) or not widget_key:
        raise ApiError(
            400, "invalid_field", "widget_key: Missing data for required field."
        )
    shop = shop_for_widget_key(widget_key)
    if shop is None:
        raise ApiError(
            404,
            "unknown_widget_key",
            f"No installed shop has widget key {widget_key[:64]!r}.",
        )
    return shop


def _json(body: dict[str, Any], status: int = 200) -> Response:
    # jsonify goes through the app's JSON provider; plain dumps is enough here.
    return Response(
        json.dumps(body, separators=(",", ":")),
        status=status,
        mimetype="application/json",
    )


def _too_large() -> ApiError:
    return ApiError(
        413, "payload_too_large", f"The body is over {MAX_BODY // 1024} KB."
    )
