from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from didvc.credentials import check_credential, envelope, sign_vc_jwt, unwrap_envelope
from didvc.errors import MalformedValueError, ProofGenerationError
from didvc.keys import KeyType
from resolvers import StaticResolver, default_resolver, did_key_document
from tests.helpers import NOW, Party, credential, signed, trusting
from verifier import Verifier


def _verifier(*trusted: Party, **kwargs: Any) -> Verifier:
    kwargs.setdefault("policy", trusting(*trusted))
    return Verifier(resolver=default_resolver(), clock=lambda: NOW, **kwargs)


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
async def test_valid_credential(suite: str) -> None:
    issuer, agent = Party(), Party()
    vc = await signed(credential(issuer, agent.did), issuer, cryptosuite=suite)
    result = await _verifier(issuer).verify_credential(vc)
    assert result.verified, result.problems
    assert result.problems == []
    (cred,) = result.credentials
    assert cred.issuer == issuer.did
    assert cred.claims == [{"id": agent.did, "name": "Agent 7"}]
    assert cred.cryptosuites == (suite,)
    assert cred.valid_until is not None


async def test_json_text_and_bytes_accepted() -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    assert (await _verifier(issuer).verify_credential(json.dumps(vc))).verified
    assert (await _verifier(issuer).verify_credential(json.dumps(vc).encode())).verified


async def test_tampered_credential_is_a_result_not_an_exception() -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    vc["credentialSubject"]["name"] = "someone else"
    result = await _verifier(issuer).verify_credential(vc)
    assert not result.verified
    assert [code for code, _ in result.problems] == ["PROOF_VERIFICATION_ERROR"]
    assert not result.could_not_check


async def test_issuer_must_control_the_key() -> None:
    issuer, impostor = Party(), Party()
    vc = await signed(credential(issuer, Party().did), issuer, signer=impostor.signer)
    result = await _verifier(issuer).verify_credential(vc)
    assert result.problems[0].code == "PROOF_VERIFICATION_ERROR"


@pytest.mark.parametrize(
    ("now_offset", "code"),
    [(timedelta(days=3), "CREDENTIAL_EXPIRED_ERROR"), (timedelta(days=-3), "CREDENTIAL_NOT_YET_VALID_ERROR")],
)
async def test_validity_period(now_offset: timedelta, code: str) -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    verifier = Verifier(resolver=default_resolver(), clock=lambda: NOW + now_offset, policy=trusting(issuer))
    result = await verifier.verify_credential(vc)
    assert code in [c for c, _ in result.problems]
    assert not result.verified


async def test_unresolvable_issuer_is_reported() -> None:
    issuer = Party()
    vc = await signed(credential(issuer, Party().did), issuer)
    verifier = Verifier(resolver=StaticResolver(), clock=lambda: NOW, policy=trusting(issuer))
    result = await verifier.verify_credential(vc)
    assert result.problems[0].code == "notFound"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda vc: vc.pop("issuer"), "MALFORMED_VALUE_ERROR"),
        (lambda vc: vc.__setitem__("issuer", {"name": "no id"}), "MALFORMED_VALUE_ERROR"),
        (lambda vc: vc.__setitem__("type", ["AgentCredential"]), "MALFORMED_VALUE_ERROR"),
        (lambda vc: vc.__setitem__("credentialSubject", {}), "MALFORMED_VALUE_ERROR"),
        (lambda vc: vc.__setitem__("validFrom", "last tuesday"), "MALFORMED_VALUE_ERROR"),
        (lambda vc: vc.__setitem__("validUntil", "2020-01-01T00:00:00Z"), "MALFORMED_VALUE_ERROR"),
        (lambda vc: vc["@context"].reverse(), "MALFORMED_VALUE_ERROR"),
        (
            lambda vc: vc.__setitem__("@context", ["https://www.w3.org/ns/credentials/examples/v2"]),
            "MALFORMED_VALUE_ERROR",
        ),
        (lambda vc: vc.__setitem__("credentialStatus", [1]), "MALFORMED_VALUE_ERROR"),
    ],
    ids=[
        "no issuer",
        "issuer object without id",
        "no VerifiableCredential type",
        "empty subject",
        "bad validFrom",
        "validUntil before validFrom",
        "context reordered",
        "not a VC context",
        "bad status",
    ],
)
async def test_data_model_violations(mutate: Any, code: str) -> None:
    issuer = Party()
    vc = credential(issuer, Party().did)
    vc["@context"] = [*vc["@context"], "https://www.w3.org/ns/credentials/examples/v2"]
    vc = await signed(vc, issuer)
    mutate(vc)
    result = await _verifier(issuer).verify_credential(vc)
    assert not result.verified
    assert result.problems[0].code == code


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"[]", b"\xff\xfe", b"null", b"{" * 100_000, b"x" * 3_000_000, "not.a.jwt"]
)
async def test_garbage_input(raw: bytes | str) -> None:
    result = await _verifier().verify_credential(raw)
    assert not result.verified
    codes = {"PARSING_ERROR", "MALFORMED_VALUE_ERROR", "INVALID_TOKEN_HEADER_ERROR", "INPUT_TOO_LARGE_ERROR"}
    assert result.problems[0].code in codes


def test_issuing_requires_vc_2() -> None:
    vc = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:1",
        "issuanceDate": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:2"},
    }
    assert check_credential(vc).version == "1.1"
    with pytest.raises(MalformedValueError):
        check_credential(vc, issuing=True)


@pytest.mark.parametrize("key_type", [KeyType.ED25519, KeyType.P256, KeyType.SECP256K1])
async def test_vc_jwt(key_type: KeyType) -> None:
    issuer, agent = Party(key_type), Party()
    token = await sign_vc_jwt(credential(issuer, agent.did), issuer.signer)
    result = await _verifier(issuer).verify_credential(token)
    assert result.verified, result.problems
    assert result.credentials[0].format == "jwt"
    assert unwrap_envelope(envelope(token)) == token


async def test_vc_jwt_tampered_or_signed_by_someone_else() -> None:
    issuer, impostor = Party(), Party()
    token = await sign_vc_jwt(credential(issuer, Party().did), issuer.signer)
    head, payload, sig = token.split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["name"] = "Mallory"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    result = await _verifier(issuer).verify_credential(f"{head}.{forged_payload}.{sig}")
    assert result.problems[0].code == "PROOF_VERIFICATION_ERROR"
    with pytest.raises(ProofGenerationError):
        await sign_vc_jwt(credential(issuer, Party().did), impostor.signer)


async def test_vc_jwt_key_outside_assertion_method() -> None:
    issuer = Party()
    token = await sign_vc_jwt(credential(issuer, Party().did), issuer.signer)
    document = did_key_document(issuer.did)
    document["assertionMethod"] = []
    result = await Verifier(
        resolver=StaticResolver({issuer.did: document}), clock=lambda: NOW, policy=trusting(issuer)
    ).verify_credential(token)
    assert result.problems[0].code == "INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD"


def test_cli_verify(tmp_path: Path) -> None:
    import asyncio

    issuer = Party()
    vc = asyncio.run(signed(credential(issuer, Party().did, validUntil="2099-01-01T00:00:00Z"), issuer))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(vc))
    bad_vc = copy.deepcopy(vc)
    bad_vc["credentialSubject"]["isAdmin"] = True
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_vc))

    from didvc_cli import main

    runner = CliRunner()
    untrusted = runner.invoke(main, ["verify", str(good), "--json"])
    assert untrusted.exit_code == 1
    assert json.loads(untrusted.output)["problems"][0]["code"] == "UNTRUSTED_ISSUER_ERROR"
    ok = runner.invoke(main, ["verify", str(good), "--json", "--trust", issuer.did])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["verified"] is True
    refused = runner.invoke(main, ["verify", str(bad), "--json", "--trust", issuer.did])
    assert refused.exit_code == 1
    assert json.loads(refused.output)["problems"][0]["code"] == "DATA_LOSS_DETECTION_ERROR"
    piped = subprocess.run(
        [sys.executable, "-m", "didvc_cli", "verify", "-", "--trust", issuer.did],
        input=good.read_bytes(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert b"verified" in piped.stdout


async def test_presentation_wraps_secured_and_enveloped_credentials() -> None:
    from didvc.credentials import check_presentation, make_presentation
    from didvc.jsonld import canonicalize

    issuer, agent = Party(), Party()
    ldp = await signed(credential(issuer, agent.did), issuer)
    jwt = await sign_vc_jwt(credential(issuer, agent.did), issuer.signer)
    vp = make_presentation(
        agent.did, [ldp, jwt], presentation_id="urn:uuid:9d5f0c1e-0000-4000-8000-000000000001"
    )
    info = check_presentation(vp)
    assert info.holder == agent.did
    assert info.credentials == (ldp, jwt)
    assert "EnvelopedVerifiableCredential" in canonicalize(vp)  # an enveloped VC is valid JSON-LD


@pytest.mark.parametrize(
    "vp",
    [
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"]},
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "holder": 5,
        },
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": ["not an object"],
        },
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [{"type": "EnvelopedVerifiableCredential", "id": "data:text/plain,x"}],
        },
        [],
    ],
)
def test_malformed_presentations(vp: Any) -> None:
    from didvc.credentials import check_presentation
    from didvc.errors import DidvcError

    with pytest.raises(DidvcError) as info:
        check_presentation(vp)
    assert info.value.code in {"MALFORMED_VALUE_ERROR", "PARSING_ERROR"}


def test_cli_verifies_presentations(tmp_path: Path) -> None:
    import asyncio

    from didvc_cli import main
    from tests.helpers import agent_credential, request_token

    issuer, agent = Party(), Party()

    async def make() -> str:
        vc = await signed(
            agent_credential(issuer, agent.did, ["orders:read"], validUntil="2099-01-01T00:00:00Z"), issuer
        )
        from datetime import UTC, datetime

        return await request_token(
            agent, [vc], method="POST", url="https://api.example/orders", body=b"{}", now=datetime.now(UTC)
        )

    token = asyncio.run(make())
    path = tmp_path / "token.txt"
    path.write_text(token)
    body = tmp_path / "body.json"
    body.write_bytes(b"{}")
    args = [
        "verify",
        str(path),
        "--audience",
        "https://api.example",
        "--method",
        "POST",
        "--url",
        "https://api.example/orders",
        "--body-file",
        str(body),
        "--json",
        "--trust",
        issuer.did,
    ]
    ok = CliRunner().invoke(main, args)
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["scopes"] == ["orders:read"]
    wrong_args = [a if a != "https://api.example/orders" else "https://api.example/admin" for a in args]
    wrong = CliRunner().invoke(main, wrong_args)
    assert wrong.exit_code == 1
    codes = [p["code"] for p in json.loads(wrong.output)["problems"]]
    assert codes == ["REQUEST_BINDING_ERROR"]
