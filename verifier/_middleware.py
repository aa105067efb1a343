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

import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

from didvc.errors import PROBLEM_TYPE, DidvcError
from didvc.request import NONCE_HEADER
from verifier._pipeline import NonceCheck
from verifier._policy import Policy
from verifier._replay import MemoryNonceStore, NonceStore
from verifier._result import Problem, VerificationResult

__all__ = ["NONCE_HEADER", "VERIFICATION_RESULT", "middleware"]

#: Where the handler finds the result: ``request[VERIFICATION_RESULT]`` (a typed key from aiohttp
#: 3.14 on, the same name as a plain key before it).
VERIFICATION_RESULT: Final[Any] = (
    web.RequestKey("didvc_verification_result", VerificationResult)
    if hasattr(web, "RequestKey")
    else "didvc_verification_result"
)
_log = logging.getLogger("didvc.verifier")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


#: Problems of a caller who proved who it is but may not do this: 403, not 401.
_FORBIDDEN: Final = frozenset({"INSUFFICIENT_SCOPE_ERROR", "UNLISTED_ROUTE_ERROR"})
#: The verifier cannot check right now (too much work waiting, the shared replay cache down or
#: full): 503 with Retry-After, the presentation may well be good.
_UNAVAILABLE: Final = frozenset(
    {"VERIFIER_BUSY_ERROR", "REPLAY_CACHE_UNAVAILABLE_ERROR", "REPLAY_CACHE_FULL_ERROR"}
)
_TITLES: Final = {401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable"}


class _Verifier(Protocol):
    """What the middleware needs of a :class:`~verifier.Verifier`."""

    policy: Policy

    async def verify_presentation(
        self,
        presentation: str,
        *,
        audience: str | None = ...,
        method: str | None = ...,
        url: str | None = ...,
        body: bytes | None = ...,
        consume_challenge: NonceCheck | None = ...,
    ) -> VerificationResult: ...


def middleware(
    verifier: _Verifier,
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
    open_paths = frozenset(public_paths)
    origin = public_url.rstrip("/") if public_url else None
    nonce_store = nonces or MemoryNonceStore()
    require_nonce = verifier.policy.require_nonce
    prefix = f"{scheme} " if scheme else ""

    async def deny(
        request: web.Request, status: int, problems: list[Problem], result: VerificationResult | None
    ) -> web.Response:
        headers = {}
        if status == 503:
            headers["Retry-After"] = "1"
        if status == 401:
            first = problems[0].code if problems else "MISSING_PRESENTATION"
            challenge = f'{scheme or "VP"} error="invalid_token", error_code="{first}"'
            if require_nonce:
                with contextlib.suppress(DidvcError):  # the nonce store down: refuse all the same
                    headers[NONCE_HEADER] = await nonce_store.issue()
                if first in ("USE_NONCE", "REQUEST_BINDING_ERROR"):
                    challenge = f'{scheme or "VP"} error="use_nonce"'
            headers["WWW-Authenticate"] = challenge
        body = {
            "type": PROBLEM_TYPE + (problems[0].code if problems else "MISSING_PRESENTATION"),
            "title": _TITLES[status],
            "status": status,
            "problems": [p.to_json() for p in problems],
        }
        _audit(audit, request, status, result, problems)
        return web.json_response(
            body, status=status, headers=headers, content_type="application/problem+json"
        )

    @web.middleware
    async def verify_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in open_paths:
            return await handler(request)
        raw = request.headers.get(header)
        if raw is None:
            return await deny(
                request, 401, [Problem("MISSING_PRESENTATION", f"send a presentation in {header}")], None
            )
        if len(raw) > max_header_bytes:
            return await deny(
                request, 401, [Problem("PARSING_ERROR", "the presentation header is too large")], None
            )
        if prefix and not raw.startswith(prefix):
            return await deny(
                request, 401, [Problem("PARSING_ERROR", f"expected '{prefix}<token>' in {header}")], None
            )
        token = raw[len(prefix) :].strip()
        url = _target(request, origin)
        if url is None:
            return await deny(
                request, 401, [Problem("REQUEST_BINDING_ERROR", "the Host header is not a host")], None
            )
        try:
            body = await request.read() if request.body_exists else None
            result = await verifier.verify_presentation(
                token,
                audience=audience,
                method=request.method,
                url=url,
                body=body,
                consume_challenge=nonce_store.consume if require_nonce else None,  # after the signature
            )
        except web.HTTPException:
            raise
        except Exception:  # a bug must not turn hostile input into a 500
            _log.exception("presentation verification failed unexpectedly")
            return await deny(
                request, 401, [Problem("INTERNAL_ERROR", "the presentation could not be verified")], None
            )
        request[VERIFICATION_RESULT] = result
        if not result.verified:
            codes = {p.code for p in result.problems}
            status = 503 if codes & _UNAVAILABLE else 403 if codes <= _FORBIDDEN else 401
            return await deny(request, status, result.problems, result)
        response = await handler(request)
        _audit(audit, request, response.status, result, [])
        return response

    return verify_request


def _target(request: web.Request, origin: str | None) -> str | None:
    """The URL the request was sent to, as the token's ``htu`` names it: ``origin`` (or the
    request's own scheme and host) and its path; None when the Host header is no host. A plain
    path is taken as sent: building ``request.url`` (yarl's parse and normalization) cost about
    a tenth of a cached request; a path with percent-escapes or dot segments still gets yarl's
    normalization. The Host header is the client's: only a host and port may stand in the URL
    (``api.example/orders`` on a request for ``/7`` would otherwise make ``/orders/7``)."""
    if origin is None and not _HOST.fullmatch(request.host):
        return None
    path = request.raw_path
    if "%" in path or "/." in path or not path.isascii():
        return (origin + request.path_qs) if origin is not None else str(request.url)
    return f"{origin or f'{request.scheme}://{request.host}'}{path}"


#: A Host header that is a host: a name or an IPv4 or bracketed IPv6 address, and a port.
_HOST: Final = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def _audit(
    logger: logging.Logger | None,
    request: web.Request,
    status: int,
    result: VerificationResult | None,
    problems: list[Problem],
) -> None:
    if logger is None:
        return
    line: dict[str, Any] = {
        "event": "didvc.decision",
        "route": f"{request.method} {request.path}",
        "verdict": "allow" if result is not None and result.verified else "deny",
        "status": status,
        "holder": result.holder if result else None,
        "principal": result.principal if result else None,  # whom the holder acts for
        "issuers": sorted({c.issuer for c in result.credentials if c.issuer}) if result else [],
        "credentials": [c.id for c in result.credentials if c.id] if result else [],
        "problems": [p.code for p in problems],
    }
    logger.info(json.dumps(line, separators=(",", ":")))
