"""A per-process memo whose entries expire, for the widget's hottest reads.

Every storefront page view needs the shop behind a widget key and the shop's
on-site rules; reading them from the database each time would cost more than
everything else the request does. A few seconds of staleness is the price:
a change made in another process shows after at most ``ttl`` seconds.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


_memos: weakref.WeakSet[ExpiringMemo] = weakref.WeakSet()


class ExpiringMemo(Generic[K, V]):
    """Remembers ``load()``'s answer per key for ``ttl`` seconds.

    Thread-safe enough for its purpose: two threads missing at once both
    load, and the later answer stays. Past ``max_entries`` (a flood of
    unknown keys) it starts over rather than growing.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        _memos.add(self)

    def get(self, key: K, load: Callable[[], V]) -> V:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]

        value = load()
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (now + self.ttl, value)
        return value

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


def forget_all_memos() -> None:
    """Empty every memo of this process, as if it had just started.

    For tests: each starts on emptied tables, where a new shop may get the id
    of an earlier test's shop (SQLite reuses row ids), and must not be served
    that shop's remembered settings.
    """
    for memo in list(_memos):
        memo.clear()
