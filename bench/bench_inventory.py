"""Inventory benchmark: one page of the agent inventory at 10,000 / 100,000 / 1,000,000 credentials.

Run: ``python bench/bench_inventory.py [--sizes 10000,100000,1000000]``. Each size is a SQLite
issuer store made by ``Issuer.create``, its credential rows written directly (the inventory reads
rows, not signatures; 1% revoked, 100,000 distinct agents). Timed through the library, medians of
7: the first page (50 entries), a page from the middle (a cursor), the revoked credentials (a
page), one agent's credentials, the counts by state, and, up to 100,000, the whole inventory
without a page (what ``issuer list`` read before issue 13).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from didvc.sealing import KdfParams
from issuer import Issuer

PAGE = 50


def _fill(path: Path, count: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with sqlite3.connect(path) as db:
        for first in range(0, count, 100_000):
            rows = []
            for n in range(first, min(first + 100_000, count)):
                issued = (start + timedelta(microseconds=n * 37)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                rows.append(
                    (
                        f"urn:uuid:{n:012d}",
                        f"did:example:agent-{n % 100_000}",
                        "Acme",
                        '["VerifiableCredential","AgentCredential"]',
                        '["orders:read"]',
                        "2026-01-01T00:00:00Z",
                        "2099-01-01T00:00:00Z",
                        "revoked" if n % 100 == 7 else "active",
                        "{}",
                        "ldp",
                        issued,
                    )
                )
            db.executemany(
                "INSERT INTO credentials (id, subject, owner, types, scopes, valid_from, valid_until, status,"
                " body, format, issued) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )


async def _median(call: Callable[[], Awaitable[Any]], repeat: int = 7) -> float:
    await call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def _measure(directory: Path, count: int) -> dict[str, float]:
    path = directory / f"inventory-{count}.db"
    kdf = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)
    await (await Issuer.create(path, passphrase="bench", kdf=kdf, base_url="https://status.example")).close()
    _fill(path, count)
    async with await Issuer.open(path, passphrase="bench") as issuer:
        pages = await issuer.inventory(limit=PAGE)
        for _ in range(min(count // PAGE // 2, 40)):  # walk a little way in: a cursor from inside
            pages = await issuer.inventory(limit=PAGE, after=pages[-1].cursor)
        middle = pages[-1].cursor
        figures = {
            "first page": await _median(lambda: issuer.inventory(limit=PAGE)),
            "the page after a cursor": await _median(lambda: issuer.inventory(limit=PAGE, after=middle)),
            "revoked, one page": await _median(lambda: issuer.inventory(status="revoked", limit=PAGE)),
            "one agent's credentials": await _median(
                lambda: issuer.inventory(agent="did:example:agent-4242")
            ),
            "counts by state": await _median(issuer.inventory_counts, repeat=3),
        }
        if count <= 100_000:
            figures["everything, no page"] = await _median(issuer.inventory, repeat=3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    with tempfile.TemporaryDirectory() as directory:
        results = {size: asyncio.run(_measure(Path(directory), size)) for size in sizes}
    print("## Inventory (bench/bench_inventory.py)\n")
    print("| ms | " + " | ".join(f"{size:,} credentials" for size in sizes) + " |")
    print("| --- |" + " ---: |" * len(sizes))
    for name in results[sizes[0]]:
        cells = [f"{results[s][name] * 1000:,.2f}" if name in results[s] else "—" for s in sizes]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
