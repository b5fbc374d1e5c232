"""Adding, changing and signing in a shop's team members."""

from __future__ import annotations

import logging
import re
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.db import db, utcnow
from engine.runtime import current
from engine.shops.models import Shop
from engine.team.errors import (
    InvalidMemberError,
    MemberNotFound,
    SignInRefused,
    TooManyAttempts,
)
from engine.team.models import OWNER, ROLES, TeamMember
from engine.team.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    hash_password,
    needs_rehash,
    password_matches,
)
from engine.team.sessions import end_sessions_of

logger = logging.getLogger(__name__)

# No NUL either: PostgreSQL cannot store or even compare one.
EMAIL = re.compile(r"[^@\s\x00]{1,64}@[^@\s\x00]{1,255}\.[^@\s\x00]{2,63}")
# What a store-admin staff user is called in the team until renamed.
STAFF_NAME = "Store staff"
# Their member's e-mail: a reserved domain (RFC 2606), so no mail goes out.
STAFF_EMAIL = "staff-{platform_user_id}@store-admin.invalid"
PLATFORM_USER_ID_MAX = 64
# Failed sign-ins allowed per shop and e-mail within the window.
MAX_FAILED_SIGN_INS = 10
FAILED_SIGN_IN_WINDOW_SECONDS = 15 * 60


def add_member(
    shop: Shop, email: str, display_name: str, role: str, password: str
) -> TeamMember:
    """Add a member to the shop's team; the caller commits.

    Raises:
        InvalidMemberError: naming the field at fault (an e-mail already in
            the team is refused at ``email``).
    """
    email = _email(email)
    if member_by_email(shop, email) is not None:
        raise InvalidMemberError("email", f"{email} is already in this shop's team.")
    member = TeamMember(
        shop_id=shop.id,
        email=email,
        display_name=_display_name(display_name),
        role=_role(role),
        password_hash=hash_password(_password(password)),
        password_changed_at=utcnow(),
    )
    db.session.add(member)
    db.session.flush()
    logger.info(
        "team.member_added",
        extra={"shop_id": shop.id, "member_id": member.id, "role": member.role},
    )
    return member


def member_for_platform_user(shop: Shop, platform_user_id: str) -> TeamMember:
    """The member a store-admin staff user acts as, created on first use.

    Inside the store admin nobody signs in: the platform vouches for its
    staff user (the session token's ``sub``). The chat needs a member behind
    each action (an assignee, read marks, a name on replies), so a staff user
    who never had one gets one: an owner (store-admin users act as owners)
    named ``STAFF_NAME``, with a password nobody knows, so it cannot sign in
    outside the admin. A member already linked to that staff id is found
    instead. The caller commits.

    Raises:
        InvalidMemberError: at ``platform_user_id`` for an empty or too long id.
    """
    staff_id = str(platform_user_id or "").strip()
    if not staff_id or len(staff_id) > PLATFORM_USER_ID_MAX:
        raise InvalidMemberError(
            "platform_user_id", f"{platform_user_id!r} is not a staff user id."
        )
    found = member_by_platform_user(shop, staff_id)
    if found is not None:
        return found

    try:
        with db.session.begin_nested():
            member = TeamMember(
                shop_id=shop.id,
                email=STAFF_EMAIL.format(platform_user_id=staff_id).lower(),
                display_name=STAFF_NAME,
                role=OWNER,
                password_hash=hash_password(secrets.token_urlsafe(32)),
                password_changed_at=utcnow(),
                platform_user_id=staff_id,
            )
            db.session.add(member)
            db.session.flush()
    except IntegrityError:
        # The same staff user's other request created it first.
        found = member_by_platform_user(shop, staff_id)
        if found is None:
            raise
        return found
    logger.info(
        "team.staff_member_added", extra={"shop_id": shop.id, "member_id": member.id}
    )
    return member


def member_by_platform_user(shop: Shop, platform_user_id: str) -> TeamMember | None:
    """The shop's member linked to a store-admin staff id (an active one first)."""
    return db.session.scalar(
        select(TeamMember)
        .where(
            TeamMember.shop_id == shop.id,
            TeamMember.platform_user_id == platform_user_id,
        )
        .order_by(TeamMember.active.desc(), TeamMember.id)
        .limit(1)
    )


def change_password(member: TeamMember, password: str) -> None:
    """Set a new password and end every session of the member; the caller commits."""
    member.password_hash = hash_password(_password(password))
    member.password_changed_at = utcnow()
    end_sessions_of(member)


def deactivate(shop: Shop, member_id: int) -> TeamMember:
    """Stop a member from signing in, ending their sessions; the caller commits.

    The last active owner cannot be deactivated: someone must keep the keys.
    """
    member = get_member(shop, member_id)
    if member.role == OWNER and member.active and len(active_owners(shop)) == 1:
        raise InvalidMemberError(
            "active", "The shop's last active owner cannot be deactivated."
        )
    member.active = False
    end_sessions_of(member)
    return member


def sign_in(shop: Shop, email: str, password: str) -> TeamMember:
    """The active member with this e-mail and password.

    Raises:
        TooManyAttempts: after ``MAX_FAILED_SIGN_INS`` failures in the window.
        SignInRefused: for any mismatch, without saying which.
    """
    key = f"revisit:team:sign-in-failures:{shop.id}:{email.strip().lower()}"
    redis = current().redis
    failures = int(redis.get(key) or 0)
    if failures >= MAX_FAILED_SIGN_INS:
        raise TooManyAttempts(redis.ttl(key) or FAILED_SIGN_IN_WINDOW_SECONDS)

    member = member_by_email(shop, email)
    known = member is not None and member.active
    if not password_matches(member.password_hash if known else None, password):
        pipeline = redis.pipeline()
        pipeline.incr(key)
        pipeline.expire(key, FAILED_SIGN_IN_WINDOW_SECONDS, nx=True)
        pipeline.execute()
        logger.warning("team.sign_in_refused", extra={"shop_id": shop.id})
        raise SignInRefused()

    redis.delete(key)
    if needs_rehash(member.password_hash):
        member.password_hash = hash_password(password)
    member.last_signed_in_at = utcnow()
    logger.info("team.signed_in", extra={"shop_id": shop.id, "member_id": member.id})
    return member


def member_by_email(shop: Shop, email: str) -> TeamMember | None:
    if "\x00" in email:
        # No member's e-mail holds one (EMAIL), and the query would fail.
        return None
    return db.session.scalar(
        select(TeamMember).where(
            TeamMember.shop_id == shop.id,
            TeamMember.email == email.strip().lower(),
        )
    )


def get_member(shop: Shop, member_id: int) -> TeamMember:
    member = db.session.scalar(
        select(TeamMember).where(
            TeamMember.shop_id == shop.id, TeamMember.id == member_id
        )
    )
    if member is None:
        raise MemberNotFound(shop.id, member_id)
    return member


def list_members(shop: Shop) -> list[TeamMember]:
    return list(
        db.session.scalars(
            select(TeamMember)
            .where(TeamMember.shop_id == shop.id)
            .order_by(TeamMember.role.desc(), TeamMember.email)
        )
    )


def active_owners(shop: Shop) -> list[TeamMember]:
    return [m for m in list_members(shop) if m.role == OWNER and m.active]


def _email(value: object) -> str:
    if not isinstance(value, str) or not EMAIL.fullmatch(value.strip()):
        raise InvalidMemberError("email", f"{value!r} is not an e-mail address.")
    return value.strip().lower()


def _display_name(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 80:
        raise InvalidMemberError(
            "display_name", f"A name of 1 to 80 characters is needed; got {value!r}."
        )
    return value.strip()


def _role(value: object) -> str:
    if value not in ROLES:
        raise InvalidMemberError(
            "role", f"Unknown role {value!r}; use one of {', '.join(ROLES)}."
        )
    return str(value)


def _password(value: object) -> str:
    if not isinstance(value, str) or not MIN_LENGTH <= len(value) <= MAX_LENGTH:
        raise InvalidMemberError(
            "password",
            f"A password of {MIN_LENGTH} to {MAX_LENGTH} characters is needed.",
        )
    return value
