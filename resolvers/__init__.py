"""DID resolution: a registry of resolvers by DID method, with caching.

>>> from resolvers import default_resolver
>>> resolver = default_resolver()
>>> document = await resolver.resolve("did:key:z6Mk...")   # doctest: +SKIP
"""

from __future__ import annotations

from didvc.did import DidResolver as Resolver
from didvc.errors import (
    DidvcError,
    FetchError,
    ForbiddenTargetError,
    InvalidDidDocumentError,
    InvalidDidError,
    InvalidKeyError,
    InvalidVerificationMethodError,
    MethodNotSupportedError,
    NotFoundError,
    RepresentationNotSupportedError,
    ResolutionError,
    ResolverUnreachableError,
)
from resolvers._base import CachingResolver, ResolverRegistry, StaticResolver
from resolvers._fetch import Fetched, Fetcher, MemoryFetcher
from resolvers._http import FetchPolicy, GuardedFetcher
from resolvers.jwk import JwkResolver, did_jwk_document, did_jwk_from_public_key
from resolvers.key import KeyResolver, did_key_document, did_key_from_public_key
from resolvers.web import WebResolver, cache_lifetime, did_web_url

__all__ = [
    "CachingResolver",
    "DidvcError",
    "FetchError",
    "FetchPolicy",
    "Fetched",
    "Fetcher",
    "ForbiddenTargetError",
    "GuardedFetcher",
    "InvalidDidDocumentError",
    "InvalidDidError",
    "InvalidKeyError",
    "InvalidVerificationMethodError",
    "JwkResolver",
    "KeyResolver",
    "MemoryFetcher",
    "MethodNotSupportedError",
    "NotFoundError",
    "RepresentationNotSupportedError",
    "ResolutionError",
    "Resolver",
    "ResolverRegistry",
    "ResolverUnreachableError",
    "StaticResolver",
    "WebResolver",
    "cache_lifetime",
    "default_resolver",
    "did_jwk_document",
    "did_jwk_from_public_key",
    "did_key_document",
    "did_key_from_public_key",
    "did_web_url",
]


def default_resolver(
    *,
    ttl: float = 300.0,
    maxsize: int = 4096,
    max_bytes: int = 64 << 20,
    allow_http: bool = False,
    allow_loopback: bool = False,
    timeout: float = 5.0,
    fetcher: Fetcher | None = None,
) -> CachingResolver:
    """did:key, did:jwk and did:web, cached for ``ttl`` seconds, at most ``maxsize`` documents
    holding about ``max_bytes`` (:attr:`DidDocument.size`).

    did:web documents come through ``fetcher`` (default: the network under the guarded rules).
    ``allow_http``/``allow_loopback`` relax those rules for loopback tests and demos only; never
    in production.
    """
    fetcher = fetcher or GuardedFetcher(
        FetchPolicy(allow_http=allow_http, allow_loopback=allow_loopback, timeout=timeout)
    )
    web = WebResolver(fetcher=fetcher, allow_http=allow_http)
    return CachingResolver(
        ResolverRegistry({"key": KeyResolver(), "jwk": JwkResolver(), "web": web}),
        ttl=ttl,
        maxsize=maxsize,
        max_bytes=max_bytes,
    )
