"""Search and paging for the fake Admin API's connections.

Search (a connection's ``query`` argument) understands ``field:value`` terms
joined by spaces or ``AND``, with ``:>``, ``:>=``, ``:<`` and ``:<=`` on time
fields; times without an offset are read in the shop's time zone. Free text,
``OR``, ``NOT`` and unknown fields are errors here, where Shopify would search
or warn, so a query relying on them fails loudly in tests.

Paging is forward only (``first``/``after``) with opaque keyset cursors that
encode the sort value and the id, so rows changing between pages neither repeat
nor vanish, as with Shopify's cursors.
"""

from __future__ import annotations

import base64
import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from graphql import GraphQLError

from plugin.sandbox.shopify_nodes import ShopRecord, StoredCheckout, parse_time

MAX_PAGE_SIZE = 250

_TERM = re.compile(
    r"""\s*(?:
        (?P<connective>AND|OR|NOT)\b
        | (?P<field>[a-z_]+):(?P<comparator>>=|<=|>|<)?
          (?P<value>'[^']*'|"[^"]*"|[^\s'"]+)
        | (?P<other>\S+)
    )\s*""",
    re.VERBOSE,
)
_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    ":": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_TIME_FIELDS = {"created_at", "updated_at", "processed_at"}

# --- search ---------------------------------------------------------------------

CHECKOUT_FILTERS: dict[str, Callable[[dict], Any]] = {
    "created_at": lambda payload: payload.get("created_at"),
    "updated_at": lambda payload: payload.get("updated_at"),
    "status": lambda payload: "closed" if payload.get("completed_at") else "open",
}
ORDER_FILTERS: dict[str, Callable[[dict], Any]] = {
    "created_at": lambda order: order.get("created_at"),
    "updated_at": lambda order: order.get("updated_at"),
    "processed_at": lambda order: order.get("processed_at"),
    "cart_token": lambda order: order.get("cart_token"),
    "checkout_token": lambda order: order.get("checkout_token"),
    "email": lambda order: order.get("email"),
    "financial_status": lambda order: order.get("financial_status"),
}


@dataclass
class SearchTerm:
    """One ``field:value`` condition, reading its field from a payload."""

    read: Callable[[dict], Any]
    comparator: str
    value: Any
    is_time: bool

    def accepts(self, record: dict[str, Any]) -> bool:
        raw = self.read(record)
        if raw is None:
            return False
        if self.is_time:
            return _COMPARATORS[self.comparator](parse_time(raw), self.value)
        return str(raw).lower() == self.value


def search_terms(
    query: str | None, filters: dict[str, Callable[[dict], Any]], shop: ShopRecord
) -> list[SearchTerm]:
    """Parse a connection's ``query`` argument; unsupported syntax is an error."""
    terms: list[SearchTerm] = []
    for match in _TERM.finditer(query or ""):
        unsupported = match["other"] or match["connective"] in ("OR", "NOT")
        if unsupported:
            token = match["other"] or match["connective"]
            raise GraphQLError(
                "The sandbox platform's search supports only field:value terms"
                f" joined by AND; got {token!r}."
            )
        if match["field"]:
            terms.append(_term(match, filters, shop))
    return terms


def matches(record: dict[str, Any], terms: list[SearchTerm]) -> bool:
    """Whether a payload satisfies every term."""
    return all(term.accepts(record) for term in terms)


def _term(
    match: re.Match[str], filters: dict[str, Callable[[dict], Any]], shop: ShopRecord
) -> SearchTerm:
    field_name = match["field"]
    if field_name not in filters:
        raise GraphQLError(
            f"The sandbox platform does not support the search filter"
            f" {field_name!r}; supported: {', '.join(sorted(filters))}."
        )

    comparator = match["comparator"] or ":"
    is_time = field_name in _TIME_FIELDS
    if comparator != ":" and not is_time:
        raise GraphQLError(f"Filter {field_name!r} only supports equality.")

    value = match["value"].strip("'\"")
    parsed = _search_time(value, shop) if is_time else value.lower()
    return SearchTerm(filters[field_name], comparator, parsed, is_time)


def _search_time(value: str, shop: ShopRecord) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"Invalid time {value!r} in search query.") from None
    # A date or a time without an offset is read in the shop's time zone.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(shop.timezone))
    return moment


# --- paging ---------------------------------------------------------------------


def checkout_sort_value(sort_key: str, checkout: StoredCheckout) -> Any:
    """A checkout's value for an ``AbandonedCheckoutSortKeys`` key."""
    payload = checkout.payload
    if sort_key in ("ID", "CHECKOUT_ID", "RELEVANCE"):
        return checkout.numeric_id
    if sort_key == "CREATED_AT":
        return parse_time(payload["created_at"])
    if sort_key == "TOTAL_PRICE":
        return Decimal(str(payload.get("total_price") or "0"))
    raise GraphQLError(f"The sandbox platform cannot sort checkouts by {sort_key}.")


def order_sort_value(sort_key: str, order: dict[str, Any]) -> Any:
    """An order's value for an ``OrderSortKeys`` key."""
    if sort_key in ("ID", "RELEVANCE"):
        return int(order["id"])
    if sort_key == "ORDER_NUMBER":
        return int(order.get("order_number") or order["id"])
    if sort_key in ("CREATED_AT", "UPDATED_AT", "PROCESSED_AT"):
        field_name = sort_key.lower()
        return parse_time(order.get(field_name) or order["created_at"])
    if sort_key == "TOTAL_PRICE":
        return Decimal(str(order.get("total_price") or "0"))
    raise GraphQLError(f"The sandbox platform cannot sort orders by {sort_key}.")


@dataclass
class Page:
    """One page of records, each with its cursor, ready to become a connection."""

    rows: list[tuple[Any, str]]
    has_next_page: bool
    has_previous_page: bool

    def connection(self, to_node: Callable[[Any, str], dict]) -> dict[str, Any]:
        nodes = [to_node(record, cursor) for record, cursor in self.rows]
        cursors = [cursor for _, cursor in self.rows]
        return {
            "nodes": nodes,
            "edges": [
                {"node": node, "cursor": cursor}
                for node, cursor in zip(nodes, cursors, strict=True)
            ],
            "pageInfo": {
                "hasNextPage": self.has_next_page,
                "hasPreviousPage": self.has_previous_page,
                "startCursor": cursors[0] if cursors else None,
                "endCursor": cursors[-1] if cursors else None,
            },
        }


def paginate(
    records: list[tuple[int, Any]],
    arguments: dict[str, Any],
    sort_value: Callable[[str, Any], Any] | None,
) -> Page:
    """One forward page of ``(numeric_id, record)`` rows in the requested order."""
    first = arguments.get("first")
    if first is None:
        raise GraphQLError("You must provide one of first or last.")
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(f"The first argument must be between 0 and {MAX_PAGE_SIZE}.")

    sort_key = arguments.get("sortKey") or "ID"
    reverse = bool(arguments.get("reverse"))
    keyed = sorted(
        (
            (sort_value(sort_key, record) if sort_value else numeric_id, numeric_id),
            record,
        )
        for numeric_id, record in records
    )
    if reverse:
        keyed.reverse()

    after = arguments.get("after")
    if after:
        position = _decode_cursor(after, sort_key)
        keyed = [
            row
            for row in keyed
            if (row[0] < position if reverse else row[0] > position)
        ]

    rows = [(record, _encode_cursor(sort_key, key)) for key, record in keyed[:first]]
    return Page(rows, len(keyed) > first, bool(after))


def _encode_cursor(sort_key: str, key: tuple[Any, int]) -> str:
    value, numeric_id = key
    if isinstance(value, datetime):
        plain = ["time", value.isoformat()]
    elif isinstance(value, Decimal):
        plain = ["decimal", str(value)]
    else:
        plain = ["int", int(value)]
    text = json.dumps([sort_key, *plain, numeric_id])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort_key: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key, kind, plain, numeric_id = json.loads(base64.urlsafe_b64decode(padded))
        readers = {"time": datetime.fromisoformat, "decimal": Decimal, "int": int}
        value = readers[kind](plain)
    except (ValueError, KeyError, TypeError):
        raise GraphQLError(f"Invalid cursor {cursor!r}.") from None
    if key != sort_key:
        raise GraphQLError("The cursor was made for a different sortKey.")
    return value, int(numeric_id)
