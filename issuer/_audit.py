"""The issuer's audit log: every change, append-only, hash-chained, with signed checkpoints.

Each change (``create``, ``issue``, ``revoke``, ``suspend``, ``reinstate``, ``set-message``,
``rotate-key``, ``retire-key``) is noted in the transaction that makes it and appended in that
same transaction, so the log and the store never disagree. Entry *n* holds who (``actor``),
when, what and on what, the hash of entry *n-1*, and its own hash::

    hash(n) = SHA-256( hash(n-1) || JSON [seq, at, actor, event, subject, detail] )

The last entry of each transaction is a *checkpoint*: the issuer's key signs
``didvc-audit-v1\\n<seq>\\n<hash>``. :meth:`AuditLog.verify` recomputes the chain and checks
every checkpoint with a key the log itself introduced before it (``create``, ``rotate-key``, or
the ``audit-start`` entry of a log begun on an older store), so an edited, removed, inserted or
reordered entry breaks it, and someone who can write the database but not use the issuer's
keys cannot rebuild it. What a chain alone cannot show: the newest transactions removed whole;
compare the head that ``didvc issuer log --verify`` prints with one recorded elsewhere.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple

from didvc.encoding import b64url_decode, b64url_encode
from didvc.errors import AuditLogError, DidvcError
from didvc.keys import KeySigner, PublicKey
from issuer._rows import Note
from issuer._store import Records, Store

__all__ = ["AuditEntry", "AuditLog", "default_actor"]

_GENESIS: Final = "0" * 64
_CONTEXT: Final = "didvc-audit-v1"


class AuditEntry(NamedTuple):
    seq: int
    at: str
    actor: str
    event: str
    subject: str
    detail: dict[str, Any]
    prev: str
    hash: str
    key_id: str | None
    signature: str | None

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


def _hash(prev: str, seq: int, at: str, actor: str, event: str, subject: str, detail: dict[str, Any]) -> str:
    body = json.dumps([seq, at, actor, event, subject, detail], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(bytes.fromhex(prev) + body.encode()).hexdigest()


def _checkpoint(seq: int, digest: str) -> bytes:
    return f"{_CONTEXT}\n{seq}\n{digest}".encode()


@dataclass
class AuditLog:
    """Appends the notes of a transaction (:meth:`seal`), lists and verifies the log."""

    store: Store
    signer: Callable[[Records], Awaitable[KeySigner]]  # the active key, read in the transaction
    actor: str
    clock: Callable[[], datetime]

    async def seal(self, tx: Records, notes: Sequence[Note]) -> None:
        """Append ``notes`` in ``tx``, the last one signed (called as the transaction commits)."""
        await tx.lock("audit")
        head = await tx.audit_head()
        seq, prev = head if head is not None else (0, _GENESIS)
        if head is None and notes[0].event != "create":  # a store made before the audit log
            keys = [{"id": k, "type": t, "publicKeyMultibase": m} for k, t, m in await tx.all_keys()]
            notes = [Note("audit-start", "", {"keys": keys}), *notes]
        at = self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        rows = []
        for note in notes:
            seq += 1
            digest = _hash(prev, seq, at, self.actor, note.event, note.subject, note.detail)
            detail = json.dumps(note.detail)
            rows.append([seq, at, self.actor, note.event, note.subject, detail, prev, digest, None, None])
            prev = digest
        signer = await self.signer(tx)
        rows[-1][8] = signer.key_id
        rows[-1][9] = b64url_encode(await signer.sign(_checkpoint(seq, prev)))
        await tx.add_audit(rows)

    async def entries(self, since: str | None = None) -> list[AuditEntry]:
        """The entries in order, from the moment ``since`` (a UTC timestamp) if given."""
        return [_entry(row) for row in await self.store.audit_rows(since)]

    async def verify(self) -> AuditEntry | None:
        """The head of a log that verifies (None for an empty one); raises
        :class:`~didvc.errors.AuditLogError` naming the first entry that does not."""
        prev, keys, last = _GENESIS, dict[str, PublicKey](), None
        for row in await self.store.audit_rows(None):
            try:
                entry = _entry(row)
            except (ValueError, TypeError):
                raise AuditLogError(f"audit entry {row[0]} is malformed") from None
            expected = (last.seq if last else 0) + 1
            if entry.seq != expected:
                raise AuditLogError(f"audit entry {expected} is missing (found {entry.seq} next)")
            if entry.prev != prev:
                raise AuditLogError(f"audit entry {entry.seq} does not follow entry {entry.seq - 1}")
            fields = (entry.seq, entry.at, entry.actor, entry.event, entry.subject, entry.detail)
            if _hash(prev, *fields) != entry.hash:
                raise AuditLogError(f"audit entry {entry.seq} was changed")
            keys.update(_introduced(entry))
            if entry.signature is not None:
                _check_signature(entry, keys)
            prev, last = entry.hash, entry
        if last is not None and last.signature is None:
            raise AuditLogError(f"audit entry {last.seq} is not sealed by a checkpoint")
        return last


def _entry(row: Sequence[Any]) -> AuditEntry:
    detail = json.loads(row[5])
    if not isinstance(detail, dict):
        raise ValueError("detail")
    return AuditEntry(int(row[0]), row[1], row[2], row[3], row[4], detail, row[6], row[7], row[8], row[9])


def _introduced(entry: AuditEntry) -> dict[str, PublicKey]:
    """The keys an entry brings into the log, which may sign checkpoints from then on."""
    found: list[tuple[Any, Any]] = []
    if entry.event in ("create", "rotate-key"):
        found.append((entry.subject, entry.detail.get("publicKeyMultibase")))
    elif entry.event == "audit-start":
        listed = entry.detail.get("keys")
        found = [(k.get("id"), k.get("publicKeyMultibase")) for k in listed or [] if isinstance(k, dict)]
    try:
        return {k: PublicKey.from_multikey(v) for k, v in found if isinstance(k, str) and isinstance(v, str)}
    except DidvcError:
        raise AuditLogError(f"audit entry {entry.seq} introduces a malformed key") from None


def _check_signature(entry: AuditEntry, keys: dict[str, PublicKey]) -> None:
    key = keys.get(entry.key_id or "")
    if key is None:
        raise AuditLogError(f"audit entry {entry.seq} is signed by a key the log never introduced")
    try:
        key.verify(b64url_decode(entry.signature or ""), _checkpoint(entry.seq, entry.hash))
    except DidvcError:
        raise AuditLogError(f"audit entry {entry.seq}: its checkpoint signature does not verify") from None


def default_actor() -> str:
    """``user@host`` of this process, as the audit log names who made a change."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = f"uid-{os.getuid()}"
    return f"{user}@{socket.gethostname()}"
