"""The agent-side integrations against a live API on loopback (the aiohttp example, requiring
server nonces): ``requests`` and a sync ``httpx`` client, each with its WalletAuth, get through,
the nonce round trip included (changed bodies, methods and URLs: tests/verifier/test_asgi_fastapi.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests

from tests.e2e.services import free_port as _free_port
from tests.helpers import Party, lasting_agent_credential
from wallet import KdfParams, Wallet

ROOT = Path(__file__).resolve().parents[2]
FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)


def _reading_wallet(path: Path, issuer: Party) -> None:
    """A wallet at ``path`` whose agent ``issuer`` lets read orders."""

    async def make() -> None:
        wallet = await Wallet.open(path, passphrase="pw", kdf=FAST)
        agent = await wallet.create_did()
        await wallet.store_credential(await lasting_agent_credential(issuer, agent, ["orders:read"]))
        await wallet.close()

    asyncio.run(make())


def _wait_for(base: str) -> None:
    """Until the API answers its health check (ten seconds at most)."""
    for _ in range(100):
        try:
            httpx.get(f"{base}/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The example API requiring nonces, and a wallet holding a credential it accepts."""
    issuer = Party()

    async def make_wallet() -> None:
        wallet = await Wallet.open(tmp_path / "agent.wallet", passphrase="pw", kdf=FAST)
        agent = await wallet.create_did()
        await wallet.store_credential(
            await lasting_agent_credential(issuer, agent, ["orders:read", "orders:write"])
        )
        await wallet.close()

    asyncio.run(make_wallet())
    (tmp_path / "policy.toml").write_text(
        f'require_nonce = true\ntrusted_issuers = {{ "*" = ["{issuer.did}"] }}\n'
        '[[routes]]\nmethod = "GET"\npath = "/orders*"\nscopes = ["orders:read"]\n'
        '[[routes]]\nmethod = "POST"\npath = "/orders*"\nscopes = ["orders:write"]\n',
        encoding="utf-8",
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, str(ROOT / "examples" / "api_aiohttp.py"), "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--audience", base, "--policy", str(tmp_path / "policy.toml")], stderr=subprocess.DEVNULL
    )
    try:
        _wait_for(base)
        yield base, tmp_path / "agent.wallet"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_requests_with_the_wallet_auth(api: tuple[str, Path]) -> None:
    from wallet.requests import WalletAuth

    base, path = api
    auth = WalletAuth.open(path, passphrase="pw")
    try:
        response = requests.get(f"{base}/orders", auth=auth, timeout=10)
        assert response.status_code == 200, response.text
        assert [r.status_code for r in response.history] == [401]  # asked for a nonce, retried once
        posted = requests.post(f"{base}/orders", json={"item": 7}, auth=auth, timeout=10)
        assert posted.status_code == 200, posted.text
        bare = requests.get(f"{base}/orders", timeout=10)  # no wallet: refused, and handed a nonce
        assert bare.status_code == 401 and bare.headers["VP-Nonce"]
    finally:
        auth.close()


def test_a_sync_httpx_client_with_the_wallet_auth(api: tuple[str, Path]) -> None:
    from wallet.httpx import WalletAuth

    base, path = api
    auth = WalletAuth.open(path, passphrase="pw")
    try:
        with httpx.Client(auth=auth, timeout=10) as client:
            response = client.get(f"{base}/orders")
            assert response.status_code == 200, response.text
            assert [r.status_code for r in response.history] == [401]
            assert client.post(f"{base}/orders", json={"item": 7}).status_code == 200
    finally:
        auth.close()


def test_requests_against_the_flask_example_served_on_loopback(tmp_path: Path) -> None:
    from wallet.requests import WalletAuth

    issuer = Party()
    _reading_wallet(tmp_path / "agent.wallet", issuer)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, str(ROOT / "examples" / "api_flask.py"), "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--audience", base, "--trust", issuer.did], stderr=subprocess.DEVNULL
    )
    auth = WalletAuth.open(tmp_path / "agent.wallet", passphrase="pw")
    try:
        _wait_for(base)
        response = requests.get(f"{base}/orders", auth=auth, timeout=10)
        assert response.status_code == 200 and response.json()["scopes"] == ["orders:read"], response.text
        refused = requests.post(f"{base}/orders", data=b"x", auth=auth, timeout=10)  # no orders:write
        assert refused.status_code == 403 and "orders:write" in refused.text
    finally:
        auth.close()
        server.terminate()
        server.wait(timeout=10)


def test_requests_against_the_django_example_served_on_loopback(tmp_path: Path) -> None:
    from wallet.requests import WalletAuth

    issuer = Party()
    _reading_wallet(tmp_path / "agent.wallet", issuer)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DIDVC_TRUST": issuer.did, "DIDVC_AUDIENCE": base}
    command = [sys.executable, str(ROOT / "examples" / "api_django.py"), "runserver", f"127.0.0.1:{port}"]
    server = subprocess.Popen([*command, "--noreload"], env=env, stderr=subprocess.DEVNULL)
    auth = WalletAuth.open(tmp_path / "agent.wallet", passphrase="pw")
    try:
        _wait_for(base)
        response = requests.get(f"{base}/orders", auth=auth, timeout=10)
        assert response.status_code == 200 and response.json()["scopes"] == ["orders:read"], response.text
        assert requests.get(f"{base}/orders", timeout=10).status_code == 401
    finally:
        auth.close()
        server.terminate()
        server.wait(timeout=10)
