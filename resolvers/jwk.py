"""did:jwk: a DID that is a base64url-encoded public JWK.

https://github.com/quartzjer/did-jwk/blob/main/spec.md — one ``JsonWebKey2020`` method ``#0``;
``use: "sig"`` keys get no keyAgreement, ``use: "enc"`` keys get only keyAgreement.
"""

from __future__ import annotations

import json
from typing import Any, Final

from didvc.did import DidDocument, parse_did
from didvc.encoding import b64url_decode, b64url_encode
from didvc.errors import InvalidDidError, InvalidKeyError, MalformedValueError
from didvc.keys import KeyType, PublicKey

__all__ = ["JwkResolver", "did_jwk_document", "did_jwk_from_public_key"]

_CONTEXT: Final = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"]
_MAX_JWK_CHARS: Final = 4096


def did_jwk_from_public_key(key: PublicKey) -> str:
    """The did:jwk DID of a public key (its JWK as compact JSON, base64url)."""
    jwk = key.to_jwk()
    return "did:jwk:" + b64url_encode(json.dumps(jwk, separators=(",", ":")).encode())


def did_jwk_document(did: str) -> dict[str, Any]:
    """Generate the DID document of a did:jwk (spec "Read")."""
    parsed = parse_did(did)
    if parsed.method != "jwk" or len(parsed.method_specific_id) > _MAX_JWK_CHARS:
        raise InvalidDidError(f"{did[:80]} is not a valid did:jwk")
    try:
        jwk = json.loads(b64url_decode(parsed.method_specific_id))
        key = PublicKey.from_jwk(jwk)
    except (MalformedValueError, InvalidKeyError, ValueError, RecursionError) as exc:
        raise InvalidDidError(f"invalid did:jwk: {exc}") from None
    vm_id = f"{did}#0"
    document: dict[str, Any] = {
        "@context": list(_CONTEXT),
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk}
        ],
    }
    use = jwk.get("use")
    if use != "enc" and key.key_type is not KeyType.X25519:
        for relationship in (
            "assertionMethod",
            "authentication",
            "capabilityInvocation",
            "capabilityDelegation",
        ):
            document[relationship] = [vm_id]
    if use != "sig":
        document["keyAgreement"] = [vm_id]
    return document


class JwkResolver:
    """Resolves did:jwk locally."""

    async def resolve(self, did: str) -> DidDocument:
        return DidDocument(did_jwk_document(did))
