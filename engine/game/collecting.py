"""Collecting a reward: every rule checked, and at most one credit, under any load.

A collect is credited only if the token verifies for this shop and visitor,
the campaign is this shop's and live, the target is still on, the server's
clock shows the page view at least ``min_seconds`` old, the token was not
used, this visitor never collected this page, and the per-visitor cap and
the budget allow the amount. The last four hold under concurrency (double
taps, two tabs, a script firing a hundred requests) because the database
decides them inside one transaction:

1. the collect row: unique per token nonce and per (target, visitor), so
   every request after the first finds a conflict, waiting for the first to
   commit or roll back if need be;
2. the visitor's participant row: ``collected = collected + amount`` only
   ``WHERE collected + amount <= cap``;
3. the wallet: locked, the lot and the balance written;
4. the campaign: ``spent = spent + amount`` only ``WHERE spent + amount <=
   budget`` and the campaign is live, with a CHECK constraint behind it.

Any refusal rolls the whole transaction back. The campaign row is the
campaign's one point of contention, so it is touched last, just before the
commit.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, exists, func, or_, select, update

from engine.db import db, insert_for
from engine.game.errors import CollectRefused
from engine.game.models import (
    COLLECTED,
    GameCampaign,
    GameCollect,
    GameParticipant,
    GameTarget,
)
from engine.game.tokens import MAX_AGE, CollectTicket, read_collect_token
from engine.game.wallets import lock_wallet, post
from engine.visitors.models import Visitor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Collected:
    amount: Decimal
    currency: str
    balance: Decimal
    expires_at: datetime


def collect(
    secret_key: str, shop_id: int, public_id: str, token: str, now: datetime
) -> Collected:
    """Credit the reward a collect token stands for, or refuse (nothing changes).

    Raises:
        InvalidCollectToken: the token was not issued to this visitor here.
        CollectRefused: a rule says no; ``code`` says which.
    """
    ticket = read_collect_token(secret_key, shop_id, public_id, token)
    campaign, target = _campaign_and_target(shop_id, ticket, now)
    _check_time(campaign, ticket, now)

    try:
        collected = _credit(campaign, target, ticket, now)
    except CollectRefused:
        db.session.rollback()
        raise
    db.session.commit()
    logger.info(
        "game.collected",
        extra={
            "shop_id": shop_id,
            "campaign_id": campaign.id,
            "target_id": target.id,
        },
    )
    return collected


def note_seen(
    secret_key: str, shop_id: int, public_id: str, token: str, now: datetime
) -> None:
    """Record that the visitor was shown a collectible (once per campaign).

    Raises:
        InvalidCollectToken: the token was not issued to this visitor here.
    """
    ticket = read_collect_token(secret_key, shop_id, public_id, token)
    campaign = db.session.scalar(
        select(GameCampaign.id).where(
            GameCampaign.shop_id == shop_id, GameCampaign.id == ticket.campaign_id
        )
    )
    if campaign is None:
        return
    visitor_id, _ = ensure_visitor(shop_id, public_id, now)
    _participant_row(shop_id, ticket.campaign_id, visitor_id, now)
    db.session.execute(
        update(GameParticipant)
        .where(
            GameParticipant.campaign_id == ticket.campaign_id,
            GameParticipant.visitor_id == visitor_id,
            GameParticipant.seen_at.is_(None),
        )
        .values(seen_at=now)
    )
    db.session.commit()


def ensure_visitor(
    shop_id: int, public_id: str, now: datetime
) -> tuple[int, str | None]:
    """The visitor's id and customer id, creating the row if the drain has not.

    A collect can come before the page view that issued its token has been
    drained; the row the drain creates later is this one.
    """
    db.session.execute(
        insert_for(Visitor)
        .values(
            shop_id=shop_id,
            public_id=public_id,
            created_at=now,
            last_seen_at=now,
            page_views=0,
            visit_count=0,
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "public_id"])
    )
    row = db.session.execute(
        select(Visitor.id, Visitor.customer_id).where(
            Visitor.shop_id == shop_id, Visitor.public_id == public_id
        )
    ).one()
    return row.id, row.customer_id


def _campaign_and_target(
    shop_id: int, ticket: CollectTicket, now: datetime
) -> tuple[GameCampaign, GameTarget]:
    if now - ticket.viewed_at > MAX_AGE:
        raise CollectRefused(
            "token_expired",
            "This collectible was shown too long ago; view the page again.",
        )
    campaign = db.session.scalar(
        select(GameCampaign).where(
            GameCampaign.shop_id == shop_id, GameCampaign.id == ticket.campaign_id
        )
    )
    if campaign is None:
        raise CollectRefused(
            "campaign_not_found",
            f"This shop has no bonus campaign {ticket.campaign_id!r}.",
        )
    if not campaign.is_live(now):
        raise _not_live(campaign)
    target = db.session.scalar(
        select(GameTarget).where(
            GameTarget.shop_id == shop_id,
            GameTarget.campaign_id == campaign.id,
            GameTarget.id == ticket.target_id,
            GameTarget.removed_at.is_(None),
        )
    )
    if target is None:
        raise CollectRefused("target_removed", "This page no longer carries a reward.")
    return campaign, target


def _check_time(campaign: GameCampaign, ticket: CollectTicket, now: datetime) -> None:
    waited = now - ticket.viewed_at
    needed = timedelta(seconds=campaign.min_seconds)
    if waited < needed:
        left = math.ceil((needed - waited).total_seconds())
        raise CollectRefused(
            "too_soon",
            f"The page was viewed {int(waited.total_seconds())} s ago; the reward"
            f" can be collected after {campaign.min_seconds} s.",
            retry_after=max(left, 1),
        )


def _credit(
    campaign: GameCampaign, target: GameTarget, ticket: CollectTicket, now: datetime
) -> Collected:
    shop_id, amount = campaign.shop_id, target.reward
    visitor_id, customer_id = ensure_visitor(shop_id, ticket.public_id, now)

    collect_id = _insert_collect(campaign, target, ticket, visitor_id, amount, now)
    _add_to_participant(campaign, visitor_id, amount, now)

    wallet = lock_wallet(shop_id, visitor_id, customer_id, campaign.currency, now)
    expires_at = now + timedelta(days=campaign.credit_expiry_days)
    post(
        wallet,
        COLLECTED,
        amount,
        now=now,
        campaign_id=campaign.id,
        expires_at=expires_at,
        collect_id=collect_id,
    )

    _spend_budget(campaign, amount, now)
    return Collected(amount, campaign.currency, wallet.balance, expires_at)


def _insert_collect(
    campaign: GameCampaign,
    target: GameTarget,
    ticket: CollectTicket,
    visitor_id: int,
    amount: Decimal,
    now: datetime,
) -> int:
    inserted = db.session.scalar(
        insert_for(GameCollect)
        .values(
            shop_id=campaign.shop_id,
            campaign_id=campaign.id,
            target_id=target.id,
            visitor_id=visitor_id,
            amount=amount,
            token_nonce=ticket.nonce,
            page_event_id=ticket.page_event_id,
            page_viewed_at=ticket.viewed_at,
            collected_at=now,
        )
        .on_conflict_do_nothing()
        .returning(GameCollect.id)
    )
    if inserted is not None:
        return inserted

    used = db.session.scalar(
        select(
            exists().where(
                GameCollect.shop_id == campaign.shop_id,
                GameCollect.token_nonce == ticket.nonce,
            )
        )
    )
    if used:
        raise CollectRefused("token_used", "This collect token was already used.")
    raise CollectRefused(
        "already_collected", "This visitor already collected this page's reward."
    )


def _participant_row(
    shop_id: int, campaign_id: int, visitor_id: int, now: datetime
) -> None:
    db.session.execute(
        insert_for(GameParticipant)
        .values(
            shop_id=shop_id,
            campaign_id=campaign_id,
            visitor_id=visitor_id,
            collected=Decimal(0),
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["campaign_id", "visitor_id"])
    )


def _add_to_participant(
    campaign: GameCampaign, visitor_id: int, amount: Decimal, now: datetime
) -> None:
    _participant_row(campaign.shop_id, campaign.id, visitor_id, now)
    updated = db.session.execute(
        update(GameParticipant)
        .where(
            GameParticipant.campaign_id == campaign.id,
            GameParticipant.visitor_id == visitor_id,
            GameParticipant.collected + amount <= campaign.cap_per_visitor,
        )
        .values(
            collected=GameParticipant.collected + amount,
            seen_at=func.coalesce(GameParticipant.seen_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount == 0:
        raise CollectRefused(
            "cap_reached",
            f"This visitor already collected the most this campaign allows"
            f" ({campaign.cap_per_visitor} {campaign.currency}).",
        )


def _spend_budget(campaign: GameCampaign, amount: Decimal, now: datetime) -> None:
    live = and_(
        GameCampaign.paused.is_(False),
        GameCampaign.starts_at <= now,
        or_(GameCampaign.ends_at.is_(None), GameCampaign.ends_at > now),
    )
    updated = db.session.execute(
        update(GameCampaign)
        .where(
            GameCampaign.shop_id == campaign.shop_id,
            GameCampaign.id == campaign.id,
            GameCampaign.spent + amount <= GameCampaign.budget,
            live,
        )
        .values(spent=GameCampaign.spent + amount)
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount == 1:
        return

    db.session.expire(campaign)
    if not campaign.is_live(now):
        raise _not_live(campaign)
    raise CollectRefused(
        "budget_spent", f"The campaign {campaign.name!r} has given out its budget."
    )


def _not_live(campaign: GameCampaign) -> CollectRefused:
    return CollectRefused(
        "campaign_not_live", f"The campaign {campaign.name!r} is not running."
    )
