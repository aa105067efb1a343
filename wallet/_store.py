"""The wallet's file: one SQLite database, and every SQL statement the wallet runs.

WAL mode, one ``BEGIN IMMEDIATE`` transaction per change (a crash leaves the old or the new
state, another process waits its turn or is told the wallet is locked). Private keys arrive and
leave sealed (:class:`didvc.sealing.Vault`); this module never sees them in the clear. A new
wallet is built under another name and moved to its own whole (:func:`create_file`); an empty
or foreign file is refused without being changed (:func:`unlock_file`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from didvc.errors import WalletCorruptedError, WalletError, WalletLockedError
from didvc.sealing import KdfParams, Vault
from didvc.storage import immediate, install_new, is_sqlite_file, open_database, remove_database, staging_path

__all__ = [
    "CredentialRecord",
    "DidRecord",
    "RestoredIdentity",
    "SealedKey",
    "WalletStore",
    "create_file",
    "new_vault",
    "install",
    "unlock_file",
]

_LABEL: Final = b"didvc wallet v1"

SCHEMA_VERSION: Final = 1
_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS dids (
        did TEXT PRIMARY KEY, method TEXT NOT NULL, key_id TEXT NOT NULL, document TEXT,
        is_default INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS keys (
        key_id TEXT PRIMARY KEY, did TEXT NOT NULL, key_type TEXT NOT NULL, public_key TEXT NOT NULL,
        sealed_secret BLOB NOT NULL, created TEXT NOT NULL, retired TEXT)""",
    """CREATE TABLE IF NOT EXISTS credentials (
        id TEXT PRIMARY KEY, subject TEXT NOT NULL, issuer TEXT NOT NULL, types TEXT NOT NULL,
        scopes TEXT NOT NULL, audiences TEXT NOT NULL, valid_until TEXT, format TEXT NOT NULL,
        body TEXT NOT NULL, warnings TEXT NOT NULL, stored TEXT NOT NULL)""",
)
_FILE: Final[dict[str, Any]] = {
    "what": "the wallet",
    "locked": WalletLockedError,
    "corrupted": WalletCorruptedError,
}
_SELECT_DIDS: Final = (
    "SELECT d.did, d.method, d.key_id, k.key_type, d.is_default"
    " FROM dids d JOIN keys k ON k.key_id = d.key_id"
)


@dataclass(frozen=True)
class DidRecord:
    did: str
    method: str
    key_id: str
    key_type: str
    is_default: bool


@dataclass(frozen=True)
class CredentialRecord:
    id: str
    subject: str
    issuer: str
    types: tuple[str, ...]
    scopes: tuple[str, ...]
    audiences: tuple[str, ...]
    valid_until: datetime | None
    format: str
    credential: dict[str, Any] | str
    warnings: tuple[str, ...]

    def expired(self, now: datetime | None = None) -> bool:
        return self.valid_until is not None and self.valid_until < (now or datetime.now(UTC))


@dataclass(frozen=True)
class SealedKey:
    """A private key as stored: sealed, with what its seal is bound to."""

    key_id: str
    key_type: str
    public_key: str  # multikey
    sealed: bytes
    retired: str | None = None


@dataclass(frozen=True)
class RestoredIdentity:
    did: str
    method: str
    key_id: str
    keys: list[SealedKey]
    document: Any
    default: bool


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WalletStore:
    """The SQLite file of one wallet."""

    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self._db = open_database(path, timeout=timeout, **_FILE)
        self._records: tuple[tuple[int, int], list[CredentialRecord]] | None = None

    def close(self) -> None:
        self._db.close()

    # --- the file itself ---------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """The stored metadata; empty for a new file."""
        try:
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables:
                if tables:
                    raise WalletCorruptedError("this SQLite file is not a didvc wallet")
                return {}
            return {name: value for name, value in self._db.execute("SELECT name, value FROM meta")}
        except sqlite3.DatabaseError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise WalletLockedError("the wallet is locked by another process") from None
            raise WalletCorruptedError(f"the wallet file is corrupted: {exc}") from None

    def initialize(self, meta: dict[str, str]) -> None:
        """Create the tables and write ``meta`` (the vault's KDF parameters and check value)."""
        with self._transaction():
            for statement in _SCHEMA:
                self._db.execute(statement)
            for name, value in {"schema": str(SCHEMA_VERSION), **meta}.items():
                self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    # --- identities --------------------------------------------------------------------------

    def add_identity(
        self, did: str, method: str, key: SealedKey, *, document: Any, default: bool | None
    ) -> None:
        """A new DID and its key; the first DID becomes the default unless ``default`` says."""
        with self._transaction():
            if self._db.execute("SELECT 1 FROM dids WHERE did = ?", (did,)).fetchone():
                raise WalletError(f"{did} is already in the wallet")
            first = self._db.execute("SELECT COUNT(*) FROM dids").fetchone()[0] == 0
            make_default = first if default is None else default
            if make_default:
                self._db.execute("UPDATE dids SET is_default = 0")
            self._insert_did(did, method, key.key_id, document, make_default)
            self._insert_key(did, key)

    def restore_identities(self, identities: list[RestoredIdentity]) -> None:
        """DIDs from a backup, with all their keys (retired ones too): all or none."""
        with self._transaction():
            for identity in identities:
                self._insert_did(
                    identity.did, identity.method, identity.key_id, identity.document, identity.default
                )
                for key in identity.keys:
                    self._insert_key(identity.did, key)

    def rotate_key(self, did: str, key: SealedKey, document: dict[str, Any]) -> None:
        """Retire the DID's keys and make ``key`` (in the new ``document``) its key."""
        with self._transaction():
            self._db.execute(
                "UPDATE keys SET retired = ? WHERE did = ? AND retired IS NULL", (now_text(), did)
            )
            self._insert_key(did, key)
            self._db.execute(
                "UPDATE dids SET key_id = ?, document = ? WHERE did = ?",
                (key.key_id, json.dumps(document), did),
            )

    def dids(self) -> list[DidRecord]:
        rows = self._db.execute(_SELECT_DIDS + " ORDER BY d.created, d.did").fetchall()
        return [DidRecord(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def did(self, did: str) -> DidRecord:
        row = self._db.execute(_SELECT_DIDS + " WHERE d.did = ?", (did,)).fetchone()
        if row is None:
            raise WalletError(f"{did} is not in this wallet")
        return DidRecord(row[0], row[1], row[2], row[3], bool(row[4]))

    def default_did(self) -> str:
        row = self._db.execute("SELECT did FROM dids WHERE is_default = 1").fetchone()
        if row is None:
            raise WalletError("the wallet has no DID yet (create one first)")
        return str(row[0])

    def set_default(self, did: str) -> None:
        self.did(did)
        with self._transaction():
            self._db.execute("UPDATE dids SET is_default = (did = ?)", (did,))

    def document(self, did: str) -> Any:
        """The published document of an imported did:web identity (None for did:key, did:jwk)."""
        row = self._db.execute("SELECT document FROM dids WHERE did = ?", (did,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def key(self, key_id: str) -> SealedKey:
        row = self._db.execute(
            "SELECT key_id, key_type, public_key, sealed_secret, retired FROM keys WHERE key_id = ?",
            (key_id,),
        ).fetchone()
        if row is None:
            raise WalletCorruptedError(f"the key {key_id} is missing from the wallet")
        return SealedKey(row[0], row[1], row[2], bytes(row[3]), row[4])

    def keys_of(self, did: str) -> list[SealedKey]:
        rows = self._db.execute(
            "SELECT key_id, key_type, public_key, sealed_secret, retired FROM keys WHERE did = ?", (did,)
        )
        return [SealedKey(r[0], r[1], r[2], bytes(r[3]), r[4]) for r in rows]

    def reseal(self, seal: Callable[[SealedKey], bytes], meta: dict[str, str]) -> None:
        """Every key sealed anew by ``seal`` and the vault's new ``meta``, in one transaction
        (keys read inside it: one added meanwhile by another process is sealed anew too)."""
        with self._transaction():
            rows = self._db.execute(
                "SELECT key_id, key_type, public_key, sealed_secret, retired FROM keys"
            ).fetchall()
            for r in rows:
                key = SealedKey(r[0], r[1], r[2], bytes(r[3]), r[4])
                self._db.execute(
                    "UPDATE keys SET sealed_secret = ? WHERE key_id = ?", (seal(key), key.key_id)
                )
            for name, value in meta.items():
                self._db.execute("UPDATE meta SET value = ? WHERE name = ?", (value, name))

    def _insert_did(self, did: str, method: str, key_id: str, document: Any, default: bool) -> None:
        self._db.execute(
            "INSERT INTO dids (did, method, key_id, document, is_default, created) VALUES (?, ?, ?, ?, ?, ?)",
            (did, method, key_id, json.dumps(document) if document else None, int(default), now_text()),
        )

    def _insert_key(self, did: str, key: SealedKey) -> None:
        self._db.execute(
            "INSERT INTO keys (key_id, did, key_type, public_key, sealed_secret, created, retired)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key.key_id, did, key.key_type, key.public_key, key.sealed, now_text(), key.retired),
        )

    # --- credentials -------------------------------------------------------------------------

    def put_credential(self, record: CredentialRecord) -> None:
        """Keep ``record`` (replacing one with the same id)."""
        credential = record.credential
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO credentials (id, subject, issuer, types, scopes, audiences,"
                " valid_until, format, body, warnings, stored) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.subject,
                    record.issuer,
                    json.dumps(list(record.types)),
                    json.dumps(list(record.scopes)),
                    json.dumps(list(record.audiences)),
                    record.valid_until.isoformat() if record.valid_until else None,
                    record.format,
                    credential if isinstance(credential, str) else json.dumps(credential),
                    json.dumps(list(record.warnings)),
                    now_text(),
                ),
            )

    def delete_credential(self, credential_id: str) -> bool:
        with self._transaction():
            return bool(self._db.execute("DELETE FROM credentials WHERE id = ?", (credential_id,)).rowcount)

    def credentials(self) -> list[CredentialRecord]:
        """Every stored credential, in the order stored; callers must not change them. Decoded
        once and kept while the file is unchanged: by this connection (``total_changes``) or by
        any other, another process included (``PRAGMA data_version``), so a request header does
        not re-decode every credential."""
        stamp = (int(self._db.execute("PRAGMA data_version").fetchone()[0]), self._db.total_changes)
        if self._records is None or self._records[0] != stamp:
            rows = self._db.execute("SELECT * FROM credentials ORDER BY stored, rowid")
            self._records = (stamp, [_record(row) for row in rows])
        return self._records[1]

    def _transaction(self) -> AbstractContextManager[None]:
        return immediate(
            self._db, what="the wallet", locked=WalletLockedError, corrupted=WalletCorruptedError
        )


def _record(row: tuple[Any, ...]) -> CredentialRecord:
    (cid, subject, issuer, types, scopes, audiences, valid_until, fmt, body, warnings, _stored) = row
    return CredentialRecord(
        id=cid,
        subject=subject,
        issuer=issuer,
        types=tuple(json.loads(types)),
        scopes=tuple(json.loads(scopes)),
        audiences=tuple(json.loads(audiences)),
        valid_until=datetime.fromisoformat(valid_until) if valid_until else None,
        format=fmt,
        credential=body if fmt == "jwt" else json.loads(body),
        warnings=tuple(json.loads(warnings)),
    )


async def create_file(
    path: Path, passphrase: str | bytes, *, kdf: KdfParams | None, timeout: float
) -> tuple[WalletStore, Vault]:
    """A new wallet at ``path``, built under another name and moved there whole: a crash while
    the passphrase is stretched leaves no half-made file at ``path``."""
    staging = staging_path(path)
    try:
        store = WalletStore(staging, timeout=timeout)
        try:
            vault = await new_vault(passphrase, kdf=kdf)
            store.initialize(vault.stored())
        finally:
            store.close()
        install(staging, path)
    finally:
        remove_database(staging)
    return WalletStore(path, timeout=timeout), vault


def install(staging: Path, target: Path) -> None:
    try:
        install_new(staging, target)
    except FileExistsError:
        raise WalletError(f"{target} was created by another process meanwhile") from None


async def new_vault(passphrase: str | bytes, *, kdf: KdfParams | None = None) -> Vault:
    """A vault for a wallet under ``passphrase`` (what a new wallet, or a changed passphrase, gets)."""
    return await Vault.create(passphrase, label=_LABEL, kdf=kdf)


async def unlock_file(path: Path, passphrase: str | bytes, *, timeout: float) -> tuple[WalletStore, Vault]:
    """The existing wallet at ``path``; an empty or foreign file is refused as it is, unchanged."""
    if not is_sqlite_file(path):
        raise WalletCorruptedError(
            f"{path} is not a didvc wallet (empty or another kind of file); left as it is"
        )
    store = WalletStore(path, timeout=timeout)
    try:
        meta = store.meta()
        if meta.get("kdf") is None:
            raise WalletCorruptedError(f"{path} is not a didvc wallet (no wallet metadata); left as it is")
        vault = await Vault.unlock(
            passphrase, meta, label=_LABEL, what="this wallet", damaged=WalletCorruptedError
        )
    except BaseException:
        store.close()
        raise
    return store, vault
