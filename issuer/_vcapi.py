"""The issuer's VC-API (https://w3c-ccg.github.io/vc-api/), for operators holding its token.

- ``POST /credentials/issue``: ``{credential, options?}`` → 201 ``{verifiableCredential}``. The
  credential is signed as given after the VC Data Model 2.0 checks; what is invalid is answered
  400 with a problem (``application/problem+json``), never silently changed. ``options``:
  ``credentialId`` (VC-API), ``cryptosuite`` or ``format: "vc+jwt"`` (default: the key's
  suite), and ``credentialStatus``: status entries to add, each ``{"type":
  "BitstringStatusListEntry", "statusPurpose": "revocation" | "suspension" | "message"}`` (a
  message one with ``"statusMessages": [...]``). Any other option is refused.
- ``POST /credentials/status``: ``{credentialId, credentialStatus: {type, statusPurpose},
  status}`` sets (``true``) or clears (``false``) a revocation or suspension; revoked stays
  revoked.
- ``POST /agent-credentials``: didvc's own, minting an AgentCredential as ``didvc issuer issue``
  does: ``{agent, claims?, validFor? (seconds), options?}``.
- ``GET /openapi.json``: what this serves.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Final

from aiohttp import web

from didvc.encoding import strict_json_loads
from didvc.errors import PROBLEM_TYPE, DidvcError, MalformedValueError, StatusChangeError
from issuer._issuance import DEFAULT_SECURING, Securing
from issuer._issuer import Issuer

__all__ = ["add_routes", "problem"]

_ISSUE_OPTIONS: Final = frozenset({"credentialId", "cryptosuite", "format", "credentialStatus"})
_STATUS_TYPE: Final = "BitstringStatusListEntry"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(status: int, code: str, detail: str) -> web.Response:
    """An RFC 9457 problem, typed by its code (VC Data Model 2.0 §7.1)."""
    body = {"type": PROBLEM_TYPE + code, "status": status, "code": code, "detail": detail}
    return web.json_response(body, status=status, content_type="application/problem+json")


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedValueError(f"{what} must be a JSON object")
    return value


def _securing(options: dict[str, Any]) -> Securing:
    """``format: "vc+jwt"``, else ``cryptosuite`` (default: the key's)."""
    if options.get("format") not in (None, "vc+jwt"):
        raise MalformedValueError("format is vc+jwt, or absent for a Data Integrity proof")
    if options.get("format") == "vc+jwt":
        return Securing.named("vc+jwt")
    suite = options.get("cryptosuite", DEFAULT_SECURING)
    if not isinstance(suite, str):
        raise MalformedValueError("cryptosuite is a name")
    return Securing.named(suite)


def _requested_status(options: dict[str, Any]) -> tuple[list[str], list[str] | None]:
    """The status purposes ``options.credentialStatus`` asks for, and a message entry's messages."""
    entries = options.get("credentialStatus", [])
    purposes, messages = [], None
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, dict) or entry.get("type") != _STATUS_TYPE:
            raise MalformedValueError(f"options.credentialStatus entries are {{type: {_STATUS_TYPE}, ...}}")
        purpose = entry.get("statusPurpose")
        if not isinstance(purpose, str) or purpose in purposes:
            raise MalformedValueError("each status entry names one statusPurpose, once")
        purposes.append(purpose)
        if purpose == "message":
            messages = entry.get("statusMessages")
            if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
                raise MalformedValueError("a message status entry lists its statusMessages")
    return purposes, messages


async def _payload(request: web.Request) -> dict[str, Any]:
    """The body (at most ``client_max_size`` bytes: aiohttp answers 413 beyond) as a JSON object."""
    return _object(strict_json_loads(await request.read(), what="the body"), "the body")


def add_routes(app: web.Application, issuer: Issuer, operator_token: str | None) -> None:
    """The VC-API routes on ``app``; with no ``operator_token`` every call is refused (401)."""

    def operator(handler: Callable[[web.Request], Awaitable[web.Response]]) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            supplied = request.headers.get("Authorization", "")
            if operator_token is None or not hmac.compare_digest(
                supplied.encode(), f"Bearer {operator_token}".encode()
            ):
                return problem(401, "UNAUTHORIZED", "an operator token is required")
            try:
                return await handler(request)
            except DidvcError as error:
                return problem(400, error.code, str(error))
            except RecursionError:  # within the size bound, nested past what copying can follow
                return problem(400, "PARSING_ERROR", "the body is nested too deeply")

        return guarded

    async def issue(request: web.Request) -> web.Response:
        payload = await _payload(request)
        if "credential" not in payload:
            raise MalformedValueError("the body is {credential, options?}")
        options = _object(payload.get("options"), "options")
        unknown = sorted(set(options) - _ISSUE_OPTIONS)
        if unknown:
            raise MalformedValueError(
                f"unknown option {unknown[0][:40]!r}: {', '.join(sorted(_ISSUE_OPTIONS))}"
            )
        credential_id = options.get("credentialId")
        if credential_id is not None and not isinstance(credential_id, str):
            raise MalformedValueError("credentialId is a string")
        purposes, messages = _requested_status(options)
        issued = await issuer.sign(
            payload["credential"],
            securing=_securing(options),
            credential_id=credential_id,
            status_purposes=purposes,
            status_messages=messages,
        )
        return web.json_response({"verifiableCredential": issued}, status=201)

    async def update_status(request: web.Request) -> web.Response:
        payload = await _payload(request)
        credential_id, wanted = payload.get("credentialId"), payload.get("status")
        entry = _object(payload.get("credentialStatus"), "credentialStatus")
        purpose = entry.get("statusPurpose")
        if not isinstance(credential_id, str) or not isinstance(wanted, bool):
            raise MalformedValueError("the body is {credentialId, credentialStatus: {statusPurpose}, status}")
        if purpose == "revocation" and wanted:
            await issuer.revoke(credential_id)
        elif purpose == "revocation":
            raise StatusChangeError("a revocation is for good: it cannot be cleared")
        elif purpose == "suspension":
            await (issuer.suspend if wanted else issuer.reinstate)(credential_id)
        else:
            raise MalformedValueError("statusPurpose is revocation or suspension")
        return web.json_response({"credentialId": credential_id, "statusPurpose": purpose, "status": wanted})

    async def agent_credential(request: web.Request) -> web.Response:
        payload = await _payload(request)
        agent, valid_for = payload.get("agent"), payload.get("validFor")
        if not isinstance(agent, str):
            raise MalformedValueError("the body is {agent, claims?, validFor?, options?}")
        if valid_for is not None and (
            not isinstance(valid_for, int) or isinstance(valid_for, bool) or not 0 < valid_for < 10**10
        ):
            raise MalformedValueError("validFor is a number of seconds")  # timedelta's own range, bounded
        options = _object(payload.get("options"), "options")
        issued = await issuer.issue(
            agent,
            claims=_object(payload.get("claims"), "claims"),
            valid_for=timedelta(seconds=valid_for) if valid_for is not None else None,
            securing=_securing(options),
        )
        return web.json_response({"verifiableCredential": issued}, status=201)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(_openapi(issuer))

    app.router.add_post("/credentials/issue", operator(issue))
    app.router.add_post("/credentials/status", operator(update_status))
    app.router.add_post("/agent-credentials", operator(agent_credential))
    app.router.add_get("/openapi.json", openapi)


def _openapi(issuer: Issuer) -> dict[str, Any]:
    """The OpenAPI 3.0 description of what ``serve`` offers."""
    problem_response = {"description": "a problem (RFC 9457)", "content": {"application/problem+json": {}}}
    responses: dict[str, Any] = {"200": {"description": "done"}, "201": {"description": "issued"}}
    responses |= {"400": problem_response, "401": problem_response}

    def post(summary: str, required: list[str]) -> dict[str, Any]:
        schema = {"type": "object", "required": required}
        body = {"required": True, "content": {"application/json": {"schema": schema}}}
        security: list[dict[str, list[str]]] = [{"operatorToken": []}]
        return {
            "post": {"summary": summary, "security": security, "requestBody": body, "responses": responses}
        }

    def get(summary: str, media: str) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "responses": {"200": {"description": summary, "content": {media: {}}}},
            }
        }

    lists = issuer.base_path
    return {
        "openapi": "3.0.3",
        "info": {"title": f"didvc issuer {issuer.did}", "version": "1"},
        "components": {"securitySchemes": {"operatorToken": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/credentials/issue": post("Sign a credential as given (VC-API)", ["credential"]),
            "/credentials/status": post(
                "Set or clear a revocation or suspension (VC-API)",
                ["credentialId", "credentialStatus", "status"],
            ),
            "/agent-credentials": post("Mint an AgentCredential (didvc)", ["agent"]),
            issuer.did_document_path: get("The DID document", "application/did+json"),
            f"{lists}/status/{{n}}": get("A signed BitstringStatusListCredential", "application/vc+ld+json"),
            f"{lists}/status/events": get("Status changes as they happen", "text/event-stream"),
            "/contexts/agent/v1": get("The agent context", "application/ld+json"),
            "/openapi.json": get("This description", "application/json"),
        },
    }
