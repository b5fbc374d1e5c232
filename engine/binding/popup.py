"""The pop-up asking shoppers to bind: its settings, where it shows, how often.

``update_popup(shop, **changes)`` validates every field
(``InvalidPopupSettings`` names the first bad one), stores and commits; the
admin builds on it. Fields, with their defaults:

==================  ========================================================
``enabled``         True
``page_types``      where it may show: any of ``PAGE_TYPES``; [] for all
``excluded_pages``  wildcard patterns of pages it never shows on ([])
``trigger``         ``add_to_cart`` (default: after ``trigger_count``
                    additions to the cart) or ``seconds`` (after
                    ``trigger_count`` seconds on a page)
``trigger_count``   1
``max_per_day``     shown at most this often per visitor and day (2); once
                    dismissed, not again that day
``channels``        ``["line", "messenger"]``: offered when connected
``texts``           ``{locale: {"title", "body", "consent", "success"}}``
``default_locale``  the first locale of ``texts``
``tag``             a tag recorded on the bindings it makes (None)
==================  ========================================================

The widget learns the shop's pop-up with each page view
(``widget_feature``, memoized per process for ``MEMO_SECONDS``) and asks
``offer`` before showing it; a day is the shop's own (its time zone).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from engine.binding import funnel
from engine.binding.bindings import bound_channels
from engine.binding.errors import InvalidPopupSettings
from engine.binding.models import CHANNELS, LINE, MESSENGER, BindingPopup
from engine.channels.models import ChannelAccount
from engine.db import db, utcnow
from engine.onsite.matching import PageUrl, excluded_page
from engine.runtime import current
from engine.shops.models import Shop
from engine.tracking.events import OTHER_PAGE
from engine.tracking.events import PAGE_TYPES as PLATFORM_PAGE_TYPES
from engine.tracking.memo import ExpiringMemo

logger = logging.getLogger(__name__)

MEMO_SECONDS = 5.0
PAGE_TYPES = (*sorted(set(PLATFORM_PAGE_TYPES.values())), OTHER_PAGE)
TRIGGERS = {"add_to_cart": (1, 20), "seconds": (0, 600)}
MAX_PER_DAY = (1, 10)
MAX_EXCLUDED = 20
TEXT_LIMITS = {"title": 80, "body": 300, "consent": 200, "success": 200}
REQUIRED_TEXTS = ("title", "success")
LOCALE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
TAG = re.compile(r"[\w .:-]{1,40}")
DAY_SECONDS = 2 * 24 * 60 * 60

DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "page_types": [],
    "excluded_pages": [],
    "trigger": "add_to_cart",
    "trigger_count": 1,
    "max_per_day": 2,
    "channels": [LINE, MESSENGER],
    "texts": {
        "en": {
            "title": "Get your cart back on LINE or Messenger",
            "body": "We'll message you if you leave something in your cart.",
            "consent": "Send me cart reminders and offers",
            "success": "You're all set: we'll message you there.",
        },
        "zh-TW": {
            "title": "用 LINE 或 Messenger 接收購物車提醒",
            "body": "購物車裡有商品忘了結帳時，我們會通知你。",
            "consent": "我願意收到購物車提醒與優惠",
            "success": "完成！之後會透過這裡通知你。",
        },
    },
    "default_locale": "en",
    "tag": None,
}
FIELDS = tuple(DEFAULTS)


@dataclass(frozen=True)
class Offer:
    """Whether to show the pop-up now, and which channels it offers."""

    show: bool
    channels: tuple[str, ...]
    reason: str | None = None


@dataclass(frozen=True)
class _ShopPopup:
    """What the widget needs of a shop's binding set-up, cheap to memoize."""

    channels: tuple[str, ...]
    popup: BindingPopup | None


_memo: ExpiringMemo[int, _ShopPopup] = ExpiringMemo(MEMO_SECONDS)


def popup_of(shop: Shop) -> BindingPopup | None:
    return db.session.scalar(
        select(BindingPopup).where(BindingPopup.shop_id == shop.id)
    )


def update_popup(shop: Shop, **changes: Any) -> BindingPopup:
    """Validate ``changes`` and store them (a new pop-up starts from ``DEFAULTS``)."""
    popup = popup_of(shop)
    current_values = (
        {name: getattr(popup, name) for name in FIELDS} if popup else dict(DEFAULTS)
    )
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise InvalidPopupSettings(unknown[0], f"is not a setting; use {FIELDS}.")
    if "texts" in changes and "default_locale" not in changes:
        changes["default_locale"] = next(iter(changes["texts"] or {}), "")
    values = {**current_values, **changes}
    cleaned = _validated(values)

    if popup is None:
        popup = BindingPopup(shop_id=shop.id)
        db.session.add(popup)
    for name, value in cleaned.items():
        setattr(popup, name, value)
    db.session.commit()
    forget(shop.id)
    logger.info("binding.popup_updated", extra={"shop_id": shop.id})
    return popup


def widget_feature(
    shop_id: int, page_url: str, page_type: str | None, locale: str | None
) -> dict[str, Any] | bool:
    """The page answer's ``features.binding``: False, or what the widget offers.

    ``{"channels": [...], "popup": {...} or None}``: the pop-up only where
    the merchant lets it show; the channels whenever one is ready.
    """
    setup = _memo.get(shop_id, lambda: _load(shop_id))
    if not setup.channels:
        return False
    popup = setup.popup
    shown_here = popup is not None and _fits_page(popup, page_url, page_type)
    return {
        "channels": list(setup.channels),
        "popup": _widget_popup(popup, setup.channels, locale) if shown_here else None,
    }


def offer(shop: Shop, public_id: str, now: datetime | None = None) -> Offer:
    """May the pop-up show to this visitor now? Counts it shown if so."""
    now = now or utcnow()
    setup = _load(shop.id)
    popup = setup.popup
    if popup is None or not popup.enabled:
        return Offer(False, (), "disabled")
    bound = set(bound_channels(shop, public_id))
    channels = tuple(
        c for c in setup.channels if c in popup.channels and c not in bound
    )
    if not channels:
        return Offer(False, (), "bound")

    redis, key = current().redis, _day_key(shop, public_id, now)
    seen = redis.hgetall(key)
    if seen.get(b"dismissed"):
        return Offer(False, channels, "dismissed_today")
    if int(seen.get(b"shown", 0)) >= popup.max_per_day:
        return Offer(False, channels, "shown_enough_today")

    redis.hincrby(key, "shown", 1)
    redis.expire(key, DAY_SECONDS)
    for channel in channels:
        funnel.count(shop.id, channel, funnel.SHOWN, now)
    db.session.commit()
    return Offer(True, channels)


def dismiss(shop: Shop, public_id: str, now: datetime | None = None) -> None:
    """The visitor closed the pop-up: not again today."""
    redis, key = current().redis, _day_key(shop, public_id, now or utcnow())
    redis.hset(key, "dismissed", 1)
    redis.expire(key, DAY_SECONDS)


def ready_channels(shop_id: int) -> tuple[str, ...]:
    """The channels the shop can bind shoppers to now."""
    return _load(shop_id).channels


def forget(shop_id: int) -> None:
    """Drop this process's memo of the shop (after changing it)."""
    _memo.forget(shop_id)


def forget_all() -> None:
    _memo.clear()


def _load(shop_id: int) -> _ShopPopup:
    accounts = db.session.scalars(
        select(ChannelAccount).where(
            ChannelAccount.shop_id == shop_id, ChannelAccount.enabled.is_(True)
        )
    )
    channels = tuple(
        sorted(account.channel for account in accounts if _can_bind(account))
    )
    popup = db.session.scalar(
        select(BindingPopup).where(BindingPopup.shop_id == shop_id)
    )
    if popup is not None:
        db.session.expunge(popup)
    return _ShopPopup(channels, popup if popup is None or popup.enabled else None)


def _can_bind(account: ChannelAccount) -> bool:
    if account.channel == LINE:
        return bool(account.line_login_channel_id or account.line_basic_id)
    if account.channel == MESSENGER:
        settings = current().settings
        return bool(account.messenger_page_id and settings.messenger_app_secret)
    return False


def _fits_page(popup: BindingPopup, page_url: str, page_type: str | None) -> bool:
    kind = PLATFORM_PAGE_TYPES.get(page_type or "", OTHER_PAGE)
    if popup.page_types and kind not in popup.page_types:
        return False
    page = PageUrl.parse(page_url)
    return not any(excluded_page(p).matches(page) for p in popup.excluded_pages)


def _widget_popup(
    popup: BindingPopup, channels: tuple[str, ...], locale: str | None
) -> dict[str, Any]:
    return {
        "channels": [c for c in channels if c in popup.channels],
        "trigger": popup.trigger,
        "trigger_count": popup.trigger_count,
        "texts": _texts_for(popup, locale),
    }


def _texts_for(popup: BindingPopup, locale: str | None) -> dict[str, str]:
    return _pick_texts(popup.texts, popup.default_locale, locale)


def _pick_texts(
    texts: dict[str, dict[str, str]], default_locale: str, locale: str | None
) -> dict[str, str]:
    """The texts of ``locale``, of its language, or of the default locale."""
    wanted = (locale or "").lower()
    for candidate in texts:
        if candidate.lower() == wanted:
            return texts[candidate]
    for candidate in texts:
        if candidate.split("-")[0].lower() == wanted.split("-")[0]:
            return texts[candidate]
    return texts[default_locale]


def _day_key(shop: Shop, public_id: str, now: datetime) -> str:
    try:
        zone = ZoneInfo(shop.timezone) if shop.timezone else None
    except ZoneInfoNotFoundError:
        zone = None
    day = now.astimezone(zone).date() if zone else now.date()
    return f"revisit:binding:popup:{shop.id}:{public_id}:{day.isoformat()}"


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    """Every field checked; raises on the first bad one."""
    for name in ("enabled",):
        if not isinstance(values[name], bool):
            raise InvalidPopupSettings(name, "must be true or false.")
    _check_list(values, "page_types", PAGE_TYPES)
    _check_excluded(values["excluded_pages"])
    trigger = values["trigger"]
    if trigger not in TRIGGERS:
        raise InvalidPopupSettings("trigger", f"must be one of {tuple(TRIGGERS)}.")
    _check_int(values, "trigger_count", *TRIGGERS[trigger])
    _check_int(values, "max_per_day", *MAX_PER_DAY)
    _check_list(values, "channels", CHANNELS)
    if not values["channels"]:
        raise InvalidPopupSettings("channels", "must name at least one channel.")
    _check_texts(values["texts"], values["default_locale"])
    tag = values["tag"]
    if tag is not None and (not isinstance(tag, str) or not TAG.fullmatch(tag)):
        raise InvalidPopupSettings(
            "tag", "must be up to 40 letters, digits, spaces or '._:-'."
        )
    return values


def _check_int(values: dict[str, Any], name: str, low: int, high: int) -> None:
    value = values[name]
    if type(value) is not int or not low <= value <= high:
        raise InvalidPopupSettings(
            name, f"must be a whole number from {low} to {high}."
        )


def _check_list(values: dict[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    value = values[name]
    if not isinstance(value, list) or any(item not in allowed for item in value):
        raise InvalidPopupSettings(name, f"must be a list of {allowed}.")
    if len(set(value)) != len(value):
        raise InvalidPopupSettings(name, "must not repeat an item.")


def _check_excluded(patterns: Any) -> None:
    if not isinstance(patterns, list) or len(patterns) > MAX_EXCLUDED:
        raise InvalidPopupSettings(
            "excluded_pages", f"must be a list of at most {MAX_EXCLUDED} patterns."
        )
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str) or not 0 < len(pattern.strip()) <= 255:
            raise InvalidPopupSettings(
                f"excluded_pages[{index}]", "must be a pattern of 1 to 255 characters."
            )


def _check_texts(texts: Any, default_locale: Any) -> None:
    if not isinstance(texts, dict) or not texts:
        raise InvalidPopupSettings("texts", "must map at least one locale to texts.")
    for locale, entry in texts.items():
        if not isinstance(locale, str) or not LOCALE.fullmatch(locale):
            raise InvalidPopupSettings("texts", f"has a bad locale {locale!r}.")
        if not isinstance(entry, dict):
            raise InvalidPopupSettings(f"texts.{locale}", "must be an object.")
        for key in entry:
            if key not in TEXT_LIMITS:
                raise InvalidPopupSettings(
                    f"texts.{locale}.{key}", f"is not a text; use {tuple(TEXT_LIMITS)}."
                )
        for key, limit in TEXT_LIMITS.items():
            text = entry.get(key)
            if text is None and key not in REQUIRED_TEXTS:
                continue
            if not isinstance(text, str) or not 0 < len(text.strip()) <= limit:
                raise InvalidPopupSettings(
                    f"texts.{locale}.{key}", f"must be 1 to {limit} characters."
                )
    if default_locale not in texts:
        raise InvalidPopupSettings("default_locale", "must be a locale of texts.")


def success_text(shop: Shop, locale: str | None) -> str:
    """The merchant's message after a binding, in the shopper's language."""
    popup = popup_of(shop)
    texts = popup.texts if popup else DEFAULTS["texts"]
    default = popup.default_locale if popup else DEFAULTS["default_locale"]
    return _pick_texts(texts, default, locale)["success"]
