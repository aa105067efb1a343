"""A W3C VC-API verifier over the library (``didvc verifier serve``).

- ``POST /credentials/verify``: ``{verifiableCredential, options?}`` → 200 ``{verified: true,
  checks, warnings, errors: []}`` or 400 ``{verified: false, ..., errors: [problem, ...]}``;
  :meth:`~verifier.Verifier.verify_credential` under the service's policy.
- ``POST /presentations/verify``: ``{verifiablePresentation, options?: {challenge, domain}}``,
  verified in general mode (:mod:`verifier._general`), each credential as above.
- ``POST /challenges`` → 201 ``{challenge}``: a value valid once, for two minutes. A presentation
  whose expected challenge is one of these uses it up; the caller's own challenges are simply
  compared.
- ``GET /openapi.json``: what this serves.

The same guarantees as the middleware: the body is bounded before it is read (413), parsed by the
strict JSON reader, and every failure is a problem code in a 400 (never a 500); the work per
request is the verifier's (canonicalization budget, bounded counts and sizes).
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from didvc.encoding import strict_json_loads
from didvc.errors import PROBLEM_TYPE, DidvcError, MalformedValueError, ParsingError, UseNonceError
from verifier._replay import MemoryNonceStore
from verifier._result import Problem, VerificationResult
from verifier._verifier import Verifier

__all__ = ["CHALLENGE_PREFIX", "create_verifier_app"]

#: What the challenges this service hands out start with: one it does not know is refused.
CHALLENGE_PREFIX: Final = "urn:didvc:challenge:"
_WRAPPER_BYTES: Final = 16 * 1024  # the request's own members around the document


def _problem(problem: Problem) -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE + problem.code,
        "code": problem.code,
        "title": problem.code.replace("_", " ").lower(),
        "detail": problem.message,
    }


def _answer(result: VerificationResult, checks: list[str]) -> web.Response:
    body = {
        "verified": result.verified,
        "checks": checks,
        "warnings": [_problem(p) for p in result.warnings],
        "errors": [_problem(p) for p in result.problems],
        "couldNotCheck": result.could_not_check,
        "result": result.to_json(),
    }
    return web.json_response(body, status=200 if result.verified else 400)


def _refusal(error: DidvcError) -> web.Response:
    return _answer(VerificationResult(verified=False, problems=[Problem.from_error(error)]), [])


async def _body(request: web.Request, member: str) -> tuple[Any, dict[str, Any]]:
    """The document under ``member`` and the ``options`` object of a request body."""
    payload = strict_json_loads(await request.read(), what="the body")
    if not isinstance(payload, dict) or member not in payload:
        raise MalformedValueError(f"the body is {{{member}, options?}}")
    options = payload.get("options") or {}
    if not isinstance(options, dict):
        raise MalformedValueError("options must be a JSON object")
    return payload[member], options


def _check_document(value: Any, member: str, token: str) -> None:
    """A document is a JSON object (a map), or a compact JWS: JSON text in a string is neither."""
    if isinstance(value, str) and value.count(".") == 2 and not value.lstrip().startswith(("{", "[")):
        return
    if not isinstance(value, dict):
        raise ParsingError(f"{member} must be a JSON object or a {token}")


def _text(options: dict[str, Any], name: str) -> str | None:
    value = options.get(name)
    if value is not None and not isinstance(value, str):
        raise MalformedValueError(f"options.{name} must be a string")
    return value


def create_verifier_app(verifier: Verifier, *, nonces: MemoryNonceStore | None = None) -> web.Application:
    """The VC-API verifier routes over ``verifier`` (its policy says which issuers count)."""
    limit = verifier.policy.max_presentation_bytes + _WRAPPER_BYTES
    app = web.Application(client_max_size=limit)
    challenges = nonces if nonces is not None else MemoryNonceStore(ttl=120.0)

    async def verify_credential(request: web.Request) -> web.Response:
        try:
            credential, _ = await _body(request, "verifiableCredential")
            _check_document(credential, "verifiableCredential", "vc+jwt")
            result = await verifier.verify_credential(credential)
        except DidvcError as error:
            return _refusal(error)
        except RecursionError:
            return _refusal(MalformedValueError("the body is nested too deeply"))
        return _answer(result, ["proof", "validity", "status"] if result.verified else [])

    async def verify_presentation(request: web.Request) -> web.Response:
        try:
            presentation, options = await _body(request, "verifiablePresentation")
            _check_document(presentation, "verifiablePresentation", "vp+jwt")
            challenge, domain = _text(options, "challenge"), _text(options, "domain")
            result = await verifier.verify_presentation(
                presentation, mode="general", challenge=challenge, domain=domain
            )
            ours = challenge.removeprefix(CHALLENGE_PREFIX) if challenge is not None else None
            if result.verified and ours != challenge and not await challenges.consume(str(ours)):
                raise UseNonceError("this challenge was not issued here, has expired or was used")
        except DidvcError as error:
            return _refusal(error)
        except RecursionError:
            return _refusal(MalformedValueError("the body is nested too deeply"))
        return _answer(result, ["proof", "credentials"] if result.verified else [])

    async def challenge(request: web.Request) -> web.Response:
        return web.json_response({"challenge": CHALLENGE_PREFIX + await challenges.issue()}, status=201)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(_openapi())

    async def close(app: web.Application) -> None:
        await verifier.close()

    app.on_cleanup.append(close)
    app.router.add_post("/credentials/verify", verify_credential)
    app.router.add_post("/presentations/verify", verify_presentation)
    app.router.add_post("/challenges", challenge)
    app.router.add_get("/openapi.json", openapi)
    return app


def _openapi() -> dict[str, Any]:
    result = {
        "description": "verified (200) or not (400), with every problem",
        "content": {"application/json": {}},
    }

    def post(summary: str, required: list[str]) -> dict[str, Any]:
        schema = {"type": "object", "required": required}
        body = {"required": True, "content": {"application/json": {"schema": schema}}}
        return {
            "post": {"summary": summary, "requestBody": body, "responses": {"200": result, "400": result}}
        }

    return {
        "openapi": "3.0.3",
        "info": {"title": "didvc verifier", "version": "1"},
        "paths": {
            "/credentials/verify": post("Verify a credential (VC-API)", ["verifiableCredential"]),
            "/presentations/verify": post("Verify a presentation (VC-API)", ["verifiablePresentation"]),
            "/challenges": {"post": {"summary": "A challenge valid once", "responses": {"201": result}}},
            "/openapi.json": {"get": {"summary": "This description", "responses": {"200": result}}},
        },
    }
