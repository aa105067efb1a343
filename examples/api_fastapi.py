"""An API on FastAPI, protected by didvc: the ASGI middleware and a dependency per route.

    DIDVC_TRUST=did:web:issuer.example DIDVC_AUDIENCE=https://api.example uvicorn examples.api_fastapi:app

``DIDVC_TRUST`` names the issuers whose credentials count (space-separated; none: nothing
counts); ``DIDVC_AUDIENCE`` is the API's origin as agents name it.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from verifier import Policy, VerificationResult, Verifier
from verifier.asgi import AgentAuthMiddleware
from verifier.fastapi import require_agent


def create_app(trusted: list[str], audience: str, *, allow_loopback: bool = False) -> FastAPI:
    verifier = Verifier(
        policy=Policy(trusted_issuers={"*": frozenset(trusted)}),
        allow_http=allow_loopback,
        allow_loopback=allow_loopback,
    )
    app = FastAPI(title="orders")
    app.add_middleware(AgentAuthMiddleware, verifier=verifier, audience=audience, public_paths=["/health"])

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/orders")
    async def orders(
        agent: Annotated[VerificationResult, Depends(require_agent("orders:read"))],
    ) -> dict[str, Any]:
        return {"agent": agent.holder, "for": agent.principal, "scopes": agent.scopes}

    @app.post("/orders")
    async def order(
        request: Request, agent: Annotated[VerificationResult, Depends(require_agent("orders:write"))]
    ) -> dict[str, Any]:
        return {"agent": agent.holder, "received": len(await request.body())}

    return app


app = create_app(
    os.environ.get("DIDVC_TRUST", "").split(), os.environ.get("DIDVC_AUDIENCE", "http://127.0.0.1:8000")
)
