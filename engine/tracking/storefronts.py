"""Which shop a widget key belongs to, and which origins may post for it.

A shop's widget may post from its ``https://<shop>.myshopify.com`` storefront,
from origins recorded for it and, when ``SHOPIFY_BASE_URL`` is set (tests, the
demo), from the fake platform's origin. Recorded origins come from two places:
the store's own domains, which each refresh from the platform replaces
(``replace_platform_origins``), and the shop owner's additions, which only the
owner changes (``set_owner_origins``: https host names only, at most
``MAX_OWNER_ORIGINS``). An uninstalled shop's widget key is unknown. Answers
are memoized per process for a few seconds (see ``engine.tracking.memo``); a
change forgets this process's memo at once, and other processes see it when
theirs expires.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import bindparam, delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.db import db, utcnow
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking import reads
from engine.tracking.errors import InvalidStorefrontOrigin, InvalidStorefrontOrigins
from engine.tracking.memo import ExpiringMemo
from engine.tracking.models import OWNER_ORIGIN, PLATFORM_ORIGIN, StorefrontOrigin

logger = logging.getLogger(__name__)

MEMO_SECONDS = 5.0
MYSHOPIFY_SUFFIX = ".myshopify.com"
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_OWNER_ORIGINS = 20
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
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


@dataclass(frozen=True)
class StorefrontOrigins:
    """Where a shop's widget may post from, by who said so."""

    # https://<shop>.myshopify.com, always allowed.
    shop_origin: str
    # The store's own domains, as the platform last reported them.
    platform: tuple[str, ...]
    # Added by the shop owner.
    owner: tuple[str, ...]


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
    _insert_origin(shop, origin, PLATFORM_ORIGIN)
    _forget_origins(shop, [origin])
    logger.info(
        "tracking.storefront_origin_added", extra={"shop_id": shop.id, "origin": origin}
    )
    return origin


def storefront_origins(shop: Shop) -> StorefrontOrigins:
    """The shop's allowed origins, split by where they came from."""
    rows = db.session.execute(
        select(StorefrontOrigin.origin, StorefrontOrigin.source)
        .where(StorefrontOrigin.shop_id == shop.id)
        .order_by(StorefrontOrigin.origin)
    ).all()
    return StorefrontOrigins(
        shop_origin=f"https://{shop.shop_domain}",
        platform=tuple(row.origin for row in rows if row.source != OWNER_ORIGIN),
        owner=tuple(row.origin for row in rows if row.source == OWNER_ORIGIN),
    )


def replace_platform_origins(shop: Shop, hosts: Iterable[str]) -> None:
    """Allow the store's current domains (host names), dropping those it no
    longer has; the owner's additions stay. The caller commits."""
    wanted = set()
    for host in hosts:
        try:
            origin = normalize_origin(f"https://{host}")
        except InvalidStorefrontOrigin:
            logger.warning(
                "tracking.platform_domain_skipped",
                extra={"shop_id": shop.id, "host": host},
            )
            continue
        if origin != f"https://{shop.shop_domain}":
            wanted.add(origin)

    held = dict(
        db.session.execute(
            select(StorefrontOrigin.origin, StorefrontOrigin.source).where(
                StorefrontOrigin.shop_id == shop.id
            )
        ).all()
    )
    gone = {o for o, source in held.items() if source == PLATFORM_ORIGIN} - wanted
    new = wanted - set(held)
    if gone:
        db.session.execute(
            delete(StorefrontOrigin).where(
                StorefrontOrigin.shop_id == shop.id,
                StorefrontOrigin.origin.in_(gone),
            )
        )
    for origin in sorted(new):
        _insert_origin(shop, origin, PLATFORM_ORIGIN)
    if gone or new:
        _forget_origins(shop, gone | new)
        logger.info(
            "tracking.platform_origins_replaced",
            extra={"shop_id": shop.id, "added": len(new), "removed": len(gone)},
        )


def set_owner_origins(shop: Shop, values: Sequence[object]) -> tuple[str, ...]:
    """Replace the origins the shop owner added; return them as stored.

    Each is an https origin naming a host (``https://shop.example.com``), and
    there are at most ``MAX_OWNER_ORIGINS``; duplicates count once. An origin
    the platform also reports becomes the owner's, so it stays when the
    store drops it. The caller commits.

    Raises:
        InvalidStorefrontOrigins: naming the first entry at fault.
    """
    checked = (owner_origin(value, f"origins[{i}]") for i, value in enumerate(values))
    wanted = list(dict.fromkeys(checked))
    if len(wanted) > MAX_OWNER_ORIGINS:
        raise InvalidStorefrontOrigins(
            "origins",
            f"Holds {len(wanted)} storefront addresses; at most"
            f" {MAX_OWNER_ORIGINS} may be added.",
        )

    rows = {
        row.origin: row
        for row in db.session.scalars(
            select(StorefrontOrigin).where(StorefrontOrigin.shop_id == shop.id)
        )
    }
    changed = set()
    for origin, row in rows.items():
        if row.source == OWNER_ORIGIN and origin not in wanted:
            db.session.delete(row)
            changed.add(origin)
    for origin in wanted:
        row = rows.get(origin)
        if row is None:
            db.session.add(
                StorefrontOrigin(shop_id=shop.id, origin=origin, source=OWNER_ORIGIN)
            )
            changed.add(origin)
        elif row.source != OWNER_ORIGIN:
            row.source = OWNER_ORIGIN
    db.session.flush()

    _forget_origins(shop, changed)
    logger.info(
        "tracking.owner_origins_set",
        extra={"shop_id": shop.id, "count": len(wanted), "changed": len(changed)},
    )
    return tuple(sorted(wanted))


def owner_origin(value: object, field: str) -> str:
    """``value`` as an https origin of a host name, or a refusal naming ``field``.

    Raises:
        InvalidStorefrontOrigins: ``value`` is no such origin.
    """
    if not isinstance(value, str):
        raise InvalidStorefrontOrigins(
            field, "Must be text such as 'https://shop.example.com'."
        )
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts = port = None
    if parts is not None and parts.scheme.lower() != "https":
        raise InvalidStorefrontOrigins(
            field,
            f"{text!r} must start with https://: the widget runs on secure"
            " storefronts only.",
        )
    if parts is None or not parts.hostname:
        raise InvalidStorefrontOrigins(
            field, f"{text!r} is not an address such as 'https://shop.example.com'."
        )
    extras = parts.username or parts.password or parts.query or parts.fragment
    if (
        extras
        or port not in (None, 443)
        or parts.path not in ("", "/")
        or text.endswith(("?", "#"))
    ):
        raise InvalidStorefrontOrigins(
            field,
            f"{text!r} must be https:// and a host name alone, with no path, port,"
            " query or login.",
        )
    host = _host_name(parts.hostname)
    if host is None:
        raise InvalidStorefrontOrigins(
            field,
            f"{text!r} must name a host such as shop.example.com, not an IP"
            " address or a pattern.",
        )
    if host == MYSHOPIFY_SUFFIX[1:] or host.endswith(MYSHOPIFY_SUFFIX):
        raise InvalidStorefrontOrigins(
            field,
            f"{text!r} is a myshopify.com address: the shop's own is always"
            " allowed, and another shop's is not this shop's storefront.",
        )
    return f"https://{host}"


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


def _host_name(hostname: str) -> str | None:
    """A DNS host name in the form browsers send (lower case, punycode)."""
    try:
        host = hostname.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or labels[-1].isdigit():
        return None
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return None
    return host


def _insert_origin(shop: Shop, origin: str, source: str) -> None:
    # A concurrent refresh or edit may have inserted it meanwhile.
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(StorefrontOrigin)
        .values(shop_id=shop.id, origin=origin, source=source, created_at=utcnow())
        .on_conflict_do_nothing()
    )


def _forget_origins(shop: Shop, origins: Iterable[str]) -> None:
    forget_shop(shop.widget_key)
    for origin in origins:
        _known_origins.forget(origin)


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
