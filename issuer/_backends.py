"""Which store a location names: PostgreSQL for a ``postgresql://`` URL, SQLite for a path.

Each backend is imported only when named (asyncpg is optional).
"""

from __future__ import annotations

import os

from issuer._store import Store

__all__ = ["open_store"]


def open_store(location: str | os.PathLike[str], *, timeout: float = 10.0) -> Store:
    """A PostgreSQL store for a ``postgresql://`` URL, a SQLite store for a path."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from issuer._postgres import PostgresStore

        return PostgresStore(text, timeout=timeout)
    from issuer._sqlite import SqliteStore

    return SqliteStore(location, timeout=timeout)
