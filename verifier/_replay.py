"""Replay caches and server nonces: remember a token id for its lifetime, accept it once.

In memory by default (one process, :class:`MemoryReplayCache`); in Redis when verifiers behind a
load balancer must share it (:mod:`verifier._redis`). Each cache knows when its memory starts
and refuses a token issued before: a restarted process, or a Redis restarted without
persistence, has forgotten which tokens were used.
"""

from __future__ import annotations

import logging
import math
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from typing import Final, Protocol

from didvc.development import refuse_in_production
from didvc.encoding import b64url_encode
from didvc.errors import ReplayCacheError, ReplayDetectedError

__all__ = ["MemoryNonceStore", "MemoryReplayCache", "NonceStore", "ReplayCache"]

_log = logging.getLogger("didvc.verifier")
#: A second past any token's expiry (year 2286): where an id with no finite expiry is filed.
_NEVER: Final = 10_000_000_000
#: What the in-memory cache holds of a key: its 64-bit hash, or, where a hash has 32 bits (a
#: 32-bit build, whose collisions among millions of ids would refuse honest tokens), the key.
_held_form: Final[Callable[[str], int | str]] = hash if sys.hash_info.width >= 64 else str


class ReplayCache(Protocol):
    async def remember(self, key: str, expires_at: float, *, now: float, issued_at: float) -> bool:
        """Store ``key`` until ``expires_at``; False if it was already there. Times are epoch
        seconds: ``now`` on the verifier's clock, ``issued_at`` as the token states it (a cache
        that lost its memory refuses what was issued before, raising ReplayDetectedError).
        The verifier's keys are ``holder DID|token id``."""
        ...


class MemoryReplayCache:
    """A bounded in-process replay cache: each token id kept until its token expires.

    Full means fail closed (``REPLAY_CACHE_FULL_ERROR``, 503 from the middleware): an id
    forgotten early would let its token be used again. So that one agent sending long-lived
    tokens fast cannot fill it for everyone, once the cache is half full each holder keeps at
    most ``max_per_holder`` ids (default a sixteenth of ``max_entries``): past that its own new
    tokens are refused the same way, until its older ones expire, and other agents' are not.
    One agent can so take at most half of the cache, and none is refused while it is less than
    half full. The holder is the part of a key before its first ``|``.

    An id is held, and refused, until the clock enters the second after the one its token
    expires in (or the one last swept, if later: a clock a little behind); ids leave a second
    at a time as requests come, so no request pays for a purge of the whole cache.

    What is held of an id is its key's 64-bit hash (80 to 95 bytes with the set and the
    second's lists, against 200 for the key itself; the default 2.5 million ids take 200 MB):
    two keys of one hash would refuse the second as a replay, one chance in 2^64 /
    ``len(self)`` per new id, and a refusal, never an acceptance. The hash is Python's own,
    keyed per process (PYTHONHASHSEED).

    A server's cache is told when it started serving (:meth:`begin`) and from then on refuses a
    token issued before: a restarted process has forgotten which tokens were used. A clock set
    back more than a second begins it anew the same way (:meth:`_moved`).
    """

    def __init__(
        self,
        *,
        max_entries: int = 2_500_000,
        max_per_holder: int | None = None,
        refuse_earlier_tokens: bool = True,
    ) -> None:
        if max_entries < 1 or (max_per_holder is not None and max_per_holder < 1):
            raise ValueError("max_entries and max_per_holder are at least 1")
        if not refuse_earlier_tokens:  # a development switch
            refuse_in_production("refuse_earlier_tokens=False")
            _log.warning(
                "refuse_earlier_tokens=False: after a restart, a token captured before it can be"
                " used once more. Load tests only."
            )
        self._held_ids: set[int | str] = set()  # the hashes of the keys not yet swept
        self._holders: dict[str, _Holder] = {}  # holders with ids not yet swept
        self._expiring: dict[int, tuple[list[int | str], list[_Holder]]] = {}  # by the second of expiry
        self._swept = 0  # the seconds before this one are swept
        self._epoch = -math.inf  # tokens issued before it are refused (see begin)
        self._refuse_earlier = refuse_earlier_tokens
        self._max = max_entries
        self._per_holder = max_per_holder or max(1, max_entries // 16)
        self._pressure = max_entries // 2  # from here on, each holder its share

    def __len__(self) -> int:
        return len(self._held_ids)

    def begin(self, moment: float) -> None:
        """The cache holds every token used from ``moment`` (epoch seconds) on: refuse, from now
        on, a token issued before it, as the Redis cache refuses one issued before Redis came
        back. A web server's gate calls it as it is built, through :meth:`Verifier.serving`.
        Without it a token captured in the ``max_token_lifetime`` before a restart could be used
        once more against the new process. The second before ``moment``'s is still accepted:
        a token signed just before the server started, or by an agent whose clock lags a
        little, is not refused for that.

        ``refuse_earlier_tokens=False`` makes this do nothing: for a load test whose tokens
        were all signed before the server started, never in production, where it reopens that
        window at every restart."""
        if self._refuse_earlier:
            self._epoch = max(self._epoch, math.floor(moment) - 1)

    def _keep_up(self, now: float, issued_at: float) -> None:
        """The clock's move seen to (:meth:`_moved`), then a token issued before the cache
        began refused."""
        if not self._swept <= now < self._swept + 1:
            self._moved(now)
        if issued_at < self._epoch:
            raise ReplayDetectedError(
                "this token was issued before this server started, or set its clock back: it has"
                " forgotten which earlier tokens were used (a restarted server does); send a fresh one"
            )

    def _moved(self, now: float) -> None:
        """The clock left the second last swept: forward, sweep up to it; set back by more than
        a second (a clock stepped back to the right time), the ids swept in the seconds it went
        back over could be accepted again (their tokens look unexpired once more), so the
        cache begins anew at ``now`` as a restarted one does (:meth:`begin`), and sweeps on
        from there instead of waiting for the clock to catch up while ids pile up."""
        if now >= self._swept + 1:
            self._sweep(int(now))
        elif now < self._swept - 1:
            self.begin(now)
            self._swept = int(now)

    def _sweep(self, second: int) -> None:
        """Drop the ids of tokens that expired before ``second`` (at most one pass over the
        seconds that hold any, however far the clock moved)."""
        if second - self._swept <= len(self._expiring):
            due: Iterable[int] = range(self._swept, second)
        else:
            due = sorted(moment for moment in self._expiring if moment < second)
        held_ids = self._held_ids
        for moment in due:
            filed = self._expiring.pop(moment, None)
            if filed is None:
                continue
            held_ids.difference_update(filed[0])
            for holder in filed[1]:
                holder.count -= 1
                if not holder.count:
                    del self._holders[holder.name]
        self._swept = second

    def seen(self, key: str, *, now: float, issued_at: float = math.inf) -> bool:
        """Whether ``key`` is held, or raises as :meth:`remember` does for a token issued
        before the cache began: without waiting and storing nothing, so a verifier refuses a
        replayed token before its signature (a refused one is never stored, so it would cost a
        signature each time it came again). A cache in another process (Redis) is asked once,
        when the token is stored."""
        self._keep_up(now, issued_at)
        return _held_form(key) in self._held_ids

    async def remember(self, key: str, expires_at: float, *, now: float, issued_at: float) -> bool:
        # No await between the look-up and the store: atomic within the event loop.
        self._keep_up(now, issued_at)
        digest = _held_form(key)
        held_ids = self._held_ids
        if digest in held_ids:
            return False
        name = _holder(key)
        holder = self._holders.get(name)
        if holder is not None and holder.count >= self._per_holder and len(held_ids) >= self._pressure:
            raise ReplayCacheError(
                "this agent has as many unexpired tokens on record as one agent may"
                " (max_per_holder); refusing rather than forgetting"
            )
        if len(held_ids) >= self._max:
            raise ReplayCacheError("the replay cache is full; refusing rather than forgetting")
        if holder is None:
            holder = self._holders[name] = _Holder(name)
        held_ids.add(digest)
        holder.count += 1
        second = _second(expires_at)
        if second < self._swept:  # the clock a little behind the sweep: filed where it will pass
            second = self._swept
        filed = self._expiring.get(second)
        if filed is None:
            self._expiring[second] = ([digest], [holder])
        else:
            filed[0].append(digest)
            filed[1].append(holder)
        return True


class _Holder:
    """A holder with ids not yet swept: each id's second lists it (one shared name, not a copy
    per id)."""

    __slots__ = ("count", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0


def _holder(key: str) -> str:
    """The holder a replay key names: what comes before its first ``|``."""
    cut = key.find("|")
    return key[:cut] if cut >= 0 else key


def _second(expires_at: float) -> int:
    """The second an id is filed under: its token's expiry, or ``_NEVER`` for none (inf, NaN)."""
    return int(expires_at) if expires_at < _NEVER else _NEVER


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
