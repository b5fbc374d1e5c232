"""Which shop a widget key belongs to, and which origins may post for it.

A shop's widget may post from its ``https://<shop>.myshopify.com`` storefront,
from origins recorded for it (custom domains, ``add_storefront_origin``) and,
when ``SHOPIFY_BASE_URL`` is set (tests, the demo), from the fake platform's
origin. An uninstalled shop's widget key is unknown. Answers are memoized per
process for a few seconds (see ``engine.tracking.memo``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import bindparam, exists, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.db import db, utcnow
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking import reads
from engine.tracking.errors import InvalidStorefrontOrigin
from engine.tracking.memo import ExpiringMemo
from engine.tracking.models import StorefrontOrigin

logger = logging.getLogger(__name__)

MEMO_SECONDS = 5.0
MYSHOPIFY_SUFFIX = ".myshopify.com"
DEFAULT_PORTS = {"http": 80, "https": 443}
# The shape ``new_widget_key`` gives and the column holds. Anything else names
# no shop, and some of it (a NUL, a lone surrogate) the database cannot even
# compare: refused before a query, and never memoized.
WIDGET_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class WidgetShop:
    """The little the widget API needs of a shop, cheap to keep in memory."""

    shop_id: int
    shop_domain: str
    origins: frozenset[str]

    def allows(self, origin: str | None) -> bool:
        return origin is not None and origin.lower() in self.origins


_shops: ExpiringMemo[str, WidgetShop | None] = ExpiringMemo(MEMO_SECONDS)
_known_origins: ExpiringMemo[str, bool] = ExpiringMemo(MEMO_SECONDS)


def shop_for_widget_key(widget_key: str) -> WidgetShop | None:
    """The installed shop whose widget key this is, or None."""
    if not WIDGET_KEY.fullmatch(widget_key):
        return None
    return _shops.get(widget_key, lambda: _load_shop(widget_key))


def origin_is_known(origin: str) -> bool:
    """Whether some installed shop's widget may post from ``origin``.

    For CORS preflights, which carry no body and so no widget key: the
    request that follows is checked against its own shop.
    """
    return _known_origins.get(origin.lower(), lambda: _is_known(origin.lower()))


def add_storefront_origin(shop: Shop, url: str) -> str:
    """Allow the shop's widget to post from ``url``'s origin; return the origin.

    Idempotent. Raises:
        InvalidStorefrontOrigin: ``url`` has no http(s) scheme and host.
    """
    origin = normalize_origin(url)
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(StorefrontOrigin)
        .values(shop_id=shop.id, origin=origin, created_at=utcnow())
        .on_conflict_do_nothing()
    )
    forget_shop(shop.widget_key)
    _known_origins.forget(origin)
    logger.info(
        "tracking.storefront_origin_added", extra={"shop_id": shop.id, "origin": origin}
    )
    return origin


def normalize_origin(url: str) -> str:
    """``scheme://host[:port]`` in lower case, as a browser's Origin header."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise InvalidStorefrontOrigin(url) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidStorefrontOrigin(url)
    origin = f"{scheme}://{parts.hostname.lower()}"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        origin += f":{port}"
    return origin


def forget_shop(widget_key: str) -> None:
    """Drop this process's memo of a widget key (after changing the shop)."""
    _shops.forget(widget_key)


def forget_all() -> None:
    """Drop every memo of this process (tests)."""
    _shops.clear()
    _known_origins.clear()


_SHOP_BY_WIDGET_KEY = (
    select(Shop.id, Shop.shop_domain, StorefrontOrigin.origin)
    .outerjoin(StorefrontOrigin, StorefrontOrigin.shop_id == Shop.id)
    .where(Shop.widget_key == bindparam("widget_key"), Shop.uninstalled_at.is_(None))
)
_INSTALLED = Shop.uninstalled_at.is_(None)
_MYSHOPIFY_KNOWN = select(
    exists().where(Shop.shop_domain == bindparam("domain"), _INSTALLED)
)
_ORIGIN_KNOWN = select(
    exists().where(
        StorefrontOrigin.origin == bindparam("origin"),
        StorefrontOrigin.shop_id == Shop.id,
        _INSTALLED,
    )
)


def _load_shop(widget_key: str) -> WidgetShop | None:
    found = reads.rows(_SHOP_BY_WIDGET_KEY, widget_key=widget_key)
    if not found:
        return None

    shop_id, shop_domain = found[0].id, found[0].shop_domain
    origins = {f"https://{shop_domain}"}
    origins.update(row.origin for row in found if row.origin)
    sandbox = _sandbox_origin()
    if sandbox is not None:
        origins.add(sandbox)
    return WidgetShop(shop_id, shop_domain, frozenset(origins))


def _is_known(origin: str) -> bool:
    if origin == _sandbox_origin():
        return True
    if origin.startswith("https://") and origin.endswith(MYSHOPIFY_SUFFIX):
        row = reads.first_row(_MYSHOPIFY_KNOWN, domain=origin.removeprefix("https://"))
    else:
        row = reads.first_row(_ORIGIN_KNOWN, origin=origin)
    return bool(row[0])


def _sandbox_origin() -> str | None:
    base_url = current().settings.shopify_base_url
    return normalize_origin(base_url) if base_url else None
