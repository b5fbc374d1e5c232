"""Counting and shortening text in the units the chat platforms count.

LINE counts text in UTF-16 code units, so 🍎 counts 2 and 👋🏻 counts 4, but
counts action labels and postback display texts in grapheme clusters
(https://developers.line.biz/en/docs/messaging-api/text-character-count/).
Messenger only says "characters"; we count UTF-16 code units there too, the
stricter reading, so anything we accept fits whichever way it counts.
Shortening always cuts between grapheme clusters, so no emoji is split.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

ELLIPSIS = "…"

_ZWJ = "\u200d"
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)
_TAGS = range(0xE0020, 0xE0080)
_VARIATION_SELECTORS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))
# Hangul jamo, for text stored decomposed (conjoining L, V and T jamo).
_HANGUL_L = (range(0x1100, 0x1160), range(0xA960, 0xA980))
_HANGUL_V = (range(0x1160, 0x11A8), range(0xD7B0, 0xD7C7))
_HANGUL_T = (range(0x11A8, 0x1200), range(0xD7CB, 0xD7FC))
_HANGUL_SYLLABLES = range(0xAC00, 0xD7A4)


class Unit(StrEnum):
    """How a platform counts a property's length."""

    UTF16 = "UTF-16 code units"
    GRAPHEME = "grapheme clusters"


def measure(text: str, unit: Unit) -> int:
    """The length of ``text`` counted in ``unit``."""
    if unit is Unit.UTF16:
        return len(text.encode("utf-16-le")) // 2
    return len(graphemes(text))


def truncate(text: str, limit: int, unit: Unit) -> str:
    """``text`` if it fits in ``limit``, else its longest head that fits plus "…".

    Trailing spaces before the ellipsis are dropped. For display text only
    (titles, labels, alt text): never for data a program reads back.
    """
    if measure(text, unit) <= limit:
        return text

    room = limit - measure(ELLIPSIS, unit)
    kept: list[str] = []
    used = 0
    for cluster in graphemes(text):
        size = measure(cluster, unit) if unit is Unit.UTF16 else 1
        if used + size > room:
            break
        kept.append(cluster)
        used += size
    return "".join(kept).rstrip() + ELLIPSIS


def graphemes(text: str) -> list[str]:
    """Split ``text`` into user-perceived characters (extended grapheme clusters).

    A compact reading of Unicode UAX #29 covering what shop text holds:
    combining marks, variation selectors, skin-tone modifiers, ZWJ emoji
    sequences, flag pairs, tag sequences, CR LF and conjoining Hangul jamo.
    Indic conjuncts (rule GB9c) and prepended marks are split where the full
    algorithm would keep them together, which only makes a cut land earlier.
    """
    clusters: list[str] = []
    for char in text:
        if clusters and _continues(clusters[-1], char):
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def _continues(cluster: str, char: str) -> bool:
    previous = cluster[-1]
    if previous == "\r":
        return char == "\n"
    if char < "\u0300":
        # Nothing below the combining marks ever extends a cluster.
        return False
    if unicodedata.category(previous) == "Cc":
        return False
    if _extends(char):
        return True
    if previous == _ZWJ:
        return _is_pictographic(char)
    if ord(char) in _REGIONAL_INDICATORS:
        return _trailing_regional_indicators(cluster) % 2 == 1
    return _joins_hangul(previous, char)


def _extends(char: str) -> bool:
    code = ord(char)
    return (
        char == _ZWJ
        or unicodedata.category(char) in ("Mn", "Me", "Mc")
        or code in _EMOJI_MODIFIERS
        or code in _TAGS
        or any(code in block for block in _VARIATION_SELECTORS)
    )


def _is_pictographic(char: str) -> bool:
    code = ord(char)
    return code >= 0x1F000 or 0x2100 <= code <= 0x2BFF or char in "©®"


def _trailing_regional_indicators(cluster: str) -> int:
    count = 0
    for char in reversed(cluster):
        if ord(char) not in _REGIONAL_INDICATORS:
            break
        count += 1
    return count


def _joins_hangul(previous: str, char: str) -> bool:
    before, after = _hangul_kind(previous), _hangul_kind(char)
    if before == "L":
        return after in ("L", "V", "LV", "LVT")
    if before in ("LV", "V"):
        return after in ("V", "T")
    if before in ("LVT", "T"):
        return after == "T"
    return False


def _hangul_kind(char: str) -> str | None:
    code = ord(char)
    if code in _HANGUL_SYLLABLES:
        return "LV" if (code - 0xAC00) % 28 == 0 else "LVT"
    for kind, blocks in (("L", _HANGUL_L), ("V", _HANGUL_V), ("T", _HANGUL_T)):
        if any(code in block for block in blocks):
            return kind
    return None
