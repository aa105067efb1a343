"""compose.yaml's services run as written: no Docker engine here, so the issuer's and the API's
commands and environments are taken from the file and run as processes on this machine (the
stack uses the host's network, so they see what they would see in their containers), against
the test PostgreSQL (a new database) and Redis. An agent then calls the API, as the file's
header says, and the issuer survives a restart without creating a new identity."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.services import REDIS_URL, new_database
from tests.e2e.services import free_port as _free_port

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "compose operator passphrase"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def test_the_stack_names_its_four_services_on_the_host_network() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "issuer", "api"}
    assert {s["network_mode"] for s in services.values()} == {"host"}
    assert "--allow-loopback" in services["api"]["command"]  # the development mode, said aloud
    assert "${DIDVC_ISSUER_PASSPHRASE:?" in services["issuer"]["environment"]["DIDVC_ISSUER_PASSPHRASE"]


@pytest.fixture
def database() -> Iterator[str]:
    yield from new_database("didvc_compose", "compose.yaml")


class _Stack:
    """The file's services as processes, its names mapped onto this machine's."""

    def __init__(self, database: str, tmp_path: Path) -> None:
        self.issuer_port, self.api_port = _free_port(), _free_port()
        self.database, self.tmp = database, tmp_path
        self.bin = Path(sys.executable).parent
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def map(self, text: str) -> str:
        text = re.sub(r"postgresql://\S+@127\.0\.0\.1:5432/didvc", self.database, text)
        text = text.replace("redis://127.0.0.1:6379/0", REDIS_URL)
        return text.replace("8080", str(self.issuer_port)).replace("8081", str(self.api_port))

    def env(self, service: dict[str, Any]) -> dict[str, str]:
        given = {k: self.map(str(v)) for k, v in service.get("environment", {}).items()}
        given = {k: PASSPHRASE if v.startswith("${DIDVC_ISSUER_PASSPHRASE") else v for k, v in given.items()}
        return {**os.environ, "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}", **given}

    def start(self, name: str, port: int) -> None:
        service = _compose()["services"][name]
        command = [self.map(part) for part in service["command"]]
        if command[0] == "python":
            command[0] = sys.executable
        log = (self.tmp / f"{name}.log").open("wb")
        self.running[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env(service), stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/"]).returncode:
            assert self.running[name].poll() is None, (self.tmp / f"{name}.log").read_text()
            assert time.monotonic() < deadline, f"{name} never answered"
            time.sleep(0.1)

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        process.terminate()
        process.wait(timeout=10)

    def didvc(self, *args: str, service: str = "issuer") -> str:
        """A command as ``docker compose exec SERVICE didvc ...`` runs it (or the agent's, in tmp)."""
        env = self.env(_compose()["services"][service]) if service else {**os.environ}
        env["DIDVC_WALLET_PASSPHRASE"] = "agent passphrase"
        command = [str(self.bin / "didvc"), *args]
        done = subprocess.run(command, cwd=self.tmp, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout


def test_an_agent_calls_the_api_of_the_stack_and_the_issuer_restarts_as_itself(
    database: str, tmp_path: Path
) -> None:
    stack = _Stack(database, tmp_path)
    try:
        stack.start("issuer", stack.issuer_port)
        stack.start("api", stack.api_port)
        agent = json.loads(stack.didvc("wallet", "--json", "init", service=""))["did"]
        stack.didvc("issuer", "issue", agent, "--scope", "orders:read", "--out", str(tmp_path / "vc.json"))
        stack.didvc("wallet", "--allow-loopback", "import", "vc.json", service="")

        def call() -> str:
            url = f"http://127.0.0.1:{stack.api_port}/orders"
            header = stack.didvc("wallet", "present", "--method", "GET", "--url", url, service="").strip()
            done = subprocess.run(["curl", "-sf", "-H", header, url], capture_output=True, text=True)
            assert done.returncode == 0, done
            return done.stdout

        assert '"scopes": ["orders:read"]' in call()
        identity = stack.didvc("issuer", "--json", "list")
        stack.stop("issuer")
        stack.start("issuer", stack.issuer_port)  # the same command: it must not make a new issuer
        assert stack.didvc("issuer", "--json", "list") == identity
        assert '"scopes": ["orders:read"]' in call()
    finally:
        for name in list(stack.running):
            stack.stop(name)
