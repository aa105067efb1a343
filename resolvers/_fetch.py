"""The fetching seam: what did:web resolution and status lists need of the network.

A :class:`Fetcher` GETs one document and answers a :class:`Fetched` or raises
:class:`~didvc.errors.FetchError` saying why (its ``reason``). Given the ``etag`` of a copy
the caller holds, it asks conditionally (``If-None-Match``) and answers status 304 with no body
when that copy is still current (RFC 9110 §13.1.2).
:class:`~resolvers.GuardedFetcher` does it over the network under the SSRF rules;
:class:`MemoryFetcher` serves documents from memory, for the tests of code built on didvc, as
httpx ships ``MockTransport``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from didvc.errors import FetchError

__all__ = ["Fetched", "Fetcher", "MemoryFetcher"]


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class Fetcher(Protocol):
    async def fetch(
        self, url: str, *, accept: Iterable[str], max_bytes: int, etag: str | None = None
    ) -> Fetched:
        """GET ``url``: one of the ``accept`` media types, at most ``max_bytes`` long (or 304
        when ``etag`` is still current); raises :class:`FetchError`."""
        ...

    async def close(self) -> None: ...


class MemoryFetcher:
    """A :class:`Fetcher` over documents held in memory; ``hits`` counts the fetches per URL.

    >>> fetcher = MemoryFetcher()
    >>> fetcher.add("https://issuer.example/status/1", signed_list, headers={"Cache-Control": "max-age=60"})
    """

    def __init__(self) -> None:
        self._documents: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        self.hits: Counter[str] = Counter()

    def add(
        self,
        url: str,
        body: bytes | str | Mapping[str, Any],
        *,
        content_type: str = "application/json",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Serve ``body`` (bytes, text, or a JSON object) at ``url`` from now on."""
        data = (
            body
            if isinstance(body, bytes)
            else (body if isinstance(body, str) else json.dumps(body)).encode()
        )
        self._documents[url] = (
            status,
            content_type,
            data,
            {k.lower(): v for k, v in (headers or {}).items()},
        )

    def remove(self, url: str) -> None:
        self._documents.pop(url, None)

    async def fetch(
        self, url: str, *, accept: Iterable[str], max_bytes: int, etag: str | None = None
    ) -> Fetched:
        """The document at ``url``; 304 when it was added with an ``ETag`` header equal to
        ``etag``."""
        self.hits[url] += 1
        served = self._documents.get(url)
        if served is None:
            raise FetchError(f"HTTP 404 from {url[:100]}", reason="http_status", status=404)
        status, content_type, body, headers = served
        if etag is not None and headers.get("etag") == etag:
            return Fetched(url, 304, content_type, b"", dict(headers))
        if status != 200:
            raise FetchError(f"HTTP {status} from {url[:100]}", reason="http_status", status=status)
        if content_type.lower() not in {a.lower() for a in accept}:
            raise FetchError(f"unexpected content type {content_type!r}", reason="media_type")
        if len(body) > max_bytes:
            raise FetchError(f"response larger than {max_bytes} bytes", reason="too_large")
        return Fetched(url, status, content_type, body, dict(headers))

    async def close(self) -> None:
        """Nothing to close."""
