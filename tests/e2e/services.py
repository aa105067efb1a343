"""The test services for end-to-end tests: a new PostgreSQL database (dropped after), with Redis
checked reachable; skipped with a reason when absent, failed when DIDVC_REQUIRE_SERVICES says
they must be there (CI)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator

import pytest

ADMIN_URL = os.environ.get("DIDVC_POSTGRES_URL", "postgresql://didvc:didvc@127.0.0.1:5432/didvc")
REDIS_URL = os.environ.get("DIDVC_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def new_database(prefix: str, needed_by: str) -> Iterator[str]:
    """A fresh database's URL for as long as the generator is held (``needed_by`` says who
    needs it, in a skip or failure message)."""
    asyncpg, redis = pytest.importorskip("asyncpg"), pytest.importorskip("redis")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(ADMIN_URL, timeout=3)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        message = f"{needed_by} needs PostgreSQL and Redis, and one is not reachable ({type(exc).__name__})"
        if os.environ.get("DIDVC_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    yield f"{ADMIN_URL.rpartition('/')[0]}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
