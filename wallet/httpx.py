"""``httpx``: :class:`WalletAuth`, an ``httpx.Auth`` that gives every request a fresh header
bound to its method, URL and exact body, and retries once, with a fresh header, when a 401
hands out a nonce or refused the header as a replay (the server restarted since it was signed).

>>> async with httpx.AsyncClient(auth=WalletAuth(wallet)) as client:            # doctest: +SKIP
...     response = await client.get("https://api.example/orders")
>>> with httpx.Client(auth=WalletAuth.open("agent.wallet", passphrase=secret)) as client:  # doctest: +SKIP
...     response = client.get("https://api.example/orders")
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx

from didvc.blocking import LoopThread
from didvc.request import another_try
from wallet._looped import open_looped
from wallet._wallet import Wallet

__all__ = ["WalletAuth"]


class WalletAuth(httpx.Auth):
    """Sign each request with ``wallet`` (``audience``, ``scopes``, ``did``: as for
    :meth:`~wallet.Wallet.request_headers`). A sync client needs a wallet living in a loop of
    its own: make it with :meth:`open`."""

    requires_request_body = True

    def __init__(self, wallet: Wallet, *, runner: LoopThread | None = None, **options: Any) -> None:
        self.wallet = wallet
        self.runner = runner
        self.options = options

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, passphrase: str | bytes, **options: Any) -> WalletAuth:
        """Open the wallet at ``path`` in a helper loop, for sync (and async) clients."""
        wallet, runner = open_looped(path, passphrase, options)
        return cls(wallet, runner=runner, **options)

    def close(self) -> None:
        if self.runner is not None:
            self.runner.run(self.wallet.close())
            self.runner.close()

    async def _headers(self, request: httpx.Request, nonce: str | None) -> dict[str, str]:
        options = {**self.options, **({"nonce": nonce} if nonce else {})}
        body = request.content or None
        return await self.wallet.request_headers(request.method, str(request.url), body=body, **options)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.runner is None:
            raise RuntimeError("a sync client needs WalletAuth.open(path, passphrase=...)")
        request.headers.update(self.runner.run(self._headers(request, None)))
        response = yield request
        again, nonce = another_try(response.status_code, response.headers)
        if again:
            request.headers.update(self.runner.run(self._headers(request, nonce)))
            yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers.update(await self._signed(request, None))
        response = yield request
        again, nonce = another_try(response.status_code, response.headers)
        if again:
            request.headers.update(await self._signed(request, nonce))
            yield request

    async def _signed(self, request: httpx.Request, nonce: str | None) -> dict[str, str]:
        if self.runner is None:
            return await self._headers(request, nonce)
        return await self.runner.run_async(self._headers(request, nonce))
