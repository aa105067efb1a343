"""Settled presentations: the per-request fast path for a presentation already verified.

Once a request token's presentation passed every check, the verifier remembers, under the exact
bytes of everything the presentation checks read, what those checks established and the window
in which it stays true (the latest ``validFrom`` − skew, the earliest ``validUntil`` + skew,
proof ``expires`` + skew, ``validFrom`` + the policy's maximum age). A later token with the same
presentation still gets its own signature, request binding and replay checks; then, inside the
window, under the same policy object and audience, with every status entry re-checked from the
status cache and the route's scopes held, it gets fresh result objects without re-reading the
credentials. Anything else is a miss, and the full pipeline then says exactly what is wrong.
"""

from __future__ import annotations

import marshal
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from didvc.credentials import CredentialInfo
from verifier._credentials import ProofCheck
from verifier._lru import BoundedLru
from verifier._policy import Policy
from verifier._result import CredentialResult, VerificationResult

__all__ = ["Settled", "SettledPresentations"]


@dataclass(frozen=True, slots=True)
class _SettledCredential:
    template: CredentialResult
    claims: bytes  # marshalled, so each result gets claims of its own that a handler may change

    def result(self) -> CredentialResult:
        t = self.template  # positional, as dataclasses.replace costs 7 µs on this per-request path
        return CredentialResult(
            True,
            t.id,
            t.issuer,
            t.types,
            marshal.loads(self.claims),  # noqa: S302 -- bytes we wrote, from parsed JSON
            t.valid_from,
            t.valid_until,
            t.format,
            t.cryptosuites,
        )


@dataclass(frozen=True, slots=True)
class Settled:
    """A presentation that passed every check not tied to the request, the clock or status."""

    policy: Policy
    audience: str
    holder: str
    credentials: tuple[_SettledCredential, ...]
    scopes: frozenset[str]
    not_before: float  # epoch seconds: every credential (and proof) valid from here ...
    not_after: float  # ... to here, with the clock skew and the policy's maximum age applied
    expires: float  # monotonic: when the cached proof results must be checked again
    statused: tuple[CredentialInfo, ...]  # credentials whose status is checked on every request

    def result(self) -> VerificationResult:
        return VerificationResult(
            True, self.holder, [c.result() for c in self.credentials], sorted(self.scopes)
        )


class SettledPresentations:
    """Bounded memory of settled presentations (entries, and bytes of the keys they stand for)."""

    def __init__(self, *, max_entries: int, max_bytes: int, ttl: float) -> None:
        self._entries = BoundedLru[Settled](max_entries=max_entries, max_bytes=max_bytes)
        self._ttl = ttl

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    @property
    def size(self) -> int:
        """The bytes the entries stand for."""
        return self._entries.size

    def remember(
        self,
        key: bytes,
        *,
        policy: Policy,
        audience: str,
        holder: str,
        checked: Sequence[tuple[CredentialResult, CredentialInfo, ProofCheck]],
        scopes: Sequence[str],
    ) -> None:
        skew = float(policy.clock_skew)
        age_limit = policy.max_credential_age.total_seconds() if policy.max_credential_age else None
        not_before, not_after, expires = -math.inf, math.inf, math.inf
        credentials, statused = [], []
        for result, info, proof in checked:
            if info.valid_from is not None:
                valid_from = info.valid_from.timestamp()
                not_before = max(not_before, valid_from - skew)
                if age_limit is not None:
                    not_after = min(not_after, valid_from + age_limit)
            if info.valid_until is not None:
                not_after = min(not_after, info.valid_until.timestamp() + skew)
            if proof.proof_expires is not None:
                not_after = min(not_after, proof.proof_expires.timestamp() + skew)
            if info.status:
                statused.append(info)
            expires = min(expires, proof.checked_at + self._ttl)
            template = replace(result, claims=[], problems=[], warnings=[])  # not the caller's object
            credentials.append(_SettledCredential(template, marshal.dumps(result.claims, 2)))
        settled = Settled(
            policy,
            audience,
            holder,
            tuple(credentials),
            frozenset(scopes),
            not_before,
            not_after,
            expires,
            tuple(statused),
        )
        self._entries.put(key, settled, 2 * len(key))  # the key, and results about as large

    def lookup(self, key: bytes, policy: Policy, audience: str, holder: str, now: float) -> Settled | None:
        """The settled presentation, if it still holds at ``now`` under ``policy``; the caller
        re-checks status entries and the route's scopes."""
        settled = self._entries.get(key)
        if (
            settled is None
            or settled.policy is not policy
            or settled.audience != audience
            or settled.holder != holder
            or not settled.not_before <= now <= settled.not_after
            or settled.expires <= time.monotonic()
        ):
            return None
        return settled
