"""The operator's inventory: every credential issued here, its agent and its state now."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from didvc.errors import UnknownCredentialError
from didvc.proofs import format_datetime
from issuer._store import CredentialRow, Store

__all__ = ["Inventory", "InventoryEntry"]


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
    ) -> list[InventoryEntry]:
        """Every issued credential, in issue order, with its state at ``now``, filtered."""
        out = []
        for row in await self._store.credentials():
            if agent is not None and row.subject != agent:
                continue
            entry = InventoryEntry.of(row, now)
            if status is not None and entry.status != status:
                continue
            if expiring_within is not None and not entry.expires_within(now, expiring_within):
                continue
            out.append(entry)
        return out

    async def credential(self, credential_id: str) -> dict[str, Any] | str:
        """A credential as it was issued: its JSON, or its vc+jwt text."""
        stored = await self._store.credential_body(credential_id)
        if stored is None:
            raise UnknownCredentialError(f"no credential {credential_id} was issued here")
        return stored_credential(*stored)

    async def batch_keys(self) -> set[str]:
        """The keys of the batch rows issued so far (``issue(..., batch_key=...)``)."""
        return await self._store.batch_keys()


def stored_credential(body: str, fmt: str) -> dict[str, Any] | str:
    if fmt == "jwt":
        return body
    document: dict[str, Any] = json.loads(body)
    return document
