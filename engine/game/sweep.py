"""The game's periodic sweep: expiry, codes given back, redemptions picked up.

Run every minute from ``engine.periodic``. Each step works in batches, one
transaction per wallet or redemption, so a failure stops one item only:

- an issued code still unused ``RELEASE_GRACE`` after it expired gives its
  amount back: the grace outlasts the platform's webhook retries (8 over
  4 hours, CONTRACTS.md A2), so an order placed in time is not missed;
- lots past their expiry are written off (wallets also settle whenever
  they are used, so this is for wallets nobody opens);
- a pending redemption whose job was lost (Redis restarted) is queued again;
  one whose attempt died with its worker is retried if it is a code, and
  marked unconfirmed if it is store credit (it may have gone through);
- unconfirmed store credit is looked up in the customer's account.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from engine.db import db
from engine.game import clock
from engine.game.models import (
    DISCOUNT_CODE,
    ISSUED,
    LOT_KINDS,
    PENDING,
    RELEASED_STATE,
    STORE_CREDIT,
    UNCONFIRMED,
    GameLedgerEntry,
    GameRedemption,
    GameWallet,
)
from engine.game.redeeming import (
    CONFIRM_AFTER,
    LEASE,
    confirm_store_credit,
    give_back,
    issue_redemption,
    locked_redemption,
)
from engine.game.wallets import settle_expiry
from engine.jobs import PendingJob, send

logger = logging.getLogger(__name__)

BATCH = 500
RELEASE_GRACE = timedelta(hours=6)
# A job queued this long ago and not started was lost.
LOST_AFTER = timedelta(minutes=2)


def sweep_game() -> dict[str, int]:
    """One pass of every step; returns how many items each touched."""
    now = clock.now()
    # Codes first: what they give back may itself be past its expiry.
    done = {
        "codes_released": _release_expired_codes(now),
        "wallets_expired": _expire_lots(now),
        "redemptions_requeued": _requeue_lost(now),
        "credits_checked": _check_unconfirmed(now),
    }
    if any(done.values()):
        logger.info("game.swept", extra=done)
    return done


def _expire_lots(now: datetime) -> int:
    wallet_ids = list(
        db.session.scalars(
            select(GameLedgerEntry.wallet_id)
            .join(GameWallet, GameWallet.id == GameLedgerEntry.wallet_id)
            .where(
                GameLedgerEntry.kind.in_(LOT_KINDS),
                GameLedgerEntry.expires_at <= now,
                GameWallet.balance > 0,
            )
            .distinct()
            .limit(BATCH)
        )
    )
    db.session.rollback()
    touched = 0
    for wallet_id in wallet_ids:
        wallet = db.session.scalar(
            select(GameWallet).where(GameWallet.id == wallet_id).with_for_update()
        )
        if wallet is not None and settle_expiry(wallet, now):
            touched += 1
        db.session.commit()
    return touched


def _release_expired_codes(now: datetime) -> int:
    due = _redemption_ids(
        GameRedemption.status == ISSUED,
        GameRedemption.method == DISCOUNT_CODE,
        GameRedemption.expires_at < now - RELEASE_GRACE,
    )
    released = 0
    for redemption_id in due:
        redemption = locked_redemption(redemption_id)
        if redemption is not None:
            outcome = give_back(redemption, RELEASED_STATE, "The code expired unused.")
            released += outcome == RELEASED_STATE
        db.session.commit()
    return released


def _requeue_lost(now: datetime) -> int:
    never_started = _redemption_ids(
        GameRedemption.status == PENDING,
        GameRedemption.attempted_at.is_(None),
        GameRedemption.requested_at < now - LOST_AFTER,
    )
    for redemption_id in never_started:
        _queue_issue(redemption_id)

    died = _redemption_ids(
        GameRedemption.status == PENDING,
        GameRedemption.attempted_at < now - LEASE,
    )
    for redemption_id in died:
        redemption = locked_redemption(redemption_id)
        if redemption is not None and redemption.method == STORE_CREDIT:
            redemption.status = UNCONFIRMED
            redemption.error = "The attempt stopped without an answer."
        db.session.commit()
        if redemption is not None and redemption.method == DISCOUNT_CODE:
            _queue_issue(redemption_id)
    return len(never_started) + len(died)


def _check_unconfirmed(now: datetime) -> int:
    due = _redemption_ids(
        GameRedemption.status == UNCONFIRMED,
        GameRedemption.attempted_at < now - CONFIRM_AFTER,
    )
    for redemption_id in due:
        send(
            PendingJob(
                confirm_store_credit,
                (redemption_id,),
                job_id=f"game-confirm-{redemption_id}",
                options={"result_ttl": 0, "retry": None, "unique": True},
            )
        )
    return len(due)


def _queue_issue(redemption_id: int) -> None:
    send(
        PendingJob(
            issue_redemption,
            (redemption_id,),
            job_id=f"game-redemption-{redemption_id}",
            options={"result_ttl": 0, "unique": True},
        )
    )


def _redemption_ids(*conditions: object) -> list[int]:
    ids = list(
        db.session.scalars(
            select(GameRedemption.id)
            .where(*conditions)
            .order_by(GameRedemption.id)
            .limit(BATCH)
        )
    )
    db.session.rollback()
    return ids
