"""The resolver seam: a registry by DID method, an in-memory resolver, and a caching layer.

A resolver is anything with ``async resolve(did) -> DidDocument``
(:class:`didvc.did.DidResolver`). :class:`ResolverRegistry` dispatches on the method name and
answers ``methodNotSupported`` for the rest; :class:`CachingResolver` keeps documents for a TTL
in a bounded LRU and makes concurrent resolutions of one DID share one underlying call.
"""

from __future__ import annotations

import time
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


class CachingResolver:
    """Caches resolved documents for ``ttl`` seconds (bounded LRU) and coalesces lookups.

    Failures are not cached, so an unreachable host is tried again on the next request.
    """

    def __init__(
        self,
        inner: DidResolver,
        *,
        ttl: float = 300.0,
        maxsize: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._ttl = ttl
        self._cache = TtlCache[str, DidDocument](maxsize=maxsize, clock=clock)

    def clear(self) -> None:
        self._cache.clear()

    async def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            await close()

    async def resolve(self, did: str) -> DidDocument:
        document = self._cache.get(did)
        if document is not None:
            return document

        async def load() -> tuple[DidDocument, float]:
            return await self._inner.resolve(did), self._ttl

        return await self._cache.get_or_load(did, load)
