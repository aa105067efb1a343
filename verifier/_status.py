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

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from didvc.credentials import CredentialInfo, check_validity_period
from didvc.errors import (
    CredentialRevokedError,
    CredentialSuspendedError,
    DidvcError,
    MalformedValueError,
    StatusRetrievalError,
    StatusVerificationError,
)
from didvc.status import StatusList
from resolvers import FetchError, GuardedFetcher
from verifier._credentials import CredentialChecker
from verifier._policy import Policy

__all__ = ["StatusChecker", "StatusOutcome"]

_ACCEPT: Final = (
    "application/vc+ld+json",
    "application/vc",
    "application/vc+jwt",
    "application/ld+json",
    "application/json",
    "application/jwt",
)
_ENTRY_TYPES: Final = {
    "BitstringStatusListEntry": "BitstringStatusList",
    "StatusList2021Entry": "StatusList2021",
}
_MAX_AGE: Final = re.compile(r"max-age=(\d+)")


@dataclass(frozen=True)
class StatusOutcome:
    purpose: str
    value: int
    message: str | None = None


@dataclass
class _CachedList:
    issuer: str
    purposes: frozenset[str]
    encoded: str
    list_type: str
    expires: float
    decoded: dict[int, StatusList]


class StatusChecker:
    """Checks credential status entries; ``credentials`` verifies the fetched list credentials."""

    def __init__(
        self,
        fetcher: GuardedFetcher,
        credentials: CredentialChecker,
        *,
        default_ttl: float = 300.0,
        max_lists: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetcher = fetcher
        self._credentials = credentials
        self._default_ttl = default_ttl
        self._max_lists = max_lists
        self._clock = clock
        self._cache: OrderedDict[str, _CachedList] = OrderedDict()
        self._pending: dict[str, asyncio.Future[_CachedList]] = {}

    def clear(self) -> None:
        self._cache.clear()

    async def check(self, info: CredentialInfo, *, policy: Policy, now: datetime) -> list[StatusOutcome]:
        """Check every status entry of a verified credential; raises the first problem. A list
        is verified (under ``policy``'s suites and work budget, at ``now``) when fetched."""
        outcomes = []
        for entry in info.status:
            outcomes.append(await self._check_entry(entry, info.issuer, policy, now))
        return outcomes

    async def _check_entry(
        self, entry: dict[str, Any], issuer: str, policy: Policy, now: datetime
    ) -> StatusOutcome:
        entry_type = entry.get("type")
        list_type = _ENTRY_TYPES.get(entry_type) if isinstance(entry_type, str) else None
        if list_type is None:
            raise StatusVerificationError(f"unsupported credentialStatus type {str(entry_type)[:60]!r}")
        purpose = entry.get("statusPurpose")
        url = entry.get("statusListCredential")
        index_text = entry.get("statusListIndex")
        if not isinstance(purpose, str) or not isinstance(url, str):
            raise MalformedValueError("a status entry needs statusPurpose and statusListCredential")
        if not isinstance(index_text, str) or not index_text.isdigit() or len(index_text) > 12:
            raise MalformedValueError("statusListIndex must be a string of decimal digits")
        size = entry.get("statusSize", 1)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 8:
            raise MalformedValueError("statusSize must be an integer from 1 to 8")
        if size > 1 and "statusMessage" not in entry:
            raise MalformedValueError("a statusSize above 1 needs statusMessage")

        cached = await self._list(url, policy, now)
        if cached.issuer != issuer:
            raise StatusVerificationError(
                "the status list was issued by someone other than the credential's issuer"
            )
        if purpose not in cached.purposes:
            raise StatusVerificationError(f"the status list is not for the purpose {purpose!r}")
        if cached.list_type != list_type:
            raise StatusVerificationError("status entry and status list types differ")
        status_list = cached.decoded.get(size)
        if status_list is None:
            status_list = _decode(cached.encoded, size, list_type)
            cached.decoded[size] = status_list
        value = status_list.get(int(index_text))
        if value and purpose == "revocation":
            raise CredentialRevokedError("the credential has been revoked")
        if value and purpose == "suspension":
            raise CredentialSuspendedError("the credential is suspended")
        message = None
        for item in entry.get("statusMessage", []) if isinstance(entry.get("statusMessage"), list) else []:
            if isinstance(item, dict) and isinstance(item.get("status"), str):
                try:
                    if int(item["status"], 16) == value:
                        message = str(item.get("message"))
                except ValueError:
                    continue
        return StatusOutcome(purpose, value, message)

    async def _list(self, url: str, policy: Policy, now: datetime) -> _CachedList:
        cached = self._cache.get(url)
        if cached is not None and cached.expires > self._clock():
            self._cache.move_to_end(url)
            return cached
        pending = self._pending.get(url)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[_CachedList] = asyncio.get_running_loop().create_future()
        self._pending[url] = future
        try:
            fresh = await self._fetch(url, policy, now)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            del self._pending[url]
        future.set_result(fresh)
        self._cache[url] = fresh
        while len(self._cache) > self._max_lists:
            self._cache.popitem(last=False)
        return fresh

    async def _fetch(self, url: str, policy: Policy, now: datetime) -> _CachedList:
        try:
            fetched = await self.fetcher.fetch(url, accept=_ACCEPT)
        except FetchError as exc:
            if exc.refused:
                raise StatusVerificationError(f"refused to fetch the status list: {exc}") from None
            raise StatusRetrievalError(f"could not fetch the status list {url[:100]}: {exc}") from None
        try:
            loaded, info = self._credentials.load(fetched.body, max_bytes=self.fetcher.policy.max_bytes)
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
        max_age = _MAX_AGE.search(fetched.headers.get("cache-control", ""))
        if max_age:
            ttl = min(ttl, float(max_age.group(1)))
        return _CachedList(
            issuer=info.issuer,
            purposes=purpose_set,
            encoded=encoded,
            list_type=list_type,
            expires=self._clock() + ttl,
            decoded={},
        )


def _has_type(subject: dict[str, Any], name: str) -> bool:
    types = subject.get("type")
    return name in (types if isinstance(types, list) else [types])


def _decode(encoded: str, size: int, list_type: str) -> StatusList:
    # StatusList2021 lists are plain base64url (GZIP data always starts "H4s"); Bitstring Status
    # List ones carry the multibase prefix "u".
    if list_type == "StatusList2021" and not encoded.startswith("u"):
        encoded = "u" + encoded.rstrip("=")
    return StatusList.decode(encoded, status_size=size)
