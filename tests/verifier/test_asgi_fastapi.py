"""The ASGI middleware and the FastAPI dependency, driven by the agent-side httpx auth: a real
FastAPI app, real wallets and signatures, the issuer served on loopback for status."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from tests.helpers import HOSTILE_HEADERS, issuer_site, trusting
from verifier import Policy, RouteRule, VerificationResult, Verifier
from verifier.asgi import AgentAuthMiddleware, verification_result
from verifier.fastapi import require_agent
from wallet import KdfParams, Wallet
from wallet.httpx import WalletAuth

FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)
API = "https://api.example"


def make_app(verifier: Verifier) -> FastAPI:
    app = FastAPI()
    app.add_middleware(AgentAuthMiddleware, verifier=verifier, audience=API, public_paths=["/health"])

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/orders")
    async def orders(
        agent: Annotated[VerificationResult, Depends(require_agent("orders:read"))],
    ) -> dict[str, Any]:
        return {"agent": agent.holder, "scopes": agent.scopes}

    @app.post("/orders")
    async def order(
        request: Request, agent: Annotated[VerificationResult, Depends(require_agent("orders:write"))]
    ) -> Any:
        return {"echo": json.loads(await request.body()), "agent": agent.holder}

    @app.post("/admin/reset")
    async def reset(agent: Annotated[VerificationResult, Depends(require_agent("admin"))]) -> dict[str, str]:
        return {"done": "no"}

    @app.get("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        result = verification_result(request)
        return {"holder": result.holder if result else None}

    return app


@dataclass
class Stage:
    issuer: Any
    wallet: Wallet
    vc: dict[str, Any]

    def client(self, verifier: Verifier, **auth: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=make_app(verifier))
        return httpx.AsyncClient(transport=transport, base_url=API, auth=WalletAuth(self.wallet, **auth))


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Stage]:
    async with issuer_site(tmp_path) as (issuer, _):
        wallet = await Wallet.open(tmp_path / "agent.wallet", passphrase="pw", kdf=FAST, allow_loopback=True)
        agent = await wallet.create_did()
        vc = await issuer.issue(agent, claims={"scope": ["orders:read", "orders:write"]})
        await wallet.store_credential(vc)
        yield Stage(issuer, wallet, vc)
        await wallet.close()


def _verifier(stage: Stage, **settings: Any) -> Verifier:
    return Verifier(policy=trusting(stage.issuer.did, **settings), allow_http=True, allow_loopback=True)


async def test_a_wallet_made_request_is_accepted_with_its_scopes(stage: Stage) -> None:
    verifier = _verifier(stage)
    async with stage.client(verifier) as client:
        response = await client.get("/orders")
        assert response.status_code == 200, response.text
        assert response.json()["scopes"] == ["orders:read", "orders:write"]
        posted = await client.post("/orders", json={"item": 42})  # the body the app reads is the one signed
        assert posted.status_code == 200 and posted.json()["echo"] == {"item": 42}
        assert (await client.get("/health", auth=None)).status_code == 200  # public
    await verifier.close()


async def test_binding_replay_scope_and_revocation_are_refused_with_their_codes(stage: Stage) -> None:
    verifier = _verifier(stage)
    app = make_app(verifier)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=API) as client:

        async def header(method: str, path: str, body: bytes | None = None) -> dict[str, str]:
            return await stage.wallet.request_headers(method, f"{API}{path}", body=body)

        signed = await header("POST", "/orders", b'{"item": 1}')
        changed = await client.post("/orders", content=b'{"item": 2}', headers=signed)
        assert (changed.status_code, changed.json()["problems"][0]["code"]) == (401, "REQUEST_BINDING_ERROR")
        assert changed.headers["www-authenticate"].startswith("VP ")
        assert changed.headers["content-type"] == "application/problem+json"
        other_method = await client.put(
            "/orders", content=b'{"item": 1}', headers=await header("POST", "/orders", b'{"item": 1}')
        )
        assert other_method.status_code == 401
        other_url = await client.get("/whoami", headers=await header("GET", "/orders"))
        assert other_url.json()["problems"][0]["code"] == "REQUEST_BINDING_ERROR"
        once = await header("GET", "/orders")
        assert (await client.get("/orders", headers=once)).status_code == 200
        replayed = await client.get("/orders", headers=once)
        assert replayed.json()["problems"][0]["code"] == "REPLAY_DETECTED_ERROR"
        forbidden = await client.post("/admin/reset", headers=await header("POST", "/admin/reset"))
        assert forbidden.status_code == 403 and "admin" in forbidden.text  # names the missing scope
        await stage.issuer.revoke(stage.vc["id"])
        verifier.status.clear()
        revoked = await client.get("/orders", headers=await header("GET", "/orders"))
        assert revoked.json()["problems"][0]["code"] == "CREDENTIAL_REVOKED_ERROR"
    await verifier.close()


async def test_the_nonce_round_trip_through_the_httpx_auth(stage: Stage) -> None:
    verifier = _verifier(stage, require_nonce=True)
    async with stage.client(verifier) as client:
        response = await client.get("/orders")  # 401 with a VP-Nonce, then once more with it
        assert response.status_code == 200, response.text
        assert [r.status_code for r in response.history] == [401]  # the first try carried no nonce
    await verifier.close()


HOSTILE = {
    "no header": {},
    "a bad host": {"Authorization": "VP a.b.c", "Host": "api.example/orders?x"},
    **{name: {"Authorization": value} for name, value in HOSTILE_HEADERS.items()},
}


@pytest.mark.parametrize("headers", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_requests_are_401s_never_500s(stage: Stage, headers: dict[str, str]) -> None:
    verifier = _verifier(stage)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=make_app(verifier)), base_url=API
    ) as client:
        response = await client.get("/orders", headers=headers)
        assert response.status_code == 401 and response.json()["problems"], response.text
        big = await client.post("/orders", content=b"x" * (2 << 20), headers={"Authorization": "VP a.b.c"})
        assert big.status_code in (401, 413)
    await verifier.close()


async def test_the_security_scheme_is_in_the_openapi(stage: Stage) -> None:
    app = make_app(_verifier(stage))
    schema = app.openapi()
    assert "VP" in schema["components"]["securitySchemes"]
    assert schema["paths"]["/orders"]["get"]["security"] == [{"VP": []}]


async def test_policy_route_rules_apply_through_the_asgi_middleware(stage: Stage) -> None:
    policy = Policy(
        trusted_issuers={"*": frozenset({stage.issuer.did})},
        routes=(RouteRule("GET", "/orders", frozenset({"admin"})),),
    )
    verifier = Verifier(policy=policy, allow_http=True, allow_loopback=True)
    async with stage.client(verifier) as client:
        response = await client.get("/orders")
        assert (
            response.status_code == 403
            and response.json()["problems"][0]["code"] == "INSUFFICIENT_SCOPE_ERROR"
        )
    await verifier.close()
