"""Core benchmark: raw Ed25519 sign/verify against didvc's key and vp+jwt paths, in one process.

Run: ``python bench/bench_core.py``. Every figure is also given as a ratio to one raw Ed25519
verify (pyca/cryptography, OpenSSL) measured in the same run, so the table is comparable
across machines.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import measure, measure_async, table
from cryptography.hazmat.primitives.asymmetric import ed25519

from didvc.jose import parse_jws, sign_jws, verify_jws
from didvc.keys import KeyPair, KeySigner
from resolvers import default_resolver, did_key_from_public_key

MESSAGE = b"x" * 200


def main() -> None:
    raw_private = ed25519.Ed25519PrivateKey.generate()
    raw_public = raw_private.public_key()
    raw_signature = raw_private.sign(MESSAGE)

    pair = KeyPair.generate()
    signature = pair.sign(MESSAGE)
    did = did_key_from_public_key(pair.public_key)
    signer = KeySigner(pair, f"{did}#{did.removeprefix('did:key:')}")
    resolver = default_resolver()
    payload = {
        "iss": did,
        "aud": "https://api.example",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
        "jti": "bench",
        "htm": "GET",
        "htu": "https://api.example/x",
        "vp": {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"]},
    }
    token = asyncio.run(sign_jws(payload, signer, typ="vp+jwt"))

    async def jwt_verify() -> None:
        parsed = parse_jws(token, typ="vp+jwt")
        assert parsed.kid is not None
        document = await resolver.resolve(parsed.kid.split("#", 1)[0])
        verify_jws(parsed, document.verification_method(parsed.kid, "authentication").public_key)

    raw_verify = measure(lambda: raw_public.verify(raw_signature, MESSAGE))
    rows = [
        ("raw Ed25519 sign (cryptography)", measure(lambda: raw_private.sign(MESSAGE))),
        ("raw Ed25519 verify (cryptography)", raw_verify),
        (
            "didvc PublicKey.verify (Ed25519, small-order checks)",
            measure(lambda: pair.public_key.verify(signature, MESSAGE)),
        ),
        ("vp+jwt sign (sign_jws)", measure_async(lambda: sign_jws(payload, signer, typ="vp+jwt"))),
        ("vp+jwt verify (parse + resolve did:key (cached) + verify)", measure_async(jwt_verify)),
    ]
    print("## Core (bench/bench_core.py)\n")
    print(table(rows, raw_verify, "raw Ed25519 verify"))


if __name__ == "__main__":
    main()
