from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load_fixture(relative: str) -> Any:
    path = FIXTURES / relative
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix in {".json", ".jsonld"} else text


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to open a connection (use it where everything must be offline)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)


REDIS_URL = os.environ.get("DIDVC_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def redis_client() -> AsyncIterator[Any]:
    """A client of the local Redis; skipped with a reason without one, failed when
    DIDVC_REQUIRE_SERVICES is set (as in CI, which installs and starts redis-server)."""
    redis = pytest.importorskip("redis.asyncio")
    client = redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        message = f"no Redis server reachable at {REDIS_URL} ({type(exc).__name__})"
        if os.environ.get("DIDVC_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    yield client
    await client.aclose()
