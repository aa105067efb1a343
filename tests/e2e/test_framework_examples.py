"""The FastAPI and Flask examples serve a wallet-made request as written (their create_app,
in process: FastAPI through httpx's ASGI transport and the wallet's httpx auth, Flask through
its test client)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import httpx

from didvc.blocking import LoopThread
from tests.helpers import Party, lasting_agent_credential
from wallet import KdfParams, Wallet
from wallet.httpx import WalletAuth

ROOT = Path(__file__).resolve().parents[2]
FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _wallet(path: Path, issuer: Party) -> Wallet:
    wallet = await Wallet.open(path, passphrase="pw", kdf=FAST)
    did = await wallet.create_did()
    await wallet.store_credential(
        await lasting_agent_credential(issuer, did, ["orders:read", "orders:write"])
    )
    return wallet


async def test_the_fastapi_example(tmp_path: Path) -> None:
    issuer = Party()
    wallet = await _wallet(tmp_path / "agent.wallet", issuer)
    app = _example("api_fastapi").create_app([issuer.did], "https://api.example")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://api.example", auth=WalletAuth(wallet)
    ) as client:
        response = await client.get("/orders")
        assert response.status_code == 200 and response.json()["scopes"] == ["orders:read", "orders:write"]
        assert (await client.post("/orders", content=b"hello")).json()["received"] == 5
    async with httpx.AsyncClient(transport=transport, base_url="https://api.example") as bare:
        assert (await bare.get("/orders")).status_code == 401
        assert (await bare.get("/health")).status_code == 200
    await wallet.close()


def test_the_flask_example(tmp_path: Path) -> None:
    issuer = Party()
    runner = LoopThread("agent")
    wallet = runner.run(_wallet(tmp_path / "agent.wallet", issuer))
    app = _example("api_flask").create_app([issuer.did], "http://localhost")
    client = app.test_client()
    header = runner.run(wallet.request_headers("GET", "http://localhost/orders"))
    response = client.get("/orders", headers=header)
    assert response.status_code == 200 and response.get_json()["agent"] == runner.run(wallet.default_did())
    assert client.get("/orders").status_code == 401
    runner.run(wallet.close())
    runner.close()
