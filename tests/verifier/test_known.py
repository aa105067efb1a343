"""Known presentations (verifier._known): a token whose payload starts with a settled
presentation is answered reading only its request claims, and exactly as the full path answers,
whatever the holder writes after that presentation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didvc.encoding import b64url_encode, strict_json_loads
from didvc.errors import DidvcError
from didvc.jose import split_jws
from resolvers import default_resolver
from tests.helpers import NOW, Party, agent_credential, presentation, request_token, signed, trusting
from verifier import Verifier
from verifier._known import PRESENTATION_MEMBERS, claims_after, cut_of, tail_of

AUDIENCE = "https://api.example"
URL = f"{AUDIENCE}/orders"
REQUEST = {"audience": AUDIENCE, "method": "GET", "url": URL}


def _claims(jti: str = "jti-0000001", **extra: Any) -> dict[str, Any]:
    issued = int(NOW.timestamp())
    return {"aud": AUDIENCE, "iat": issued, "exp": issued + 60, "jti": jti, "htm": "GET", "htu": URL, **extra}


async def _raw_token(holder: Party, payload_text: str) -> str:
    """A vp+jwt whose payload is exactly ``payload_text``, signed by ``holder``."""
    header = json.dumps({"alg": "EdDSA", "kid": holder.key_id, "typ": "vp+jwt"}, separators=(",", ":"))
    signing_input = f"{b64url_encode(header.encode())}.{b64url_encode(payload_text.encode())}"
    signature = await holder.signer.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _known(verifier: Verifier, holder: Party, token: str, policy: Any) -> Any:
    encoded = split_jws(token, typ="vp+jwt").encoded_payload
    return verifier._settled.known(holder.did, encoded, policy, AUDIENCE, NOW.timestamp())


@pytest.fixture
async def settled() -> tuple[Party, dict[str, Any], Verifier, Any]:
    return await _settle()


async def _settle() -> tuple[Party, dict[str, Any], Verifier, Any]:
    """An agent, its presentation, and a verifier that knows it: the first request verifies it
    in full (and learns nothing more: a cold request costs what it did), the second is answered
    from the settled entry and learns where the presentation ends."""
    issuer, agent = Party(), Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    policy = trusting(issuer)
    warm = Verifier(resolver=default_resolver(), clock=lambda: NOW, policy=policy)
    for _ in range(2):
        token = await request_token(agent, [vc], url=URL)
        assert _known(warm, agent, token, policy) is None
        assert (await warm.verify_presentation(token, **REQUEST)).verified
    return agent, presentation(agent, [vc]), warm, policy


async def test_the_next_token_of_a_settled_presentation_is_known(settled: Any) -> None:
    agent, vp, warm, policy = settled
    token = await _raw_token(agent, _compact({**vp, "iss": agent.did, **_claims("jti-0000002")}))
    known = _known(warm, agent, token, policy)
    assert known is not None and known[2] == {"iss": agent.did, **_claims("jti-0000002")}
    result = await warm.verify_presentation(token, **REQUEST)
    assert result.verified and result.holder == agent.did and result.scopes == ["orders:read"]
    assert len(warm._settled) == 1


async def test_another_holders_token_with_the_same_presentation_is_not_known(settled: Any) -> None:
    _agent, vp, warm, policy = settled
    thief = Party()
    token = await _raw_token(thief, _compact({**vp, "iss": thief.did, **_claims()}))
    assert _known(warm, thief, token, policy) is None
    result = await warm.verify_presentation(token, **REQUEST)
    assert not result.verified and result.problems[0].code == "HOLDER_BINDING_ERROR"


# What a holder may write after its settled presentation: each answered as a cold verifier
# (full parse, nothing settled) answers it.
TAILS = {
    "claims": lambda agent: _compact({"iss": agent.did, **_claims()})[1:],
    "spaced claims": lambda agent: ' "iss" : ' + json.dumps(agent.did) + ", " + _compact(_claims())[1:] + " ",
    "a second holder": lambda agent: _compact({"iss": agent.did, "holder": Party().did, **_claims()})[1:],
    "a second verifiableCredential": lambda agent: _compact(
        {"iss": agent.did, "verifiableCredential": [], **_claims()}
    )[1:],
    "nothing": lambda agent: "}",
    "a closing brace too many": lambda agent: _compact({"iss": agent.did, **_claims()})[1:] + "}",
    "an array breaking out": lambda agent: '"iss":' + json.dumps(agent.did) + "]," + _compact(_claims())[1:],
    "a second iss": lambda agent: _compact({"iss": agent.did, **_claims()})[1:-1] + ',"iss":"did:x:y"}',
    "NaN": lambda agent: _compact({"iss": agent.did, **_claims()})[1:-1] + ',"x":NaN}',
}


@pytest.mark.parametrize("tail", list(TAILS))
async def test_whatever_follows_a_known_presentation_is_answered_as_the_full_path_does(
    settled: Any, tail: str
) -> None:
    agent, vp, warm, policy = settled
    text = _compact(vp)[:-1] + "," + TAILS[tail](agent)
    token = await _raw_token(agent, text)
    cold = Verifier(resolver=default_resolver(), clock=lambda: NOW, policy=policy)
    warm_result = await warm.verify_presentation(token, **REQUEST)
    cold_result = await cold.verify_presentation(token, **REQUEST)
    assert warm_result.to_json() == cold_result.to_json()
    assert warm_result.verified == (tail in ("claims", "spaced claims"))


async def test_a_presentation_written_otherwise_has_no_cut_and_still_settles() -> None:
    issuer, agent = Party(), Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    vp = presentation(agent, [vc])
    warm = Verifier(resolver=default_resolver(), clock=lambda: NOW, policy=trusting(issuer))
    for n in range(2):  # claims first, then the presentation, with spaces: another wallet's way
        payload = {"iss": agent.did, **_claims(f"jti-000000{n}"), **vp}
        token = await _raw_token(agent, json.dumps(payload))
        assert cut_of(split_jws(token, typ="vp+jwt").encoded_payload, payload) is None
        assert (await warm.verify_presentation(token, **REQUEST)).verified
    assert len(warm._settled) == 1


async def test_a_holder_that_moves_to_a_new_presentation_has_it_known_once_the_old_is_gone() -> None:
    issuer, agent = Party(), Party()
    old = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    new = await signed(agent_credential(issuer, agent.did, ["orders:read", "orders:write"]), issuer)
    policy = trusting(issuer)
    warm = Verifier(resolver=default_resolver(), clock=lambda: NOW, policy=policy, cache_ttl=0.5)

    async def request(vc: Any) -> str:
        token = await request_token(agent, [vc], url=URL)
        assert (await warm.verify_presentation(token, **REQUEST)).verified
        return await request_token(agent, [vc], url=URL)

    for _ in range(2):
        probe = await request(old)
    assert _known(warm, agent, probe, policy) is not None
    for _ in range(2):
        probe = await request(new)
    assert _known(warm, agent, probe, policy) is None  # the old one is still settled
    await asyncio.sleep(0.6)  # every entry is past cache_ttl: the old one is gone for good
    for _ in range(2):
        probe = await request(new)
    assert _known(warm, agent, probe, policy) is not None


async def test_a_holder_alternating_two_presentations_stays_settled() -> None:
    issuer, agent = Party(), Party()
    read = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    both = await signed(agent_credential(issuer, agent.did, ["orders:read", "orders:write"]), issuer)
    warm = Verifier(resolver=default_resolver(), clock=lambda: NOW, policy=trusting(issuer))
    for _ in range(3):
        for vc in (read, both):
            result = await warm.verify_presentation(await request_token(agent, [vc], url=URL), **REQUEST)
            assert result.verified
    assert len(warm._settled) == 2


# The property behind the fast path, on any text a holder could write after its presentation:
# claims_after reads claims whenever the whole payload parses strictly and its claims name no
# presentation member, and then the payload is the presentation and exactly those claims.
_PRESENTATION = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiablePresentation"]}
_PREFIX = _compact({**_PRESENTATION, "holder": "did:key:z6Mk…é"})[:-1] + ","
_PIECES = st.sampled_from(
    ['"iss"', '"holder"', '"type"', ":", ",", "}", "{", "[", "]", '"a"', "1", " ", "null"]
)


@given(
    st.one_of(
        st.lists(_PIECES, max_size=14).map("".join),
        st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=4), max_size=4).map(
            lambda claims: _compact(claims)[1:]
        ),
        st.text(max_size=30),
    )
)
def test_claims_after_a_cut_are_what_the_whole_payload_holds(tail: str) -> None:
    payload = {**_PRESENTATION, "holder": "did:key:z6Mk…é", "iss": "did:key:z6Mk…é"}
    encoded = b64url_encode(_compact(payload).encode())
    cut = cut_of(encoded, payload)
    assert cut is not None
    text = _PREFIX + tail
    try:
        whole: Any = strict_json_loads(text)
    except DidvcError:
        whole = None
    rest = tail_of(b64url_encode(text.encode()), cut)
    assert rest is not None
    claims = claims_after(rest, cut)
    if claims is not None:
        assert whole == {**_PRESENTATION, "holder": "did:key:z6Mk…é", **claims}
    else:  # only what the full parse refuses, or a member the presentation could hold (read in full)
        assert whole is None or not PRESENTATION_MEMBERS.isdisjoint(
            whole.keys() - {"@context", "type", "holder"}
        )


_CLAIMS_TEXT = '"iss":"ISS","aud":"https://api.example","iat":IAT,"exp":EXP,"jti":"jti-7777777","htm":"GET"'
_MEMBERS = st.sampled_from(
    [
        _CLAIMS_TEXT + f',"htu":"{URL}"',
        _CLAIMS_TEXT,
        f'"htu":"{URL}"',
        '"holder":"ISS"',
        '"type":[]',
        '"x":{"y":[1,2]}',
        '"iss":"did:x:y"',
        '"nonce":null',
        '"bdh":"x"',
        ' "z" : 1 ',
        '"id":"urn:x"',
    ]
)
_TAILS = st.tuples(
    st.lists(_MEMBERS, min_size=0, max_size=4).map(",".join),
    st.sampled_from(["}", "} ", "}}", "", "]}", ",}", "}\n"]),
).map("".join)


@settings(max_examples=60, deadline=None)
@given(_TAILS)
def test_any_tail_is_answered_by_a_warm_verifier_as_by_a_cold_one(written: str) -> None:
    """Whatever a holder writes after its known presentation, signed: the same answer as a
    verifier that reads the payload in full."""

    async def run() -> None:
        agent, vp, warm, policy = await _settle()
        issued = int(NOW.timestamp())
        tail = written.replace("ISS", agent.did)
        tail = tail.replace("IAT", str(issued)).replace("EXP", str(issued + 60))
        token = await _raw_token(agent, _compact(vp)[:-1] + "," + tail)
        cold = Verifier(resolver=default_resolver(), clock=lambda: NOW, policy=policy)
        warm_result = await warm.verify_presentation(token, **REQUEST)
        assert warm_result.to_json() == (await cold.verify_presentation(token, **REQUEST)).to_json()

    asyncio.run(run())
