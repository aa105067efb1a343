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
    """Values by key, each until its own expiry, at most ``maxsize`` of them."""

    def __init__(self, *, maxsize: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.maxsize = maxsize
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._pending: dict[K, asyncio.Future[V]] = {}  # loads under way; kept only if still here

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every value, including those still loading: their callers get them, but the
        cache does not keep them and later callers start a new load (what is loading may
        predate what made the caller clear the cache)."""
        self._entries.clear()
        self._pending.clear()

    def discard(self, key: K) -> None:
        """Forget one value, and a load of it under way, as :meth:`clear` does for all."""
        self._entries.pop(key, None)
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
        self._entries[key] = (self._clock() + lifetime, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return value


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
