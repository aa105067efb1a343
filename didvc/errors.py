"""One error hierarchy for didvc, each class carrying the problem code a spec gives it.

Verification turns these into ``(code, message)`` problems; only misuse of an API raises. Codes
come from the specs that name them (VC Data Model 2.0, Data Integrity 1.0, Bitstring Status List
1.0, DID Resolution, Controlled Identifiers 1.0); *ours* follow their style. † marks
``could_not_check``: unreachable, busy or locked, not "checked and invalid". All live here; each
package exports those its public methods raise.

The tree of every class and its code is in docs/api.md ("Every problem code"); a test keeps
the two the same.
"""

from __future__ import annotations

from typing import Final

#: Problem details (RFC 9457) name their ``type`` as this URL followed by the problem code.
PROBLEM_TYPE: Final = "https://w3id.org/didvc/problems#"


class DidvcError(Exception):
    """Base of every error didvc raises on purpose; ``code`` is the spec's problem code."""

    code: str = "DIDVC_ERROR"
    could_not_check: bool = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class DataModelError(DidvcError):
    code = "MALFORMED_VALUE_ERROR"


class ParsingError(DataModelError):
    code = "PARSING_ERROR"


class InputTooLargeError(ParsingError):
    """Input beyond a bound checked before any expensive work: bytes, credentials, entries."""

    code = "INPUT_TOO_LARGE_ERROR"


class MalformedValueError(DataModelError):
    code = "MALFORMED_VALUE_ERROR"


class InvalidKeyError(MalformedValueError):
    code = "INVALID_KEY_ERROR"


class RangeError(DataModelError):
    code = "RANGE_ERROR"


class CredentialExpiredError(RangeError):
    code = "CREDENTIAL_EXPIRED_ERROR"


class CredentialNotYetValidError(RangeError):
    code = "CREDENTIAL_NOT_YET_VALID_ERROR"


class CryptographicSecurityError(DataModelError):
    code = "CRYPTOGRAPHIC_SECURITY_ERROR"


class InvalidSignatureError(CryptographicSecurityError):
    """A signature did not verify: raised by every low-level check, never a False to ignore."""


class TokenError(DidvcError):
    code = "INVALID_TOKEN_HEADER_ERROR"


class UnsupportedAlgorithmError(TokenError):
    code = "UNSUPPORTED_ALGORITHM_ERROR"


class InvalidTokenHeaderError(TokenError):
    code = "INVALID_TOKEN_HEADER_ERROR"


class ProofError(DidvcError):
    code = "PROOF_VERIFICATION_ERROR"


class ProofGenerationError(ProofError):
    code = "PROOF_GENERATION_ERROR"


class ProofVerificationError(ProofError):
    code = "PROOF_VERIFICATION_ERROR"


class ProofTransformationError(ProofError):
    code = "PROOF_TRANSFORMATION_ERROR"


class CanonicalizationLimitError(ProofTransformationError):
    """RDF canonicalization would take more work than the budget allows (a poison graph)."""

    code = "CANONICALIZATION_LIMIT_ERROR"


class InvalidDomainError(ProofError):
    code = "INVALID_DOMAIN_ERROR"


class InvalidChallengeError(ProofError):
    code = "INVALID_CHALLENGE_ERROR"


class MalformedProofError(ProofError):
    code = "MALFORMED_PROOF_ERROR"


class MismatchedProofPurposeError(ProofError):
    code = "MISMATCHED_PROOF_PURPOSE_ERROR"


class DataLossDetectionError(ProofError):
    """JSON-LD expansion would drop or leave relative a term, type or value (safe mode)."""

    code = "DATA_LOSS_DETECTION_ERROR"


class UnknownContextError(ProofError):
    """A JSON-LD context that is not bundled: never fetched, always an error."""

    code = "UNKNOWN_CONTEXT_ERROR"


class StatusError(DidvcError):
    code = "STATUS_VERIFICATION_ERROR"


class StatusRetrievalError(StatusError):
    code = "STATUS_RETRIEVAL_ERROR"
    could_not_check = True


class StatusVerificationError(StatusError):
    code = "STATUS_VERIFICATION_ERROR"


class CredentialRevokedError(StatusVerificationError):
    code = "CREDENTIAL_REVOKED_ERROR"


class CredentialSuspendedError(StatusVerificationError):
    code = "CREDENTIAL_SUSPENDED_ERROR"


class StatusListLengthError(StatusError):
    code = "STATUS_LIST_LENGTH_ERROR"


class ResolutionError(DidvcError):
    code = "internalError"


class InvalidDidError(ResolutionError):
    code = "invalidDid"


class InvalidDidUrlError(ResolutionError):
    code = "invalidDidUrl"


class NotFoundError(ResolutionError):
    code = "notFound"


class MethodNotSupportedError(ResolutionError):
    code = "methodNotSupported"


class RepresentationNotSupportedError(ResolutionError):
    code = "representationNotSupported"


class InvalidDidDocumentError(ResolutionError):
    code = "invalidDidDocument"


class ForbiddenTargetError(ResolutionError):
    """A DID document or status list URL that the network rules forbid: refused unfetched."""

    code = "forbiddenTarget"


class ResolverUnreachableError(ResolutionError):
    code = "internalError"
    could_not_check = True


class FetchError(DidvcError):
    """A fetch that failed, and why: ``reason`` is "forbidden" (a network rule said no),
    "too_large" or "media_type" (the refusals), "http_status" (see ``status``) or "unreachable";
    the last two mean could not check."""

    code = "FETCH_ERROR"
    REFUSALS = frozenset({"forbidden", "too_large", "media_type"})

    def __init__(self, message: str, *, reason: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.refused = reason in self.REFUSALS
        self.could_not_check = not self.refused


class VerificationMethodError(DidvcError):
    code = "INVALID_VERIFICATION_METHOD"


class InvalidVerificationMethodUrlError(VerificationMethodError):
    code = "INVALID_VERIFICATION_METHOD_URL"


class InvalidControlledIdentifierDocumentIdError(VerificationMethodError):
    code = "INVALID_CONTROLLED_IDENTIFIER_DOCUMENT_ID"


class InvalidControlledIdentifierDocumentError(VerificationMethodError):
    code = "INVALID_CONTROLLED_IDENTIFIER_DOCUMENT"


class InvalidVerificationMethodError(VerificationMethodError):
    code = "INVALID_VERIFICATION_METHOD"


class InvalidRelationshipForVerificationMethodError(VerificationMethodError):
    code = "INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD"


class PresentationError(DidvcError):
    code = "REQUEST_BINDING_ERROR"


class HolderBindingError(PresentationError):
    code = "HOLDER_BINDING_ERROR"


class RequestBindingError(PresentationError):
    code = "REQUEST_BINDING_ERROR"


class UseNonceError(RequestBindingError):
    """The presentation must carry a fresh nonce this server issued (none, unknown or used)."""

    code = "USE_NONCE"


class ReplayDetectedError(PresentationError):
    code = "REPLAY_DETECTED_ERROR"


class ReplayCacheError(PresentationError):
    code = "REPLAY_CACHE_FULL_ERROR"
    could_not_check = True


class ReplayCacheUnavailableError(ReplayCacheError):
    """The shared replay cache (Redis) did not answer in time: fail closed, could not check."""

    code = "REPLAY_CACHE_UNAVAILABLE_ERROR"


class VerifierBusyError(DidvcError):
    """Too much expensive work is waiting (unseen credentials to canonicalize): try again."""

    code = "VERIFIER_BUSY_ERROR"
    could_not_check = True


class PolicyError(DidvcError):
    code = "POLICY_ERROR"


class UntrustedIssuerError(PolicyError):
    code = "UNTRUSTED_ISSUER_ERROR"


class DelegationError(PolicyError):
    """A delegation chain that breaks a rule: a link wider than its parent (scopes, audiences,
    validity), hops not decreasing, a broken or forged parent reference, too deep (ours)."""

    code = "DELEGATION_ERROR"


class UntrustedPrincipalError(PolicyError):
    """A delegation chain that starts at a principal the policy does not accept (ours)."""

    code = "UNTRUSTED_PRINCIPAL_ERROR"


class MissingCredentialTypeError(PolicyError):
    code = "MISSING_CREDENTIAL_TYPE_ERROR"


class CredentialRequiredError(PolicyError):
    """A presentation without credentials, where the policy does not allow authentication only."""

    code = "CREDENTIAL_REQUIRED_ERROR"


class CredentialAudienceError(PolicyError):
    code = "CREDENTIAL_AUDIENCE_ERROR"


class InsufficientScopeError(PolicyError):
    code = "INSUFFICIENT_SCOPE_ERROR"


class UnlistedRouteError(PolicyError):
    code = "UNLISTED_ROUTE_ERROR"


class CredentialTooOldError(PolicyError):
    code = "CREDENTIAL_TOO_OLD_ERROR"


class WrongPassphraseError(DidvcError):
    """The passphrase does not open this wallet, issuer store or backup; nothing was changed."""

    code = "WRONG_PASSPHRASE_ERROR"


class IssuerError(DidvcError):
    code = "ISSUER_ERROR"


class UnknownCredentialError(IssuerError):
    code = "UNKNOWN_CREDENTIAL_ERROR"


class StatusChangeError(IssuerError):
    code = "STATUS_CHANGE_ERROR"


class AuditLogError(IssuerError):
    """The issuer's audit log does not verify: an entry was changed, removed or reordered."""

    code = "AUDIT_LOG_ERROR"


class IssuerStoreError(DidvcError):
    code = "STORE_ERROR"


class StoreLockedError(IssuerStoreError):
    code = "STORE_LOCKED_ERROR"
    could_not_check = True


class StoreCorruptedError(IssuerStoreError):
    code = "STORE_CORRUPTED_ERROR"


class StoreUnavailableError(IssuerStoreError):
    code = "STORE_UNAVAILABLE_ERROR"
    could_not_check = True


class StoreConflictError(IssuerStoreError):
    """A row the store already holds, written again: a credential id issued before."""

    code = "STORE_CONFLICT_ERROR"


class WalletError(DidvcError):
    code = "WALLET_ERROR"


class WalletLockedError(WalletError):
    code = "WALLET_LOCKED_ERROR"
    could_not_check = True


class WalletCorruptedError(WalletError):
    code = "WALLET_CORRUPTED_ERROR"


def all_codes() -> frozenset[str]:
    """Every problem code a didvc error can carry by default."""
    codes: set[str] = set()
    pending: list[type[DidvcError]] = [DidvcError]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return frozenset(codes)


_ERRORS = [
    name
    for name, value in list(globals().items())
    if isinstance(value, type) and issubclass(value, DidvcError)
]
__all__ = [*sorted(_ERRORS), "PROBLEM_TYPE", "all_codes"]
