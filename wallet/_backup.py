"""Wallet backups: every DID, key and credential in one file sealed under its own passphrase.

The file is ``{"format": "didvc-wallet-backup", "version": 1, "kdf": ..., "sealed": ...}``
(:func:`didvc.sealing.seal_with_passphrase`); inside, the identities with their private keys in
the clear (the backup's seal protects them) and the credentials as issued. A backup is restored
into a new wallet only, which seals the keys under its own passphrase and checks every
credential again as it stores it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from didvc.encoding import b64url_decode, b64url_encode, strict_json_loads
from didvc.errors import InputTooLargeError, MalformedValueError
from didvc.keys import KeyPair
from didvc.sealing import Vault, open_with_passphrase, seal_with_passphrase
from didvc.storage import write_atomically
from wallet._store import RestoredIdentity, SealedKey, WalletStore

__all__ = ["read_backup", "restore_identities", "write_backup"]

_FORMAT: Final = "didvc-wallet-backup"
_LABEL: Final = b"didvc backup v1"
#: A wallet of thousands of credentials is a few MiB; more is not a backup of ours.
MAX_BACKUP_BYTES: Final = 64 << 20


async def write_backup(store: WalletStore, vault: Vault, path: Path, passphrase: str | bytes) -> None:
    """Seal every identity (keys opened from ``vault``) and credential of ``store`` into ``path``."""
    identities = []
    for record in store.dids():
        keys = [
            {
                "key_id": key.key_id,
                "key_type": key.key_type,
                "secret": b64url_encode(vault.open_key_bytes(key.sealed, key.key_id, key.key_type)),
                "retired": key.retired,
            }
            for key in store.keys_of(record.did)
        ]
        identities.append(
            {
                "did": record.did,
                "method": record.method,
                "key_id": record.key_id,
                "default": record.is_default,
                "document": store.document(record.did),
                "keys": keys,
            }
        )
    credentials = [r.credential for r in store.credentials()]
    plaintext = json.dumps({"version": 1, "identities": identities, "credentials": credentials}).encode()
    sealed = await seal_with_passphrase(plaintext, passphrase, label=_LABEL)
    write_atomically(path, json.dumps({"format": _FORMAT, "version": 1, **sealed}).encode())


async def read_backup(path: Path, passphrase: str | bytes) -> dict[str, Any]:
    """The content of a backup file: ``{"identities": [...], "credentials": [...]}`` (at most
    ``MAX_BACKUP_BYTES``, checked before it is read)."""
    if path.stat().st_size > MAX_BACKUP_BYTES:
        raise InputTooLargeError(f"{path.name} is larger than a backup can be ({MAX_BACKUP_BYTES >> 20} MiB)")
    data = strict_json_loads(path.read_bytes(), what="backup")
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise MalformedValueError("not a didvc wallet backup")
    content = strict_json_loads(await open_with_passphrase(data, passphrase, label=_LABEL), what="backup")
    if not isinstance(content, dict) or not isinstance(content.get("identities"), list):
        raise MalformedValueError("the backup's content is malformed")
    if not isinstance(content.get("credentials"), list):
        raise MalformedValueError("the backup's content is malformed")
    return content


def restore_identities(store: WalletStore, vault: Vault, identities: list[Any]) -> None:
    """Put the backup's identities into ``store`` (all or none), their keys sealed by ``vault``."""
    restored = []
    try:
        for identity in identities:
            keys = []
            for entry in identity["keys"]:
                pair = KeyPair.from_private_bytes(entry["key_type"], b64url_decode(entry["secret"]))
                public = pair.public_key.to_multikey()
                sealed = vault.seal_key(pair, entry["key_id"])
                keys.append(
                    SealedKey(entry["key_id"], str(pair.key_type), public, sealed, entry.get("retired"))
                )
            restored.append(
                RestoredIdentity(
                    identity["did"],
                    identity["method"],
                    identity["key_id"],
                    keys,
                    identity["document"],
                    bool(identity["default"]),
                )
            )
    except (KeyError, TypeError):
        raise MalformedValueError("an identity in the backup is malformed") from None
    store.restore_identities(restored)
