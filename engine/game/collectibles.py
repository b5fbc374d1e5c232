"""The collectible a page view offers: what the page endpoint adds to its answer.

Reads only, like the rest of the page endpoint: the shop's live campaigns
come from the per-process memo (``targets``), and only for a known visitor
on a target page is the database read once more, for the targets they
already collected and what they collected per campaign, so a page they are
done with offers nothing. With the database unreachable the page view
still succeeds, without a collectible.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError

from engine.game import clock
from engine.game.models import GameCollect, GameParticipant
from engine.game.targets import Match, PageFacts, live_campaigns, matches_for_page
from engine.game.tokens import issue_collect_token
from engine.tracking import reads
from engine.visitors.models import Visitor

logger = logging.getLogger(__name__)


def game_is_on(shop_id: int) -> bool:
    """Whether the shop runs a live campaign (the widget then offers the wallet)."""
    try:
        return bool(live_campaigns(shop_id, clock.now()))
    except OperationalError:
        logger.warning("game.campaigns_read_failed", extra={"shop_id": shop_id})
        return False


def collectible_for_page_view(
    secret_key: str,
    shop_id: int,
    public_id: str,
    known: bool,
    page: dict[str, Any],
    locale: str | None,
    event_id: str,
) -> dict[str, Any] | None:
    """The widget's ``collectible`` for this page view, or None.

    ``known`` is False for a visitor whose token was just issued: they have
    collected nothing yet. The token is stamped with the game's clock, the
    one the collect is judged by.
    """
    now = clock.now()
    try:
        matches = matches_for_page(shop_id, PageFacts.of(page), now)
        if matches and known:
            matches = _still_collectable(shop_id, public_id, matches)
    except OperationalError:
        logger.warning("game.page_view_read_failed", extra={"shop_id": shop_id})
        return None
    if not matches:
        return None

    campaign, target = matches[0].campaign, matches[0].target
    token = issue_collect_token(
        secret_key, shop_id, public_id, campaign.id, target.id, event_id, now
    )
    return {
        "token": token,
        "campaign_id": campaign.id,
        "amount": str(target.reward),
        "currency": campaign.currency,
        "wait_seconds": campaign.min_seconds,
        "look": {
            "icon": campaign.look["icon"],
            "color": campaign.look["color"],
            "label": _label(campaign.look.get("texts") or {}, locale),
        },
    }


def _still_collectable(
    shop_id: int, public_id: str, matches: list[Match]
) -> list[Match]:
    target_ids = [match.target.id for match in matches]
    campaign_ids = list({match.campaign.id for match in matches})
    done = {
        row.target_id
        for row in reads.rows(
            _COLLECTED, shop_id=shop_id, public_id=public_id, target_ids=target_ids
        )
    }
    collected = {
        row.campaign_id: row.collected
        for row in reads.rows(
            _PARTICIPATION,
            shop_id=shop_id,
            public_id=public_id,
            campaign_ids=campaign_ids,
        )
    }
    return [
        match
        for match in matches
        if match.target.id not in done
        and collected.get(match.campaign.id, Decimal(0)) + match.target.reward
        <= match.campaign.cap_per_visitor
    ]


def _label(texts: dict[str, str], locale: str | None) -> str | None:
    if not texts or not locale:
        return None
    lowered = {key.lower(): value for key, value in texts.items()}
    wanted = locale.lower()
    return lowered.get(wanted) or lowered.get(wanted.split("-", 1)[0])


_VISITOR = (Visitor.shop_id == bindparam("shop_id")) & (
    Visitor.public_id == bindparam("public_id")
)
_COLLECTED = (
    select(GameCollect.target_id)
    .join(Visitor, Visitor.id == GameCollect.visitor_id)
    .where(
        _VISITOR,
        GameCollect.shop_id == bindparam("shop_id"),
        GameCollect.target_id.in_(bindparam("target_ids", expanding=True)),
    )
)
_PARTICIPATION = (
    select(GameParticipant.campaign_id, GameParticipant.collected)
    .join(Visitor, Visitor.id == GameParticipant.visitor_id)
    .where(
        _VISITOR,
        GameParticipant.shop_id == bindparam("shop_id"),
        GameParticipant.campaign_id.in_(bindparam("campaign_ids", expanding=True)),
    )
)
