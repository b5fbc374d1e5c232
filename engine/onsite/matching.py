"""Does a rule fit this page and this visitor? The conditions, compiled once.

URL conditions compare lower-cased, percent-decoded text, so a merchant can
write ``/products/茶`` or ``/PRODUCTS/tea``:

* ``is``: the page's path equals the value's path (a full address or a path;
  a trailing slash does not matter); a value with ``?`` must match the query
  string too.
* ``contains`` / ``not_contains``: the value is (not) part of the full address.
* ``wildcard``: ``*`` stands for any text, the rest is literal; a pattern that
  starts with ``/`` is matched against the path (and query, if the pattern has
  ``?``), any other pattern against the full address without its fragment.

An excluded page is a wildcard pattern (without ``*``, one exact page).
Visitor conditions: a *new* visitor is on their first visit, a *returning*
one on a later visit, a *first-time buyer* has exactly one order from a cart
linked to them. "Cart over X" means the last cart the widget saw, not yet
ordered, totals strictly more than X.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import unquote, urlsplit

from engine.tracking.footprint import Footprint

# How specific a URL condition is, for choosing between rules that all fit.
SPECIFICITY = {"is": 3, "wildcard": 2, "contains": 2, "not_contains": 1, "any": 0}


@dataclass(frozen=True)
class PageUrl:
    """A page address in the forms the conditions compare (lower, decoded)."""

    full: str
    path: str
    query: str

    @classmethod
    def parse(cls, url: str) -> PageUrl:
        without_fragment = url.split("#", 1)[0]
        parts = urlsplit(without_fragment)
        return cls(
            full=unquote(without_fragment).lower(),
            path=_trim_slash(unquote(parts.path).lower() or "/"),
            query=unquote(parts.query).lower(),
        )


@dataclass(frozen=True)
class VisitorFacts:
    """What the rules know of the visitor at this page view."""

    visitor_id: int | None
    visit_count: int
    orders: int
    cart_total: Decimal

    @classmethod
    def of(cls, footprint: Footprint | None, now: datetime) -> VisitorFacts:
        """Facts from a footprint (None: never seen, or not drained yet)."""
        if footprint is None:
            return cls(None, 1, 0, Decimal(0))
        return cls(
            visitor_id=footprint.visitor_id,
            visit_count=footprint.visits_with_page_view_at(now),
            orders=footprint.orders,
            cart_total=footprint.open_cart_total,
        )


class UrlCondition:
    """One compiled URL condition."""

    def __init__(self, kind: str, value: str | None) -> None:
        self.kind = kind
        self.specificity = SPECIFICITY[kind]
        text = unquote(value or "").strip().lower()
        self._text = text
        self._with_query = "?" in text
        self._on_path = text.startswith("/")
        if kind == "is":
            self._page = _as_path(text)
        elif kind == "wildcard":
            self._pattern = _wildcard(_trim_slash(text) if self._on_path else text)

    def matches(self, page: PageUrl) -> bool:
        if self.kind == "any":
            return True
        if self.kind == "contains":
            return self._text in page.full
        if self.kind == "not_contains":
            return self._text not in page.full
        if self.kind == "is":
            return self._page == _path_of(page, self._with_query)
        if self._on_path:
            return bool(self._pattern.fullmatch(_path_of(page, self._with_query)))
        return bool(self._pattern.fullmatch(page.full))


def excluded_page(pattern: str) -> UrlCondition:
    """An excluded-page pattern as a condition that matches the excluded pages."""
    kind = "wildcard" if "*" in pattern else "is"
    return UrlCondition(kind, pattern)


def fits_visit(number: int | None, mode: str, visit_count: int) -> bool:
    if number is None:
        return True
    if mode == "at_least":
        return visit_count >= number
    return visit_count == number


def fits_audience(audience: str, visitor: VisitorFacts) -> bool:
    if audience == "new":
        return visitor.visit_count == 1
    if audience == "returning":
        return visitor.visit_count >= 2
    if audience == "first_time_buyer":
        return visitor.orders == 1
    return True


def _path_of(page: PageUrl, with_query: bool) -> str:
    if with_query and page.query:
        return f"{page.path}?{page.query}"
    return page.path


def _as_path(text: str) -> str:
    if "://" in text:
        parts = urlsplit(text)
        path = _trim_slash(parts.path or "/")
        return f"{path}?{parts.query}" if parts.query else path
    path, _, query = text.partition("?")
    path = _trim_slash("/" + path.lstrip("/"))
    return f"{path}?{query}" if query else path


def _trim_slash(path: str) -> str:
    """``/a/b/`` and ``/a/b`` are one page; ``/`` stays ``/``."""
    if not path.startswith("/"):
        return path
    return path.rstrip("/") or "/"


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(piece) for piece in pattern.split("*")))
