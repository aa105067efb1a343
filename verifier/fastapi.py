"""FastAPI: ``require_agent(*scopes)``, a dependency that hands a route the caller's
:class:`~verifier.VerificationResult` (behind :class:`verifier.asgi.AgentAuthMiddleware`).

>>> @app.get("/orders")                                                          # doctest: +SKIP
... async def orders(agent: Annotated[VerificationResult, Depends(require_agent("orders:read"))]):
...     return {"agent": agent.holder, "for": agent.principal}

The route's own scopes are checked on top of the policy's route rules: a caller without them is
answered 403 with the problem naming what is missing. The dependency declares the ``VP``
security scheme, so the route shows it in the app's OpenAPI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

from verifier._gate import missing_scopes
from verifier._result import VerificationResult
from verifier.asgi import verification_result

__all__ = ["require_agent"]

_SCHEME = APIKeyHeader(
    name="Authorization",
    scheme_name="VP",
    description="`VP <token>`: a presentation bound to this request (didvc: docs/header.md).",
    auto_error=False,
)


def require_agent(*scopes: str) -> Callable[..., Awaitable[VerificationResult]]:
    """A dependency: the verification of the request, whose granted scopes include ``scopes``."""
    needed = frozenset(scopes)

    async def agent(request: Request, _header: Annotated[str | None, Depends(_SCHEME)]) -> VerificationResult:
        result = verification_result(request)
        if result is None:  # a configuration error, not the caller's
            raise RuntimeError("require_agent needs verifier.asgi.AgentAuthMiddleware on the app")
        denial = missing_scopes(result, needed)
        if denial is not None:
            raise HTTPException(status_code=denial.status, detail=denial.body)
        return result

    return agent
