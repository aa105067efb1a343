"""The resolver seam: a registry by DID method, an in-memory resolver, and a caching layer.

A resolver is anything with ``async resolve(did) -> DidDocument``
(:class:`didvc.did.DidResolver`). :class:`ResolverRegistry` dispatches on the method name and
answers ``methodNotSupported`` for the rest; :class:`CachingResolver` keeps documents for a TTL
in a bounded LRU and makes concurrent resolutions of one DID share one underlying call.
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from didvc.cache import TtlCache
from didvc.did import DidDocument, DidResolver, parse_did
from didvc.errors import InvalidDidDocumentError, MethodNotSupportedError, NotFoundError

__all__ = ["CachingResolver", "ResolverRegistry", "StaticResolver"]


class ResolverRegistry:
    """Resolves a DID with the resolver registered for its method (``"key"``, ``"web"``, ...)."""

    def __init__(self, resolvers: Mapping[str, DidResolver]) -> None:
        self._resolvers = dict(resolvers)

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(self._resolvers)

    async def close(self) -> None:
        """Close what the registered resolvers hold open (HTTP sessions)."""
        for resolver in self._resolvers.values():
            close = getattr(resolver, "close", None)
            if close is not None:
                await close()

    async def resolve(self, did: str) -> DidDocument:
        parsed = parse_did(did)
        resolver = self._resolvers.get(parsed.method)
        if resolver is None:
            raise MethodNotSupportedError(f"DID method {parsed.method!r} is not supported")
        document = await resolver.resolve(parsed.did)
        if document.id != parsed.did:
            raise InvalidDidDocumentError(f"resolving {parsed.did} gave a document for {document.id}")
        return document


class StaticResolver:
    """An in-memory resolver over fixed documents (tests, pinned partners, offline use)."""

    def __init__(self, documents: Mapping[str, dict[str, Any] | DidDocument] | None = None) -> None:
        self._documents: dict[str, DidDocument] = {}
        for document in (documents or {}).values():
            self.add(document)

    def add(self, document: dict[str, Any] | DidDocument) -> DidDocument:
        doc = document if isinstance(document, DidDocument) else DidDocument(document)
        self._documents[doc.id] = doc
        return doc

    async def resolve(self, did: str) -> DidDocument:
        document = self._documents.get(did)
        if document is None:
            raise NotFoundError(f"{did} is not known to this resolver")
        return document


def _size_of(document: DidDocument) -> int:
    return document.size


class CachingResolver:
    """Caches resolved documents for ``ttl`` seconds (an LRU bounded by ``maxsize`` documents
    and about ``max_bytes``) and coalesces lookups.

    A document whose publisher set a shorter lifetime (did:web's HTTP ``max-age``) is kept that
    long, at least ``min_ttl``. Failures are not cached, so an unreachable host is tried again
    on the next request. :meth:`refresh` resolves a DID anew when a verification method is not
    in its cached document (a key rotated in), at most once per ``refresh_interval`` per DID.
    """

    def __init__(
        self,
        inner: DidResolver,
        *,
        ttl: float = 300.0,
        maxsize: int = 4096,
        max_bytes: int = 64 << 20,
        min_ttl: float = 1.0,
        refresh_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._ttl = ttl
        self._min_ttl = min(min_ttl, ttl)
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._cache = TtlCache[str, DidDocument](
            maxsize=maxsize, clock=clock, max_bytes=max_bytes, size_of=_size_of
        )
        self._refreshed: OrderedDict[str, float] = OrderedDict()
        self._maxsize = maxsize

    def clear(self) -> None:
        self._cache.clear()

    async def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            await close()

    async def _load(self, did: str) -> tuple[DidDocument, float]:
        document = await self._inner.resolve(did)
        ttl = self._ttl
        if document.cache_for is not None:
            ttl = max(self._min_ttl, min(ttl, document.cache_for))
        return document, ttl

    async def resolve(self, did: str) -> DidDocument:
        document = self._cache.get(did)
        if document is not None:
            return document
        return await self._cache.get_or_load(did, functools.partial(self._load, did))

    def cached(self, did: str) -> DidDocument | None:
        """The document held for ``did``, if it is still fresh; no resolution."""
        return self._cache.get(did)

    async def refresh(self, did: str) -> DidDocument:
        """The document resolved anew, unless it was in the last ``refresh_interval`` seconds
        (then the latest one, or the resolution under way). The cached document stays until
        the new one arrives, and stays if resolving fails."""
        now = self._clock()
        last = self._refreshed.get(did)
        if last is not None and now - last < self._refresh_interval:
            return await self.resolve(did)
        self._refreshed[did] = now
        self._refreshed.move_to_end(did)
        while len(self._refreshed) > self._maxsize:
            self._refreshed.popitem(last=False)
        return await self._cache.get_or_load(did, functools.partial(self._load, did), fresh=True)
