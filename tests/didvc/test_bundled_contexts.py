"""The bundled contexts are complete: every context one of them imports is bundled too, so a
credential using any of them can be signed and verified with no network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

from didvc.proofs import add_proof, verify_proofs
from resolvers import StaticResolver, did_key_document
from tests.helpers import Party

CONTEXTS = resources.files("didvc").joinpath("contexts")
MANIFEST = {
    u: f for u, f in json.loads(CONTEXTS.joinpath("MANIFEST.json").read_text()).items() if u[0] != "_"
}


def _imports(node: Any) -> Iterator[str]:
    """The context URLs a context refers to: its @context and @import values, scoped ones too."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("@context", "@import"):
                for item in value if isinstance(value, list) else [value]:
                    yield from [item] if isinstance(item, str) else _imports(item)
            else:
                yield from _imports(value)
    elif isinstance(node, list):
        for item in node:
            yield from _imports(item)


def test_every_context_a_bundled_one_imports_is_bundled() -> None:
    walked = {
        (name, url)
        for name in MANIFEST.values()
        for url in _imports(json.loads(CONTEXTS.joinpath(name).read_text()))
    }
    assert (
        "credentials-examples-v1.jsonld",
        "https://www.w3.org/ns/odrl.jsonld",
    ) in walked  # the walk sees it
    assert [(name, url) for name, url in sorted(walked) if url not in MANIFEST] == []


async def test_a_credential_with_the_examples_v1_context_signs_and_verifies() -> None:
    """Its context imports ODRL's: before it was bundled, UNKNOWN_CONTEXT_ERROR both ways."""
    issuer = Party()
    credential = {
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://www.w3.org/2018/credentials/examples/v1",
            "https://w3id.org/security/data-integrity/v2",  # a VC 1.1 credential brings the proof's terms
        ],
        "type": ["VerifiableCredential", "UniversityDegreeCredential"],
        "issuer": issuer.did,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": Party().did, "degree": {"type": "BachelorDegree", "name": "Science"}},
    }
    secured = await add_proof(credential, issuer.signer)
    resolver = StaticResolver({issuer.did: did_key_document(issuer.did)})
    (verified,) = await verify_proofs(secured, resolver=resolver)
    assert verified.cryptosuite == "eddsa-rdfc-2022"
