"""The issuer: identities, credentials for agents, status lists, the agent inventory.

>>> from issuer import Issuer
>>> async with await Issuer.open("issuer.db", passphrase=secret) as issuer:       # doctest: +SKIP
...     vc = await issuer.issue(agent_did, claims={"scope": ["orders:read"], "owner": "Acme"})
...     await issuer.revoke(vc["id"])
"""

from typing import TYPE_CHECKING, Any

from didvc.errors import (
    AuditLogError,
    DidvcError,
    IssuerError,
    IssuerStoreError,
    MalformedValueError,
    StatusChangeError,
    StoreConflictError,
    StoreCorruptedError,
    StoreLockedError,
    StoreUnavailableError,
    UnknownCredentialError,
    WrongPassphraseError,
)
from didvc.sealing import KdfParams, passphrase_from
from issuer._audit import AuditEntry
from issuer._batch import BatchRow, batch_key, read_rows
from issuer._inventory import InventoryEntry
from issuer._issuance import AGENT_CONTEXT, Securing
from issuer._issuer import Issuer
from issuer._keys import did_web_for

__all__ = [
    "AuditEntry",
    "AuditLogError",
    "AGENT_CONTEXT",
    "BatchRow",
    "DidvcError",
    "InventoryEntry",
    "Issuer",
    "IssuerError",
    "IssuerStoreError",
    "KdfParams",
    "MalformedValueError",
    "Securing",
    "StatusChangeError",
    "StoreConflictError",
    "StoreCorruptedError",
    "StoreLockedError",
    "StoreUnavailableError",
    "UnknownCredentialError",
    "WrongPassphraseError",
    "create_app",
    "did_web_for",
    "passphrase_from",
    "batch_key",
    "read_rows",
]

if TYPE_CHECKING:
    from issuer._app import create_app


def __getattr__(name: str) -> Any:
    """``create_app`` loads aiohttp's server on first use, not with every issuer command."""
    if name == "create_app":
        from issuer._app import create_app

        return create_app
    raise AttributeError(f"module 'issuer' has no attribute {name!r}")
