"""Which live campaign rewards this page? Compiled once, memoized per process.

A shop's campaigns that can be live (not paused, not ended, budget left)
are read with their targets through the widget's read pool and kept for
``MEMO_SECONDS``, like the on-site rules: every storefront page view asks,
and most pages of most shops match nothing.

Matching: a ``url`` target compares like an on-site message's URL rule (see
``engine.onsite.matching``): with ``*`` a wildcard pattern, without one the
exact page (a path, or a full address); a ``product`` target matches the
product page by id or handle, wherever it is linked from; a ``collection``
target matches the collection's own page (``/collections/<handle>``, under
any locale prefix), not the products listed on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select

from engine.game.models import COLLECTION, PRODUCT, URL, GameCampaign, GameTarget
from engine.onsite.matching import PageUrl, UrlCondition
from engine.tracking import reads
from engine.tracking.memo import ExpiringMemo

MEMO_SECONDS = 5.0
COLLECTION_PATH = re.compile(r"(?:^|/)collections/([^/]+)$")


@dataclass(frozen=True)
class PageFacts:
    """What the page endpoint knows of the page being viewed."""

    url: PageUrl
    product_id: str | None
    product_handle: str | None

    @classmethod
    def of(cls, page: dict[str, Any]) -> PageFacts:
        return cls(
            url=PageUrl.parse(page["url"]),
            product_id=page.get("product_id"),
            product_handle=(page.get("product_handle") or "").lower() or None,
        )

    @property
    def collection_handle(self) -> str | None:
        found = COLLECTION_PATH.search(self.url.path)
        return found.group(1) if found else None


@dataclass(frozen=True)
class CompiledTarget:
    id: int
    kind: str
    value: str
    reward: Decimal
    url: UrlCondition | None

    @classmethod
    def of(cls, row: Any) -> CompiledTarget:
        url = None
        if row.kind == URL:
            url = UrlCondition("wildcard" if "*" in row.value else "is", row.value)
        return cls(row.target_id, row.kind, row.value, row.reward, url)

    def matches(self, page: PageFacts) -> bool:
        if self.kind == PRODUCT:
            return self.value in (page.product_id, page.product_handle)
        if self.kind == COLLECTION:
            return self.value == page.collection_handle
        return self.url is not None and self.url.matches(page.url)


@dataclass(frozen=True)
class CompiledCampaign:
    id: int
    starts_at: datetime
    ends_at: datetime | None
    min_seconds: int
    cap_per_visitor: Decimal
    currency: str
    look: dict[str, Any]
    created_at: datetime
    targets: tuple[CompiledTarget, ...]

    def is_live(self, now: datetime) -> bool:
        if now < self.starts_at:
            return False
        return self.ends_at is None or now < self.ends_at


@dataclass(frozen=True)
class Match:
    """A live campaign's target that fits the page."""

    campaign: CompiledCampaign
    target: CompiledTarget


_campaigns: ExpiringMemo[int, tuple[CompiledCampaign, ...]] = ExpiringMemo(MEMO_SECONDS)


def live_campaigns(shop_id: int, now: datetime) -> list[CompiledCampaign]:
    """The shop's campaigns live at ``now`` (memoized per process)."""
    compiled = _campaigns.get(shop_id, lambda: _load(shop_id))
    return [campaign for campaign in compiled if campaign.is_live(now)]


def matches_for_page(shop_id: int, page: PageFacts, now: datetime) -> list[Match]:
    """Live targets that fit the page: the biggest reward first, then newest."""
    found = [
        Match(campaign, target)
        for campaign in live_campaigns(shop_id, now)
        for target in campaign.targets
        if target.matches(page)
    ]
    return sorted(
        found,
        key=lambda match: (match.target.reward, match.campaign.created_at),
        reverse=True,
    )


def forget_campaigns(shop_id: int) -> None:
    """Drop this process's memo of a shop's campaigns (after a change)."""
    _campaigns.forget(shop_id)


def forget_all() -> None:
    """Drop every memo of this process (tests)."""
    _campaigns.clear()


_LIVE_TARGETS = (
    select(
        GameCampaign.id.label("campaign_id"),
        GameCampaign.starts_at,
        GameCampaign.ends_at,
        GameCampaign.min_seconds,
        GameCampaign.cap_per_visitor,
        GameCampaign.currency,
        GameCampaign.look,
        GameCampaign.created_at,
        GameTarget.id.label("target_id"),
        GameTarget.kind,
        GameTarget.value,
        GameTarget.reward,
    )
    .join(GameTarget, GameTarget.campaign_id == GameCampaign.id)
    .where(
        GameCampaign.shop_id == bindparam("shop_id"),
        GameCampaign.paused.is_(False),
        GameCampaign.spent < GameCampaign.budget,
        GameTarget.removed_at.is_(None),
    )
    .order_by(GameCampaign.id, GameTarget.id)
)


def _load(shop_id: int) -> tuple[CompiledCampaign, ...]:
    rows = reads.rows(_LIVE_TARGETS, shop_id=shop_id)
    by_campaign: dict[int, list[Any]] = {}
    for row in rows:
        by_campaign.setdefault(row.campaign_id, []).append(row)
    return tuple(
        CompiledCampaign(
            id=campaign_id,
            starts_at=first.starts_at,
            ends_at=first.ends_at,
            min_seconds=first.min_seconds,
            cap_per_visitor=first.cap_per_visitor,
            currency=first.currency,
            look=first.look,
            created_at=first.created_at,
            targets=tuple(CompiledTarget.of(row) for row in targets),
        )
        for campaign_id, targets in by_campaign.items()
        for first in targets[:1]
    )
