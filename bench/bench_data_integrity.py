"""Data Integrity benchmark: sign and verify a credential with eddsa-rdfc-2022 and eddsa-jcs-2022,
and verify a presentation (eddsa-rdfc-2022, authentication) that carries one such credential.

Run: ``python bench/bench_data_integrity.py``. Figures are medians in µs and ratios to one raw
Ed25519 verify measured in the same run. Reference points from the issue, on this machine: a
straightforward pyld eddsa-rdfc-2022 verify ≈ 2.5 ms; Digital Bazaar's JavaScript reference
implementation ≈ 1.06 ms.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import measure, measure_async, table
from cryptography.hazmat.primitives.asymmetric import ed25519

from didvc.keys import KeyPair, KeySigner
from didvc.proofs import AssertionMethod, Authentication, add_proof, verify_proofs
from resolvers import default_resolver, did_key_from_public_key

NOW = datetime.now(UTC)


def _party() -> tuple[str, KeySigner]:
    pair = KeyPair.generate()
    did = did_key_from_public_key(pair.public_key)
    return did, KeySigner(pair, f"{did}#{did.removeprefix('did:key:')}")


def main() -> None:
    raw_private = ed25519.Ed25519PrivateKey.generate()
    raw_public = raw_private.public_key()
    message = b"x" * 64
    raw_signature = raw_private.sign(message)
    raw_verify = measure(lambda: raw_public.verify(raw_signature, message))

    issuer, issuer_signer = _party()
    holder, holder_signer = _party()
    resolver = default_resolver()
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:2f0c4a52-5d1e-4f8b-a2b5-1f3c5e7d9b11",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validUntil": (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "name": "Agent credential",
        "credentialSubject": {"id": holder, "name": "Agent 7"},
    }
    rows = [("raw Ed25519 verify (cryptography)", raw_verify)]
    purpose = AssertionMethod(controller=issuer)
    for suite in ("eddsa-rdfc-2022", "eddsa-jcs-2022"):
        vc = asyncio.run(add_proof(credential, issuer_signer, cryptosuite=suite))

        async def sign(suite: str = suite) -> object:
            return await add_proof(credential, issuer_signer, cryptosuite=suite)

        async def verify(vc: dict = vc) -> object:  # type: ignore[type-arg]
            return await verify_proofs(vc, resolver=resolver, purpose=purpose)

        rows.append((f"{suite} VC sign", measure_async(sign, number=300)))
        rows.append((f"{suite} VC verify", measure_async(verify, number=300)))

    vc = asyncio.run(add_proof(credential, issuer_signer))
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [vc],
    }
    auth = Authentication(challenge="c-123", domain="https://api.example", controller=holder)
    vp = asyncio.run(add_proof(presentation, holder_signer, purpose=auth))

    async def verify_vp() -> object:
        await verify_proofs(vp, resolver=resolver, purpose=auth)
        return await verify_proofs(vp["verifiableCredential"][0], resolver=resolver, purpose=purpose)

    rows.append(
        ("eddsa-rdfc-2022 VP + 1 VC verify (both proofs, cold)", measure_async(verify_vp, number=200))
    )
    print("## Data Integrity (bench/bench_data_integrity.py)\n")
    print(table(rows, raw_verify, "raw Ed25519 verify"))


if __name__ == "__main__":
    main()
