"""The issuer's store in one SQLite file: WAL mode, and ``BEGIN IMMEDIATE`` so writers take
turns (several processes may share the file: a ``serve`` beside CLI runs)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from didvc.errors import StoreCorruptedError, StoreLockedError
from didvc.storage import create_private
from issuer._store import ADD_LIST_VERSION, LIST_VERSION, Store, schema

__all__ = ["SqliteStore"]


class _SqliteTransaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    async def one(self, sql: str, *params: Any) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.db.execute(sql, params).fetchone()
        return row

    async def all(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, params).fetchall()

    async def run(self, sql: str, *params: Any) -> None:
        self.db.execute(sql, params)

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.db.executemany(sql, rows)

    async def lock(self, name: str) -> None:
        """BEGIN IMMEDIATE already holds the one write lock."""


class SqliteStore(Store):
    """One SQLite file in WAL mode; safe for several processes (one writer at a time)."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.description = str(self.path)
        try:
            create_private(self.path)
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

    async def close(self) -> None:
        self.db.close()

    async def exists(self) -> bool:
        try:
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptedError(f"the issuer store is corrupted: {exc}") from None
        if tables and "meta" not in tables:
            raise StoreCorruptedError("this SQLite file is not a didvc issuer store")
        return "meta" in tables

    async def create_schema(self) -> None:
        async with self._transaction() as tx:
            for statement in schema("BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"):
                await tx.run(statement)

    async def upgrade_schema(self) -> None:
        if LIST_VERSION in {r[1] for r in await self.query("PRAGMA table_info(status_lists)")}:
            return
        async with self._transaction() as tx:  # another process may have upgraded it meanwhile
            if LIST_VERSION not in {r[1] for r in await tx.all("PRAGMA table_info(status_lists)")}:
                await tx.run(ADD_LIST_VERSION)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_SqliteTransaction]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreLockedError(f"the issuer store is locked by another process ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptedError(f"the issuer store is corrupted: {exc}") from None
        try:
            yield _SqliteTransaction(self.db)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self.db.execute("ROLLBACK")
            raise StoreCorruptedError(f"could not commit: {exc}") from None

    async def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreLockedError(str(exc)) from None
            raise StoreCorruptedError(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptedError(str(exc)) from None
