"""The three users' journeys as they meet them: CLI processes and real HTTP over loopback."""

from __future__ import annotations

import sys
import time

from tests.e2e.conftest import ROOT, Processes, call, free_port

STATUS_TTL = 1.2  # the issuer is created with a 1 s status ttl; wait a little longer


def _present(procs: Processes, method: str, url: str) -> str:
    return procs.didvc("wallet", "present", "--method", method, "--url", url).stdout.strip()


def test_operator_agent_and_api(procs: Processes) -> None:
    issuer_port, api_port, wsgi_port = free_port(), free_port(), free_port()
    # the operator: a did:web issuer, served
    init = procs.start_loopback_issuer(issuer_port)
    # the agent: a wallet, a DID, and the credential the operator issues to it
    agent = procs.json("wallet", "--json", "init")["did"]
    issued = procs.json(
        "issuer", "--json", "issue", agent, "--scope", "orders:read", "--owner", "Acme", "--out", "vc.json"
    )
    credential_id = issued["credential"]["id"]
    stored = procs.json("wallet", "--json", "--allow-loopback", "import", "vc.json")
    assert stored["issuer"] == init["did"] and stored["warnings"] == []
    # the API: the aiohttp example behind the middleware, and the plain WSGI example
    api = f"http://127.0.0.1:{api_port}"
    procs.serve(
        [
            sys.executable,
            str(ROOT / "examples/api_aiohttp.py"),
            "--port",
            str(api_port),
            "--audience",
            api,
            "--trust",
            init["did"],
            "--allow-loopback",
        ],
        api_port,
    )
    wsgi = f"http://127.0.0.1:{wsgi_port}"
    procs.serve(
        [
            sys.executable,
            str(ROOT / "examples/api_plain_wsgi.py"),
            "--port",
            str(wsgi_port),
            "--audience",
            wsgi,
            "--trust",
            init["did"],
            "--allow-loopback",
        ],
        wsgi_port,
    )

    header = _present(procs, "GET", f"{api}/orders")
    assert call(f"{api}/orders", header)[:2] == (200, "")
    assert call(f"{api}/orders", header)[:2] == (401, "REPLAY_DETECTED_ERROR")
    other = _present(procs, "GET", f"{api}/other")
    assert call(f"{api}/orders", other)[:2] == (401, "REQUEST_BINDING_ERROR")
    admin = _present(procs, "POST", f"{api}/admin/reset")
    assert call(f"{api}/admin/reset", admin, "POST")[:2] == (403, "INSUFFICIENT_SCOPE_ERROR")
    assert call(f"{wsgi}/orders", _present(procs, "GET", f"{wsgi}/orders"))[0] == 200

    client = procs.example("agent_client.py", "--allow-loopback", "GET", f"{api}/orders")
    assert client.returncode == 0, client.stdout + client.stderr

    token = _present(procs, "GET", f"{api}/orders").removeprefix("Authorization: VP ")
    (procs.workdir / "token.txt").write_text(token)
    verified = procs.didvc(
        "verify",
        "token.txt",
        "--audience",
        api,
        "--method",
        "GET",
        "--url",
        f"{api}/orders",
        "--trust",
        init["did"],
        "--allow-loopback",
        "--json",
    )
    assert '"verified": true' in verified.stdout

    for action, expected in (
        ("suspend", (401, "CREDENTIAL_SUSPENDED_ERROR")),
        ("reinstate", (200, "")),
        ("revoke", (401, "CREDENTIAL_REVOKED_ERROR")),
    ):
        procs.didvc("issuer", action, credential_id)
        time.sleep(STATUS_TTL)
        assert call(f"{api}/orders", _present(procs, "GET", f"{api}/orders"))[:2] == expected, action
    listed = procs.json("issuer", "--json", "list", "--agent", agent)
    assert [e["status"] for e in listed] == ["revoked"]
    failed = procs.example("agent_client.py", "--allow-loopback", "GET", f"{api}/orders")
    assert failed.returncode == 1 and "CREDENTIAL_REVOKED_ERROR" in failed.stdout


def test_failure_paths(procs: Processes) -> None:
    assert procs.didvc("issuer", "list", check=False).returncode == 1  # no store yet
    procs.didvc("issuer", "init", "--base-url", "https://status.example")
    assert (
        "already" in procs.didvc("issuer", "init", "--base-url", "https://status.example", check=False).stderr
    )
    wrong = procs.didvc("issuer", "list", check=False, env={"DIDVC_ISSUER_PASSPHRASE": "wrong"})
    assert wrong.returncode == 1 and "WRONG_PASSPHRASE_ERROR" in wrong.stderr
    agent = procs.json("wallet", "--json", "init")["did"]
    issued = procs.json("issuer", "--json", "issue", agent, "--scope", "a", "--out", "vc.json")
    # a credential for someone else, and a tampered one, are refused by the wallet
    (procs.workdir / "other.json").write_text(
        (procs.workdir / "vc.json")
        .read_text()
        .replace(agent, "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
    )
    refused = procs.didvc("wallet", "import", "other.json", check=False)
    assert refused.returncode == 1
    (procs.workdir / "tampered.json").write_text(
        (procs.workdir / "vc.json").read_text().replace('"a"', '"admin"')
    )
    tampered = procs.didvc("wallet", "--json", "import", "tampered.json", check=False)
    assert tampered.returncode == 1 and "PROOF_VERIFICATION_ERROR" in tampered.stdout
    # revoking twice and reinstating a revoked credential are clear errors
    procs.didvc("issuer", "revoke", issued["credential"]["id"])
    assert (
        "STATUS_CHANGE_ERROR"
        in procs.didvc("issuer", "revoke", issued["credential"]["id"], check=False).stderr
    )
    assert (
        "STATUS_CHANGE_ERROR"
        in procs.didvc("issuer", "reinstate", issued["credential"]["id"], check=False).stderr
    )
    # a header checked against another request fails, with a non-zero exit status
    procs.didvc("wallet", "import", "vc.json")  # its status list cannot be reached: kept, with a warning
    token = procs.didvc(
        "wallet", "present", "--method", "GET", "--url", "https://api.example/a"
    ).stdout.split("VP ", 1)[1]
    (procs.workdir / "t.txt").write_text(token)
    mismatch = procs.didvc(
        "verify",
        "t.txt",
        "--audience",
        "https://api.example",
        "--method",
        "GET",
        "--url",
        "https://api.example/b",
        "--trust",
        issued["credential"]["issuer"],
        check=False,
    )
    assert mismatch.returncode == 1 and "REQUEST_BINDING_ERROR" in mismatch.stdout
