"""Replay cache and server nonces in Redis, shared by every verifier of a fleet.

``SET key 1 NX PX lifetime`` is atomic, so of many concurrent copies exactly one is accepted.
The cache also knows when its memory starts. Its *epoch* key holds the moment from which
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
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from didvc.encoding import b64url_encode
from didvc.errors import ReplayCacheError, ReplayCacheUnavailableError, ReplayDetectedError

__all__ = ["RedisNonceStore", "RedisReplayCache"]

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
_WHAT: Final = "the replay cache"
#: Ids per script call: a script holds Redis for its run (256 SETs, well under a millisecond).
_IDS_PER_CALL: Final = 256


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

    A verifier whose clock is set back more than a second (a clock that ran ahead, stepped to
    the right time) refuses from then on the tokens issued before its new time less a second:
    the ids of those that expired in the seconds it went back over have left Redis, and they
    look unexpired again. Each process watches its own clock.
    """

    def __init__(self, client: Any, *, prefix: str = "didvc:jti:", timeout: float = 1.0) -> None:
        self._client = client
        self._prefix = prefix
        self._epoch_key = prefix + "epoch"
        self._timeout = timeout
        self._sha = hashlib.sha1(_REMEMBER.encode()).hexdigest()  # noqa: S324 -- Redis names scripts so
        self._batch: list[tuple[tuple[str, int, int], asyncio.Future[Any]]] = []
        self._epoch_set: asyncio.Future[None] | None = None  # one setting at a time, shared
        self._latest = -math.inf  # the time of the last id asked about, on this process's clock
        self._since = -math.inf  # this process's clock went back: tokens issued before, refused

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisReplayCache:
        return cls(_client(url), **kwargs)

    def seen(self, key: str, *, now: float, issued_at: float = math.inf) -> bool:
        """The part of the check this process can make alone, before the token's signature:
        raises for a token issued before its clock was set back (see the class). Whether the
        id is held is asked of Redis once, when it is stored: False here."""
        if now < self._latest - 1:  # set back
            self._since = max(self._since, math.floor(now) - 1)
        self._latest = now
        if issued_at < self._since:
            raise ReplayDetectedError(
                "this token was issued before this verifier's clock was set back; send a fresh one"
            )
        return False

    async def remember(self, key: str, expires_at: float, *, now: float, issued_at: float) -> bool:
        self.seen(key, now=now, issued_at=issued_at)
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
        script is loaded again if Redis lost it. A batch of one call, nearly every one, is sent
        without a pipeline (redis-py's pipeline costs about 20 µs of CPU a batch more)."""
        for attempt in range(2):
            try:
                if len(calls) <= _IDS_PER_CALL:
                    return list(await self._client.evalsha(self._sha, *self._arguments(calls)))
                pipe = self._client.pipeline(transaction=False)
                for first in range(0, len(calls), _IDS_PER_CALL):
                    pipe.evalsha(self._sha, *self._arguments(calls[first : first + _IDS_PER_CALL]))
                return [answer for answers in await pipe.execute() for answer in answers]
            except _redis_errors()[3]:  # a Redis restarted since: its scripts are gone
                if attempt:
                    raise
                await self._client.script_load(_REMEMBER)
        raise AssertionError("unreachable")  # pragma: no cover

    def _arguments(self, part: list[tuple[str, int, int]]) -> list[Any]:
        """One script call's arguments: the number of keys, the epoch and the ids, then each
        id's lifetime and issue time."""
        keys = [key for key, _, _ in part]
        times = [value for _, lifetime, issued in part for value in (lifetime, issued)]
        return [1 + len(keys), self._epoch_key, *keys, *times]

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
