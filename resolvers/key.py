"""did:key: a DID that is its own public key.

https://w3c-ccg.github.io/did-key-spec/ — the document is generated from the multibase key:
one Multikey verification method used for authentication, assertion and capabilities, and for
Ed25519 keys the derived X25519 key for key agreement (embedded, as in the spec's vectors).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final

from didvc.did import DidDocument, VerificationMethod, parse_did
from didvc.errors import InvalidDidError, InvalidKeyError, MalformedValueError
from didvc.keys import KeyType, PublicKey

__all__ = ["KeyResolver", "did_key_document", "did_key_from_public_key"]

_CONTEXT: Final = ["https://www.w3.org/ns/did/v1.1"]
_SIGNING_RELATIONSHIPS: Final = (
    "authentication",
    "assertionMethod",
    "capabilityDelegation",
    "capabilityInvocation",
)


def did_key_from_public_key(key: PublicKey) -> str:
    """The did:key DID of a public key."""
    if key.key_type is KeyType.X25519:
        raise InvalidKeyError("did:key for X25519 keys is not supported")
    return "did:key:" + key.to_multikey()


def did_key_document(did: str) -> dict[str, Any]:
    """Generate the DID document of a did:key (spec §3.1.2, "Document Creation Algorithm")."""
    return _generate(did)[0]


def _generate(did: str) -> tuple[dict[str, Any], list[VerificationMethod]]:
    """The document and its verification methods, each key decoded once."""
    parsed = parse_did(did)
    if parsed.method != "key":
        raise InvalidDidError(f"{did} is not a did:key")
    multibase = parsed.method_specific_id
    try:
        key = PublicKey.from_multikey(multibase)
    except (InvalidKeyError, MalformedValueError) as exc:
        raise InvalidDidError(f"invalid did:key: {exc}") from None
    if key.key_type is KeyType.X25519:
        raise InvalidDidError("did:key with an X25519 key cannot sign")
    vm_id = f"{did}#{multibase}"
    document: dict[str, Any] = {
        "@context": list(_CONTEXT),
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": multibase}
        ],
    }
    for relationship in _SIGNING_RELATIONSHIPS:
        document[relationship] = [vm_id]
    methods = [VerificationMethod(vm_id, "Multikey", did, key)]
    if key.key_type is KeyType.ED25519:
        agreement = key.to_x25519()
        x25519 = agreement.to_multikey()
        document["keyAgreement"] = [
            {"id": f"{did}#{x25519}", "type": "Multikey", "controller": did, "publicKeyMultibase": x25519}
        ]
        methods.append(VerificationMethod(f"{did}#{x25519}", "Multikey", did, agreement))
    return document, methods


class KeyResolver:
    """Resolves did:key locally; documents are pure functions of the DID, kept in a small LRU."""

    def __init__(self, *, maxsize: int = 1024) -> None:
        self._cache: OrderedDict[str, DidDocument] = OrderedDict()
        self._maxsize = maxsize

    async def resolve(self, did: str) -> DidDocument:
        document = self._cache.get(did)
        if document is None:
            document = DidDocument.generated(*_generate(did))
            self._cache[did] = document
            if len(self._cache) > self._maxsize:
                self._cache.popitem(last=False)
        return document
