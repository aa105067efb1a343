"""The issuer's audit log: every change recorded, hash-chained, checkpoints signed; an edited,
removed or forged entry is found (real SQLite stores, real signatures)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from didvc.errors import AuditLogError
from didvc.keys import KeyPair
from issuer import Issuer
from tests.helpers import Party, run_cli
from wallet import KdfParams

FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)


async def _busy_issuer(path: Path) -> list[str]:
    """An issuer that has done one of everything; the events, in order."""
    issuer = await Issuer.create(path, passphrase="pw", kdf=FAST, did_web="issuer.example")
    async with issuer:
        issuer.actor = "alice@ops"
        agent = Party().did
        first = await issuer.issue(agent)
        second = await issuer.issue(agent, status_messages=["ok", "late"])
        assert isinstance(first, dict) and isinstance(second, dict)
        await issuer.suspend(first["id"])
        await issuer.reinstate(first["id"])
        await issuer.set_message(second["id"], 1)
        old = (await issuer.signer()).key_id
        await issuer.rotate_key()
        await issuer.retire_key(old)
        await issuer.revoke(first["id"])
        await issuer.revoke_all(agent)
        return [e.event for e in await issuer.audit_log()]


async def test_every_change_is_logged_and_the_log_verifies(tmp_path: Path) -> None:
    events = await _busy_issuer(tmp_path / "i.db")
    assert events == [
        "create",
        "issue",
        "issue",
        "suspend",
        "reinstate",
        "set-message",
        "rotate-key",
        "retire-key",
        "revoke",
        "revoke",  # revoke-all: the one credential not revoked yet
    ]
    async with await Issuer.open(tmp_path / "i.db", passphrase="pw") as issuer:
        entries = await issuer.audit_log()
        head = await issuer.verify_audit_log()
        assert head == entries[-1] and head.signature is not None
        assert {e.actor for e in entries[1:]} == {"alice@ops"}
        assert entries[-1].detail == {"agent": entries[1].detail["agent"], "all": True}
        assert all(e.signature for e in entries)  # each change its own transaction: each sealed


def _sql(path: Path, statement: str, *params: object) -> None:
    with sqlite3.connect(path) as db:
        db.execute(statement, params)


@pytest.mark.parametrize(
    ("tamper", "found"),
    [
        ('UPDATE audit_log SET detail = \'{"previously": "revoked"}\' WHERE seq = 4', "entry 4 was changed"),
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "entry 2 was changed"),
        ("DELETE FROM audit_log WHERE seq = 5", "entry 5 is missing"),
        ("DELETE FROM audit_log WHERE seq = 1", "entry 1 is missing"),
        ("UPDATE audit_log SET signature = NULL WHERE seq = 10", "entry 10 is not sealed"),
        ("UPDATE audit_log SET key_id = 'did:web:evil#k' WHERE seq = 3", "never introduced"),
    ],
)
async def test_an_edited_or_removed_entry_is_found(tmp_path: Path, tamper: str, found: str) -> None:
    await _busy_issuer(tmp_path / "i.db")
    _sql(tmp_path / "i.db", tamper)
    async with await Issuer.open(tmp_path / "i.db", passphrase="pw") as issuer:
        with pytest.raises(AuditLogError, match=found):
            await issuer.verify_audit_log()


async def test_a_rebuilt_chain_without_the_key_is_found(tmp_path: Path) -> None:
    """Someone who can write the database recomputes every hash after an edit: the
    checkpoints, signed by the issuer's keys, no longer match."""
    from issuer._audit import _hash

    await _busy_issuer(tmp_path / "i.db")
    with sqlite3.connect(tmp_path / "i.db") as db:
        rows = db.execute(
            "SELECT seq, at, actor, event, subject, detail FROM audit_log ORDER BY seq"
        ).fetchall()
        prev = "0" * 64
        for seq, at, actor, event, subject, detail in rows:
            if event == "revoke":
                event = "reinstate"  # rewrite history
            digest = _hash(prev, seq, at, actor, event, subject, json.loads(detail))
            db.execute(
                "UPDATE audit_log SET event = ?, prev = ?, hash = ? WHERE seq = ?", (event, prev, digest, seq)
            )
            prev = digest
    async with await Issuer.open(tmp_path / "i.db", passphrase="pw") as issuer:
        with pytest.raises(AuditLogError, match="checkpoint signature does not verify"):
            await issuer.verify_audit_log()


async def test_a_checkpoint_signed_by_a_key_slipped_into_the_store_is_found(tmp_path: Path) -> None:
    await _busy_issuer(tmp_path / "i.db")
    forged = KeyPair.generate()
    with sqlite3.connect(tmp_path / "i.db") as db:
        seq, digest = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        from didvc.encoding import b64url_encode

        signature = b64url_encode(forged.sign(f"didvc-audit-v1\n{seq}\n{digest}".encode()))
        db.execute(
            "UPDATE audit_log SET key_id = 'did:web:issuer.example#key-9', signature = ? WHERE seq = ?",
            (signature, seq),
        )
    async with await Issuer.open(tmp_path / "i.db", passphrase="pw") as issuer:
        with pytest.raises(AuditLogError, match="never introduced"):
            await issuer.verify_audit_log()


async def test_a_store_from_before_the_audit_log_starts_one(tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    async with await Issuer.create(path, passphrase="pw", kdf=FAST, base_url="https://s.example") as issuer:
        vc = await issuer.issue(Party().did)
    _sql(path, "DROP TABLE audit_log")  # as a store made by an earlier release
    async with await Issuer.open(path, passphrase="pw") as issuer:
        assert await issuer.audit_log() == []
        await issuer.revoke(vc["id"])  # type: ignore[index]
        assert [e.event for e in await issuer.audit_log()] == ["audit-start", "revoke"]
        assert (await issuer.verify_audit_log()) is not None


def test_the_cli_lists_and_verifies_the_log(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("pw\n")

    def cli(*args: str) -> tuple[int, str]:
        return run_cli("issuer", ("--store", tmp_path / "i.db"), tmp_path / "pass", *args)

    assert cli("init", "--base-url", "https://status.example")[0] == 0
    issued = json.loads(cli("issue", Party().did)[1])["credential"]
    assert cli("revoke", issued["id"])[0] == 0
    code, out = cli("log", "--verify")
    report = json.loads(out)
    assert code == 0 and [e["event"] for e in report["entries"]] == ["create", "issue", "revoke"]
    assert report["verified"]["seq"] == 3
    assert json.loads(cli("log", "--since", "1h")[1])["entries"][-1]["subject"] == issued["id"]
    _sql(tmp_path / "i.db", "UPDATE audit_log SET subject = 'urn:uuid:other' WHERE seq = 3")
    code, out = cli("log", "--verify")
    assert code == 1 and json.loads(out)["error"]["code"] == "AUDIT_LOG_ERROR"
