"""Issuance against the JS reference: @digitalbazaar/vc issuing the same AgentCredentials.

Run: ``npm ci --prefix bench/js`` once, then ``python bench/bench_reference.py``. Needs node.
The reference (``bench/js/issue.mjs``) signs eddsa-rdfc-2022 AgentCredentials with two status
entries each, one after another, contexts from didvc's own copies; it keeps nothing. Its last
credential is verified here, so the comparison is of the same work. Rounds alternate ours and
theirs; medians:

- **the batch command**: ``didvc issuer batch`` of 2,000 rows on a fresh store (start-up, the
  passphrase's Argon2id, reading, two cores, every credential stored with its audit entry,
  ``--out`` written) against ``node issue.mjs 2000`` (start-up, 2,000 signatures);
- **issuance rate**: credentials per second once started: ``Issuer.issue_groups`` in the groups
  of ``batch`` with the worker (what ``batch`` runs) against the reference's own loop;
- **one at a time**: ``Issuer.issue`` (one durable transaction each) against the same loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from didvc.sealing import KdfParams
from didvc_cli.issuer_batch import GROUP
from issuer import Issuer
from verifier import Policy, Verifier

HERE = Path(__file__).resolve().parent
ROWS, SINGLE, ROUNDS = 2000, 300, 3
CLAIMS = {"scope": ["orders:read"], "owner": "Acme"}


def _reference(count: int) -> tuple[float, float, dict[str, object]]:
    """Wall seconds of the node process, the seconds of its issuing loop, its last credential."""
    began = time.perf_counter()
    done = subprocess.run(
        ["node", str(HERE / "js" / "issue.mjs"), str(count), "eddsa-rdfc-2022"],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - began
    report = json.loads(done.stdout)
    return wall, float(report["seconds"]), report["last"]


def _batch_command(directory: Path, rows: Path) -> float:
    env = {**os.environ, "DIDVC_ISSUER_PASSPHRASE": "bench", "DIDVC_ISSUER_STORE": str(directory / "i.db")}
    didvc = [sys.executable, "-m", "didvc_cli"]
    subprocess.run(
        [*didvc, "issuer", "init", "--base-url", "https://status.example"],
        env=env,
        check=True,
        capture_output=True,
    )
    began = time.perf_counter()
    subprocess.run(
        [*didvc, "issuer", "--json", "batch", str(rows), "--out", str(directory / "out.jsonl")],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - began


async def _rates(directory: Path) -> tuple[float, float]:
    """Seconds per credential: in groups with the worker, and one at a time."""
    issuer = await Issuer.create(
        directory / "rate.db",
        passphrase="bench",
        kdf=KdfParams.new(memory_kib=8192, iterations=1, lanes=1),
        base_url="https://status.example",
    )
    issuer.start_worker()
    await issuer.issue_group([issuer.request(f"did:example:w{n}", claims=CLAIMS) for n in range(50)])
    groups = [
        [issuer.request(f"did:example:g{first + n}", claims=CLAIMS) for n in range(GROUP)]
        for first in range(0, ROWS, GROUP)
    ]
    began = time.perf_counter()
    async for _ in issuer.issue_groups(groups):
        pass
    grouped = (time.perf_counter() - began) / ROWS
    began = time.perf_counter()
    for n in range(SINGLE):
        await issuer.issue(f"did:example:s{n}", claims=CLAIMS)
    single = (time.perf_counter() - began) / SINGLE
    await issuer.close()
    return grouped, single


async def _check(credential: dict[str, object]) -> None:
    """The reference's credential is what ours are: a valid eddsa-rdfc-2022 AgentCredential."""
    async with Verifier(policy=Policy(trust_any_issuer=True)) as verifier:
        result = await verifier.check_credential(credential)
    proof_problems = [code for code, _ in result.problems if not code.startswith("STATUS_")]
    if proof_problems or result.cryptosuites != ("eddsa-rdfc-2022",):
        raise SystemExit(f"the reference's credential does not verify here: {result.problems}")


def main() -> None:
    if shutil.which("node") is None or not (HERE / "js" / "node_modules").is_dir():
        raise SystemExit("needs node and `npm ci --prefix bench/js`")
    figures: dict[str, list[float]] = {k: [] for k in ("ours_cmd", "js_cmd", "grouped", "single", "js_loop")}
    with tempfile.TemporaryDirectory() as tmp:
        rows = Path(tmp) / "rows.jsonl"
        rows.write_text(
            "".join(
                json.dumps({"agent": f"did:example:agent-{n}", "claims": CLAIMS}) + "\n" for n in range(ROWS)
            )
        )
        last: dict[str, object] = {}
        for round_number in range(ROUNDS):
            directory = Path(tmp) / f"round-{round_number}"
            directory.mkdir()
            figures["ours_cmd"].append(_batch_command(directory, rows))
            wall, loop, last = _reference(ROWS)
            figures["js_cmd"].append(wall)
            figures["js_loop"].append(loop / ROWS)
            grouped, single = asyncio.run(_rates(directory))
            figures["grouped"].append(grouped)
            figures["single"].append(single)
        asyncio.run(_check(last))
    median = {k: statistics.median(v) for k, v in figures.items()}
    print("## Against the JS reference (bench/bench_reference.py)\n")
    print("| eddsa-rdfc-2022 | didvc | JS reference | didvc's speed (× the reference) |")
    print("| --- | ---: | ---: | ---: |")
    print(
        f"| `didvc issuer batch` of {ROWS:,} rows, whole command (s) | {median['ours_cmd']:.2f} | "
        f"{median['js_cmd']:.2f} | {median['js_cmd'] / median['ours_cmd']:.2f} |"
    )
    print(
        f"| issuance in groups of {GROUP} back to back, two cores (µs per credential) | "
        f"{median['grouped'] * 1e6:,.0f} | "
        f"{median['js_loop'] * 1e6:,.0f} | {median['js_loop'] / median['grouped']:.2f} |"
    )
    print(
        f"| `Issuer.issue`, one at a time (µs per credential) | {median['single'] * 1e6:,.0f} | "
        f"{median['js_loop'] * 1e6:,.0f} | {median['js_loop'] / median['single']:.2f} |"
    )


if __name__ == "__main__":
    main()
