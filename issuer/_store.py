"""The issuer's store: every SQL statement the issuer runs, over SQLite or PostgreSQL.

:class:`Store` is the one interface: reads as methods, changes inside
``async with store.transaction() as tx`` through :class:`Records`. Both backends run the same
SQL, written with ``?`` placeholders (PostgreSQL's ``$n`` are substituted); each backend module
(:mod:`issuer._sqlite`, :mod:`issuer._postgres`) supplies the connection, transactions, the
column types of the schema and its locking. Every change is one transaction, and the allocation
of status-list indexes happens in the same transaction as the credential's record: a list's
counter only grows, and :func:`issuer._allocation.index_for` turns a counter into an index, so
no index is ever given twice, whichever process asks.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from didvc.errors import IssuerError
from didvc.proofs import format_datetime
from issuer._allocation import Permutation
from issuer._rows import CredentialRow, KeyRow, Note

__all__ = ["Records", "Store", "Transaction"]


class Transaction(Protocol):
    """What a backend's transaction offers :class:`Records`."""

    async def one(self, sql: str, *params: Any) -> tuple[Any, ...] | None: ...

    async def all(self, sql: str, *params: Any) -> list[tuple[Any, ...]]: ...

    async def run(self, sql: str, *params: Any) -> None: ...

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def lock(self, name: str) -> None:
        """Serialize with every other transaction that locks ``name`` (until commit)."""
        ...


class Records:
    """The changes, each inside the transaction that :meth:`Store.transaction` opened."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        self.notes: list[Note] = []

    def note(self, event: str, subject: str, **detail: Any) -> None:
        """Record a change for the audit log (appended as the transaction commits)."""
        self.notes.append(Note(event, subject, detail))

    # --- the audit log
    async def lock(self, name: str) -> None:
        await self._tx.lock(name)

    async def audit_head(self) -> tuple[int, str] | None:
        row = await self._tx.one("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        return (int(row[0]), str(row[1])) if row else None

    async def add_audit(self, rows: Sequence[Sequence[Any]]) -> None:
        await self._tx.many(
            "INSERT INTO audit_log (seq, at, actor, event, subject, detail, prev, hash, key_id, signature)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    async def active_key(self) -> tuple[str, str, bytes] | None:
        """(id, type, sealed secret) of the active key, read in this transaction."""
        row = await self._tx.one("SELECT key_id, key_type, sealed_secret FROM keys WHERE active = 1")
        return (row[0], row[1], bytes(row[2])) if row else None

    async def all_keys(self) -> list[tuple[str, str, str]]:
        return [
            (r[0], r[1], r[2])
            for r in await self._tx.all(
                "SELECT key_id, key_type, public_key FROM keys ORDER BY created, key_id"
            )
        ]

    # --- identity and keys
    async def add_meta(self, values: dict[str, str]) -> None:
        await self._tx.many("INSERT INTO meta (name, value) VALUES (?, ?)", list(values.items()))

    async def add_key(self, key: KeyRow, sealed: bytes, created: str) -> None:
        await self._tx.run(
            "INSERT INTO keys (key_id, key_type, public_key, sealed_secret, created, active)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            key.key_id,
            key.key_type,
            key.public_key,
            sealed,
            created,
            int(key.active),
        )

    async def sealed_keys(self) -> list[tuple[str, str, bytes]]:
        """(key id, key type, sealed secret) of every key, holding the lock rotations take."""
        await self._tx.lock("keys")
        rows = await self._tx.all("SELECT key_id, key_type, sealed_secret FROM keys ORDER BY key_id")
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    async def reseal_key(self, key_id: str, sealed: bytes) -> None:
        await self._tx.run("UPDATE keys SET sealed_secret = ? WHERE key_id = ?", sealed, key_id)

    async def set_meta(self, values: dict[str, str]) -> None:
        await self._tx.many("UPDATE meta SET value = ? WHERE name = ?", [(v, k) for k, v in values.items()])

    async def count_keys_for_rotation(self) -> int:
        """How many keys there are, holding the lock that makes rotations take turns."""
        await self._tx.lock("keys")
        return int((await self._tx.one("SELECT COUNT(*) FROM keys") or (0,))[0])

    async def deactivate_keys(self) -> None:
        await self._tx.run("UPDATE keys SET active = 0")

    async def retire_key(self, key_id: str, when: str) -> None:
        await self._tx.run("UPDATE keys SET retired = ? WHERE key_id = ?", when, key_id)

    # --- issuing
    async def issued_in_batch(self, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        """The body and format of the credentials these batch rows already made, by key."""
        rows = await _batch_keys_in(self._tx.all, "batch_key, body, format", keys)
        return {key: (body, form) for key, body, form in rows}

    async def allocate(
        self, purpose: str, size: int, status_size: int, created: datetime, count: int = 1
    ) -> list[tuple[int, int]]:
        """The next ``count`` indexes on the open lists for ``purpose`` and ``status_size`` (new
        lists of ``size`` entries as they fill): (list id, index) each, two statements a list."""
        await self._tx.lock(f"allocate:{purpose}")
        placed: list[tuple[int, int]] = []
        while len(placed) < count:
            row = await self._tx.one(
                "SELECT id, size, secret, next_position FROM status_lists"
                " WHERE purpose = ? AND status_size = ? AND next_position < size ORDER BY id LIMIT 1",
                purpose,
                status_size,
            )
            if row is None:
                row = await self._tx.one(
                    "INSERT INTO status_lists (purpose, size, status_size, secret, created)"
                    " VALUES (?, ?, ?, ?, ?) RETURNING id, size, secret, next_position",
                    purpose,
                    size,
                    status_size,
                    os.urandom(32),
                    format_datetime(created),
                )
                assert row is not None
            list_id, list_size, secret, position = int(row[0]), int(row[1]), bytes(row[2]), int(row[3])
            taken = min(count - len(placed), list_size - position)
            await self._tx.run(
                "UPDATE status_lists SET next_position = next_position + ? WHERE id = ?", taken, list_id
            )
            permutation = Permutation(secret, list_size)
            placed.extend((list_id, permutation.index(p)) for p in range(position, position + taken))
        return placed

    async def add_credential(
        self,
        row: CredentialRow,
        body: str,
        issued: str,
        batch_key: str | None,
        entries: list[tuple[int, int, str]],
    ) -> None:
        """An issued credential and its status entries ``(list id, index, purpose)``."""
        await self._tx.run(
            "INSERT INTO credentials (id, subject, owner, agent_name, types, scopes, valid_from,"
            " valid_until, status, body, format, issued, batch_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row.id,
            row.subject,
            row.owner,
            row.agent_name,
            row.types,
            row.scopes,
            row.valid_from,
            row.valid_until,
            row.status,
            body,
            row.format,
            issued,
            batch_key,
        )
        await self._tx.many(
            "INSERT INTO status_entries (list_id, idx, credential_id, purpose) VALUES (?, ?, ?, ?)",
            [(list_id, index, row.id, purpose) for list_id, index, purpose in entries],
        )

    # --- status changes
    async def credential_status(self, credential_id: str) -> str | None:
        row = await self._tx.one("SELECT status FROM credentials WHERE id = ?", credential_id)
        return row[0] if row else None

    async def unrevoked_credentials_of(self, subject: str) -> list[str]:
        rows = await self._tx.all(
            "SELECT id FROM credentials WHERE subject = ? AND status != 'revoked'", subject
        )
        return [r[0] for r in rows]

    async def status_size(self, credential_id: str, purpose: str) -> int | None:
        """The statusSize of the credential's ``purpose`` entry; None when it has none."""
        row = await self._tx.one(
            "SELECT l.status_size FROM status_entries e JOIN status_lists l ON l.id = e.list_id"
            " WHERE e.credential_id = ? AND e.purpose = ?",
            credential_id,
            purpose,
        )
        return int(row[0]) if row else None

    async def set_status(self, credential_id: str, status: str | None, purpose: str, value: int) -> None:
        """Set the credential's ``purpose`` entries to ``value`` (and its recorded status, unless
        None), and bump the versions of the lists holding them."""
        if status is not None:
            await self._tx.run("UPDATE credentials SET status = ? WHERE id = ?", status, credential_id)
        await self._tx.run(
            "UPDATE status_entries SET value = ? WHERE credential_id = ? AND purpose = ?",
            value,
            credential_id,
            purpose,
        )
        await self._tx.run(
            "UPDATE status_lists SET version = version + 1 WHERE id IN"
            " (SELECT list_id FROM status_entries WHERE credential_id = ? AND purpose = ?)",
            credential_id,
            purpose,
        )


class Store:
    """The store of one issuer; a backend supplies :meth:`_transaction`, :meth:`query` and the
    schema steps."""

    description: str
    #: Appends the notes of each transaction to the audit log (set by the issuer that opens it).
    audit: Any = None

    def transaction(self) -> AbstractAsyncContextManager[Records]:
        """``async with store.transaction() as tx``: all of it or none of it, its notes
        appended to the audit log before it commits."""
        return _Scope(self._transaction(), self.audit)

    def _transaction(self) -> AbstractAsyncContextManager[Transaction]:
        raise NotImplementedError

    async def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement (tests and diagnostics read the tables through it)."""
        raise NotImplementedError

    async def exists(self) -> bool:
        raise NotImplementedError

    async def create_schema(self) -> None:
        raise NotImplementedError

    async def upgrade_schema(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def meta(self) -> dict[str, str]:
        return {name: value for name, value in await self.query("SELECT name, value FROM meta")}

    # --- keys
    async def active_key(self) -> tuple[str, str, str] | None:
        """(id, type, when it was added: activated) of the active key."""
        rows = await self.query("SELECT key_id, key_type, created FROM keys WHERE active = 1")
        return (rows[0][0], rows[0][1], rows[0][2]) if rows else None

    async def sealed_key(self, key_id: str) -> bytes:
        rows = await self.query("SELECT sealed_secret FROM keys WHERE key_id = ?", key_id)
        return bytes(rows[0][0])

    async def keys(self) -> list[KeyRow]:
        """Every key, oldest first."""
        rows = await self.query(
            "SELECT key_id, key_type, public_key, active, retired, created FROM keys ORDER BY created, key_id"
        )
        return [KeyRow(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows]

    # --- credentials
    async def credentials(
        self,
        now: str,
        *,
        agent: str | None = None,
        status: str | None = None,
        expiring_by: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[CredentialRow]:
        """Issued credentials in issue order, filtered in SQL on indexes: of ``agent``; in
        ``status`` at ``now`` ("expired" is an active one past its validUntil); active and
        expiring between ``now`` and ``expiring_by``; after the (issued, id) ``after``; at most
        ``limit``. Timestamps are texts in the stored formats."""
        where, params = _credential_filter(now, agent, status, expiring_by)
        if after is not None:
            where.append("(issued > ? OR (issued = ? AND id > ?))")
            params += [after[0], after[0], after[1]]
        columns = (
            "id, subject, owner, agent_name, types, scopes, valid_from, valid_until, status, format, issued"
        )
        clause = " WHERE " + " AND ".join(where) if where else ""  # fixed clauses; values are parameters
        sql = f"SELECT {columns} FROM credentials{clause} ORDER BY issued, id" + (" LIMIT ?" if limit else "")  # noqa: S608
        rows = await self.query(sql, *params, *([limit] if limit else []))
        return [CredentialRow(*row) for row in rows]

    async def status_counts(self, now: str, *, agent: str | None = None) -> dict[str, int]:
        """How many credentials are in each state at ``now``, counted in SQL on indexes (no
        rows loaded): by recorded status, then the active ones already past validUntil."""
        where, params = _credential_filter(now, agent, None, None)
        clause = " WHERE " + " AND ".join(where) if where else ""  # fixed clauses; values are parameters
        grouped = f"SELECT status, COUNT(*) FROM credentials{clause} GROUP BY status"  # noqa: S608
        by_status = await self.query(grouped, *params)
        where, params = _credential_filter(now, agent, "expired", None)
        expired = await self.query(f"SELECT COUNT(*) FROM credentials WHERE {' AND '.join(where)}", *params)  # noqa: S608
        counts = {str(status): int(count) for status, count in by_status}
        counts["expired"] = int(expired[0][0])
        counts["active"] = counts.get("active", 0) - counts["expired"]
        return counts

    async def credential_body(self, credential_id: str) -> tuple[str, str] | None:
        rows = await self.query("SELECT body, format FROM credentials WHERE id = ?", credential_id)
        return (rows[0][0], rows[0][1]) if rows else None

    async def batch_keys(self, among: Sequence[str]) -> set[str]:
        """Those of the batch keys ``among`` that were issued (on the key's unique index, in
        chunks: a batch of a few rows in a large store reads a few rows, not every key)."""
        return {row[0] for row in await _batch_keys_in(self.query, "batch_key", among)}

    async def bodies(
        self, *, batch_prefix: str | None = None, subject: str | None = None
    ) -> list[tuple[str, str]]:
        """(body, format) of the credentials whose batch key starts with ``batch_prefix``, or of
        ``subject``, in issue order."""
        where, params = (
            ("substr(batch_key, 1, ?) = ?", [len(batch_prefix), batch_prefix])
            if batch_prefix
            else ("subject = ?", [subject])
        )
        sql = f"SELECT body, format FROM credentials WHERE {where} ORDER BY issued, id"  # noqa: S608
        rows = await self.query(sql, *params)
        return [(r[0], r[1]) for r in rows]

    # --- status lists
    async def status_lists(self) -> list[tuple[int, str]]:
        """(id, purpose) of every list."""
        return [(r[0], r[1]) for r in await self.query("SELECT id, purpose FROM status_lists ORDER BY id")]

    async def audit_rows(self, since: str | None) -> list[tuple[Any, ...]]:
        """The audit log's rows in order (from the timestamp ``since``, if given)."""
        columns = "seq, at, actor, event, subject, detail, prev, hash, key_id, signature"
        if since is None:
            return await self.query(f"SELECT {columns} FROM audit_log ORDER BY seq")  # noqa: S608
        return await self.query(f"SELECT {columns} FROM audit_log WHERE at >= ? ORDER BY seq", since)  # noqa: S608

    async def list_versions(self) -> dict[int, int]:
        """The version of every list (one small read: what ``serve`` watches for changes)."""
        return {int(r[0]): int(r[1]) for r in await self.query("SELECT id, version FROM status_lists")}

    async def list_version(self, list_id: int) -> int | None:
        rows = await self.query("SELECT version FROM status_lists WHERE id = ?", list_id)
        return int(rows[0][0]) if rows else None

    async def status_list(self, list_id: int) -> tuple[str, int, int, list[tuple[int, int]]] | None:
        """(purpose, size, status size, the entries whose value is not 0) of one list."""
        rows = await self.query("SELECT purpose, size, status_size FROM status_lists WHERE id = ?", list_id)
        if not rows:
            return None
        entries = await self.query(
            "SELECT idx, value FROM status_entries WHERE list_id = ? AND value != 0", list_id
        )
        purpose, size, status_size = rows[0]
        return purpose, size, status_size, entries  # integers from both backends


async def _batch_keys_in(
    fetch: Callable[..., Awaitable[list[tuple[Any, ...]]]], columns: str, keys: Sequence[str]
) -> list[tuple[Any, ...]]:
    """``columns`` of the credentials whose batch key is one of ``keys`` (on the key's unique
    index, in chunks: bound parameters have a limit)."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT {columns} FROM credentials WHERE batch_key IN ({marks})"  # noqa: S608 - ours and "?"s
        rows += await fetch(sql, *chunk)
    return rows


class _Scope:
    """The backend's transaction, seen as :class:`Records` (a class, not a generator: one per
    credential issued, and each generator-based layer costs microseconds)."""

    __slots__ = ("_audit", "_inner", "_records")

    def __init__(self, inner: AbstractAsyncContextManager[Transaction], audit: Any) -> None:
        self._inner = inner
        self._audit = audit
        self._records: Records | None = None

    async def __aenter__(self) -> Records:
        self._records = Records(await self._inner.__aenter__())
        return self._records

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        records = self._records
        if exc_info[0] is None and records is not None and records.notes and self._audit is not None:
            try:
                await self._audit.seal(records, records.notes)
            except BaseException as error:
                await self._inner.__aexit__(type(error), error, error.__traceback__)
                raise
        return await self._inner.__aexit__(*exc_info)


def _credential_filter(
    now: str, agent: str | None, status: str | None, expiring_by: str | None
) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if agent is not None:
        where.append("subject = ?")
        params.append(agent)
    if status in ("revoked", "suspended"):
        where.append("status = ?")
        params.append(status)
    elif status == "active":
        where.append("status = 'active' AND (valid_until IS NULL OR valid_until >= ?)")
        params.append(now)
    elif status == "expired":
        where.append("status = 'active' AND valid_until < ?")
        params.append(now)
    elif status is not None:
        raise IssuerError(f"no status {status[:40]!r}: active, suspended, revoked or expired")
    if expiring_by is not None:
        where.append("status = 'active' AND valid_until >= ? AND valid_until <= ?")
        params += [now, expiring_by]
    return where, params
