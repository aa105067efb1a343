"""``requests``: :class:`WalletAuth`, an ``AuthBase`` that gives every request a fresh header
bound to its method, URL and exact body, and retries once, with a fresh header, when a 401
hands out a nonce or refused the header as a replay (the server restarted since it was signed).

>>> auth = WalletAuth.open("agent.wallet", passphrase=secret)                   # doctest: +SKIP
>>> requests.get("https://api.example/orders", auth=auth)
"""

from __future__ import annotations

import os
from typing import Any

import requests
from requests.auth import AuthBase

from didvc.blocking import LoopThread
from didvc.request import another_try
from wallet._looped import open_looped
from wallet._wallet import Wallet

__all__ = ["WalletAuth"]


class WalletAuth(AuthBase):
    """Sign each request with a wallet living in a helper loop (``audience``, ``scopes``,
    ``did``: as for :meth:`~wallet.Wallet.request_headers`); make it with :meth:`open`."""

    def __init__(self, wallet: Wallet, runner: LoopThread, **options: Any) -> None:
        self.wallet = wallet
        self.runner = runner
        self.options = options

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, passphrase: str | bytes, **options: Any) -> WalletAuth:
        wallet, runner = open_looped(path, passphrase, options)
        return cls(wallet, runner, **options)

    def close(self) -> None:
        self.runner.run(self.wallet.close())
        self.runner.close()

    def _sign(self, request: requests.PreparedRequest, nonce: str | None) -> None:
        raw = request.body
        if raw is not None and not isinstance(raw, str | bytes):
            raise TypeError("a streamed body cannot be bound to a request token: send bytes")
        body = raw.encode() if isinstance(raw, str) else raw
        options = {**self.options, **({"nonce": nonce} if nonce else {})}
        method, url = request.method or "GET", request.url or ""
        request.headers.update(
            self.runner.run(self.wallet.request_headers(method, url, body=body or None, **options))
        )

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self._sign(request, None)
        request.register_hook("response", self._retry)
        return request

    def _retry(self, response: requests.Response, **send: Any) -> requests.Response:
        retry, nonce = another_try(response.status_code, response.headers)
        if not retry or getattr(response.request, "didvc_retried", False):
            return response
        response.close()
        again = response.request.copy()
        again.didvc_retried = True  # type: ignore[attr-defined]
        self._sign(again, nonce)
        retried: requests.Response = response.connection.send(again, **send)
        retried.history.append(response)
        retried.request = again
        return retried
