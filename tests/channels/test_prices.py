"""Prices as shoppers read them: TWD, JPY and USD, and the default."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.channels.prices import format_price


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("1290", "TWD", "zh-TW", "NT$1,290"),
        ("1290.00", "TWD", "zh-TW", "NT$1,290"),
        ("1290.5", "TWD", "zh-TW", "NT$1,291"),
        ("1290", "JPY", "ja-JP", "¥1,290"),
        ("0", "JPY", "ja", "¥0"),
        ("12.9", "USD", "en-US", "$12.90"),
        ("1234567.891", "USD", "en", "$1,234,567.89"),
        ("0.005", "USD", "en", "$0.01"),
        ("12.9", "usd", "en", "$12.90"),
        ("1290", "EUR", "de-DE", "€1.290,00"),
        ("12.9", "CHF", "en", "CHF\u00a012.90"),
        ("-5", "USD", "en", "-$5.00"),
    ],
)
def test_format_price(amount: str, currency: str, locale: str, expected: str) -> None:
    # when / then
    assert format_price(Decimal(amount), currency, locale) == expected
