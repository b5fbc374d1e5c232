"""The fake platform's HTTP face: Flask routes in Shopify's URL scheme.

Views only parse requests and shape answers the way Shopify does (status codes,
JSON error bodies, the grant screen, the signed redirect). Every decision, such
as whether a code is still good or what a query returns, is made by
``FakeShopifyPlatform``.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
import time
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlencode, urlsplit

from flask import (
    Flask,
    Response,
    current_app,
    jsonify,
    make_response,
    redirect,
    request,
)
from werkzeug.serving import WSGIRequestHandler

from plugin.sandbox.shopify_tokens import GRANT_AUTHORIZATION_CODE, TokenRequestError
from plugin.sandbox.storefront import bp as storefront_bp

if TYPE_CHECKING:
    from plugin.sandbox.shopify_nodes import ShopRecord
    from plugin.sandbox.shopify_platform import FakeShopifyPlatform

logger = logging.getLogger(__name__)

INVALID_TOKEN_ERROR = (
    "[API] Invalid API key or access token (unrecognized login or wrong password)"
)
# The endpoint families that are recorded and can be given faults.
PATH_KINDS = ("authorize", "access_token", "graphql")

_EXTENSION_KEY = "fake_shopify"
_API_VERSION = re.compile(r"^(\d{4}-\d{2}|unstable)$")
_FAULT_BODIES = {
    429: "Exceeded 2 calls per second for api client. Reduce request rates to"
    " resume uninterrupted service.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class PlatformCall(NamedTuple):
    """One request the platform answered, for tests to count and inspect."""

    method: str
    path: str
    kind: str
    grant_type: str | None
    status: int


class Fault(NamedTuple):
    """An injected failure: an HTTP status, or ``"timeout"`` after ``delay`` s."""

    outcome: int | str
    delay: float


class QuietRequestHandler(WSGIRequestHandler):
    """Keeps werkzeug's access log out of test output; calls are recorded anyway."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def build_wsgi_app(platform: FakeShopifyPlatform) -> Flask:
    """The Flask app serving ``/<shop_domain>/admin/...`` for one platform."""
    app = Flask(__name__)
    # Keep keys in the order the platform builds them, as Shopify's answers do.
    app.json.sort_keys = False
    app.extensions[_EXTENSION_KEY] = platform

    app.add_url_rule(
        "/<shop_domain>/admin/oauth/authorize",
        view_func=_recorded("authorize", _authorize),
        methods=["GET", "POST"],
    )
    app.add_url_rule(
        "/<shop_domain>/admin/oauth/access_token",
        view_func=_recorded("access_token", _access_token),
        methods=["POST"],
    )
    app.add_url_rule(
        "/<shop_domain>/admin/api/<api_version>/graphql.json",
        view_func=_recorded("graphql", _graphql),
        methods=["POST"],
    )
    app.add_url_rule(
        "/<shop_domain>/admin/apps/<api_key>",
        view_func=_recorded("admin", _app_in_admin),
    )
    app.add_url_rule(
        "/<shop_domain>/admin/apps/<api_key>/id-token",
        view_func=_fresh_id_token,
        methods=["POST"],
    )
    app.add_url_rule("/sandbox/app-bridge.js", view_func=_app_bridge_script)
    # The shops' storefronts (demo theme, Ajax Cart API) live on the same host.
    app.register_blueprint(storefront_bp)
    return app


def admin_host(shop_domain: str) -> str:
    # Real callbacks carry this base64 without padding.
    store = shop_domain.removesuffix(".myshopify.com")
    encoded = base64.b64encode(f"admin.shopify.com/store/{store}".encode())
    return encoded.decode().rstrip("=")


def token_grant_type(params: dict[str, str]) -> str:
    """The grant a token request asks for; the code grant sends no grant_type."""
    return params.get("grant_type") or GRANT_AUTHORIZATION_CODE


def _recorded(kind: str, view: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a view: answer an injected fault first, then record the call."""

    @functools.wraps(view)
    def wrapper(**path_params: str) -> Response:
        platform: FakeShopifyPlatform = current_app.extensions[_EXTENSION_KEY]
        grant_type = (
            token_grant_type(_token_params()) if kind == "access_token" else None
        )

        response = _fault_response(platform, kind)
        if response is None:
            response = make_response(view(platform, **path_params))

        platform.record_call(
            PlatformCall(
                request.method,
                request.path,
                kind,
                grant_type,
                response.status_code,
            )
        )
        return response

    return wrapper


def _fault_response(platform: FakeShopifyPlatform, kind: str) -> Response | None:
    fault = platform.take_fault(kind)
    if fault is None:
        return None

    logger.info(
        "sandbox.shopify.fault_injected",
        extra={"path_kind": kind, "fault": fault.outcome},
    )
    status = fault.outcome
    if status == "timeout":
        # The platform's lock is not held here, so other requests go on.
        time.sleep(fault.delay)
        status = 504

    response = _json(int(status), {"errors": _FAULT_BODIES.get(int(status), "Error")})
    if status == 429:
        response.headers["Retry-After"] = "1"
    return response


def _authorize(platform: FakeShopifyPlatform, shop_domain: str) -> Response:
    params = request.values.to_dict()
    shop = platform.find_shop(shop_domain)
    if shop is None:
        return _html(404, "<p>There's no shop at this address.</p>")

    problem = platform.authorization_problem(params)
    if problem:
        return _html(
            400, f"<h1>Oauth error invalid_request</h1><p>{escape(problem)}</p>"
        )

    if request.method == "GET":
        return _html(200, _grant_page(shop, params))

    callback = platform.authorize(shop_domain, params)
    redirect_uri = params["redirect_uri"]
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(redirect_uri + separator + urlencode(callback))


def _app_in_admin(
    platform: FakeShopifyPlatform, shop_domain: str, api_key: str
) -> Response:
    """The store admin with our app embedded, as the admin frames an app.

    Like the real admin it loads the app URL in an iframe with ``shop``,
    ``host``, ``embedded`` and a fresh one-minute ``id_token``.
    """
    shop = platform.find_shop(shop_domain)
    if shop is None or api_key != platform.api_key or not platform.app_url:
        return _html(404, "<p>There's no such app in this store.</p>")

    query = urlencode(
        {
            "embedded": "1",
            "host": admin_host(shop_domain),
            "id_token": platform.session_token(shop_domain),
            "shop": shop_domain,
        }
    )
    src = f"{platform.app_url.rstrip('/')}/?{query}"
    return _html(
        200,
        f"<header style='font:14px system-ui;padding:.5rem 1rem;background:#1a1a1a;"
        f"color:#fff'>{escape(shop.name)} · admin (sandbox)</header>"
        f'<iframe title="Revisit" src="{escape(src)}" '
        f'style="border:0;width:100%;height:calc(100vh - 3rem)"></iframe>'
        + _ADMIN_TOKEN_SCRIPT.replace(
            "__TOKEN_URL__", f"/{shop_domain}/admin/apps/{api_key}/id-token"
        ).replace("__APP_ORIGIN__", _origin(platform.app_url)),
    )


# The admin's side of App Bridge's idToken(): the framed app asks by
# postMessage, the admin answers with a fresh one-minute session token.
_ADMIN_TOKEN_SCRIPT = """<script>
addEventListener("message", async (event) => {
  const frame = document.querySelector("iframe");
  if (event.source !== frame.contentWindow || event.origin !== "__APP_ORIGIN__") return;
  if (!event.data || event.data.type !== "sandbox-app-bridge:id-token") return;
  const answer = await fetch("__TOKEN_URL__", {method: "POST"});
  const {id_token} = await answer.json();
  event.source.postMessage(
    {type: "sandbox-app-bridge:id-token", id: event.data.id, token: id_token},
    event.origin);
});
</script>"""

# The app's side: a stand-in for App Bridge's ``shopify.idToken()``.
_APP_BRIDGE_SCRIPT = """// The sandbox admin's App Bridge: only shopify.idToken().
(function () {
  let next = 0;
  const waiting = new Map();
  addEventListener("message", (event) => {
    const data = event.data || {};
    if (event.source !== window.parent) return;
    if (data.type !== "sandbox-app-bridge:id-token") return;
    const resolve = waiting.get(data.id);
    if (resolve) { waiting.delete(data.id); resolve(data.token); }
  });
  window.shopify = window.shopify || {};
  window.shopify.idToken = () => new Promise((resolve) => {
    const id = ++next;
    waiting.set(id, resolve);
    window.parent.postMessage({type: "sandbox-app-bridge:id-token", id}, "*");
  });
})();
"""


def _fresh_id_token(shop_domain: str, api_key: str) -> Response:
    platform: FakeShopifyPlatform = current_app.extensions[_EXTENSION_KEY]
    if platform.find_shop(shop_domain) is None or api_key != platform.api_key:
        return _json(404, {"errors": "Not Found"})
    return _json(200, {"id_token": platform.session_token(shop_domain)})


def _app_bridge_script() -> Response:
    return Response(_APP_BRIDGE_SCRIPT, mimetype="text/javascript")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _access_token(platform: FakeShopifyPlatform, shop_domain: str) -> Response:
    if platform.find_shop(shop_domain) is None:
        return _json(404, {"errors": "Not Found"})

    try:
        body = platform.grant_token(shop_domain, _token_params())
    except TokenRequestError as refusal:
        return _json(refusal.status, refusal.body())
    return _json(200, body)


def _graphql(
    platform: FakeShopifyPlatform, shop_domain: str, api_version: str
) -> Response:
    if not _API_VERSION.match(api_version) or platform.find_shop(shop_domain) is None:
        return _json(404, {"errors": "Not Found"})

    access_token = request.headers.get("X-Shopify-Access-Token", "")
    scopes = platform.token_scopes(shop_domain, access_token)
    if scopes is None:
        return _json(401, {"errors": INVALID_TOKEN_ERROR})

    body = _graphql_body()
    if body is None:
        return _json(
            400, {"errors": {"query": "Required parameter missing or invalid"}}
        )

    response = _json(200, platform.run_graphql(shop_domain, scopes, body))
    response.headers["X-Shopify-API-Version"] = api_version
    return response


def _token_params() -> dict[str, str]:
    """The token request's parameters, from a JSON or a form body."""
    if request.is_json:
        source = request.get_json(silent=True)
    else:
        source = request.form
    return {key: str(value) for key, value in (source or {}).items()}


def _graphql_body() -> dict[str, Any] | None:
    if request.mimetype == "application/graphql":
        return {"query": request.get_data(as_text=True)}
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not body.get("query"):
        return None
    return body


def _json(status: int, body: Any) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _html(status: int, content: str) -> Response:
    # No favicon: the browser would ask for one the fake does not serve.
    page = (
        '<!doctype html><html><head><link rel="icon" href="data:,"></head>'
        f"<body>{content}</body></html>"
    )
    return Response(page, status=status, mimetype="text/html")


def _grant_page(shop: ShopRecord, params: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{escape(key)}" value="{escape(value)}">'
        for key, value in params.items()
    )
    return (
        f"<h1>Install Revisit on {escape(shop.name)}?</h1>"
        f"<p>Requested access: {escape(params.get('scope') or shop.scopes)}</p>"
        f'<form method="post">{hidden}<button type="submit">Install</button></form>'
    )
