"""The widget API's rate limits: every call spends its address's, shop's and
visitor's budgets before anything else runs.

One ``before_request`` on the blueprint, so every widget endpoint, present
or future, is limited the same way. The budgets (``engine.ratelimit``:
decided in the process, shared by all web processes through Redis) are kept
apart: per client address (the connection's, or ``X-Forwarded-For`` as far
back as ``TRUSTED_PROXIES``), per shop (one shop's flood never spends
another's) and per visitor. An
exhausted budget answers 429 ``rate_limited`` with ``Retry-After``; with
Redis out of reach each process keeps the budgets alone (``engine.ratelimit``
logs it).

The shop and visitor come from ``widget_key`` and ``visitor_token`` in the
query string (calls whose body is not JSON, such as an uploaded image) or
else in a JSON body that declares its length within the widget's 32 KB: it
is read and parsed once, and the view's own checks read the same object. A
body sent without a length (chunked) or too large is left for the view to
refuse, and such a call spends its address's budget only. So does a call
naming no installed shop; a visitor token that does not verify spends no
visitor's budget (the page view then issues a new visitor).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import current_app, g, request
from flask.blueprints import BlueprintSetupState

from engine.ops.connections import prompt_redis
from engine.ratelimit import Charge, Limiter
from engine.runtime import EXTENSION_KEY, current
from engine.settings import Settings
from engine.tracking.errors import InvalidVisitorToken
from engine.tracking.storefronts import WidgetShop, shop_for_widget_key
from engine.tracking.tokens import MAX_TOKEN_LENGTH, read_token
from plugin.errors import ApiError
from plugin.widget_api import bp
from plugin.widget_api.routes import BODY_TYPES, MAX_BODY, PARSED_BODY

logger = logging.getLogger(__name__)

LIMITER_KEY = "revisit.widget_limiter"
# A storefront call waits this long for Redis at most, then goes on unlimited.
REDIS_TIMEOUT_SECONDS = 0.25
SCOPE_SENTENCES = {
    "ip": "from this address",
    "shop": "for this shop",
    "visitor": "from this visitor",
}


@bp.record_once
def _give_app_its_limiter(state: BlueprintSetupState) -> None:
    settings: Settings = state.app.extensions[EXTENSION_KEY].settings
    state.app.extensions[LIMITER_KEY] = limiter_for(settings)


def limiter_for(settings: Settings) -> Limiter | None:
    """A new limiter for the widget API, or None when its limits are off."""
    if not settings.widget_rate_limits:
        return None
    return Limiter(prompt_redis(settings.redis_url, REDIS_TIMEOUT_SECONDS))


@bp.before_request
def limit_widget_request() -> None:
    """Spend the call's budgets, or refuse it with 429 and ``Retry-After``."""
    limiter: Limiter | None = current_app.extensions.get(LIMITER_KEY)
    if limiter is None:
        return

    charges = _charges(current().settings)
    verdict = limiter.hit(charges)
    if verdict.allowed:
        return

    logger.debug(
        "widget.rate_limited",
        extra={"budget": verdict.refused_by, "path": request.path},
    )
    wait = verdict.retry_after_seconds
    raise ApiError(
        429,
        "rate_limited",
        f"Too many requests {SCOPE_SENTENCES[verdict.refused_by or 'ip']};"
        f" try again in {wait} s.",
        headers={
            "Retry-After": str(wait),
            "Access-Control-Expose-Headers": "Retry-After",
        },
    )


def _charges(settings: Settings) -> list[Charge]:
    address = request.remote_addr or "unknown"
    wanted = [("ip", f"widget:ip:{address}", settings.widget_rate_limit_ip)]

    widget_key, visitor_token = _caller()
    shop = shop_for_widget_key(widget_key) if widget_key else None
    if shop is not None:
        _let_storefront_read_refusal(shop)
        shop_key = f"widget:shop:{shop.shop_id}"
        wanted.append(("shop", shop_key, settings.widget_rate_limit_shop))
        public_id = _visitor(settings, shop, visitor_token)
        if public_id is not None:
            visitor_key = f"widget:visitor:{shop.shop_id}:{public_id}"
            wanted.append(("visitor", visitor_key, settings.widget_rate_limit_visitor))

    # A budget set to "off" is None: that scope is not limited.
    return [
        Charge(scope, key, budget)
        for scope, key, budget in wanted
        if budget is not None
    ]


def _caller() -> tuple[str | None, Any]:
    """The widget key and visitor token the call names, if it names them."""
    if "widget_key" in request.args:
        return request.args["widget_key"], request.args.get("visitor_token")
    body = _small_json_body()
    widget_key = body.get("widget_key")
    if not isinstance(widget_key, str) or not widget_key:
        return None, None
    return widget_key, body.get("visitor_token")


def _small_json_body() -> dict[str, Any]:
    if request.method != "POST":
        return {}
    length = request.content_length
    if length is None or length > MAX_BODY:
        return {}
    mimetype = request.headers.get("Content-Type", "").split(";", 1)[0].strip()
    if mimetype.lower() not in BODY_TYPES:
        return {}
    # Kept on the request: the view's get_data() returns these same bytes.
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        # Nested past Python's stack: the view refuses it, as it does bad JSON.
        return {}
    if not isinstance(body, dict):
        return {}
    # The view reads the same object rather than parse the bytes again.
    setattr(g, PARSED_BODY, body)
    return body


def _visitor(settings: Settings, shop: WidgetShop, token: Any) -> str | None:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        return read_token(settings.secret_key, shop.shop_id, token)
    except InvalidVisitorToken:
        return None


def _let_storefront_read_refusal(shop: WidgetShop) -> None:
    # A 429 the widget cannot read looks like a network error; the view sets
    # the same origin once it runs (plugin.widget_api.cors).
    origin = request.headers.get("Origin")
    if shop.allows(origin):
        g.widget_origin = origin
