"""Status changes pushed to verifiers: an issuer's event stream, and a fleet's Redis channel.

Without them a revocation reaches a verifier when its copy of the status list expires (the
list's ``ttl``). With them it takes about a second (docs/scale-out.md):

- :class:`StatusEventStream` follows an issuer's ``/status/events`` (Server-Sent Events, see
  :mod:`issuer._events`) under the guarded network rules. An event is only a hint: the list it
  names is forgotten and fetched again, and only its signed proof is believed. Only lists next
  to the stream (same URL up to ``/status/``) can be named. On every (re)connection the events
  missed meanwhile are unknown, so every list from there is forgotten.
- :class:`RedisStatusChannel` shares what one process learned with every process of a fleet
  (Redis pub/sub): one process follows the stream, all forget the changed list at once. A
  process that loses its subscription forgets every list when it is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from typing import Any, Final, Protocol

from didvc.errors import FetchError

__all__ = ["RedisStatusChannel", "StatusEventStream"]

_log = logging.getLogger("didvc.verifier")
_MAX_LINE: Final = 4096  # an event line longer than this ends the connection
_EVERYTHING: Final = ""  # the prefix every URL starts with


class _Streaming(Protocol):
    def stream(self, url: str, *, accept: str, idle_timeout: float) -> Any: ...


class StatusEventStream:
    """Follows the event stream at ``url`` until cancelled, reconnecting with backoff.
    ``changed(url)`` is called for each list that changed, ``missed(prefix)`` on connecting."""

    def __init__(
        self,
        url: str,
        fetcher: _Streaming,
        *,
        changed: Callable[[str], None],
        missed: Callable[[str], None],
        idle_timeout: float = 30.0,
        backoff: tuple[float, float] = (0.2, 5.0),
    ) -> None:
        self.url = url
        self.prefix = url.rsplit("/", 1)[0] + "/"  # .../status/events -> .../status/
        self._fetcher = fetcher
        self._changed = changed
        self._missed = missed
        self._idle_timeout = idle_timeout
        self._backoff = backoff
        self.connected = asyncio.Event()

    async def run(self) -> None:
        delay = self._backoff[0]
        while True:
            try:
                async with self._fetcher.stream(
                    self.url, accept="text/event-stream", idle_timeout=self._idle_timeout
                ) as body:
                    self._missed(self.prefix)
                    self.connected.set()
                    delay = self._backoff[0]
                    await self._read(body)
            except (FetchError, ValueError, OSError, TimeoutError) as exc:
                _log.warning("status events from %s: %s; reconnecting", self.url[:100], exc)
            except Exception as exc:  # aiohttp's payload errors, a server gone mid-event
                _log.warning("status events from %s: %s; reconnecting", self.url[:100], type(exc).__name__)
            self.connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])

    async def _read(self, body: Any) -> None:
        """Lines of at most ``_MAX_LINE`` bytes; an event ends with an empty line."""
        buffer = b""
        event, data = "", list[str]()
        async for chunk in body.iter_any():
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                if len(raw) > _MAX_LINE:
                    raise ValueError("an event line is too long")
                line = raw.decode("utf-8", "replace").rstrip("\r")
                if not line:
                    if event == "status" and data:
                        self._dispatch("\n".join(data))
                    event, data = "", []
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                    if len(data) > 16:
                        raise ValueError("an event has too many data lines")
            if len(buffer) > _MAX_LINE:
                raise ValueError("an event line is too long")
        raise ConnectionError("the event stream ended")

    def _dispatch(self, data: str) -> None:
        try:
            url = json.loads(data).get("statusListCredential")
        except (ValueError, AttributeError):
            return
        if isinstance(url, str) and url.startswith(self.prefix) and len(url) <= 2048:
            self._changed(url)


class RedisStatusChannel:
    """Status changes shared by every verifier on one Redis (pub/sub ``channel``)."""

    def __init__(self, client: Any, *, channel: str = "didvc:status", timeout: float = 1.0) -> None:
        self._client = client
        self._channel = channel
        self._timeout = timeout
        self._sender = os.urandom(8).hex()  # its own messages come back: ignored
        self.subscribed = asyncio.Event()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisStatusChannel:
        import redis.asyncio as redis

        return cls(redis.from_url(url, socket_connect_timeout=0.5), **kwargs)

    async def publish(self, *, changed: str | None = None, missed: str | None = None) -> None:
        """Tell the fleet (best effort: a fleet that misses it still has the lists' ttl)."""
        message = json.dumps({"from": self._sender, "changed": changed, "missed": missed})
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.publish(self._channel, message)
        except Exception as exc:
            _log.warning("could not share a status change through Redis: %s", type(exc).__name__)

    async def listen(self, *, changed: Callable[[str], None], missed: Callable[[str], None]) -> None:
        """Until cancelled: each change another process shares; after a lost subscription,
        ``missed("")`` (everything)."""
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                missed(_EVERYTHING)
                self.subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._dispatch(message.get("data"), changed, missed)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.warning("status channel: %s; subscribing again", type(exc).__name__)
            finally:
                self.subscribed.clear()
                await pubsub.aclose()
            await asyncio.sleep(0.5)

    def _dispatch(self, data: Any, changed: Callable[[str], None], missed: Callable[[str], None]) -> None:
        try:
            message = json.loads(data)
        except (TypeError, ValueError):
            return
        if not isinstance(message, dict) or message.get("from") == self._sender:
            return
        if isinstance(message.get("changed"), str):
            changed(message["changed"])
        if isinstance(message.get("missed"), str):
            missed(message["missed"])
