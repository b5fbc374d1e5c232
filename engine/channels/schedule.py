"""A shop's opening hours and time zone, as the merchant sets them under Channels.

The chat tells shoppers outside these hours when the team will answer, and
the time zone also decides when reminders' quiet hours fall.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from engine.channels.errors import InvalidChannelSettingError
from engine.channels.models import OpeningHours
from engine.db import db, utcnow
from engine.shops.models import Shop

DAY_NAMES = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
MAX_INTERVALS_PER_DAY = 3
DEFAULT_WEEKLY = [[["09:00", "18:00"]]] * 5 + [[], []]


def opening_hours(shop: Shop) -> list[list[list[str]]]:
    """The shop's weekly opening hours, Monday first (the default until set)."""
    row = db.session.scalar(select(OpeningHours).where(OpeningHours.shop_id == shop.id))
    return row.weekly if row is not None else [list(day) for day in DEFAULT_WEEKLY]


def save_schedule(shop: Shop, timezone: str | None, weekly: object) -> None:
    """Check and store the opening hours and the shop's time zone; the caller commits.

    A time zone the merchant chooses also sets when quiet hours fall, and is
    no longer replaced by the store platform's.

    Raises:
        InvalidChannelSettingError: naming the field at fault.
    """
    days = _weekly(weekly)
    zone = _timezone(timezone)

    row = db.session.scalar(select(OpeningHours).where(OpeningHours.shop_id == shop.id))
    if row is None:
        row = OpeningHours(shop_id=shop.id, weekly=days)
        db.session.add(row)
    row.weekly = days
    if zone is not None and zone != shop.timezone:
        shop.timezone = zone
        shop.timezone_chosen_at = utcnow()
    db.session.flush()


def _weekly(value: object) -> list[list[list[str]]]:
    if not isinstance(value, list) or len(value) != len(DAY_NAMES):
        raise InvalidChannelSettingError(
            "schedule", "opening_hours", "Give the hours of all seven days."
        )
    return [_day(day, name) for day, name in zip(value, DAY_NAMES, strict=True)]


def _day(intervals: object, name: str) -> list[list[str]]:
    field = f"opening_hours.{name}"
    if not isinstance(intervals, list) or len(intervals) > MAX_INTERVALS_PER_DAY:
        raise InvalidChannelSettingError(
            "schedule", field, f"A day has at most {MAX_INTERVALS_PER_DAY} intervals."
        )
    cleaned: list[list[str]] = []
    for interval in intervals:
        if (
            not isinstance(interval, list | tuple)
            or len(interval) != 2
            or not all(isinstance(t, str) and CLOCK.fullmatch(t) for t in interval)
        ):
            raise InvalidChannelSettingError(
                "schedule", field, f"Use times like 09:00 to 18:00; got {interval!r}."
            )
        opens, closes = interval
        if closes <= opens:
            raise InvalidChannelSettingError(
                "schedule",
                field,
                f"{name.title()} closes ({closes}) before it opens ({opens}).",
            )
        if cleaned and opens < cleaned[-1][1]:
            raise InvalidChannelSettingError(
                "schedule",
                field,
                f"{name.title()}'s intervals overlap or are out of order.",
            )
        cleaned.append([opens, closes])
    return cleaned


def _timezone(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidChannelSettingError(
            "schedule", "timezone", f"{value!r} is not a time zone such as Asia/Taipei."
        ) from None
    return str(value)
