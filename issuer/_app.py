"""``didvc issuer serve``: the issuer's public web presence, and an optional VC-API endpoint.

- the DID document at ``/.well-known/did.json`` (or the did:web path's ``/did.json``), with
  ``Cache-Control: max-age`` = the issuer's ``did_document_max_age`` (the rotation grace)
- the signed status lists at ``/status/<n>``, with ``Cache-Control: max-age`` = their ``ttl``
  and a weak ``ETag`` (``If-None-Match`` gets 304 until the list changed)
- status changes as they happen at ``/status/events`` (:mod:`issuer._events`)
- our agent context at ``/contexts/agent/v1``
- the VC-API (:mod:`issuer._vcapi`) for a caller sending ``Authorization: Bearer <token>``
  when an operator token is configured, and its OpenAPI description at ``/openapi.json``
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Final

from aiohttp import web

from didvc.errors import DidvcError, UnknownCredentialError
from issuer._events import StatusEvents
from issuer._issuer import Issuer
from issuer._vcapi import add_routes, problem

__all__ = ["EVENTS", "ISSUER", "create_app"]

_log = logging.getLogger("didvc.issuer")
ISSUER: Final = web.AppKey("issuer", Issuer)
EVENTS: Final = web.AppKey("status_events", StatusEvents)
_MAX_BODY: Final = 256 * 1024


def _tags(header: str) -> set[str]:
    """The entity tags of an ``If-None-Match`` header (weak comparison, RFC 9110 §13.1.2)."""
    return {tag.strip() if tag.strip().startswith("W/") else "W/" + tag.strip() for tag in header.split(",")}


def create_app(issuer: Issuer, *, operator_token: str | None = None) -> web.Application:
    app = web.Application(client_max_size=_MAX_BODY)
    app[ISSUER] = issuer
    issuer.actor = f"vc-api:{issuer.actor}"  # the audit log: what serve changes, the VC-API caller did
    ttl_seconds = max(0, issuer.status_ttl_ms // 1000)

    async def did_document(request: web.Request) -> web.Response:
        return web.json_response(
            await issuer.did_document(),
            content_type="application/did+json",
            headers={"Cache-Control": f"public, max-age={issuer.did_document_max_age}"},
        )

    async def status_list(request: web.Request) -> web.Response:
        list_id = _list_id(request.match_info["list_id"])
        try:
            if list_id is None:
                raise UnknownCredentialError("no such status list")
            _, body, etag = await issuer.served_status_list_tagged(list_id)
        except UnknownCredentialError:
            return problem(404, "NOT_FOUND", "no such status list")
        except DidvcError as error:  # ours to fix, not the caller's: said as such, and logged
            _log.error(
                "cannot serve status list %s: [%s] %s", request.match_info["list_id"][:20], error.code, error
            )
            return problem(500, error.code, "the status list cannot be served now")
        headers = {"Cache-Control": f"public, max-age={ttl_seconds}", "ETag": etag}
        if etag in _tags(request.headers.get("If-None-Match", "")):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type="application/vc+ld+json", headers=headers)

    text = resources.files("didvc").joinpath("contexts/didvc-agent-v1.jsonld").read_text(encoding="utf-8")

    async def agent_context(request: web.Request) -> web.Response:  # read once, served as is
        return web.Response(
            text=text, content_type="application/ld+json", headers={"Cache-Control": "public, max-age=86400"}
        )

    app.router.add_get(issuer.did_document_path, did_document)
    events = StatusEvents(issuer.store, issuer.status_list_url)
    app[EVENTS] = events

    async def close_events(app: web.Application) -> None:
        await events.close()

    app.on_shutdown.append(close_events)
    app.router.add_get(f"{issuer.base_path}/status/events", events.handle)
    app.router.add_get(f"{issuer.base_path}/status/{{list_id}}", status_list)
    app.router.add_get("/contexts/agent/v1", agent_context)
    add_routes(app, issuer, operator_token)
    return app


def _list_id(text: str) -> int | None:
    """A status list's number as its URL writes it: ASCII digits, no sign, no leading zero, no
    ``_``, at most 9 digits (PostgreSQL's SERIAL is 32 bits); None for anything else: no list."""
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or (text[0] == "0" and text != "0"):
        return None
    return int(text)
