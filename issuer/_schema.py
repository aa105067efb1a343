"""The issuer store's tables and indexes, and what stores made by earlier releases gain on open.

Both backends run these statements (:mod:`issuer._sqlite`, :mod:`issuer._postgres`); only the
spelling of a byte string and of an auto-numbered key differs. Every upgrade is additive.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ADD_LIST_VERSION", "AUDIT_TABLE", "CURRENT_NAMES", "INVENTORY_INDEXES", "LIST_VERSION", "schema"]


def schema(blob: str, serial: str) -> list[str]:
    """The tables, in the backend's spelling of a byte string and an auto-numbered key."""
    return [
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS keys (
            key_id TEXT PRIMARY KEY, key_type TEXT NOT NULL, public_key TEXT NOT NULL,
            sealed_secret {blob} NOT NULL, created TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 0,
            retired TEXT)""",
        f"""CREATE TABLE IF NOT EXISTS status_lists (
            id {serial}, purpose TEXT NOT NULL, size INTEGER NOT NULL,
            status_size INTEGER NOT NULL DEFAULT 1, secret {blob} NOT NULL,
            next_position INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 0)""",
        """CREATE TABLE IF NOT EXISTS credentials (
            id TEXT PRIMARY KEY, subject TEXT NOT NULL, owner TEXT, agent_name TEXT, types TEXT NOT NULL,
            scopes TEXT NOT NULL, valid_from TEXT NOT NULL, valid_until TEXT, status TEXT NOT NULL,
            body TEXT NOT NULL, format TEXT NOT NULL, issued TEXT NOT NULL, batch_key TEXT UNIQUE)""",
        """CREATE TABLE IF NOT EXISTS status_entries (
            list_id INTEGER NOT NULL REFERENCES status_lists(id), idx INTEGER NOT NULL,
            credential_id TEXT NOT NULL REFERENCES credentials(id), purpose TEXT NOT NULL,
            value INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (list_id, idx))""",
        AUDIT_TABLE,
        "CREATE INDEX IF NOT EXISTS entries_by_credential ON status_entries (credential_id)",
        "CREATE INDEX IF NOT EXISTS credentials_by_subject ON credentials (subject)",
        *INVENTORY_INDEXES,
    ]


#: What the inventory pages by (issue order, by agent, by status); stores made before get them on open.
INVENTORY_INDEXES: Final = (
    "CREATE INDEX IF NOT EXISTS credentials_in_order ON credentials (issued, id)",
    "CREATE INDEX IF NOT EXISTS credentials_of_subject_in_order ON credentials (subject, issued, id)",
    "CREATE INDEX IF NOT EXISTS credentials_by_status_in_order ON credentials (status, issued, id)",
    "CREATE INDEX IF NOT EXISTS credentials_by_status_until ON credentials (status, valid_until)",
)
#: The tables and indexes a current store has (a store lacking one is upgraded on open).
CURRENT_NAMES: Final = frozenset({"audit_log", *(statement.split()[5] for statement in INVENTORY_INDEXES)})

#: The audit log (:mod:`issuer._audit`); stores made before it get the table on open.
AUDIT_TABLE: Final = """CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, event TEXT NOT NULL,
    subject TEXT NOT NULL, detail TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL,
    key_id TEXT, signature TEXT)"""

# Added after the first release: a counter bumped whenever a list's entries change, so `serve`
# knows without reading them whether its signed copy is current. Stores made before get it on open.
LIST_VERSION: Final = "version"
ADD_LIST_VERSION: Final = "ALTER TABLE status_lists ADD COLUMN version INTEGER NOT NULL DEFAULT 0"
