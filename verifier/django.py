"""Django: :class:`AgentAuthMiddleware` verifies every request's presentation before its view
runs, as the aiohttp middleware does (:mod:`verifier._gate`); ``@require_agent(*scopes)`` adds a
view's own scopes. Settings, in ``settings.DIDVC``::

    DIDVC = {"verifier": Verifier(policy=Policy.load("policy.toml")), "audience": "https://api.example",
             "public_paths": ["/health"]}  # and "max_body_bytes" (1 MiB)
    MIDDLEWARE = [..., "verifier.django.AgentAuthMiddleware"]

The view finds the result as ``request.didvc``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from verifier._gate import Denial, RequestFacts, body_too_large, missing_scopes
from verifier._sync import BlockingGate

__all__ = ["AgentAuthMiddleware", "require_agent"]

F = TypeVar("F", bound=Callable[..., Any])
#: One gate per verifier (held, so its id is never reused): its caches are shared by every request
_GATES: dict[int, tuple[Any, BlockingGate]] = {}


def _response(denial: Denial) -> HttpResponse:
    response = HttpResponse(denial.json(), status=denial.status, content_type="application/problem+json")
    for name, value in denial.headers.items():
        response[name] = value
    return response


class AgentAuthMiddleware:
    """Django middleware over ``settings.DIDVC`` (``verifier``, ``audience``, and the options of
    :func:`verifier.middleware`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        options = dict(settings.DIDVC)
        verifier = options.pop("verifier")
        max_body_bytes = options.pop("max_body_bytes", 1024 * 1024)
        known = _GATES.get(id(verifier))
        if known is None or known[0] is not verifier:
            known = _GATES[id(verifier)] = (verifier, BlockingGate(verifier, **options))
        self.gate = known[1]
        self.max_body_bytes = int(max_body_bytes)

    def _body(self, request: HttpRequest) -> bytes | Denial | None:
        """The body within ``max_body_bytes`` (and Django's DATA_UPLOAD_MAX_MEMORY_SIZE), 413
        beyond, before it is read; cached by Django for the view."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body it cannot size
        if length > self.max_body_bytes:
            return body_too_large(self.max_body_bytes)
        try:
            return request.body or None
        except RequestDataTooBig:
            return body_too_large(self.max_body_bytes)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.gate.is_public(request.path):
            return self.get_response(request)
        meta = request.META
        facts = RequestFacts(
            request.method or "GET",
            request.scheme or "http",
            meta.get("HTTP_HOST") or f"{meta.get('SERVER_NAME', '')}:{meta.get('SERVER_PORT', '')}",
            request.get_full_path(),
            lambda name: request.headers.get(name),
        )
        route = f"{request.method} {request.path}"
        decided = self.gate.decide(facts, functools.partial(self._body, request), route)
        if isinstance(decided, Denial):
            return _response(decided)
        request.didvc = decided
        response = self.get_response(request)
        self.gate.allowed(route, response.status_code, decided)
        return response


def require_agent(*scopes: str) -> Callable[[F], F]:
    """A view decorator: the request was granted ``scopes`` (403 naming what is missing)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            result = getattr(request, "didvc", None)
            if result is None:
                raise RuntimeError("require_agent needs verifier.django.AgentAuthMiddleware")
            denial = missing_scopes(result, scopes)
            return _response(denial) if denial is not None else view(request, *args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
