"""Our context caches and RDF conversion never change a canonical form: compare with plain pyld."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pyld import jsonld

from didvc.jsonld import canonicalize, document_loader

PLAIN = {
    "algorithm": "URDNA2015",
    "format": "application/n-quads",
    "documentLoader": document_loader,
    "base": None,
}

# Printable text: pyld's N-Quads writer leaves DEL and controls unescaped, where RDFC-1.0 (and
# the reference) escape them; tests/didvc/test_canonical_reference.py covers those.
names = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="\x7f"), max_size=20
)
dids = st.sampled_from(["did:example:a", "did:key:z6Mkabc", "did:web:example.com", "urn:uuid:1"])
dates = st.sampled_from(["2025-01-01T00:00:00Z", "2030-12-31T23:59:59Z"])


@st.composite
def credentials(draw: Any) -> dict[str, Any]:
    use_examples = draw(st.booleans())
    context = ["https://www.w3.org/ns/credentials/v2"]
    subject: dict[str, Any] = {"id": draw(dids), "name": draw(names)}
    if use_examples:
        context.append("https://www.w3.org/ns/credentials/examples/v2")
        subject["alumniOf"] = draw(names)
    document: dict[str, Any] = {
        "@context": context,
        "type": ["VerifiableCredential"],
        "issuer": draw(dids),
        "validFrom": draw(dates),
        "credentialSubject": subject,
    }
    if draw(st.booleans()):
        document["description"] = draw(names)
    if draw(st.booleans()):
        document["proof"] = {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": draw(dates),
            "verificationMethod": "did:key:z6Mkabc#z6Mkabc",
            "proofPurpose": draw(st.sampled_from(["assertionMethod", "authentication"])),
            "proofValue": "z3abc",
        }
    return document


@settings(max_examples=60, deadline=None)
@given(credentials())
def test_cached_canonicalization_equals_plain_pyld(document: dict[str, Any]) -> None:
    assert canonicalize(document) == jsonld.normalize(document, dict(PLAIN))
    assert canonicalize(document) == canonicalize(document)
