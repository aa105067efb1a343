"""An API on Django, protected by didvc: the middleware and a scope per view, in one file.

    python examples/api_django.py runserver 127.0.0.1:8084 --noreload
    (DIDVC_TRUST=did:web:issuer.example DIDVC_AUDIENCE=http://127.0.0.1:8084)

``DIDVC_TRUST`` names the issuers whose credentials count (space-separated; none: nothing
counts); ``DIDVC_AUDIENCE`` is the API's origin as agents name it.
"""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from verifier import Policy, Verifier
from verifier.django import require_agent

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["verifier.django.AgentAuthMiddleware"],
    DIDVC={
        "verifier": Verifier(
            policy=Policy(trusted_issuers={"*": frozenset(os.environ.get("DIDVC_TRUST", "").split())})
        ),
        "audience": os.environ.get("DIDVC_AUDIENCE", "http://127.0.0.1:8084"),
        "public_paths": ["/health"],
    },
)


def health(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


@require_agent("orders:read")
def orders(request: HttpRequest) -> HttpResponse:
    agent = request.didvc  # type: ignore[attr-defined]
    return JsonResponse({"agent": agent.holder, "for": agent.principal, "scopes": agent.scopes})


urlpatterns = [path("health", health), path("orders", orders)]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
