from __future__ import annotations

import pytest

from didvc.did import DidDocument, parse_did, parse_did_url
from didvc.errors import (
    InvalidControlledIdentifierDocumentIdError,
    InvalidDidDocumentError,
    InvalidDidError,
    InvalidDidUrlError,
    InvalidRelationshipForVerificationMethodError,
    InvalidVerificationMethodError,
    InvalidVerificationMethodUrlError,
)
from didvc.keys import KeyPair

DID = "did:example:123"


def _document(**overrides: object) -> dict[str, object]:
    key = KeyPair.generate().public_key.to_multikey()
    other = KeyPair.generate().public_key.to_multikey()
    doc: dict[str, object] = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": DID,
        "verificationMethod": [
            {"id": f"{DID}#key-1", "type": "Multikey", "controller": DID, "publicKeyMultibase": key},
            {"id": "#key-2", "type": "Multikey", "controller": DID, "publicKeyMultibase": other},
            {
                "id": f"{DID}#foreign",
                "type": "Multikey",
                "controller": "did:example:evil",
                "publicKeyMultibase": other,
            },
        ],
        "assertionMethod": [f"{DID}#key-1", "#key-2", f"{DID}#foreign"],
        "authentication": [f"{DID}#key-2"],
    }
    doc.update(overrides)
    return doc


@pytest.mark.parametrize(
    "did", ["did:key:z6Mk", "did:web:example.com%3A8443:user:alice", "did:example:a:b:c", "did:a1:x_y.z-1"]
)
def test_valid_dids(did: str) -> None:
    assert parse_did(did).did == did


@pytest.mark.parametrize(
    "did",
    [
        "",
        "did:",
        "did:Key:abc",
        "did:key:",
        "did:key:abc:",
        "did:key:a b",
        "did:key:%zz",
        "urn:x:y",
        "did:key:abc#frag",
        "did:key:" + "a" * 9000,
    ],
)
def test_invalid_dids(did: str) -> None:
    with pytest.raises(InvalidDidError) as info:
        parse_did(did)
    assert info.value.code == "invalidDid"


def test_did_url_parts() -> None:
    url = parse_did_url("did:web:example.com:u/path/x?versionId=1#key-1")
    assert url.did == "did:web:example.com:u"
    assert url.path == "/path/x"
    assert url.query == "versionId=1"
    assert url.fragment == "key-1"
    assert str(url) == "did:web:example.com:u/path/x?versionId=1#key-1"


@pytest.mark.parametrize("url", ["did:example:1#a b", "did:example:1#<x>", "https://e.com#a"])
def test_invalid_did_urls(url: str) -> None:
    with pytest.raises(InvalidDidUrlError):
        parse_did_url(url)


def test_retrieve_verification_method_happy_paths() -> None:
    doc = DidDocument(_document())
    assert doc.verification_method(f"{DID}#key-1", "assertionMethod").controller == DID
    method = doc.verification_method(f"{DID}#key-2", "authentication")
    assert method.id == f"{DID}#key-2"


def test_method_outside_the_relationship() -> None:
    doc = DidDocument(_document())
    with pytest.raises(InvalidRelationshipForVerificationMethodError) as info:
        doc.verification_method(f"{DID}#key-1", "authentication")
    assert info.value.code == "INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD"


def test_method_of_another_did() -> None:
    doc = DidDocument(_document())
    with pytest.raises(InvalidControlledIdentifierDocumentIdError):
        doc.verification_method("did:example:other#key-1", "assertionMethod")


def test_method_controlled_by_someone_else() -> None:
    doc = DidDocument(_document())
    with pytest.raises(InvalidVerificationMethodError) as info:
        doc.verification_method(f"{DID}#foreign", "assertionMethod")
    assert info.value.code == "INVALID_VERIFICATION_METHOD"


def test_listed_but_missing_method() -> None:
    doc = DidDocument(_document(assertionMethod=[f"{DID}#ghost"]))
    with pytest.raises(InvalidVerificationMethodError):
        doc.verification_method(f"{DID}#ghost", "assertionMethod")


@pytest.mark.parametrize("url", ["", "not a url", DID])
def test_bad_verification_method_urls(url: str) -> None:
    doc = DidDocument(_document())
    with pytest.raises(InvalidVerificationMethodUrlError):
        doc.verification_method(url, "assertionMethod")


def test_method_with_invalid_key_material() -> None:
    doc = _document()
    doc["verificationMethod"][0]["publicKeyMultibase"] = "z6MkTooShort"  # type: ignore[index]
    with pytest.raises(InvalidVerificationMethodError):
        DidDocument(doc).verification_method(f"{DID}#key-1", "assertionMethod")


@pytest.mark.parametrize(
    "mutation",
    [{"id": "not-a-did"}, {"verificationMethod": [{"id": "#x", "type": "Multikey"}]}, {"id": 5}],
)
def test_non_conformant_documents_refused(mutation: dict[str, object]) -> None:
    with pytest.raises(InvalidDidDocumentError) as info:
        DidDocument(_document(**mutation))
    assert info.value.code == "invalidDidDocument"


def test_document_must_be_an_object() -> None:
    with pytest.raises(InvalidDidDocumentError):
        DidDocument(["not", "an", "object"])  # type: ignore[arg-type]
