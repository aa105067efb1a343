"""DID resolution: a registry of resolvers by DID method, with caching.

>>> from resolvers import default_resolver
>>> resolver = default_resolver()
>>> document = await resolver.resolve("did:key:z6Mk...")   # doctest: +SKIP
"""

from __future__ import annotations

from didvc.did import DidResolver as Resolver
from resolvers._base import CachingResolver, ResolverRegistry, StaticResolver
from resolvers.jwk import JwkResolver, did_jwk_document, did_jwk_from_public_key
from resolvers.key import KeyResolver, did_key_document, did_key_from_public_key

__all__ = [
    "CachingResolver",
    "JwkResolver",
    "KeyResolver",
    "Resolver",
    "ResolverRegistry",
    "StaticResolver",
    "default_resolver",
    "did_jwk_document",
    "did_jwk_from_public_key",
    "did_key_document",
    "did_key_from_public_key",
]


def default_resolver(*, ttl: float = 300.0) -> CachingResolver:
    """did:key and did:jwk (did:web joins when the verifier component lands), cached."""
    return CachingResolver(ResolverRegistry({"key": KeyResolver(), "jwk": JwkResolver()}), ttl=ttl)
