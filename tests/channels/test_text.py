"""Counting in UTF-16 code units and grapheme clusters, and cutting between clusters."""

from __future__ import annotations

import pytest

from engine.channels.text import Unit, graphemes, measure, truncate

FAMILY = "👨\u200d👩\u200d👧\u200d👦"
TAIWAN_FLAG = "🇹🇼"
WAVE_LIGHT = "👋🏻"


@pytest.mark.parametrize(
    ("text", "utf16", "clusters"),
    [
        ("a", 1, 1),
        ("烏龍茶", 3, 3),
        ("𠀋", 2, 1),
        ("🍎", 2, 1),
        (WAVE_LIGHT, 4, 1),
        (TAIWAN_FLAG, 4, 1),
        (FAMILY, 11, 1),
        ("e\u0301", 2, 1),
        ("\u1100\u1161\u11a8", 3, 1),
        ("a\r\nb", 4, 3),
        ("❤️", 2, 1),
    ],
)
def test_measure_counts_like_line(text: str, utf16: int, clusters: int) -> None:
    # when / then: LINE's own examples (🍎 is 2, 👋🏻 is 4) and cluster counts
    assert measure(text, Unit.UTF16) == utf16
    assert measure(text, Unit.GRAPHEME) == clusters


def test_graphemes_keep_emoji_sequences_whole() -> None:
    # given
    text = f"{FAMILY}{TAIWAN_FLAG}{TAIWAN_FLAG}{WAVE_LIGHT}茶"

    # when
    clusters = graphemes(text)

    # then
    assert clusters == [FAMILY, TAIWAN_FLAG, TAIWAN_FLAG, WAVE_LIGHT, "茶"]


def test_truncate_keeps_text_exactly_at_limit() -> None:
    # given 40 code units, two of them one emoji
    text = "a" * 38 + "🍵"

    # when / then
    assert truncate(text, 40, Unit.UTF16) == text


def test_truncate_cuts_before_emoji_crossing_limit() -> None:
    # given 41 code units: the emoji would straddle the limit
    text = "a" * 39 + "🍵"

    # when
    cut = truncate(text, 40, Unit.UTF16)

    # then the emoji goes whole and the ellipsis takes its place
    assert cut == "a" * 39 + "…"
    assert measure(cut, Unit.UTF16) == 40


def test_truncate_never_splits_flag_or_skin_tone() -> None:
    # given
    text = "ab" + TAIWAN_FLAG + WAVE_LIGHT

    # when: room for "ab" + 3 units, less than either sequence
    cut = truncate(text, 6, Unit.UTF16)

    # then
    assert cut == "ab…"


def test_truncate_counts_graphemes_for_labels() -> None:
    # given 21 family emoji: 21 clusters, 231 code units
    text = FAMILY * 21

    # when
    cut = truncate(text, 20, Unit.GRAPHEME)

    # then
    assert cut == FAMILY * 19 + "…"
    assert measure(cut, Unit.GRAPHEME) == 20


def test_truncate_cjk_drops_trailing_space_before_ellipsis() -> None:
    # given
    text = "高山烏龍 冬茶 限量"

    # when
    cut = truncate(text, 6, Unit.UTF16)

    # then
    assert cut == "高山烏龍…"
