"""The results screen's figures: a period in the shop's days, totals, rows, CSV.

The figures come from ``engine.reminders.stats`` and
``engine.onsite.counting``; this module only picks the period, adds rows
up per channel and overall, and writes them out.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.onsite.counting import period_message_stats
from engine.reminders import reminder_stats
from engine.reminders.stats import (
    MAX_PERIOD_DAYS,
    StepStats,
    daily_figures,
    failure_reasons,
    open_notices,
)
from engine.shops.models import Shop
from plugin.errors import ApiError

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    """Whole local days, ``since`` to ``until`` inclusive, and their UTC bounds."""

    since: date
    until: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), tzinfo=self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        after = self.until + timedelta(days=1)
        return datetime.combine(after, time(), tzinfo=self.zone).astimezone(UTC)


def shop_zone(shop: Shop) -> ZoneInfo:
    try:
        return ZoneInfo(shop.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def period_of(shop: Shop, query: dict[str, Any]) -> Period:
    """The asked period, by default the last 30 days up to today.

    Raises ``ApiError`` 422 for an end before its start or a period over a year.
    """
    zone = shop_zone(shop)
    today = datetime.now(zone).date()
    until = query.get("until") or today
    since = query.get("since") or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise ApiError(
            422, "invalid_period", "since: the period starts after it ends.", "since"
        )
    if (until - since).days + 1 > MAX_PERIOD_DAYS:
        raise ApiError(
            422,
            "invalid_period",
            f"since: a period covers at most {MAX_PERIOD_DAYS} days.",
            "since",
        )
    return Period(since, until, zone)


def results_of(shop: Shop, period: Period) -> dict[str, Any]:
    """Everything the results screen and ``GET /results`` show."""
    rows = reminder_stats(shop, period.start, period.end)
    by_channel: dict[str, list[StepStats]] = defaultdict(list)
    for row in rows:
        by_channel[row.channel].append(row)

    return {
        "since": period.since,
        "until": period.until,
        "currency": shop.currency or "USD",
        "totals": _summed(rows),
        "channels": [
            {"channel": channel, **_summed(channel_rows)}
            for channel, channel_rows in sorted(by_channel.items())
        ],
        "steps": [
            {"position": row.position, "channel": row.channel, **_figures(row)}
            for row in rows
        ],
        "days": [
            {**vars(day), "revenue": _money(day.revenue)}
            for day in daily_figures(shop, period.start, period.end, period.zone)
        ],
        "onsite": [
            vars(item) for item in period_message_stats(shop, period.start, period.end)
        ],
        "failures": [
            vars(item) for item in failure_reasons(shop, period.start, period.end)
        ],
        "notices": [
            {
                "kind": notice.kind,
                "channel": notice.channel,
                "detail": notice.detail,
                "until": notice.until,
                "created_at": notice.created_at,
            }
            for notice in open_notices(shop)
        ],
    }


CSV_COLUMNS = (
    "step",
    "channel",
    "sent",
    "failed",
    "clicked",
    "orders",
    "revenue",
    "cost",
    "conversion_rate",
    "roas",
)


def results_csv(shop: Shop, period: Period) -> str:
    """Per step and channel, then per channel, then overall, as CSV."""
    results = results_of(shop, period)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("since", "until", *CSV_COLUMNS))
    lines = [(row["position"], row["channel"], row) for row in results["steps"]] + [
        ("all", row["channel"], row) for row in results["channels"]
    ]
    lines.append(("all", "all", results["totals"]))
    for step, channel, row in lines:
        writer.writerow(
            (
                period.since.isoformat(),
                period.until.isoformat(),
                step,
                channel,
                *(_csv_value(row[name]) for name in CSV_COLUMNS[2:]),
            )
        )
    return out.getvalue()


def _figures(row: StepStats) -> dict[str, Any]:
    return {
        "sent": row.sent,
        "failed": row.failed,
        "clicked": row.clicked,
        "orders": row.orders,
        "revenue": _money(row.revenue),
        "cost": _money(row.cost),
        "conversion_rate": row.conversion_rate,
        "roas": row.roas,
    }


def _summed(rows: list[StepStats]) -> dict[str, Any]:
    sent = sum(row.sent for row in rows)
    orders = sum(row.orders for row in rows)
    revenue = sum((row.revenue for row in rows), Decimal(0))
    cost = sum((row.cost for row in rows), Decimal(0))
    return {
        "sent": sent,
        "failed": sum(row.failed for row in rows),
        "clicked": sum(row.clicked for row in rows),
        "orders": orders,
        "revenue": _money(revenue),
        "cost": _money(cost),
        "conversion_rate": orders / sent if sent else None,
        "roas": float(revenue / cost) if cost else None,
    }


def _money(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(Decimal("0.01")))


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return value
