"""The issuer with real SQLite, real signatures, and its web app on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from didvc.errors import DataLossDetectionError, DidvcError, MalformedValueError
from didvc.status import StatusList
from issuer import (
    Issuer,
    IssuerError,
    KdfParams,
    StoreCorruptedError,
    StoreLockedError,
    WrongPassphraseError,
)
from tests.helpers import NOW, Party, issuer_site, trusting
from verifier import Verifier

FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)


class Served:
    def __init__(self, issuer: Issuer, server: TestServer, path: Path) -> None:
        self.issuer = issuer
        self.server = server
        self.path = path
        self.verifier = Verifier(allow_http=True, allow_loopback=True, policy=trusting(issuer.did))

    async def verify(self, credential: Any) -> list[str]:
        self.verifier.status.clear()
        result = await self.verifier.verify_credential(credential)
        return [code for code, _ in result.problems]


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with issuer_site(tmp_path, operator_token="op-token") as (issuer, server):
        state = Served(issuer, server, tmp_path / "issuer.db")
        yield state
        await state.verifier.close()


async def test_a_group_signed_on_two_cores_is_what_one_core_signs(served: Served) -> None:
    """With the worker, a group's proofs are transformed in two processes: every credential
    verifies (status too), each has indexes of its own, a bad request fails alone, and a group
    spanning a full list continues on a new one."""
    issuer = served.issuer
    issuer.start_worker()
    for _ in range(200):  # until it has started: a group does not wait for a booting worker
        if issuer._worker is not None and issuer._worker.ready:
            break
        await asyncio.sleep(0.05)
    assert issuer._worker is not None and issuer._worker.ready
    agents = [Party().did for _ in range(9)]
    requests = [issuer.request(did, claims={"scope": ["orders:read"]}) for did in agents]
    requests.insert(4, issuer.request("not-a-did"))
    requests.append(issuer.request(Party().did, status_messages=["ok", "pending", "refused"]))
    outcomes = await issuer.issue_group(requests)
    assert isinstance(outcomes[4], DidvcError)
    issued = [o for n, o in enumerate(outcomes) if n != 4]
    assert all(isinstance(o, dict) for o in issued)
    for credential in issued:
        assert await served.verify(credential) == []
    entries = [
        (s["statusListCredential"], s["statusListIndex"]) for c in issued for s in c["credentialStatus"]
    ]  # type: ignore[index]
    assert len(entries) == len(set(entries)) == 2 * 10 + 1
    assert [c["credentialSubject"]["id"] for c in issued[:9]] == agents  # type: ignore[index]

    with sqlite3.connect(served.path) as db:  # the open lists have two entries left
        db.execute("UPDATE status_lists SET next_position = size - 2")
    spanning = await issuer.issue_group([issuer.request(Party().did) for _ in range(5)])
    lists = [c["credentialStatus"][0]["statusListCredential"] for c in spanning]  # type: ignore[index]
    assert lists[0] == lists[1] != lists[2] == lists[3] == lists[4]
    for credential in spanning:
        assert await served.verify(credential) == []


@pytest.mark.parametrize(
    "name", ["9" * 30, "99999999999", "01", "1_0", "+1", "-1", " 1", "\u0661", "1.0", "0x1", "%00"]
)
async def test_a_status_list_url_not_written_as_ours_is_404(served: Served, name: str) -> None:
    """Anyone may ask for a status list: a number past the database's integers was a 500 (an
    OverflowError); other spellings of a number served the list under a second URL."""
    await served.issuer.issue(Party().did)
    base = f"http://127.0.0.1:{served.server.port}/status/"
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "1") as ok:
            assert ok.status == 200
        async with http.get(base + name) as response:
            assert response.status == 404
            assert (await response.json())["code"] == "NOT_FOUND"


async def test_the_served_agent_context_is_the_one_didvc_context_documents(served: Served) -> None:
    """What `serve` hands out at /contexts/agent/v1 has the digest `didvc context` prints, and
    issued credentials name it as a relatedResource (VC Data Model 2.0 §5.3)."""
    import base64
    import hashlib

    from click.testing import CliRunner

    from didvc_cli import main

    url = f"http://127.0.0.1:{served.server.port}/contexts/agent/v1"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        body = await response.read()
    digest = "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()
    assert digest == json.loads(CliRunner().invoke(main, ["context", "--json"]).output)["digestSRI"]
    vc = await served.issuer.issue(Party().did)  # and every credential names it, with that digest
    assert vc["relatedResource"] == [{"id": "https://w3id.org/didvc/agent/v1", "digestSRI": digest}]  # type: ignore[index]
    assert await served.verify(vc) == []


async def test_issue_suspend_reinstate_revoke(served: Served) -> None:
    issuer, agent = served.issuer, Party()
    vc = await issuer.issue(
        agent.did, claims={"scope": ["orders:read"], "owner": "Acme", "agentName": "bot-7"}
    )
    assert isinstance(vc, dict)
    assert vc["issuer"] == issuer.did
    assert [s["statusPurpose"] for s in vc["credentialStatus"]] == ["revocation", "suspension"]
    assert await served.verify(vc) == []

    await issuer.suspend(vc["id"])
    assert await served.verify(vc) == ["CREDENTIAL_SUSPENDED_ERROR"]
    await issuer.reinstate(vc["id"])
    assert await served.verify(vc) == []
    await issuer.revoke(vc["id"])
    assert await served.verify(vc) == ["CREDENTIAL_REVOKED_ERROR"]

    from issuer import StatusChangeError, UnknownCredentialError

    with pytest.raises(StatusChangeError):
        await issuer.revoke(vc["id"])
    with pytest.raises(StatusChangeError):
        await issuer.reinstate(vc["id"])
    with pytest.raises(StatusChangeError):
        await issuer.suspend(vc["id"])
    with pytest.raises(UnknownCredentialError) as info:
        await issuer.revoke("urn:uuid:00000000-0000-4000-8000-000000000000")
    assert info.value.code == "UNKNOWN_CREDENTIAL_ERROR"


async def test_status_visible_in_the_published_list(served: Served, tmp_path: Path) -> None:
    issuer, agent = served.issuer, Party()
    vc = await issuer.issue(agent.did, claims={"scope": ["x"]})
    assert isinstance(vc, dict)
    await issuer.revoke(vc["id"])
    written = await issuer.publish(tmp_path / "site")
    revocation = vc["credentialStatus"][0]
    list_file = tmp_path / "site" / "status" / revocation["statusListCredential"].rsplit("/", 1)[1]
    assert list_file in written
    document = json.loads(list_file.read_text())
    bits = StatusList.decode(document["credentialSubject"]["encodedList"])
    assert bits.get(int(revocation["statusListIndex"])) == 1
    assert document["credentialSubject"]["ttl"] == issuer.status_ttl_ms
    assert (tmp_path / "site" / ".well-known" / "did.json").exists()


async def test_served_documents_and_cache_headers(served: Served) -> None:
    issuer = served.issuer
    await issuer.issue(Party().did)
    base = f"http://127.0.0.1:{served.server.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/.well-known/did.json") as response:
            assert (await response.json(content_type=None))["id"] == issuer.did
        async with http.get(f"{base}/status/1") as response:
            assert response.headers["Cache-Control"] == f"public, max-age={issuer.status_ttl_ms // 1000}"
            assert response.content_type == "application/vc+ld+json"
        async with http.get(f"{base}/status/999") as response:
            assert response.status == 404
        async with http.get(f"{base}/contexts/agent/v1") as response:
            assert "scope" in (await response.json(content_type=None))["@context"]


async def test_served_list_is_signed_again_only_when_it_changes(served: Served, tmp_path: Path) -> None:
    issuer = served.issuer
    vc = await issuer.issue(Party().did)
    assert isinstance(vc, dict)
    entry = vc["credentialStatus"][0]
    url = entry["statusListCredential"]

    async def fetch() -> dict[str, Any]:
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200
            return dict(await response.json(content_type=None))

    ticks = itertools.count()
    issuer.clock = lambda: NOW + timedelta(seconds=next(ticks))  # every signature is dated anew
    first = await fetch()
    assert (await fetch())["proof"] == first["proof"]  # unchanged: the same signed document
    operator = await Issuer.open(tmp_path / "issuer.db", passphrase="pw")  # e.g. the CLI, meanwhile
    try:
        await operator.revoke(vc["id"])
    finally:
        await operator.close()
    changed = await fetch()
    assert changed["proof"] != first["proof"]
    assert (
        StatusList.decode(changed["credentialSubject"]["encodedList"]).get(int(entry["statusListIndex"])) == 1
    )
    assert await served.verify(vc) == ["CREDENTIAL_REVOKED_ERROR"]
    issuer.status_ttl_ms = 0  # a signature older than the ttl is renewed even when nothing changed
    assert (await fetch())["proof"] != changed["proof"]


async def test_key_rotated_by_another_process_signs_at_once(served: Served, tmp_path: Path) -> None:
    """`serve` keeps running while an operator rotates and retires keys from the CLI."""
    issuer = served.issuer
    vc = await issuer.issue(Party().did)
    assert isinstance(vc, dict)
    url = vc["credentialStatus"][0]["statusListCredential"]
    old_key = (await issuer.signer()).key_id
    operator = await Issuer.open(tmp_path / "issuer.db", passphrase="pw")
    try:
        new_key = await operator.rotate_key()
        await operator.retire_key(old_key)
    finally:
        await operator.close()
    fresh = await issuer.issue(Party().did)
    assert isinstance(fresh, dict) and fresh["proof"]["verificationMethod"] == new_key
    assert await served.verify(fresh) == []
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        status_list = await response.json(content_type=None)
    assert status_list["proof"]["verificationMethod"] == new_key  # not the retired key's old copy
    assert await served.verify(vc) == ["INVALID_VERIFICATION_METHOD"]  # its issuing key is retired


async def test_status_lists_keep_the_previous_key_for_the_did_document_max_age(served: Served) -> None:
    """Lists every verifier checks stay verifiable with the DID document it cached before the
    rotation; credentials use the new key at once (verifiers resolve once more for it)."""
    issuer = served.issuer
    vc = await issuer.issue(Party().did)
    assert isinstance(vc, dict)
    url = vc["credentialStatus"][0]["statusListCredential"]
    old_key = (await issuer.signer()).key_id
    base = f"http://127.0.0.1:{served.server.port}"

    async def served_list() -> dict[str, Any]:
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            return dict(await response.json(content_type=None))

    async with aiohttp.ClientSession() as http, http.get(f"{base}/.well-known/did.json") as response:
        assert response.headers["Cache-Control"] == "public, max-age=300"
    assert issuer.did_document_max_age == 300
    assert await served.verify(vc) == []  # the verifier now holds the document with key-1 only
    new_key = await issuer.rotate_key()
    assert (await issuer.signer()).key_id == new_key
    switch = await issuer.lists_switch_at()
    assert switch is not None and 299 < (switch - datetime.now(UTC)).total_seconds() <= 300
    await issuer.revoke(vc["id"])  # signed anew, still by the key every cached document has
    assert (await served_list())["proof"]["verificationMethod"] == old_key
    fresh = await issuer.issue(Party().did)
    assert isinstance(fresh, dict) and fresh["proof"]["verificationMethod"] == new_key
    result = await served.verifier.verify_credential(fresh)  # key-2 is not in its cached document
    assert result.verified, result.problems
    issuer.did_document_max_age = 0  # the grace is over: lists switch to the active key
    assert await issuer.lists_switch_at() is None
    await issuer.suspend(fresh["id"])
    assert (await served_list())["proof"]["verificationMethod"] == new_key
    issuer.did_document_max_age = 300
    await issuer.retire_key(old_key)  # a retired key never signs, grace or not
    await issuer.reinstate(fresh["id"])
    assert (await served_list())["proof"]["verificationMethod"] == new_key


async def test_store_from_before_list_versions_is_upgraded_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    issuer = await Issuer.create(path, passphrase="pw", kdf=FAST, base_url="https://status.example")
    vc = await issuer.issue(Party().did)
    assert isinstance(vc, dict)
    await issuer.close()
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE status_lists DROP COLUMN version")
    reopened = await Issuer.open(path, passphrase="pw")
    try:
        await reopened.suspend(vc["id"])
        rows = await reopened.store.query("SELECT id, purpose, version FROM status_lists ORDER BY id")
        assert [(purpose, version) for _, purpose, version in rows] == [("revocation", 0), ("suspension", 1)]
        listed = await reopened.served_status_list(rows[1][0])
        index = int(vc["credentialStatus"][1]["statusListIndex"])
        assert StatusList.decode(listed["credentialSubject"]["encodedList"]).get(index) == 1
    finally:
        await reopened.close()


async def test_claims_outside_any_context_are_refused(served: Served) -> None:
    with pytest.raises(DataLossDetectionError):
        await served.issuer.issue(Party().did, claims={"isAdmin": True})
    with pytest.raises(DataLossDetectionError):
        await served.issuer.issue(Party().did, types=["SuperUser"])


@pytest.mark.parametrize("value", [[["a"]], ["a", 5], {"a": 1}, 5, [""], None, True])
async def test_a_scope_or_audience_that_is_no_list_of_strings_is_refused(served: Served, value: Any) -> None:
    """Verifiers read scopes and audiences as strings; nested lists, numbers or objects would
    be issued and then grant nothing. A string or a list of strings is taken."""
    for name in ("scope", "audience"):
        with pytest.raises(MalformedValueError, match=name):
            await served.issuer.issue(Party().did, claims={name: value})
    assert await served.issuer.inventory() == []
    vc = await served.issuer.issue(
        Party().did, claims={"scope": "orders:read", "audience": ["https://a.example"]}
    )
    assert await served.verify(vc) == []


async def test_other_formats(served: Served) -> None:
    agent = Party()
    jwt = await served.issuer.issue(agent.did, claims={"scope": ["a"]}, securing="vc+jwt")
    assert isinstance(jwt, str) and jwt.count(".") == 2
    assert await served.verify(jwt) == []
    jcs = await served.issuer.issue(agent.did, claims={"scope": ["a"]}, securing="eddsa-jcs-2022")
    assert await served.verify(jcs) == []


async def test_rotation_keeps_old_credentials_until_retired(served: Served) -> None:
    issuer, agent = served.issuer, Party()
    old = await issuer.issue(agent.did, claims={"scope": ["a"]})
    new_key = await issuer.rotate_key()
    new = await issuer.issue(agent.did, claims={"scope": ["a"]})
    assert isinstance(old, dict) and isinstance(new, dict)
    assert new["proof"]["verificationMethod"] == new_key
    served.verifier.resolver.clear()  # type: ignore[attr-defined]
    assert await served.verify(old) == []
    assert await served.verify(new) == []
    with pytest.raises(IssuerError):
        await issuer.retire_key(new_key)  # never the active key
    await issuer.retire_key(old["proof"]["verificationMethod"])
    fresh = Verifier(allow_http=True, allow_loopback=True, policy=trusting(issuer.did))
    try:
        assert [c for c, _ in (await fresh.verify_credential(old)).problems] == [
            "INVALID_VERIFICATION_METHOD"
        ]
        assert (await fresh.verify_credential(new)).verified
    finally:
        await fresh.close()


async def test_revoke_all_and_inventory(served: Served) -> None:
    issuer, agent, other = served.issuer, Party(), Party()
    a = await issuer.issue(agent.did, claims={"scope": ["a"], "owner": "Acme"})
    b = await issuer.issue(agent.did, claims={"scope": ["b"]})
    c = await issuer.issue(other.did, claims={"scope": ["c"]})
    assert isinstance(a, dict) and isinstance(b, dict) and isinstance(c, dict)
    await issuer.suspend(b["id"])
    assert sorted(await issuer.revoke_all(agent.did)) == sorted([a["id"], b["id"]])
    statuses = {e.id: e.status for e in await issuer.inventory()}
    assert statuses == {a["id"]: "revoked", b["id"]: "revoked", c["id"]: "active"}
    assert [e.id for e in await issuer.inventory(agent=other.did)] == [c["id"]]
    assert [e.id for e in await issuer.inventory(status="active")] == [c["id"]]
    from datetime import timedelta

    assert [e.id for e in await issuer.inventory(expiring_within=timedelta(days=2))] == [c["id"]]
    assert await issuer.inventory(expiring_within=timedelta(hours=1)) == []
    owners = {e.id: e.owner for e in await issuer.inventory(agent=agent.did)}
    assert owners == {a["id"]: "Acme", b["id"]: None}


async def test_a_thousand_concurrent_issues_no_duplicate_index(tmp_path: Path) -> None:
    issuer = await Issuer.create(
        tmp_path / "i.db", passphrase="pw", kdf=FAST, base_url="https://status.example"
    )
    agents = [Party().did for _ in range(20)]
    credentials = await asyncio.gather(
        *(issuer.issue(agents[i % 20], claims={"scope": ["a"]}) for i in range(1000))
    )
    entries = [
        (s["statusListCredential"], s["statusListIndex"])
        for vc in credentials
        for s in vc["credentialStatus"]
    ]  # type: ignore[index]
    assert len(entries) == 2000 == len(set(entries))
    await issuer.close()


WORKER = """
import asyncio, sys
sys.path.insert(0, {root!r})
from issuer import Issuer
async def main():
    async with await Issuer.open({path!r}, passphrase="pw") as issuer:
        for i in range({count}):
            await issuer.issue("did:example:agent-" + str(i % 7), claims={{"scope": ["a"]}})
asyncio.run(main())
"""


async def test_several_processes_on_one_sqlite_store(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    await (await Issuer.create(path, passphrase="pw", kdf=FAST, base_url="https://status.example")).close()
    code = WORKER.format(root=str(Path(__file__).resolve().parents[2]), path=str(path), count=150)
    workers = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    assert [w.wait(timeout=300) for w in workers] == [0, 0, 0, 0]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0] == 600
        assert db.execute("SELECT COUNT(*) FROM status_entries").fetchone()[0] == 1200
        assert (
            db.execute("SELECT COUNT(DISTINCT list_id || ':' || idx) FROM status_entries").fetchone()[0]
            == 1200
        )


async def test_a_full_list_opens_a_new_one(tmp_path: Path) -> None:
    issuer = await Issuer.create(
        tmp_path / "i.db", passphrase="pw", kdf=FAST, base_url="https://status.example"
    )
    await issuer.issue(Party().did)
    with sqlite3.connect(tmp_path / "i.db") as db:  # pretend the first two lists are nearly full
        db.execute("UPDATE status_lists SET next_position = size - 1")
    second = await issuer.issue(Party().did)
    third = await issuer.issue(Party().did)
    assert isinstance(second, dict) and isinstance(third, dict)
    lists = {s["statusListCredential"] for s in second["credentialStatus"]}
    assert lists == {f"https://status.example/status/{n}" for n in (1, 2)}
    assert {s["statusListCredential"] for s in third["credentialStatus"]} == {
        f"https://status.example/status/{n}" for n in (3, 4)
    }
    await issuer.close()


async def test_wrong_passphrase_corrupted_and_locked_stores(tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    await (await Issuer.create(path, passphrase="pw", kdf=FAST, base_url="https://s.example")).close()
    with pytest.raises(WrongPassphraseError):
        await Issuer.open(path, passphrase="nope")
    with pytest.raises(IssuerError):
        await Issuer.create(
            path, passphrase="pw", kdf=FAST, base_url="https://s.example"
        )  # never overwritten
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00not sqlite" * 500)
    with pytest.raises(StoreCorruptedError):
        await Issuer.open(garbage, passphrase="pw")
    issuer = await Issuer.open(path, passphrase="pw")
    issuer.store.db.execute("PRAGMA busy_timeout = 200")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreLockedError):
            await issuer.issue(Party().did)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert isinstance(await issuer.issue(Party().did), dict)
    await issuer.close()
    with pytest.raises(IssuerError):
        await Issuer.create(tmp_path / "k.db", passphrase="pw", kdf=FAST)  # a did:key issuer needs a base URL


async def test_status_messages_with_status_size(served: Served) -> None:
    issuer, agent = served.issuer, Party()
    messages = ["in service", "maintenance", "under review"]
    vc = await issuer.issue(agent.did, claims={"scope": ["a"]}, status_messages=messages)
    assert isinstance(vc, dict)
    entry = vc["credentialStatus"][2]
    assert entry["statusPurpose"] == "message" and entry["statusSize"] == 2
    assert [m["message"] for m in entry["statusMessage"]] == messages
    assert await served.verify(vc) == []
    await issuer.set_message(vc["id"], 2)
    document = await issuer.status_list_credential(int(entry["statusListCredential"].rsplit("/", 1)[1]))
    bits = StatusList.decode(document["credentialSubject"]["encodedList"], status_size=2)
    assert bits.get(int(entry["statusListIndex"])) == 2
    served.verifier.status.clear()
    from verifier import StatusChecker

    checker: StatusChecker = served.verifier.status
    from didvc.credentials import check_credential

    outcomes = await checker.check(check_credential(vc), policy=served.verifier.policy, now=datetime.now(UTC))
    assert [(o.purpose, o.value, o.message) for o in outcomes][2] == ("message", 2, "under review")
    assert await served.verify(vc) == []  # a message is information, not a verdict
    with pytest.raises(IssuerError):
        await issuer.set_message(vc["id"], 4)


async def test_the_store_is_private_and_published_files_are_not(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        issuer = await Issuer.create(
            tmp_path / "issuer.db", passphrase="pw", kdf=FAST, base_url="https://status.example"
        )
        try:
            await issuer.issue(Party().did, claims={"scope": ["x"]})
            written = await issuer.publish(tmp_path / "site")
        finally:
            await issuer.close()
        stores = [p for p in tmp_path.iterdir() if p.name.startswith("issuer.db")]
        assert "issuer.db" in {p.name for p in stores}
        for path in stores:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        for path in written:  # status lists and did.json are for everyone to read
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
    finally:
        os.umask(previous)


def test_a_broken_constraint_in_sqlite_is_a_problem_code_of_its_own() -> None:
    """A row written twice is STORE_CONFLICT_ERROR; any other constraint a row breaks (a bug
    of ours, not the caller's) is STORE_CORRUPTED_ERROR: never sqlite3's own exception."""
    from didvc.errors import StoreConflictError, StoreCorruptedError
    from issuer._sqlite import _conflicts

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (id TEXT PRIMARY KEY, name TEXT UNIQUE, body TEXT NOT NULL)")
    db.execute("INSERT INTO t VALUES ('a', 'x', '{}')")
    for row, error in (
        (("a", "y", "{}"), StoreConflictError),
        (("b", "x", "{}"), StoreConflictError),
        (("c", "z", None), StoreCorruptedError),
    ):
        with pytest.raises(error), _conflicts():
            db.execute("INSERT INTO t VALUES (?, ?, ?)", row)
