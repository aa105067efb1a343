"""ASGI middleware (Starlette, FastAPI, any ASGI app): the aiohttp middleware's semantics.

>>> app.add_middleware(AgentAuthMiddleware, verifier=verifier, audience="https://api.example")

Each HTTP request's presentation is verified bound to its method, URL and exact body (read once,
within ``max_body_bytes``, and handed on to the app unchanged); a request that may not go on is
answered 401/403/503 with an RFC 9457 problem (:mod:`verifier._gate`), a body too large 413. The
app finds the result with :func:`verification_result` (or ``request.state.didvc`` in
Starlette), and route scopes come from the verifier's policy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from verifier._gate import Denial, Gate, RequestFacts, VerifierLike, body_too_large
from verifier._result import VerificationResult

__all__ = ["STATE_KEY", "AgentAuthMiddleware", "verification_result"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Where the result is kept in the request's scope state (``request.state.didvc``).
STATE_KEY: Final = "didvc"


def verification_result(scope_or_request: Any) -> VerificationResult | None:
    """The verification of this request (an ASGI scope, or a Starlette request)."""
    scope = getattr(scope_or_request, "scope", scope_or_request)
    state = scope.get("state") or {}
    result = state.get(STATE_KEY)
    return result if isinstance(result, VerificationResult) else None


class AgentAuthMiddleware:
    """Verify every HTTP request's presentation before ``app`` sees it (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: VerifierLike,
        audience: str,
        max_body_bytes: int = 1024 * 1024,
        **options: Any,
    ) -> None:
        """``options``: those of :func:`verifier.middleware` (``header``, ``scheme``,
        ``public_url``, ``public_paths``, ``nonces``, ``max_header_bytes``, ``audit``)."""
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.gate = Gate(verifier, audience=audience, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.gate.public_paths:
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for name, value in scope.get("headers", ()):
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        raw_path = scope.get("raw_path") or scope.get("path", "/").encode()
        query = scope.get("query_string") or b""
        path = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        facts = RequestFacts(
            scope["method"],
            scope.get("scheme", "http"),
            headers.get("host", ""),
            path,
            lambda n: headers.get(n.lower()),
        )
        route = f"{scope['method']} {scope.get('path', '/')}"
        token = self.gate.token(facts)
        if isinstance(token, Denial):
            await self._answer(send, await self.gate.deny(token, route))
            return
        body, more = await self._body(receive)
        if body is None:
            await self._answer(send, body_too_large(self.max_body_bytes))
            return
        decided = await self.gate.check(facts, token, body or None)
        if isinstance(decided, Denial):
            await self._answer(send, await self.gate.deny(decided, route))
            return
        scope.setdefault("state", {})[STATE_KEY] = decided
        sent = {"status": 0}

        async def replay() -> Message:  # the body once, as read; then the client's own messages
            if not sent.get("body_given"):
                sent["body_given"] = 1
                return {"type": "http.request", "body": body, "more_body": False}
            return await more()

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            await send(message)

        await self.app(scope, replay, watch)
        self.gate.log(route, sent["status"], decided, [])

    async def _body(self, receive: Receive) -> tuple[bytes | None, Receive]:
        """The whole body (None when over the bound), and what to receive after it."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), receive  # the client left: the app will hear it
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None, receive
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks), receive

    @staticmethod
    async def _answer(send: Send, denial: Denial) -> None:
        headers = [(b"content-type", b"application/problem+json")]
        headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in denial.headers.items()]
        await send({"type": "http.response.start", "status": denial.status, "headers": headers})
        await send({"type": "http.response.body", "body": denial.json()})
