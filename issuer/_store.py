"""The issuer's store: keys, credentials, status lists and their entries, in SQLite.

Every change is one ``BEGIN IMMEDIATE`` transaction, and the allocation of status-list indexes
happens in the same transaction as the credential's record: the list's counter only grows, and
:func:`issuer._allocation.index_for` turns a counter into an index, so no index is ever given
twice, even with several processes on one file.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from didvc.errors import DidvcError

__all__ = ["IssuerStoreError", "SqliteStore", "StoreCorruptedError", "StoreLockedError"]

_SCHEMA: Final = [
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS keys (
        key_id TEXT PRIMARY KEY, key_type TEXT NOT NULL, public_key TEXT NOT NULL,
        sealed_secret BLOB NOT NULL, created TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 0,
        retired TEXT)""",
    """CREATE TABLE IF NOT EXISTS status_lists (
        id INTEGER PRIMARY KEY AUTOINCREMENT, purpose TEXT NOT NULL, size INTEGER NOT NULL,
        status_size INTEGER NOT NULL DEFAULT 1, secret BLOB NOT NULL,
        next_position INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS credentials (
        id TEXT PRIMARY KEY, subject TEXT NOT NULL, owner TEXT, agent_name TEXT, types TEXT NOT NULL,
        scopes TEXT NOT NULL, valid_from TEXT NOT NULL, valid_until TEXT, status TEXT NOT NULL,
        body TEXT NOT NULL, format TEXT NOT NULL, issued TEXT NOT NULL, batch_key TEXT UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS status_entries (
        list_id INTEGER NOT NULL REFERENCES status_lists(id), idx INTEGER NOT NULL,
        credential_id TEXT NOT NULL REFERENCES credentials(id), purpose TEXT NOT NULL,
        value INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (list_id, idx))""",
    "CREATE INDEX IF NOT EXISTS entries_by_credential ON status_entries (credential_id)",
    "CREATE INDEX IF NOT EXISTS credentials_by_subject ON credentials (subject)",
]


class IssuerStoreError(DidvcError):
    code = "STORE_ERROR"


class StoreLockedError(IssuerStoreError):
    code = "STORE_LOCKED_ERROR"
    could_not_check = True


class StoreCorruptedError(IssuerStoreError):
    code = "STORE_CORRUPTED_ERROR"


class SqliteStore:
    """One SQLite file in WAL mode; safe for several processes (one writer at a time)."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreLockedError(f"the issuer store {self.path} is locked") from None
            raise StoreCorruptedError(f"cannot open the issuer store {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptedError(f"{self.path} is not an issuer store or is corrupted: {exc}") from None

    def close(self) -> None:
        self.db.close()

    def exists(self) -> bool:
        try:
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptedError(f"the issuer store is corrupted: {exc}") from None
        if tables and "meta" not in tables:
            raise StoreCorruptedError("this SQLite file is not a didvc issuer store")
        return "meta" in tables

    def create_schema(self) -> None:
        with self.transaction():
            for statement in _SCHEMA:
                self.db.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreLockedError(f"the issuer store is locked by another process ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptedError(f"the issuer store is corrupted: {exc}") from None
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self.db.execute("ROLLBACK")
            raise StoreCorruptedError(f"could not commit: {exc}") from None

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreLockedError(str(exc)) from None
            raise StoreCorruptedError(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptedError(str(exc)) from None

    def meta(self) -> dict[str, str]:
        return {name: value for name, value in self.query("SELECT name, value FROM meta")}
