"""The verifier: one call that says who is calling and what it may do, or why not.

>>> from verifier import Verifier, Policy
>>> verifier = Verifier(policy=Policy.load("policy.toml"))                     # doctest: +SKIP
>>> result = await verifier.verify_presentation(token, audience="https://api.example",
...     method="POST", url="https://api.example/orders", body=body)           # doctest: +SKIP
>>> result.verified, result.holder, result.scopes, result.problems            # doctest: +SKIP
"""

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
from verifier._events import RedisStatusChannel, StatusEventStream
from verifier._middleware import NONCE_HEADER, VERIFICATION_RESULT, middleware
from verifier._pipeline import NonceCheck
from verifier._policy import Policy, RouteRule
from verifier._replay import MemoryNonceStore, MemoryReplayCache, RedisNonceStore, RedisReplayCache
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
    "Verifier",
    "middleware",
]
