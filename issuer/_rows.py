"""The rows the issuer's store reads and writes: keys, credentials, and changes noted for the
audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

__all__ = ["CredentialRow", "KeyRow", "Note"]


class Note(NamedTuple):
    """A change, noted in its transaction for the audit log."""

    event: str
    subject: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    key_type: str
    public_key: str  # multikey
    active: bool
    retired: str | None
    created: str = ""  # precise UTC timestamp: when it was added (for the active key: activated)


class CredentialRow(NamedTuple):
    """What the inventory knows of one issued credential (its body aside)."""

    id: str
    subject: str
    owner: str | None
    agent_name: str | None
    types: str  # JSON list
    scopes: str  # JSON list
    valid_from: str
    valid_until: str | None
    status: str
    format: str
    issued: str = ""  # precise UTC timestamp: the inventory's order (with the id)
