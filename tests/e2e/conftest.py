"""Helpers for the end-to-end journeys: the CLI and the examples as real processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """Runs commands; background servers are stopped when the test ends."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.servers: list[subprocess.Popen[bytes]] = []

    def didvc(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "didvc_cli", *args],
            cwd=self.workdir,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"didvc {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.didvc(*args).stdout)

    def example(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "examples" / name), *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def serve(self, args: list[str], port: int, path: str = "/") -> None:
        log = open(self.workdir / f"server-{port}.log", "wb")  # noqa: SIM115 - kept open for the process
        process = subprocess.Popen(args, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.servers.append(process)
        deadline = time.time() + 60
        while time.time() < deadline:
            if process.poll() is not None:
                raise AssertionError(
                    f"server on {port} exited:\n{(self.workdir / f'server-{port}.log').read_text()}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"server on {port} did not start")

    def start_loopback_issuer(self, port: int) -> dict[str, Any]:
        """``issuer init`` as did:web on 127.0.0.1:port (1 s status ttl), then ``issuer serve``."""
        init = self.json(
            "issuer",
            "--json",
            "init",
            "--did-web",
            f"127.0.0.1:{port}",
            "--base-url",
            f"http://127.0.0.1:{port}",
            "--status-ttl",
            "1s",
        )
        self.serve([sys.executable, "-m", "didvc_cli", "issuer", "serve", "--port", str(port)], port)
        return dict(init)

    def start_api(self, port: int, issuer: str, *extra: str, audience: str = "https://api.example") -> None:
        """``examples/api_aiohttp.py`` on ``port`` behind the public origin ``audience``,
        trusting the DID ``issuer`` (loopback allowed), with ``extra`` options."""
        api = [sys.executable, str(ROOT / "examples/api_aiohttp.py"), "--port", str(port)]
        api += ["--audience", audience, "--public-url", audience, "--trust", issuer, "--allow-loopback"]
        self.serve([*api, *extra], port)

    def stop(self) -> None:
        for process in self.servers:
            process.terminate()
        for process in self.servers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DIDVC_ISSUER_STORE": str(tmp_path / "issuer.db"),
        "DIDVC_ISSUER_PASSPHRASE": "operator-secret",
        "DIDVC_WALLET": str(tmp_path / "agent.wallet"),
        "DIDVC_WALLET_PASSPHRASE": "agent-secret",
    }
    running = Processes(tmp_path, env)
    yield running
    running.stop()


def call(url: str, header: str, method: str = "GET") -> tuple[int, str, dict[str, Any]]:
    """Send one request with a ``Name: value`` header line; (status, first problem code, body)."""
    import asyncio

    import aiohttp

    name, _, value = header.partition(": ")

    async def go() -> tuple[int, str, dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, url, headers={name: value}) as response,
        ):
            body = await response.json(content_type=None)
            code = body["problems"][0]["code"] if response.status >= 400 else ""
            return response.status, code, body

    return asyncio.run(go())
