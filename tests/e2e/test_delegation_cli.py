"""The delegation journey through the command line, as processes on loopback: an operator's
issuer, a person's wallet delegating to an agent's, the agent presenting the chain, anyone
verifying it, the operator revoking the link."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.e2e.services import free_port as _free_port

API = "https://api.example"


def _didvc(tmp: Path, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "DIDVC_ISSUER_PASSPHRASE": "operator", "DIDVC_WALLET_PASSPHRASE": "wallet"}
    done = subprocess.run(
        [sys.executable, "-m", "didvc_cli", *args],
        cwd=tmp,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def _json(tmp: Path, *args: str) -> Any:
    return json.loads(_didvc(tmp, *args))


def test_a_person_delegates_to_an_agent_and_revokes_it(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    issuer = _json(tmp_path, "issuer", "--json", "init", "--base-url", base, "--status-ttl", "1s")["did"]
    server = subprocess.Popen(
        [sys.executable, "-m", "didvc_cli", "issuer", "serve", "--port", str(port)],
        cwd=tmp_path,
        env={**os.environ, "DIDVC_ISSUER_PASSPHRASE": "operator"},
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if subprocess.run(["curl", "-s", "-o", "/dev/null", f"{base}/openapi.json"]).returncode == 0:
                break
            time.sleep(0.1)
        person = _json(tmp_path, "wallet", "--wallet", "person.wallet", "--json", "init")["did"]
        agent = _json(tmp_path, "wallet", "--json", "init")["did"]
        _didvc(
            tmp_path,
            "issuer",
            "issue",
            agent,
            "--scope",
            "orders:read",
            "--scope",
            "orders:write",
            "--out",
            "vc.json",
        )
        _didvc(tmp_path, "wallet", "import", "vc.json", "--allow-loopback")

        registered = _json(
            tmp_path, "issuer", "--json", "register-delegation", person, "--out", "registration.json"
        )
        made = _json(
            tmp_path,
            "wallet",
            "--wallet",
            "person.wallet",
            "--json",
            "delegate",
            agent,
            "--scope",
            "orders:read",
            "--audience",
            API,
            "--valid-for",
            "2h",
            "--registration",
            "registration.json",
            "--out",
            "chain.json",
        )
        assert made["id"] == registered["id"] and made["scopes"] == ["orders:read"]
        _didvc(tmp_path, "wallet", "import", "chain.json", "--allow-loopback")
        listed = _json(tmp_path, "issuer", "--json", "list")
        assert any(e["id"] == registered["id"] and "DelegationCredential" in e["types"] for e in listed)
        assert (
            _didvc(tmp_path, "issuer", "export", "--agent", person) == ""
        )  # a registration is no credential

        def call() -> Any:
            header = _didvc(
                tmp_path,
                "wallet",
                "present",
                "--method",
                "GET",
                "--url",
                f"{API}/orders",
                "--scope",
                "orders:read",
            )
            verify = ["verify", "-", "--audience", API, "--method", "GET", "--url", f"{API}/orders"]
            trust = ["--trust", issuer, "--trust-principal", person, "--allow-loopback", "--json"]
            done = subprocess.run(
                [sys.executable, "-m", "didvc_cli", *verify, *trust],
                cwd=tmp_path,
                input=header,
                capture_output=True,
                text=True,
                timeout=60,
            )
            return json.loads(done.stdout)

        result = call()
        assert result["verified"], result["problems"]
        assert (result["principal"], result["scopes"]) == (person, ["orders:read"])
        assert result["delegation"] == [registered["id"]]
        _didvc(tmp_path, "issuer", "revoke", registered["id"])
        revoked = call()
        assert [p["code"] for p in revoked["problems"]] == ["CREDENTIAL_REVOKED_ERROR"]
    finally:
        server.terminate()
        server.wait(timeout=10)
