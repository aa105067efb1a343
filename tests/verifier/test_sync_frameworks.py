"""Flask and Django over the synchronous gate: real apps (Flask's test client, Django's request
factory and middleware), real wallets and signatures; the same answers as the aiohttp and ASGI
middlewares, hostile input included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from didvc.blocking import LoopThread
from tests.helpers import HOSTILE_HEADERS, Party, lasting_agent_credential, trusting
from verifier import Verifier
from wallet import KdfParams, Wallet

FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)
HOST = "http://testserver"


class Agent:
    """A wallet living in a loop of its own, signing headers for sync tests."""

    def __init__(self, path: Path, issuer: Party) -> None:
        self.runner = LoopThread("agent")
        self.host = HOST  # where the requests go: Django's test server; Flask's is localhost

        async def make() -> Wallet:
            wallet = await Wallet.open(path, passphrase="pw", kdf=FAST)
            did = await wallet.create_did()
            await wallet.store_credential(await lasting_agent_credential(issuer, did, ["orders:read"]))
            return wallet

        self.wallet = self.runner.run(make())

    def header(self, method: str, path: str, body: bytes | None = None) -> str:
        headers = self.runner.run(self.wallet.request_headers(method, self.host + path, body=body))
        return headers["Authorization"]

    def close(self) -> None:
        self.runner.run(self.wallet.close())
        self.runner.close()


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[Agent, Party]]:
    issuer = Party()
    made = Agent(tmp_path / "agent.wallet", issuer)
    yield made, issuer
    made.close()


HOSTILE = ["", *HOSTILE_HEADERS.values()]


def test_flask(agent: tuple[Agent, Party]) -> None:
    from flask import Flask, request

    from verifier.flask import AgentAuth

    wallet, issuer = agent
    wallet.host = "http://localhost"
    app = Flask(__name__)
    auth = AgentAuth(
        app, verifier=Verifier(policy=trusting(issuer)), audience=wallet.host, public_paths=["/health"]
    )

    @app.get("/orders")
    @auth.require("orders:read")
    def orders() -> Any:
        result = auth.result()
        return {"agent": result.holder if result else None, "scopes": result.scopes if result else []}

    @app.post("/orders")
    def order() -> Any:
        return {"echo": json.loads(request.get_data())}

    @app.post("/admin")
    @auth.require("admin")
    def admin() -> Any:
        return {"done": True}

    @app.get("/health")
    def health() -> Any:
        return {"ok": True}

    client = app.test_client()
    ok = client.get("/orders", headers={"Authorization": wallet.header("GET", "/orders")})
    assert ok.status_code == 200 and ok.get_json()["scopes"] == ["orders:read"], ok.get_data()
    body = b'{"item": 1}'
    posted = client.post(
        "/orders", data=body, headers={"Authorization": wallet.header("POST", "/orders", body)}
    )
    assert posted.status_code == 200 and posted.get_json()["echo"] == {"item": 1}
    changed = client.post(
        "/orders", data=b'{"item": 2}', headers={"Authorization": wallet.header("POST", "/orders", body)}
    )
    assert (changed.status_code, changed.get_json()["problems"][0]["code"]) == (401, "REQUEST_BINDING_ERROR")
    assert (
        changed.headers["WWW-Authenticate"].startswith("VP ")
        and changed.mimetype == "application/problem+json"
    )
    other_method = client.post(
        "/orders", data=body, headers={"Authorization": wallet.header("PUT", "/orders", body)}
    )
    assert other_method.get_json()["problems"][0]["code"] == "REQUEST_BINDING_ERROR"
    other_url = client.post(
        "/orders", data=body, headers={"Authorization": wallet.header("POST", "/admin", body)}
    )
    assert other_url.get_json()["problems"][0]["code"] == "REQUEST_BINDING_ERROR"
    once = wallet.header("GET", "/orders")
    assert client.get("/orders", headers={"Authorization": once}).status_code == 200
    assert client.get("/orders", headers={"Authorization": once}).get_json()["problems"][0]["code"] == (
        "REPLAY_DETECTED_ERROR"
    )
    forbidden = client.post("/admin", headers={"Authorization": wallet.header("POST", "/admin")})
    assert forbidden.status_code == 403 and "admin" in forbidden.get_data(as_text=True)
    assert client.get("/health").status_code == 200
    for hostile in HOSTILE:
        answer = client.get("/orders", headers={"Authorization": hostile} if hostile else {})
        assert answer.status_code == 401 and answer.get_json()["problems"], hostile[:20]
    auth.gate.close()


def test_django(agent: tuple[Agent, Party]) -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(ALLOWED_HOSTS=["*"], DEFAULT_CHARSET="utf-8")
    import django

    django.setup()
    from django.http import HttpRequest, HttpResponse, JsonResponse
    from django.test import RequestFactory

    from verifier.django import AgentAuthMiddleware, require_agent

    wallet, issuer = agent
    settings.DIDVC = {
        "verifier": Verifier(policy=trusting(issuer)),
        "audience": HOST,
        "public_paths": ["/health"],
    }

    @require_agent("orders:read")
    def orders(request: HttpRequest) -> HttpResponse:
        result = request.didvc  # type: ignore[attr-defined]
        return JsonResponse({"agent": result.holder, "scopes": result.scopes, "body": request.body.decode()})

    @require_agent("admin")
    def admin(request: HttpRequest) -> HttpResponse:
        return JsonResponse({"done": True})

    factory = RequestFactory()
    through = AgentAuthMiddleware(orders)
    ok = through(factory.get("/orders", HTTP_AUTHORIZATION=wallet.header("GET", "/orders")))
    assert ok.status_code == 200 and json.loads(ok.content)["scopes"] == ["orders:read"], ok.content
    body = b'{"item": 1}'
    signed = wallet.header("POST", "/orders", body)
    posted = through(
        factory.post("/orders", data=body, content_type="application/json", HTTP_AUTHORIZATION=signed)
    )
    assert posted.status_code == 200 and json.loads(posted.content)["body"] == body.decode()
    changed = through(
        factory.post(
            "/orders",
            data=b'{"item": 2}',
            content_type="application/json",
            HTTP_AUTHORIZATION=wallet.header("POST", "/orders", body),
        )
    )
    assert changed.status_code == 401 and changed["WWW-Authenticate"].startswith("VP ")
    assert json.loads(changed.content)["problems"][0]["code"] == "REQUEST_BINDING_ERROR"
    for method, path in (("PUT", "/orders"), ("GET", "/admin")):  # another method, another URL
        moved = through(factory.get("/orders", HTTP_AUTHORIZATION=wallet.header(method, path)))
        assert json.loads(moved.content)["problems"][0]["code"] == "REQUEST_BINDING_ERROR"
    once = wallet.header("GET", "/orders")
    assert through(factory.get("/orders", HTTP_AUTHORIZATION=once)).status_code == 200
    assert through(factory.get("/orders", HTTP_AUTHORIZATION=once)).status_code == 401
    forbidden = AgentAuthMiddleware(admin)(
        factory.post("/admin", HTTP_AUTHORIZATION=wallet.header("POST", "/admin"))
    )
    assert forbidden.status_code == 403 and b"admin" in forbidden.content
    for hostile in HOSTILE:
        extra = {"HTTP_AUTHORIZATION": hostile} if hostile else {}
        answer = through(factory.get("/orders", **extra))
        assert answer.status_code == 401 and json.loads(answer.content)["problems"], hostile[:20]


class _Unread:
    """A request body that must not be read (anonymous, or declared too large)."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def test_bodies_are_bounded_and_read_only_after_the_header(agent: tuple[Agent, Party]) -> None:
    """Flask and Django answer an anonymous request without reading its body, and a body over
    ``max_body_bytes`` (declared, or chunked with no length) with 413 before reading it whole."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(ALLOWED_HOSTS=["*"], DEFAULT_CHARSET="utf-8")
    import django

    django.setup()
    from django.http import HttpRequest, HttpResponse, JsonResponse
    from django.test import RequestFactory
    from flask import Flask, request

    from verifier.django import AgentAuthMiddleware
    from verifier.flask import AgentAuth

    wallet, issuer = agent
    big = b"x" * 2048
    app = Flask(__name__)
    auth = AgentAuth(
        app, verifier=Verifier(policy=trusting(issuer)), audience="http://localhost", max_body_bytes=1024
    )

    @app.post("/orders")
    def order() -> Any:
        return {"length": len(request.get_data())}

    client = app.test_client()
    wallet.host = "http://localhost"
    unread = {"wsgi.input": _Unread(), "CONTENT_LENGTH": str(len(big))}
    anonymous = client.post("/orders", environ_overrides={"wsgi.input": _Unread(), "CONTENT_LENGTH": "100"})
    assert anonymous.status_code == 401
    declared = client.post(
        "/orders", headers={"Authorization": wallet.header("POST", "/orders", big)}, environ_overrides=unread
    )
    assert (declared.status_code, declared.get_json()["problems"][0]["code"]) == (
        413,
        "INPUT_TOO_LARGE_ERROR",
    )
    for body, expected in ((big, 413), (b"y" * 1000, 200)):  # chunked: no length, the input ends
        answer = client.post(
            "/orders",
            data=body,
            headers={"Authorization": wallet.header("POST", "/orders", body), "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
        assert answer.status_code == expected, answer.get_data()
        if expected == 200:
            assert answer.get_json() == {"length": len(body)}  # the view read the same bytes
    auth.gate.close()

    wallet.host = HOST
    settings.DIDVC = {"verifier": Verifier(policy=trusting(issuer)), "audience": HOST, "max_body_bytes": 1024}

    def view(request: HttpRequest) -> HttpResponse:
        return JsonResponse({"length": len(request.body)})

    through = AgentAuthMiddleware(view)
    factory = RequestFactory()
    anonymous_django = factory.post("/orders", data=b"a" * 100, content_type="application/json")
    anonymous_django._stream = _Unread()  # type: ignore[attr-defined]
    assert through(anonymous_django).status_code == 401
    too_big = factory.post(
        "/orders",
        data=big,
        content_type="application/json",
        HTTP_AUTHORIZATION=wallet.header("POST", "/orders", big),
    )
    too_big._stream = _Unread()  # type: ignore[attr-defined]
    answer = through(too_big)
    assert (answer.status_code, json.loads(answer.content)["problems"][0]["code"]) == (
        413,
        "INPUT_TOO_LARGE_ERROR",
    )
    small = b"z" * 1000
    fits = factory.post(
        "/orders",
        data=small,
        content_type="application/json",
        HTTP_AUTHORIZATION=wallet.header("POST", "/orders", small),
    )
    assert json.loads(through(fits).content) == {"length": len(small)}


def test_a_revoked_credential_is_refused_through_the_sync_gate(tmp_path: Path) -> None:
    """The issuer served on loopback (in a loop of its own); Flask's app and Django's
    middleware each refuse the agent's next request once its credential is revoked."""
    from django.conf import settings
    from django.test import RequestFactory
    from flask import Flask

    from tests.helpers import issuer_site
    from verifier.django import AgentAuthMiddleware, require_agent
    from verifier.flask import AgentAuth

    if not settings.configured:
        settings.configure(ALLOWED_HOSTS=["*"], DEFAULT_CHARSET="utf-8")
    import django

    django.setup()
    from django.http import HttpRequest, HttpResponse, JsonResponse

    loops = LoopThread("stage")
    site = issuer_site(tmp_path)
    issuer, _ = loops.run(site.__aenter__())
    try:
        wallet = loops.run(
            Wallet.open(tmp_path / "agent.wallet", passphrase="pw", kdf=FAST, allow_loopback=True)
        )
        did = loops.run(wallet.create_did())
        vc = loops.run(issuer.issue(did, claims={"scope": ["orders:read"]}))
        loops.run(wallet.store_credential(vc))

        def header(host: str) -> str:
            return str(loops.run(wallet.request_headers("GET", f"{host}/orders"))["Authorization"])

        verifier = Verifier(policy=trusting(issuer.did), allow_http=True, allow_loopback=True)
        app = Flask("revocation")
        auth = AgentAuth(app, verifier=verifier, audience="http://localhost")
        app.add_url_rule("/orders", "orders", auth.require("orders:read")(lambda: {"ok": True}))
        client = app.test_client()

        @require_agent("orders:read")
        def orders(request: HttpRequest) -> HttpResponse:
            return JsonResponse({"ok": True})

        django_verifier = Verifier(policy=trusting(issuer.did), allow_http=True, allow_loopback=True)
        settings.DIDVC = {"verifier": django_verifier, "audience": HOST}
        through, factory = AgentAuthMiddleware(orders), RequestFactory()

        assert client.get("/orders", headers={"Authorization": header("http://localhost")}).status_code == 200
        assert through(factory.get("/orders", HTTP_AUTHORIZATION=header(HOST))).status_code == 200
        loops.run(issuer.revoke(vc["id"]))
        verifier.status.clear()
        django_verifier.status.clear()
        flask_answer = client.get("/orders", headers={"Authorization": header("http://localhost")})
        assert flask_answer.get_json()["problems"][0]["code"] == "CREDENTIAL_REVOKED_ERROR"
        django_answer = through(factory.get("/orders", HTTP_AUTHORIZATION=header(HOST)))
        assert json.loads(django_answer.content)["problems"][0]["code"] == "CREDENTIAL_REVOKED_ERROR"
        auth.gate.close()
        loops.run(wallet.close())
    finally:
        loops.run(site.__aexit__(None, None, None))
        loops.close()
