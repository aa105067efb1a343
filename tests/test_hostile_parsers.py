"""Every public entry point that reads outside input, fed by hypothesis: a result or a didvc
error with a problem code, never a foreign exception.

The default profile runs a few hundred examples each (CI). For a long run:
``HYPOTHESIS_PROFILE=long pytest tests/test_hostile_parsers.py`` (tens of thousands each).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from didvc import jsonld, rdfc
from didvc.credentials import check_credential, check_presentation
from didvc.did import DidDocument, parse_did, parse_did_url
from didvc.encoding import b64url_decode, b64url_encode, bounded_text, multibase_decode, strict_json_loads
from didvc.errors import DidvcError
from didvc.jose import parse_jws
from didvc.keys import PublicKey
from didvc.proofs import parse_datetime
from didvc.request import RequestClaims, check_request_claims, normalize_htu
from didvc.status import StatusEntry, StatusList
from resolvers import JwkResolver, KeyResolver, StaticResolver, did_web_url
from tests.helpers import NOW, Party
from verifier import Policy, Verifier

settings.register_profile("default", max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile("long", max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

KEYS = [
    "@context",
    "@id",
    "@type",
    "@value",
    "@list",
    "@graph",
    "id",
    "type",
    "issuer",
    "holder",
    "credentialSubject",
    "verifiableCredential",
    "validFrom",
    "validUntil",
    "credentialStatus",
    "proof",
    "scope",
    "audience",
    "verificationMethod",
    "assertionMethod",
    "authentication",
    "controller",
    "publicKeyMultibase",
    "publicKeyJwk",
    "kty",
    "crv",
    "x",
    "y",
    "iat",
    "exp",
    "aud",
    "htu",
    "htm",
    "jti",
    "nonce",
    "bdh",
    "statusListIndex",
    "statusPurpose",
    "statusListCredential",
    "trusted_issuers",
    "routes",
    "max_credential_age",
    "clock_skew",
]
SPECIAL_STRINGS = [
    "",
    "https://www.w3.org/ns/credentials/v2",
    "https://www.w3.org/2018/credentials/v1",
    "https://w3id.org/didvc/agent/v1",
    "VerifiableCredential",
    "VerifiablePresentation",
    "AgentCredential",
    "EnvelopedVerifiableCredential",
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "did:web:example.com",
    "did:jwk:e30",
    "_:b0",
    "@id",
    "@vocab",
    "2026-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+14:00",
    "data:application/vc+jwt,a.b.c",
    "BitstringStatusListEntry",
    "DataIntegrityProof",
    "eddsa-rdfc-2022",
    "z",
    "u",
    "OKP",
    "Ed25519",
    "EC",
    "P-256",
]

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324, 2**53 + 1, 10**21, 1e21]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=40), st.sampled_from(SPECIAL_STRINGS))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=12)), children, max_size=6),
    ),
    max_leaves=30,
)
documents = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)
texts = st.one_of(
    st.text(max_size=200), st.sampled_from(SPECIAL_STRINGS), st.binary(max_size=100).map(b64url_encode)
)


def _safely(call: Callable[[], Any]) -> None:
    with contextlib.suppress(DidvcError):  # anything else fails the test
        call()


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@given(st.one_of(texts, st.binary(max_size=200), json_values.map(lambda v: json.dumps(v, allow_nan=True))))
def test_strict_json(data: str | bytes) -> None:
    _safely(lambda: strict_json_loads(data))


@given(texts, st.sampled_from(["vp+jwt", "vc+jwt"]))
def test_compact_jws(token: str, typ: str) -> None:
    _safely(lambda: parse_jws(token, typ=typ))


@given(json_values, json_values)
def test_jws_with_crafted_header_and_payload(header: Any, payload: Any) -> None:
    encoded = ".".join(b64url_encode(json.dumps(part, allow_nan=True).encode()) for part in (header, payload))
    _safely(lambda: parse_jws(encoded + ".AAAA", typ="vp+jwt"))


@given(texts)
def test_dids_and_did_urls(text: str) -> None:
    _safely(lambda: parse_did(text))
    _safely(lambda: parse_did_url(text))
    _safely(lambda: did_web_url(text))


@given(documents, json_values)
def test_did_documents(document: dict[str, Any], extra: Any) -> None:
    document.setdefault("id", "did:example:123")
    _safely(lambda: DidDocument({**document, "assertionMethod": extra}))


@given(st.one_of(texts, json_values))
def test_keys(value: Any) -> None:
    _safely(lambda: PublicKey.from_multikey(value))
    _safely(lambda: PublicKey.from_jwk(value))
    if isinstance(value, str):
        _safely(lambda: multibase_decode(value))
        _safely(lambda: b64url_decode(value))


@given(texts)
def test_did_key_and_did_jwk_resolution(suffix: str) -> None:
    for did in (f"did:key:{suffix}", f"did:jwk:{suffix}"):
        _safely(lambda did=did: _run(KeyResolver().resolve(did)))
        _safely(lambda did=did: _run(JwkResolver().resolve(did)))


@given(texts, st.integers(min_value=-2, max_value=10))
def test_status_lists(encoded: str, size: int) -> None:
    _safely(lambda: StatusList.decode(encoded, status_size=size))


@given(st.one_of(documents, json_values))
def test_status_entries(entry: Any) -> None:
    if isinstance(entry, dict):
        _safely(lambda: StatusEntry.parse(entry))


@given(st.one_of(texts, st.binary(max_size=300)), st.integers(min_value=0, max_value=64))
def test_bounded_text(value: str | bytes, limit: int) -> None:
    try:
        text = bounded_text(value, limit, what="input")
    except DidvcError:
        return
    assert len(text) <= limit and text == text.strip()


@given(st.one_of(documents, json_values))
def test_credential_and_presentation_data_models(document: Any) -> None:
    _safely(lambda: check_credential(document))
    _safely(lambda: check_presentation(document))


@given(documents)
def test_json_ld_expansion_and_canonicalization(document: dict[str, Any]) -> None:
    _safely(lambda: jsonld.expand(document))
    _safely(lambda: jsonld.canonicalize(document))


_blank = st.sampled_from([rdfc.term_blank(f"x{i}") for i in range(6)])
_term = st.one_of(_blank, st.text(max_size=8).map(rdfc.term_iri), st.text(max_size=8).map(rdfc.term_literal))


@given(
    st.lists(st.tuples(_blank, st.text(max_size=5).map(rdfc.term_iri), _term, st.one_of(st.just(""), _blank)))
)
def test_rdf_canonicalization(quads: list[rdfc.Quad]) -> None:
    _safely(lambda: rdfc.canonicalize(quads))


@given(documents, texts)
def test_request_claims(payload: dict[str, Any], url: str) -> None:
    _safely(lambda: normalize_htu(url))
    claims = RequestClaims("https://api.example", "GET", "https://api.example/orders", b"{}", None)
    _safely(
        lambda: check_request_claims(payload, claims, now=NOW.timestamp(), max_lifetime=300, clock_skew=60)
    )


@given(st.one_of(texts, json_values))
def test_datetimes(value: Any) -> None:
    _safely(lambda: parse_datetime(value, what="x"))


@given(st.one_of(json_values, documents))
def test_policies(data: Any) -> None:
    _safely(lambda: Policy.from_dict(data))


_ISSUER = Party()
REQUEST = {"audience": "https://api.example", "method": "GET", "url": "https://api.example/x"}
_VERIFIER: dict[str, Verifier] = {}


def _verifier() -> Verifier:
    if "v" not in _VERIFIER:
        policy = Policy(trusted_issuers={"*": frozenset({_ISSUER.did})}, allow_authentication_only=True)
        _VERIFIER["v"] = Verifier(resolver=StaticResolver(), clock=lambda: NOW, policy=policy)
    return _VERIFIER["v"]


@given(st.one_of(documents, texts, json_values.map(json.dumps)))
def test_verify_credential_and_presentation(value: Any) -> None:
    async def both() -> None:
        verifier = _verifier()
        for result in (
            await verifier.verify_credential(value),
            await verifier.verify_presentation(value, challenge="c", **REQUEST),
        ):
            assert not result.verified or result.problems == []
            assert all(isinstance(code, str) and code for code, _ in result.problems)

    asyncio.run(both())


_LINK_SUBJECT = st.fixed_dictionaries(
    {"id": st.sampled_from(["did:example:a", "did:example:b"])},
    optional={
        "scope": json_values,
        "audience": json_values,
        "delegationHops": json_values,
        "parentDelegation": st.one_of(json_values, st.fixed_dictionaries({"id": texts, "digestSRI": texts})),
    },
)


@given(st.lists(_LINK_SUBJECT, max_size=4), st.sampled_from(["did:example:a", "did:example:b"]))
def test_delegation_links_and_chains(subjects: list[dict[str, Any]], holder: str) -> None:
    from didvc.delegation import check_chain, read_link

    links = []
    for n, subject in enumerate(subjects):
        credential = {
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/didvc/delegation/v1"],
            "id": f"urn:x:{n}",
            "type": ["VerifiableCredential", "DelegationCredential"],
            "issuer": "did:example:a" if n % 2 else "did:example:b",
            "validFrom": "2026-01-01T00:00:00Z",
            "validUntil": "2026-01-02T00:00:00Z",
            "credentialSubject": subject,
        }
        with contextlib.suppress(DidvcError):
            links.append(read_link(credential, check_credential(credential)))
    _safely(lambda: check_chain(links, holder, frozenset({"did:example:b"}), 3))


@given(
    status=st.sampled_from([200, 401, 403, 503]),
    nonce=st.none() | st.text(max_size=40),
    authenticate=st.none() | st.text(max_size=120),
)
def test_another_try_reads_any_answer(status: int, nonce: str | None, authenticate: str | None) -> None:
    """A client's reading of a refusal: any header values, never an exception; one more try
    only for a 401 handing out a nonce or refusing the token as a replay."""
    from didvc.request import NONCE_HEADER, another_try

    headers = {k: v for k, v in ((NONCE_HEADER, nonce), ("WWW-Authenticate", authenticate)) if v is not None}
    again, given_nonce = another_try(status, headers)
    replayed = 'error_code="REPLAY_DETECTED_ERROR"' in (authenticate or "")
    assert again == (status == 401 and (bool(nonce) or replayed))
    assert given_nonce == (nonce or None if status == 401 else None)


def test_another_try_of_the_gate_s_own_answers() -> None:
    from didvc.request import another_try
    from verifier._gate import problem_denial
    from verifier._result import Problem

    for code, expected in (("REPLAY_DETECTED_ERROR", True), ("REQUEST_BINDING_ERROR", False)):
        denial = problem_denial(401, [Problem(code, "refused")])
        assert another_try(denial.status, denial.headers) == (expected, None)
    busy = problem_denial(503, [Problem("REPLAY_CACHE_UNAVAILABLE_ERROR", "down")])
    assert another_try(busy.status, busy.headers) == (False, None)
