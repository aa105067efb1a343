"""The issuer on PostgreSQL (real server): shared lists, many processes, no duplicate index.

Skipped with a reason when no server is reachable, unless DIDVC_REQUIRE_SERVICES is set (as in
CI, which installs and starts PostgreSQL), where a missing server fails the run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from issuer import Issuer, KdfParams, StoreConflictError, StoreUnavailableError, WrongPassphraseError
from tests.helpers import Party

ADMIN_URL = os.environ.get("DIDVC_POSTGRES_URL", "postgresql://didvc:didvc@127.0.0.1:5432/didvc")
FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)


@pytest.fixture
async def database() -> AsyncIterator[str]:
    asyncpg = pytest.importorskip("asyncpg")
    try:
        admin = await asyncpg.connect(ADMIN_URL, timeout=3)
    except Exception as exc:
        message = f"no PostgreSQL server reachable at {ADMIN_URL.split('@')[-1]} ({type(exc).__name__})"
        if os.environ.get("DIDVC_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    name = f"didvc_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_lifecycle_on_postgresql(database: str) -> None:
    issuer = await Issuer.create(database, passphrase="pw", kdf=FAST, base_url="https://status.example")
    agent = Party()
    vc = await issuer.issue(agent.did, claims={"scope": ["a"], "owner": "Acme"})
    assert isinstance(vc, dict)
    await issuer.suspend(vc["id"])
    await issuer.reinstate(vc["id"])
    await issuer.revoke(vc["id"])
    assert [e.status for e in await issuer.inventory(agent=agent.did)] == ["revoked"]
    document = await issuer.status_list_credential(1)
    from didvc.status import StatusList

    bits = StatusList.decode(document["credentialSubject"]["encodedList"])
    assert bits.get(int(vc["credentialStatus"][0]["statusListIndex"])) == 1
    await issuer.close()
    with pytest.raises(WrongPassphraseError):
        await Issuer.open(database, passphrase="wrong")
    reopened = await Issuer.open(database, passphrase="pw")
    assert reopened.did == issuer.did
    await reopened.close()


async def test_an_id_issued_before_is_a_conflict_and_groups_go_on(database: str) -> None:
    """A credential id written twice is STORE_CONFLICT_ERROR (not asyncpg's own error), the
    transaction is rolled back, and in groups back to back only that request fails."""
    issuer = await Issuer.create(database, passphrase="pw", kdf=FAST, base_url="https://status.example")
    taken = await issuer.issue(Party().did, credential_id="urn:example:taken")
    with pytest.raises(StoreConflictError, match="urn:example:taken"):
        await issuer.issue(Party().did, credential_id="urn:example:taken")
    issuer.start_worker()
    for _ in range(200):
        if issuer._worker is not None and issuer._worker.ready:
            break
        await asyncio.sleep(0.05)
    groups = [[issuer.request(f"did:example:g{n}-{m}") for m in range(3)] for n in range(3)]
    groups[2].append(issuer.request("did:example:again", credential_id="urn:example:taken"))
    outcomes = [outcome async for outcome in issuer.issue_groups(groups)]
    assert [type(o).__name__ for o in outcomes[2]] == ["dict", "dict", "dict", "StoreConflictError"]
    assert sum(isinstance(o, dict) for group in outcomes for o in group) == 9
    assert await issuer.credential("urn:example:taken") == taken
    assert len(await issuer.inventory()) == 10
    await issuer.close()


async def test_a_thousand_concurrent_issues_on_postgresql(database: str) -> None:
    issuer = await Issuer.create(database, passphrase="pw", kdf=FAST, base_url="https://status.example")
    credentials = await asyncio.gather(*(issuer.issue(f"did:example:agent-{i}") for i in range(1000)))
    entries = {
        (s["statusListCredential"], s["statusListIndex"])
        for vc in credentials
        for s in vc["credentialStatus"]
    }  # type: ignore[index]
    assert len(entries) == 2000
    assert (await issuer.verify_audit_log()).seq == 1001  # type: ignore[union-attr]
    seen, after = [], None
    while page := await issuer.inventory(limit=300, after=after):  # pages in the store, on indexes
        seen += [e.id for e in page]
        after = page[-1].cursor
    assert len(seen) == len(set(seen)) == 1000
    assert await issuer.inventory_counts() == {"active": 1000, "suspended": 0, "revoked": 0, "expired": 0}
    await issuer.close()


WORKER = """
import asyncio, sys
sys.path.insert(0, {root!r})
from issuer import Issuer
async def main():
    async with await Issuer.open({url!r}, passphrase="pw") as issuer:
        await asyncio.gather(*(issuer.issue("did:example:w{worker}-" + str(i)) for i in range({count})))
asyncio.run(main())
"""


async def test_several_issuer_processes_share_lists(database: str) -> None:
    issuer = await Issuer.create(database, passphrase="pw", kdf=FAST, base_url="https://status.example")
    await issuer.close()
    root = str(Path(__file__).resolve().parents[2])
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER.format(root=root, url=database, worker=w, count=150)])
        for w in range(4)
    ]
    assert [await asyncio.to_thread(w.wait, 300) for w in workers] == [0, 0, 0, 0]
    import asyncpg

    connection = await asyncpg.connect(database)
    try:
        assert await connection.fetchval("SELECT COUNT(*) FROM credentials") == 600
        assert await connection.fetchval("SELECT COUNT(*) FROM status_entries") == 1200
        assert await connection.fetchval("SELECT COUNT(DISTINCT (list_id, idx)) FROM status_entries") == 1200
        assert await connection.fetchval("SELECT COUNT(*) FROM status_lists") == 2  # one per purpose, shared
    finally:
        await connection.close()
    async with await Issuer.open(database, passphrase="pw") as issuer:  # four writers, one chain
        head = await issuer.verify_audit_log()
        assert head is not None and head.seq == 601


async def test_unreachable_server_is_a_clear_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreUnavailableError) as info:
        await Issuer.open(f"postgresql://didvc:secret-pw@127.0.0.1:{port}/nothing", passphrase="pw")
    assert info.value.code == "STORE_UNAVAILABLE_ERROR"
    assert "secret-pw" not in str(info.value)


async def test_cli_with_a_postgresql_store(database: str, tmp_path: Path) -> None:
    import json

    env = {**os.environ, "DIDVC_ISSUER_STORE": database, "DIDVC_ISSUER_PASSPHRASE": "pw"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "didvc_cli", "issuer", "--json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    init = await asyncio.to_thread(cli, "init", "--base-url", "https://status.example")
    assert init.returncode == 0, init.stderr
    issued = await asyncio.to_thread(cli, "issue", Party().did, "--scope", "a")
    assert issued.returncode == 0, issued.stderr
    listed = await asyncio.to_thread(cli, "list")
    assert [e["status"] for e in json.loads(listed.stdout)] == ["active"]
    assert "didvc:didvc" not in init.stdout + issued.stdout + listed.stdout


async def test_served_list_follows_changes_and_old_stores_are_upgraded(database: str) -> None:
    import asyncpg

    issuer = await Issuer.create(database, passphrase="pw", kdf=FAST, base_url="https://status.example")
    vc = await issuer.issue(Party().did)
    assert isinstance(vc, dict)
    first = await issuer.served_status_list(1)
    assert await issuer.served_status_list(1) is first  # unchanged: not signed again
    await issuer.close()

    connection = await asyncpg.connect(database)
    try:  # a store made before lists had versions
        await connection.execute("ALTER TABLE status_lists DROP COLUMN version")
    finally:
        await connection.close()
    operator = await Issuer.open(database, passphrase="pw")
    await operator.revoke(vc["id"])
    await operator.close()
    served = await Issuer.open(database, passphrase="pw")
    try:
        from didvc.status import StatusList

        document = await served.served_status_list(1)
        index = int(vc["credentialStatus"][0]["statusListIndex"])
        assert StatusList.decode(document["credentialSubject"]["encodedList"]).get(index) == 1
        assert (await served.store.query("SELECT version FROM status_lists WHERE id = 1"))[0][0] == 1
    finally:
        await served.close()
