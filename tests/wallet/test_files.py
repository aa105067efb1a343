"""Honest wallet files: a new wallet or a restore appears whole or not at all, and a file that
is not a wallet is refused as it is (#12)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from didvc.errors import DidvcError
from resolvers import default_resolver
from tests.helpers import Party, lasting_agent_credential
from wallet import KdfParams, Wallet, WalletCorruptedError, WalletError

FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)


async def _open(path: Path) -> Wallet:
    return await Wallet.open(path, passphrase="pw", kdf=FAST, resolver=default_resolver())


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".new-" in p.name)


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, not a wallet\n", b"SQLite format 3\x00"],  # empty, foreign, a bare header
    ids=["empty", "text", "header-only"],
)
async def test_an_empty_or_foreign_file_is_refused_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "agent.wallet"
    path.write_bytes(content)
    with pytest.raises(WalletCorruptedError):
        await _open(path)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.wallet"]


async def test_an_empty_sqlite_database_is_not_a_new_wallet(tmp_path: Path) -> None:
    path = tmp_path / "agent.wallet"
    sqlite3.connect(path).execute("VACUUM").connection.close()  # a valid database, no tables
    with pytest.raises(WalletCorruptedError):
        await _open(path)


async def test_a_new_wallet_appears_whole(tmp_path: Path) -> None:
    path = tmp_path / "agent.wallet"
    async with await _open(path) as wallet:
        await wallet.create_did()
    assert _leftovers(tmp_path) == []
    async with await _open(path) as wallet:  # and it opens again with the same passphrase
        assert len(await wallet.list_dids()) == 1


async def _backup_with(tmp_path: Path, *, tampered: bool) -> Path:
    """A backup of two DIDs and two credentials; ``tampered``: the second credential's claims
    were changed after signing, so it cannot be checked again on restore."""
    source = tmp_path / f"source-{tampered}.wallet"
    issuer = Party()
    async with await _open(source) as wallet:
        did = await wallet.create_did()
        await wallet.create_did("jwk", "P-256", default=False)
        for n, scope in enumerate(("orders:read", "orders:write")):
            vc = await lasting_agent_credential(issuer, did, [scope], id=f"urn:uuid:{n}-{tampered}")
            await wallet.store_credential(vc)
    if tampered:
        with sqlite3.connect(source) as db:
            (body,) = db.execute("SELECT body FROM credentials ORDER BY stored DESC LIMIT 1").fetchone()
            changed = json.loads(body)
            changed["credentialSubject"]["scope"] = ["admin"]
            db.execute("UPDATE credentials SET body = ? WHERE body = ?", (json.dumps(changed), body))
    backup = tmp_path / f"backup-{tampered}.json"
    async with await _open(source) as wallet:
        await wallet.export_backup(backup, passphrase="backup pass")
    return backup


async def test_a_restore_failing_half_way_leaves_no_file_and_the_retry_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "restored.wallet"
    bad = await _backup_with(tmp_path, tampered=True)
    with pytest.raises(DidvcError):  # the tampered credential does not verify
        await Wallet.import_backup(bad, target, backup_passphrase="backup pass", passphrase="new")
    assert not target.exists()
    assert _leftovers(tmp_path) == []
    good = await _backup_with(tmp_path, tampered=False)
    restored = await Wallet.import_backup(good, target, backup_passphrase="backup pass", passphrase="new")
    async with restored:
        assert len(await restored.list_dids()) == 2
        assert len(await restored.list_credentials()) == 2
    assert _leftovers(tmp_path) == []


async def test_a_restore_never_replaces_a_wallet(tmp_path: Path) -> None:
    target = tmp_path / "restored.wallet"
    target.write_bytes(b"")
    good = await _backup_with(tmp_path, tampered=False)
    with pytest.raises(WalletError):
        await Wallet.import_backup(good, target, backup_passphrase="backup pass", passphrase="new")
    assert target.read_bytes() == b""


async def test_a_backup_too_large_to_be_one_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from wallet import InputTooLargeError

    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(65 << 20)  # sparse: no disk used
    with pytest.raises(InputTooLargeError):
        await Wallet.import_backup(huge, tmp_path / "w", backup_passphrase="b", passphrase="p")
    assert not (tmp_path / "w").exists()
