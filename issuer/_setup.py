"""Making a new issuer store and unlocking an existing one: the identity, its first key sealed
under the passphrase, the settings (:class:`issuer.Issuer` opens over what these return)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from didvc.errors import IssuerError, MalformedValueError
from didvc.keys import KeyPair, KeySigner, KeyType
from didvc.sealing import KdfParams, Vault
from didvc.status import MIN_ENTRIES
from issuer._audit import AuditLog, default_actor
from issuer._backends import open_store
from issuer._keys import add_key, new_identity
from issuer._store import Records, Store

__all__ = ["LABEL", "create", "unlock"]

#: What the vault's key is derived for: an issuer's passphrase opens no wallet, and the reverse.
LABEL: Final = b"didvc issuer v1"


def _now() -> datetime:
    return datetime.now(UTC)


async def create(
    path: str | os.PathLike[str],
    *,
    passphrase: str | bytes,
    did_web: str | None,
    base_url: str | None,
    key_type: KeyType | str,
    kdf: KdfParams | None,
    list_size: int,
    default_validity: timedelta,
    status_ttl_ms: int,
    did_document_max_age: int,
) -> tuple[Store, Vault, dict[str, str]]:
    """A new store at ``path`` holding a new identity (see :meth:`issuer.Issuer.create`)."""
    if list_size < MIN_ENTRIES:
        raise MalformedValueError(f"status lists need at least {MIN_ENTRIES} entries")
    store = open_store(path)
    try:
        if await store.exists():
            raise IssuerError(f"{store.description} already holds an issuer")
        pair = KeyPair.generate(key_type)
        did, key_id, default_base = new_identity(pair, did_web)
        base = (base_url or default_base or "").rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise IssuerError("a did:key issuer needs --base-url: where its status lists are published")
        vault = await Vault.create(passphrase, label=LABEL, kdf=kdf)
        await store.create_schema()
        meta = {
            "did": did,
            "base_url": base,
            **vault.stored(),
            "list_size": str(list_size),
            "default_validity": str(int(default_validity.total_seconds())),
            "status_ttl_ms": str(status_ttl_ms),
            "did_document_max_age": str(did_document_max_age),
        }

        async def first_signer(tx: Records) -> KeySigner:
            return KeySigner(pair, key_id)

        store.audit = AuditLog(store, first_signer, default_actor(), _now)
        async with store.transaction() as tx:
            await tx.add_meta(meta)
            await add_key(tx, vault, key_id, pair, active=True)
            multikey = pair.public_key.to_multikey()
            tx.note("create", key_id, did=did, type=str(pair.key_type), publicKeyMultibase=multikey)
    except BaseException:
        await store.close()
        raise
    return store, vault, meta


async def unlock(
    path: str | os.PathLike[str], *, passphrase: str | bytes
) -> tuple[Store, Vault, dict[str, str]]:
    """The store at ``path``, its keys unlocked by ``passphrase``, its schema brought up to date."""
    is_url = str(path).startswith(("postgresql://", "postgres://"))
    if not is_url and not Path(path).exists():
        raise IssuerError(f"no issuer store at {path} (run 'didvc issuer init')")
    store = open_store(path)
    try:
        if not await store.exists():
            raise IssuerError(f"{store.description} holds no issuer (run 'didvc issuer init')")
        meta = await store.meta()
        vault = await Vault.unlock(passphrase, meta, label=LABEL, what="this issuer store")
        await store.upgrade_schema()
    except BaseException:
        await store.close()
        raise
    return store, vault, dict(meta)
