"""Charts drawn on the server as SVG: columns per day, bars per channel or step.

Each chart is one ``<svg>`` with a ``viewBox`` that scales to its container,
so it never widens a phone's screen; every column and bar has a ``<title>``
giving its exact value, and the chart a text label for screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 220
MARGIN_LEFT = 44
MARGIN_BOTTOM = 28
MARGIN_TOP = 12
BAR_HEIGHT = 26


@dataclass(frozen=True)
class Series:
    """One set of values drawn in one colour (``css`` names its class)."""

    name: str
    values: Sequence[float | int | Decimal]
    css: str


def column_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    formatter: Callable[[float], str] = lambda value: f"{value:g}",
) -> Markup:
    """Columns per label (days), the series side by side within each label."""
    top = max((float(v) for s in series for v in s.values), default=0.0) or 1.0
    plot_width = WIDTH - MARGIN_LEFT - 8
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_width / max(len(labels), 1)
    bar = max(slot * 0.8 / max(len(series), 1), 1.0)

    parts = [_axis(top, plot_height, formatter)]
    for index, label in enumerate(labels):
        x0 = MARGIN_LEFT + index * slot + slot * 0.1
        for offset, item in enumerate(series):
            value = float(item.values[index])
            height = plot_height * value / top
            y = MARGIN_TOP + plot_height - height
            parts.append(
                f'<rect class="{item.css}" x="{x0 + offset * bar:.1f}" y="{y:.1f}"'
                f' width="{bar:.1f}" height="{height:.1f}">'
                f"<title>{escape(label)}: {escape(item.name)}"
                f" {escape(formatter(value))}</title></rect>"
            )
    parts.append(_day_labels(labels, slot, plot_height))
    return _svg(title, HEIGHT, parts, series)


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, float | int | Decimal, str]],
    css: str = "bar-a",
) -> Markup:
    """Horizontal bars, one per row of (label, value, text shown beside it)."""
    top = max((float(value) for _, value, _ in rows), default=0.0) or 1.0
    height = MARGIN_TOP + BAR_HEIGHT * max(len(rows), 1) + 8
    label_width = 150
    room = WIDTH - label_width - 90
    parts = []
    for index, (label, value, text) in enumerate(rows):
        y = MARGIN_TOP + index * BAR_HEIGHT
        width = room * float(value) / top
        parts.append(
            f'<text class="label" x="{label_width - 6}" y="{y + 17}"'
            f' text-anchor="end">{escape(label)}</text>'
            f'<rect class="{css}" x="{label_width}" y="{y + 4}" width="{width:.1f}"'
            f' height="{BAR_HEIGHT - 8}"><title>{escape(label)}: {escape(text)}'
            f"</title></rect>"
            f'<text class="value" x="{label_width + width + 6:.1f}" y="{y + 17}">'
            f"{escape(text)}</text>"
        )
    if not rows:
        parts.append(f'<text class="label" x="8" y="{MARGIN_TOP + 17}">No data</text>')
    return _svg(title, height, parts, ())


def _axis(top: float, plot_height: float, formatter: Callable[[float], str]) -> str:
    base = MARGIN_TOP + plot_height
    return (
        f'<line class="axis" x1="{MARGIN_LEFT}" y1="{base}" x2="{WIDTH - 8}"'
        f' y2="{base}"/>'
        f'<text class="label" x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + 10}"'
        f' text-anchor="end">{escape(formatter(top))}</text>'
        f'<text class="label" x="{MARGIN_LEFT - 6}" y="{base}"'
        f' text-anchor="end">0</text>'
    )


def _day_labels(labels: Sequence[str], slot: float, plot_height: float) -> str:
    # A label every few columns, so they never overlap.
    every = max(1, round(len(labels) / 8))
    y = MARGIN_TOP + plot_height + 18
    return "".join(
        f'<text class="label" x="{MARGIN_LEFT + i * slot + slot / 2:.1f}" y="{y}"'
        f' text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    )


def _svg(
    title: str, height: float, parts: Sequence[str], series: Sequence[Series]
) -> Markup:
    legend = "".join(
        f'<span class="key {item.css}">{escape(item.name)}</span>' for item in series
    )
    return Markup(
        f'<figure class="chart"><figcaption>{escape(title)}'
        f"{' ' + legend if legend else ''}</figcaption>"
        f'<svg viewBox="0 0 {WIDTH} {height:.0f}" role="img"'
        f' aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">'
        f"{''.join(parts)}</svg></figure>"
    )
