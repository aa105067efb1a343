"""The aiohttp middleware through a real server on 127.0.0.1 and a real client."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from didvc.encoding import b64url_encode
from resolvers import default_resolver
from tests.helpers import (
    HOSTILE_HEADERS,
    NOW,
    Party,
    agent_credential,
    in_fresh_python,
    request_token,
    signed,
    trusting,
)
from verifier import NONCE_HEADER, VERIFICATION_RESULT, Policy, RouteRule, Verifier

AUDIENCE = "https://api.example"
ISSUER = Party()  # the issuer the API trusts
POLICY = trusting(
    ISSUER,
    routes=(
        RouteRule("GET", "/orders*", frozenset({"orders:read"})),
        RouteRule("POST", "/orders", frozenset({"orders:write"})),
        RouteRule("*", "/admin*", frozenset({"admin"})),
    ),
)


class Api:
    def __init__(self, server: TestServer, verifier: Verifier) -> None:
        self.server = server
        self.verifier = verifier

    def url(self, path: str) -> str:
        return f"{AUDIENCE}{path}"

    async def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> tuple[int, dict[str, Any], Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, f"http://127.0.0.1:{self.server.port}{path}", headers=headers or {}, data=body
            ) as response,
        ):
            text = await response.text()
            try:
                payload = json.loads(text)
            except ValueError:
                payload = text
            return response.status, dict(response.headers), payload


async def _start(policy: Policy = POLICY, clock: Callable[[], datetime] = lambda: NOW, **options: Any) -> Api:
    verifier = Verifier(resolver=default_resolver(), clock=clock, policy=policy)

    async def orders(request: web.Request) -> web.Response:
        result = request[VERIFICATION_RESULT]
        return web.json_response({"agent": result.holder, "scopes": result.scopes})

    app = web.Application(
        middlewares=[verifier.middleware(audience=AUDIENCE, public_url=AUDIENCE, **options)],
        # presentation headers with several credentials outgrow aiohttp's 8 KiB default
        handler_args={"max_field_size": 128 * 1024, "max_line_size": 128 * 1024},
    )
    app.router.add_get("/orders", orders)
    app.router.add_post("/orders", orders)
    app.router.add_get("/admin", orders)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/health", health)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return Api(server, verifier)


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    started = await _start(public_paths=["/health"])
    yield started
    await started.server.close()


async def _header(
    agent: Party, vc: dict[str, Any], method: str = "GET", path: str = "/orders", **kwargs: Any
) -> dict[str, str]:
    token = await request_token(agent, [vc], method=method, url=f"{AUDIENCE}{path}", **kwargs)
    return {"Authorization": f"VP {token}"}


@pytest.fixture
async def agent_and_vc() -> tuple[Party, dict[str, Any]]:
    issuer, agent = ISSUER, Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read", "orders:write"]), issuer)
    return agent, vc


async def test_allowed_request_reaches_the_handler(api: Api, agent_and_vc: Any) -> None:
    agent, vc = agent_and_vc
    status, _, body = await api.call("GET", "/orders", await _header(agent, vc))
    assert status == 200, body
    assert body == {"agent": agent.did, "scopes": ["orders:read", "orders:write"]}


async def test_body_bound_post(api: Api, agent_and_vc: Any) -> None:
    agent, vc = agent_and_vc
    headers = await _header(agent, vc, method="POST", body=b'{"item": 1}')
    status, _, _ = await api.call(
        "POST", "/orders", {**headers, "Content-Type": "application/json"}, b'{"item": 1}'
    )
    assert status == 200
    headers = await _header(agent, vc, method="POST", body=b'{"item": 1}')
    status, _, body = await api.call("POST", "/orders", headers, b'{"item": 999}')
    assert status == 401
    assert body["problems"][0]["code"] == "REQUEST_BINDING_ERROR"


async def test_missing_presentation_is_401_with_problem_json(api: Api) -> None:
    status, headers, body = await api.call("GET", "/orders")
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("VP ")
    assert headers["Content-Type"].startswith("application/problem+json")
    assert body["type"].endswith("MISSING_PRESENTATION")


async def test_public_paths_need_nothing(api: Api) -> None:
    status, _, body = await api.call("GET", "/health")
    assert (status, body) == (200, {"ok": True})


async def test_out_of_scope_is_403(api: Api, agent_and_vc: Any) -> None:
    agent, vc = agent_and_vc
    status, _, body = await api.call("GET", "/admin", await _header(agent, vc, path="/admin"))
    assert status == 403
    assert body["problems"][0]["code"] == "INSUFFICIENT_SCOPE_ERROR"


async def test_replayed_header_refused(api: Api, agent_and_vc: Any) -> None:
    agent, vc = agent_and_vc
    headers = await _header(agent, vc)
    assert (await api.call("GET", "/orders", headers))[0] == 200
    status, _, body = await api.call("GET", "/orders", headers)
    assert status == 401
    assert body["problems"][0]["code"] == "REPLAY_DETECTED_ERROR"


async def test_a_restarted_server_refuses_a_token_used_before_it_started(agent_and_vc: Any) -> None:
    """The in-memory replay cache starts empty with each process: a token used against the
    previous one is refused by the new one (it was issued before the new one started), a
    fresh token is not. Without this a captured token could be replayed after every deploy."""
    agent, vc = agent_and_vc
    moment = [NOW]
    first = await _start(clock=lambda: moment[0])
    token = await _header(agent, vc, now=NOW + timedelta(seconds=1))
    moment[0] = NOW + timedelta(seconds=2)
    status, _, _ = await first.call("GET", "/orders", token)
    assert status == 200
    await first.server.close()
    moment[0] = NOW + timedelta(seconds=5)  # the process is restarted
    second = await _start(clock=lambda: moment[0])
    try:
        status, _, body = await second.call("GET", "/orders", token)
        assert status == 401
        assert body["problems"][0]["code"] == "REPLAY_DETECTED_ERROR"
        assert "restarted" in body["problems"][0]["message"]
        fresh = await _header(agent, vc, now=moment[0])
        status, _, body = await second.call("GET", "/orders", fresh)
        assert status == 200, body
    finally:
        await second.server.close()


def test_a_server_loads_at_start_what_its_first_request_would_load() -> None:
    """multiformats' tables load with the first key a process meets (a command that meets none
    starts faster); a server loads them as its gate is built, not during its first request."""
    probe = (
        "import sys; from verifier import Policy, Verifier;"
        "verifier = Verifier(policy=Policy(), isolate_canonicalization=False);"
        "before = 'multiformats' in sys.modules;"
        "verifier.middleware(audience='https://api.example');"
        "print(before, 'multiformats' in sys.modules)"
    )
    assert in_fresh_python(probe) == "False True"


async def test_a_script_verifies_a_token_made_before_its_verifier(agent_and_vc: Any) -> None:
    """Only a server's gate tells the cache when it started: a verifier used from a script
    accepts a token signed before it was built."""
    agent, vc = agent_and_vc
    token = await request_token(agent, [vc], audience=AUDIENCE, url=f"{AUDIENCE}/orders")
    verifier = Verifier(resolver=default_resolver(), clock=lambda: NOW + timedelta(seconds=30), policy=POLICY)
    result = await verifier.verify_presentation(
        token, audience=AUDIENCE, method="GET", url=f"{AUDIENCE}/orders"
    )
    assert result.verified, result.problems
    await verifier.close()


async def test_header_for_another_route_refused(api: Api, agent_and_vc: Any) -> None:
    agent, vc = agent_and_vc
    status, _, body = await api.call("GET", "/orders", await _header(agent, vc, path="/other"))
    assert status == 401
    assert body["problems"][0]["code"] == "REQUEST_BINDING_ERROR"


@pytest.mark.parametrize("value", HOSTILE_HEADERS.values(), ids=HOSTILE_HEADERS.keys())
async def test_hostile_headers_are_401_never_500(api: Api, value: str) -> None:
    status, _, body = await api.call("GET", "/orders", {"Authorization": value})
    assert status == 401
    assert body["problems"]


async def test_custom_header_name() -> None:
    issuer, agent = ISSUER, Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    api = await _start(header="X-Verifiable-Presentation", scheme=None)
    try:
        token = await request_token(agent, [vc], url=f"{AUDIENCE}/orders")
        status, _, _ = await api.call("GET", "/orders", {"X-Verifiable-Presentation": token})
        assert status == 200
    finally:
        await api.server.close()


async def test_server_nonce_flow() -> None:
    issuer, agent = ISSUER, Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    api = await _start(policy=replace(POLICY, require_nonce=True))
    try:
        status, headers, _ = await api.call("GET", "/orders", await _header(agent, vc))
        assert status == 401
        assert 'error="use_nonce"' in headers["WWW-Authenticate"]
        nonce = headers[NONCE_HEADER]
        status, _, body = await api.call("GET", "/orders", await _header(agent, vc, nonce=nonce))
        assert status == 200, body
        status, headers, _ = await api.call("GET", "/orders", await _header(agent, vc, nonce=nonce))
        assert status == 401  # a nonce works once
        assert headers[NONCE_HEADER] != nonce
    finally:
        await api.server.close()


async def test_a_forged_token_cannot_use_up_a_nonce() -> None:
    issuer, agent = ISSUER, Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    api = await _start(policy=replace(POLICY, require_nonce=True))
    try:
        _, headers, _ = await api.call("GET", "/orders", await _header(agent, vc))
        nonce = headers[NONCE_HEADER]
        token = await request_token(agent, [vc], url=f"{AUDIENCE}/orders", nonce=nonce)
        signed_part = token.rsplit(".", 1)[0]
        forged = f"{signed_part}.{b64url_encode(bytes(64))}"  # its claims, not its signature
        status, _, body = await api.call("GET", "/orders", {"Authorization": f"VP {forged}"})
        assert status == 401 and body["problems"][0]["code"] == "CRYPTOGRAPHIC_SECURITY_ERROR"
        status, _, body = await api.call("GET", "/orders", await _header(agent, vc, nonce="never-issued"))
        assert status == 401 and body["problems"][0]["code"] == "USE_NONCE"
        status, _, body = await api.call("GET", "/orders", await _header(agent, vc, nonce=nonce))
        assert status == 200, body  # the nonce was still there for its rightful token
    finally:
        await api.server.close()


async def test_data_integrity_presentation_in_the_header_answers_a_server_nonce() -> None:
    from didvc.credentials import make_presentation
    from didvc.proofs import Authentication, add_proof

    issuer, agent = ISSUER, Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    api = await _start(policy=replace(POLICY, require_nonce=True))

    async def header(challenge: str, seconds_ago: int = 0) -> dict[str, str]:
        vp = await add_proof(
            make_presentation(agent.did, [vc]),
            agent.signer,
            purpose=Authentication(challenge=challenge, domain=AUDIENCE),
            created=NOW - timedelta(seconds=seconds_ago),
        )
        return {"Authorization": "VP " + b64url_encode(json.dumps(vp).encode())}

    try:
        status, headers, body = await api.call("GET", "/orders", await header("my-own-challenge"))
        assert status == 401 and body["problems"][0]["code"] == "USE_NONCE"
        nonce = headers[NONCE_HEADER]
        status, _, body = await api.call("GET", "/orders", await header(nonce))
        assert status == 200, body
        assert body == {"agent": agent.did, "scopes": ["orders:read"]}
        status, _, body = await api.call("GET", "/orders", await header(nonce, 1))  # a new proof, same nonce
        assert status == 401 and body["problems"][0]["code"] == "USE_NONCE"
    finally:
        await api.server.close()


async def test_audit_log_has_the_decision_never_the_token(caplog: pytest.LogCaptureFixture) -> None:
    issuer, agent = ISSUER, Party()
    vc = await signed(agent_credential(issuer, agent.did, ["orders:read"]), issuer)
    api = await _start(audit=logging.getLogger("didvc.audit"))
    try:
        headers = await _header(agent, vc)
        with caplog.at_level(logging.INFO, logger="didvc.audit"):
            await api.call("GET", "/orders", headers)
            await api.call("GET", "/orders", headers)
        lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "didvc.audit"]
        assert [line["verdict"] for line in lines] == ["allow", "deny"]
        assert lines[0]["holder"] == agent.did
        assert lines[0]["issuers"] == [issuer.did]
        assert lines[1]["problems"] == ["REPLAY_DETECTED_ERROR"]
        token = headers["Authorization"][3:]
        assert all(token not in r.getMessage() and token[:40] not in r.getMessage() for r in caplog.records)
    finally:
        await api.server.close()


@pytest.mark.parametrize("public_url", [AUDIENCE, None])
async def test_the_token_is_bound_to_the_path_as_sent_or_as_normalized(
    agent_and_vc: Any, public_url: str | None
) -> None:
    """htu is compared with the request's own URL (or public_url and its path): a plain path as
    sent, one with escapes or dot segments as yarl normalizes it; another path is refused."""
    verifier = Verifier(resolver=default_resolver(), clock=lambda: NOW, policy=POLICY)

    async def orders(request: web.Request) -> web.Response:
        return web.json_response({"agent": request[VERIFICATION_RESULT].holder})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    origin = public_url or f"http://127.0.0.1:{port}"
    app = web.Application(middlewares=[verifier.middleware(audience=origin, public_url=public_url)])
    app.router.add_get("/orders/{id}", orders)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    agent, vc = agent_and_vc
    api = Api(server, verifier)

    async def status(signed_path: str, requested: str) -> int:
        token = await request_token(agent, [vc], audience=origin, url=f"{origin}{signed_path}")
        return (await api.call("GET", requested, {"Authorization": f"VP {token}"}))[0]

    assert await status("/orders/7", "/orders/7?page=2") == 200
    assert await status("/orders/~7", "/orders/%7E7") == 200
    assert await status("/orders/7", "/orders/x/../7") == 200
    assert await status("/orders/7", "/orders/8") == 401
    await server.close()


async def test_a_host_header_that_is_no_host_cannot_move_a_token_to_another_path(agent_and_vc: Any) -> None:
    """Without public_url the URL a token is bound to is built from the Host header, which the
    client chooses: 'Host: 127.0.0.1:port/orders' on a request for /7 would make /orders/7, the
    path the token was signed for. Only a host and port are taken; anything else is refused."""
    verifier = Verifier(resolver=default_resolver(), clock=lambda: NOW, policy=trusting(ISSUER))

    async def anything(request: web.Request) -> web.Response:
        return web.json_response({"path": request.path})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    origin = f"http://127.0.0.1:{port}"
    app = web.Application(middlewares=[verifier.middleware(audience=origin)])
    app.router.add_get("/{tail:.*}", anything)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    agent, vc = agent_and_vc
    api = Api(server, verifier)
    for host, path, expected in (
        (f"127.0.0.1:{port}/orders", "/7", 401),  # the trick: refused
        (f"127.0.0.1:{port}@evil.example", "/orders/7", 401),
        (f"127.0.0.1:{port}", "/orders/7", 200),  # a plain host and port: as before
    ):
        token = await request_token(agent, [vc], audience=origin, url=f"{origin}/orders/7")
        status, _, body = await api.call("GET", path, {"Authorization": f"VP {token}", "Host": host})
        assert status == expected, (host, body)
    # no Host header at all (HTTP/1.0): nothing the client addressed to bind the token to
    token = await request_token(agent, [vc], audience=origin, url=f"{origin}/orders/7")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /orders/7 HTTP/1.0\r\nAuthorization: VP {token}\r\n\r\n".encode())
    answer = await reader.read()
    writer.close()
    assert answer.split(b"\r\n")[0].split()[1] == b"401" and b"REQUEST_BINDING_ERROR" in answer
    await server.close()
