"""Replay caches and server nonces: remember a token id for its lifetime, accept it once.

In memory by default (one process); in Redis when verifiers behind a load balancer must share
it: ``SET key 1 NX PX lifetime`` is atomic, so of many concurrent copies exactly one is accepted.

The Redis cache also knows when its memory starts. Its *epoch* key holds the moment from which
every used token is on record; a Redis restarted without persistence comes back without it, and
the first verifier to notice sets it to the moment Redis started (``INFO`` uptime). Tokens
issued before the epoch are refused from then on: they may have been used before the restart
(they expire within the longest token lifetime, so the rule soon has nothing left to refuse),
while every token issued after the restart is accepted on its first use. A stale connection is
tried once more; Redis not answering within ``timeout`` (1 s) is ``REPLAY_CACHE_UNAVAILABLE_ERROR``,
and the verifier fails closed (503 from the middleware).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, Protocol, TypeVar

from didvc.encoding import b64url_encode
from didvc.errors import ReplayCacheError, ReplayCacheUnavailableError, ReplayDetectedError

__all__ = [
    "MemoryNonceStore",
    "MemoryReplayCache",
    "NonceStore",
    "RedisNonceStore",
    "RedisReplayCache",
    "ReplayCache",
]

T = TypeVar("T")

#: One round trip for every token id of a batch: the epoch must exist and precede each token,
#: then each is stored once. KEYS: the epoch, then the ids; ARGV: each id's lifetime (ms) and
#: issue time (ms), in turn. One script call for the batch, not one per id: redis-py packs and
#: parses each call in Python (the Redis example: +3% requests/s in one process, +6% in two).
_REMEMBER: Final = """
local epoch = redis.call('GET', KEYS[1])
local answers = {}
for i = 2, #KEYS do
  if not epoch then
    answers[i - 1] = -2
  elseif tonumber(ARGV[2 * i - 2]) < tonumber(epoch) then
    answers[i - 1] = -1
  elseif redis.call('SET', KEYS[i], '1', 'NX', 'PX', ARGV[2 * i - 3]) then
    answers[i - 1] = 1
  else
    answers[i - 1] = 0
  end
end
return answers
"""
#: A second past any token's expiry (year 2286): where an id with no finite expiry is filed.
_NEVER: Final = 10_000_000_000
_WHAT: Final = "the replay cache"
#: What the in-memory cache holds of a key: its 64-bit hash, or, where a hash has 32 bits (a
#: 32-bit build, whose collisions among millions of ids would refuse honest tokens), the key.
_held_form: Final[Callable[[str], int | str]] = hash if sys.hash_info.width >= 64 else str
#: Ids per script call: a script holds Redis for its run (256 SETs, well under a millisecond).
_IDS_PER_CALL: Final = 256


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
    expires in; ids leave a second at a time as requests come, so no request pays for a purge
    of the whole cache. What is held of an id is its key's 64-bit hash (80 to 95 bytes with the
    set and the second's lists, against 200 for the key itself; the default 2.5 million ids
    take 200 MB): two keys of one hash would refuse the second as a replay, one chance in
    2^64 / ``len(self)`` per new id, and a refusal, never an acceptance. The hash is Python's
    own, keyed per process (PYTHONHASHSEED).

    A server's cache is told when it started serving (:meth:`begin`) and from then on refuses a
    token issued before: a restarted process has forgotten which tokens were used.
    """

    def __init__(self, *, max_entries: int = 2_500_000, max_per_holder: int | None = None) -> None:
        if max_entries < 1 or (max_per_holder is not None and max_per_holder < 1):
            raise ValueError("max_entries and max_per_holder are at least 1")
        self._held_ids: set[int | str] = set()  # the hashes of the keys not yet swept
        self._holders: dict[str, _Holder] = {}  # holders with ids not yet swept
        self._expiring: dict[int, tuple[list[int | str], list[_Holder]]] = {}  # by the second of expiry
        self._swept = 0  # the seconds before this one are swept
        self._epoch = -math.inf  # tokens issued before it are refused (see begin)
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
        little, is not refused for that."""
        self._epoch = max(self._epoch, math.floor(moment) - 1)

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

    def seen(self, key: str, *, now: float) -> bool:
        """Whether ``key`` is held (:meth:`remember` would refuse it): without waiting and
        storing nothing, so a verifier refuses a replayed token before its signature. A cache
        in another process (Redis) is asked once, when the token is stored."""
        if not self._swept <= now < self._swept + 1:
            self._moved(now)
        return _held_form(key) in self._held_ids

    async def remember(self, key: str, expires_at: float, *, now: float, issued_at: float) -> bool:
        # No await between the look-up and the store: atomic within the event loop.
        if not self._swept <= now < self._swept + 1:
            self._moved(now)
        if issued_at < self._epoch:
            raise ReplayDetectedError(
                "this token was issued before this verifier began to hold every token used (it"
                " restarted, or its clock was set back); send a fresh one"
            )
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


class RedisReplayCache:
    """A replay cache shared by every verifier using the same Redis (``redis.asyncio`` client).

    Run Redis with ``maxmemory-policy noeviction`` (an evicted token id could be replayed; a
    full Redis is ``REPLAY_CACHE_FULL_ERROR``), and either no persistence or AOF: a restore from
    an older snapshot keeps the epoch but not the tokens used since the snapshot.

    The token ids of concurrent requests travel together: each one joins the batch that the
    next turn of the event loop sends as one script call (one round trip, one connection, one
    timer for the ``timeout``), so a busy API pays about 25 µs a request for its replay check
    instead of a round trip each (165 µs here), and opens a few connections instead of one per
    request in flight.
    """

    def __init__(self, client: Any, *, prefix: str = "didvc:jti:", timeout: float = 1.0) -> None:
        self._client = client
        self._prefix = prefix
        self._epoch_key = prefix + "epoch"
        self._timeout = timeout
        self._sha = hashlib.sha1(_REMEMBER.encode()).hexdigest()  # noqa: S324 -- Redis names scripts so
        self._batch: list[tuple[tuple[str, int, int], asyncio.Future[Any]]] = []
        self._epoch_set: asyncio.Future[None] | None = None  # one setting at a time, shared

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisReplayCache:
        return cls(_client(url), **kwargs)

    async def remember(self, key: str, expires_at: float, *, now: float, issued_at: float) -> bool:
        call = (self._prefix + key, max(1, int((expires_at - now) * 1000) + 1), int(issued_at * 1000))
        answer = int(await self._batched(call))  # bounded in time once per batch, not per request
        if answer == -2:  # no epoch: first use, or a restart that lost everything
            await _bounded(self._set_epoch(now), self._timeout, _WHAT)
            answer = int(await self._batched(call))
        if answer == -1:
            raise ReplayDetectedError(
                "the replay cache lost its memory (Redis restarted without persistence): tokens"
                " issued before it came back are refused; send a fresh one"
            )
        return answer == 1

    def _batched(self, call: tuple[str, int, int]) -> asyncio.Future[Any]:
        """The script's answer for ``call`` (a key, its lifetime and issue time in ms), sent with
        every other call made before the event loop turns."""
        future = asyncio.get_running_loop().create_future()
        self._batch.append((call, future))
        if len(self._batch) == 1:
            asyncio.get_running_loop().call_soon(self._send)
        return future

    def _send(self) -> None:
        batch, self._batch = self._batch, []
        task = asyncio.ensure_future(self._run_batch(batch))
        task.add_done_callback(_retrieve)

    async def _run_batch(self, batch: list[tuple[tuple[str, int, int], asyncio.Future[Any]]]) -> None:
        """Each call's answer to its waiter; the batch is bounded by the timeout (one timer for
        all of them: a timer per request cost as much as the rest of the check), and a failure
        is every waiter's, as a could-not-check error."""
        calls = [call for call, _ in batch]
        try:
            answers = await _bounded(_once_more(lambda: self._script(calls)), self._timeout, _WHAT)
        except Exception as error:  # every waiter gets it, as its own call would have
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            if not future.done():  # a waiter that timed out has gone
                future.set_result(answer)

    async def _script(self, calls: list[tuple[str, int, int]]) -> list[Any]:
        """The calls' answers, in one round trip (a script call per ``_IDS_PER_CALL``); the
        script is loaded again if Redis lost it."""
        for attempt in range(2):
            pipe = self._client.pipeline(transaction=False)
            for first in range(0, len(calls), _IDS_PER_CALL):
                part = calls[first : first + _IDS_PER_CALL]
                keys = [key for key, _, _ in part]
                times = [value for _, lifetime, issued in part for value in (lifetime, issued)]
                pipe.evalsha(self._sha, 1 + len(keys), self._epoch_key, *keys, *times)
            try:
                return [answer for answers in await pipe.execute() for answer in answers]
            except _redis_errors()[3]:  # a Redis restarted since: its scripts are gone
                if attempt:
                    raise
                await self._client.script_load(_REMEMBER)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _set_epoch(self, now: float) -> None:
        """Set the epoch if it is missing, once for every request that found it missing."""
        if self._epoch_set is None or self._epoch_set.done():
            self._epoch_set = asyncio.ensure_future(self._write_epoch(now))
        await asyncio.shield(self._epoch_set)

    async def _write_epoch(self, now: float) -> None:
        await self._client.set(self._epoch_key, str(int(await self._started(now) * 1000)), nx=True)

    async def _started(self, now: float) -> float:
        """When this Redis started, on the verifier's clock: its memory is complete since then.
        Redis counts its uptime in whole seconds, so the start is rounded up to the next one:
        a token issued in the first second after a restart may be refused once, none issued
        before it is accepted."""
        info = await self._client.info("server")
        server_now = float(info.get("server_time_usec", 0)) / 1e6
        started = int(server_now) - int(info.get("uptime_in_seconds", 0)) + 1
        return now - (server_now - started)


def _client(url: str) -> Any:
    import redis.asyncio as redis

    return redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


@functools.cache
def _redis_errors() -> tuple[type[Exception], type[Exception], type[Exception], type[Exception]]:
    """redis-py's (connection, response, any, no-such-script) error classes, imported once:
    redis is optional."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import NoScriptError, RedisError, ResponseError

    return RedisConnectionError, ResponseError, RedisError, NoScriptError


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _once_more(call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, tried a second time when the first failed on a broken connection (a pooled
    connection left over from before a Redis restart)."""
    try:
        return await call()
    except _redis_errors()[0]:
        return await call()


async def _bounded(work: Awaitable[T], timeout: float, what: str) -> T:
    """``work`` within ``timeout`` seconds; Redis failing is a could-not-check error of ours."""
    _, ResponseError, RedisError, _ = _redis_errors()
    try:
        async with asyncio.timeout(timeout):
            return await work
    except ResponseError as exc:
        if "OOM" in str(exc):
            raise ReplayCacheError(f"{what} is full; refusing rather than forgetting") from None
        raise ReplayCacheUnavailableError(f"{what} failed ({exc})") from None
    except (RedisError, OSError, TimeoutError) as exc:
        raise ReplayCacheUnavailableError(f"{what} did not answer ({type(exc).__name__})") from None


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
    """Server nonces shared by a fleet; an outage is ``REPLAY_CACHE_UNAVAILABLE_ERROR``."""

    def __init__(
        self, client: Any, *, ttl: float = 120.0, prefix: str = "didvc:nonce:", timeout: float = 1.0
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._prefix = prefix
        self._timeout = timeout

    async def issue(self) -> str:
        nonce = b64url_encode(secrets.token_bytes(18))
        key, ttl_ms = self._prefix + nonce, int(self._ttl * 1000)
        await _bounded(
            _once_more(lambda: self._client.set(key, b"1", px=ttl_ms)), self._timeout, "the nonce store"
        )
        return nonce

    async def consume(self, nonce: str) -> bool:
        key = self._prefix + nonce
        return bool(
            await _bounded(_once_more(lambda: self._client.delete(key)), self._timeout, "the nonce store")
        )
