"""Redeeming a wallet: its balance becomes store credit or a single-use code.

The request holds the whole live balance at once (a ``redeemed`` entry per
lot) and queues ``issue_redemption``; the widget polls the wallet until the
redemption is issued. A known customer gets the store's native store credit,
expiring with the latest-expiring lot redeemed, where the merchant granted
the scope and the store takes it; everyone else (or where the store turns
store credit down) gets a single-use amount-off code with the same expiry,
restricted to the customer where one is known.

Whatever the platform refuses gives the amount back (``released`` entries
for the same lots), so a failure leaves the balance as it was. An issued code
still holds its amount until it is used (an order names it) or given back
when it expires unused or its order is cancelled (``give_back``, called by
``attribution`` and ``sweep``).

Sending twice: a code is safe to send again (codes are unique per shop, see
``engine.shopify.rewards``); store credit is not, so a store-credit call is
made once per claim, and one whose answer was lost leaves the redemption
``unconfirmed``, held, until ``confirm_store_credit`` finds the
transaction in the customer's account (issued) or does not (given back).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select, update

from engine.db import db
from engine.game import clock
from engine.game.errors import RedeemRefused
from engine.game.models import (
    DISCOUNT_CODE,
    FAILED,
    ISSUED,
    OPEN_STATES,
    PENDING,
    REDEEMED,
    RELEASED,
    STORE_CREDIT,
    UNCONFIRMED,
    USED,
    GameLedgerEntry,
    GameRedemption,
    GameWallet,
)
from engine.game.wallets import (
    Lot,
    existing_wallet,
    forward_if_merged,
    live_lots,
    post,
    settle_expiry,
)
from engine.jobs import enqueue_after_commit
from engine.shopify.errors import (
    AccessRevokedError,
    AdminApiError,
    OutcomeUnknownError,
    PlatformError,
)
from engine.shopify.rewards import (
    RewardRefused,
    StoreCreditUnavailable,
    can_grant_store_credit,
    create_discount_code,
    credit_store_credit,
    find_store_credit,
)
from engine.shops.models import Shop
from engine.visitors.models import Visitor

logger = logging.getLogger(__name__)

# Unambiguous when read aloud or typed: no 0/O, 1/I.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_PREFIX = "BONUS-"
CODE_LENGTH = 10
# The first attempt and the three retries of engine.jobs.DEFAULT_RETRY.
MAX_ATTEMPTS = 4
# An attempt still marked as running after this long died with its worker.
LEASE = timedelta(minutes=5)
# How long after a lost store-credit answer to look at the account, so the
# call, if it went through, shows in the account's transactions.
CONFIRM_AFTER = timedelta(minutes=2)


def request_redemption(shop: Shop, public_id: str) -> GameRedemption:
    """Hold the visitor's whole live balance and queue its payout.

    Raises:
        RedeemRefused: nothing to redeem (no wallet, or an empty one).
    """
    now = clock.now()
    visitor = db.session.scalar(
        select(Visitor).where(
            Visitor.shop_id == shop.id, Visitor.public_id == public_id
        )
    )
    wallet = (
        existing_wallet(shop.id, visitor.id, visitor.customer_id, now)
        if visitor is not None
        else None
    )
    if wallet is not None:
        settle_expiry(wallet, now)
    lots = live_lots(wallet) if wallet is not None else []
    if not lots:
        db.session.commit()
        raise RedeemRefused("nothing_to_redeem", "The wallet has no balance to use.")

    redemption = _hold(shop, wallet, lots, now)
    enqueue_after_commit(
        issue_redemption,
        redemption.id,
        job_id=f"game-redemption-{redemption.id}",
        unique=True,
        result_ttl=0,
    )
    db.session.commit()
    logger.info(
        "game.redemption_requested",
        extra={
            "shop_id": shop.id,
            "redemption_id": redemption.id,
            "method": redemption.method,
        },
    )
    return redemption


def issue_redemption(redemption_id: int) -> str:
    """The job: ask the platform for the credit or code. Idempotent."""
    redemption = _claim(redemption_id)
    if redemption is None:
        return "skipped"
    shop = db.session.get(Shop, redemption.shop_id)
    if shop is None or not shop.is_installed:
        return _give_back(redemption_id, FAILED, "The shop is not installed.")
    if redemption.method == STORE_CREDIT:
        return _issue_store_credit(shop, redemption)
    return _issue_code(shop, redemption)


def confirm_store_credit(redemption_id: int) -> str:
    """The job: learn whether a store credit whose answer was lost was granted."""
    redemption = db.session.get(GameRedemption, redemption_id)
    now = clock.now()
    if redemption is None or redemption.status != UNCONFIRMED:
        return "skipped"
    if redemption.attempted_at and now - redemption.attempted_at < CONFIRM_AFTER:
        return "later"
    shop = db.session.get(Shop, redemption.shop_id)
    taken = set(
        db.session.scalars(
            select(GameRedemption.transaction_id).where(
                GameRedemption.shop_id == redemption.shop_id,
                GameRedemption.transaction_id.is_not(None),
            )
        )
    )
    try:
        found = find_store_credit(
            shop,
            redemption.customer_id,
            redemption.amount,
            redemption.currency,
            redemption.expires_at,
            redemption.attempted_at or redemption.requested_at,
            taken,
        )
    except PlatformError:
        # Still unknown; the sweep asks again next time.
        logger.warning(
            "game.store_credit_check_failed", extra={"redemption_id": redemption_id}
        )
        db.session.rollback()
        return "unknown"
    if found is None:
        return _give_back(
            redemption_id, FAILED, "The store credit never reached the account."
        )
    return _mark_issued(redemption_id, transaction_id=found)


def new_code() -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return CODE_PREFIX + body


# --- the request ----------------------------------------------------------------


def _hold(
    shop: Shop, wallet: GameWallet, lots: list[Lot], now: datetime
) -> GameRedemption:
    customer_id = wallet.customer_id
    method = (
        STORE_CREDIT if customer_id and can_grant_store_credit(shop) else DISCOUNT_CODE
    )
    redemption = GameRedemption(
        shop_id=shop.id,
        wallet_id=wallet.id,
        customer_id=customer_id,
        method=method,
        status=PENDING,
        amount=sum((lot.remaining for lot in lots), Decimal(0)),
        currency=wallet.currency,
        # Whole seconds: the platform keeps them, and a lost store-credit
        # answer is later recognized by this exact expiry.
        expires_at=max(lot.expires_at for lot in lots).replace(microsecond=0),
        code=new_code() if method == DISCOUNT_CODE else None,
        requested_at=now,
    )
    db.session.add(redemption)
    db.session.flush()
    for lot in lots:
        post(
            wallet,
            REDEEMED,
            -lot.remaining,
            lot=lot,
            redemption_id=redemption.id,
            now=now,
        )
    return redemption


# --- the job --------------------------------------------------------------------


def _claim(redemption_id: int) -> GameRedemption | None:
    """Start an attempt, unless one is running or there is nothing to do.

    A store-credit attempt is claimed only when no earlier one may still be
    in flight: a lapsed lease there is for the sweep to turn unconfirmed.
    """
    now = clock.now()
    redemption = db.session.get(GameRedemption, redemption_id)
    if redemption is None or redemption.status != PENDING:
        db.session.rollback()
        return None
    free = GameRedemption.attempted_at.is_(None)
    if redemption.method == DISCOUNT_CODE:
        free = or_(free, GameRedemption.attempted_at < now - LEASE)
    claimed = db.session.execute(
        update(GameRedemption)
        .where(
            GameRedemption.id == redemption_id,
            GameRedemption.status == PENDING,
            free,
        )
        .values(attempts=GameRedemption.attempts + 1, attempted_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if claimed.rowcount == 0:
        return None
    return db.session.get(GameRedemption, redemption_id)


def _issue_store_credit(shop: Shop, redemption: GameRedemption) -> str:
    try:
        transaction_id = credit_store_credit(
            shop,
            redemption.customer_id,
            redemption.amount,
            redemption.currency,
            redemption.expires_at,
        )
    except StoreCreditUnavailable:
        _switch_to_code(redemption)
        return _issue_code(shop, redemption)
    except (RewardRefused, AccessRevokedError) as exc:
        return _give_back(redemption.id, FAILED, str(exc))
    except OutcomeUnknownError as exc:
        return _mark_unconfirmed(redemption.id, str(exc))
    except AdminApiError as exc:
        return _retry_or_give_back(redemption, exc)
    return _mark_issued(redemption.id, transaction_id=transaction_id)


def _issue_code(shop: Shop, redemption: GameRedemption) -> str:
    try:
        discount_id = create_discount_code(
            shop,
            redemption.code,
            _code_title(redemption),
            redemption.amount,
            clock.now(),
            redemption.expires_at,
            redemption.customer_id,
        )
    except (RewardRefused, AccessRevokedError) as exc:
        return _give_back(redemption.id, FAILED, str(exc))
    except AdminApiError as exc:
        return _retry_or_give_back(redemption, exc)
    return _mark_issued(redemption.id, discount_id=discount_id)


def _code_title(redemption: GameRedemption) -> str:
    # The title names the redemption: a code found again after a lost
    # answer is recognized as ours by it.
    return f"Revisit bonus {redemption.amount} {redemption.currency} #{redemption.id}"


def _switch_to_code(redemption: GameRedemption) -> None:
    logger.info(
        "game.store_credit_unavailable",
        extra={"shop_id": redemption.shop_id, "redemption_id": redemption.id},
    )
    redemption.method = DISCOUNT_CODE
    redemption.code = new_code()
    db.session.commit()


def _retry_or_give_back(redemption: GameRedemption, exc: AdminApiError) -> str:
    # The platform refused the request itself (GraphQL errors, a 4xx): the
    # same request would be refused again.
    refused = exc.status is not None and exc.status < 500 and exc.status != 429
    if refused or redemption.attempts >= MAX_ATTEMPTS:
        return _give_back(redemption.id, FAILED, str(exc))
    db.session.execute(
        update(GameRedemption)
        .where(GameRedemption.id == redemption.id, GameRedemption.status == PENDING)
        .values(attempted_at=None, error=str(exc)[:2000])
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    logger.warning(
        "game.redemption_retrying",
        extra={"redemption_id": redemption.id, "attempts": redemption.attempts},
    )
    # RQ retries the job (engine.jobs.DEFAULT_RETRY); the sweep if it cannot.
    raise exc


def locked_redemption(redemption_id: int) -> GameRedemption | None:
    """A redemption with its row locked for this transaction."""
    return db.session.scalar(
        select(GameRedemption)
        .where(GameRedemption.id == redemption_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _mark_issued(
    redemption_id: int,
    *,
    discount_id: str | None = None,
    transaction_id: str | None = None,
) -> str:
    redemption = locked_redemption(redemption_id)
    if redemption is None or redemption.status not in OPEN_STATES:
        db.session.rollback()
        return "skipped"
    redemption.status = ISSUED
    redemption.issued_at = clock.now()
    redemption.discount_id = discount_id
    redemption.transaction_id = transaction_id
    redemption.attempted_at = None
    redemption.error = None
    db.session.commit()
    logger.info(
        "game.redemption_issued",
        extra={"shop_id": redemption.shop_id, "redemption_id": redemption_id},
    )
    return ISSUED


def _mark_unconfirmed(redemption_id: int, reason: str) -> str:
    redemption = locked_redemption(redemption_id)
    if redemption is None or redemption.status != PENDING:
        db.session.rollback()
        return "skipped"
    redemption.status = UNCONFIRMED
    redemption.error = reason[:2000]
    db.session.commit()
    logger.warning(
        "game.redemption_unconfirmed",
        extra={"shop_id": redemption.shop_id, "redemption_id": redemption_id},
    )
    return UNCONFIRMED


def _give_back(redemption_id: int, status: str, reason: str) -> str:
    """End a redemption, its amount back in the wallet, and commit."""
    redemption = locked_redemption(redemption_id)
    outcome = give_back(redemption, status, reason) if redemption else "skipped"
    db.session.commit()
    return outcome


def give_back(redemption: GameRedemption, status: str, reason: str) -> str:
    """Put a redemption's amount back, lot by lot; the caller holds its row lock
    and commits.

    ``status`` is ``failed`` (the platform never issued it) or ``released``
    (an issued code expired unused, or the order that used it was cancelled).
    """
    allowed = OPEN_STATES if status == FAILED else (ISSUED, USED)
    if redemption.status not in allowed:
        return "skipped"

    now = clock.now()
    wallet = db.session.scalar(
        select(GameWallet)
        .where(
            GameWallet.shop_id == redemption.shop_id,
            GameWallet.id == redemption.wallet_id,
        )
        .with_for_update()
    )
    for entry in _redeemed_entries(redemption):
        lot = Lot(entry.lot_id, -entry.amount, entry.expires_at, entry.campaign_id)
        post(
            wallet,
            RELEASED,
            -entry.amount,
            lot=lot,
            redemption_id=redemption.id,
            now=now,
        )
    redemption.status = status
    redemption.error = reason[:2000]
    redemption.ended_at = now
    redemption.attempted_at = None
    forward_if_merged(wallet, now)
    logger.info(
        "game.redemption_given_back",
        extra={
            "shop_id": redemption.shop_id,
            "redemption_id": redemption.id,
            "status": status,
        },
    )
    return status


def _redeemed_entries(redemption: GameRedemption) -> list[GameLedgerEntry]:
    return list(
        db.session.scalars(
            select(GameLedgerEntry).where(
                GameLedgerEntry.shop_id == redemption.shop_id,
                GameLedgerEntry.redemption_id == redemption.id,
                GameLedgerEntry.kind == REDEEMED,
            )
        )
    )
