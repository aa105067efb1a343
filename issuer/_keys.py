"""The issuer's identity and keys: which key signs, the DID document it publishes, rotation.

A did:key issuer is its one key. A did:web issuer has numbered keys (``#key-1``, ``#key-2``,
...): one active key signs; every key not yet retired is in the DID document, so credentials
signed before a rotation keep verifying until the operator retires their key. Private keys are
sealed by the store's :class:`~didvc.sealing.Vault`, bound to their key id and type.

Rotation without a failed request (docs/operator.md, "Rotating a key"): the new key is in the
DID document at once and signs new credentials (a verifier whose cached document lacks it
resolves once more); status lists, which every verifier checks for every agent, stay signed by
the previous key for ``grace`` seconds, the DID document's served ``max-age``, by when every
cached copy of the document has the new key. A retired key never signs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from didvc.did import DidDocument
from didvc.errors import IssuerError
from didvc.keys import KeyPair, KeySigner, KeyType
from didvc.proofs import default_cryptosuite, format_datetime
from didvc.sealing import Vault
from issuer._rows import KeyRow
from issuer._store import Records, Store
from resolvers import did_key_document, did_key_from_public_key, did_web_url

__all__ = ["IssuerKeys", "add_key", "did_web_for", "new_identity", "precise"]


def did_web_for(host_and_path: str) -> str:
    """``example.com:8443:issuers:acme`` or ``example.com/issuers/acme`` → the did:web DID."""
    text = host_and_path.strip().removeprefix("did:web:").replace("/", ":")
    host, _, path = text.partition(":")
    if path and path.split(":")[0].isdigit():  # host:port
        port, _, path = path.partition(":")
        host = f"{host}%3A{port}"
    did = f"did:web:{host}" + (f":{path}" if path else "")
    did_web_url(did)  # validates
    return did


def new_identity(pair: KeyPair, did_web: str | None) -> tuple[str, str, str | None]:
    """(DID, id of its first key, default base URL for the status lists) of a new issuer: a
    did:web at ``did_web`` (its https origin and path), else the did:key of ``pair`` (no
    default: a did:key has no web presence)."""
    signing_key(str(pair.key_type))
    if did_web:
        did = did_web_for(did_web)
        base = did_web_url(did).removesuffix("/did.json").removesuffix("/.well-known")
        return did, f"{did}#key-1", base
    did = did_key_from_public_key(pair.public_key)
    return did, f"{did}#{did.removeprefix('did:key:')}", None


def signing_key(key_type: str) -> None:
    """An issuer's key must sign its status lists, which need a Data Integrity proof: refused
    up front for a key type no cryptosuite takes (secp256k1), not at the first list."""
    if default_cryptosuite(key_type) is None:
        raise IssuerError(
            f"an issuer cannot use a {key_type} key: its status lists need a Data Integrity proof,"
            " and no cryptosuite signs with one (Ed25519, P-256 or P-384)"
        )


async def add_key(tx: Records, vault: Vault, key_id: str, pair: KeyPair, *, active: bool) -> None:
    row = KeyRow(key_id, str(pair.key_type), pair.public_key.to_multikey(), active, None)
    await tx.add_key(row, vault.seal_key(pair, key_id), precise(datetime.now(UTC)))


_PRECISE = "%Y-%m-%dT%H:%M:%S.%fZ"


def precise(moment: datetime) -> str:
    """A sortable UTC timestamp to the microsecond (key and issue order)."""
    return moment.astimezone(UTC).strftime(_PRECISE)


@functools.lru_cache(maxsize=64)
def _activated(created: str) -> datetime:
    """When a key was added (its ``created``), parsed once."""
    return datetime.strptime(created, _PRECISE).replace(tzinfo=UTC)


class IssuerKeys:
    """The keys of the issuer ``did``, in ``store``, opened by ``vault``."""

    def __init__(
        self, store: Store, vault: Vault, did: str, clock: Callable[[], datetime], *, grace: float
    ) -> None:
        self._store = store
        self._vault = vault
        self.did = did
        self._clock = clock
        self.grace = grace
        self._signers: dict[str, KeySigner] = {}
        self._alone: set[str] = set()  # active keys with no unretired key before them

    @property
    def is_did_web(self) -> bool:
        return self.did.startswith("did:web:")

    @property
    def document_path(self) -> str:
        """Where the DID document is served under its host: the did:web path (did-method-web
        §3.2), or ``/.well-known/did.json`` for a did:key issuer's web presence."""
        if not self.is_did_web:
            return "/.well-known/did.json"
        return "/" + did_web_url(self.did).split("/", 3)[3]

    async def signer(self) -> KeySigner:
        """The signer of the active assertion key. Keys are decrypted once and kept in memory,
        but which key is active is read every time: a ``rotate-key`` run by another process
        (the CLI beside a running ``serve`` or batch) takes effect on the next signature, before
        the old key can be retired from under us."""
        active = await self._store.active_key()
        if active is None:
            raise IssuerError("the issuer has no active key")
        return await self._opened(active[0], active[1])

    async def signer_in(self, tx: Records) -> KeySigner:
        """The active key's signer, read in ``tx`` (no second connection while it is open)."""
        active = await tx.active_key()
        if active is None:
            raise IssuerError("the issuer has no active key")
        key_id, key_type, sealed = active
        signer = self._signers.get(key_id)
        if signer is None:
            signer = self._signers[key_id] = KeySigner(self._vault.open_key(sealed, key_id, key_type), key_id)
        return signer

    async def list_signer(self) -> KeySigner:
        """The signer of status lists: the previous key while the active one is younger than
        ``grace`` and the previous one is not retired, else the active key. Past the grace (the
        usual case: on the path a client hammering ``/status/<n>`` takes) one small read."""
        active = await self._store.active_key()
        if active is None:
            raise IssuerError("the issuer has no active key")
        key_id, key_type, created = active
        if key_id in self._alone or not created:
            return await self._opened(key_id, key_type)
        if (self._clock() - _activated(created)).total_seconds() >= self.grace:
            return await self._opened(key_id, key_type)
        earlier = [k for k in await self._store.keys() if k.created < created and k.retired is None]
        if not earlier:  # none now, none ever: keys before it only get retired
            self._alone.add(key_id)
            return await self._opened(key_id, key_type)
        return await self._opened(earlier[-1].key_id, earlier[-1].key_type)

    async def switch_time(self) -> datetime | None:
        """When status lists switch to the active key, if they have not yet."""
        keys = await self._store.keys()
        active = next((k for k in keys if k.active), None)
        if active is None or not active.created:
            return None
        switch = _activated(active.created) + timedelta(seconds=self.grace)
        return switch if switch > self._clock() else None

    async def _opened(self, key_id: str, key_type: str) -> KeySigner:
        signer = self._signers.get(key_id)
        if signer is None:
            pair = self._vault.open_key(await self._store.sealed_key(key_id), key_id, key_type)
            signer = self._signers[key_id] = KeySigner(pair, key_id)
        return signer

    async def did_document(self) -> dict[str, Any]:
        """The DID document to publish (did:web): every key not yet retired asserts for us."""
        if not self.is_did_web:
            return did_key_document(self.did)
        methods = [
            {"id": k.key_id, "type": "Multikey", "controller": self.did, "publicKeyMultibase": k.public_key}
            for k in await self._store.keys()
            if k.retired is None
        ]
        document = {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": self.did,
            "verificationMethod": methods,
            "assertionMethod": [m["id"] for m in methods],
            "authentication": [m["id"] for m in methods],
        }
        DidDocument(document)  # what we publish must itself parse strictly
        return document

    async def rotate(self, key_type: KeyType | str | None = None) -> str:
        """A new assertion key signs from now on; the old one stays published until retired."""
        if not self.is_did_web:
            raise IssuerError("a did:key issuer cannot rotate: its DID is its key (create a did:web issuer)")
        current = await self.signer()
        signing_key(str(key_type or current.algorithm))
        pair = KeyPair.generate(key_type or current.algorithm)
        async with self._store.transaction() as tx:
            key_id = f"{self.did}#key-{await tx.count_keys_for_rotation() + 1}"
            await tx.deactivate_keys()
            await add_key(tx, self._vault, key_id, pair, active=True)
            tx.note(
                "rotate-key",
                key_id,
                type=str(pair.key_type),
                publicKeyMultibase=pair.public_key.to_multikey(),
            )
        return key_id

    async def change_passphrase(self, vault: Vault) -> None:
        """Every key sealed again under ``vault`` (a new passphrase), in one transaction with the
        vault's check value: the store then opens with the new passphrase only, or, if anything
        fails, still with the old one."""
        await self.signer()  # opened now, with the old vault: the transaction's checkpoint signs
        async with self._store.transaction() as tx:
            for key_id, key_type, sealed in await tx.sealed_keys():
                pair = self._vault.open_key(sealed, key_id, key_type)
                await tx.reseal_key(key_id, vault.seal_key(pair, key_id))
            await tx.set_meta(vault.stored())
            tx.note("change-passphrase", self.did)
        self._vault = vault

    async def retire(self, key_id: str) -> None:
        """Take a key out of the DID document: credentials it signed stop verifying."""
        key = next((k for k in await self._store.keys() if k.key_id == key_id), None)
        if key is None:
            raise IssuerError(f"no key {key_id}")
        if key.active:
            raise IssuerError("the active key cannot be retired; rotate first")
        if key.retired:
            raise IssuerError(f"{key_id} is already retired")
        async with self._store.transaction() as tx:
            await tx.retire_key(key_id, format_datetime(self._clock()))
            tx.note("retire-key", key_id)

    async def listing(self) -> list[dict[str, Any]]:
        return [
            {
                "id": k.key_id,
                "type": k.key_type,
                "publicKeyMultibase": k.public_key,
                "active": k.active,
                "retired": k.retired,
            }
            for k in await self._store.keys()
        ]
