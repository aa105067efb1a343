"""A bounded cache of values that expire, where concurrent loads of one key share one call.

What DID documents and status lists need alike: each is fetched at most once per lifetime, a
burst of requests for a value not yet cached makes one fetch (the others wait for it), and a
failure is not cached, so the next request tries again. Least recently used entries go first.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["TtlCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values by key, each until its own expiry, at most ``maxsize`` of them and, with
    ``size_of``, at most ``max_bytes`` of what they hold (a value above a sixteenth of that is
    handed to its callers but not kept)."""

    def __init__(
        self,
        *,
        maxsize: int,
        clock: Callable[[], float] = time.monotonic,
        max_bytes: int = 0,
        size_of: Callable[[V], int] | None = None,
    ) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V, int]] = OrderedDict()
        self._bytes = 0
        self._pending: dict[K, asyncio.Future[V]] = {}  # loads under way; kept only if still here

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """The bytes the entries hold, as ``size_of`` estimates them (0 without it)."""
        return self._bytes

    def clear(self) -> None:
        """Forget every value, including those still loading: their callers get them, but the
        cache does not keep them and later callers start a new load (what is loading may
        predate what made the caller clear the cache)."""
        self._entries.clear()
        self._bytes = 0
        self._pending.clear()

    def discard(self, key: K) -> None:
        """Forget one value, and a load of it under way, as :meth:`clear` does for all."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[2]
        self._pending.pop(key, None)

    def discard_where(self, predicate: Callable[[K], bool]) -> None:
        """Forget every value (and load under way) whose key matches ``predicate``."""
        for key in [k for k in (*self._entries, *self._pending) if predicate(k)]:
            self.discard(key)

    def get(self, key: K) -> V | None:
        """The value, if it is cached and has not expired."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def stale(self, key: K) -> V | None:
        """The value, even if it has expired (until it is replaced or evicted)."""
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    async def get_or_load(
        self, key: K, load: Callable[[], Awaitable[tuple[V, float]]], *, fresh: bool = False
    ) -> V:
        """The cached value, or the one ``load`` returns with its lifetime in seconds. Callers
        asking for a key while it loads wait for that one load, and share its error. The load
        runs as its own task: a caller that is cancelled (its client went away) leaves it
        running for the others. ``fresh`` loads even when a value is cached (joining a load
        under way); the cached value stays until the new one arrives, and if the load fails."""
        if not fresh:
            value = self.get(key)
            if value is not None:
                return value
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key, load))
            task.add_done_callback(_retrieve)  # no "never retrieved" warning if all left
            self._pending[key] = task
        return await asyncio.shield(task)

    async def _load(self, key: K, load: Callable[[], Awaitable[tuple[V, float]]]) -> V:
        this = asyncio.current_task()
        try:
            value, lifetime = await load()
        finally:
            current = self._pending.get(key) is this
            if current:
                del self._pending[key]
        if not current:  # cleared or discarded while it loaded
            return value
        bounded = self._size_of is not None
        size = self._size_of(value) if self._size_of is not None else 0
        self.discard(key)
        if bounded and size > self.max_bytes // 16:
            return value
        self._entries[key] = (self._clock() + lifetime, value, size)
        self._bytes += size
        while len(self._entries) > self.maxsize or (bounded and self._bytes > self.max_bytes):
            _, (_, _, evicted) = self._entries.popitem(last=False)
            self._bytes -= evicted
        return value


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
