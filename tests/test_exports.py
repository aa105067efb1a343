"""The public surface is deliberate: each package exports exactly the intended names."""

from __future__ import annotations

import importlib

import pytest

import didvc.errors

EXPECTED = {
    "resolvers": {
        "CachingResolver",
        "FetchError",
        "FetchPolicy",
        "Fetched",
        "Fetcher",
        "MemoryFetcher",
        "GuardedFetcher",
        "ForbiddenTargetError",
        "InvalidDidDocumentError",
        "InvalidDidError",
        "MethodNotSupportedError",
        "NotFoundError",
        "RepresentationNotSupportedError",
        "ResolutionError",
        "ResolverUnreachableError",
        "WebResolver",
        "did_web_url",
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
    },
    "didvc.keys": {"KeyPair", "KeySigner", "KeyType", "PublicKey", "Signer", "key_type_for_jws_alg"},
}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_exported_names(module: str) -> None:
    mod = importlib.import_module(module)
    assert set(mod.__all__) == EXPECTED[module]
    for name in mod.__all__:
        assert hasattr(mod, name)


def test_every_error_has_a_problem_code() -> None:
    for name in didvc.errors.__all__:
        obj = getattr(didvc.errors, name)
        if isinstance(obj, type):
            assert obj.code and " " not in obj.code
    codes = didvc.errors.all_codes()
    for required in [
        "PARSING_ERROR",
        "CRYPTOGRAPHIC_SECURITY_ERROR",
        "MALFORMED_VALUE_ERROR",
        "RANGE_ERROR",
        "PROOF_GENERATION_ERROR",
        "PROOF_VERIFICATION_ERROR",
        "PROOF_TRANSFORMATION_ERROR",
        "INVALID_DOMAIN_ERROR",
        "INVALID_CHALLENGE_ERROR",
        "STATUS_RETRIEVAL_ERROR",
        "STATUS_VERIFICATION_ERROR",
        "STATUS_LIST_LENGTH_ERROR",
        "invalidDid",
        "notFound",
        "methodNotSupported",
        "representationNotSupported",
        "INVALID_VERIFICATION_METHOD",
        "INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD",
        "DATA_LOSS_DETECTION_ERROR",
        "HOLDER_BINDING_ERROR",
        "REQUEST_BINDING_ERROR",
        "REPLAY_DETECTED_ERROR",
    ]:
        assert required in codes
