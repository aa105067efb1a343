"""TtlCache: one load per key at a time, lifetimes, failures not kept, least recently used out."""

from __future__ import annotations

import asyncio

import pytest

from didvc.cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_concurrent_loads_of_one_key_share_one_call() -> None:
    cache = TtlCache[str, int](maxsize=8)
    calls = 0
    release = asyncio.Event()

    async def load() -> tuple[int, float]:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42, 60.0

    waiting = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == [42] * 5
    assert calls == 1
    assert cache.get("k") == 42


async def test_a_value_lives_for_its_own_lifetime() -> None:
    clock = Clock()
    cache = TtlCache[str, str](maxsize=8, clock=clock)
    await cache.get_or_load("short", _value("a", 1.0))
    await cache.get_or_load("long", _value("b", 10.0))
    clock.now = 5.0
    assert cache.get("short") is None
    assert cache.get("long") == "b"
    assert await cache.get_or_load("short", _value("c", 1.0)) == "c"


async def test_a_failure_reaches_every_waiter_and_is_not_kept() -> None:
    cache = TtlCache[str, int](maxsize=8)
    release = asyncio.Event()

    async def failing() -> tuple[int, float]:
        await release.wait()
        raise LookupError("gone")

    waiting = [asyncio.create_task(cache.get_or_load("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    for outcome in await asyncio.gather(*waiting, return_exceptions=True):
        assert isinstance(outcome, LookupError)
    assert await cache.get_or_load("k", _value(7, 60.0)) == 7


async def test_the_least_recently_used_key_goes_first() -> None:
    cache = TtlCache[int, int](maxsize=2)
    await cache.get_or_load(1, _value(1, 60.0))
    await cache.get_or_load(2, _value(2, 60.0))
    assert cache.get(1) == 1  # 2 is now the least recently used
    await cache.get_or_load(3, _value(3, 60.0))
    assert (cache.get(1), cache.get(2), cache.get(3)) == (1, None, 3)
    assert len(cache) == 2


async def test_bytes_bound_the_cache_as_entries_do() -> None:
    """With ``size_of``, the values' estimated bytes are capped too: the least recently used go
    first, a value replaced is counted once, and one above a sixteenth of the cap is handed to
    its caller but not kept."""
    cache = TtlCache[int, int](maxsize=100, max_bytes=1600, size_of=lambda v: v)
    for key in range(4):
        assert await cache.get_or_load(key, _value(90, 60.0)) == 90
    assert cache.size == 360
    await cache.get_or_load(0, _value(90, 60.0), fresh=True)  # replaced, not added
    assert (cache.size, len(cache)) == (360, 4)
    assert await cache.get_or_load(9, _value(101, 60.0)) == 101  # over 1600 // 16
    assert cache.get(9) is None
    for key in range(10, 24):
        await cache.get_or_load(key, _value(100, 60.0))
    assert cache.size <= 1600
    assert cache.get(1) is None and cache.get(0) == 90  # 1 was the least recently used
    cache.discard(0)
    assert cache.size == sum(100 if k >= 10 else 90 for k in range(24) if cache.get(k) is not None)


async def test_a_cancelled_caller_leaves_the_load_to_the_others() -> None:
    cache = TtlCache[str, int](maxsize=8)
    release = asyncio.Event()

    async def slow() -> tuple[int, float]:
        await release.wait()
        return 5, 60.0

    first = asyncio.create_task(cache.get_or_load("k", slow))
    second = asyncio.create_task(cache.get_or_load("k", slow))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    release.set()
    assert await second == 5
    assert cache.get("k") == 5


async def test_a_value_loading_when_the_cache_is_cleared_is_not_kept() -> None:
    cache = TtlCache[str, str](maxsize=8)
    release = asyncio.Event()

    async def stale() -> tuple[str, float]:
        await release.wait()
        return "before the clear", 60.0

    first = asyncio.create_task(cache.get_or_load("k", stale))
    await asyncio.sleep(0)
    cache.clear()  # e.g. an operator revoked something: the list being fetched may be old
    second = asyncio.create_task(cache.get_or_load("k", _value("after the clear", 60.0)))
    assert await second == "after the clear"  # a new load, not the one under way
    release.set()
    assert await first == "before the clear"  # its caller still gets its answer
    assert cache.get("k") == "after the clear"


def _value(value: object, lifetime: float):  # type: ignore[no-untyped-def]
    async def load() -> tuple[object, float]:
        return value, lifetime

    return load
