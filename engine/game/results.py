"""What each campaign did for the shop, and the ledger as CSV.

``campaign_results`` gives lifetime figures per campaign: visitors shown a
collectible, collectors and what they collected, what expired, redemptions
issued and used (each campaign counted with its part of the redeemed
amount), orders credited to it and their revenue, the collectors'
conversion rate (collectors whose wallet paid for an order with a bonus,
over collectors; a person's folded wallets count once) and the cost against
revenue, where cost is what the shop gave away: codes used plus store
credit issued (the platform's store credit is owed once granted).

``ledger_csv`` streams every ledger entry of the shop, or of one campaign,
with each wallet's balance after the entry, so any balance can be traced
entry by entry.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import distinct, func, select

from engine.db import db
from engine.game.models import (
    COLLECTED,
    DISCOUNT_CODE,
    EXPIRED,
    REDEEMED,
    STORE_CREDIT,
    USED,
    GameAttribution,
    GameCampaign,
    GameCollect,
    GameLedgerEntry,
    GameParticipant,
    GameRedemption,
    GameWallet,
)
from engine.shops.models import Shop

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CampaignResults:
    campaign_id: int
    name: str
    currency: str
    shown_to: int
    collectors: int
    collects: int
    collected: Decimal
    expired: Decimal
    codes_issued: int
    credits_issued: int
    issued_amount: Decimal
    codes_used: int
    credits_used: int
    used_amount: Decimal
    orders: int
    revenue: Decimal
    conversion_rate: float | None
    cost: Decimal
    cost_to_revenue: float | None


def campaign_results(shop: Shop) -> list[CampaignResults]:
    """Figures for each of the shop's campaigns, newest campaign first."""
    campaigns = list(
        db.session.scalars(
            select(GameCampaign)
            .where(GameCampaign.shop_id == shop.id)
            .order_by(GameCampaign.created_at.desc(), GameCampaign.id.desc())
        )
    )
    shown = _count_by_campaign(
        select(GameParticipant.campaign_id, func.count())
        .where(GameParticipant.shop_id == shop.id, GameParticipant.seen_at.is_not(None))
        .group_by(GameParticipant.campaign_id)
    )
    collects = _collects(shop)
    expired = _entry_sums(shop, EXPIRED)
    redeemed = _redeemed_parts(shop)
    orders = _orders(shop)
    converted = _conversion(shop)

    return [
        _results(
            campaign,
            shown.get(campaign.id, 0),
            collects.get(campaign.id, (0, 0, ZERO)),
            -expired.get(campaign.id, ZERO),
            redeemed.get(campaign.id, {}),
            orders.get(campaign.id, (0, ZERO)),
            converted.get(campaign.id, (0, 0)),
        )
        for campaign in campaigns
    ]


def ledger_csv(shop: Shop, campaign_id: int | None = None) -> Iterator[str]:
    """The shop's ledger (or one campaign's entries) as CSV, one line at a time."""
    entry = GameLedgerEntry
    balance_after = func.sum(entry.amount).over(
        partition_by=entry.wallet_id, order_by=entry.id
    )
    inner = (
        select(entry, balance_after.label("balance_after"))
        .where(entry.shop_id == shop.id)
        .subquery()
    )
    query = (
        select(
            inner,
            GameWallet.owner_key,
            GameCampaign.name.label("campaign"),
            GameRedemption.method,
            GameRedemption.code,
            GameCollect.page_event_id,
        )
        .join(GameWallet, GameWallet.id == inner.c.wallet_id)
        .outerjoin(GameCampaign, GameCampaign.id == inner.c.campaign_id)
        .outerjoin(GameRedemption, GameRedemption.id == inner.c.redemption_id)
        .outerjoin(GameCollect, GameCollect.id == inner.c.collect_id)
        .order_by(inner.c.id)
    )
    if campaign_id is not None:
        query = query.where(inner.c.campaign_id == campaign_id)

    yield _csv_line(LEDGER_COLUMNS)
    for row in db.session.execute(query).yield_per(1000):
        yield _csv_line(
            [
                row.id,
                row.created_at.isoformat(),
                row.wallet_id,
                row.owner_key,
                row.kind,
                row.amount,
                row.currency,
                row.balance_after,
                row.campaign_id,
                row.campaign,
                row.lot_id,
                row.expires_at.isoformat() if row.expires_at else None,
                row.redemption_id,
                row.method,
                row.code,
                row.collect_id,
                row.page_event_id,
            ]
        )


LEDGER_COLUMNS = [
    "entry_id",
    "created_at",
    "wallet_id",
    "owner",
    "kind",
    "amount",
    "currency",
    "balance_after",
    "campaign_id",
    "campaign",
    "lot_id",
    "expires_at",
    "redemption_id",
    "redemption_method",
    "code",
    "collect_id",
    "page_event_id",
]


def _results(
    campaign: GameCampaign,
    shown: int,
    collects: tuple[int, int, Decimal],
    expired: Decimal,
    redeemed: dict[str, Decimal | int],
    orders: tuple[int, Decimal],
    converted: tuple[int, int],
) -> CampaignResults:
    collectors, count, collected = collects
    order_count, revenue = orders
    buyers, collector_wallets = converted
    cost = redeemed.get("codes_used_amount", ZERO) + redeemed.get(
        "credits_issued_amount", ZERO
    )
    return CampaignResults(
        campaign_id=campaign.id,
        name=campaign.name,
        currency=campaign.currency,
        shown_to=shown,
        collectors=collectors,
        collects=count,
        collected=collected,
        expired=expired,
        codes_issued=redeemed.get("codes_issued", 0),
        credits_issued=redeemed.get("credits_issued", 0),
        issued_amount=redeemed.get("issued_amount", ZERO),
        codes_used=redeemed.get("codes_used", 0),
        credits_used=redeemed.get("credits_used", 0),
        used_amount=redeemed.get("used_amount", ZERO),
        orders=order_count,
        revenue=revenue,
        conversion_rate=buyers / collector_wallets if collector_wallets else None,
        cost=cost,
        cost_to_revenue=float(cost / revenue) if revenue else None,
    )


def _count_by_campaign(query) -> dict[int, int]:  # noqa: ANN001 - a Select
    return {campaign_id: count for campaign_id, count in db.session.execute(query)}


def _collects(shop: Shop) -> dict[int, tuple[int, int, Decimal]]:
    rows = db.session.execute(
        select(
            GameCollect.campaign_id,
            func.count(distinct(GameCollect.visitor_id)),
            func.count(),
            func.sum(GameCollect.amount),
        )
        .where(GameCollect.shop_id == shop.id)
        .group_by(GameCollect.campaign_id)
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def _entry_sums(shop: Shop, kind: str) -> dict[int, Decimal]:
    rows = db.session.execute(
        select(GameLedgerEntry.campaign_id, func.sum(GameLedgerEntry.amount))
        .where(GameLedgerEntry.shop_id == shop.id, GameLedgerEntry.kind == kind)
        .group_by(GameLedgerEntry.campaign_id)
    )
    return {campaign_id: total for campaign_id, total in rows}


def _redeemed_parts(shop: Shop) -> dict[int, dict[str, Decimal | int]]:
    """Per campaign: redemptions issued and used, by method, with amounts."""
    rows = db.session.execute(
        select(
            GameLedgerEntry.campaign_id,
            GameRedemption.id,
            GameRedemption.method,
            GameRedemption.status,
            func.sum(GameLedgerEntry.amount),
        )
        .join(GameRedemption, GameRedemption.id == GameLedgerEntry.redemption_id)
        .where(
            GameLedgerEntry.shop_id == shop.id,
            GameLedgerEntry.kind == REDEEMED,
            GameRedemption.issued_at.is_not(None),
        )
        .group_by(
            GameLedgerEntry.campaign_id,
            GameRedemption.id,
            GameRedemption.method,
            GameRedemption.status,
        )
    )
    figures: dict[int, dict[str, Decimal | int]] = defaultdict(dict)
    for campaign_id, _redemption_id, method, status, total in rows:
        part = -total
        kind = "codes" if method == DISCOUNT_CODE else "credits"
        _add(figures[campaign_id], f"{kind}_issued", 1)
        _add(figures[campaign_id], "issued_amount", part)
        if method == STORE_CREDIT:
            _add(figures[campaign_id], "credits_issued_amount", part)
        if status == USED:
            _add(figures[campaign_id], f"{kind}_used", 1)
            _add(figures[campaign_id], "used_amount", part)
            if method == DISCOUNT_CODE:
                _add(figures[campaign_id], "codes_used_amount", part)
    return figures


def _add(figures: dict[str, Decimal | int], name: str, value: Decimal | int) -> None:
    figures[name] = figures.get(name, 0) + value


def _orders(shop: Shop) -> dict[int, tuple[int, Decimal]]:
    rows = db.session.execute(
        select(
            GameAttribution.campaign_id,
            func.count(distinct(GameAttribution.order_id)),
            func.sum(GameAttribution.revenue),
        )
        .where(GameAttribution.shop_id == shop.id)
        .group_by(GameAttribution.campaign_id)
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def _conversion(shop: Shop) -> dict[int, tuple[int, int]]:
    """Per campaign: (collectors who bought, collectors), counting people."""
    final = _final_wallets(shop)
    collectors: dict[int, set[int]] = defaultdict(set)
    for campaign_id, wallet_id in db.session.execute(
        select(GameLedgerEntry.campaign_id, GameLedgerEntry.wallet_id)
        .where(GameLedgerEntry.shop_id == shop.id, GameLedgerEntry.kind == COLLECTED)
        .distinct()
    ):
        collectors[campaign_id].add(final.get(wallet_id, wallet_id))
    buyers: dict[int, set[int]] = defaultdict(set)
    for campaign_id, wallet_id in db.session.execute(
        select(GameAttribution.campaign_id, GameAttribution.wallet_id)
        .where(GameAttribution.shop_id == shop.id)
        .distinct()
    ):
        buyers[campaign_id].add(final.get(wallet_id, wallet_id))
    return {
        campaign_id: (len(buyers[campaign_id] & people), len(people))
        for campaign_id, people in collectors.items()
    }


def _final_wallets(shop: Shop) -> dict[int, int]:
    """Each folded wallet mapped to the wallet its money went to in the end."""
    merged = dict(
        db.session.execute(
            select(GameWallet.id, GameWallet.merged_into_id).where(
                GameWallet.shop_id == shop.id, GameWallet.merged_into_id.is_not(None)
            )
        ).all()
    )
    final = {}
    for wallet_id in merged:
        target, seen = wallet_id, set()
        while target in merged and target not in seen:
            seen.add(target)
            target = merged[target]
        final[wallet_id] = target
    return final


def _csv_line(values: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if value is None else value for value in values])
    return buffer.getvalue()
