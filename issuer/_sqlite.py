"""The issuer's store in one SQLite file: WAL mode, and ``BEGIN IMMEDIATE`` so writers take
turns (several processes may share the file: a ``serve`` beside CLI runs)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from didvc.errors import StoreConflictError, StoreCorruptedError, StoreLockedError
from didvc.storage import immediate, open_database
from issuer._schema import (
    ADD_LIST_VERSION,
    AUDIT_TABLE,
    CURRENT_NAMES,
    INVENTORY_INDEXES,
    LIST_VERSION,
    schema,
)
from issuer._store import Store

__all__ = ["SqliteStore"]

_FILE: Final[dict[str, Any]] = {
    "what": "the issuer store",
    "locked": StoreLockedError,
    "corrupted": StoreCorruptedError,
}


class _SqliteTransaction:
    """One ``BEGIN IMMEDIATE`` transaction (``async with``), and what runs inside it."""

    __slots__ = ("_guard", "db")

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._guard = immediate(db, **_FILE)

    async def __aenter__(self) -> _SqliteTransaction:
        self._guard.__enter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._guard.__exit__(exc_type)

    async def one(self, sql: str, *params: Any) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.db.execute(sql, params).fetchone()
        return row

    async def all(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, params).fetchall()

    async def run(self, sql: str, *params: Any) -> None:
        with _conflicts():
            self.db.execute(sql, params)

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with _conflicts():
            self.db.executemany(sql, rows)

    async def lock(self, name: str) -> None:
        """BEGIN IMMEDIATE already holds the one write lock."""


class SqliteStore(Store):
    """One SQLite file in WAL mode; safe for several processes (one writer at a time)."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.description = str(self.path)
        self.db = open_database(self.path, timeout=timeout, **_FILE)

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
        has_version = LIST_VERSION in {r[1] for r in await self.query("PRAGMA table_info(status_lists)")}
        names = {r[0] for r in await self.query("SELECT name FROM sqlite_master")}
        if has_version and names >= CURRENT_NAMES:
            return
        async with self._transaction() as tx:  # another process may have upgraded it meanwhile
            if LIST_VERSION not in {r[1] for r in await tx.all("PRAGMA table_info(status_lists)")}:
                await tx.run(ADD_LIST_VERSION)
            for statement in (AUDIT_TABLE, *INVENTORY_INDEXES):
                await tx.run(statement)

    def _transaction(self) -> _SqliteTransaction:
        return _SqliteTransaction(self.db)

    async def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreLockedError(str(exc)) from None
            raise StoreCorruptedError(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptedError(str(exc)) from None


@contextlib.contextmanager
def _conflicts() -> Iterator[None]:
    """A unique constraint broken (a row written twice) as :class:`StoreConflictError`; any
    other constraint a row breaks is the store's fault (:class:`StoreCorruptedError`)."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if getattr(exc, "sqlite_errorname", "") in _UNIQUE:
            raise StoreConflictError(f"the store already holds this row ({exc})") from None
        raise StoreCorruptedError(f"a row breaks the store's schema ({exc})") from None


_UNIQUE: Final = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
