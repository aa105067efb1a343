"""The two verification modes: request authentication (the default: a holder, credentials about
it, bound to a request, fresh, once) and general verification (the VC-API's: holder optional,
credentials about anyone, freshness from the caller's challenge, nothing remembered); and the
issuer/signer rule as a policy choice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from didvc.credentials import CREDENTIALS_V2, make_presentation
from didvc.proofs import Authentication, add_proof
from resolvers import default_resolver
from tests.helpers import NOW, Party, agent_credential, credential, request_token, signed, trusting
from verifier import Mode, Verifier

API = {"audience": "https://api.example", "method": "GET", "url": "https://api.example/orders"}


def _verifier(*trusted: Party, **settings: Any) -> Verifier:
    return Verifier(clock=lambda: NOW, resolver=default_resolver(), policy=trusting(*trusted, **settings))


def _codes(result: Any) -> list[str]:
    return [code for code, _ in result.problems]


async def _vp(
    signer: Party,
    credentials: list[Any],
    *,
    holder: str | None = None,
    challenge: str = "c-1",
    created: Any = NOW,
) -> dict[str, Any]:
    document = make_presentation(holder or signer.did, credentials)
    if holder == "":
        del document["holder"]
    purpose = Authentication(challenge=challenge, domain="https://api.example")
    return await add_proof(document, signer.signer, purpose=purpose, created=created)


async def test_another_subjects_credential_without_a_holder_is_sound_but_authenticates_no_one() -> None:
    issuer, subject, presenter = Party(), Party(), Party()
    vc = await signed(agent_credential(issuer, subject.did, ["orders:read"]), issuer)
    vp = await _vp(presenter, [vc], holder="")
    verifier = _verifier(issuer)
    general = await verifier.verify_presentation(vp, mode="general", challenge="c-1")
    assert general.verified, general.problems
    assert general.holder == presenter.did and general.scopes == []  # who signed; nothing granted
    request = await verifier.verify_presentation(vp, challenge="c-1", **API)
    assert _codes(request) == ["HOLDER_BINDING_ERROR"]


async def test_freshness_comes_from_the_challenge_not_the_proofs_age_and_nothing_is_remembered() -> None:
    issuer, agent = Party(), Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    old = await _vp(agent, [vc], created=NOW - timedelta(days=30))
    verifier = _verifier(issuer)
    for _ in range(2):  # a second time too: general verification is stateless
        assert (await verifier.verify_presentation(old, mode=Mode.GENERAL, challenge="c-1")).verified
    assert (await verifier.verify_presentation(old, mode="general")).verified  # no challenge asked
    wrong = await verifier.verify_presentation(old, mode="general", challenge="c-2")
    assert not wrong.verified and wrong.problems[0].code == "INVALID_CHALLENGE_ERROR"
    other_domain = await verifier.verify_presentation(old, mode="general", domain="https://elsewhere.example")
    assert not other_domain.verified
    assert _codes(await verifier.verify_presentation(old, challenge="c-1", **API)) == [
        "REQUEST_BINDING_ERROR"
    ]


async def test_general_verification_still_checks_trust_signatures_and_the_data_model() -> None:
    issuer, stranger, agent = Party(), Party(), Party()
    verifier = _verifier(issuer)
    untrusted = await signed(agent_credential(stranger, agent.did, ["a"]), stranger)
    assert _codes(await verifier.verify_presentation(await _vp(agent, [untrusted]), mode="general")) == [
        "UNTRUSTED_ISSUER_ERROR"
    ]
    tampered = await _vp(agent, [await signed(agent_credential(issuer, agent.did, ["a"]), issuer)])
    tampered["verifiableCredential"][0]["credentialSubject"]["scope"] = ["admin"]
    assert _codes(await verifier.verify_presentation(tampered, mode="general")) == [
        "PROOF_VERIFICATION_ERROR"
    ]
    unsigned = make_presentation(agent.did, [])
    assert _codes(await verifier.verify_presentation(unsigned, mode="general")) == [
        "PROOF_VERIFICATION_ERROR"
    ]
    empty = await _vp(agent, [])  # no credential: sound if its proof is
    assert (await verifier.verify_presentation(empty, mode="general")).verified
    forged = await _vp(agent, [], holder=issuer.did)
    assert (await verifier.verify_presentation(forged, mode="general")).holder == agent.did  # the signer
    hostile = "x" * 100_000
    assert _codes(await verifier.verify_presentation(hostile, mode="general")) == ["INPUT_TOO_LARGE_ERROR"]


async def test_a_vp_jwt_in_general_mode() -> None:
    issuer, agent = Party(), Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    token = await request_token(agent, [vc], nonce="n-1")
    verifier = _verifier(issuer)
    result = await verifier.verify_presentation(
        token, mode="general", challenge="n-1", domain="https://api.example"
    )
    assert result.verified and result.holder == agent.did, result.problems
    assert not (await verifier.verify_presentation(token, mode="general", challenge="n-2")).verified
    assert not (
        await verifier.verify_presentation(token, mode="general", domain="https://other.example")
    ).verified


async def test_the_modes_take_their_own_arguments() -> None:
    verifier = _verifier()
    with pytest.raises(ValueError, match="general"):
        await verifier.verify_presentation("x", mode="general", **API)
    with pytest.raises(ValueError, match="audience"):
        await verifier.verify_presentation("x", domain="https://api.example", **API)
    with pytest.raises(ValueError):
        await verifier.verify_presentation("x", mode="sideways")


async def test_the_signer_must_be_the_issuer_unless_the_policy_says_otherwise() -> None:
    signer = Party()
    body = credential(signer, Party().did)
    body["issuer"] = "https://issuer.example/"  # an https issuer, signed by a did:key (W3C vectors)
    body["@context"] = [CREDENTIALS_V2]
    vc = await signed(body, signer)
    strict = Verifier(clock=lambda: NOW, policy=trusting("https://issuer.example/"))
    assert _codes(await strict.verify_credential(vc)) == ["PROOF_VERIFICATION_ERROR"]
    relaxed = Verifier(clock=lambda: NOW, policy=trusting("https://issuer.example/", signer_is_issuer=False))
    assert (await relaxed.verify_credential(vc)).verified


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"exp": None}, None),
        ({"exp": "soon"}, "PARSING_ERROR"),
        ({"exp": True}, "PARSING_ERROR"),
        ({"exp": NOW.timestamp() - 3600}, "RANGE_ERROR"),
        ({"nbf": NOW.timestamp() + 3600}, "RANGE_ERROR"),
        ({"iss": "did:example:someone-else"}, "HOLDER_BINDING_ERROR"),
    ],
)
async def test_a_vp_jwt_in_general_mode_with_hostile_claims(claims: dict[str, Any], code: str | None) -> None:
    from didvc.jose import sign_jws

    issuer, agent = Party(), Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    payload = {**make_presentation(agent.did, [vc]), **claims}
    token = await sign_jws(payload, agent.signer, typ="vp+jwt")
    result = await _verifier(issuer).verify_presentation(token, mode="general")
    assert [p.code for p in result.problems] == ([code] if code else []), result.problems
