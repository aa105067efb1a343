"""WalletSession against a real aiohttp API behind the verifier middleware, over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from resolvers import default_resolver
from tests.helpers import Party, lasting_agent_credential, trusting
from verifier import VERIFICATION_RESULT, RouteRule, Verifier
from wallet import KdfParams, Wallet, WalletSession

FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)


ISSUER = Party()  # the issuer the API trusts
_SEEN = web.AppKey("seen", list)  # the Authorization headers the API was sent, in order
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _used_before(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The first request's token goes through the verifier twice: as if the process before a
    restart had used it, the real gate then refuses it as a replay (REPLAY_DETECTED_ERROR)."""
    if not request.app[_SEEN]:
        request.app[_SEEN].append(request.headers["Authorization"])
        await handler(request)
    request.app[_SEEN].append(request.headers["Authorization"])
    return await handler(request)


async def _api(require_nonce: bool, *, used_before: bool = False) -> TestServer:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    policy = trusting(
        ISSUER, routes=(RouteRule("*", "/orders", frozenset({"orders:read"})),), require_nonce=require_nonce
    )
    verifier = Verifier(resolver=default_resolver(), policy=policy)
    gate = verifier.middleware(audience=f"http://127.0.0.1:{port}")
    app = web.Application(middlewares=[_used_before, gate] if used_before else [gate])
    app[_SEEN] = []

    async def orders(request: web.Request) -> web.Response:
        result = request[VERIFICATION_RESULT]
        body = await request.json() if request.body_exists else None
        return web.json_response({"agent": result.holder, "scopes": result.scopes, "echo": body})

    app.router.add_get("/orders", orders)
    app.router.add_post("/orders", orders)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    return server


@pytest.fixture
async def wallet(tmp_path: Path) -> AsyncIterator[Wallet]:
    async with await Wallet.open(
        tmp_path / "w", passphrase="pw", kdf=FAST, resolver=default_resolver()
    ) as opened:
        did = await opened.create_did()
        vc = await lasting_agent_credential(ISSUER, did)
        await opened.store_credential(vc)
        yield opened


@pytest.mark.parametrize("require_nonce", [False, True])
async def test_every_request_carries_a_fresh_bound_presentation(wallet: Wallet, require_nonce: bool) -> None:
    server = await _api(require_nonce)
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with WalletSession(wallet) as http:
            for _ in range(3):
                response = await http.get(f"{base}/orders")
                assert response.status == 200, await response.text()
                payload: dict[str, Any] = await response.json()
                assert payload["agent"] == await wallet.default_did()
                assert payload["scopes"] == ["orders:read"]
            response = await http.post(f"{base}/orders", json={"item": 42})
            assert response.status == 200
            assert (await response.json())["echo"] == {"item": 42}
    finally:
        await server.close()


async def test_refused_requests_are_returned_not_raised(wallet: Wallet) -> None:
    server = await _api(False)
    try:
        async with WalletSession(wallet, audience="https://someone-else.example") as http:
            response = await http.get(f"http://127.0.0.1:{server.port}/orders")
            assert response.status == 401
            assert (await response.json())["problems"][0]["code"] == "REQUEST_BINDING_ERROR"
    finally:
        await server.close()


async def test_a_token_refused_as_a_replay_is_sent_again_fresh_once(wallet: Wallet) -> None:
    """A server restarted since the token was signed (or whose Redis was) refuses it as a
    replay before its handler runs: the session sends the request once more with a fresh token,
    and does not loop when that one is refused too."""
    server = await _api(False, used_before=True)
    try:
        async with WalletSession(wallet) as http:
            response = await http.post(f"http://127.0.0.1:{server.port}/orders", json={"item": 1})
            assert response.status == 200, await response.text()
            assert (await response.json())["echo"] == {"item": 1}
        seen = server.app[_SEEN]
        assert len(seen) == 3 and seen[0] == seen[1] != seen[2]  # used before, refused, fresh
    finally:
        await server.close()


async def test_an_httpx_client_sends_a_token_refused_as_a_replay_again_fresh(wallet: Wallet) -> None:
    import httpx

    from wallet.httpx import WalletAuth

    server = await _api(False, used_before=True)
    try:
        async with httpx.AsyncClient(auth=WalletAuth(wallet)) as client:
            response = await client.get(f"http://127.0.0.1:{server.port}/orders")
        assert response.status_code == 200, response.text
        assert [r.status_code for r in response.history] == [401]
        assert len(server.app[_SEEN]) == 3
    finally:
        await server.close()
