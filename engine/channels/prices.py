"""Prices as a shopper reads them in a message: ``NT$1,290``, ``¥1,290``, ``$12.90``.

A small table of symbols and minor units for the currencies our shops sell
in, rather than Babel: CLDR gives TWD two decimals and a "$" in zh-TW, while
Taiwanese shops and shoppers write ``NT$1,290``, so Babel's answer would need
overriding for the main market anyway.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 code -> (symbol written before the amount, digits after the point).
# TWD has minor units on paper but prices are whole dollars in practice.
CURRENCIES: dict[str, tuple[str, int]] = {
    "TWD": ("NT$", 0),
    "JPY": ("¥", 0),
    "KRW": ("₩", 0),
    "VND": ("₫", 0),
    "USD": ("$", 2),
    "HKD": ("HK$", 2),
    "SGD": ("S$", 2),
    "MYR": ("RM", 2),
    "THB": ("฿", 2),
    "PHP": ("₱", 2),
    "CNY": ("CN¥", 2),
    "AUD": ("A$", 2),
    "CAD": ("CA$", 2),
    "NZD": ("NZ$", 2),
    "EUR": ("€", 2),
    "GBP": ("£", 2),
}
DEFAULT_MINOR_DIGITS = 2

# Languages that write 1.290,50 rather than 1,290.50.
_DECIMAL_COMMA_LANGUAGES = frozenset(
    {"de", "es", "it", "nl", "pt", "id", "tr", "vi", "da", "fr", "pl", "ru", "sv"}
)


def format_price(amount: Decimal, currency: str, locale: str = "en") -> str:
    """Format ``amount`` of ``currency`` for a shopper reading ``locale``.

    Known currencies get their symbol and minor units (``NT$1,290``,
    ``¥1,290``, ``$12.90``), rounded half up; any other code is written before
    the amount with two decimals (``CHF 12.90``). The locale ("zh-TW",
    "ja_JP", "de") only chooses the separators; the symbol always leads.
    """
    code = currency.strip().upper()
    symbol, digits = CURRENCIES.get(code, (f"{code}\u00a0", DEFAULT_MINOR_DIGITS))

    value = Decimal(amount).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    number = f"{abs(value):,.{digits}f}"
    if _language(locale) in _DECIMAL_COMMA_LANGUAGES:
        number = number.translate(str.maketrans(",.", ".,"))

    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{number}"


def _language(locale: str) -> str:
    return locale.replace("_", "-").split("-", 1)[0].lower()
