"""The issuer's store: keys, credentials, status lists and their entries; SQLite or PostgreSQL.

Both stores speak the same small async interface and the same SQL (written with ``?``
placeholders; PostgreSQL's ``$n`` are substituted). Every change is one transaction, and the
allocation of status-list indexes happens in the same transaction as the credential's record:
a list's counter only grows, and :func:`issuer._allocation.index_for` turns a counter into an
index, so no index is ever given twice, whichever process asks.

- SQLite: one file in WAL mode; ``BEGIN IMMEDIATE`` makes writers take turns.
- PostgreSQL (asyncpg): several issuer processes share the lists; a transaction-scoped advisory
  lock per status purpose serializes allocation, and the list row is updated under that lock.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, Protocol

from didvc.errors import IssuerStoreError, StoreCorruptedError, StoreLockedError, StoreUnavailableError
from didvc.storage import create_private

__all__ = [
    "IssuerStoreError",
    "PostgresStore",
    "SqliteStore",
    "Store",
    "StoreCorruptedError",
    "StoreLockedError",
    "StoreUnavailableError",
    "Transaction",
    "open_store",
]


def _schema(blob: str, serial: str) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS keys (
            key_id TEXT PRIMARY KEY, key_type TEXT NOT NULL, public_key TEXT NOT NULL,
            sealed_secret {blob} NOT NULL, created TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 0,
            retired TEXT)""",
        f"""CREATE TABLE IF NOT EXISTS status_lists (
            id {serial}, purpose TEXT NOT NULL, size INTEGER NOT NULL,
            status_size INTEGER NOT NULL DEFAULT 1, secret {blob} NOT NULL,
            next_position INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 0)""",
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


# Added after the first release: a counter bumped whenever a list's entries change, so `serve`
# knows without reading them whether its signed copy is current. Stores made before get it on open.
_LIST_VERSION: Final = "version"
_ADD_LIST_VERSION: Final = "ALTER TABLE status_lists ADD COLUMN version INTEGER NOT NULL DEFAULT 0"


class Transaction(Protocol):
    async def one(self, sql: str, *params: Any) -> tuple[Any, ...] | None: ...

    async def all(self, sql: str, *params: Any) -> list[tuple[Any, ...]]: ...

    async def run(self, sql: str, *params: Any) -> None: ...

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def lock(self, name: str) -> None:
        """Serialize with every other transaction that locks ``name`` (until commit)."""
        ...


class Store(Protocol):
    description: str

    def transaction(self) -> Any: ...

    async def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]: ...

    async def exists(self) -> bool: ...

    async def create_schema(self) -> None: ...

    async def upgrade_schema(self) -> None: ...

    async def meta(self) -> dict[str, str]: ...

    async def close(self) -> None: ...


def open_store(location: str | os.PathLike[str], *, timeout: float = 10.0) -> Store:
    """A PostgreSQL store for a ``postgresql://`` URL, a SQLite store for a path."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresStore(text, timeout=timeout)
    return SqliteStore(location, timeout=timeout)


# --- SQLite ----------------------------------------------------------------------------------


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


class SqliteStore:
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
        async with self.transaction() as tx:
            for statement in _schema("BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"):
                await tx.run(statement)

    async def upgrade_schema(self) -> None:
        if _LIST_VERSION in {r[1] for r in await self.query("PRAGMA table_info(status_lists)")}:
            return
        async with self.transaction() as tx:  # another process may have upgraded it meanwhile
            if _LIST_VERSION not in {r[1] for r in await tx.all("PRAGMA table_info(status_lists)")}:
                await tx.run(_ADD_LIST_VERSION)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteTransaction]:
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

    async def meta(self) -> dict[str, str]:
        return {name: value for name, value in await self.query("SELECT name, value FROM meta")}


# --- PostgreSQL ------------------------------------------------------------------------------

_PLACEHOLDER: Final = re.compile(r"\?")


def _pg(sql: str) -> str:
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


class _PostgresTransaction:
    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def one(self, sql: str, *params: Any) -> tuple[Any, ...] | None:
        row = await self.connection.fetchrow(_pg(sql), *params)
        return tuple(row) if row is not None else None

    async def all(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.connection.fetch(_pg(sql), *params)]

    async def run(self, sql: str, *params: Any) -> None:
        await self.connection.execute(_pg(sql), *params)

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.connection.executemany(_pg(sql), rows)

    async def lock(self, name: str) -> None:
        await self.connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"didvc:{name}")


class PostgresStore:
    """PostgreSQL through an asyncpg pool; several issuer processes may share one database."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.description = re.sub(r"//[^@/]*@", "//***@", url)  # never show credentials
        self._timeout = timeout
        self._pool: Any = None

    async def _connect(self) -> Any:
        if self._pool is None:
            try:
                import asyncpg
            except ImportError:
                raise StoreUnavailableError(
                    "the PostgreSQL store needs asyncpg: pip install 'didvc[postgresql]'"
                ) from None
            try:
                self._pool = await asyncpg.create_pool(
                    self.url, min_size=1, max_size=4, timeout=self._timeout
                )
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                raise StoreUnavailableError(
                    f"cannot reach the PostgreSQL store {self.description}: {exc}"
                ) from None
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def exists(self) -> bool:
        pool = await self._connect()
        async with pool.acquire() as connection:
            return bool(await connection.fetchval("SELECT to_regclass('public.meta') IS NOT NULL"))

    async def create_schema(self) -> None:
        async with self.transaction() as tx:
            await tx.lock("schema")
            for statement in _schema("BYTEA", "SERIAL PRIMARY KEY"):
                await tx.run(statement)

    async def upgrade_schema(self) -> None:
        present = await self.query(
            "SELECT 1 FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'status_lists' AND column_name = ?",
            _LIST_VERSION,
        )
        if not present:
            async with self.transaction() as tx:
                await tx.lock("schema")
                await tx.run(_ADD_LIST_VERSION.replace("ADD COLUMN", "ADD COLUMN IF NOT EXISTS"))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTransaction]:
        import asyncpg

        pool = await self._connect()
        try:
            async with pool.acquire() as connection, connection.transaction():
                yield _PostgresTransaction(connection)
        except (OSError, asyncpg.exceptions.ConnectionDoesNotExistError) as exc:
            raise StoreUnavailableError(f"lost the PostgreSQL store: {exc}") from None

    async def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        pool = await self._connect()
        async with pool.acquire() as connection:
            return [tuple(r) for r in await connection.fetch(_pg(sql), *params)]

    async def meta(self) -> dict[str, str]:
        return {name: value for name, value in await self.query("SELECT name, value FROM meta")}
