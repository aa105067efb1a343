"""Issuer benchmark: issuance rate over a 10,000-credential batch, and status-list publishing.

Run: ``python bench/bench_issuer.py``. Issuance goes through ``Issuer.issue`` on a SQLite store
(allocation of two status indexes, signing, the record and its audit-log entry with a signed
checkpoint, one transaction per credential), and through ``Issuer.issue_group`` as ``batch``
does (one transaction per 50 credentials).
Publishing signs one BitstringStatusListCredential whose list has 1% of its entries set; serving
an unchanged list (what `didvc issuer serve` answers) reads its version and reuses the signature.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from didvc.sealing import KdfParams
from issuer import Issuer

COUNT = 10_000


async def _issue_rate(directory: Path, suite: str, group: int = 1) -> float:
    issuer = await Issuer.create(
        directory / f"{suite}-{group}.db",
        passphrase="bench",
        kdf=KdfParams.new(memory_kib=8192, iterations=1, lanes=1),
        base_url="https://status.example",
    )
    claims = {"scope": ["orders:read"], "owner": "Acme"}
    start = time.perf_counter()
    if group == 1:
        for i in range(COUNT):
            await issuer.issue(f"did:example:agent-{i}", claims=claims, securing=suite)
    else:  # what `didvc issuer batch` does: one transaction (one durable commit) per group
        for first in range(0, COUNT, group):
            names = range(first, min(first + group, COUNT))
            requests = [
                issuer.request(f"did:example:agent-{i}", claims=claims, securing=suite) for i in names
            ]
            await issuer.issue_group(requests)
    elapsed = time.perf_counter() - start
    await issuer.close()
    return COUNT / elapsed


async def _publish(directory: Path, size: int) -> tuple[float, float]:
    path = directory / f"list-{size}.db"
    issuer = await Issuer.create(
        path,
        passphrase="bench",
        kdf=KdfParams.new(memory_kib=8192, iterations=1, lanes=1),
        base_url="https://status.example",
        list_size=size,
    )
    await issuer.issue("did:example:agent")
    with sqlite3.connect(path) as db:  # mark 1% of the list as revoked, as if issued and revoked
        picks = random.sample(range(size), size // 100)
        db.execute(
            "INSERT OR IGNORE INTO credentials (id, subject, types, scopes, valid_from, status, body, format,"
            " issued) VALUES ('urn:bench', 'did:example:x', '[]', '[]', '2026-01-01T00:00:00Z', 'revoked',"
            " '{}', 'ldp', '')"
        )
        db.executemany(
            "INSERT OR IGNORE INTO status_entries (list_id, idx, credential_id, purpose, value)"
            " VALUES (1, ?, ?, 'revocation', 1)",
            [(i, "urn:bench") for i in picks],
        )
    samples = []
    for _ in range(3):
        start = time.perf_counter()
        await issuer.publish(directory / "site")
        samples.append(time.perf_counter() - start)
    serve = getattr(issuer, "served_status_list_tagged", issuer.served_status_list)  # what `serve` calls
    await serve(1)  # signed once while unchanged
    served = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(100):
            await serve(1)
        served.append((time.perf_counter() - start) / 100)
    await issuer.close()
    return min(samples) / 2, statistics.median(served)  # publish writes two lists each time


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        rdfc = asyncio.run(_issue_rate(directory, "eddsa-rdfc-2022"))
        jcs = asyncio.run(_issue_rate(directory, "eddsa-jcs-2022"))
        grouped = hasattr(Issuer, "issue_group")  # (absent before issue 12: for before/after runs)
        rdfc_50 = asyncio.run(_issue_rate(directory, "eddsa-rdfc-2022", 50)) if grouped else 0.0
        jcs_50 = asyncio.run(_issue_rate(directory, "eddsa-jcs-2022", 50)) if grouped else 0.0
        small = asyncio.run(_publish(directory, 131_072))
        large = asyncio.run(_publish(directory, 1_048_576))
    print("## Issuer (bench/bench_issuer.py)\n")
    print("| operation | figure |")
    print("| --- | ---: |")
    print(f"| issuance, eddsa-rdfc-2022, {COUNT:,} credentials | {rdfc:,.0f} credentials/s |")
    print(f"| issuance, eddsa-jcs-2022, {COUNT:,} credentials | {jcs:,.0f} credentials/s |")
    print(f"| issuance in groups of 50 (batch), eddsa-rdfc-2022 | {rdfc_50:,.0f} credentials/s |")
    print(f"| issuance in groups of 50 (batch), eddsa-jcs-2022 | {jcs_50:,.0f} credentials/s |")
    print(f"| publish one signed status list, 131,072 entries (1% set) | {small[0] * 1000:,.1f} ms |")
    print(f"| publish one signed status list, 1,048,576 entries (1% set) | {large[0] * 1000:,.1f} ms |")
    print(f"| serve an unchanged status list, 131,072 entries (1% set) | {small[1] * 1e6:,.0f} µs |")
    print(f"| serve an unchanged status list, 1,048,576 entries (1% set) | {large[1] * 1e6:,.0f} µs |")


if __name__ == "__main__":
    main()
