"""Verifier benchmark: the per-request cost of verify_presentation, in one process.

Run: ``python bench/bench_verifier.py``. A request token (vp+jwt, EdDSA) carries one
eddsa-rdfc-2022 AgentCredential. "cached" is the steady state of an API: the credential's proof
result is in the verifier's cache, so a request costs the holder's signature, the request
binding, the replay cache and the validity/status/policy re-checks. "cold" clears the proof and
presentation caches before each call, so the credential's proof is verified (two RDFC
canonicalizations) every time. Batches of requests alternate with batches of raw Ed25519
verifies and the ratio is the median of the per-batch ratios, so a drift in the machine's speed
during the run moves both alike. Target (issue #6): cached ≤ 1.5 × one raw Ed25519 verify.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import agent_credential, party
from cryptography.hazmat.primitives.asymmetric import ed25519

from didvc.credentials import make_presentation
from didvc.delegation import delegation_body
from didvc.proofs import add_proof, format_datetime
from didvc.request import sign_request_token
from resolvers import default_resolver
from verifier import Policy, Verifier

NOW = datetime.now(UTC)
CACHED, COLD = 100 * 200, 40 * 20  # requests: 100 batches of 200, 40 batches of 20
API = {"audience": "https://api.example", "method": "GET", "url": "https://api.example/orders"}


async def _delegated(count: int) -> tuple[list[str], str, str]:
    """Tokens of an agent acting for a principal through a two-link chain (principal → an
    intermediate agent → this agent), each link an eddsa-rdfc-2022 DelegationCredential."""
    issuer, issuer_signer = party()
    principal, principal_signer = party()
    middle, middle_signer = party()
    agent, agent_signer = party()
    vc = await agent_credential(issuer, issuer_signer, agent)
    start, end = format_datetime(NOW - timedelta(hours=1)), format_datetime(NOW + timedelta(hours=2))
    first = await add_proof(
        delegation_body(
            principal,
            middle,
            scopes=["orders:read"],
            valid_from=start,
            valid_until=end,
            credential_id="urn:uuid:00000000-0000-4000-8000-00000000d001",
            hops=1,
        ),
        principal_signer,
    )
    second = await add_proof(
        delegation_body(
            middle,
            agent,
            scopes=["orders:read"],
            valid_from=start,
            valid_until=end,
            credential_id="urn:uuid:00000000-0000-4000-8000-00000000d002",
            parent=first,
        ),
        middle_signer,
    )
    presentation = make_presentation(agent, [vc, first, second])
    tokens = [await sign_request_token(presentation, agent_signer, **API, lifetime=300) for _ in range(count)]
    return tokens, issuer, principal


async def _setup(count: int) -> tuple[list[str], str]:
    issuer, issuer_signer = party()
    agent, agent_signer = party()
    vc = await agent_credential(issuer, issuer_signer, agent)
    presentation = make_presentation(agent, [vc])
    tokens = [await sign_request_token(presentation, agent_signer, **API, lifetime=300) for _ in range(count)]
    return tokens, issuer


def _interleaved(
    tokens: list[str], verifier: Verifier, raw_verify: Callable[[], object], *, cold: bool, batch: int
) -> tuple[float, float, float]:
    """Median seconds per verify_presentation, its median ratio to a raw Ed25519 verify, and the
    median seconds of that raw verify; each
    batch of requests followed by a batch of raw verifies, so both see the same machine state."""

    async def run() -> tuple[float, float, float]:
        seconds, ratios, raws = [], [], []
        for start in range(0, len(tokens) - batch + 1, batch):
            began = time.perf_counter()
            for token in tokens[start : start + batch]:
                if cold:
                    verifier.credentials.proofs.clear()
                    verifier._settled.clear()
                result = await verifier.verify_presentation(token, **API)
                if not result.verified:
                    raise SystemExit(f"benchmark token did not verify: {result.problems}")
            middle = time.perf_counter()
            for _ in range(batch):
                raw_verify()
            ours, raw = (middle - began) / batch, (time.perf_counter() - middle) / batch
            seconds.append(ours)
            ratios.append(ours / raw)
            raws.append(raw)
        return statistics.median(seconds), statistics.median(ratios), statistics.median(raws)

    return asyncio.run(run())


def main() -> None:
    raw_private = ed25519.Ed25519PrivateKey.generate()
    raw_public = raw_private.public_key()
    message = b"x" * 300
    raw_signature = raw_private.sign(message)

    def raw_verify() -> None:
        raw_public.verify(raw_signature, message)

    tokens, issuer = asyncio.run(_setup(CACHED + COLD + 1))
    policy = Policy(trusted_issuers={"AgentCredential": frozenset({issuer})})
    warm = Verifier(resolver=default_resolver(), policy=policy)
    asyncio.run(warm.verify_presentation(tokens[0], **API))  # fill the caches
    cached = _interleaved(tokens[1 : 1 + CACHED], warm, raw_verify, cold=False, batch=200)
    cold = _interleaved(
        tokens[1 + CACHED :],
        Verifier(resolver=default_resolver(), policy=policy),
        raw_verify,
        cold=True,
        batch=20,
    )
    delegated_tokens, delegated_issuer, principal = asyncio.run(_delegated(CACHED + 1))
    delegating = Verifier(
        resolver=default_resolver(),
        policy=Policy(
            trusted_issuers={"AgentCredential": frozenset({delegated_issuer})},
            trusted_principals=frozenset({principal}),
        ),
    )
    first = asyncio.run(delegating.verify_presentation(delegated_tokens[0], **API))
    assert first.principal == principal and first.scopes == ["orders:read"], first.problems
    delegated = _interleaved(delegated_tokens[1:], delegating, raw_verify, cold=False, batch=200)
    print("## Verifier (bench/bench_verifier.py)\n")
    print("| operation | µs | × raw Ed25519 verify |")
    print("| --- | ---: | ---: |")
    print(f"| raw Ed25519 verify (cryptography) | {cached[2] * 1e6:,.1f} | 1.00 |")
    for name, (seconds, ratio, _) in (
        ("verify_presentation, vp+jwt + cached eddsa-rdfc-2022 VC", cached),
        ("verify_presentation, vp+jwt + cold eddsa-rdfc-2022 VC", cold),
        ("verify_presentation, vp+jwt + cached VC + two-link delegation chain", delegated),
    ):
        print(f"| {name} | {seconds * 1e6:,.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
