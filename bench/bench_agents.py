"""Many agents: per-request cost and memory of one verifier as the number of agents grows.

Run: ``python bench/bench_agents.py [--agents 1000,10000,100000]``. Each agent is a did:key with
its own eddsa-jcs-2022 AgentCredential from one trusted issuer; the verifier is built with its
default arguments (only the trust policy set). Per size, in one process:

- **first request**: each agent's first request (a never-seen DID and credential), as a ratio
  to one raw Ed25519 verify with ``cryptography``;
- **random traffic**: then requests from agents drawn at random, each with a fresh token, in
  batches interleaved with batches of raw verifies (the median of the per-batch ratios);
- **memory**: growth of the process's resident memory over the first requests, per agent.

``--cache-size N`` builds the verifier with ``cache_size=N`` (every cache follows it).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import agent_credential, party
from cryptography.hazmat.primitives.asymmetric import ed25519

from didvc.credentials import make_presentation
from didvc.request import sign_request_token
from verifier import Policy, Verifier

API = {"audience": "https://api.example", "method": "GET", "url": "https://api.example/orders"}
RANDOM_REQUESTS, BATCH = 20_000, 200


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _agents(count: int, issuer: str, issuer_signer: Any) -> list[tuple[Any, dict[str, Any]]]:
    out = []
    for _ in range(count):
        did, signer = party()
        vc = await agent_credential(issuer, issuer_signer, did, cryptosuite="eddsa-jcs-2022")
        out.append((signer, make_presentation(did, [vc])))
    return out


async def _timed(verifier: Verifier, tokens: list[str], raw_verify: Any) -> float:
    """Seconds of these requests over the seconds of as many raw verifies right after."""
    began = time.perf_counter()
    for token in tokens:
        result = await verifier.verify_presentation(token, **API)
        if not result.verified:
            raise SystemExit(f"a request did not verify: {result.problems}")
    middle = time.perf_counter()
    for _ in tokens:
        raw_verify()
    return (middle - began) / (time.perf_counter() - middle)


async def _size(count: int, raw_verify: Any, sizing: dict[str, int]) -> dict[str, float]:
    issuer, issuer_signer = party()
    agents = await _agents(count, issuer, issuer_signer)
    verifier = Verifier(policy=Policy(trusted_issuers={"AgentCredential": frozenset({issuer})}), **sizing)

    async def tokens(chosen: list[int]) -> list[str]:  # signed just before use: they live 5 min
        return [await sign_request_token(agents[i][1], agents[i][0], **API, lifetime=300) for i in chosen]

    gc.collect()
    before = _rss()
    firsts = [
        await _timed(verifier, await tokens(list(range(start, min(start + BATCH, count)))), raw_verify)
        for start in range(0, count, BATCH)
    ]
    gc.collect()
    grown = (_rss() - before) / count
    randoms = [
        await _timed(verifier, await tokens([random.randrange(count) for _ in range(BATCH)]), raw_verify)
        for _ in range(RANDOM_REQUESTS // BATCH)
    ]
    await verifier.close()
    return {"first": statistics.median(firsts), "random": statistics.median(randoms), "bytes": grown}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default="1000,10000,100000")
    parser.add_argument("--cache-size", type=int, help="cache_size (default: the verifier's own)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.agents.split(",")]
    sizing = {"cache_size": args.cache_size} if args.cache_size else {}
    private = ed25519.Ed25519PrivateKey.generate()
    public, message = private.public_key(), b"x" * 300
    signature = private.sign(message)

    def raw_verify() -> None:
        public.verify(signature, message)

    figures = {n: asyncio.run(_size(n, raw_verify, sizing)) for n in sizes}
    print("## Many agents (bench/bench_agents.py)\n")
    print(
        "| agents | first request (× raw verify) | random traffic (× raw verify) | memory per agent (KiB) |"
    )
    print("| ---: | ---: | ---: | ---: |")
    for n, f in figures.items():
        print(f"| {n:,} | {f['first']:.2f} | {f['random']:.2f} | {f['bytes'] / 1024:.1f} |")


if __name__ == "__main__":
    main()
