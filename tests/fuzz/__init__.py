"""Property-based fuzzing of every endpoint that takes outside input.

Each test sends hypothesis-made input (hostile values in each field, random
bodies, wrong content types, oversized bodies) and holds every answer to
one rule: never a 5xx; a refusal is JSON with ``code`` and ``detail``; and a
refused request changes nothing stored (``stored_state``: every row of every
table, and Redis's keys). Example counts are bounded so the folder runs in
about a minute.

The strategies here make the values; each test file knows its endpoint's
valid body and puts a hostile value in one field at a time.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.db import db
from engine.runtime import current

# Function-scoped fixtures (the app, the shop) are shared by a test's
# examples on purpose: each example compares the state before and after.
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    # CI replays the same examples every run, so a submission never fails on
    # a case that only a new draw found; a developer's run explores anew.
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Examples that run a worker over what they delivered cost ten times more.
FUZZ_WITH_WORKER = settings(FUZZ, max_examples=20)

# Strings the browser never sends but an attacker can: NUL (PostgreSQL's text
# refuses it), a lone surrogate (no UTF-8 form), direction overrides,
# astral-plane letters, markup and SQL.
NASTY_STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\u202egnp.exe",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🐶",
    "中文字",
    "<script>alert(1)</script>",
    "'; DROP TABLE shops; --",
    "%s%n%x",
    "../../etc/passwd",
    "javascript:alert(1)",
    "https://",
    "\r\nSet-Cookie: a=b",
    " ",
    "NaN",
    "-1",
    "9" * 40,
    "2026-13-45T99:99:99Z",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+14:00",
]

HUGE_NUMBERS = [
    -1,
    0,
    -(2**31),
    2**31,
    2**63,
    -(2**63) - 1,
    10**40,
    -(10**80),
    1e308,
    -1e308,
    0.1,
    float("inf"),
    float("-inf"),
    float("nan"),
]


# Every nasty value, for sweeps that put each one in each field once.
EVERY_NASTY_VALUE = [
    *NASTY_STRINGS,
    *HUGE_NUMBERS,
    True,
    ["list"],
    {"nested": {"object": "x"}},
    "y" * 70_000,
]


def hostile_strings() -> st.SearchStrategy[str]:
    """Short, nasty, unicode (surrogates included) and very long strings."""
    return st.one_of(
        st.sampled_from(NASTY_STRINGS),
        st.text(max_size=30),
        st.text(st.characters(codec=None, categories=["Cs", "Cc", "So"]), max_size=8),
        st.integers(256, 40_000).map(lambda size: "x" * size),
    )


def hostile_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(HUGE_NUMBERS),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(),
        hostile_strings(),
    )


def hostile_values() -> st.SearchStrategy[Any]:
    """Any JSON value: scalars, and lists and objects where scalars belong."""
    return st.recursive(
        hostile_scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(hostile_strings(), inner, max_size=4),
        ),
        max_leaves=8,
    )


# Header values as a server hands them over: latin-1 text, no line breaks.
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=200
)


def field_paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Every key path of a payload, through the first element of each list."""
    paths = [path] if path else []
    if isinstance(value, dict):
        for key, inner in value.items():
            paths += field_paths(inner, (*path, key))
    elif isinstance(value, list) and value:
        paths += field_paths(value[0], (*path, 0))
    return paths


def nested(depth: int) -> str:
    """A JSON text nested ``depth`` deep, past any recursion limit."""
    return "[" * depth + "]" * depth


def random_bodies() -> st.SearchStrategy[bytes]:
    """Bodies that are not the object the endpoint wants: any bytes, any JSON
    value, and JSON nested far too deep."""
    return st.one_of(
        st.binary(max_size=200),
        hostile_values().map(lambda value: dumps(value).encode()),
        st.integers(5_000, 30_000).map(lambda depth: nested(depth).encode()),
        st.integers(5_000, 9_000).map(lambda depth: ('{"a":' * depth).encode()),
    )


def dumps(value: Any) -> str:
    """JSON as a client may write it: NaN, Infinity and lone surrogates kept."""
    return json.dumps(value)


def with_value(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict:
    """A copy of ``body`` with ``value`` at ``path`` (``("page", "url")``)."""
    copy = json.loads(json.dumps(body))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


def without(body: dict[str, Any], path: tuple[str | int, ...]) -> dict:
    copy = json.loads(json.dumps(body))
    target = copy
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return copy


def stored_state() -> dict[str, Any]:
    """Every row of every table, and Redis's keys: what a refusal must not touch."""
    # Committed rows only: the test client's requests share this session,
    # and what a request left uncommitted was never stored.
    db.session.rollback()
    state: dict[str, Any] = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).all()
        state[table.name] = sorted(repr(tuple(row)) for row in rows)
    db.session.rollback()
    state["redis"] = _redis_keys()
    return state


def _redis_keys() -> dict[bytes, bool]:
    """Each Redis key, and whether it expires (and so may vanish by itself)."""
    redis = current().redis
    keys = sorted(redis.scan_iter(count=1000))
    with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.pttl(key)
        ttls = pipe.execute()
    return {key: ttl >= 0 for key, ttl in zip(keys, ttls, strict=True)}


def assert_answer_shape(response: TestResponse) -> None:
    """Never a 5xx; any error is JSON ``{"code", "detail"}``."""
    body = response.get_data(as_text=True)
    assert response.status_code < 500, body
    if response.status_code >= 400:
        assert response.mimetype == "application/json", body
        answer = response.get_json()
        assert isinstance(answer.get("code"), str) and answer["code"], body
        assert isinstance(answer.get("detail"), str) and answer["detail"], body


def assert_refused_cleanly(response: TestResponse, before: dict[str, Any]) -> None:
    """A 4xx in the one error shape that left everything stored as it was."""
    assert_answer_shape(response)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert_unchanged(before)


def assert_unchanged(before: dict[str, Any]) -> None:
    """Nothing stored changed since ``before`` (a ``stored_state``)."""
    after = stored_state()
    changed = {
        name: {
            "gone": sorted(set(before[name]) - set(after[name])),
            "new": sorted(set(after[name]) - set(before[name])),
        }
        for name in before
        if name != "redis" and before[name] != after[name]
    }
    assert changed == {}, changed

    # Keys with a time to live (job results, locks) may expire meanwhile.
    keys_before, keys_after = before["redis"], after["redis"]
    added = sorted(keys_after.keys() - keys_before.keys())
    assert added == [], added
    lost = [
        key for key in keys_before.keys() - keys_after.keys() if not keys_before[key]
    ]
    assert lost == [], lost


def assert_names_field(response: TestResponse, field: str) -> None:
    """A refusal of a field's value says which field (``page.url``, ``score``)."""
    answer = response.get_json()
    named = answer.get("field") or answer["detail"]
    assert field in named, (field, answer)
