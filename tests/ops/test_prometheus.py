"""``engine.ops.prometheus``: the text exposition format, line for line."""

from __future__ import annotations

import math

import pytest

from engine.ops.prometheus import Family, format_value, render


def test_render_writes_help_type_and_samples_in_order() -> None:
    # given
    depth = Family("revisit_rq_queued_jobs", "Jobs waiting in the RQ queue.")
    depth.add(3, queue="webhooks").add(0, queue="default")
    refused = Family(
        "revisit_widget_rate_limited_total", "Requests refused.", type="counter"
    ).add(7, budget="ip")
    lonely = Family("revisit_reminder_sends_due", "Sends due.").add(12)

    # when
    text = render([depth, refused, lonely])

    # then
    assert text == (
        "# HELP revisit_rq_queued_jobs Jobs waiting in the RQ queue.\n"
        "# TYPE revisit_rq_queued_jobs gauge\n"
        'revisit_rq_queued_jobs{queue="webhooks"} 3\n'
        'revisit_rq_queued_jobs{queue="default"} 0\n'
        "# HELP revisit_widget_rate_limited_total Requests refused.\n"
        "# TYPE revisit_widget_rate_limited_total counter\n"
        'revisit_widget_rate_limited_total{budget="ip"} 7\n'
        "# HELP revisit_reminder_sends_due Sends due.\n"
        "# TYPE revisit_reminder_sends_due gauge\n"
        "revisit_reminder_sends_due 12\n"
    )


def test_render_escapes_help_and_label_values() -> None:
    # given a help text and a label value with a backslash, a quote, a newline
    family = Family("revisit_test", 'Path C:\\queue\nsecond "line"')
    family.add(1, queue='we"ird\\na\nme', b="x")

    # when
    text = render([family])

    # then help escapes \ and newline; labels also ", and come sorted by name
    assert text == (
        '# HELP revisit_test Path C:\\\\queue\\nsecond "line"\n'
        "# TYPE revisit_test gauge\n"
        'revisit_test{b="x",queue="we\\"ird\\\\na\\nme"} 1\n'
    )


def test_render_keeps_a_family_without_samples() -> None:
    assert render([Family("revisit_test", "Nothing yet.")]) == (
        "# HELP revisit_test Nothing yet.\n# TYPE revisit_test gauge\n"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (42, "42"),
        (42.0, "42"),
        (1.5, "1.5"),
        (0.001, "0.001"),
        (-3.25, "-3.25"),
        (1e20, "1e+20"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_format_value(value: float, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize("name", ["1abc", "with-dash", "with space", ""])
def test_family_refuses_a_bad_metric_name(name: str) -> None:
    with pytest.raises(ValueError, match="metric name"):
        Family(name, "help")


@pytest.mark.parametrize("label", ["__reserved", "with-dash", "9lives"])
def test_family_refuses_a_bad_label_name(label: str) -> None:
    with pytest.raises(ValueError, match="label name"):
        Family("revisit_test", "help").add(1, **{label: "x"})


def test_family_refuses_an_unknown_type() -> None:
    with pytest.raises(ValueError, match="type"):
        Family("revisit_test", "help", type="summary")
