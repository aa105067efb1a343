"""Tiny timing harness shared by the benchmarks: best-of-N medians, printed as a Markdown table."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable


def measure(fn: Callable[[], object], *, number: int = 2000, repeat: int = 7) -> float:
    """Median seconds per call over ``repeat`` runs of ``number`` calls."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def measure_async(fn: Callable[[], Awaitable[object]], *, number: int = 2000, repeat: int = 7) -> float:
    """Like :func:`measure` for a coroutine function, all calls in one event loop."""

    async def run() -> float:
        await fn()
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(number):
                await fn()
            samples.append((time.perf_counter() - start) / number)
        return statistics.median(samples)

    return asyncio.run(run())


def table(rows: list[tuple[str, float]], baseline: float, baseline_name: str) -> str:
    lines = [f"| operation | µs | × {baseline_name} |", "| --- | ---: | ---: |"]
    for name, seconds in rows:
        lines.append(f"| {name} | {seconds * 1e6:,.1f} | {seconds / baseline:.2f} |")
    return "\n".join(lines)
