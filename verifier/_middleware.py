"""aiohttp middleware: verify the presentation in each request's headers before the handler runs.

>>> app = web.Application(middlewares=[middleware(verifier, audience="https://api.example")])
>>> async def handler(request):                                          # doctest: +SKIP
...     result = request[VERIFICATION_RESULT]
...     return web.json_response({"agent": result.holder, "scopes": result.scopes})

Answers ``401`` (``WWW-Authenticate: VP ...`` and an RFC 9457 problem body) when the
presentation is missing or does not verify, with a fresh nonce in ``VP-Nonce`` when the policy
requires nonces; ``403`` when it verifies but the route's scopes are not among its own (or no
route rule allows the request); ``503`` with ``Retry-After`` when too many unseen credentials
are waiting to be checked. Hostile input never
produces a 500. An optional audit logger gets one JSON line per decision, never the token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Middleware

from didvc.request import NONCE_HEADER
from verifier._gate import Denial, Gate, RequestFacts, VerifierLike
from verifier._replay import NonceStore
from verifier._result import VerificationResult

__all__ = ["NONCE_HEADER", "VERIFICATION_RESULT", "middleware"]

#: Where the handler finds the result: ``request[VERIFICATION_RESULT]`` (a typed key from aiohttp
#: 3.14 on, the same name as a plain key before it).
VERIFICATION_RESULT: Final[Any] = (
    web.RequestKey("didvc_verification_result", VerificationResult)
    if hasattr(web, "RequestKey")
    else "didvc_verification_result"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def middleware(
    verifier: VerifierLike,
    *,
    audience: str,
    header: str = "Authorization",
    scheme: str | None = "VP",
    public_url: str | None = None,
    public_paths: Iterable[str] = (),
    nonces: NonceStore | None = None,
    max_header_bytes: int = 64 * 1024,
    audit: logging.Logger | None = None,
) -> Middleware:
    """Build the middleware.

    ``header``/``scheme``: where the token is (``Authorization: VP <token>`` by default; for a
    header of its own, e.g. ``X-Verifiable-Presentation``, pass ``scheme=None``).
    ``public_url``: the origin clients use (e.g. behind a proxy); default: the request's URL.
    ``public_paths``: paths served without a presentation. ``nonces``: where server nonces are
    kept when ``verifier.policy.require_nonce`` is on (default: in memory).
    """
    gate = Gate(
        verifier,
        audience=audience,
        header=header,
        scheme=scheme,
        public_url=public_url,
        public_paths=public_paths,
        nonces=nonces,
        max_header_bytes=max_header_bytes,
        audit=audit,
    )

    async def deny(request: web.Request, denial: Denial) -> web.Response:
        denial = await gate.deny(denial, f"{request.method} {request.path}")
        return web.json_response(
            denial.body, status=denial.status, headers=denial.headers, content_type="application/problem+json"
        )

    @web.middleware
    async def verify_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        if gate.public_paths and request.path in gate.public_paths:  # request.path: a decoding
            return await handler(request)
        headers = request.headers
        facts = RequestFacts(
            request.method, request.scheme, headers.get("Host", ""), request.raw_path, headers.get
        )
        token = gate.token(facts)
        if isinstance(token, Denial):
            return await deny(request, token)
        body = await request.read() if request.body_exists else None
        decided = await gate.check(facts, token, body)
        if isinstance(decided, Denial):
            if decided.result is not None:
                request[VERIFICATION_RESULT] = decided.result
            return await deny(request, decided)
        request[VERIFICATION_RESULT] = decided
        response = await handler(request)
        if gate.audit is not None:
            gate.log(f"{request.method} {request.path}", response.status, decided, [])
        return response

    return verify_request
