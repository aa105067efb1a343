"""An aiohttp client that presents the wallet's identity on every request.

>>> async with WalletSession(wallet) as http:                                     # doctest: +SKIP
...     response = await http.post("https://api.example/orders", json={"item": 1})
...     print(response.status, await response.json())

Each request gets a fresh vp+jwt bound to its method, URL and exact body. When the server
answers 401 with a nonce (``VP-Nonce``), or refused the token as a replay (it restarted since
the token was signed), the request is sent once more with a fresh token (and that nonce).
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterable
from typing import Any

import aiohttp

from didvc.request import NONCE_HEADER, another_try
from wallet._wallet import Wallet

__all__ = ["NONCE_HEADER", "WalletSession"]


class WalletSession:
    """Wraps an :class:`aiohttp.ClientSession` (its own, or one you pass and keep owning)."""

    def __init__(
        self,
        wallet: Wallet,
        *,
        session: aiohttp.ClientSession | None = None,
        did: str | None = None,
        audience: str | None = None,
        scopes: Iterable[str] | None = None,
        header: str = "Authorization",
        scheme: str | None = "VP",
    ) -> None:
        self.wallet = wallet
        self._session = session
        self._owns_session = session is None
        self.did = did
        self.audience = audience
        self.scopes = list(scopes) if scopes is not None else None
        self.header = header
        self.scheme = scheme

    async def __aenter__(self) -> WalletSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The underlying aiohttp session (requests sent on it carry no presentation)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> aiohttp.ClientResponse:
        """Send one request with a fresh presentation; the body is read before returning."""
        body: bytes | None
        extra = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":")).encode()
            extra.setdefault("Content-Type", "application/json")
        elif isinstance(data, str):
            body = data.encode()
        else:
            body = data
        nonce = None
        for attempt in range(2):
            presentation = await self.wallet.request_headers(
                method,
                url,
                body=body,
                nonce=nonce,
                did=self.did,
                audience=self.audience,
                scopes=self.scopes,
                header=self.header,
                scheme=self.scheme,
            )
            response = await self.session.request(
                method, url, data=body, headers={**extra, **presentation}, **kwargs
            )
            await response.read()
            response.release()
            again, nonce = another_try(response.status, response.headers)
            if attempt or not again:
                return response
        return response  # pragma: no cover - the loop always returns

    async def get(self, url: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("PUT", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("DELETE", url, **kwargs)
