"""The issuer's status lists (Bitstring Status List 1.0): entries, changes, signed lists.

https://www.w3.org/TR/vc-bitstring-status-list/ — every credential gets a ``revocation`` and a
``suspension`` entry (and, if asked, a multi-bit ``message`` entry) at random, never-reused
indexes (:func:`issuer._allocation.index_for`, §6.1 herd privacy). A status change updates the
entry and bumps the version of its list; the list credential (§2.2) is signed from the entries
on demand, and ``serve`` re-signs only when the version, the active key or the ``ttl`` says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from didvc.credentials import CREDENTIALS_V2
from didvc.errors import IssuerError, StatusChangeError, UnknownCredentialError
from didvc.keys import KeySigner
from didvc.proofs import add_proof, format_datetime
from didvc.status import StatusList
from didvc.storage import write_atomically
from issuer._store import Records, Store

__all__ = ["PURPOSES", "StatusLists"]

PURPOSES: Final = ("revocation", "suspension")
_EVENTS: Final = {"revoked": "revoke", "suspended": "suspend", "active": "reinstate"}  # audit log


class StatusLists:
    """The lists of the issuer ``did``, published under ``base_url``."""

    def __init__(
        self,
        store: Store,
        did: str,
        base_url: str,
        *,
        list_size: int,
        ttl_ms: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self.did = did
        self.base_url = base_url.rstrip("/")
        self.list_size = list_size
        self.ttl_ms = ttl_ms
        self._clock = clock
        self._served: dict[int, tuple[tuple[int, str], float, tuple[dict[str, Any], bytes, str]]] = {}

    @property
    def base_path(self) -> str:
        """The path part of ``base_url`` ("" for an origin), where ``status/<n>`` lives."""
        return urlsplit(self.base_url).path.rstrip("/")

    def url(self, list_id: int) -> str:
        return f"{self.base_url}/status/{list_id}"

    # --- entries of a new credential ---------------------------------------------------------

    async def allocate(
        self, tx: Records, wanted: Sequence[tuple[datetime, Sequence[str] | None, Sequence[str] | None]]
    ) -> list[list[tuple[int, int, str, dict[str, Any]]]]:
        """The status entries of each credential of a group being issued in ``tx``, one
        ``(valid from, messages, purposes)`` each: (list id, index, purpose, the
        ``credentialStatus`` entry). ``purposes`` None means revocation and suspension. With
        messages a ``message`` entry is added (§2.1 statusSize, statusMessage): the n-th message
        means value n, in as few bits as fit. The group's indexes of each purpose are allocated
        at once."""
        plans = [_purposes(messages, purposes) for _, messages, purposes in wanted]
        needed = Counter(purpose for plan in plans for purpose in plan)
        created = min(start for start, _, _ in wanted)
        placed = {
            (purpose, size): iter(await tx.allocate(purpose, self.list_size, size, created, count))
            for (purpose, size), count in needed.items()
        }
        return [
            [self._entry(purpose, size, *next(placed[purpose, size]), messages) for purpose, size in plan]
            for plan, (_, messages, _) in zip(plans, wanted, strict=True)
        ]

    def _entry(
        self, purpose: str, status_size: int, list_id: int, index: int, messages: Sequence[str] | None
    ) -> tuple[int, int, str, dict[str, Any]]:
        url = self.url(list_id)
        entry: dict[str, Any] = {
            "id": f"{url}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose,
            "statusListIndex": str(index),
            "statusListCredential": url,
        }
        if purpose == "message":
            entry["statusSize"] = status_size
            entry["statusMessage"] = [
                {"status": hex(value), "message": str(text)} for value, text in enumerate(messages or [])
            ]
        return list_id, index, purpose, entry

    # --- changes -----------------------------------------------------------------------------

    async def change(
        self, credential_id: str, allowed: tuple[str, ...], status: str, purpose: str, value: int
    ) -> None:
        """Move a credential from one of the ``allowed`` states to ``status``, its ``purpose``
        entries to ``value``."""
        async with self._store.transaction() as tx:
            current = await tx.credential_status(credential_id)
            if current is None:
                raise UnknownCredentialError(f"no credential {credential_id} was issued here")
            if current not in allowed:
                raise StatusChangeError(f"{credential_id} is {current}; cannot make it {status}")
            if await tx.status_size(credential_id, purpose) is None:
                raise StatusChangeError(f"{credential_id} has no {purpose} status entry")
            await tx.set_status(credential_id, status, purpose, value)
            tx.note(_EVENTS[status], credential_id, previously=current)

    async def set_message(self, credential_id: str, value: int) -> None:
        async with self._store.transaction() as tx:
            status_size = await tx.status_size(credential_id, "message")
            if status_size is None:
                raise UnknownCredentialError(f"{credential_id} has no message status")
            if not 0 <= value < (1 << status_size):
                raise StatusChangeError(f"status value {value} does not fit in {status_size} bits")
            await tx.set_status(credential_id, None, "message", value)
            tx.note("set-message", credential_id, value=value)

    async def revoke_all(self, subject: str) -> list[str]:
        async with self._store.transaction() as tx:
            ids = []
            for credential_id in await tx.unrevoked_credentials_of(subject):
                if await tx.status_size(credential_id, "revocation") is None:
                    continue  # signed as given without a revocation entry: nothing to revoke
                await tx.set_status(credential_id, "revoked", "revocation", 1)
                tx.note("revoke", credential_id, agent=subject, all=True)
                ids.append(credential_id)
        return ids

    # --- the signed lists --------------------------------------------------------------------

    async def signed(
        self, list_id: int, signer: KeySigner, valid_for: timedelta | None = None
    ) -> dict[str, Any]:
        """The BitstringStatusListCredential of one list as of now (§2.2), signed."""
        stored = await self._store.status_list(list_id)
        if stored is None:
            raise UnknownCredentialError(f"no status list {list_id}")
        purpose, size, status_size, entries = stored
        bits = StatusList(size, status_size=status_size)
        for index, value in entries:
            bits.set(index, value)
        url = self.url(list_id)
        now = self._clock()
        document = {
            "@context": [CREDENTIALS_V2],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.did,
            "validFrom": format_datetime(now),
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": bits.encode(),
                "ttl": self.ttl_ms,
            },
        }
        if valid_for is not None:
            document["validUntil"] = format_datetime(now + valid_for)
        return await add_proof(document, signer, created=now)

    async def served(self, list_id: int, signer_now: Callable[[], Awaitable[KeySigner]]) -> dict[str, Any]:
        """The list as ``serve`` hands it out (see :meth:`served_tagged`)."""
        return (await self.served_tagged(list_id, signer_now))[0]

    async def served_tagged(
        self, list_id: int, signer_now: Callable[[], Awaitable[KeySigner]]
    ) -> tuple[dict[str, Any], bytes, str]:
        """The list as ``serve`` hands it out, its JSON, and its entity tag: signed again only
        when its entries changed (the list's version, bumped by every status change from this
        process or another sharing the store, such as a CLI ``revoke``), the signing key
        changed, or the last signature is older than the list's ``ttl``. Otherwise one indexed
        row is read: signing costs milliseconds, which a client hammering the endpoint must not
        be able to make us spend per request. The tag is weak (RFC 9110 §8.8.1) and names the
        version and the key: a copy re-signed only because of its age is the same list, so a
        verifier polling with ``If-None-Match`` gets a 304 until something changed."""
        version = await self._store.list_version(list_id)
        if version is None:
            raise UnknownCredentialError(f"no status list {list_id}")
        signer = await signer_now()
        stamp = (version, signer.key_id)
        cached = self._served.get(list_id)
        now = time.monotonic()
        if cached is not None and cached[0] == stamp and now - cached[1] < self.ttl_ms / 1000:
            return cached[2]
        # Read after the version: a change in between only makes the next request sign again.
        document = await self.signed(list_id, signer)
        key = hashlib.sha256(signer.key_id.encode()).hexdigest()[:12]
        served = (document, json.dumps(document).encode(), f'W/"{list_id}.{version}.{key}"')
        self._served[list_id] = (stamp, now, served)
        return served

    async def publish(self, directory: str | os.PathLike[str], signer: KeySigner) -> list[Path]:
        """Write every signed list into ``directory``, taken as the web root of ``base_url``'s
        host; each file is replaced atomically."""
        status_dir = Path(directory).joinpath(*[p for p in self.base_path.split("/") if p], "status")
        return [
            write_published(status_dir / str(list_id), await self.signed(list_id, signer))
            for list_id, _ in await self._store.status_lists()
        ]


def write_published(path: Path, document: dict[str, Any]) -> Path:
    """Write a document meant for the public web (so not 0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(document, indent=2).encode(), private=False)
    return path


def _purposes(messages: Sequence[str] | None, chosen: Sequence[str] | None) -> list[tuple[str, int]]:
    """(purpose, statusSize) of each entry a credential gets, in the order they are locked."""
    chosen = PURPOSES if chosen is None else chosen
    unknown = sorted(set(chosen) - {*PURPOSES, "message"})
    if unknown:
        raise IssuerError(f"unknown status purpose {unknown[0][:40]!r}: revocation, suspension or message")
    if "message" in chosen and not messages:
        raise IssuerError("a message status needs its messages")
    purposes = [(purpose, 1) for purpose in PURPOSES if purpose in chosen]
    if messages:
        if not 2 <= len(messages) <= 256:
            raise IssuerError("status_messages needs 2 to 256 messages")
        purposes.append(("message", max(1, (len(messages) - 1).bit_length())))
    return purposes
