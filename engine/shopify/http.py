"""The HTTP client for every call to the store platform."""

from __future__ import annotations

import httpx

from engine.settings import Settings

# The platform gives webhooks 5 s; our own calls should fail well before a
# job's timeout so they can be retried.
TIMEOUT = httpx.Timeout(connect=3.0, read=15.0, write=10.0, pool=5.0)


class PlatformTransport(httpx.BaseTransport):
    """Sends ``https://{shop}.myshopify.com/path`` to ``{base_url}/{shop}/path``.

    shopifyapp builds the shop's URL itself; routing through this transport
    is how it reaches a fake platform in tests without changing its code.
    """

    def __init__(self, base_url: str) -> None:
        self._base = httpx.URL(base_url.rstrip("/"))
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.endswith(".myshopify.com"):
            request.url = self.rewrite(request.url)
            request.headers["Host"] = self._base.netloc.decode()
        return self._inner.handle_request(request)

    def rewrite(self, url: httpx.URL) -> httpx.URL:
        path = f"/{url.host}{url.path}"
        return self._base.copy_with(
            path=self._base.path.rstrip("/") + path, query=url.query or None
        )

    def close(self) -> None:
        self._inner.close()


def platform_url(settings: Settings, shop_domain: str, path: str) -> str:
    """The URL a shopper's or merchant's browser should open on the platform."""
    if settings.shopify_base_url:
        return f"{settings.shopify_base_url.rstrip('/')}/{shop_domain}{path}"
    return f"https://{shop_domain}{path}"


def admin_app_url(settings: Settings, shop_domain: str) -> str:
    """Where the merchant opens the app inside their store admin."""
    if settings.shopify_base_url:
        base = settings.shopify_base_url.rstrip("/")
        return f"{base}/{shop_domain}/admin/apps/{settings.shopify_api_key}"
    store = shop_domain.removesuffix(".myshopify.com")
    return f"https://admin.shopify.com/store/{store}/apps/{settings.shopify_api_key}"


def make_http_client(settings: Settings) -> httpx.Client:
    transport = None
    if settings.shopify_base_url:
        transport = PlatformTransport(settings.shopify_base_url)
    return httpx.Client(timeout=TIMEOUT, transport=transport)
