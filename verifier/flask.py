"""Flask: :class:`AgentAuth` verifies every request's presentation before its view runs, as the
aiohttp middleware does (:mod:`verifier._gate`), and ``@auth.require(*scopes)`` adds a route's
own scopes.

>>> auth = AgentAuth(app, verifier=Verifier(policy=policy), audience="https://api.example")  # doctest: +SKIP
>>> @app.get("/orders")
... @auth.require("orders:read")
... def orders():
...     return {"agent": auth.result().holder}
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Flask, Response, g, request

from verifier._gate import Denial, RequestFacts, VerifierLike, body_too_large, missing_scopes
from verifier._result import VerificationResult
from verifier._sync import BlockingGate

__all__ = ["AgentAuth"]

F = TypeVar("F", bound=Callable[..., Any])


def _response(denial: Denial) -> Response:
    return Response(
        denial.json(), status=denial.status, headers=denial.headers, mimetype="application/problem+json"
    )


class AgentAuth:
    """The verification of a Flask app's requests (settings as :func:`verifier.middleware`)."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        verifier: VerifierLike,
        audience: str,
        public_paths: Iterable[str] = (),
        max_body_bytes: int = 1024 * 1024,
        **options: Any,
    ) -> None:
        self.gate = BlockingGate(verifier, audience=audience, public_paths=public_paths, **options)
        self.max_body_bytes = max_body_bytes
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        app.before_request(self._check)
        app.after_request(self._audit)

    @staticmethod
    def result() -> VerificationResult | None:
        """The verification of the current request."""
        found = g.get("didvc")
        return found if isinstance(found, VerificationResult) else None

    def _check(self) -> Response | None:
        if self.gate.is_public(request.path):
            return None
        environ = request.environ
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", "/"))
        if "?" not in raw and environ.get("QUERY_STRING"):
            raw += "?" + environ["QUERY_STRING"]
        facts = RequestFacts(request.method, request.scheme, request.host, raw, request.headers.get)
        decided = self.gate.decide(facts, self._body, f"{request.method} {request.path}")
        if isinstance(decided, Denial):
            return _response(decided)
        g.didvc = decided
        return None

    def _body(self) -> bytes | Denial | None:
        """The body, read once within ``max_body_bytes`` (the view reads the same bytes); 413
        beyond, before it is read. A chunked body is read one byte past the bound at most."""
        limit, environ = self.max_body_bytes, request.environ
        length = request.content_length
        if length is not None and length > limit:
            return body_too_large(limit)
        if length is None and environ.get("wsgi.input_terminated"):  # chunked: the server ends it
            data = environ["wsgi.input"].read(limit + 1)
            if len(data) > limit:
                return body_too_large(limit)
            environ["wsgi.input"] = io.BytesIO(data)  # what werkzeug reads next, for the view too
        return request.get_data(cache=True) or None

    def _audit(self, response: Response) -> Response:
        result = self.result()
        if result is not None:
            self.gate.allowed(f"{request.method} {request.path}", response.status_code, result)
        return response

    def require(self, *scopes: str) -> Callable[[F], F]:
        """A view decorator: the request was granted ``scopes`` (403 naming what is missing)."""

        def decorate(view: F) -> F:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                result = self.result()
                if result is None:
                    raise RuntimeError("AgentAuth.require needs AgentAuth on the app, and a non-public path")
                denial = missing_scopes(result, scopes)
                return _response(denial) if denial is not None else view(*args, **kwargs)

            return guarded  # type: ignore[return-value]

        return decorate
