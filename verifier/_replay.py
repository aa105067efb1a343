"""Replay caches and server nonces: remember a token id for its lifetime, accept it once.

In memory by default (one process); in Redis when verifiers behind a load balancer must share
it: ``SET key 1 NX PXAT exp`` is atomic, so of many concurrent copies exactly one is accepted.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from didvc.encoding import b64url_encode
from didvc.errors import ReplayCacheError

__all__ = [
    "MemoryNonceStore",
    "MemoryReplayCache",
    "NonceStore",
    "RedisNonceStore",
    "RedisReplayCache",
    "ReplayCache",
]


class ReplayCache(Protocol):
    async def remember(self, key: str, expires_at: float, *, now: float) -> bool:
        """Store ``key`` until ``expires_at``; False if it was already there. Both times are
        epoch seconds on the verifier's clock."""
        ...


class MemoryReplayCache:
    """A bounded in-process replay cache. Full (after purging expired keys) means fail closed."""

    def __init__(self, *, max_entries: int = 1_000_000) -> None:
        self._entries: dict[str, float] = {}
        self._max = max_entries
        self._next_purge = 0.0

    def __len__(self) -> int:
        return len(self._entries)

    def _purge(self, now: float) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v > now}
        self._next_purge = now + 1.0

    async def remember(self, key: str, expires_at: float, *, now: float) -> bool:
        # No await between the look-up and the store: atomic within the event loop.
        seen = self._entries.get(key)
        if seen is not None and seen > now:
            return False
        if len(self._entries) >= self._max and now >= self._next_purge:
            self._purge(now)
        if len(self._entries) >= self._max:
            raise ReplayCacheError("the replay cache is full; refusing rather than forgetting")
        self._entries[key] = expires_at
        return True


class RedisReplayCache:
    """A replay cache shared by every verifier using the same Redis (``redis.asyncio`` client)."""

    def __init__(self, client: Any, *, prefix: str = "didvc:jti:") -> None:
        self._client = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisReplayCache:
        import redis.asyncio as redis

        return cls(redis.from_url(url), **kwargs)

    async def remember(self, key: str, expires_at: float, *, now: float) -> bool:
        lifetime_ms = max(1, int((expires_at - now) * 1000) + 1)
        try:
            stored = await self._client.set(self._prefix + key, b"1", nx=True, px=lifetime_ms)
        except Exception as exc:  # redis errors: connection refused, timeouts, ...
            raise ReplayCacheError(f"the replay cache is unreachable ({type(exc).__name__})") from None
        return bool(stored)


class NonceStore(Protocol):
    async def issue(self) -> str: ...

    async def consume(self, nonce: str) -> bool: ...


class MemoryNonceStore:
    """Server-issued nonces, each valid once for ``ttl`` seconds."""

    def __init__(
        self, *, ttl: float = 120.0, max_entries: int = 100_000, clock: Callable[[], float] = time.time
    ) -> None:
        self._nonces: dict[str, float] = {}
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock

    async def issue(self) -> str:
        now = self._clock()
        if len(self._nonces) >= self._max:
            self._nonces = {k: v for k, v in self._nonces.items() if v > now}
            while len(self._nonces) >= self._max:
                self._nonces.pop(next(iter(self._nonces)))
        nonce = b64url_encode(secrets.token_bytes(18))
        self._nonces[nonce] = now + self._ttl
        return nonce

    async def consume(self, nonce: str) -> bool:
        expires = self._nonces.pop(nonce, None)
        return expires is not None and expires > self._clock()


class RedisNonceStore:
    def __init__(self, client: Any, *, ttl: float = 120.0, prefix: str = "didvc:nonce:") -> None:
        self._client = client
        self._ttl = ttl
        self._prefix = prefix

    async def issue(self) -> str:
        nonce = b64url_encode(secrets.token_bytes(18))
        await self._client.set(self._prefix + nonce, b"1", px=int(self._ttl * 1000))
        return nonce

    async def consume(self, nonce: str) -> bool:
        try:
            return bool(await self._client.delete(self._prefix + nonce))
        except Exception:
            return False
