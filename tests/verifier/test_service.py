"""``didvc verifier serve``: the VC-API verify endpoints over HTTP, with the middleware's
hostile-input guarantees (bounded before reading, problem codes, never a 500)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from didvc.credentials import make_presentation
from didvc.proofs import Authentication, add_proof
from tests.e2e.services import free_port as _free_port
from tests.helpers import NOW, Party, agent_credential, signed, trusting
from tests.verifier.test_hostile import _poisoned
from verifier import Verifier, create_verifier_app


class Service:
    def __init__(self, base: str, http: aiohttp.ClientSession, issuer: Party) -> None:
        self.base, self.http, self.issuer = base, http, issuer

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        async with self.http.post(f"{self.base}{path}", data=data, headers=headers) as response:
            text = await response.text()
            return response.status, json.loads(text) if response.status != 413 else text


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    issuer = Party()
    verifier = Verifier(clock=lambda: NOW, policy=trusting(issuer))
    server = TestServer(create_verifier_app(verifier), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Service(f"http://127.0.0.1:{server.port}", http, issuer)
    await server.close()


def _codes(answer: Any) -> list[str]:
    return [error["code"] for error in answer["errors"]]


async def _vp(signer: Party, credentials: list[Any], challenge: str) -> dict[str, Any]:
    document = make_presentation(signer.did, credentials)
    return await add_proof(document, signer.signer, purpose=Authentication(challenge=challenge), created=NOW)


async def test_credentials_are_verified_under_the_services_policy(service: Service) -> None:
    agent = Party()
    vc = await signed(agent_credential(service.issuer, agent.did, ["orders:read"]), service.issuer)
    status, answer = await service.post("/credentials/verify", {"verifiableCredential": vc, "options": {}})
    assert (status, answer["verified"], answer["errors"]) == (200, True, [])
    vc["credentialSubject"]["scope"] = ["admin"]
    status, answer = await service.post("/credentials/verify", {"verifiableCredential": vc})
    assert (status, _codes(answer)) == (400, ["PROOF_VERIFICATION_ERROR"])
    stranger = Party()
    other = await signed(agent_credential(stranger, agent.did, ["a"]), stranger)
    status, answer = await service.post("/credentials/verify", {"verifiableCredential": other})
    assert (status, _codes(answer)) == (400, ["UNTRUSTED_ISSUER_ERROR"])


async def test_presentations_are_verified_in_general_mode(service: Service) -> None:
    subject, presenter = Party(), Party()
    vc = await signed(agent_credential(service.issuer, subject.did, ["a"]), service.issuer)
    vp = await _vp(presenter, [vc], "c-7")  # another subject's credential, presented
    request = {"verifiablePresentation": vp, "options": {"challenge": "c-7"}}
    status, answer = await service.post("/presentations/verify", request)
    assert (status, answer["verified"]) == (200, True), answer
    assert answer["result"]["holder"] == presenter.did
    status, answer = await service.post("/presentations/verify", {**request, "options": {"challenge": "c-8"}})
    assert (status, _codes(answer)) == (400, ["INVALID_CHALLENGE_ERROR"])


async def test_a_challenge_from_the_service_is_good_once(service: Service) -> None:
    status, issued = await service.post("/challenges", {})
    assert status == 201
    challenge = issued["challenge"]
    vp = await _vp(Party(), [], challenge)
    request = {"verifiablePresentation": vp, "options": {"challenge": challenge}}
    assert (await service.post("/presentations/verify", request))[0] == 200
    status, answer = await service.post("/presentations/verify", request)
    assert (status, _codes(answer)) == (400, ["USE_NONCE"])
    forged = challenge[:-4] + "AAAA"
    request = {"verifiablePresentation": await _vp(Party(), [], forged), "options": {"challenge": forged}}
    assert _codes((await service.post("/presentations/verify", request))[1]) == ["USE_NONCE"]


HOSTILE = {
    "not JSON": b"{nope",
    "an array": b"[]",
    "no document": b'{"options": {}}',
    "a number as the credential": b'{"verifiableCredential": 7}',
    "options that are no object": b'{"verifiableCredential": {}, "options": []}',
    "a challenge that is no string": b'{"verifiablePresentation": {}, "options": {"challenge": 7}}',
    "nesting past the parser": b'{"verifiableCredential": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
    "nesting within it": b'{"verifiableCredential": {"a": ' + b"[" * 900 + b"]" * 900 + b"}}",
    "a duplicate member": b'{"verifiableCredential": {}, "verifiableCredential": {}}',
    "JSON text, not a map": b'{"verifiableCredential": "{\\"type\\": [\\"VerifiableCredential\\"]}"}',
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_bodies_are_400s_with_a_problem_code(service: Service, body: bytes) -> None:
    for path in ("/credentials/verify", "/presentations/verify"):
        status, answer = await service.post(path, body)
        assert status == 400 and answer["verified"] is False and _codes(answer), (path, answer)


async def test_size_and_canonicalization_work_are_bounded(service: Service) -> None:
    huge = b'{"verifiableCredential": "' + b"x" * 200_000 + b'"}'
    assert (await service.post("/credentials/verify", huge))[0] == 413  # refused before it is read
    poisoned = _poisoned(service.issuer, Party(), 64)
    started = time.perf_counter()
    status, answer = await service.post("/credentials/verify", {"verifiableCredential": poisoned})
    assert (status, _codes(answer)) == (400, ["CANONICALIZATION_LIMIT_ERROR"])
    assert time.perf_counter() - started < 2.0


async def test_openapi_describes_the_service(service: Service) -> None:
    async with service.http.get(f"{service.base}/openapi.json") as response:
        paths = (await response.json())["paths"]
    assert {"/credentials/verify", "/presentations/verify", "/challenges"} <= set(paths)


def test_the_command_needs_trust_and_serves_with_it() -> None:
    command = [sys.executable, "-m", "didvc_cli", "verifier", "serve"]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "POLICY_ERROR" in refused.stderr + refused.stdout
    port = _free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port), "--trust", Party().did], stderr=subprocess.PIPE
    )
    try:
        for _ in range(100):
            done = subprocess.run(
                ["curl", "-sf", f"http://127.0.0.1:{port}/openapi.json"], capture_output=True
            )
            if done.returncode == 0:
                break
            time.sleep(0.1)
        assert json.loads(done.stdout)["info"]["title"] == "didvc verifier"
        taken = subprocess.run(
            [*command, "--port", str(port), "--trust", "did:web:x"], capture_output=True, text=True
        )
        assert taken.returncode == 1 and "IO_ERROR" in taken.stderr + taken.stdout
    finally:
        process.terminate()
        process.wait(timeout=10)
