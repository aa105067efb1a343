"""A controller rotates a did:web key: verifiers holding the old document in their cache
re-resolve once (rate-limited per DID) instead of failing, and honour the document's max-age."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didvc.did import cached_verification_method, resolve_verification_method
from didvc.errors import InvalidVerificationMethodError, NotFoundError
from didvc.keys import KeyPair
from resolvers import (
    CachingResolver,
    MemoryFetcher,
    ResolverRegistry,
    StaticResolver,
    WebResolver,
    cache_lifetime,
)

DID = "did:web:issuer.example"
URL = "https://issuer.example/.well-known/did.json"


def _document(*pairs: tuple[str, KeyPair]) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": DID,
        "verificationMethod": [
            {
                "id": f"{DID}#{name}",
                "type": "Multikey",
                "controller": DID,
                "publicKeyMultibase": pair.public_key.to_multikey(),
            }
            for name, pair in pairs
        ],
        "assertionMethod": [f"{DID}#{name}" for name, _ in pairs],
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _resolver(fetcher: MemoryFetcher, clock: Clock) -> CachingResolver:
    return CachingResolver(ResolverRegistry({"web": WebResolver(fetcher=fetcher)}), clock=clock)


async def test_a_key_rotated_in_is_found_by_resolving_once_more() -> None:
    first, second = KeyPair.generate(), KeyPair.generate()
    fetcher, clock = MemoryFetcher(), Clock()
    fetcher.add(URL, _document(("key-1", first)), content_type="application/did+json")
    resolver = _resolver(fetcher, clock)
    await resolve_verification_method(resolver, f"{DID}#key-1", "assertionMethod")
    fetcher.add(URL, _document(("key-1", first), ("key-2", second)), content_type="application/did+json")
    method = await resolve_verification_method(resolver, f"{DID}#key-2", "assertionMethod")
    assert method.public_key.to_multikey() == second.public_key.to_multikey()
    assert fetcher.hits[URL] == 2
    await resolve_verification_method(resolver, f"{DID}#key-1", "assertionMethod")  # the new one cached
    assert fetcher.hits[URL] == 2


async def test_a_requests_fast_path_finds_only_fresh_cached_methods() -> None:
    """cached_verification_method answers from a fresh cached document only; anything else (not
    cached, expired, a method rotated in, another relationship) is left to the resolution."""
    first, second = KeyPair.generate(), KeyPair.generate()
    fetcher, clock = MemoryFetcher(), Clock()
    fetcher.add(URL, _document(("key-1", first)), content_type="application/did+json")
    resolver = _resolver(fetcher, clock)
    assert cached_verification_method(resolver, f"{DID}#key-1", "assertionMethod") is None
    await resolve_verification_method(resolver, f"{DID}#key-1", "assertionMethod")
    method = cached_verification_method(resolver, f"{DID}#key-1", "assertionMethod")
    assert method is not None and method.public_key.to_multikey() == first.public_key.to_multikey()
    assert cached_verification_method(resolver, f"{DID}#key-1", "authentication") is None
    fetcher.add(URL, _document(("key-1", first), ("key-2", second)), content_type="application/did+json")
    assert cached_verification_method(resolver, f"{DID}#key-2", "assertionMethod") is None
    clock.now += 301.0
    assert cached_verification_method(resolver, f"{DID}#key-1", "assertionMethod") is None
    static = StaticResolver({DID: _document(("key-1", first))})
    assert cached_verification_method(static, f"{DID}#key-1", "assertionMethod") is None
    assert cached_verification_method(resolver, "not a DID URL", "assertionMethod") is None


async def test_unknown_keys_cost_one_resolution_per_interval() -> None:
    fetcher, clock = MemoryFetcher(), Clock()
    fetcher.add(URL, _document(("key-1", KeyPair.generate())), content_type="application/did+json")
    resolver = _resolver(fetcher, clock)
    for n in range(50):
        with pytest.raises(InvalidVerificationMethodError):
            await resolve_verification_method(resolver, f"{DID}#forged-{n}", "assertionMethod")
    assert fetcher.hits[URL] == 2  # the first resolution, one refresh
    clock.now += 10.0
    with pytest.raises(InvalidVerificationMethodError):
        await resolve_verification_method(resolver, f"{DID}#forged", "assertionMethod")
    assert fetcher.hits[URL] == 3


async def test_a_failed_refresh_keeps_the_cached_document() -> None:
    pair = KeyPair.generate()
    fetcher, clock = MemoryFetcher(), Clock()
    fetcher.add(URL, _document(("key-1", pair)), content_type="application/did+json")
    resolver = _resolver(fetcher, clock)
    await resolve_verification_method(resolver, f"{DID}#key-1", "assertionMethod")
    fetcher.remove(URL)  # the document is gone for now (the host answers 404)
    with pytest.raises(NotFoundError):
        await resolve_verification_method(resolver, f"{DID}#key-2", "assertionMethod")
    await resolve_verification_method(resolver, f"{DID}#key-1", "assertionMethod")  # still cached


@pytest.mark.parametrize(
    ("cache_control", "lifetime"),
    [("public, max-age=30", 30.0), ("no-store", 1.0), ("max-age=100000", 300.0), (None, 300.0)],
)
async def test_the_documents_max_age_is_honoured(cache_control: str | None, lifetime: float) -> None:
    fetcher, clock = MemoryFetcher(), Clock()
    headers = {"Cache-Control": cache_control} if cache_control else None
    fetcher.add(
        URL, _document(("key-1", KeyPair.generate())), content_type="application/did+json", headers=headers
    )
    resolver = _resolver(fetcher, clock)
    await resolver.resolve(DID)
    clock.now += lifetime - 0.5
    await resolver.resolve(DID)
    assert fetcher.hits[URL] == 1
    clock.now += 1.0
    await resolver.resolve(DID)
    assert fetcher.hits[URL] == 2


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=120)
    | st.sampled_from(["max-age=", "max-age=-5", "max-age=1e9", 'max-age="60"', "MAX-AGE=7"])
)
def test_the_cache_control_parser_takes_any_header(header: str) -> None:
    lifetime = cache_lifetime(header)
    assert lifetime is None or 0 <= lifetime <= 2**31


def test_cache_control_forms() -> None:
    assert cache_lifetime('public, MAX-AGE="60"') == 60.0
    assert cache_lifetime("max-age=99999999999999999999") == 2**31
    assert cache_lifetime("no-cache, max-age=60") == 0.0
    assert cache_lifetime("max-age=-5") is None
