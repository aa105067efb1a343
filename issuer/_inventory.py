"""The operator's inventory: every credential issued here, its agent and its state now.

Filters and pages run in the store, on indexes (issue order; by agent; by status), with an
opaque cursor naming the last entry seen, so one page out of a million credentials costs what
one page out of a thousand does. Counts by state are one grouped query.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from didvc.encoding import b64url_decode, b64url_encode, strict_json_loads
from didvc.errors import DidvcError, IssuerError, MalformedValueError, UnknownCredentialError
from didvc.proofs import format_datetime
from issuer._rows import CredentialRow
from issuer._store import Store

__all__ = ["MAX_PAGE", "Inventory", "InventoryEntry"]

#: The most entries one page may hold.
MAX_PAGE = 10_000


@dataclass(frozen=True)
class InventoryEntry:
    """One issued credential, as the operator's inventory shows it."""

    id: str
    subject: str
    owner: str | None
    agent_name: str | None
    types: tuple[str, ...]
    scopes: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime | None
    status: str  # "active", "suspended", "revoked" or "expired"
    format: str
    cursor: str = ""  # where the page after this entry starts (``after=``)

    @classmethod
    def of(cls, row: CredentialRow, now: datetime) -> InventoryEntry:
        valid_until = datetime.fromisoformat(row.valid_until) if row.valid_until else None
        expired = row.status == "active" and valid_until is not None and valid_until < now
        return cls(
            id=row.id,
            subject=row.subject,
            owner=row.owner,
            agent_name=row.agent_name,
            types=tuple(json.loads(row.types)),
            scopes=tuple(json.loads(row.scopes)),
            valid_from=datetime.fromisoformat(row.valid_from),
            valid_until=valid_until,
            status="expired" if expired else row.status,
            format=row.format,
            cursor=b64url_encode(json.dumps([row.issued, row.id]).encode()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.subject,
            "owner": self.owner,
            "agentName": self.agent_name,
            "types": list(self.types),
            "scopes": list(self.scopes),
            "validFrom": format_datetime(self.valid_from),
            "validUntil": format_datetime(self.valid_until) if self.valid_until else None,
            "status": self.status,
            "format": self.format,
            "cursor": self.cursor,
        }

    def expires_within(self, now: datetime, window: timedelta) -> bool:
        """Active, and its validity ends in the next ``window``."""
        return (
            self.status == "active"
            and self.valid_until is not None
            and now <= self.valid_until <= now + window
        )


class Inventory:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def entries(
        self,
        now: datetime,
        *,
        agent: str | None = None,
        status: str | None = None,
        expiring_within: timedelta | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[InventoryEntry]:
        """Issued credentials in issue order with their state at ``now``, filtered by the store
        on its indexes; at most ``limit``, starting after the entry whose ``cursor`` is
        ``after``: a page costs the same at the millionth credential as at the first."""
        if limit is not None and not 1 <= limit <= MAX_PAGE:
            raise MalformedValueError(f"a page holds 1 to {MAX_PAGE} entries")
        rows = await self._store.credentials(
            format_datetime(now),
            agent=agent,
            status=status,
            expiring_by=format_datetime(now + expiring_within) if expiring_within is not None else None,
            after=_position(after) if after is not None else None,
            limit=limit,
        )
        return [InventoryEntry.of(row, now) for row in rows]

    async def counts(self, now: datetime, *, agent: str | None = None) -> dict[str, int]:
        """How many credentials are active, suspended, revoked and expired at ``now``."""
        counted = await self._store.status_counts(format_datetime(now), agent=agent)
        return {state: counted.get(state, 0) for state in ("active", "suspended", "revoked", "expired")}

    async def credential(self, credential_id: str) -> dict[str, Any] | str:
        """A credential as it was issued: its JSON, or its vc+jwt text."""
        stored = await self._store.credential_body(credential_id)
        if stored is None:
            raise UnknownCredentialError(f"no credential {credential_id} was issued here")
        return stored_credential(*stored)

    async def stored(self, *, batch: str | None, agent: str | None) -> list[dict[str, Any] | str]:
        """The credentials of the batch named ``batch``, or of ``agent``, as issued, in order."""
        if (batch is None) == (agent is None):
            raise IssuerError("name a batch or an agent")
        prefix = None if batch is None else f"{batch}/"
        rows = await self._store.bodies(batch_prefix=prefix, subject=agent)
        return [stored_credential(*row) for row in rows if row[1] != "registration"]  # no delegation record


def _position(cursor: str) -> tuple[str, str]:
    """The (issued, id) a cursor names; a cursor is opaque, and a made-up one is refused."""
    try:
        issued, credential_id = strict_json_loads(b64url_decode(cursor), what="cursor")
    except (DidvcError, ValueError, TypeError):
        raise MalformedValueError("not a cursor of this inventory") from None
    if not isinstance(issued, str) or not isinstance(credential_id, str):
        raise MalformedValueError("not a cursor of this inventory")
    return issued, credential_id


def stored_credential(body: str, fmt: str) -> dict[str, Any] | str:
    if fmt == "jwt":
        return body
    document: dict[str, Any] = json.loads(body)
    return document
