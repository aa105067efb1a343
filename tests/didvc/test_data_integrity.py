"""Data Integrity proofs beyond the vectors: every suite round trip, and the hostile cases."""

from __future__ import annotations

import copy
import socket
from datetime import timedelta
from typing import Any

import pytest

from didvc.errors import (
    DataLossDetectionError,
    DidvcError,
    InvalidChallengeError,
    InvalidDomainError,
    InvalidRelationshipForVerificationMethodError,
    MalformedProofError,
    MismatchedProofPurposeError,
    ParsingError,
    ProofGenerationError,
    ProofTransformationError,
    ProofVerificationError,
    UnknownContextError,
)
from didvc.jsonld import canonicalize, expand, register_context
from didvc.keys import KeySigner, KeyType
from didvc.proofs import AssertionMethod, Authentication, add_proof, verify_proofs
from resolvers import StaticResolver, default_resolver, did_key_document
from tests.helpers import NOW, Party, credential, signed

SUITES = [
    ("eddsa-rdfc-2022", KeyType.ED25519),
    ("eddsa-jcs-2022", KeyType.ED25519),
    ("ecdsa-rdfc-2019", KeyType.P256),
    ("ecdsa-rdfc-2019", KeyType.P384),
    ("ecdsa-jcs-2019", KeyType.P256),
    ("ecdsa-jcs-2019", KeyType.P384),
]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


async def _verify(document: dict[str, Any], issuer: Party | None = None, **kwargs: Any) -> None:
    purpose = kwargs.pop("purpose", AssertionMethod(controller=issuer.did if issuer else None))
    await verify_proofs(document, resolver=default_resolver(), purpose=purpose, now=NOW, **kwargs)


@pytest.mark.parametrize(("suite", "key_type"), SUITES)
async def test_round_trip_every_suite_and_key(suite: str, key_type: KeyType) -> None:
    issuer = Party(key_type)
    vc = await signed(credential(issuer, Party().did), issuer, cryptosuite=suite)
    await _verify(vc, issuer)


@pytest.mark.parametrize(("suite", "key_type"), SUITES)
async def test_tampered_claim(suite: str, key_type: KeyType) -> None:
    issuer = Party(key_type)
    vc = await signed(credential(issuer, Party().did), issuer, cryptosuite=suite)
    vc["credentialSubject"]["name"] = "Agent 8"
    with pytest.raises(ProofVerificationError) as info:
        await _verify(vc, issuer)
    assert info.value.code == "PROOF_VERIFICATION_ERROR"


@pytest.mark.parametrize("member", ["created", "verificationMethod"])
async def test_tampered_proof_options(member: str) -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    if member == "created":
        vc["proof"]["created"] = "2026-06-01T11:00:00Z"
        expected: type[Exception] = ProofVerificationError
    else:
        other = Party()
        vc["proof"]["verificationMethod"] = other.key_id
        expected = ProofVerificationError
    with pytest.raises(expected):
        await _verify(vc, None)


@pytest.mark.parametrize("name", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_a_proof_configuration_is_remembered_by_its_exact_values(name: str) -> None:
    """Credentials signed in one second by one key share their proof configuration: its
    transformation is remembered, and any difference (a value, a type, an order) is another."""
    from didvc.proofs import SUITES as BY_NAME

    suite = BY_NAME[name]
    config = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "DataIntegrityProof",
        "cryptosuite": name,
        "created": "2026-06-01T12:00:00Z",
        "verificationMethod": "did:key:z6Mk#z6Mk",
        "proofPurpose": "assertionMethod",
    }
    first = suite.transform_config(config, KeyType.ED25519)
    assert first == suite.transform(config, KeyType.ED25519)
    assert suite.transform_config(dict(config), KeyType.ED25519) is first  # remembered
    later = {**config, "created": "2026-06-01T12:00:01Z"}
    reordered = dict(reversed(list(config.items())))
    for other in (later, reordered):
        assert suite.transform_config(other, KeyType.ED25519) == suite.transform(other, KeyType.ED25519)
    assert suite.transform_config(later, KeyType.ED25519) != first
    bad = {**config, "created": float("nan")} if name.endswith("jcs-2022") else {**config, "x": 1}
    for _ in range(2):  # a failure is the transformation's, every time: not remembered
        with pytest.raises(DidvcError):
            suite.transform_config(bad, KeyType.ED25519)


async def test_proof_moved_onto_another_document() -> None:
    issuer = Party()
    first = await signed(credential(issuer, Party().did), issuer)
    second = credential(issuer, Party().did, id="urn:uuid:00000000-0000-4000-8000-000000000002")
    second["proof"] = first["proof"]
    with pytest.raises(ProofVerificationError):
        await _verify(second, issuer)


async def test_wrong_cryptosuite_label() -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    vc["proof"]["cryptosuite"] = "eddsa-jcs-2022"
    with pytest.raises(ProofVerificationError):
        await _verify(vc, issuer)


@pytest.mark.parametrize("suite", ["ecdsa-rdfc-2019", "no-such-suite", None])
async def test_unsupported_or_mismatched_suite(suite: str | None) -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    vc["proof"]["cryptosuite"] = suite
    with pytest.raises(ProofVerificationError):
        await _verify(vc, issuer)


async def test_suite_not_allowed_by_caller() -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer, cryptosuite="eddsa-jcs-2022")
    with pytest.raises(ProofVerificationError) as info:
        await _verify(vc, issuer, allowed_suites={"eddsa-rdfc-2022"})
    assert "not allowed" in str(info.value)


async def test_wrong_proof_purpose() -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer, purpose=Authentication(challenge="c"))
    with pytest.raises(MismatchedProofPurposeError) as info:
        await _verify(vc, issuer)
    assert info.value.code == "MISMATCHED_PROOF_PURPOSE_ERROR"


async def test_verification_method_of_another_did() -> None:
    issuer, impostor = Party(), Party()
    vc = await signed(credential(issuer, Party().did), issuer, signer=impostor.signer)
    with pytest.raises(ProofVerificationError) as info:
        await _verify(vc, issuer)
    assert impostor.did in str(info.value)


async def test_verification_method_outside_assertion_method() -> None:
    issuer = Party()
    document = did_key_document(issuer.did)
    document["assertionMethod"] = []
    resolver = StaticResolver({issuer.did: document})
    vc = await signed(credential(issuer, Party().did), issuer)
    with pytest.raises(InvalidRelationshipForVerificationMethodError) as info:
        await verify_proofs(vc, resolver=resolver, purpose=AssertionMethod(controller=issuer.did), now=NOW)
    assert info.value.code == "INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD"


async def test_undefined_term_added_after_signing() -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    vc["credentialSubject"]["isAdmin"] = True
    with pytest.raises(DataLossDetectionError) as info:
        await _verify(vc, issuer)
    assert info.value.code == "DATA_LOSS_DETECTION_ERROR"
    assert "isAdmin" in str(info.value)


async def test_undefined_type_added_after_signing() -> None:
    # pyld's on_property_dropped hook does not see types: this is caught by our own walk.
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    vc["type"].append("SuperUser")
    with pytest.raises(DataLossDetectionError) as info:
        await _verify(vc, issuer)
    assert "SuperUser" in str(info.value)


def test_pyld_alone_would_have_dropped_both() -> None:
    from pyld import jsonld

    from didvc.jsonld import document_loader

    issuer = Party()
    vc = credential(issuer, Party().did)
    tampered = copy.deepcopy(vc)
    tampered["credentialSubject"]["isAdmin"] = True
    tampered["type"].append("SuperUser")
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": document_loader}
    plain = jsonld.normalize(vc, options)
    forged = jsonld.normalize(tampered, options)
    assert "isAdmin" not in forged
    assert "SuperUser" not in forged or forged != plain  # a relative type never reaches the quads
    with pytest.raises(DataLossDetectionError):
        canonicalize(tampered)


async def test_safe_mode_on_signing_too() -> None:
    issuer = Party()
    unsafe = credential(issuer, Party().did)
    unsafe["credentialSubject"]["isAdmin"] = True
    with pytest.raises(DataLossDetectionError):
        await signed(unsafe, issuer)


async def test_unknown_context_is_an_error_without_network() -> None:
    issuer = Party()
    vc = credential(issuer, Party().did)
    vc["@context"] = [*vc["@context"], "https://attacker.example/context.jsonld"]
    with pytest.raises(UnknownContextError) as info:
        await signed(vc, issuer)
    assert info.value.code == "UNKNOWN_CONTEXT_ERROR"
    signed_vc = await signed(credential(issuer, Party().did), issuer)
    signed_vc["@context"].append("https://attacker.example/context.jsonld")
    with pytest.raises(UnknownContextError):
        await _verify(signed_vc, issuer)


async def test_context_reordered_changes_meaning_and_fails() -> None:
    # Two contexts that define one term differently: their order decides what "role" means.
    register_context("https://didvc.test/order/a", {"@context": {"role": "https://a.didvc.test#role"}})
    register_context("https://didvc.test/order/b", {"@context": {"role": "https://b.didvc.test#role"}})
    issuer = Party()
    vc = credential(issuer, Party().did)
    vc["@context"] = [*vc["@context"], "https://didvc.test/order/a", "https://didvc.test/order/b"]
    vc["credentialSubject"]["role"] = "operator"
    secured = await signed(vc, issuer)
    await _verify(secured, issuer)
    secured["@context"][1:] = reversed(secured["@context"][1:])
    with pytest.raises(ProofVerificationError) as info:
        await _verify(secured, issuer)
    assert info.value.code == "PROOF_VERIFICATION_ERROR"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda vc: vc["credentialSubject"].__setitem__("id", "relative/agent"),
        lambda vc: vc.__setitem__("id", "not-absolute"),
    ],
    ids=["relative subject id", "relative credential id"],
)
async def test_relative_iri(mutate: Any) -> None:
    issuer = Party()
    vc = credential(issuer, Party().did)
    mutate(vc)
    with pytest.raises(DataLossDetectionError):
        await signed(vc, issuer)


def test_relative_type_in_value_object() -> None:
    with pytest.raises(ParsingError):
        expand(
            {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "name": {"@value": "x", "@type": "notAnIri"},
            }
        )


def test_malformed_json_ld_is_a_parsing_error() -> None:
    with pytest.raises(ParsingError):
        canonicalize({"@context": 42})


def test_deeply_nested_document() -> None:
    deep: dict[str, Any] = {"@context": ["https://www.w3.org/ns/credentials/examples/v2"]}
    node = deep
    for _ in range(3000):
        node["nest"] = {}
        node = node["nest"]
    with pytest.raises(ParsingError):
        canonicalize(deep)


def test_registered_contexts_cannot_be_rebound() -> None:
    register_context("https://didvc.test/ctx/v1", {"@context": {"x": "https://didvc.test#x"}})
    register_context("https://didvc.test/ctx/v1", {"@context": {"x": "https://didvc.test#x"}})
    with pytest.raises(ValueError):
        register_context("https://didvc.test/ctx/v1", {"@context": {"x": "https://evil.test#x"}})
    with pytest.raises(ValueError):
        register_context("https://www.w3.org/ns/credentials/v2", {"@context": {}})


async def test_authentication_purpose_challenge_and_domain() -> None:
    holder = Party()
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.did,
    }
    proved = await add_proof(
        presentation,
        holder.signer,
        purpose=Authentication(challenge="abc", domain="https://api.example"),
        created=NOW,
    )
    await _verify(
        proved, purpose=Authentication(challenge="abc", domain="https://api.example", controller=holder.did)
    )
    with pytest.raises(InvalidChallengeError):
        await _verify(proved, purpose=Authentication(challenge="other"))
    with pytest.raises(InvalidDomainError):
        await _verify(proved, purpose=Authentication(challenge="abc", domain="https://evil.example"))
    # an authentication proof is checked against the holder's authentication relationship
    document = did_key_document(holder.did)
    document["authentication"] = []
    with pytest.raises(InvalidRelationshipForVerificationMethodError):
        await verify_proofs(
            proved, resolver=StaticResolver({holder.did: document}), purpose=Authentication(), now=NOW
        )


async def test_created_in_future_and_expired_against_injected_clock() -> None:
    issuer = Party()
    vc = await add_proof(
        credential(issuer, Party().did), issuer.signer, created=NOW, expires=NOW + timedelta(hours=1)
    )
    await _verify(vc, issuer)
    with pytest.raises(ProofVerificationError, match="future"):
        await verify_proofs(vc, resolver=default_resolver(), now=NOW - timedelta(hours=1))
    with pytest.raises(ProofVerificationError, match="expired"):
        await verify_proofs(vc, resolver=default_resolver(), now=NOW + timedelta(hours=2))


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("proofValue", "u" + "A" * 86),
        ("proofValue", 5),
        ("proofValue", "z0OIl"),
        ("created", "yesterday"),
        ("created", "2026-06-01T12:00:00"),
        ("verificationMethod", ["a"]),
    ],
)
async def test_malformed_proof_members(member: str, value: Any) -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    vc["proof"][member] = value
    with pytest.raises(MalformedProofError) as info:
        await _verify(vc, issuer)
    assert info.value.code == "MALFORMED_PROOF_ERROR"


@pytest.mark.parametrize("proof", [None, [], "proof", [1], {}])
async def test_missing_or_malformed_proof(proof: Any) -> None:
    issuer = Party()
    vc = credential(issuer, Party().did)
    if proof is not None:
        vc["proof"] = proof
    with pytest.raises((ProofVerificationError, MalformedProofError, ProofTransformationError)):
        await _verify(vc, issuer)


async def test_proof_type_not_data_integrity() -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    vc["proof"]["type"] = "Ed25519Signature2020"
    with pytest.raises(ProofTransformationError):
        await _verify(vc, issuer)


async def test_signer_key_must_fit_the_suite() -> None:
    issuer = Party(KeyType.P256)
    with pytest.raises(ProofGenerationError):
        await signed(credential(issuer, Party().did), issuer, cryptosuite="eddsa-rdfc-2022")
    with pytest.raises(ProofGenerationError):
        await signed(credential(issuer, Party().did), issuer, cryptosuite="Ed25519Signature2020")
    secp = Party(KeyType.SECP256K1)
    with pytest.raises(ProofGenerationError):
        await signed(credential(secp, Party().did), secp, cryptosuite="ecdsa-rdfc-2019")


async def test_proof_chain_with_missing_previous_proof() -> None:
    issuer, second = Party(), Party()
    vc = await add_proof(credential(issuer, Party().did), issuer.signer, proof_id="urn:uuid:p1", created=NOW)
    chained = await add_proof(vc, second.signer, previous_proof="urn:uuid:p1", created=NOW)
    await verify_proofs(chained, resolver=default_resolver(), now=NOW)
    chained["proof"] = [chained["proof"][1]]  # drop the proof the chain depends on
    with pytest.raises(ProofVerificationError, match="previousProof"):
        await verify_proofs(chained, resolver=default_resolver(), now=NOW)
    with pytest.raises(ProofGenerationError):
        await add_proof(vc, second.signer, previous_proof="urn:uuid:nope", created=NOW)


async def test_every_proof_of_a_set_must_verify() -> None:
    issuer, other = Party(), Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    both = await add_proof(vc, other.signer, created=NOW)
    await verify_proofs(both, resolver=default_resolver(), now=NOW)
    both["proof"][1]["proofValue"] = both["proof"][0]["proofValue"]
    with pytest.raises(ProofVerificationError):
        await verify_proofs(both, resolver=default_resolver(), now=NOW)


async def test_jcs_proof_context_must_prefix_document_context() -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer, cryptosuite="eddsa-jcs-2022")
    vc["@context"] = ["https://www.w3.org/ns/credentials/examples/v2"]
    with pytest.raises(ProofVerificationError, match="@context"):
        await _verify(vc, issuer)


async def test_signer_seam_accepts_any_signer() -> None:
    issuer = Party()

    class Remote:
        key_id = issuer.key_id
        algorithm = "Ed25519"

        async def sign(self, data: bytes) -> bytes:
            return issuer.pair.sign(data)

    vc = await add_proof(credential(issuer, Party().did), Remote(), created=NOW)
    await _verify(vc, issuer)
    assert isinstance(issuer.signer, KeySigner)
