"""The verification pipeline: one call per credential or presentation, a result every time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from didvc.credentials import CredentialInfo, check_credential, check_validity_period
from didvc.did import DidResolver, resolve_verification_method
from didvc.errors import DidvcError, ParsingError, ProofVerificationError
from didvc.jose import parse_jws, strict_json_loads, verify_jws
from didvc.proofs import DEFAULT_MAX_CLOCK_SKEW, AssertionMethod, verify_proofs
from verifier._result import CredentialResult, Problem, VerificationResult

__all__ = ["Verifier"]

_MAX_INPUT_BYTES = 1024 * 1024


def _now() -> datetime:
    return datetime.now(UTC)


class Verifier:
    """Verifies credentials (and, with the verifier component, presentations).

    ``resolver`` resolves DIDs (default: :func:`resolvers.default_resolver`); ``clock`` gives
    the current time (inject it in tests); ``allowed_suites`` limits the cryptosuites accepted.
    """

    def __init__(
        self,
        *,
        resolver: DidResolver | None = None,
        clock: Callable[[], datetime] = _now,
        max_clock_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW,
        allowed_suites: frozenset[str] | None = None,
    ) -> None:
        if resolver is None:
            from resolvers import default_resolver

            resolver = default_resolver()
        self.resolver = resolver
        self.clock = clock
        self.max_clock_skew = max_clock_skew
        self.allowed_suites = allowed_suites

    async def verify_credential(self, credential: dict[str, Any] | str | bytes) -> VerificationResult:
        """Verify one credential: a Data Integrity JSON object, its JSON text, or a vc+jwt."""
        result = await self._credential(credential, now=self.clock())
        return VerificationResult(
            verified=result.verified, credentials=[result], problems=list(result.problems)
        )

    async def _credential(
        self, credential: dict[str, Any] | str | bytes, *, now: datetime
    ) -> CredentialResult:
        try:
            document, token = _load(credential)
            info = check_credential(document)
        except DidvcError as error:
            return CredentialResult(verified=False, problems=[Problem.from_error(error)])
        result = CredentialResult(
            verified=False,
            id=info.id,
            issuer=info.issuer,
            types=info.types,
            claims=[dict(s) for s in info.subjects],
            valid_from=info.valid_from,
            valid_until=info.valid_until,
            format="jwt" if token else "ldp",
        )
        try:
            if token is not None:
                await self._verify_vc_jwt(token, info)
            else:
                verified = await verify_proofs(
                    document,
                    resolver=self.resolver,
                    purpose=AssertionMethod(controller=info.issuer),
                    now=now,
                    max_clock_skew=self.max_clock_skew,
                    allowed_suites=self.allowed_suites,
                )
                result.cryptosuites = tuple(v.cryptosuite for v in verified)
        except DidvcError as error:
            result.problems.append(Problem.from_error(error))
        try:
            check_validity_period(info, now=now, max_clock_skew=self.max_clock_skew)
        except DidvcError as error:
            result.problems.append(Problem.from_error(error))
        result.verified = not result.problems
        return result

    async def _verify_vc_jwt(self, token: str, info: CredentialInfo) -> None:
        parsed = parse_jws(token, typ="vc+jwt")
        if parsed.kid is None:
            raise ParsingError("vc+jwt header has no kid")
        method = await resolve_verification_method(self.resolver, parsed.kid, "assertionMethod")
        if method.controller != info.issuer:
            raise ProofVerificationError(
                f"vc+jwt was signed by {method.controller}, not by the issuer {info.issuer}"
            )
        iss = parsed.payload.get("iss")
        if iss is not None and iss != info.issuer:
            raise ProofVerificationError("vc+jwt iss does not match the credential issuer")
        try:
            verify_jws(parsed, method.public_key)
        except DidvcError as error:
            raise ProofVerificationError(f"vc+jwt signature does not verify ({error.code})") from None


def _load(credential: dict[str, Any] | str | bytes) -> tuple[dict[str, Any], str | None]:
    """The credential's JSON, and its vc+jwt token when it came as one."""
    if isinstance(credential, dict):
        return credential, None
    if isinstance(credential, bytes):
        if len(credential) > _MAX_INPUT_BYTES:
            raise ParsingError("credential is too large")
        try:
            credential = credential.decode("utf-8")
        except UnicodeDecodeError:
            raise ParsingError("credential is not UTF-8") from None
    if not isinstance(credential, str):
        raise ParsingError("a credential must be a JSON object, JSON text or a vc+jwt")
    text = credential.strip()
    if len(text) > _MAX_INPUT_BYTES:
        raise ParsingError("credential is too large")
    if text.startswith("{"):
        document = strict_json_loads(text, what="credential")
        return document, None
    parsed = parse_jws(text, typ="vc+jwt")
    return parsed.payload, text
