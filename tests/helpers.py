"""Real keys, real DIDs and real signatures for tests: no mocks."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from didvc.credentials import CREDENTIALS_V2
from didvc.keys import KeyPair, KeySigner, KeyType
from didvc.proofs import add_proof
from didvc.proofs.purposes import ProofPurpose
from resolvers import did_key_from_public_key

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

#: Hostile Authorization headers every web integration answers 401 with a problem, never a 500.
HOSTILE_HEADERS = {
    "empty": "VP ",
    "garbage": "VP garbage",
    "wrong scheme": "Bearer abc.def.ghi",
    "oversized": "VP " + "A" * 70_000,
    "deep json": "VP W1tbW1tbW1tb" + "W1tb" * 10_000,
    "alg none": "VP eyJhbGciOiJub25lIiwidHlwIjoidnArand0In0.e30.",
    "jwe": "VP a.b.c.d.e",
}


class Party:
    """Someone with a did:key: an issuer, an agent, an attacker."""

    def __init__(self, key_type: KeyType = KeyType.ED25519) -> None:
        self.pair = KeyPair.generate(key_type)
        self.did = did_key_from_public_key(self.pair.public_key)
        self.key_id = f"{self.did}#{self.did.removeprefix('did:key:')}"
        self.signer = KeySigner(self.pair, self.key_id)


def trusting(*issuers: Party | str, **settings: Any) -> Any:
    """A verifier policy that trusts exactly these issuers, for any credential type."""
    from verifier import Policy

    dids = frozenset(i if isinstance(i, str) else i.did for i in issuers)
    return Policy(trusted_issuers={"*": dids} if dids else {}, **settings)


def credential(issuer: Party, subject: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@context": [CREDENTIALS_V2],
        "id": "urn:uuid:6a1b2d8e-1111-4c8e-9a6e-0d1d4b8a1f00",
        "type": ["VerifiableCredential"],
        "issuer": issuer.did,
        "validFrom": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validUntil": (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "name": "Agent credential",
        "credentialSubject": {"id": subject, "name": "Agent 7"},
    }
    body.update(extra)
    return body


async def signed(
    document: dict[str, Any],
    issuer: Party,
    *,
    cryptosuite: str = "eddsa-rdfc-2022",
    purpose: ProofPurpose | None = None,
    signer: KeySigner | None = None,
) -> dict[str, Any]:
    return await add_proof(
        copy.deepcopy(document),
        signer or issuer.signer,
        cryptosuite=cryptosuite,
        purpose=purpose,
        created=NOW,
    )


AGENT_CONTEXT = "https://w3id.org/didvc/agent/v1"


def agent_credential(issuer: Party, agent: str, scopes: list[str], **extra: Any) -> dict[str, Any]:
    """An AgentCredential with scopes, as the issuer component issues them."""
    body = credential(issuer, agent, **extra)
    body["@context"] = [CREDENTIALS_V2, AGENT_CONTEXT]
    body["type"] = ["VerifiableCredential", "AgentCredential"]
    body["credentialSubject"] = {"id": agent, "agentName": "agent-7", "owner": "Acme", "scope": scopes}
    return body


async def lasting_agent_credential(
    issuer: Party, agent: str, scopes: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A signed AgentCredential valid from 2026 to 2099, for code that reads the real clock."""
    body = agent_credential(
        issuer,
        agent,
        scopes or ["orders:read"],
        validFrom="2026-01-01T00:00:00Z",
        validUntil="2099-01-01T00:00:00Z",
        **extra,
    )
    return await signed(body, issuer)


def presentation(holder: Party, credentials: list[Any]) -> dict[str, Any]:
    from didvc.credentials import make_presentation

    return make_presentation(holder.did, credentials)


async def request_token(
    holder: Party,
    credentials: list[Any],
    *,
    audience: str = "https://api.example",
    method: str = "GET",
    url: str = "https://api.example/orders",
    body: bytes | None = None,
    nonce: str | None = None,
    lifetime: int = 60,
    now: datetime = NOW,
    signer: KeySigner | None = None,
) -> str:
    from didvc.request import sign_request_token

    return await sign_request_token(
        presentation(holder, credentials),
        signer or holder.signer,
        audience=audience,
        method=method,
        url=url,
        body=body,
        nonce=nonce,
        lifetime=lifetime,
        now=now.timestamp(),
    )


def in_fresh_python(code: str) -> str:
    """What ``code`` prints, run by a new interpreter (what a fresh process has loaded)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def run_cli(group: str, location: tuple[str, Path], passphrase_file: Path, *args: str) -> tuple[int, str]:
    """``didvc <group> <option> <path> --passphrase-file F --json ARGS`` through click's runner."""
    from click.testing import CliRunner

    from didvc_cli import main

    option, path = location
    arguments = [group, option, str(path), "--passphrase-file", str(passphrase_file), "--json", *args]
    result = CliRunner().invoke(main, arguments)
    return result.exit_code, result.output


@contextlib.asynccontextmanager
async def issuer_site(
    tmp_path: Path, *, key_type: str = "Ed25519", **app_options: Any
) -> AsyncIterator[tuple[Any, Any]]:
    """A did:web issuer (store ``tmp_path/issuer.db``, passphrase "pw") served by ``create_app``
    on a free loopback port, as ``didvc issuer serve`` would: (issuer, server)."""
    import socket

    from aiohttp.test_utils import TestServer

    from issuer import Issuer, KdfParams, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    issuer = await Issuer.create(
        tmp_path / "issuer.db",
        passphrase="pw",
        kdf=KdfParams.new(memory_kib=8192, iterations=1, lanes=1),
        did_web=f"127.0.0.1:{port}",
        base_url=f"http://127.0.0.1:{port}",
        key_type=key_type,
    )
    server = TestServer(create_app(issuer, **app_options), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield issuer, server
    finally:
        await server.close()
        await issuer.close()
