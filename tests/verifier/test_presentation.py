"""verify_presentation: the request token and the Data Integrity VP, each hostile case with its code."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from didvc.credentials import sign_vc_jwt
from didvc.encoding import b64url_encode
from didvc.keys import KeySigner
from didvc.proofs import Authentication, add_proof
from resolvers import StaticResolver, default_resolver, did_key_document
from tests.helpers import NOW, Party, agent_credential, presentation, request_token, signed, trusting
from verifier import Policy, RouteRule, Verifier

API = dict(audience="https://api.example", method="GET", url="https://api.example/orders")


pytestmark = pytest.mark.usefixtures("no_network")  # everything here is offline


def _verifier(*trusted: Party, **kwargs: Any) -> Verifier:
    kwargs.setdefault("resolver", default_resolver())
    kwargs.setdefault("policy", trusting(*trusted))
    return Verifier(clock=lambda: NOW, **kwargs)


async def _agent_vc(
    issuer: Party, agent: Party, scopes: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    return await signed(agent_credential(issuer, agent.did, scopes or ["orders:read"], **extra), issuer)


def _codes(result: Any) -> list[str]:
    return [code for code, _ in result.problems]


async def test_request_token_happy_path() -> None:
    issuer, agent = Party(), Party()
    vc = await _agent_vc(issuer, agent, ["orders:read", "orders:write"])
    token = await request_token(agent, [vc])
    result = await _verifier(issuer).verify_presentation(token, **API)
    assert result.verified, result.problems
    assert result.holder == agent.did
    assert result.scopes == ["orders:read", "orders:write"]
    assert result.credentials[0].issuer == issuer.did
    assert result.credentials[0].types == ("VerifiableCredential", "AgentCredential")


@pytest.mark.parametrize("around", [("", "\n"), (" ", ""), ("\u2028", "\t"), ("\xa0", "\xa0")])
async def test_a_token_is_read_the_same_with_space_around_it(around: tuple[str, str]) -> None:
    # a token as the middleware passes it is told apart in one look; with space around it, the
    # general reading strips the space: both read the same token
    issuer, agent = Party(), Party()
    token = await request_token(agent, [await _agent_vc(issuer, agent)])
    verifier = _verifier(issuer)
    padded = await verifier.verify_presentation(around[0] + token + around[1], **API)
    assert padded.verified, padded.problems
    assert _codes(await verifier.verify_presentation(token, **API)) == ["REPLAY_DETECTED_ERROR"]


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"audience": "https://other.example"}, "REQUEST_BINDING_ERROR"),
        ({"method": "POST"}, "REQUEST_BINDING_ERROR"),
        ({"url": "https://api.example/admin"}, "REQUEST_BINDING_ERROR"),
        ({"url": "https://evil.example/orders"}, "REQUEST_BINDING_ERROR"),
    ],
)
async def test_other_audience_method_or_url(override: dict[str, str], code: str) -> None:
    issuer, agent = Party(), Party()
    token = await request_token(agent, [await _agent_vc(issuer, agent)])
    result = await _verifier(issuer).verify_presentation(token, **{**API, **override})
    assert _codes(result) == [code]


async def test_query_string_does_not_matter_but_body_does() -> None:
    issuer, agent = Party(), Party()
    vc = await _agent_vc(issuer, agent)
    token = await request_token(agent, [vc], method="POST", body=b'{"qty": 1}')
    ok = await _verifier(issuer).verify_presentation(
        token, audience=API["audience"], method="POST", url=API["url"] + "?page=2", body=b'{"qty": 1}'
    )
    assert ok.verified, ok.problems
    token = await request_token(agent, [vc], method="POST", body=b'{"qty": 1}')
    result = await _verifier(issuer).verify_presentation(
        token, audience=API["audience"], method="POST", url=API["url"], body=b'{"qty": 1000}'
    )
    assert _codes(result) == ["REQUEST_BINDING_ERROR"]


@pytest.mark.parametrize(
    ("lifetime", "token_time", "code"),
    [
        (60, NOW - timedelta(minutes=5), "REQUEST_BINDING_ERROR"),  # expired
        (60, NOW + timedelta(minutes=5), "REQUEST_BINDING_ERROR"),  # issued in the future
        (3600, NOW, "REQUEST_BINDING_ERROR"),  # lifetime above the cap
    ],
    ids=["expired", "future", "too long-lived"],
)
async def test_token_time_window(lifetime: int, token_time: Any, code: str) -> None:
    issuer, agent = Party(), Party()
    token = await request_token(agent, [await _agent_vc(issuer, agent)], lifetime=lifetime, now=token_time)
    result = await _verifier(issuer).verify_presentation(token, **API)
    assert _codes(result) == [code]


async def test_a_stash_of_expired_tokens_is_refused_before_any_key_or_credential() -> None:
    """Refusing on what a token claims is always safe, and cheapest: an expired token is refused
    for its claims before its credentials are screened (this one's issuer is not trusted) and
    before its signature (this one's is another key's), whether its presentation has settled
    (known by its first bytes) or not."""
    issuer, agent, stranger = Party(), Party(), Party()
    vc = await _agent_vc(issuer, agent)
    verifier = _verifier(issuer)
    for _ in range(3):  # settled, then known
        assert (await verifier.verify_presentation(await request_token(agent, [vc]), **API)).verified
    old = NOW - timedelta(minutes=5)
    known = await request_token(agent, [vc], now=old, signer=KeySigner(stranger.pair, agent.signer.key_id))
    unsettled = await request_token(agent, [await _agent_vc(stranger, agent)], now=old)
    for token in (known, unsettled):
        assert _codes(await verifier.verify_presentation(token, **API)) == ["REQUEST_BINDING_ERROR"]
    fresh = await request_token(agent, [vc], signer=KeySigner(stranger.pair, agent.signer.key_id))
    assert _codes(await verifier.verify_presentation(fresh, **API)) == ["CRYPTOGRAPHIC_SECURITY_ERROR"]


async def test_replayed_token() -> None:
    issuer, agent = Party(), Party()
    token = await request_token(agent, [await _agent_vc(issuer, agent)])
    verifier = _verifier(issuer)
    assert (await verifier.verify_presentation(token, **API)).verified
    again = await verifier.verify_presentation(token, **API)
    assert _codes(again) == ["REPLAY_DETECTED_ERROR"]


async def test_a_replay_is_refused_before_its_signature_with_the_memory_cache() -> None:
    """The in-memory replay cache answers without waiting, so a token id on record is refused
    before the signature is checked: a replayed token costs a parse, its signature (here
    broken) is never looked at."""
    issuer, agent = Party(), Party()
    token = await request_token(agent, [await _agent_vc(issuer, agent)])
    verifier = _verifier(issuer)
    assert (await verifier.verify_presentation(token, **API)).verified
    head, payload, signature = token.split(".")
    broken = f"{head}.{payload}.{'A' * len(signature)}"
    assert _codes(await verifier.verify_presentation(broken, **API)) == ["REPLAY_DETECTED_ERROR"]
    fresh = _verifier(issuer)  # an id not on record: the signature is checked, and fails
    assert _codes(await fresh.verify_presentation(broken, **API)) == ["CRYPTOGRAPHIC_SECURITY_ERROR"]


async def test_a_token_from_before_a_restart_is_refused_before_its_signature() -> None:
    """A restarted server refuses a token issued before it started without checking its
    signature (such a token is never stored, so it would cost one each time it came again)."""
    issuer, agent = Party(), Party()
    token = await request_token(agent, [await _agent_vc(issuer, agent)], now=NOW - timedelta(seconds=30))
    head, payload, signature = token.split(".")
    broken = f"{head}.{payload}.{'A' * len(signature)}"
    restarted = _verifier(issuer)
    restarted.serving()
    assert _codes(await restarted.verify_presentation(broken, **API)) == ["REPLAY_DETECTED_ERROR"]
    assert _codes(await _verifier(issuer).verify_presentation(broken, **API)) == [
        "CRYPTOGRAPHIC_SECURITY_ERROR"  # a verifier that is no server: the signature is checked
    ]


async def test_fifty_concurrent_copies_exactly_one_accepted() -> None:
    issuer, agent = Party(), Party()
    token = await request_token(agent, [await _agent_vc(issuer, agent)])
    verifier = _verifier(issuer)
    results = await asyncio.gather(*(verifier.verify_presentation(token, **API) for _ in range(50)))
    assert sum(r.verified for r in results) == 1
    assert all(_codes(r) == ["REPLAY_DETECTED_ERROR"] for r in results if not r.verified)


async def test_presentation_signed_by_someone_other_than_the_subject() -> None:
    issuer, agent, thief = Party(), Party(), Party()
    vc = await _agent_vc(issuer, agent)  # the thief copied the agent's credential
    token = await request_token(thief, [vc])
    result = await _verifier(issuer).verify_presentation(token, **API)
    assert _codes(result) == ["HOLDER_BINDING_ERROR"]


async def test_holder_binding_exemption_by_policy() -> None:
    issuer, agent, delegate = Party(), Party(), Party()
    vc = await _agent_vc(issuer, agent)
    token = await request_token(delegate, [vc])
    policy = trusting(issuer, holder_binding_exempt_types=frozenset({"AgentCredential"}))
    result = await _verifier(policy=policy).verify_presentation(token, **API)
    assert result.verified, result.problems
    assert result.scopes == []  # scopes belong to the subject, never to someone presenting it


async def test_token_claiming_another_holder() -> None:
    issuer, agent, thief = Party(), Party(), Party()
    vc = await _agent_vc(issuer, agent)
    # the thief signs with its own key but names the agent as holder: the kid gives it away
    from didvc.jose import sign_jws

    payload = {
        **presentation(agent, [vc]),
        "iss": agent.did,
        "aud": API["audience"],
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 60,
        "jti": "abcdefgh12",
        "htm": "GET",
        "htu": API["url"],
    }
    token = await sign_jws(payload, thief.signer, typ="vp+jwt")
    result = await _verifier(issuer).verify_presentation(token, **API)
    assert _codes(result) == ["HOLDER_BINDING_ERROR"]


async def test_holder_key_must_be_an_authentication_key() -> None:
    issuer, agent = Party(), Party()
    vc = await _agent_vc(issuer, agent)
    token = await request_token(agent, [vc])
    document = did_key_document(agent.did)
    document["authentication"] = []
    resolver = StaticResolver({agent.did: document, issuer.did: did_key_document(issuer.did)})
    result = await _verifier(issuer, resolver=resolver).verify_presentation(token, **API)
    assert _codes(result) == ["INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD"]


async def test_tampered_credential_fails_the_whole_presentation() -> None:
    issuer, agent = Party(), Party()
    good = await _agent_vc(issuer, agent, ["orders:read"])
    bad = await _agent_vc(issuer, agent, ["orders:read"], id="urn:uuid:00000000-0000-4000-8000-00000000000b")
    bad["credentialSubject"]["scope"] = ["orders:read", "admin"]
    token = await request_token(agent, [good, bad])
    result = await _verifier(issuer).verify_presentation(token, **API)
    assert not result.verified
    assert _codes(result) == ["PROOF_VERIFICATION_ERROR"]
    assert "admin" not in result.scopes


async def test_tampered_token_signature() -> None:
    issuer, agent = Party(), Party()
    token = await request_token(agent, [await _agent_vc(issuer, agent)])
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["htu"] = "https://api.example/admin"
    forged = f"{head}.{b64url_encode(json.dumps(claims).encode())}.{sig}"
    result = await _verifier(issuer).verify_presentation(forged, **API | {"url": "https://api.example/admin"})
    assert _codes(result) == ["CRYPTOGRAPHIC_SECURITY_ERROR"]


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "code"),
    [
        ("2026-01-01T00:00:00Z", "2026-05-30T00:00:00Z", "CREDENTIAL_EXPIRED_ERROR"),
        ("2026-06-03T00:00:00Z", "2027-01-01T00:00:00Z", "CREDENTIAL_NOT_YET_VALID_ERROR"),
    ],
)
async def test_expired_and_not_yet_valid_credentials(valid_from: str, valid_until: str, code: str) -> None:
    issuer, agent = Party(), Party()
    vc = await _agent_vc(issuer, agent, validFrom=valid_from, validUntil=valid_until)
    result = await _verifier(issuer).verify_presentation(await request_token(agent, [vc]), **API)
    assert code in _codes(result)


async def test_enveloped_vc_jwt_credential() -> None:
    issuer, agent = Party(), Party()
    token_vc = await sign_vc_jwt(agent_credential(issuer, agent.did, ["orders:read"]), issuer.signer)
    result = await _verifier(issuer).verify_presentation(await request_token(agent, [token_vc]), **API)
    assert result.verified, result.problems
    assert result.credentials[0].format == "jwt"
    assert result.scopes == ["orders:read"]


async def test_proof_results_cached_by_exact_bytes() -> None:
    issuer, agent = Party(), Party()
    vc = await _agent_vc(issuer, agent)
    verifier = _verifier(issuer)
    for _ in range(3):
        assert (await verifier.verify_presentation(await request_token(agent, [vc]), **API)).verified
    assert len(verifier.credentials.proofs) == 1
    tampered = json.loads(json.dumps(vc))
    tampered["credentialSubject"]["scope"] = ["orders:read", "orders:delete"]
    result = await verifier.verify_presentation(await request_token(agent, [tampered]), **API)
    assert _codes(result) == ["PROOF_VERIFICATION_ERROR"]


class _Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> Any:
        return self.now


async def test_settled_presentation_still_checks_time_scopes_and_policy() -> None:
    """A repeat presentation takes the fast path, which must reach the verdicts of the full one."""
    issuer, agent = Party(), Party()
    vc = await _agent_vc(issuer, agent, ["orders:read"], validUntil="2026-06-01T13:00:00Z")
    clock = _Clock()
    verifier = Verifier(
        resolver=default_resolver(),
        clock=clock,
        policy=trusting(
            issuer,
            routes=(RouteRule("DELETE", "/orders/*", frozenset({"orders:admin"})),),
            allow_unlisted_routes=True,
        ),
    )

    async def present(at: Any = NOW, **request: str) -> Any:
        clock.now = at
        api = {**API, **request}
        token = await request_token(agent, [vc], method=api["method"], url=api["url"], now=at)
        return await verifier.verify_presentation(token, **api)

    first = await present()
    assert first.verified and len(verifier._settled) == 1
    again = await present()
    assert again.verified and again.scopes == first.scopes == ["orders:read"]
    assert again.credentials[0].to_json() == first.credentials[0].to_json()
    again.credentials[0].claims[0]["scope"].append("orders:admin")  # a handler's change stays its own
    first.credentials[0].issuer = "did:example:mallory"
    kept = (await present()).credentials[0]
    assert kept.claims[0]["scope"] == ["orders:read"] and kept.issuer == issuer.did

    out_of_scope = await present(method="DELETE", url="https://api.example/orders/7")
    assert _codes(out_of_scope) == ["INSUFFICIENT_SCOPE_ERROR"]
    skew = timedelta(seconds=verifier.policy.clock_skew)
    assert (await present(NOW + timedelta(hours=1) + skew)).verified  # validUntil, with the skew
    late = await present(NOW + timedelta(hours=1) + skew + timedelta(seconds=1))
    assert _codes(late) == ["CREDENTIAL_EXPIRED_ERROR"]

    verifier.policy = Policy(trusted_issuers={"AgentCredential": frozenset({Party().did})})
    assert _codes(await present()) == ["UNTRUSTED_ISSUER_ERROR"]
    verifier.policy = trusting(issuer, max_credential_age=timedelta(days=1))  # validFrom: NOW - 1 day
    assert (await present(NOW)).verified
    assert _codes(await present(NOW + timedelta(seconds=1))) == ["CREDENTIAL_TOO_OLD_ERROR"]


async def test_settled_presentation_is_exactly_the_same_presentation() -> None:
    """Whatever a presentation check reads is part of the fast path's key."""
    issuer, agent = Party(), Party()
    vc = await _agent_vc(issuer, agent)
    verifier = _verifier(policy=trusting(issuer, allow_authentication_only=True))
    assert (await verifier.verify_presentation(await request_token(agent, [vc]), **API)).verified
    empty = presentation(agent, [])
    del empty["verifiableCredential"]
    assert (await verifier.verify_presentation(await _signed_request(agent, empty), **API)).verified
    assert len(verifier._settled) == 2
    null_credentials = {**empty, "verifiableCredential": None}  # not the same as absent
    result = await verifier.verify_presentation(await _signed_request(agent, null_credentials), **API)
    assert _codes(result) == ["MALFORMED_VALUE_ERROR"]
    reordered = {k: vc[k] for k in reversed(list(vc))}  # the same credential, a new key: a miss
    assert (await verifier.verify_presentation(await request_token(agent, [reordered]), **API)).verified
    assert len(verifier._settled) == 3


async def _signed_request(agent: Party, vp: dict[str, Any]) -> str:
    """A request token around ``vp`` as given (sign_request_token would refuse a malformed one)."""
    from didvc.jose import sign_jws
    from didvc.request import new_jti

    iat = int(NOW.timestamp())
    claims = {"iss": agent.did, "aud": API["audience"], "iat": iat, "exp": iat + 60, "jti": new_jti()}
    return await sign_jws({**vp, **claims, "htm": "GET", "htu": API["url"]}, agent.signer, typ="vp+jwt")


@pytest.mark.parametrize(
    "claims",
    [{"iat": True}, {"exp": "1780000000"}, {"iat": None}, {"jti": "short"}, {"jti": 12345678}],
    ids=["boolean iat", "string exp", "null iat", "short jti", "numeric jti"],
)
async def test_request_claims_of_the_wrong_type(claims: dict[str, Any]) -> None:
    issuer, agent = Party(), Party()
    vp = presentation(agent, [await _agent_vc(issuer, agent)])
    iat = int(NOW.timestamp())
    payload = {**vp, "iss": agent.did, "aud": API["audience"], "iat": iat, "exp": iat + 60}
    payload.update({"jti": "jti-0123456789", "htm": "GET", "htu": API["url"], **claims})
    from didvc.jose import sign_jws

    token = await sign_jws(payload, agent.signer, typ="vp+jwt")
    assert _codes(await _verifier(issuer).verify_presentation(token, **API)) == ["REQUEST_BINDING_ERROR"]


async def test_server_nonce() -> None:
    issuer, agent = Party(), Party()
    vc = await _agent_vc(issuer, agent)
    token = await request_token(agent, [vc], nonce="n-1")
    assert (await _verifier(issuer).verify_presentation(token, **API, challenge="n-1")).verified
    token = await request_token(agent, [vc])
    assert _codes(await _verifier(issuer).verify_presentation(token, **API, challenge="n-2")) == [
        "REQUEST_BINDING_ERROR"
    ]


async def test_nonce_consumed_only_by_a_token_that_verifies() -> None:
    issuer, agent = Party(), Party()
    vc = await _agent_vc(issuer, agent)
    issued, consumed = {"n-1"}, []

    async def consume(nonce: str) -> bool:
        consumed.append(nonce)
        if nonce not in issued:
            return False
        issued.remove(nonce)
        return True

    verifier = _verifier(issuer)
    wrong_url = await request_token(agent, [vc], nonce="n-1", url="https://api.example/admin")
    assert _codes(await verifier.verify_presentation(wrong_url, **API, consume_challenge=consume)) == [
        "REQUEST_BINDING_ERROR"
    ]
    without = await request_token(agent, [vc])
    result = await verifier.verify_presentation(without, **API, consume_challenge=consume)
    assert _codes(result) == ["USE_NONCE"]
    assert consumed == []  # neither got as far as the nonce
    good = await request_token(agent, [vc], nonce="n-1")
    assert (await verifier.verify_presentation(good, **API, consume_challenge=consume)).verified
    again = await request_token(agent, [vc], nonce="n-1")
    result = await verifier.verify_presentation(again, **API, consume_challenge=consume)
    assert _codes(result) == ["USE_NONCE"]
    assert consumed == ["n-1", "n-1"]


@pytest.mark.parametrize(
    "challenge", [{"a": 1}, ["n-1"], 7, None], ids=["object", "list", "number", "absent"]
)
async def test_data_integrity_challenge_of_the_wrong_type_with_a_nonce_check(challenge: Any) -> None:
    issuer, agent = Party(), Party()
    vp = await _di_vp(agent, [await _agent_vc(issuer, agent)])
    vp["proof"]["challenge"] = challenge

    async def consume(nonce: str) -> bool:
        raise AssertionError("no nonce to consume")

    verifier = _verifier(issuer)
    result = await verifier.verify_presentation(vp, audience=API["audience"], consume_challenge=consume)
    assert _codes(result) == ["USE_NONCE"]


async def test_request_binding_arguments_required_for_tokens() -> None:
    issuer, agent = Party(), Party()
    token = await request_token(agent, [await _agent_vc(issuer, agent)])
    assert _codes(await _verifier(issuer).verify_presentation(token)) == ["REQUEST_BINDING_ERROR"]


# --- Data Integrity presentations ---------------------------------------------------------------


async def _di_vp(
    agent: Party, credentials: list[Any], challenge: str = "c-1", domain: str = "https://api.example"
) -> dict[str, Any]:
    return await add_proof(
        presentation(agent, credentials),
        agent.signer,
        purpose=Authentication(challenge=challenge, domain=domain),
        created=NOW,
    )


@pytest.mark.parametrize("form", ["object", "json", "base64url"])
async def test_data_integrity_presentation(form: str) -> None:
    issuer, agent = Party(), Party()
    vp = await _di_vp(agent, [await _agent_vc(issuer, agent)])
    value: Any = {"object": vp, "json": json.dumps(vp), "base64url": b64url_encode(json.dumps(vp).encode())}[
        form
    ]
    result = await _verifier(issuer).verify_presentation(value, challenge="c-1", **API)
    assert result.verified, result.problems
    assert result.scopes == ["orders:read"]


async def test_data_integrity_presentation_hostile_cases() -> None:
    issuer, agent, thief = Party(), Party(), Party()
    vc = await _agent_vc(issuer, agent)
    vp = await _di_vp(agent, [vc])
    verifier = _verifier(issuer)
    assert _codes(await verifier.verify_presentation(vp, challenge="other", **API)) == [
        "INVALID_CHALLENGE_ERROR"
    ]
    wrong_domain = {**API, "audience": "https://evil.example"}
    assert _codes(await verifier.verify_presentation(vp, challenge="c-1", **wrong_domain)) == [
        "INVALID_DOMAIN_ERROR"
    ]
    assert (await verifier.verify_presentation(vp, challenge="c-1", **API)).verified
    assert _codes(await verifier.verify_presentation(vp, challenge="c-1", **API)) == ["REPLAY_DETECTED_ERROR"]
    stolen = await _di_vp(thief, [vc])
    assert _codes(await _verifier(issuer).verify_presentation(stolen, challenge="c-1", **API)) == [
        "HOLDER_BINDING_ERROR"
    ]
    tampered = json.loads(json.dumps(await _di_vp(agent, [vc])))
    tampered["verifiableCredential"][0]["credentialSubject"]["scope"] = ["admin"]
    assert "PROOF_VERIFICATION_ERROR" in _codes(
        await _verifier(issuer).verify_presentation(tampered, challenge="c-1", **API)
    )
    no_challenge = await _verifier(issuer).verify_presentation(await _di_vp(agent, [vc]), **API)
    assert _codes(no_challenge) == ["REQUEST_BINDING_ERROR"]
    old = await add_proof(
        presentation(agent, [vc]),
        agent.signer,
        purpose=Authentication(challenge="c-1", domain=API["audience"]),
        created=NOW - timedelta(hours=1),
    )
    assert _codes(await _verifier(issuer).verify_presentation(old, challenge="c-1", **API)) == [
        "REQUEST_BINDING_ERROR"
    ]


# --- policy -------------------------------------------------------------------------------------


async def test_policy_trusted_issuers_required_types_and_scopes(tmp_path: Path) -> None:
    issuer, rogue, agent = Party(), Party(), Party()
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        f"""
trusted_issuers = {{ AgentCredential = ["{issuer.did}"] }}
required_types = ["AgentCredential"]
max_credential_age = 172800

[[routes]]
method = "GET"
path = "/orders*"
scopes = ["orders:read"]

[[routes]]
method = "DELETE"
path = "/orders/*"
scopes = ["orders:admin"]
"""
    )
    policy = Policy.load(policy_file)
    verifier = _verifier(policy=policy)
    good = await _agent_vc(issuer, agent, ["orders:read"])
    assert (await verifier.verify_presentation(await request_token(agent, [good]), **API)).verified
    forbidden = await verifier.verify_presentation(
        await request_token(agent, [good], method="DELETE", url="https://api.example/orders/7"),
        audience=API["audience"],
        method="DELETE",
        url="https://api.example/orders/7",
    )
    assert _codes(forbidden) == ["INSUFFICIENT_SCOPE_ERROR"]
    untrusted = await _agent_vc(rogue, agent, ["orders:read"])
    assert _codes(await verifier.verify_presentation(await request_token(agent, [untrusted]), **API)) == [
        "UNTRUSTED_ISSUER_ERROR"
    ]
    assert _codes(await verifier.verify_presentation(await request_token(agent, []), **API)) == [
        "CREDENTIAL_REQUIRED_ERROR"
    ]
    old = await _agent_vc(issuer, agent, ["orders:read"], validFrom="2026-01-01T00:00:00Z")
    assert _codes(await verifier.verify_presentation(await request_token(agent, [old]), **API)) == [
        "CREDENTIAL_TOO_OLD_ERROR"
    ]


def test_policy_files_json_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps({"allowed_suites": ["eddsa-rdfc-2022"], "routes": [{"path": "*", "scopes": "x"}]})
    )
    policy = Policy.load(path)
    assert policy.required_scopes("GET", "/anything") == frozenset({"x"})
    path.write_text(json.dumps({"no_such_setting": 1}))
    from didvc.errors import MalformedValueError

    with pytest.raises(MalformedValueError):
        Policy.load(path)
    path.write_text("{not json")
    with pytest.raises(MalformedValueError):
        Policy.load(path)
    for bad in ({"max_credential_age": "a day"}, {"clock_skew": -5}, {"max_token_lifetime": True}):
        path.write_text(json.dumps(bad))
        with pytest.raises(MalformedValueError):
            Policy.load(path)


async def test_policy_allowed_suites_and_algorithms() -> None:
    issuer, agent = Party(), Party()
    vc = await signed(
        agent_credential(issuer, agent.did, ["orders:read"]), issuer, cryptosuite="eddsa-jcs-2022"
    )
    strict = _verifier(policy=trusting(issuer, allowed_suites=frozenset({"eddsa-rdfc-2022"})))
    assert _codes(await strict.verify_presentation(await request_token(agent, [vc]), **API)) == [
        "PROOF_VERIFICATION_ERROR"
    ]
    es_only = _verifier(policy=trusting(issuer, allowed_algorithms=frozenset({"ES256"})))
    assert _codes(await es_only.verify_presentation(await request_token(agent, [vc]), **API)) == [
        "UNSUPPORTED_ALGORITHM_ERROR"
    ]


# --- hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 300_000,
        "a.b.c",
        "[" * 100_000 + "]" * 100_000,
        "{" + '"a":' * 50_000 + "1" + "}" * 50_000,
        b"\xff\xfe\x00",
        "eyJhbGciOiJub25lIn0.e30.",
        b64url_encode(b"[" * 100_000),
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"]},
        42,
    ],
    ids=[
        "empty",
        "oversized",
        "garbage jws",
        "deep array",
        "deep object",
        "binary",
        "alg none",
        "deep b64",
        "no holder",
        "int",
    ],
)
async def test_hostile_presentations_are_results_not_exceptions(value: Any) -> None:
    result = await _verifier().verify_presentation(value, challenge="c", **API)
    assert not result.verified
    assert result.problems


_ROUTES = (
    RouteRule("GET", "/orders/*", frozenset({"orders:read"})),
    RouteRule("*", "/admin*", frozenset({"admin"})),
    RouteRule("POST", "/orders", frozenset({"orders:write"})),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["GET", "POST", "get", "DELETE"]),
            st.one_of(
                st.sampled_from(["/orders", "/orders/7", "/admin", "/adminx", "/", "/orders/"]),
                st.text(alphabet="/ordesamin*?[]7", max_size=12).map(lambda p: "/" + p),
                st.integers(0, 9).map(lambda n: "/orders/" + "x" * (500 + n * 4)),  # long: not kept
            ),
        ),
        max_size=40,
    ),
    st.booleans(),
)
def test_remembered_route_scopes_are_what_the_rules_say(requests: list[Any], unlisted: bool) -> None:
    """The scopes a route needs are remembered per method and path (every request asks), and
    are always what matching the rules in order gives."""
    policy = Policy(routes=_ROUTES, allow_unlisted_routes=unlisted)
    for method, path in requests * 2:  # each asked twice: computed, then remembered
        expected = next((r.scopes for r in _ROUTES if r.matches(method, path)), None)
        if expected is None and unlisted:
            expected = frozenset()
        assert policy.required_scopes(method, path) == expected
    assert all(len(path) <= 512 for _, path in policy.__dict__.get("_route_memory", {}))


def _read(verifier: Verifier, value: Any) -> Any:
    try:
        return verifier._pipeline().read(value)
    except Exception as error:  # the kind of refusal is what is compared
        return type(error)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*'ab.{[}]" \t\n\r\xa0\u2028\x0b', "eyJ", "{}"]), max_size=12).map("".join),
    st.integers(1, 30),
)
@example('{"a.b"}', 30)
@example("[a.b]", 30)
@example("a.b\n", 30)
@example("\u2028a.b", 30)
@example("ab.ab", 4)
def test_a_token_told_apart_in_one_look_is_what_the_general_reading_gives(text: str, limit: int) -> None:
    """``read`` takes a text as a token in one look when it can; the same text as a subclass of
    str always goes the general way (strip, bounds, JSON or base64url): both readings agree."""
    verifier = _verifier(Party(), policy=Policy(max_presentation_bytes=limit))
    assert _read(verifier, text) == _read(verifier, _Text(text))


class _Text(str):
    """A text that ``read`` does not take in one look (its type is not exactly str)."""
