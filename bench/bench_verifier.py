"""Verifier benchmark: the per-request cost of verify_presentation, in one process.

Run: ``python bench/bench_verifier.py``. A request token (vp+jwt, EdDSA) carries one
eddsa-rdfc-2022 AgentCredential. "cached" is the steady state of an API: the credential's proof
result is in the verifier's cache, so a request costs the holder's signature, the request
binding, the replay cache and the validity/policy checks. "cold" clears the proof cache before
each call, so the credential's proof is verified (two RDFC canonicalizations) every time.
Targets (issue #6): cached ≤ 1.5 × one raw Ed25519 verify.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import agent_credential, measure, party, table
from cryptography.hazmat.primitives.asymmetric import ed25519

from didvc.credentials import make_presentation
from didvc.request import sign_request_token
from resolvers import default_resolver
from verifier import Verifier

NOW = datetime.now(UTC)
API = {"audience": "https://api.example", "method": "GET", "url": "https://api.example/orders"}


async def _setup(count: int) -> tuple[list[str], dict]:  # type: ignore[type-arg]
    issuer, issuer_signer = party()
    agent, agent_signer = party()
    vc = await agent_credential(issuer, issuer_signer, agent)
    presentation = make_presentation(agent, [vc])
    tokens = [await sign_request_token(presentation, agent_signer, **API, lifetime=300) for _ in range(count)]
    return tokens, vc


def _per_call(tokens: list[str], verifier: Verifier, *, cold: bool) -> float:
    async def run() -> float:
        samples = []
        chunk = len(tokens) // 7
        for r in range(7):
            batch = tokens[r * chunk : (r + 1) * chunk]
            start = time.perf_counter()
            for token in batch:
                if cold:
                    verifier._proofs.clear()
                result = await verifier.verify_presentation(token, **API)
                if not result.verified:
                    raise SystemExit(f"benchmark token did not verify: {result.problems}")
            samples.append((time.perf_counter() - start) / len(batch))
        return statistics.median(samples)

    return asyncio.run(run())


def main() -> None:
    raw_private = ed25519.Ed25519PrivateKey.generate()
    raw_public = raw_private.public_key()
    message = b"x" * 300
    raw_signature = raw_private.sign(message)
    raw_verify = measure(lambda: raw_public.verify(raw_signature, message))

    tokens, _ = asyncio.run(_setup(7 * 700 + 7 * 60 + 1))
    warm = Verifier(resolver=default_resolver())
    asyncio.run(warm.verify_presentation(tokens[0], **API))  # fill the proof cache
    cached = _per_call(tokens[1 : 1 + 7 * 700], warm, cold=False)
    cold = _per_call(tokens[1 + 7 * 700 :], Verifier(resolver=default_resolver()), cold=True)
    rows = [
        ("raw Ed25519 verify (cryptography)", raw_verify),
        ("verify_presentation, vp+jwt + cached eddsa-rdfc-2022 VC", cached),
        ("verify_presentation, vp+jwt + cold eddsa-rdfc-2022 VC", cold),
    ]
    print("## Verifier (bench/bench_verifier.py)\n")
    print(table(rows, raw_verify, "raw Ed25519 verify"))


if __name__ == "__main__":
    main()
