"""Steps 7 to 9 for one credential: the checks before any proof, then its proof and status.

:class:`CredentialSteps` runs them for the :class:`~verifier._pipeline.Pipeline` (which owns
the order across the holder, the request and the credentials) and for a holder checking its
own credentials (:meth:`CredentialSteps.integrity`). Step 7 needs no key and no
canonicalization, so every credential of a presentation passes it before the holder's key is
even resolved; steps 8 and 9 cost a proof (canonicalization within the work budget, off the
event loop when cold) and a status-list lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from didvc.credentials import CredentialInfo, check_validity_period
from didvc.delegation import is_delegation
from didvc.errors import (
    CredentialAudienceError,
    CredentialTooOldError,
    DidvcError,
    HolderBindingError,
    MissingCredentialTypeError,
    ProofVerificationError,
    UntrustedIssuerError,
)
from verifier._credentials import CredentialChecker, Loaded, ProofCheck
from verifier._policy import Policy
from verifier._result import CredentialResult, Problem, VerificationResult
from verifier._status import StatusChecker

__all__ = ["Checked", "CredentialSteps", "Refused", "as_list", "refuse", "scopes_of"]


@dataclass(slots=True)
class Checked:
    """One credential on its way through the pipeline: what is known of it so far."""

    result: CredentialResult
    loaded: Loaded | None = None
    info: CredentialInfo | None = None
    proof: ProofCheck | None = None


class Refused(Exception):
    """Ends a verification early with its result (raised by :func:`refuse`)."""

    def __init__(self, result: VerificationResult) -> None:
        self.result = result


class CredentialSteps:
    """Steps 7 to 9 under one policy, at one moment."""

    __slots__ = ("_checker", "_status", "now", "policy", "skew", "timestamp")

    def __init__(
        self,
        policy: Policy,
        now: datetime,
        skew: timedelta,
        checker: CredentialChecker,
        status: StatusChecker,
    ) -> None:
        self.policy = policy
        self.now = now
        self.timestamp = now.timestamp()
        self.skew = skew
        self._checker = checker
        self._status = status

    def screen(self, entries: Sequence[Any], holder: str | None, audience: str | None) -> list[Checked]:
        """Step 7 for every credential; raises :class:`Refused` with every problem found."""
        checked = [self.before_proofs(entry, holder, audience) for entry in entries]
        self.refuse_if_any(holder, checked)
        return checked

    def load(self, credential: Any) -> Checked:
        """A credential read within bounds, its data model checked (the start of step 7)."""
        try:
            loaded, info = self._checker.load(credential, max_bytes=self.policy.max_presentation_bytes)
        except DidvcError as error:
            return Checked(CredentialResult(verified=False, problems=[Problem.from_error(error)]))
        result = CredentialResult(
            verified=False,
            id=info.id,
            issuer=info.issuer,
            types=info.types,
            claims=[dict(s) for s in info.subjects],
            valid_from=info.valid_from,
            valid_until=info.valid_until,
            format="jwt" if loaded.token is not None else "ldp",
        )
        return Checked(result, loaded, info)

    def before_proofs(self, credential: Any, holder: str | None, audience: str | None) -> Checked:
        """Step 7 for one credential: everything that needs no key and no canonicalization."""
        item = self.load(credential)
        info = item.info
        if info is None:
            return item
        problems = item.result.problems
        policy = self.policy
        # a delegation in a presentation is trusted through its chain's principal (checked once the
        # holder is known); on its own, its issuer must be a principal or a trusted issuer
        link = holder is not None and is_delegation(info.types)
        trusted = policy.trusts(info.issuer, info.types) or (
            is_delegation(info.types) and info.issuer in policy.trusted_principals
        )
        if not link and not trusted:
            problems.append(
                Problem.from_error(
                    UntrustedIssuerError(f"{info.issuer} is not trusted for {', '.join(info.types)}")
                )
            )
            return item  # nothing else about an untrusted credential matters
        label = info.id or "(no id)"
        exempt = (policy.holder_binding_exempt_types | policy.principal_credential_types).intersection(
            info.types
        )
        if holder is not None and holder not in info.subject_ids and not exempt and not link:
            problems.append(
                Problem.from_error(HolderBindingError(f"credential {label} is not about the holder {holder}"))
            )
        audiences = {a for s in info.subjects for a in as_list(s.get("audience"))}
        if audience is not None and audiences and audience not in audiences:
            problems.append(
                Problem.from_error(CredentialAudienceError(f"credential {label} is for other APIs"))
            )
        try:
            check_validity_period(info, now=self.now, max_clock_skew=self.skew)
        except DidvcError as invalid:
            problems.append(Problem.from_error(invalid))
        age = policy.max_credential_age
        too_old = (
            age is not None
            and info.valid_from is not None
            and (self.timestamp - info.valid_from.timestamp() > age.total_seconds())
        )
        if too_old:
            problems.append(
                Problem.from_error(CredentialTooOldError("the credential is older than policy allows"))
            )
        return item

    def refuse_if_any(self, holder: str | None, credentials: list[Checked]) -> None:
        """End of the checks before any key: the problems found, and the required types."""
        problems = [p for c in credentials for p in c.result.problems]
        if not problems:
            present = {t for c in credentials for t in c.result.types}
            missing = sorted(self.policy.required_types - present)
            if missing:
                error = MissingCredentialTypeError(f"a credential of type {', '.join(missing)} is required")
                problems.append(Problem.from_error(error))
        if problems:
            refuse(holder, credentials, problems)

    async def prove(self, item: Checked, *, trusting: bool = True) -> None:
        """Steps 8 and 9 for one credential: its proof (and the proof's expiry), its status."""
        assert item.loaded is not None and item.info is not None  # loaded, or refused before
        result = item.result
        try:
            item.proof = await self._checker.prove(
                item.loaded, item.info, policy=self.policy, now=self.now, skew=self.skew
            )
        except DidvcError as error:
            result.problems.append(Problem.from_error(error))
            return
        result.cryptosuites = item.proof.cryptosuites
        result.format = item.proof.format
        expires = item.proof.proof_expires
        if expires is not None and expires.timestamp() + self.skew.total_seconds() < self.timestamp:
            result.problems.append(Problem.from_error(ProofVerificationError("proof has expired")))
            return
        if item.info.status:
            try:
                await self._status.check(item.info, policy=self.policy, now=self.now, trusting=trusting)
            except DidvcError as error:
                problem = Problem.from_error(error)
                failing_open = problem.could_not_check and self.policy.status_fail_open
                (result.warnings if failing_open else result.problems).append(problem)
        result.verified = not result.problems

    async def integrity(self, credential: Any) -> CredentialResult:
        """A holder's check of a credential it keeps: data model, proof, validity period and
        status, each reported (no trust policy, no request; a past validUntil stops nothing)."""
        item = self.load(credential)
        if item.info is None:
            return item.result
        await self.prove(item, trusting=False)
        try:
            check_validity_period(item.info, now=self.now, max_clock_skew=self.skew)
        except DidvcError as error:
            item.result.problems.append(Problem.from_error(error))
        item.result.verified = not item.result.problems
        return item.result


def refuse(holder: str | None, credentials: list[Checked], problems: list[Problem]) -> None:
    results = [c.result for c in credentials]
    raise Refused(VerificationResult(False, holder=holder, credentials=results, problems=problems))


def scopes_of(holder: str | None, credentials: list[Checked]) -> set[str]:
    """The scopes the credentials give the holder: ``scope`` claims of subjects that are it."""
    return {
        scope
        for c in credentials
        for claim in c.result.claims
        if claim.get("id") == holder
        for scope in as_list(claim.get("scope"))
        if isinstance(scope, str)
    }


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
