"""Creating, changing and pausing bonus campaigns: the API the admin builds on.

``create_campaign(shop, **fields)`` and ``update_campaign(shop, id, **changes)``
check every field (``InvalidCampaignError`` names the first bad one, with a
path such as ``targets[1].reward``), store and commit, and drop this
process's memo of the shop's live campaigns; other processes see the change
within ``targets.MEMO_SECONDS``. Fields:

=====================  ======================================================
``name``               the merchant's label (required)
``starts_at``          timezone-aware datetime (required)
``ends_at``            optional; after ``starts_at``
``targets``            1 to 50 pages (required), each ``{"kind", "value",
                       "reward"}``: kind ``url`` (a path or address, ``*``
                       for any text), ``product`` (id or handle) or
                       ``collection`` (handle); on update an existing target
                       is named by its ``id`` and only its reward may change
``min_seconds``        time on the page before collecting (default 10)
``cap_per_visitor``    most one visitor may collect here (required)
``budget``             most all visitors together may collect (required)
``credit_expiry_days`` collected credit lasts this long (default 30)
``look``               ``{"icon": coin|gift|star|heart, "color": "#rrggbb",
                       "texts": {locale: label}}`` (default: a gold coin)
``paused``             default False
``currency``           on create only; default the shop's currency
=====================  ======================================================

Editing never takes back what was collected: a target left out of an update
is marked removed (its collects stay; added again, it is the same target, so
nobody collects a page twice), a new reward counts from the next collect on,
and the budget cannot go below what was already collected.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from engine.db import db, utcnow
from engine.game.errors import CampaignNotFound, InvalidCampaignError
from engine.game.models import (
    PRODUCT,
    TARGET_KINDS,
    URL,
    GameCampaign,
    GameTarget,
)
from engine.game.targets import forget_campaigns
from engine.shops.models import Shop

logger = logging.getLogger(__name__)

ICONS = ("coin", "gift", "star", "heart")
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
LOCALE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
HANDLE = re.compile(r"[a-z0-9][a-z0-9-]{0,254}")
PRODUCT_ID = re.compile(r"[0-9]{1,20}")
CURRENCY = re.compile(r"[A-Z]{3}")
MAX_TARGETS = 50
MAX_URL = 2048
MAX_LABEL = 60
MAX_AMOUNT = Decimal("1000000")
DEFAULT_LOOK: dict[str, Any] = {"icon": "coin", "color": "#b45309", "texts": {}}

DEFAULTS: dict[str, Any] = {
    "ends_at": None,
    "min_seconds": 10,
    "credit_expiry_days": 30,
    "look": DEFAULT_LOOK,
    "paused": False,
}
REQUIRED = ("name", "starts_at", "targets", "cap_per_visitor", "budget")
SETTINGS = ("name", "starts_at", "cap_per_visitor", "budget", *DEFAULTS)


def create_campaign(shop: Shop, **fields: Any) -> GameCampaign:
    """Check, store and commit a new campaign of the shop.

    Raises:
        InvalidCampaignError: a field is missing, unknown or unusable.
    """
    for name in REQUIRED:
        if name not in fields:
            raise InvalidCampaignError(name, "is required.")
    currency = _currency(fields.pop("currency", shop.currency))
    values = _settings({**DEFAULTS, **fields}, spent=Decimal(0))
    targets = _targets(fields["targets"], {}, values)

    campaign = GameCampaign(shop_id=shop.id, currency=currency, **values)
    db.session.add(campaign)
    db.session.flush()
    for kind, value, reward in targets:
        db.session.add(_new_target(campaign, kind, value, reward))
    db.session.commit()
    forget_campaigns(shop.id)
    logger.info(
        "game.campaign_created",
        extra={"shop_id": shop.id, "campaign_id": campaign.id},
    )
    return campaign


def update_campaign(shop: Shop, campaign_id: int, **changes: Any) -> GameCampaign:
    """Change some fields of one of the shop's campaigns, checked as a whole.

    Raises:
        CampaignNotFound: the shop has no such campaign.
        InvalidCampaignError: a change is unknown or unusable.
    """
    if "currency" in changes:
        raise InvalidCampaignError("currency", "cannot change once a campaign exists.")
    campaign = get_campaign(shop, campaign_id, for_update=True)
    current = {name: getattr(campaign, name) for name in SETTINGS}
    values = _settings({**current, **changes}, spent=campaign.spent)
    existing = {target.id: target for target in active_targets(campaign)}
    if "targets" in changes:
        _replace_targets(campaign, changes["targets"], existing, values)
    else:
        _check_rewards([(t.kind, t.value, t.reward) for t in existing.values()], values)

    for name, value in values.items():
        setattr(campaign, name, value)
    db.session.commit()
    forget_campaigns(shop.id)
    logger.info(
        "game.campaign_updated", extra={"shop_id": shop.id, "campaign_id": campaign_id}
    )
    return campaign


def pause_campaign(shop: Shop, campaign_id: int) -> GameCampaign:
    """Stop collecting at once; what was collected stays in the wallets."""
    return update_campaign(shop, campaign_id, paused=True)


def resume_campaign(shop: Shop, campaign_id: int) -> GameCampaign:
    return update_campaign(shop, campaign_id, paused=False)


def get_campaign(
    shop: Shop, campaign_id: int, *, for_update: bool = False
) -> GameCampaign:
    """One of the shop's campaigns.

    Raises:
        CampaignNotFound: the shop has no such campaign.
    """
    query = select(GameCampaign).where(
        GameCampaign.shop_id == shop.id, GameCampaign.id == campaign_id
    )
    campaign = db.session.scalar(query.with_for_update() if for_update else query)
    if campaign is None:
        raise CampaignNotFound(shop.id, campaign_id)
    return campaign


def list_campaigns(shop: Shop) -> list[GameCampaign]:
    """The shop's campaigns, newest first."""
    return list(
        db.session.scalars(
            select(GameCampaign)
            .where(GameCampaign.shop_id == shop.id)
            .order_by(GameCampaign.created_at.desc(), GameCampaign.id.desc())
        )
    )


def active_targets(campaign: GameCampaign) -> list[GameTarget]:
    """The campaign's targets that were not removed, in the order added."""
    return _targets_of(campaign, removed=False)


def _targets_of(campaign: GameCampaign, removed: bool) -> list[GameTarget]:
    state = GameTarget.removed_at
    return list(
        db.session.scalars(
            select(GameTarget)
            .where(
                GameTarget.shop_id == campaign.shop_id,
                GameTarget.campaign_id == campaign.id,
                state.is_not(None) if removed else state.is_(None),
            )
            .order_by(GameTarget.id)
        )
    )


# --- targets -------------------------------------------------------------------

TargetSpec = tuple[str, str, Decimal]


def _targets(
    value: Any, existing: dict[int, GameTarget], values: dict[str, Any]
) -> list[TargetSpec]:
    """New targets (kind, value, reward) from the field, checked."""
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_TARGETS:
        raise InvalidCampaignError(
            "targets", f"must be a list of 1 to {MAX_TARGETS} pages."
        )
    specs = [_target(item, index, existing) for index, item in enumerate(value)]
    seen: set[tuple[str, str]] = set()
    for index, (kind, page, _reward) in enumerate(specs):
        if (kind, page) in seen:
            raise InvalidCampaignError(
                f"targets[{index}]", f"repeats the {kind} {page!r}."
            )
        seen.add((kind, page))
    _check_rewards(specs, values)
    return specs


def _target(item: Any, index: int, existing: dict[int, GameTarget]) -> TargetSpec:
    path = f"targets[{index}]"
    if not isinstance(item, dict) or not set(item) <= {"id", "kind", "value", "reward"}:
        raise InvalidCampaignError(
            path, f"must be {{'kind', 'value', 'reward'}} (and 'id'), not {item!r}."
        )
    reward = _amount(f"{path}.reward", item.get("reward"))
    if "id" in item:
        target = existing.get(item["id"])
        if target is None:
            raise InvalidCampaignError(
                f"{path}.id", f"{item['id']!r} is not a target of this campaign."
            )
        for name in ("kind", "value"):
            if name in item and item[name] != getattr(target, name):
                raise InvalidCampaignError(
                    f"{path}.{name}",
                    "cannot change; remove the target and add a new one.",
                )
        return target.kind, target.value, reward

    kind = item.get("kind")
    if kind not in TARGET_KINDS:
        raise InvalidCampaignError(
            f"{path}.kind", f"must be one of {', '.join(TARGET_KINDS)}, not {kind!r}."
        )
    return kind, _page(f"{path}.value", kind, item.get("value")), reward


def _page(path: str, kind: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCampaignError(path, f"must be text, not {value!r}.")
    value = value.strip()
    if kind == URL:
        if len(value) > MAX_URL:
            raise InvalidCampaignError(path, f"must be at most {MAX_URL} characters.")
        if not value.startswith(("/", "http://", "https://", "*")):
            raise InvalidCampaignError(
                path, f"must be a path (/…), an address or a * pattern, not {value!r}."
            )
        return value
    if kind == PRODUCT and PRODUCT_ID.fullmatch(value):
        return value
    if HANDLE.fullmatch(value):
        return value
    what = "a product id or handle" if kind == PRODUCT else "a collection handle"
    raise InvalidCampaignError(
        path, f"must be {what} (lower-case letters, digits, '-'), not {value!r}."
    )


def _check_rewards(specs: list[TargetSpec], values: dict[str, Any]) -> None:
    for index, (_kind, _page, reward) in enumerate(specs):
        if reward > values["cap_per_visitor"]:
            raise InvalidCampaignError(
                f"targets[{index}].reward",
                "must not exceed cap_per_visitor, or nobody could collect it.",
            )
        if reward > values["budget"]:
            raise InvalidCampaignError(
                f"targets[{index}].reward", "must not exceed the budget."
            )


def _replace_targets(
    campaign: GameCampaign,
    items: Any,
    existing: dict[int, GameTarget],
    values: dict[str, Any],
) -> None:
    specs = _targets(items, existing, values)
    removed = {(t.kind, t.value): t for t in _targets_of(campaign, removed=True)}
    kept: set[int] = set()
    for item, (kind, page, reward) in zip(items, specs, strict=True):
        if "id" in item:
            existing[item["id"]].reward = reward
            kept.add(item["id"])
        elif (kind, page) in removed:
            # The same page again: its collects still count, so nobody
            # collects it twice.
            revived = removed[(kind, page)]
            revived.removed_at, revived.reward = None, reward
        else:
            db.session.add(_new_target(campaign, kind, page, reward))
    now = utcnow()
    for target_id, target in existing.items():
        if target_id not in kept:
            target.removed_at = now


def _new_target(
    campaign: GameCampaign, kind: str, value: str, reward: Decimal
) -> GameTarget:
    return GameTarget(
        shop_id=campaign.shop_id,
        campaign_id=campaign.id,
        kind=kind,
        value=value,
        reward=reward,
    )


# --- settings ------------------------------------------------------------------


def _settings(fields: dict[str, Any], spent: Decimal) -> dict[str, Any]:
    """Every setting checked and normalized (not targets); raises on the first."""
    unknown = sorted(set(fields) - set(SETTINGS) - {"targets"})
    if unknown:
        raise InvalidCampaignError(unknown[0], "is not a field of bonus campaigns.")

    values = {name: check(fields[name]) for name, check in _CHECKS.items()}
    if values["ends_at"] is not None and values["ends_at"] <= values["starts_at"]:
        raise InvalidCampaignError("ends_at", "must come after starts_at.")
    if values["budget"] < spent:
        raise InvalidCampaignError(
            "budget",
            f"must be at least the {spent} visitors already collected; editing"
            " never takes back what was collected.",
        )
    return values


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 120:
        raise InvalidCampaignError(
            "name", f"must be 1 to 120 characters, not {value!r}."
        )
    return value.strip()


def _moment(field: str, optional: bool) -> Callable[[Any], datetime | None]:
    def check(value: Any) -> datetime | None:
        if value is None and optional:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise InvalidCampaignError(
                field, f"must be a timezone-aware datetime, not {value!r}."
            )
        return value

    return check


def _whole(field: str, low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if type(value) is int and low <= value <= high:
            return value
        raise InvalidCampaignError(
            field, f"must be a whole number from {low} to {high}, not {value!r}."
        )

    return check


def _amount(field: str, value: Any) -> Decimal:
    try:
        amount = None if isinstance(value, bool | float) else Decimal(str(value))
    except InvalidOperation:
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount <= 0
        or amount >= MAX_AMOUNT
        or amount != amount.quantize(Decimal("0.01"))
    ):
        raise InvalidCampaignError(
            field,
            f"must be an amount above 0 and below {MAX_AMOUNT} with at most two"
            f" decimals, given as text or a whole number, not {value!r}.",
        )
    return amount.quantize(Decimal("0.01"))


def _money(field: str) -> Callable[[Any], Decimal]:
    return lambda value: _amount(field, value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidCampaignError("paused", f"must be True or False, not {value!r}.")
    return value


def _look(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not set(value) <= {"icon", "color", "texts"}:
        raise InvalidCampaignError(
            "look", f"must be {{'icon', 'color', 'texts'}}, not {value!r}."
        )
    look = {**DEFAULT_LOOK, **value}
    if look["icon"] not in ICONS:
        raise InvalidCampaignError(
            "look.icon", f"must be one of {', '.join(ICONS)}, not {look['icon']!r}."
        )
    if not isinstance(look["color"], str) or not COLOR.fullmatch(look["color"]):
        raise InvalidCampaignError(
            "look.color", f"must be a colour such as '#b45309', not {look['color']!r}."
        )
    texts = look["texts"]
    if not isinstance(texts, dict):
        raise InvalidCampaignError("look.texts", "must map locales to labels.")
    for locale, label in texts.items():
        if not isinstance(locale, str) or not LOCALE.fullmatch(locale):
            raise InvalidCampaignError("look.texts", f"has a bad locale {locale!r}.")
        if not isinstance(label, str) or not 0 < len(label) <= MAX_LABEL:
            raise InvalidCampaignError(
                f"look.texts.{locale}",
                f"must be 1 to {MAX_LABEL} characters, not {label!r}.",
            )
    return {"icon": look["icon"], "color": look["color"].lower(), "texts": texts}


def _currency(value: Any) -> str:
    if isinstance(value, str) and CURRENCY.fullmatch(value):
        return value
    raise InvalidCampaignError(
        "currency",
        f"must be a three-letter code such as 'TWD', not {value!r} (the shop's"
        " currency is not known yet: pass it).",
    )


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "starts_at": _moment("starts_at", optional=False),
    "ends_at": _moment("ends_at", optional=True),
    "min_seconds": _whole("min_seconds", 0, 3600),
    "cap_per_visitor": _money("cap_per_visitor"),
    "budget": _money("budget"),
    "credit_expiry_days": _whole("credit_expiry_days", 1, 365),
    "look": _look,
    "paused": _flag,
}
