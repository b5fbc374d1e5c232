"""The funnel day by day, for the panel's chart."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.binding import funnel
from engine.binding.funnel import FunnelDay, funnel_days
from engine.db import db
from engine.shops.models import Shop


def test_funnel_days_keeps_empty_days_and_channels(shop: Shop) -> None:
    # given
    funnel.count(
        shop.id, "messenger", funnel.CLICKED, datetime(2026, 12, 2, tzinfo=UTC)
    )
    db.session.commit()

    # when
    days = funnel_days(shop, date(2026, 12, 1), date(2026, 12, 2))

    # then
    assert days == [
        FunnelDay(date(2026, 12, 1), "line", 0, 0, 0),
        FunnelDay(date(2026, 12, 1), "messenger", 0, 0, 0),
        FunnelDay(date(2026, 12, 2), "line", 0, 0, 0),
        FunnelDay(date(2026, 12, 2), "messenger", 0, 1, 0),
    ]


@pytest.mark.parametrize(
    ("since", "until"),
    [(date(2026, 12, 2), date(2026, 12, 1)), (date(2025, 1, 1), date(2026, 12, 1))],
)
def test_funnel_days_refuses_a_backwards_or_overlong_period(
    shop: Shop, since: date, until: date
) -> None:
    # when / then
    with pytest.raises(ValueError, match="No funnel period"):
        funnel_days(shop, since, until)
