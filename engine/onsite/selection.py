"""Choosing at most one on-site message for a page view. Reads, never writes.

A shop's active rules are compiled and memoized per process for
``MEMO_SECONDS``; a page view then reads the database at most once more, for
the visitor's history with the messages that fit (views for the cap,
dismissals), and only when some message fits and the visitor is known.

Priority among messages that fit (the issue's order): the more specific URL
condition first (``is`` over ``wildcard``/``contains`` over ``not_contains``
over every page), then the higher visit number (a rule for the 3rd visit over
one for the 2nd, over one with no visit condition), then the newest message.
Delay and exit intent do not filter here: the widget applies them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import OperationalError

from engine.onsite.matching import (
    PageUrl,
    UrlCondition,
    VisitorFacts,
    excluded_page,
    fits_audience,
    fits_visit,
)
from engine.onsite.models import OnsiteImpression, OnsiteMessage
from engine.onsite.presentation import pick_texts, tag_link, widget_message
from engine.tracking import reads
from engine.tracking.footprint import footprint_of
from engine.tracking.memo import ExpiringMemo

logger = logging.getLogger(__name__)

MEMO_SECONDS = 5.0


@dataclass(frozen=True)
class CompiledRule:
    """An active message with its conditions ready to test."""

    id: int
    kind: str
    texts: dict[str, dict[str, str]]
    default_locale: str
    image_url: str | None
    link_url: str | None
    url: UrlCondition
    excluded: tuple[UrlCondition, ...]
    delay_seconds: int
    exit_intent: bool
    visit_number: int | None
    visit_mode: str
    cart_over: Decimal | None
    audience: str
    starts_at: datetime | None
    ends_at: datetime | None
    cap_per_visitor: int | None
    created_at: datetime

    @classmethod
    def of(cls, message: OnsiteMessage | Row) -> CompiledRule:
        campaign = message.slug or str(message.id)
        return cls(
            id=message.id,
            kind=message.kind,
            texts=message.texts,
            default_locale=message.default_locale,
            image_url=message.image_url,
            link_url=tag_link(message.link_url, campaign) if message.link_url else None,
            url=UrlCondition(message.url_match, message.url_value),
            excluded=tuple(excluded_page(page) for page in message.excluded_pages),
            delay_seconds=message.delay_seconds,
            exit_intent=message.exit_intent,
            visit_number=message.visit_number,
            visit_mode=message.visit_mode,
            cart_over=message.cart_over,
            audience=message.audience,
            starts_at=message.starts_at,
            ends_at=message.ends_at,
            cap_per_visitor=message.cap_per_visitor,
            created_at=message.created_at,
        )

    def fits(self, page: PageUrl, visitor: VisitorFacts, now: datetime) -> bool:
        """Schedule, page and visitor conditions (not the visitor's history)."""
        if self.starts_at is not None and now < self.starts_at:
            return False
        if self.ends_at is not None and now >= self.ends_at:
            return False
        if not self.url.matches(page):
            return False
        if any(excluded.matches(page) for excluded in self.excluded):
            return False
        if not fits_visit(self.visit_number, self.visit_mode, visitor.visit_count):
            return False
        if self.cart_over is not None and not visitor.cart_total > self.cart_over:
            return False
        return fits_audience(self.audience, visitor)

    def allowed_after(self, views: int, dismissed: bool) -> bool:
        """Closed means closed; the cap counts the times it was shown."""
        if dismissed:
            return False
        return self.cap_per_visitor is None or views < self.cap_per_visitor

    def priority(self) -> tuple[int, int, datetime, int]:
        """Sort key, highest first."""
        return (
            self.url.specificity,
            self.visit_number or 0,
            self.created_at,
            self.id,
        )

    def render(self, locale: str | None) -> dict[str, Any]:
        return widget_message(
            message_id=self.id,
            kind=self.kind,
            texts=pick_texts(self.texts, locale, self.default_locale),
            image_url=self.image_url,
            link_url=self.link_url,
            exit_intent=self.exit_intent,
            delay_seconds=self.delay_seconds,
        )


_rules: ExpiringMemo[int, tuple[CompiledRule, ...]] = ExpiringMemo(MEMO_SECONDS)


def message_for_page_view(
    shop_id: int,
    public_id: str | None,
    page_url: str,
    locale: str | None,
    now: datetime,
) -> tuple[VisitorFacts, dict[str, Any] | None]:
    """What the page endpoint answers: the visitor's facts and the message.

    ``public_id`` is None for a visitor whose token was just issued. With the
    database unreachable the page view still succeeds (it is already
    buffered), as a first visit with no message; a warning is logged.
    """
    try:
        footprint = footprint_of(shop_id, public_id) if public_id else None
        visitor = VisitorFacts.of(footprint, now)
        return visitor, choose_message(shop_id, visitor, page_url, locale, now)
    except OperationalError:
        logger.warning("onsite.page_view_read_failed", extra={"shop_id": shop_id})
        return VisitorFacts.of(None, now), None


def choose_message(
    shop_id: int,
    visitor: VisitorFacts,
    page_url: str,
    locale: str | None,
    now: datetime,
) -> dict[str, Any] | None:
    """The widget's ``message`` for this page view, or None."""
    rules = active_rules(shop_id)
    if not rules:
        return None

    page = PageUrl.parse(page_url)
    candidates = [rule for rule in rules if rule.fits(page, visitor, now)]
    if candidates and visitor.visitor_id is not None:
        history = _history(
            shop_id, visitor.visitor_id, [rule.id for rule in candidates]
        )
        candidates = [
            rule
            for rule in candidates
            if rule.allowed_after(*history.get(rule.id, (0, False)))
        ]
    if not candidates:
        return None
    return max(candidates, key=CompiledRule.priority).render(locale)


def active_rules(shop_id: int) -> tuple[CompiledRule, ...]:
    """The shop's active messages, compiled (memoized per process)."""
    return _rules.get(shop_id, lambda: _load_rules(shop_id))


def forget_rules(shop_id: int) -> None:
    """Drop this process's memo of a shop's rules (after a change)."""
    _rules.forget(shop_id)


def forget_all() -> None:
    """Drop every memo of this process (tests)."""
    _rules.clear()


_messages = OnsiteMessage.__table__
_impressions = OnsiteImpression.__table__
_ACTIVE_MESSAGES = select(_messages).where(
    _messages.c.shop_id == bindparam("shop_id"), _messages.c.active.is_(True)
)
_HISTORY = select(
    _impressions.c.message_id, _impressions.c.views, _impressions.c.dismissed_at
).where(
    _impressions.c.shop_id == bindparam("shop_id"),
    _impressions.c.visitor_id == bindparam("visitor_id"),
    _impressions.c.message_id.in_(bindparam("message_ids", expanding=True)),
)


def _load_rules(shop_id: int) -> tuple[CompiledRule, ...]:
    return tuple(
        CompiledRule.of(row) for row in reads.rows(_ACTIVE_MESSAGES, shop_id=shop_id)
    )


def _history(
    shop_id: int, visitor_id: int, message_ids: list[int]
) -> dict[int, tuple[int, bool]]:
    """(views, dismissed) per message, for this visitor."""
    found = reads.rows(
        _HISTORY, shop_id=shop_id, visitor_id=visitor_id, message_ids=message_ids
    )
    return {row.message_id: (row.views, row.dismissed_at is not None) for row in found}
