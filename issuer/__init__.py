"""The issuer: identities, credentials for agents, status lists, the agent inventory.

>>> from issuer import Issuer
>>> async with await Issuer.open("issuer.db", passphrase=secret) as issuer:       # doctest: +SKIP
...     vc = await issuer.issue(agent_did, claims={"scope": ["orders:read"], "owner": "Acme"})
...     await issuer.revoke(vc["id"])
"""

from issuer._issuer import AGENT_CONTEXT, InventoryEntry, Issuer, IssuerError, did_web_for
from issuer._store import IssuerStoreError, StoreCorruptedError, StoreLockedError

__all__ = [
    "AGENT_CONTEXT",
    "InventoryEntry",
    "Issuer",
    "IssuerError",
    "IssuerStoreError",
    "StoreCorruptedError",
    "StoreLockedError",
    "did_web_for",
]
