"""The public surface is deliberate: each package exports exactly the intended names."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import didvc.errors

EXPECTED = {
    "didvc": {"__version__"},
    "didvc.keys": {"KeyPair", "KeySigner", "KeyType", "PublicKey", "Signer", "key_type_for_jws_alg"},
    "didvc_cli": {"main"},
    "resolvers": {
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
    },
    "issuer": {
        "AuditEntry",
        "AuditLogError",
        "AGENT_CONTEXT",
        "BatchRow",
        "DidvcError",
        "InventoryEntry",
        "Issuer",
        "IssuerError",
        "IssuerStoreError",
        "KdfParams",
        "MalformedValueError",
        "Securing",
        "StatusChangeError",
        "StoreConflictError",
        "StoreCorruptedError",
        "StoreLockedError",
        "StoreUnavailableError",
        "UnknownCredentialError",
        "WrongPassphraseError",
        "create_app",
        "did_web_for",
        "passphrase_from",
        "batch_key",
        "read_rows",
    },
    "wallet": {
        "CredentialRecord",
        "DidRecord",
        "DidvcError",
        "InputTooLargeError",
        "InvalidKeyError",
        "KdfParams",
        "MalformedValueError",
        "Wallet",
        "WalletCorruptedError",
        "WalletError",
        "WalletLockedError",
        "WalletSession",
        "WrongPassphraseError",
        "passphrase_from",
    },
    "verifier": {
        "NONCE_HEADER",
        "VERIFICATION_RESULT",
        "CredentialResult",
        "CredentialRevokedError",
        "CredentialSuspendedError",
        "DidvcError",
        "MalformedValueError",
        "MemoryNonceStore",
        "MemoryReplayCache",
        "Mode",
        "NonceCheck",
        "Policy",
        "Problem",
        "RedisNonceStore",
        "RedisReplayCache",
        "RedisStatusChannel",
        "ReplayCacheError",
        "ReplayCacheUnavailableError",
        "ReplayDetectedError",
        "RouteRule",
        "StatusChecker",
        "StatusEventStream",
        "StatusOutcome",
        "StatusRetrievalError",
        "StatusVerificationError",
        "VerificationResult",
        "Verifier",
        "create_verifier_app",
        "middleware",
    },
}

#: Modules whose errors never reach a caller: the verifier turns them into problem codes.
REPORTED_NOT_RAISED = {
    "verifier/_credentials.py",
    "verifier/_general.py",
    "verifier/_middleware.py",
    "verifier/_service.py",
    "verifier/_pipeline.py",
    "verifier/_settled.py",
    "verifier/_steps.py",
    "verifier/_worker.py",
    "didvc/worker.py",
}
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_exported_names(module: str) -> None:
    mod = importlib.import_module(module)
    assert set(mod.__all__) == EXPECTED[module]
    for name in mod.__all__:
        assert hasattr(mod, name)


@pytest.mark.parametrize("package", ["resolvers", "issuer", "wallet", "verifier"])
def test_every_error_a_package_raises_is_exported_by_it(package: str) -> None:
    raised = set()
    for path in sorted((ROOT / package).glob("*.py")):
        if f"{package}/{path.name}" in REPORTED_NOT_RAISED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            call = node.exc if isinstance(node, ast.Raise) else None
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
                error = getattr(didvc.errors, call.func.id, None)
                if isinstance(error, type) and issubclass(error, didvc.errors.DidvcError):
                    raised.add(call.func.id)
    assert raised, "the scan found no raise at all: it is not reading the package"
    assert raised <= set(importlib.import_module(package).__all__)


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


def test_the_documented_error_tree_is_the_real_one() -> None:
    """docs/api.md draws the error tree: every class with its parent and its code."""
    text = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    tree = text.split("## Every problem code", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    drawn: dict[str, tuple[str | None, str | None]] = {}
    parents: list[str] = []
    for line in tree.strip().splitlines():
        match = re.match(r"^([│ ]*)(?:[├└]── )?(\w+Error)\s*([A-Za-z_]+)?", line)
        assert match, line
        depth = len(match.group(1)) // 4 + (1 if "── " in line else 0)
        del parents[depth:]
        code = match.group(3) if match.group(3) and match.group(3)[0] != "(" else None
        drawn[match.group(2)] = (parents[-1] if parents else None, code)
        parents.append(match.group(2))
    real = {
        name: obj
        for name in didvc.errors.__all__
        if isinstance(obj := getattr(didvc.errors, name), type) and issubclass(obj, Exception)
    }
    assert set(drawn) == set(real)
    for name, (parent, code) in drawn.items():
        cls = real[name]
        if parent is not None:
            assert cls.__bases__[0].__name__ == parent, name
        if code is not None:
            assert cls.code == code, name
