"""Status changes as they happen: the event stream ``didvc issuer serve`` offers verifiers.

``GET <base>/status/events`` is a Server-Sent Events stream (HTML Living Standard §9.2,
``text/event-stream``). Each change of a list is one event::

    event: status
    id: 3.17
    data: {"statusListCredential": "https://issuer.example/status/3", "version": 17}

An event is a hint, not a verdict: the verifier fetches the signed list again and believes only
its proof, so a forged or replayed event costs one fetch and can never revoke anything. A
verifier that (re)connects may have missed events and refreshes every list of this issuer.
Changes are seen by watching the store's list versions (every ``interval`` seconds, only while
someone listens), so a ``revoke`` from the CLI in another process is announced too. A comment
line every ``heartbeat`` seconds keeps idle connections alive and lets both ends notice a dead
one. At most ``max_listeners`` streams; a listener too slow to read is dropped (it reconnects).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Final

from aiohttp import web

from didvc.errors import DidvcError
from issuer._store import Store

__all__ = ["StatusEvents"]

_QUEUE: Final = 256  # events a listener may fall behind by before it is dropped


class StatusEvents:
    """The listeners of one issuer's status events, and the watcher that feeds them."""

    def __init__(
        self,
        store: Store,
        url_of: Callable[[int], str],
        *,
        interval: float = 0.2,
        heartbeat: float = 10.0,
        max_listeners: int = 256,
    ) -> None:
        self._store = store
        self._url_of = url_of
        self.interval = interval
        self.heartbeat = heartbeat
        self.max_listeners = max_listeners
        self._listeners: set[asyncio.Queue[bytes | None]] = set()
        self._watcher: asyncio.Task[None] | None = None

    async def close(self) -> None:
        for queue in self._listeners:
            queue.put_nowait(None)
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One listener's stream, until it or the server goes away."""
        if len(self._listeners) >= self.max_listeners:
            raise web.HTTPServiceUnavailable(headers={"Retry-After": "5"})
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(_QUEUE)
        self._listeners.add(queue)
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch())
        try:
            await response.write(b": didvc status events\n\n")
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), self.heartbeat)
                except TimeoutError:
                    message = b": keep-alive\n\n"
                if message is None:
                    break
                await response.write(message)
        except ConnectionResetError:  # the listener went away
            pass
        finally:  # also when the server shuts down and cancels this handler
            self._listeners.discard(queue)
        return response

    async def _watch(self) -> None:
        """Announce every list whose version moved, while anyone listens."""
        known: dict[int, int] | None = None
        while self._listeners:
            try:
                versions = await self._store.list_versions()
            except DidvcError:  # the store is busy or away for a moment: look again later
                await asyncio.sleep(self.interval)
                continue
            if known is not None:
                for list_id, version in versions.items():
                    if known.get(list_id, 0) != version:  # a list new since: changed if not at 0
                        self._announce(list_id, version)
            known = versions
            await asyncio.sleep(self.interval)

    def _announce(self, list_id: int, version: int) -> None:
        data = json.dumps({"statusListCredential": self._url_of(list_id), "version": version})
        message = f"event: status\nid: {list_id}.{version}\ndata: {data}\n\n".encode()
        for queue in list(self._listeners):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:  # too slow: drop it; on reconnecting it refreshes everything
                self._listeners.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)
