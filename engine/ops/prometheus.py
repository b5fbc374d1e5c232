"""Prometheus's text exposition format (version 0.0.4), written by hand.

Every figure Revisit exposes is read on scrape from state all processes
share (Redis, the database), so any process gives the same answer and none
keeps counters of its own. That is exactly what ``prometheus_client``'s
multiprocess mode (a shared directory of per-process files) exists to
avoid needing, and without per-process counters its registry would only
format these lines; the format is small enough to write here, tested line
for line. Format: https://prometheus.io/docs/instrumenting/exposition_formats/
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
TYPES = ("gauge", "counter")


@dataclass(frozen=True)
class Sample:
    """One line: the family's name, its labels and its value."""

    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass
class Family:
    """A metric with its HELP and TYPE lines and its samples."""

    name: str
    help: str
    type: str = "gauge"
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"{self.name!r} is not a Prometheus metric name.")
        if self.type not in TYPES:
            raise ValueError(f"Metric type {self.type!r} is not one of {TYPES}.")

    def add(self, value: float, **labels: str) -> Family:
        """Add a sample; returns the family, for chaining."""
        for label in labels:
            if not _LABEL.match(label) or label.startswith("__"):
                raise ValueError(f"{label!r} is not a Prometheus label name.")
        self.samples.append(Sample(tuple(sorted(labels.items())), value))
        return self


def render(families: Iterable[Family]) -> str:
    """The exposition text: per family a HELP and a TYPE line, then its samples."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for sample in family.samples:
            lines.append(
                f"{family.name}{_labels(sample.labels)} {format_value(sample.value)}"
            )
    return "\n".join(lines) + "\n"


def format_value(value: float) -> str:
    """A sample's value as Prometheus parses it: integers bare, NaN and ±Inf named."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    pairs = ",".join(f'{name}="{_escape_label(value)}"' for name, value in labels)
    return "{" + pairs + "}"


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
