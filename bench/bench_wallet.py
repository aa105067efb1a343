"""Wallet benchmark: the cost of one request header (a fresh vp+jwt carrying one credential).

Run: ``python bench/bench_wallet.py``. Each header selects the credentials for the audience from
the SQLite wallet, builds the presentation and signs a request-bound token; the ratio is to one
raw Ed25519 sign measured in the same run.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import agent_credential, measure, party
from cryptography.hazmat.primitives.asymmetric import ed25519

from wallet import KdfParams, Wallet


async def _headers(count: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        wallet = await Wallet.open(
            Path(tmp) / "w", passphrase="bench", kdf=KdfParams.new(memory_kib=8192, iterations=1, lanes=1)
        )
        did = await wallet.create_did()
        issuer, issuer_signer = party()
        vc = await agent_credential(issuer, issuer_signer, did)
        await wallet.store_credential(vc)
        samples = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(count):
                await wallet.request_headers("POST", "https://api.example/orders", body=b'{"item": 1}')
            samples.append((time.perf_counter() - start) / count)
        selected = statistics.median(samples)
        samples = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(count):
                await wallet.request_headers(
                    "POST", "https://api.example/orders", body=b'{"item": 1}', credential_ids=[vc["id"]]
                )
            samples.append((time.perf_counter() - start) / count)
        await wallet.close()
        return selected, statistics.median(samples)


def main() -> None:
    raw_private = ed25519.Ed25519PrivateKey.generate()
    raw_sign = measure(lambda: raw_private.sign(b"x" * 300))
    selected, named = asyncio.run(_headers(500))
    print("## Wallet (bench/bench_wallet.py)\n")
    print("| operation | µs | × raw Ed25519 sign |")
    print("| --- | ---: | ---: |")
    print(f"| raw Ed25519 sign (cryptography) | {raw_sign * 1e6:,.1f} | 1.00 |")
    label = "request header, credentials selected for the audience"
    print(f"| {label} | {selected * 1e6:,.1f} | {selected / raw_sign:.2f} |")
    print(f"| request header, credential named by id | {named * 1e6:,.1f} | {named / raw_sign:.2f} |")


if __name__ == "__main__":
    main()
