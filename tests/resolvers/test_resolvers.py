from __future__ import annotations

import asyncio
import json

import pytest

from didvc.did import RELATIONSHIPS, DidDocument, resolve_verification_method
from didvc.encoding import b64url_encode
from didvc.errors import (
    DidvcError,
    InvalidDidDocumentError,
    InvalidDidError,
    MethodNotSupportedError,
    NotFoundError,
)
from didvc.keys import KeyPair, KeyType, PublicKey
from resolvers import (
    CachingResolver,
    ResolverRegistry,
    StaticResolver,
    default_resolver,
    did_jwk_document,
    did_jwk_from_public_key,
    did_key_document,
)
from tests.conftest import load_fixture

VECTORS = load_fixture("vectors/did-key/did-key.json")


@pytest.mark.parametrize("did", sorted(VECTORS["documents"]))
def test_did_key_documents_match_the_vectors(did: str) -> None:
    assert did_key_document(did) == VECTORS["documents"][did]


@pytest.mark.parametrize("key_type", [KeyType.ED25519, KeyType.P256, KeyType.P384, KeyType.SECP256K1])
async def test_generated_did_key_documents_are_what_strict_parsing_makes_of_them(key_type: KeyType) -> None:
    """Resolving skips pydid for documents we generate; parsing them strictly gives the same."""
    from resolvers import did_key_from_public_key

    did = did_key_from_public_key(KeyPair.generate(key_type).public_key)
    generated = await default_resolver().resolve(did)
    parsed = DidDocument(did_key_document(did))  # the strict pydid path
    urls = {url for r in RELATIONSHIPS for url in parsed.relationship_ids(r)}
    for relationship in sorted(RELATIONSHIPS):
        assert generated.relationship_ids(relationship) == parsed.relationship_ids(relationship)
        for url in [*sorted(urls), f"{did}#other", "did:key:z6Mkother#z6Mkother"]:
            assert _outcome(generated, url, relationship) == _outcome(parsed, url, relationship)
    assert generated.data == parsed.data  # derived last: nothing above needed it


def _outcome(document: DidDocument, url: str, relationship: str) -> object:
    """What resolving ``url`` for ``relationship`` gives: the method, or the error code."""
    try:
        return document.verification_method(url, relationship)
    except DidvcError as error:
        return error.code


@pytest.mark.parametrize("entry", VECTORS["dids"], ids=lambda e: e["did"][:20])
async def test_did_key_vectors_resolve_with_their_key_type(entry: dict[str, str]) -> None:
    resolver = default_resolver()
    document = await resolver.resolve(entry["did"])
    vm_url = document.relationship_ids("assertionMethod")[0]
    method = await resolve_verification_method(resolver, vm_url, "assertionMethod")
    assert method.public_key.key_type == entry["keyType"]
    assert method.public_key.to_multikey() == entry["did"].removeprefix("did:key:")
    codec = int(entry["multicodec"], 16)
    assert document.data["verificationMethod"][0]["type"] == "Multikey"
    assert codec in {0xED, 0xE7, 0x1200, 0x1201}


@pytest.mark.parametrize("key_type", [KeyType.ED25519, KeyType.P256, KeyType.P384, KeyType.SECP256K1])
async def test_did_jwk_round_trip(key_type: KeyType) -> None:
    key = KeyPair.generate(key_type).public_key
    did = did_jwk_from_public_key(key)
    document = await default_resolver().resolve(did)
    method = document.verification_method(f"{did}#0", "authentication")
    assert method.public_key == key
    assert "keyAgreement" in document.data


def test_did_jwk_use_sig_has_no_key_agreement() -> None:
    jwk = {**KeyPair.generate().public_key.to_jwk(), "use": "sig"}
    did = "did:jwk:" + b64url_encode(json.dumps(jwk).encode())
    assert "keyAgreement" not in did_jwk_document(did)


@pytest.mark.parametrize(
    "did",
    [
        "did:jwk:" + b64url_encode(b"not json"),
        "did:jwk:" + b64url_encode(b"[1,2]"),
        "did:jwk:" + b64url_encode(json.dumps({"kty": "oct", "k": "AAAA"}).encode()),
        "did:jwk:" + b64url_encode(json.dumps(KeyPair.generate().private_jwk()).encode()),
        "did:jwk:" + b64url_encode(b"[" * 100_000 + b"]" * 100_000),
        "did:key:z6MkTooShort",
        "did:key:zQ3s" + "1" * 10,
        "did:key:" + KeyPair.generate().secret_multikey(),
    ],
)
async def test_malformed_method_specific_ids(did: str) -> None:
    with pytest.raises(InvalidDidError) as info:
        await default_resolver().resolve(did)
    assert info.value.code == "invalidDid"


async def test_unknown_method() -> None:
    with pytest.raises(MethodNotSupportedError) as info:
        await default_resolver().resolve("did:example:123")
    assert info.value.code == "methodNotSupported"


async def test_invalid_did_at_registry() -> None:
    with pytest.raises(InvalidDidError):
        await default_resolver().resolve("not:a:did")


async def test_static_resolver_and_registry_check_document_id() -> None:
    key = KeyPair.generate().public_key.to_multikey()
    doc = {
        "id": "did:example:a",
        "verificationMethod": [
            {
                "id": "did:example:a#1",
                "type": "Multikey",
                "controller": "did:example:a",
                "publicKeyMultibase": key,
            }
        ],
    }
    static = StaticResolver({"did:example:a": doc})
    assert (await static.resolve("did:example:a")).id == "did:example:a"
    with pytest.raises(NotFoundError):
        await static.resolve("did:example:b")

    class Liar:
        async def resolve(self, did: str) -> DidDocument:
            return DidDocument(doc)

    with pytest.raises(InvalidDidDocumentError):
        await ResolverRegistry({"example": Liar()}).resolve("did:example:zzz")


async def test_caching_resolver_coalesces_and_expires() -> None:
    calls = 0
    gate = asyncio.Event()
    key = PublicKey.from_multikey(KeyPair.generate().public_key.to_multikey())
    did = "did:key:" + key.to_multikey()

    class Slow:
        async def resolve(self, requested: str) -> DidDocument:
            nonlocal calls
            calls += 1
            await gate.wait()
            return DidDocument(did_key_document(requested))

    now = [0.0]
    caching = CachingResolver(Slow(), ttl=10, clock=lambda: now[0])
    tasks = [asyncio.create_task(caching.resolve(did)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    documents = await asyncio.gather(*tasks)
    assert calls == 1
    assert all(d is documents[0] for d in documents)
    await caching.resolve(did)
    assert calls == 1
    now[0] = 11
    await caching.resolve(did)
    assert calls == 2


async def test_caching_resolver_does_not_cache_failures() -> None:
    calls = 0

    class Failing:
        async def resolve(self, did: str) -> DidDocument:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.01)
            raise NotFoundError("gone")

    caching = CachingResolver(Failing())
    results = await asyncio.gather(
        *(caching.resolve("did:example:x") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, NotFoundError) for r in results)
    with pytest.raises(NotFoundError):
        await caching.resolve("did:example:x")
    assert calls == 2
