"""The issuer's VC-API over HTTP (``didvc issuer serve``): a caller's credential is signed as
given or refused with 400 and its reason, never rewritten; status entries on request, status
changes, AgentCredentials on their own route, the OpenAPI description; hostile bodies bounded."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from didvc.credentials import CREDENTIALS_V2
from tests.helpers import Party, issuer_site, trusting
from verifier import Verifier

TOKEN = {"Authorization": "Bearer op-token"}


class Site:
    def __init__(self, issuer: Any, base: str, http: aiohttp.ClientSession) -> None:
        self.issuer, self.base, self.http = issuer, base, http
        self.verifier = Verifier(allow_http=True, allow_loopback=True, policy=trusting(issuer.did))

    def credential(self, **members: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "@context": [CREDENTIALS_V2],
            "id": "urn:uuid:0c1d5f1e-8d5a-4a34-9a52-6d8c2b1e7a01",
            "type": ["VerifiableCredential"],
            "issuer": self.issuer.did,
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": Party().did},
        }
        body.update(members)
        return {key: value for key, value in body.items() if value is not None}

    async def post(self, path: str, body: Any, *, token: bool = True) -> tuple[int, Any]:
        headers = TOKEN if token else {}
        data = body if isinstance(body, bytes) else None
        payload = None if isinstance(body, bytes) else body
        async with self.http.post(f"{self.base}{path}", json=payload, data=data, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def problems(self, credential: Any) -> list[str]:
        self.verifier.status.clear()
        return [code for code, _ in (await self.verifier.verify_credential(credential)).problems]


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with (
        issuer_site(tmp_path, operator_token="op-token") as (issuer, server),
        aiohttp.ClientSession() as http,
    ):
        state = Site(issuer, f"http://127.0.0.1:{server.port}", http)
        yield state
        await state.verifier.close()


async def test_a_credential_is_signed_exactly_as_given(site: Site) -> None:
    given = site.credential(
        **{"@context": [CREDENTIALS_V2, {"Membership": "https://example.org/vocab#Membership"}]},
        type=["VerifiableCredential", "Membership"],
        credentialSubject=[{"id": Party().did}, {"name": "second subject"}],
        relatedResource=[{"id": "https://example.org/terms", "digestSRI": "sha384-abc"}],
        validFrom="2026-01-01T00:00:00Z",
    )
    status, body = await site.post("/credentials/issue", {"credential": given})
    assert status == 201, body
    issued = body["verifiableCredential"]
    assert {k: v for k, v in issued.items() if k != "proof"} == given  # nothing added, nothing changed
    assert issued["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert await site.problems(issued) == []
    entry = (await site.issuer.inventory())[0]
    assert entry.id == given["id"] and list(entry.types) == ["VerifiableCredential", "Membership"]


async def test_an_id_issued_before_is_a_conflict_not_a_crash(site: Site) -> None:
    """The same credential id twice (in the credential or as credentialId): 400 with
    STORE_CONFLICT_ERROR, the first credential left as it was, nothing else recorded."""
    given = site.credential()
    first_status, first = await site.post("/credentials/issue", {"credential": given})
    assert first_status == 201, first
    for body in (
        {"credential": given},
        {"credential": site.credential(id=None), "options": {"credentialId": given["id"]}},
    ):
        status, problem = await site.post("/credentials/issue", body)
        assert (status, problem["code"]) == (400, "STORE_CONFLICT_ERROR"), problem
        assert given["id"] in problem["detail"]
    assert [entry.id for entry in await site.issuer.inventory()] == [given["id"]]
    assert await site.issuer.credential(given["id"]) == first["verifiableCredential"]


INVALID = {
    "a null id": ({"id": None, "_null": "id"}, "MALFORMED_VALUE_ERROR"),
    "no type": ({"type": None}, "MALFORMED_VALUE_ERROR"),
    "a validFrom that is no dateTimeStamp": ({"validFrom": "2026-01-01"}, "MALFORMED_VALUE_ERROR"),
    "an issuer that is no URL": ({"issuer": "Acme Corp"}, "MALFORMED_VALUE_ERROR"),
    "another issuer": ({"issuer": "did:example:someone-else"}, "ISSUER_ERROR"),
    "a typeless credentialStatus": (
        {"credentialStatus": {"id": "https://x.example/1"}},
        "MALFORMED_VALUE_ERROR",
    ),
    "typeless termsOfUse": ({"termsOfUse": [{"id": "https://x.example/tou"}]}, "MALFORMED_VALUE_ERROR"),
    "typeless evidence": ({"evidence": [{"id": "https://x.example/e"}]}, "MALFORMED_VALUE_ERROR"),
    "an old base context": (
        {"@context": ["https://www.w3.org/2018/credentials/v1"]},
        "MALFORMED_VALUE_ERROR",
    ),
    "a claim no context defines": ({"credentialSubject": {"isAdmin": True}}, "DATA_LOSS_DETECTION_ERROR"),
    "a proof already": ({"proof": {"type": "DataIntegrityProof"}}, "MALFORMED_VALUE_ERROR"),
}


@pytest.mark.parametrize(("members", "code"), INVALID.values(), ids=INVALID.keys())
async def test_invalid_input_is_refused_with_its_reason_and_nothing_is_recorded(
    site: Site, members: dict[str, Any], code: str
) -> None:
    credential = site.credential(**{k: v for k, v in members.items() if k != "_null"})
    if "_null" in members:
        credential[members["_null"]] = None
    if members.get("type", "") is None:
        credential.pop("type", None)
    status, body = await site.post("/credentials/issue", {"credential": credential})
    assert (status, body["code"]) == (400, code), body
    assert body["type"].endswith(code) and body["detail"]
    assert await site.issuer.inventory() == []


async def test_malformed_requests_are_400_and_the_token_is_checked_first(site: Site) -> None:
    good = {"credential": site.credential()}
    assert (await site.post("/credentials/issue", good, token=False))[0] == 401
    for body in (b"{nope", b"[]", b'"text"', b"{}", b'{"credential": "a string"}'):
        status, problem = await site.post("/credentials/issue", body)
        assert status == 400 and problem["code"] in ("MALFORMED_VALUE_ERROR", "PARSING_ERROR"), (
            body,
            problem,
        )
    for options in ({"mandatoryPointers": ["/issuer"]}, {"cryptosuite": "rsa-2048"}, {"format": "mdoc"}, []):
        status, problem = await site.post("/credentials/issue", {**good, "options": options})
        assert status == 400, (options, problem)
    for depth in (100_000, 900, 400):  # past the parser, past copying, into JSON-LD: never a 500
        nested = b'{"credential": {"credentialSubject": {"a": ' + b"[" * depth + b"]" * depth + b"}}}"
        assert (await site.post("/credentials/issue", nested))[0] in (400, 413), depth


async def test_options_choose_the_securing_and_the_record_id(site: Site) -> None:
    given = site.credential(id=None)
    status, body = await site.post(
        "/credentials/issue",
        {"credential": given, "options": {"cryptosuite": "eddsa-jcs-2022", "credentialId": "urn:x:7"}},
    )
    assert status == 201 and body["verifiableCredential"]["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert "id" not in body["verifiableCredential"]  # the credentialId names the record only
    assert (await site.issuer.inventory())[0].id == "urn:x:7"
    status, body = await site.post(
        "/credentials/issue", {"credential": site.credential(), "options": {"format": "vc+jwt"}}
    )
    assert status == 201 and body["verifiableCredential"].count(".") == 2
    assert await site.problems(body["verifiableCredential"]) == []


async def test_status_entries_on_request_and_status_changes(site: Site) -> None:
    wanted = [
        {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
        {"type": "BitstringStatusListEntry", "statusPurpose": "suspension"},
        {"type": "BitstringStatusListEntry", "statusPurpose": "message", "statusMessages": ["ok", "held"]},
    ]
    given = site.credential()
    status, body = await site.post(
        "/credentials/issue", {"credential": given, "options": {"credentialStatus": wanted}}
    )
    assert status == 201, body
    issued = body["verifiableCredential"]
    assert [e["statusPurpose"] for e in issued["credentialStatus"]] == ["revocation", "suspension", "message"]
    assert await site.problems(issued) == []

    def change(purpose: str, value: bool) -> dict[str, Any]:
        entry = {"type": "BitstringStatusListEntry", "statusPurpose": purpose}
        return {"credentialId": given["id"], "credentialStatus": entry, "status": value}

    assert (await site.post("/credentials/status", change("suspension", True)))[0] == 200
    assert await site.problems(issued) == ["CREDENTIAL_SUSPENDED_ERROR"]
    assert (await site.post("/credentials/status", change("suspension", False)))[0] == 200
    assert await site.problems(issued) == []
    assert (await site.post("/credentials/status", change("revocation", True)))[0] == 200
    assert await site.problems(issued) == ["CREDENTIAL_REVOKED_ERROR"]
    status, problem = await site.post("/credentials/status", change("revocation", False))
    assert (status, problem["code"]) == (400, "STATUS_CHANGE_ERROR")
    unknown = {**change("revocation", True), "credentialId": "urn:uuid:never-issued"}
    assert (await site.post("/credentials/status", unknown))[1]["code"] == "UNKNOWN_CREDENTIAL_ERROR"
    assert (await site.post("/credentials/status", change("revocation", True), token=False))[0] == 401


async def test_a_credential_without_a_status_entry_cannot_be_revoked(site: Site) -> None:
    given = site.credential()
    assert (await site.post("/credentials/issue", {"credential": given}))[0] == 201
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}
    status, problem = await site.post(
        "/credentials/status", {"credentialId": given["id"], "credentialStatus": entry, "status": True}
    )
    assert (status, problem["code"]) == (400, "STATUS_CHANGE_ERROR")  # no entry: nothing could show it


async def test_agent_credentials_have_their_own_route(site: Site) -> None:
    agent = Party().did
    request = {"agent": agent, "claims": {"scope": ["orders:read"], "owner": "Acme"}, "validFor": 3600}
    status, body = await site.post("/agent-credentials", request)
    assert status == 201, body
    vc = body["verifiableCredential"]
    assert "AgentCredential" in vc["type"] and vc["credentialSubject"]["scope"] == ["orders:read"]
    assert [e["statusPurpose"] for e in vc["credentialStatus"]] == ["revocation", "suspension"]
    assert await site.problems(vc) == []
    huge = (
        {"agent": agent, "validFor": 10**20},
        {"agent": agent, "validFor": 9_999_999_999},
    )  # past the calendar
    for bad in ({"agent": 7}, {"agent": agent, "validFor": "1h"}, {"agent": agent, "claims": []}, *huge):
        assert (await site.post("/agent-credentials", bad))[0] == 400


async def test_openapi_describes_what_is_served(site: Site) -> None:
    async with site.http.get(f"{site.base}/openapi.json") as response:
        assert response.status == 200
        described = await response.json()
    assert {"/credentials/issue", "/credentials/status", "/agent-credentials"} <= set(described["paths"])
    assert described["paths"]["/credentials/issue"]["post"]["security"] == [{"operatorToken": []}]


async def test_an_ec_issuer_signs_given_credentials_with_its_own_suite(tmp_path: Path) -> None:
    site_of = issuer_site(tmp_path, key_type="P-256", operator_token="op-token")
    async with site_of as (issuer, server), aiohttp.ClientSession() as http:
        site = Site(issuer, f"http://127.0.0.1:{server.port}", http)
        status, body = await site.post("/credentials/issue", {"credential": copy.deepcopy(site.credential())})
        assert status == 201 and body["verifiableCredential"]["proof"]["cryptosuite"] == "ecdsa-rdfc-2019"
        assert await site.problems(body["verifiableCredential"]) == []
        await site.verifier.close()


async def test_a_vc_1_1_credential_gets_the_data_integrity_context_its_proof_needs(site: Site) -> None:
    given = site.credential(
        **{"@context": ["https://www.w3.org/2018/credentials/v1"]},
        validFrom=None,
        issuanceDate="2026-01-01T00:00:00Z",
    )
    status, body = await site.post("/credentials/issue", {"credential": given})
    assert status == 201, body
    issued = body["verifiableCredential"]
    assert issued["@context"] == [*given["@context"], "https://w3id.org/security/data-integrity/v2"]
    assert {k: v for k, v in issued.items() if k not in ("proof", "@context")} == {
        k: v for k, v in given.items() if k != "@context"
    }
    assert await site.problems(issued) == []
    status, problem = await site.post(
        "/credentials/issue", {"credential": given, "options": {"format": "vc+jwt"}}
    )
    assert (status, problem["code"]) == (400, "MALFORMED_VALUE_ERROR")  # a vc+jwt is VC 2.0 only


async def test_names_with_a_language_and_a_direction_are_signed_as_the_reference_canonicalizes(
    site: Site,
) -> None:
    given = site.credential(name={"@value": "Example", "@language": "en", "@direction": "ltr"})
    status, body = await site.post("/credentials/issue", {"credential": given})
    assert status == 201, body
    assert await site.problems(body["verifiableCredential"]) == []
