"""Settled presentations: the per-request fast path for a presentation already verified.

Once a request token's presentation passed every check, the verifier remembers, under the
SHA-256 of the exact bytes of everything the presentation checks read (its marshalled members;
from its third token on it is found from the payload's first bytes without parsing them,
:mod:`verifier._known`), what those checks established and the window in which it stays
true (the latest ``validFrom`` − skew, the earliest ``validUntil`` + skew, proof ``expires`` +
skew, ``validFrom`` + the policy's maximum age). A later token with the same
presentation still gets its own signature, request binding and replay checks; then, inside the
window, under the same policy object and audience, with its status entries still good (read
again only when a list was fetched again) and the route's scopes held, it gets fresh result
objects without re-reading the credentials. Anything else is a miss, and the full pipeline
then says exactly what is wrong.
"""

from __future__ import annotations

import marshal
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple

from didvc.credentials import CredentialInfo
from verifier._credentials import ProofCheck
from verifier._known import claims_after, cut_of, prefix_digest, tail_of
from verifier._lru import BoundedLru
from verifier._policy import Policy
from verifier._result import CredentialResult, VerificationResult
from verifier._status import StatusMemo

__all__ = ["Settled", "SettledPresentations"]

#: What a settled presentation of one credential holds beside its claims: the digest, the LRU's
#: node, the objects below and the holder's DID (measured with tracemalloc: about 900 bytes).
_ENTRY_SIZE: Final = 1024
_CREDENTIAL_SIZE: Final = 320  # each further credential
_STATUS_SIZE: Final = 256  # each status entry
_KNOWN_SIZE: Final = 256  # where a holder's presentation ends: the LRU's node, the tuple, the digest


class _Known(NamedTuple):
    """Where a holder's settled presentation ends in its payloads (:mod:`verifier._known`)."""

    cut: int
    digest: bytes
    key: bytes  # the settled entry's own (Settled.key)


@dataclass(frozen=True, slots=True)
class _SettledCredential:
    """What a result says of one credential, its claims marshalled: each result gets claims of
    its own that a handler may change."""

    id: str | None
    issuer: str | None
    types: tuple[str, ...]
    claims: bytes
    valid_from: datetime | None
    valid_until: datetime | None
    format: str
    cryptosuites: tuple[str, ...]

    def result(self) -> CredentialResult:
        return CredentialResult(  # positional: dataclasses.replace costs 7 µs on this path
            True,
            self.id,
            self.issuer,
            self.types,
            marshal.loads(self.claims),  # noqa: S302 -- bytes we wrote, from parsed JSON
            self.valid_from,
            self.valid_until,
            self.format,
            self.cryptosuites,
            [],
            [],
        )


@dataclass(frozen=True, slots=True)
class Settled:
    """A presentation that passed every check not tied to the request, the clock or status."""

    policy: Policy
    audience: str
    holder: str
    credentials: tuple[_SettledCredential, ...]
    scopes: tuple[str, ...]  # sorted
    not_before: float  # epoch seconds: every credential (and proof) valid from here ...
    not_after: float  # ... to here, with the clock skew and the policy's maximum age applied
    expires: float  # monotonic: when the cached proof results must be checked again
    statused: tuple[StatusMemo, ...]  # the status entries, checked again when a list changes
    principal: str | None = None  # through a delegation chain
    delegation: tuple[str, ...] = ()
    key: bytes = b""  # its key in the cache (the same object: a holder's _Known shares it)

    def result(self) -> VerificationResult:
        return VerificationResult(  # positional, every list its own: the caller's to change
            True,
            self.holder,
            [c.result() for c in self.credentials],
            list(self.scopes),
            [],
            [],
            self.principal,
            list(self.delegation),
        )


class SettledPresentations:
    """Bounded memory of settled presentations (entries, and the bytes they hold)."""

    def __init__(self, *, max_entries: int, max_bytes: int, ttl: float) -> None:
        # where holders' presentations end comes out of the same bytes (a sixth at most: with
        # the defaults, as many holders as entries)
        known_bytes = min(max_entries * (_KNOWN_SIZE + 64), max_bytes // 6)
        self._entries = BoundedLru[Settled](max_entries=max_entries, max_bytes=max_bytes - known_bytes)
        self._known = BoundedLru[_Known](max_entries=max_entries, max_bytes=known_bytes)
        self._ttl = ttl

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._known.clear()

    @property
    def size(self) -> int:
        """The bytes the entries hold, as estimated when they were kept."""
        return self._entries.size

    def remember(
        self,
        key: bytes,
        *,
        policy: Policy,
        audience: str,
        holder: str,
        checked: Sequence[tuple[CredentialResult, CredentialInfo, ProofCheck, StatusMemo | None]],
        scopes: Sequence[str],
        principal: str | None = None,
        delegation: Sequence[str] = (),
    ) -> None:
        skew = float(policy.clock_skew)
        age_limit = policy.max_credential_age.total_seconds() if policy.max_credential_age else None
        not_before, not_after, expires = -math.inf, math.inf, math.inf
        credentials, statused = [], []
        size = _ENTRY_SIZE + len(holder) - _CREDENTIAL_SIZE
        for result, info, proof, memo in checked:
            if info.valid_from is not None:
                valid_from = info.valid_from.timestamp()
                not_before = max(not_before, valid_from - skew)
                if age_limit is not None:
                    not_after = min(not_after, valid_from + age_limit)
            if info.valid_until is not None:
                not_after = min(not_after, info.valid_until.timestamp() + skew)
            if proof.proof_expires is not None:
                not_after = min(not_after, proof.proof_expires.timestamp() + skew)
            if memo is not None:
                statused.append(memo)
                size += _STATUS_SIZE * len(memo.entries)
            expires = min(expires, proof.checked_at + self._ttl)
            claims = marshal.dumps(result.claims, 2)
            size += _CREDENTIAL_SIZE + len(claims)
            credentials.append(
                _SettledCredential(
                    result.id,
                    sys.intern(result.issuer) if result.issuer is not None else None,  # shared by many
                    tuple(sys.intern(t) for t in result.types),
                    claims,
                    result.valid_from,
                    result.valid_until,
                    result.format,
                    result.cryptosuites,
                )
            )
        settled = Settled(
            policy,
            audience,
            holder,
            tuple(credentials),
            tuple(sorted(scopes)),
            not_before,
            not_after,
            expires,
            tuple(statused),
            principal,
            tuple(delegation),
            key,
        )
        self._entries.put(key, settled, size)

    def known(
        self, holder: str, encoded_payload: str, policy: Policy, audience: str | None, now: float
    ) -> tuple[Settled, bytes, dict[str, Any]] | None:
        """The settled presentation of ``holder`` that this token's payload starts with, its key,
        and the request claims after it, read without reading the presentation again."""
        known = self._known.get(holder) if audience is not None else None
        tail = tail_of(encoded_payload, known.cut) if known is not None else None
        if known is None or tail is None or prefix_digest(encoded_payload, tail, known.cut) != known.digest:
            return None
        settled = self.lookup(known.key, policy, audience, holder, now)  # before reading the claims
        claims = claims_after(tail, known.cut) if settled is not None else None
        return None if settled is None or claims is None else (settled, known.key, claims)

    def learn(self, settled: Settled, encoded_payload: str, payload: dict[str, Any]) -> None:
        """Remember where ``settled``'s presentation ends in this payload of its holder, for
        :meth:`known`; unless another of its presentations is known and still settled (a holder
        alternating two is read in full for one of them, rather than learned each time)."""
        holder, key = settled.holder, settled.key  # the entry's own objects, held once
        current = self._known.get(holder)
        if current is not None and current.key != key:
            other = self._entries.get(current.key)
            if other is not None and other.expires > time.monotonic():
                return
        cut = cut_of(encoded_payload, payload)
        tail = tail_of(encoded_payload, cut) if cut is not None else None
        if cut is not None and tail is not None:
            digest = prefix_digest(encoded_payload, tail, cut)
            self._known.put(holder, _Known(cut, digest, key), _KNOWN_SIZE + len(holder))

    def lookup(
        self, key: bytes | None, policy: Policy, audience: str | None, holder: str, now: float
    ) -> Settled | None:
        """The settled presentation, if it still holds at ``now`` under ``policy``; the caller
        re-checks status entries and the route's scopes."""
        settled = self._entries.get(key) if key is not None and audience is not None else None
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
