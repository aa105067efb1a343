"""``didvc demo``: a walk through what is built so far, on embedded defaults only.

Each step states an expectation; the demo exits 0 only if every one held.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import click

from didvc.errors import DidvcError
from didvc.jose import parse_jws, sign_jws, verify_jws
from didvc.keys import KeyPair, KeySigner
from didvc.status import StatusList


@dataclass
class Steps:
    as_json: bool
    results: list[dict[str, Any]] = field(default_factory=list)

    def record(self, title: str, ok: bool, detail: str = "") -> None:
        self.results.append({"step": title, "ok": ok, "detail": detail})
        if not self.as_json:
            mark = click.style("✔", fg="green") if ok else click.style("✘", fg="red")
            click.echo(f" {mark} {title}" + (f"\n     {detail}" if detail else ""))

    @property
    def ok(self) -> bool:
        return all(r["ok"] for r in self.results)


async def run_demo(as_json: bool) -> bool:
    from resolvers import default_resolver, did_key_from_public_key

    steps = Steps(as_json)
    resolver = default_resolver()
    pair = KeyPair.generate()
    did = did_key_from_public_key(pair.public_key)
    document = await resolver.resolve(did)
    kid = document.relationship_ids("authentication")[0]
    steps.record("agent creates a did:key identity", document.id == did, did)

    now = int(time.time())
    claims = {
        "iss": did,
        "aud": "https://api.example",
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
        "htm": "GET",
        "htu": "https://api.example/orders",
    }
    token = await sign_jws(claims, KeySigner(pair, kid), typ="vp+jwt")
    steps.record("agent signs a request-bound vp+jwt", True, f"Authorization: VP {token[:48]}…")

    parsed = parse_jws(token, typ="vp+jwt")
    method = (await resolver.resolve(did)).verification_method(parsed.kid or "", "authentication")
    verify_jws(parsed, method.public_key)
    steps.record("API resolves the key from the DID and verifies the token", True)

    head, payload, sig = token.split(".")
    forged_claims = {**claims, "htu": "https://api.example/admin"}
    from didvc.encoding import b64url_encode

    forged = f"{head}.{b64url_encode(json.dumps(forged_claims).encode())}.{sig}"
    try:
        verify_jws(parse_jws(forged, typ="vp+jwt"), method.public_key)
        steps.record("a token altered to target another URL is refused", False)
    except DidvcError as exc:
        steps.record("a token altered to target another URL is refused", True, exc.code)

    try:
        parse_jws(b64url_encode(b'{"alg":"none","typ":"vp+jwt"}') + "." + payload + ".", typ="vp+jwt")
        steps.record("an unsigned alg=none token is refused", False)
    except DidvcError as exc:
        steps.record("an unsigned alg=none token is refused", True, exc.code)

    from didvc.proofs import add_proof
    from verifier import Verifier

    issuer_pair = KeyPair.generate()
    issuer_did = did_key_from_public_key(issuer_pair.public_key)
    issuer_signer = KeySigner(issuer_pair, f"{issuer_did}#{issuer_did.removeprefix('did:key:')}")
    unsigned = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential"],
        "issuer": issuer_did,
        "validFrom": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)),
        "validUntil": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 86400)),
        "name": "Agent credential",
        "credentialSubject": {"id": did, "name": "demo agent"},
    }
    vc = await add_proof(unsigned, issuer_signer, cryptosuite="eddsa-rdfc-2022")
    result = await Verifier(resolver=resolver).verify_credential(vc)
    steps.record("issuer signs an eddsa-rdfc-2022 credential; the verifier accepts it", result.verified)

    forged_vc = json.loads(json.dumps(vc))
    forged_vc["credentialSubject"]["isAdmin"] = True
    forged_result = await Verifier(resolver=resolver).verify_credential(forged_vc)
    codes = [code for code, _ in forged_result.problems]
    steps.record(
        "a claim added after signing (isAdmin, no context defines it) is refused",
        not forged_result.verified and codes == ["DATA_LOSS_DETECTION_ERROR"],
        ", ".join(codes),
    )

    status = StatusList()
    status.set(4242, 1)
    decoded = StatusList.decode(status.encode())
    steps.record(
        "a revocation bit survives the status-list codec", decoded.get(4242) == 1 and not decoded.get(0)
    )

    if as_json:
        click.echo(json.dumps({"ok": steps.ok, "steps": steps.results}))
    return steps.ok
