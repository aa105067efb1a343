"""Per-request overhead of each web integration over its bare framework, in one process run.

Run: ``python bench/bench_integrations.py``. For each framework the same route is called through
the framework's own in-process client, without didvc and with it (a fresh request token each
time, the agent's credential cached: the steady state of an API). Batches of bare and verified
requests alternate, and batches of raw Ed25519 verifies run beside them, so a drift of the
machine moves every figure alike; the table gives medians of the per-batch figures.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import agent_credential, party
from cryptography.hazmat.primitives.asymmetric import ed25519

from didvc.blocking import LoopThread
from didvc.credentials import make_presentation
from didvc.request import sign_request_token
from verifier import MemoryReplayCache, Policy, Verifier

BATCH, ROUNDS = 100, 15
AUDIENCE = "http://testserver"


def _tokens(count: int, host: str) -> tuple[list[str], str]:
    async def make() -> tuple[list[str], str]:
        issuer, issuer_signer = party()
        agent, agent_signer = party()
        vc = await agent_credential(issuer, issuer_signer, agent)
        presentation = make_presentation(agent, [vc])
        binding = {"audience": host, "method": "GET", "url": f"{host}/orders", "lifetime": 300}
        return [await sign_request_token(presentation, agent_signer, **binding) for _ in range(count)], issuer

    return asyncio.run(make())


def _verifier(issuer: str) -> Verifier:
    # the tokens are signed before the apps are built, which a server refuses by default
    replay = MemoryReplayCache(refuse_earlier_tokens=False)
    return Verifier(policy=Policy(trusted_issuers={"*": frozenset({issuer})}), replay_cache=replay)


def _raw() -> Callable[[], None]:
    key = ed25519.Ed25519PrivateKey.generate()
    public, message = key.public_key(), b"x" * 300
    signature = key.sign(message)
    return lambda: public.verify(signature, message)


def _measure(
    bare: Callable[[], Any], verified: Callable[[str], Any], tokens: list[str]
) -> tuple[float, float, float]:
    """Median µs per bare request, per verified request, per raw Ed25519 verify."""
    raw = _raw()
    verified(tokens.pop())  # the credential's proof into the cache
    bares, ours, raws = [], [], []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        for _ in range(BATCH):
            bare()
        middle = time.perf_counter()
        for _ in range(BATCH):
            verified(tokens.pop())
        end = time.perf_counter()
        for _ in range(BATCH):
            raw()
        bares.append((middle - began) / BATCH)
        ours.append((end - middle) / BATCH)
        raws.append((time.perf_counter() - end) / BATCH)
    return statistics.median(bares) * 1e6, statistics.median(ours) * 1e6, statistics.median(raws) * 1e6


def fastapi_case() -> tuple[float, float, float]:
    import httpx
    from fastapi import FastAPI

    from verifier.asgi import AgentAuthMiddleware

    tokens, issuer = _tokens(BATCH * ROUNDS + 1, AUDIENCE)

    def app(with_auth: bool) -> Any:
        made = FastAPI()
        if with_auth:
            made.add_middleware(AgentAuthMiddleware, verifier=_verifier(issuer), audience=AUDIENCE)

        @made.get("/orders")
        async def orders() -> dict[str, bool]:
            return {"ok": True}

        return made

    runner = LoopThread("bench")
    bare_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(False)), base_url=AUDIENCE)
    ours_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(True)), base_url=AUDIENCE)

    def bare() -> None:
        runner.run(bare_client.get("/orders"))

    def verified(token: str) -> None:
        response = runner.run(ours_client.get("/orders", headers={"Authorization": f"VP {token}"}))
        assert response.status_code == 200, response.text

    try:
        return _measure(bare, verified, tokens)
    finally:
        runner.close()


def flask_case() -> tuple[float, float, float]:
    from flask import Flask

    from verifier.flask import AgentAuth

    tokens, issuer = _tokens(BATCH * ROUNDS + 1, "http://localhost")
    bare_app, ours_app = Flask("bare"), Flask("ours")
    auth = AgentAuth(ours_app, verifier=_verifier(issuer), audience="http://localhost")
    for made in (bare_app, ours_app):
        made.add_url_rule("/orders", "orders", lambda: {"ok": True})
    bare_client, ours_client = bare_app.test_client(), ours_app.test_client()

    def verified(token: str) -> None:
        response = ours_client.get("/orders", headers={"Authorization": f"VP {token}"})
        assert response.status_code == 200, response.get_data()

    try:
        return _measure(lambda: bare_client.get("/orders"), verified, tokens)
    finally:
        auth.gate.close()


def django_case() -> tuple[float, float, float]:
    from django.conf import settings

    settings.configure(ALLOWED_HOSTS=["*"])
    import django

    django.setup()
    from django.http import JsonResponse
    from django.test import RequestFactory

    from verifier.django import AgentAuthMiddleware

    tokens, issuer = _tokens(BATCH * ROUNDS + 1, AUDIENCE)
    settings.DIDVC = {"verifier": _verifier(issuer), "audience": AUDIENCE}

    def view(request: Any) -> Any:
        return JsonResponse({"ok": True})

    through, factory = AgentAuthMiddleware(view), RequestFactory()

    def verified(token: str) -> None:
        response = through(factory.get("/orders", HTTP_AUTHORIZATION=f"VP {token}"))
        assert response.status_code == 200, response.content

    return _measure(lambda: view(factory.get("/orders")), verified, tokens)


def main() -> None:
    print("## Integrations (bench/bench_integrations.py)\n")
    print("| framework | bare µs | with didvc µs | overhead µs | overhead × raw Ed25519 verify |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, case in (("FastAPI (ASGI)", fastapi_case), ("Flask", flask_case), ("Django", django_case)):
        bare, ours, raw = case()
        print(f"| {name} | {bare:,.1f} | {ours:,.1f} | {ours - bare:,.1f} | {(ours - bare) / raw:.2f} |")


if __name__ == "__main__":
    main()
