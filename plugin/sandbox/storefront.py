"""The demo storefront: a pet-supply shop, served by the fake platform.

Like a real shop's Online Store it lives on the platform's host, at
``{platform}/store/<shop_domain>/``: home, collections, product pages and the
cart; Shopify's Ajax Cart API under the same root, kept by a ``cart`` cookie;
and the theme app embed rendered into every page as
``extensions/revisit-widget/blocks/revisit-embed.liquid`` renders it. Each
cart change makes the platform send ``carts/create`` or ``carts/update`` to
the app, from a background thread, as Shopify does after answering.

The theme's CSS is deliberately hostile (global rules, ``!important``, a
header with a huge z-index), so the widget's style isolation is really tested.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)
from markupsafe import Markup

from plugin.sandbox.storefront_carts import (
    Cart,
    CartError,
    StoreCarts,
    ajax_cart,
    ajax_line,
    empty_ajax_cart,
    webhook_payload,
    with_discount_code,
)
from plugin.sandbox.storefront_catalog import (
    COLLECTIONS,
    PRODUCTS,
    Product,
    collection_by_handle,
    collection_products,
    product_by_handle,
    product_image_svg,
)
from plugin.sandbox.storefront_embed import (
    LOADER_FILE,
    LOADER_PATH,
    EmbedPage,
    render_app_embed,
)

if TYPE_CHECKING:
    from plugin.sandbox.shopify_platform import FakeShopifyPlatform

logger = logging.getLogger(__name__)

THEME_ASSETS = Path(__file__).with_name("storefront_templates") / "assets"
CART_COOKIE = "cart"
# Set by /discount/<code>, as on the platform's storefronts.
DISCOUNT_COOKIE = "discount_code"
_STOREFRONTS_KEY = "fake_storefronts"
_PLATFORM_KEY = "fake_shopify"

bp = Blueprint("storefront", __name__, template_folder="storefront_templates")


@dataclass(frozen=True)
class StoreSettings:
    """What the platform knows of a store's theme and of the app it installed.

    ``app_url`` is where the app lives: its webhooks go there, and the app
    embed's "app URL" setting holds it. ``widget_key`` is the embed's other
    setting; ``None`` means the merchant has not switched the embed on.
    """

    app_url: str | None = None
    widget_key: str | None = None
    position: str = "bottom-right"
    locale: str = "en"


class WebhookSender:
    """Delivers cart webhooks in order from one daemon thread.

    Like the platform, it tries a failed delivery (no answer, or not 2xx)
    again under the same webhook id, here a few times within seconds rather
    than eight times over four hours.
    """

    RETRY_DELAYS = (0.5, 1.0, 2.0)

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(
        self, platform: FakeShopifyPlatform, url: str, topic: str, shop: str, body: dict
    ) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fake-storefront-webhooks", daemon=True
                )
                self._thread.start()
        self._queue.put((platform, url, topic, shop, body))

    def wait(self) -> None:
        """Return once every webhook queued so far was delivered (or failed)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            platform, url, topic, shop, body = self._queue.get()
            try:
                self._deliver(platform, url, topic, shop, body)
            finally:
                self._queue.task_done()

    def _deliver(
        self, platform: FakeShopifyPlatform, url: str, topic: str, shop: str, body: dict
    ) -> None:
        webhook_id = str(uuid.uuid4())
        for delay in (*self.RETRY_DELAYS, None):
            try:
                status = platform.deliver_webhook(
                    url, topic, shop, body, webhook_id=webhook_id
                )
                error = None if status < 300 else f"answered {status}"
            except httpx.HTTPError as failure:
                error = str(failure) or type(failure).__name__
            if error is None:
                return
            logger.warning(
                "sandbox.storefront.webhook_failed",
                extra={"topic": topic, "shop_domain": shop, "error": error},
            )
            if delay is not None:
                time.sleep(delay)


@dataclass
class Storefronts:
    """The state behind every demo store of one platform."""

    settings: dict[str, StoreSettings] = field(default_factory=dict)
    carts: StoreCarts = field(default_factory=StoreCarts)
    webhooks: WebhookSender = field(default_factory=WebhookSender)


def open_storefront(
    platform: FakeShopifyPlatform,
    shop_domain: str,
    *,
    app_url: str | None = None,
    widget_key: str | None = None,
    position: str = "bottom-right",
    locale: str = "en",
) -> str:
    """Set up a platform shop's storefront; returns its address.

    The shop must exist on the platform (``add_shop``). Calling it again
    replaces the settings, as a merchant saving the theme editor would.
    """
    if platform.find_shop(shop_domain) is None:
        raise KeyError(f"No shop {shop_domain!r} on the platform; add_shop first.")
    if platform.base_url is None:
        raise RuntimeError("The platform is not serving; call platform.serve().")

    storefronts_of(platform).settings[shop_domain] = StoreSettings(
        app_url=app_url.rstrip("/") if app_url else None,
        widget_key=widget_key,
        position=position,
        locale=locale,
    )
    return f"{platform.base_url}/store/{shop_domain}/"


def storefronts_of(platform: FakeShopifyPlatform) -> Storefronts:
    """The storefront state served by this platform's HTTP app."""
    return platform.wsgi_app.extensions[_STOREFRONTS_KEY]


def wait_for_webhooks(platform: FakeShopifyPlatform) -> None:
    """Block until every cart webhook sent so far has been delivered."""
    storefronts_of(platform).webhooks.wait()


@bp.record_once
def _set_up(state: Any) -> None:
    state.app.extensions[_STOREFRONTS_KEY] = Storefronts()


# --- pages ---------------------------------------------------------------------


@bp.get("/store/<shop_domain>/")
def home(shop_domain: str) -> str:
    return _page(shop_domain, "index", "index.html", products=PRODUCTS)


@bp.get("/store/<shop_domain>/collections/<handle>")
def collection(shop_domain: str, handle: str) -> str:
    found = collection_by_handle(handle) or abort(404)
    return _page(
        shop_domain,
        "collection",
        "collection.html",
        collection=found,
        products=collection_products(found),
    )


@bp.get("/store/<shop_domain>/products/<handle>")
def product(shop_domain: str, handle: str) -> str:
    found = product_by_handle(handle) or abort(404)
    return _page(shop_domain, "product", "product.html", product=found)


@bp.get("/store/<shop_domain>/cart")
def cart_page(shop_domain: str) -> str:
    return _page(shop_domain, "cart", "cart.html")


@bp.get("/store/<shop_domain>/discount/<code>")
def apply_discount(shop_domain: str, code: str) -> Response:
    """Shopify's shareable discount link: keep the code for the cart, go on.

    ``redirect`` may only lead within the store, so the link cannot send a
    shopper elsewhere.
    """
    _settings(shop_domain)
    root = _root(shop_domain)
    target = request.args.get("redirect") or root
    if not target.startswith(root):
        target = root
    response = redirect(target)
    response.set_cookie(DISCOUNT_COOKIE, code, path=root, samesite="Lax")
    return response


@bp.get("/store/<shop_domain>/images/<handle>.svg")
def product_image(shop_domain: str, handle: str) -> Response:
    _settings(shop_domain)
    found = product_by_handle(handle) or abort(404)
    response = Response(product_image_svg(found), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/store/<shop_domain>/assets/<name>")
def theme_asset(shop_domain: str, name: str) -> Response:
    _settings(shop_domain)
    if name not in ("theme.css", "theme.js"):
        abort(404)
    response = make_response((THEME_ASSETS / name).read_text(encoding="utf-8"))
    response.mimetype = "text/css" if name.endswith(".css") else "text/javascript"
    return response


@bp.get(LOADER_PATH)
def extension_loader() -> Response:
    """The theme app extension's asset, as the platform's CDN serves it."""
    if not LOADER_FILE.is_file():
        abort(404)
    response = make_response(LOADER_FILE.read_bytes())
    response.mimetype = "text/javascript"
    response.cache_control.public = True
    response.cache_control.max_age = 31536000
    return response


# --- the Ajax Cart API ---------------------------------------------------------


@bp.get("/store/<shop_domain>/cart.js")
def cart_json(shop_domain: str) -> Response:
    _settings(shop_domain)
    cart = _carts().find(request.cookies.get(CART_COOKIE))
    if cart is None:
        return jsonify(empty_ajax_cart(_currency()))
    return jsonify(_shown_cart(shop_domain, cart))


@bp.post("/store/<shop_domain>/cart/add.js")
@bp.post("/store/<shop_domain>/cart/add")
def cart_add(shop_domain: str) -> Response:
    settings = _settings(shop_domain)
    params = _params()
    items = params.get("items") if isinstance(params.get("items"), list) else None
    wanted = items or [{"id": params.get("id"), "quantity": params.get("quantity")}]

    cart, created = _carts().open(request.cookies.get(CART_COOKIE), _currency())
    try:
        lines = [
            _carts().add(cart, item.get("id"), item.get("quantity")) for item in wanted
        ]
    except CartError as refusal:
        return _cart_error(refusal)
    _cart_changed(shop_domain, settings, cart, created)

    if not request.path.endswith(".js"):
        response = redirect(f"{_root(shop_domain)}cart")
    elif items is not None:
        root = _root(shop_domain)
        response = jsonify(items=[ajax_line(line, root) for line in lines])
    else:
        response = jsonify(ajax_line(lines[0], _root(shop_domain)))
    return _with_cart_cookie(response, shop_domain, cart)


@bp.post("/store/<shop_domain>/cart/change.js")
def cart_change(shop_domain: str) -> Response:
    settings = _settings(shop_domain)
    params = _params()
    cart = _carts().find(request.cookies.get(CART_COOKIE))
    if cart is None:
        return _cart_error(CartError(400, "The cart is empty"))

    line = _line_of_change(cart, params)
    if line is None:
        return _cart_error(CartError(400, "No such line in the cart"))
    try:
        _carts().set_quantity(cart, line, params.get("quantity"))
    except CartError as refusal:
        return _cart_error(refusal)
    _cart_changed(shop_domain, settings, cart, created=False)
    return jsonify(ajax_cart(cart, _root(shop_domain)))


@bp.post("/store/<shop_domain>/cart/update.js")
def cart_update(shop_domain: str) -> Response:
    settings = _settings(shop_domain)
    cart, created = _carts().open(request.cookies.get(CART_COOKIE), _currency())
    try:
        for reference, quantity in _updates(_params(), cart):
            line = cart.line_for(reference)
            if line is not None:
                _carts().set_quantity(cart, line, quantity)
            elif int(quantity or 0) > 0:
                _carts().add(cart, reference, quantity)
    except (CartError, ValueError) as refusal:
        return _cart_error(
            refusal if isinstance(refusal, CartError) else CartError(422, str(refusal))
        )
    _cart_changed(shop_domain, settings, cart, created)
    response = jsonify(ajax_cart(cart, _root(shop_domain)))
    return _with_cart_cookie(response, shop_domain, cart)


@bp.post("/store/<shop_domain>/cart/clear.js")
def cart_clear(shop_domain: str) -> Response:
    settings = _settings(shop_domain)
    cart = _carts().find(request.cookies.get(CART_COOKIE))
    if cart is None:
        return jsonify(empty_ajax_cart(_currency()))
    _carts().clear(cart)
    _cart_changed(shop_domain, settings, cart, created=False)
    return jsonify(ajax_cart(cart, _root(shop_domain)))


# --- internals -----------------------------------------------------------------


def _storefronts() -> Storefronts:
    return current_app.extensions[_STOREFRONTS_KEY]


def _platform() -> FakeShopifyPlatform:
    return current_app.extensions[_PLATFORM_KEY]


def _carts() -> StoreCarts:
    return _storefronts().carts


def _settings(shop_domain: str) -> StoreSettings:
    """The store's settings; a 404 page for a shop the platform does not have."""
    if _platform().find_shop(shop_domain) is None:
        abort(404)
    return _storefronts().settings.get(shop_domain) or StoreSettings()


def _root(shop_domain: str) -> str:
    return f"/store/{shop_domain}/"


def _currency() -> str:
    shop_domain = request.view_args["shop_domain"]
    return _platform().find_shop(shop_domain).currency


def _page(shop_domain: str, page_type: str, template: str, **values: Any) -> str:
    settings = _settings(shop_domain)
    shop = _platform().find_shop(shop_domain)
    cart = _carts().find(request.cookies.get(CART_COOKIE))
    product_value: Product | None = values.get("product")
    return render_template(
        f"storefront/{template}",
        shop=shop,
        root=_root(shop_domain),
        collections=COLLECTIONS,
        cart=_shown_cart(shop_domain, cart) if cart else None,
        cart_count=cart.item_count if cart else 0,
        page_type=page_type,
        price=lambda cents: f"{shop.currency} {cents / 100:,.0f}",
        app_embed=_app_embed(shop_domain, settings, page_type, product_value),
        **values,
    )


def _shown_cart(shop_domain: str, cart: Cart) -> dict[str, Any]:
    """The cart as /cart.js and the cart page show it, with any code applied."""
    ajax = ajax_cart(cart, _root(shop_domain))
    code = request.cookies.get(DISCOUNT_COOKIE)
    if not code:
        return ajax
    platform = _platform()
    discount = platform.find_discount(shop_domain, code)
    return with_discount_code(ajax, code, discount, platform.current_time())


def _app_embed(
    shop_domain: str, settings: StoreSettings, page_type: str, product: Product | None
) -> Markup:
    if settings.app_url is None or settings.widget_key is None:
        return Markup("")
    page = EmbedPage(
        shop_domain,
        settings.locale,
        page_type,
        product.id if product else None,
        product.handle if product else None,
    )
    return Markup(
        render_app_embed(settings.app_url, settings.widget_key, settings.position, page)
    )


def _params() -> dict[str, Any]:
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}
    return request.form.to_dict()


def _line_of_change(cart: Cart, params: dict[str, Any]) -> Any:
    if params.get("line") not in (None, ""):
        try:
            index = int(params["line"]) - 1
        except (TypeError, ValueError):
            return None
        return cart.lines[index] if 0 <= index < len(cart.lines) else None
    return cart.line_for(params.get("id", ""))


def _updates(params: dict[str, Any], cart: Cart) -> list[tuple[str, Any]]:
    """update.js's ``updates``: a map of variant id or key to quantity, or a list
    of quantities in line order; form bodies spell them ``updates[<id>]``."""
    updates = params.get("updates")
    if isinstance(updates, dict):
        return [(str(key), value) for key, value in updates.items()]
    if isinstance(updates, list):
        return [
            (line.key, value) for line, value in zip(cart.lines, updates, strict=False)
        ]
    return [
        (name[len("updates[") : -1], value)
        for name, value in params.items()
        if name.startswith("updates[") and name.endswith("]")
    ]


def _cart_changed(
    shop_domain: str, settings: StoreSettings, cart: Cart, created: bool
) -> None:
    if settings.app_url is None:
        return
    topic = "carts/create" if created else "carts/update"
    _storefronts().webhooks.send(
        _platform(),
        f"{settings.app_url}/webhooks/shopify",
        topic,
        shop_domain,
        webhook_payload(cart),
    )


def _with_cart_cookie(response: Response, shop_domain: str, cart: Cart) -> Response:
    response.set_cookie(
        CART_COOKIE,
        cart.token,
        max_age=14 * 24 * 3600,
        path=_root(shop_domain),
        samesite="Lax",
    )
    return response


def _cart_error(refusal: CartError) -> Response:
    response = jsonify(refusal.body())
    response.status_code = refusal.status
    return response
