"""The issuer's store in PostgreSQL (asyncpg): several issuer processes share the lists; a
transaction-scoped advisory lock per name (a status purpose, the keys) serializes what must
take turns, and the list row is updated under that lock."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final

from didvc.errors import StoreConflictError, StoreUnavailableError
from issuer._schema import (
    ADD_LIST_VERSION,
    AUDIT_TABLE,
    CURRENT_NAMES,
    INVENTORY_INDEXES,
    LIST_VERSION,
    schema,
)
from issuer._store import Store

__all__ = ["PostgresStore"]

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
        with _conflicts():
            await self.connection.execute(_pg(sql), *params)

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with _conflicts():
            await self.connection.executemany(_pg(sql), rows)

    async def lock(self, name: str) -> None:
        await self.connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"didvc:{name}")


class PostgresStore(Store):
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
        async with self._transaction() as tx:
            await tx.lock("schema")
            for statement in schema("BYTEA", "SERIAL PRIMARY KEY"):
                await tx.run(statement)

    async def upgrade_schema(self) -> None:
        present = await self.query(
            "SELECT 1 FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'status_lists' AND column_name = ?",
            LIST_VERSION,
        )
        found = await self.query(
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
        )
        if not present or not {row[0] for row in found} >= CURRENT_NAMES:
            async with self._transaction() as tx:
                await tx.lock("schema")
                await tx.run(ADD_LIST_VERSION.replace("ADD COLUMN", "ADD COLUMN IF NOT EXISTS"))
                for statement in (AUDIT_TABLE, *INVENTORY_INDEXES):
                    await tx.run(statement)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_PostgresTransaction]:
        import asyncpg

        pool = await self._connect()
        try:
            async with pool.acquire() as connection, connection.transaction():
                yield _PostgresTransaction(connection)
        except (OSError, asyncpg.exceptions.ConnectionDoesNotExistError) as exc:
            raise StoreUnavailableError(f"lost the PostgreSQL store: {exc}") from None

    async def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import asyncpg

        pool = await self._connect()
        try:
            async with pool.acquire() as connection:
                return [tuple(r) for r in await connection.fetch(_pg(sql), *params)]
        except (
            OSError,
            asyncpg.exceptions.ConnectionDoesNotExistError,
            asyncpg.exceptions.CannotConnectNowError,
        ) as exc:
            raise StoreUnavailableError(f"lost the PostgreSQL store: {exc}") from None


@contextmanager
def _conflicts() -> Iterator[None]:
    """A unique constraint broken (a row written twice) as :class:`StoreConflictError`
    (asyncpg is imported by then: a transaction is under way)."""
    import asyncpg

    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise StoreConflictError(f"the store already holds this row ({exc})") from None
