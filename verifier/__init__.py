"""The verifier: one call that says who is calling and what it may do, or why not.

>>> from verifier import Verifier, Policy
>>> verifier = Verifier(policy=Policy.load("policy.toml"))                     # doctest: +SKIP
>>> result = await verifier.verify_presentation(token, audience="https://api.example",
...     method="POST", url="https://api.example/orders", body=body)           # doctest: +SKIP
>>> result.verified, result.holder, result.scopes, result.problems            # doctest: +SKIP
"""

from typing import TYPE_CHECKING, Any

from didvc.errors import (
    CredentialRevokedError,
    CredentialSuspendedError,
    DidvcError,
    MalformedValueError,
    ReplayCacheError,
    ReplayCacheUnavailableError,
    ReplayDetectedError,
    StatusRetrievalError,
    StatusVerificationError,
)
from didvc.request import NONCE_HEADER
from verifier._events import RedisStatusChannel, StatusEventStream
from verifier._general import Mode
from verifier._pipeline import NonceCheck
from verifier._policy import Policy, RouteRule
from verifier._redis import RedisNonceStore, RedisReplayCache
from verifier._replay import MemoryNonceStore, MemoryReplayCache
from verifier._result import CredentialResult, Problem, VerificationResult
from verifier._status import StatusChecker, StatusOutcome
from verifier._verifier import Verifier

__all__ = [
    "CredentialRevokedError",
    "CredentialSuspendedError",
    "DidvcError",
    "MalformedValueError",
    "ReplayCacheError",
    "ReplayCacheUnavailableError",
    "ReplayDetectedError",
    "StatusRetrievalError",
    "StatusVerificationError",
    "NONCE_HEADER",
    "VERIFICATION_RESULT",
    "CredentialResult",
    "MemoryNonceStore",
    "Mode",
    "MemoryReplayCache",
    "NonceCheck",
    "Policy",
    "Problem",
    "RedisNonceStore",
    "RedisReplayCache",
    "RedisStatusChannel",
    "RouteRule",
    "StatusChecker",
    "StatusEventStream",
    "StatusOutcome",
    "VerificationResult",
    "create_verifier_app",
    "Verifier",
    "middleware",
]

if TYPE_CHECKING:
    from verifier._middleware import VERIFICATION_RESULT, middleware
    from verifier._service import create_verifier_app


def __getattr__(name: str) -> Any:
    """The aiohttp middleware loads aiohttp's server on first use, not with every verifier."""
    if name in ("VERIFICATION_RESULT", "middleware"):
        from verifier import _middleware

        return getattr(_middleware, name)
    if name == "create_verifier_app":
        from verifier._service import create_verifier_app

        return create_verifier_app
    raise AttributeError(f"module 'verifier' has no attribute {name!r}")
