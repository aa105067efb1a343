"""A least-recently-used map bounded by its number of entries and by the bytes they stand for.

The verifier's caches hold what callers sent (credentials, presentations). Anyone can make a
credential that verifies (a self-issued one, when the policy trusts any issuer), so a bound on
the number of entries alone would let large ones pin memory: 4,096 presentations of 256 KiB are
a gigabyte. Each entry therefore carries its size (the length of the exact bytes it was keyed
by) and the total is capped; an entry above a sixteenth of the cap is simply not kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["BoundedLru"]

V = TypeVar("V")


class BoundedLru(Generic[V]):
    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        """The bytes the entries stand for."""
        return self._bytes

    def get(self, key: Hashable) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: Hashable, value: V, size: int) -> bool:
        """Keep ``value``, evicting the least recently used entries; False when it is too large."""
        if size > self.max_bytes // 16:
            return False
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        self._items[key] = (value, size)
        self._bytes += size
        while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
            _, (_, evicted) = self._items.popitem(last=False)
            self._bytes -= evicted
        return True

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0
