"""One error hierarchy for didvc, each class carrying the problem code a spec gives it.

Verification code turns these into ``(code, message)`` problems in a result; only misuse of an
API raises to the caller. Codes come from the specs where one names them (VC Data Model 2.0,
Data Integrity 1.0, Bitstring Status List 1.0, DID Resolution, Controlled Identifiers 1.0);
the ones marked *ours* are defined here in the same style.

::

    DidvcError
    ├── DataModelError                       (VC Data Model 2.0 §7.1 problem details)
    │   ├── ParsingError                     PARSING_ERROR
    │   │   └── InputTooLargeError           INPUT_TOO_LARGE_ERROR             (ours: a size or count bound)
    │   ├── MalformedValueError              MALFORMED_VALUE_ERROR
    │   │   └── InvalidKeyError              INVALID_KEY_ERROR                 (ours)
    │   ├── RangeError                       RANGE_ERROR
    │   └── CryptographicSecurityError       CRYPTOGRAPHIC_SECURITY_ERROR
    │       └── InvalidSignatureError        CRYPTOGRAPHIC_SECURITY_ERROR
    ├── TokenError                           (ours: JOSE tokens)
    │   ├── UnsupportedAlgorithmError        UNSUPPORTED_ALGORITHM_ERROR       (ours)
    │   └── InvalidTokenHeaderError          INVALID_TOKEN_HEADER_ERROR        (ours)
    ├── ProofError                           (Data Integrity 1.0 §2.4 / §4)
    │   ├── ProofGenerationError             PROOF_GENERATION_ERROR
    │   ├── ProofVerificationError           PROOF_VERIFICATION_ERROR
    │   ├── ProofTransformationError         PROOF_TRANSFORMATION_ERROR
    │   │   └── CanonicalizationLimitError   CANONICALIZATION_LIMIT_ERROR      (ours)
    │   ├── InvalidDomainError               INVALID_DOMAIN_ERROR
    │   ├── InvalidChallengeError            INVALID_CHALLENGE_ERROR
    │   ├── MalformedProofError              MALFORMED_PROOF_ERROR
    │   ├── MismatchedProofPurposeError      MISMATCHED_PROOF_PURPOSE_ERROR
    │   ├── DataLossDetectionError           DATA_LOSS_DETECTION_ERROR         (ours)
    │   └── UnknownContextError              UNKNOWN_CONTEXT_ERROR             (ours)
    ├── StatusError                          (Bitstring Status List 1.0 §3.8)
    │   ├── StatusRetrievalError             STATUS_RETRIEVAL_ERROR
    │   ├── StatusVerificationError          STATUS_VERIFICATION_ERROR
    │   └── StatusListLengthError            STATUS_LIST_LENGTH_ERROR
    ├── ResolutionError                      (DID Resolution §7.1 error values)
    │   ├── InvalidDidError                  invalidDid
    │   ├── InvalidDidUrlError               invalidDidUrl
    │   ├── NotFoundError                    notFound
    │   ├── MethodNotSupportedError          methodNotSupported
    │   ├── RepresentationNotSupportedError  representationNotSupported
    │   ├── InvalidDidDocumentError          invalidDidDocument
    │   ├── ForbiddenTargetError             forbiddenTarget  (ours: the SSRF rules said no)
    │   └── ResolverUnreachableError         internalError  (could not check)
    ├── VerificationMethodError              (Controlled Identifiers 1.0 §3.3)
    │   ├── InvalidVerificationMethodUrlError     INVALID_VERIFICATION_METHOD_URL
    │   ├── InvalidControlledIdentifierDocumentIdError
    │   │                                         INVALID_CONTROLLED_IDENTIFIER_DOCUMENT_ID
    │   ├── InvalidControlledIdentifierDocumentError
    │   │                                         INVALID_CONTROLLED_IDENTIFIER_DOCUMENT
    │   ├── InvalidVerificationMethodError        INVALID_VERIFICATION_METHOD
    │   └── InvalidRelationshipForVerificationMethodError
    │                                             INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD
    ├── PresentationError                    (ours: the request presentation)
    │   ├── HolderBindingError               HOLDER_BINDING_ERROR
    │   ├── RequestBindingError              REQUEST_BINDING_ERROR
    │   └── ReplayDetectedError              REPLAY_DETECTED_ERROR
    ├── VerifierBusyError                    VERIFIER_BUSY_ERROR  (ours: could not check now)
    └── PolicyError                          (ours: the verifier's policy)
        ├── UntrustedIssuerError             UNTRUSTED_ISSUER_ERROR
        ├── MissingCredentialTypeError       MISSING_CREDENTIAL_TYPE_ERROR
        ├── CredentialRequiredError          CREDENTIAL_REQUIRED_ERROR  (no credential at all)
        ├── CredentialAudienceError          CREDENTIAL_AUDIENCE_ERROR  (meant for other APIs)
        ├── InsufficientScopeError           INSUFFICIENT_SCOPE_ERROR  (authenticated, not allowed)
        ├── UnlistedRouteError               UNLISTED_ROUTE_ERROR      (no route rule allows it)
        └── CredentialTooOldError            CREDENTIAL_TOO_OLD_ERROR

Status checks add (Bitstring Status List, ours where the spec names no code):
CredentialRevokedError CREDENTIAL_REVOKED_ERROR and CredentialSuspendedError
CREDENTIAL_SUSPENDED_ERROR, both StatusVerificationErrors.

``could_not_check`` is true on errors that mean "the check could not be made" (an unreachable
resolver or status list) rather than "checked and invalid".
"""

from __future__ import annotations

__all__ = [
    "CanonicalizationLimitError",
    "CredentialAudienceError",
    "CredentialRequiredError",
    "CredentialRevokedError",
    "CredentialSuspendedError",
    "CredentialTooOldError",
    "CryptographicSecurityError",
    "DataLossDetectionError",
    "DataModelError",
    "DidvcError",
    "ForbiddenTargetError",
    "HolderBindingError",
    "InputTooLargeError",
    "InsufficientScopeError",
    "InvalidChallengeError",
    "InvalidControlledIdentifierDocumentError",
    "InvalidControlledIdentifierDocumentIdError",
    "InvalidDidDocumentError",
    "InvalidDidError",
    "InvalidDidUrlError",
    "InvalidDomainError",
    "InvalidKeyError",
    "InvalidRelationshipForVerificationMethodError",
    "InvalidSignatureError",
    "InvalidTokenHeaderError",
    "InvalidVerificationMethodError",
    "InvalidVerificationMethodUrlError",
    "MalformedProofError",
    "MalformedValueError",
    "MethodNotSupportedError",
    "MismatchedProofPurposeError",
    "MissingCredentialTypeError",
    "NotFoundError",
    "ParsingError",
    "PolicyError",
    "PresentationError",
    "ProofError",
    "ProofGenerationError",
    "ProofTransformationError",
    "ProofVerificationError",
    "RangeError",
    "ReplayDetectedError",
    "RepresentationNotSupportedError",
    "RequestBindingError",
    "ResolutionError",
    "ResolverUnreachableError",
    "StatusError",
    "StatusListLengthError",
    "StatusRetrievalError",
    "StatusVerificationError",
    "TokenError",
    "UnknownContextError",
    "UnlistedRouteError",
    "UnsupportedAlgorithmError",
    "UntrustedIssuerError",
    "UseNonceError",
    "VerificationMethodError",
    "VerifierBusyError",
    "all_codes",
]


class DidvcError(Exception):
    """Base of every error didvc raises on purpose; ``code`` is the spec's problem code."""

    code: str = "DIDVC_ERROR"
    could_not_check: bool = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)

    def problem(self) -> tuple[str, str]:
        """The ``(code, message)`` pair that verification results carry."""
        return (self.code, str(self))


# --- VC Data Model 2.0 -------------------------------------------------------------------------


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
    """Key material that is malformed, of the wrong length, off the curve or of small order."""

    code = "INVALID_KEY_ERROR"


class RangeError(DataModelError):
    code = "RANGE_ERROR"


class CryptographicSecurityError(DataModelError):
    code = "CRYPTOGRAPHIC_SECURITY_ERROR"


class InvalidSignatureError(CryptographicSecurityError):
    """A signature did not verify: raised by every low-level check, never a False to ignore."""


# --- JOSE --------------------------------------------------------------------------------------


class TokenError(DidvcError):
    code = "INVALID_TOKEN_HEADER_ERROR"


class UnsupportedAlgorithmError(TokenError):
    code = "UNSUPPORTED_ALGORITHM_ERROR"


class InvalidTokenHeaderError(TokenError):
    code = "INVALID_TOKEN_HEADER_ERROR"


# --- Data Integrity 1.0 ------------------------------------------------------------------------


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


# --- Bitstring Status List 1.0 -----------------------------------------------------------------


class StatusError(DidvcError):
    code = "STATUS_VERIFICATION_ERROR"


class StatusRetrievalError(StatusError):
    code = "STATUS_RETRIEVAL_ERROR"
    could_not_check = True


class StatusVerificationError(StatusError):
    code = "STATUS_VERIFICATION_ERROR"


class CredentialRevokedError(StatusVerificationError):
    """The credential's revocation bit is set: checked, and invalid for good."""

    code = "CREDENTIAL_REVOKED_ERROR"


class CredentialSuspendedError(StatusVerificationError):
    """The credential's suspension bit is set: invalid until the issuer reinstates it."""

    code = "CREDENTIAL_SUSPENDED_ERROR"


class StatusListLengthError(StatusError):
    code = "STATUS_LIST_LENGTH_ERROR"


# --- DID Resolution ----------------------------------------------------------------------------


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
    """A DID document or status list URL that the network rules forbid (private address, plain
    http, too many redirects): refused without being fetched."""

    code = "forbiddenTarget"


class ResolverUnreachableError(ResolutionError):
    """The DID document could not be fetched (timeout, refused, 5xx): not checked, not invalid."""

    code = "internalError"
    could_not_check = True


# --- Controlled Identifiers 1.0 ----------------------------------------------------------------


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


# --- The request presentation (ours) -----------------------------------------------------------


class PresentationError(DidvcError):
    code = "REQUEST_BINDING_ERROR"


class HolderBindingError(PresentationError):
    code = "HOLDER_BINDING_ERROR"


class RequestBindingError(PresentationError):
    code = "REQUEST_BINDING_ERROR"


class ReplayDetectedError(PresentationError):
    code = "REPLAY_DETECTED_ERROR"


class UseNonceError(RequestBindingError):
    """The presentation must carry a fresh nonce issued by this server (it carried none, or one
    that was never issued or is already used)."""

    code = "USE_NONCE"


class VerifierBusyError(DidvcError):
    """Too much expensive work is waiting (cold credentials to canonicalize): try again later."""

    code = "VERIFIER_BUSY_ERROR"
    could_not_check = True


# --- The verifier's policy (ours) ---------------------------------------------------------------


class PolicyError(DidvcError):
    code = "POLICY_ERROR"


class UntrustedIssuerError(PolicyError):
    code = "UNTRUSTED_ISSUER_ERROR"


class MissingCredentialTypeError(PolicyError):
    code = "MISSING_CREDENTIAL_TYPE_ERROR"


class CredentialRequiredError(PolicyError):
    """A presentation without credentials, where the policy does not allow authentication only."""

    code = "CREDENTIAL_REQUIRED_ERROR"


class CredentialAudienceError(PolicyError):
    """The credential names audiences, and this verifier's is not among them."""

    code = "CREDENTIAL_AUDIENCE_ERROR"


class InsufficientScopeError(PolicyError):
    code = "INSUFFICIENT_SCOPE_ERROR"


class UnlistedRouteError(PolicyError):
    """The policy has route rules and none matches the request: nothing allows it."""

    code = "UNLISTED_ROUTE_ERROR"


class CredentialTooOldError(PolicyError):
    code = "CREDENTIAL_TOO_OLD_ERROR"


def all_codes() -> frozenset[str]:
    """Every problem code a didvc error can carry by default."""
    codes: set[str] = set()
    pending: list[type[DidvcError]] = [DidvcError]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return frozenset(codes)
