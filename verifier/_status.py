"""Status checks: Bitstring Status List 1.0 (and StatusList2021, verify only).

https://www.w3.org/TR/vc-bitstring-status-list/#validate-algorithm — for each status entry:
fetch the status list credential (guarded network rules), verify it, require that its issuer is
the credential's issuer and its purpose the entry's, decode the list (size caps), and read the
entry. Lists are cached by URL for their ``ttl`` (milliseconds) or HTTP ``max-age``, whichever
is shorter, and concurrent checks of one list share one fetch. A list that cannot be fetched is
``STATUS_RETRIEVAL_ERROR`` ("could not check"); the caller fails closed unless its policy says
otherwise.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from didvc.cache import TtlCache
from didvc.credentials import CredentialInfo, check_validity_period
from didvc.delegation import is_delegation
from didvc.errors import (
    CredentialRevokedError,
    CredentialSuspendedError,
    DidvcError,
    FetchError,
    StatusRetrievalError,
    StatusVerificationError,
)
from didvc.status import StatusEntry, StatusList
from resolvers import Fetched, Fetcher, cache_lifetime
from verifier._credentials import CredentialChecker
from verifier._policy import Policy

__all__ = ["StatusChecker", "StatusMemo", "StatusOutcome"]

_ACCEPT: Final = (
    "application/vc+ld+json",
    "application/vc",
    "application/vc+jwt",
    "application/ld+json",
    "application/json",
    "application/jwt",
)
#: The largest status list credential fetched: a 16 MiB list compresses far below this.
MAX_LIST_CREDENTIAL_BYTES: Final = 4 << 20


@dataclass(frozen=True)
class StatusOutcome:
    purpose: str
    value: int
    message: str | None = None


@dataclass
class _VerifiedList:
    """A fetched status list credential that verified; its bitstring decoded once per size."""

    issuer: str
    purposes: frozenset[str]
    list_type: str
    encoded: str
    ttl: float  # its own ttl (capped by the checker's default), for a revalidated copy
    etag: str | None = None  # to ask again conditionally once it expires
    decoded: dict[int, StatusList] = field(default_factory=dict)

    def read(self, entry: StatusEntry) -> int:
        status_list = self.decoded.get(entry.size)
        if status_list is None:
            status_list = self.decoded[entry.size] = entry.decode_list(self.encoded)
        return status_list.get(entry.index)


@dataclass(slots=True)
class StatusMemo:
    """A verified credential's status entries, parsed, and the verified lists they were last
    read from. The outcome depends on nothing else, so while each list is still the one cached
    (not expired, not replaced by an event), a settled presentation skips reading it again."""

    issuer: str
    entries: tuple[StatusEntry, ...]
    lists: tuple[object, ...] = ()
    hosts: frozenset[str] = frozenset()  # who else may sign the lists (a delegation's: docs/delegation.md)


class StatusChecker:
    """Checks credential status entries: lists come through ``fetcher`` (at most ``max_bytes``
    each) and are verified by ``credentials``."""

    def __init__(
        self,
        fetcher: Fetcher,
        credentials: CredentialChecker,
        *,
        max_bytes: int = MAX_LIST_CREDENTIAL_BYTES,
        default_ttl: float = 300.0,
        max_lists: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetcher = fetcher
        self._credentials = credentials
        self._max_bytes = max_bytes
        self._default_ttl = default_ttl
        self._lists = TtlCache[str, _VerifiedList](maxsize=max_lists, clock=clock)

    def clear(self) -> None:
        self._lists.clear()

    def invalidate(self, url: str) -> None:
        """Forget the list at ``url`` (it changed): the next check fetches it again."""
        self._lists.discard(url)

    def invalidate_prefix(self, prefix: str) -> None:
        """Forget every list whose URL starts with ``prefix`` (events from there were missed)."""
        self._lists.discard_where(lambda url: url.startswith(prefix))

    async def check(
        self, info: CredentialInfo, *, policy: Policy, now: datetime, trusting: bool = True
    ) -> list[StatusOutcome]:
        """Check every status entry of a verified credential; raises the first problem. A list
        is verified (under ``policy``'s suites and work budget, at ``now``) when fetched.
        ``trusting=False`` is a holder's check, which judges no trust: a delegation's list may
        then be signed by anyone (its signature is still checked)."""
        outcomes = []
        hosts = _hosts(info, policy) if trusting or not is_delegation(info.types) else _ANYONE
        for raw in info.status:
            entry = StatusEntry.parse(raw)
            outcomes.append(_read(entry, await self._list(entry, policy, now), info.issuer, hosts))
        return outcomes

    def memo(self, info: CredentialInfo, policy: Policy) -> StatusMemo:
        """The status entries of a credential whose :meth:`check` passed, to :meth:`recheck`."""
        entries = tuple(StatusEntry.parse(raw) for raw in info.status)
        return StatusMemo(info.issuer, entries, hosts=_hosts(info, policy))

    def unchanged(self, memos: Iterable[StatusMemo]) -> bool:
        """Whether every list the memos' entries were read from is still the one cached (not
        expired, not replaced by an event): their outcome then still holds, with no coroutine."""
        get = self._lists.get
        for memo in memos:
            if not memo.lists:
                return False
            for entry, seen in zip(memo.entries, memo.lists, strict=True):
                if get(entry.list_url) is not seen:
                    return False
        return True

    async def recheck(self, memo: StatusMemo, *, policy: Policy, now: datetime) -> None:
        """:meth:`check` again, unless every list is still the one the entries were read from."""
        if self.unchanged((memo,)):
            return
        read = []
        for entry in memo.entries:
            verified = await self._list(entry, policy, now)
            _read(entry, verified, memo.issuer, memo.hosts)
            read.append(verified)
        memo.lists = tuple(read)

    async def still_good(self, memos: Iterable[StatusMemo], *, policy: Policy, now: datetime) -> bool:
        """Whether every memo's entries still hold (:meth:`recheck`), never raising."""
        try:
            for memo in memos:
                await self.recheck(memo, policy=policy, now=now)
        except DidvcError:
            return False
        return True

    async def _list(self, entry: StatusEntry, policy: Policy, now: datetime) -> _VerifiedList:
        return self._lists.get(entry.list_url) or await self._lists.get_or_load(
            entry.list_url, functools.partial(self._fetch, entry.list_url, policy, now)
        )

    async def _fetch(self, url: str, policy: Policy, now: datetime) -> tuple[_VerifiedList, float]:
        """The list credential at ``url``, verified, and how long it may be cached: its ``ttl``
        or the HTTP ``max-age``, whichever is shorter, at most ``default_ttl``. An expired copy
        with an entity tag is revalidated (``If-None-Match``): a 304 keeps it, unverified again."""
        previous = self._lists.stale(url)
        etag = previous.etag if previous is not None else None
        try:
            if etag is None:
                fetched = await self.fetcher.fetch(url, accept=_ACCEPT, max_bytes=self._max_bytes)
            else:
                fetched = await self.fetcher.fetch(url, accept=_ACCEPT, max_bytes=self._max_bytes, etag=etag)
        except FetchError as exc:
            if exc.refused:
                raise StatusVerificationError(f"refused to fetch the status list: {exc}") from None
            raise StatusRetrievalError(f"could not fetch the status list {url[:100]}: {exc}") from None
        if fetched.status == 304 and previous is not None:
            return previous, self._lifetime(previous.ttl, fetched)
        try:
            loaded, info = self._credentials.load(fetched.body, max_bytes=self._max_bytes)
            skew = timedelta(seconds=policy.clock_skew)
            await self._credentials.prove(loaded, info, policy=policy, now=now, skew=skew)
            check_validity_period(info, now=now, max_clock_skew=skew)
        except DidvcError as error:
            raise StatusVerificationError(
                f"the status list credential does not verify ({error.code})"
            ) from None
        subject = info.subjects[0]
        list_type = next(
            (t for t in ("BitstringStatusList", "StatusList2021") if _has_type(subject, t)), None
        )
        if list_type is None or not any(t.endswith("StatusListCredential") for t in info.types):
            raise StatusVerificationError("the fetched credential is not a status list credential")
        purposes = subject.get("statusPurpose")
        purpose_set = frozenset(purposes if isinstance(purposes, list) else [purposes])
        encoded = subject.get("encodedList")
        if not isinstance(encoded, str) or not all(isinstance(p, str) for p in purpose_set):
            raise StatusVerificationError("the status list has no encodedList or statusPurpose")
        ttl = self._default_ttl
        list_ttl = subject.get("ttl")
        if isinstance(list_ttl, int | float) and not isinstance(list_ttl, bool) and 0 <= list_ttl < 2**53:
            ttl = min(ttl, list_ttl / 1000.0)
        verified = _VerifiedList(
            info.issuer, purpose_set, list_type, encoded, ttl, fetched.headers.get("etag")
        )
        return verified, self._lifetime(ttl, fetched)

    @staticmethod
    def _lifetime(ttl: float, fetched: Fetched) -> float:
        """The list's own ``ttl``, or the response's ``max-age`` if shorter."""
        max_age = cache_lifetime(fetched.headers.get("cache-control", ""))
        return ttl if max_age is None else min(ttl, max_age)


class _Anyone(frozenset[str]):
    """Every signer: the hosts of a delegation's list in a holder's check."""

    def __contains__(self, item: object) -> bool:
        return True


_ANYONE: Final = _Anyone()


def _hosts(info: CredentialInfo, policy: Policy) -> frozenset[str]:
    """Who besides its issuer may sign a credential's status lists: for a delegation, whose
    principal hosts no list, the issuers the policy trusts (docs/delegation.md)."""
    return policy.status_hosts if is_delegation(info.types) else frozenset()


def _read(entry: StatusEntry, verified: _VerifiedList, issuer: str, hosts: frozenset[str]) -> StatusOutcome:
    """https://www.w3.org/TR/vc-bitstring-status-list/#validate-algorithm steps 6-14."""
    if verified.issuer != issuer and verified.issuer not in hosts:
        raise StatusVerificationError(
            "the status list was issued by someone other than the credential's issuer"
        )
    if entry.purpose not in verified.purposes:
        raise StatusVerificationError(f"the status list is not for the purpose {entry.purpose!r}")
    if verified.list_type != entry.list_type:
        raise StatusVerificationError("status entry and status list types differ")
    value = verified.read(entry)
    if value and entry.purpose == "revocation":
        raise CredentialRevokedError("the credential has been revoked")
    if value and entry.purpose == "suspension":
        raise CredentialSuspendedError("the credential is suspended")
    return StatusOutcome(entry.purpose, value, entry.message_for(value))


def _has_type(subject: dict[str, Any], name: str) -> bool:
    types = subject.get("type")
    return name in (types if isinstance(types, list) else [types])
