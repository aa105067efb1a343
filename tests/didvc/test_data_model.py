"""The VC Data Model 2.0 checks of a credential's JSON (didvc.credentials.check_credential): each
MUST the W3C suite tests, refused with MALFORMED_VALUE_ERROR, beside the valid form it allows."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from didvc.credentials import CREDENTIALS_V2, check_credential
from didvc.errors import MalformedValueError

BASE: dict[str, Any] = {
    "@context": [CREDENTIALS_V2],
    "id": "urn:uuid:3b8c2a1e-0f4e-4d1b-9a47-5c1c2d3e4f50",
    "type": ["VerifiableCredential"],
    "issuer": "did:example:issuer",
    "validFrom": "2026-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:subject"},
}


def _with(**members: Any) -> dict[str, Any]:
    credential = copy.deepcopy(BASE)
    for name, value in members.items():
        if value is None and name.startswith("drop_"):
            credential.pop(name.removeprefix("drop_"))
        else:
            credential[name] = value
    return credential


REFUSED = {
    "a null id": _with(id=None),
    "no type": _with(drop_type=None),
    "an issuer that is no URL": _with(issuer="not a url"),
    "a validFrom that is no dateTimeStamp": _with(validFrom="2026-01-01"),
    "a validUntil that is no dateTimeStamp": _with(validUntil="tomorrow"),
    "a credentialStatus without a type": _with(credentialStatus={"id": "https://example.org/status#1"}),
    "a credentialStatus with two ids": _with(
        credentialStatus={
            "id": ["https://a.example/1", "https://b.example/2"],
            "type": "BitstringStatusListEntry",
        }
    ),
    "termsOfUse without a type": _with(termsOfUse=[{"id": "https://example.org/tou"}]),
    "evidence without a type": _with(evidence=[{"id": "https://example.org/evidence"}]),
    "a refreshService without a type": _with(refreshService={"id": "https://example.org/refresh"}),
    "a credentialSchema without a type": _with(credentialSchema={"id": "https://example.org/schema.json"}),
    "a credentialSchema without an id": _with(credentialSchema={"type": "JsonSchema"}),
    "a name with extra properties": _with(name={"@value": "Card", "extra": "no"}),
    "a description that is a number": _with(description=7),
    "an issuer.name with extra properties": _with(
        issuer={"id": "did:example:issuer", "name": {"@value": "Acme", "@id": "x"}}
    ),
    "an issuer.description with extra properties": _with(
        issuer={"id": "did:example:issuer", "description": {"@value": "A", "foo": "b"}}
    ),
    "a relatedResource without a digest": _with(relatedResource=[{"id": "https://example.org/context"}]),
    "a relatedResource without an id": _with(relatedResource=[{"digestSRI": "sha384-abc"}]),
    "two relatedResources with one id": _with(
        relatedResource=[
            {"id": "https://example.org/a", "digestSRI": "sha384-abc"},
            {"id": "https://example.org/a", "digestMultibase": "uEiAbc"},
        ]
    ),
    "an empty credentialSubject": _with(credentialSubject={}),
}

ACCEPTED = {
    "several subjects": _with(credentialSubject=[{"id": "did:example:a"}, {"name": "b"}]),
    "an object in @context": _with(**{"@context": [CREDENTIALS_V2, {"Card": "https://example.org/Card"}]}),
    "typed members": _with(
        credentialStatus={"id": "https://example.org/status#1", "type": "BitstringStatusListEntry"},
        termsOfUse={"type": "IssuerPolicy"},
        evidence=[{"type": ["Evidence", "DocumentVerification"]}],
        refreshService={"type": "ManualRefreshService2018", "id": "https://example.org/refresh"},
        credentialSchema=[{"id": "https://example.org/schema.json", "type": "JsonSchema"}],
    ),
    "language value objects": _with(
        name={"@value": "Karte", "@language": "de"},
        description=[{"@value": "Card", "@language": "en", "@direction": "ltr"}, "plain"],
        issuer={"id": "did:example:issuer", "name": "Acme", "description": {"@value": "Us"}},
    ),
    "related resources": _with(
        relatedResource=[
            {"id": "https://example.org/a", "digestSRI": "sha384-abc"},
            {"id": "https://example.org/b", "digestMultibase": "uEiAbc", "mediaType": "image/png"},
        ]
    ),
}


@pytest.mark.parametrize("credential", REFUSED.values(), ids=REFUSED.keys())
def test_each_must_of_the_data_model_is_enforced(credential: dict[str, Any]) -> None:
    with pytest.raises(MalformedValueError):
        check_credential(credential, issuing=True)
    with pytest.raises(MalformedValueError):  # a verifier holds others to the same rules
        check_credential(credential)


@pytest.mark.parametrize("credential", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_what_the_data_model_allows_is_accepted(credential: dict[str, Any]) -> None:
    assert check_credential(credential, issuing=True).issuer == "did:example:issuer"
