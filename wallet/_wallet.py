"""The agent wallet: DIDs and their keys (encrypted at rest), credentials, and presentations.

>>> async with await Wallet.open("agent.wallet", passphrase="...") as wallet:      # doctest: +SKIP
...     did = await wallet.create_did()
...     await wallet.store_credential(vc)
...     headers = await wallet.request_headers("POST", "https://api.example/orders", body=b"{}")
A front over its parts: the file (:mod:`wallet._store`, every SQL statement), the passphrase
protocol (:class:`didvc.sealing.Vault`: keys never written in the clear, the passphrase checked
before anything else is read or changed), presentations (:mod:`wallet._presentations`), backups
(:mod:`wallet._backup`) and delegations (:mod:`wallet._delegations`). Credentials are checked on
the way in by one :class:`~verifier.Verifier`, passed in or made once per open wallet.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from didvc.credentials import check_credential
from didvc.did import DidDocument, DidResolver, parse_did
from didvc.encoding import b64url_encode
from didvc.errors import (
    InvalidKeyError,
    WalletError,
)
from didvc.jose import parse_jws
from didvc.keys import KeyPair, KeySigner, KeyType
from didvc.request import DEFAULT_LIFETIME
from didvc.sealing import KdfParams, Vault
from didvc.storage import remove_database, staging_path
from resolvers import did_jwk_from_public_key, did_key_from_public_key
from verifier import Verifier
from wallet import _backup, _presentations
from wallet._delegations import Delegations
from wallet._store import (
    CredentialRecord,
    DidRecord,
    SealedKey,
    WalletStore,
    create_file,
    install,
    new_vault,
    unlock_file,
)

__all__ = ["Wallet"]


class Wallet(Delegations):
    """An open wallet. Use :meth:`open` (an async context manager closes it)."""

    def __init__(
        self, store: WalletStore, vault: Vault, verifier: Verifier | None, owns_verifier: bool
    ) -> None:
        self._store = store
        self._vault = vault
        self._verifier = verifier
        self._owns_verifier = owns_verifier
        self._signers: dict[str, KeySigner] = {}

    @property
    def path(self) -> Path:
        return self._store.path

    # --- opening -------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        passphrase: str | bytes,
        create: bool = True,
        resolver: DidResolver | None = None,
        kdf: KdfParams | None = None,
        timeout: float = 2.0,
        allow_loopback: bool = False,
        verifier: Verifier | None = None,
    ) -> Wallet:
        """Open (or create) the wallet at ``path``; a wrong passphrase changes nothing.

        Credentials are checked by ``verifier`` when given; else by one made here, over
        ``resolver``, which with ``allow_loopback`` reaches did:web documents and status lists on
        plain-http loopback addresses (tests and demos only).
        """
        path = Path(path)
        if not path.exists():
            if not create:
                raise WalletError(f"no wallet at {path}")
            store, vault = await create_file(path, passphrase, kdf=kdf, timeout=timeout)
        else:
            store, vault = await unlock_file(path, passphrase, timeout=timeout)
        return cls._opened(store, vault, resolver, verifier, allow_loopback)

    @classmethod
    def _opened(
        cls,
        store: WalletStore,
        vault: Vault,
        resolver: DidResolver | None,
        verifier: Verifier | None,
        allow_loopback: bool,
    ) -> Wallet:
        if verifier is not None:
            return cls(store, vault, verifier, False)
        made = Verifier(
            resolver=resolver,
            allow_http=allow_loopback,
            allow_loopback=allow_loopback,
            isolate_canonicalization=False,  # the holder checks what it was given itself
        )
        return cls(store, vault, made, True)

    async def close(self) -> None:
        self._store.close()
        self._signers.clear()
        if self._owns_verifier and self._verifier is not None:
            await self._verifier.close()
            self._verifier = None

    async def __aenter__(self) -> Wallet:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- DIDs and keys -----------------------------------------------------------------------

    async def create_did(
        self, method: str = "key", key_type: KeyType | str = KeyType.ED25519, *, default: bool | None = None
    ) -> str:
        """Create a did:key or did:jwk with a new key; the first DID becomes the default."""
        pair = KeyPair.generate(key_type)
        if method == "key":
            did = did_key_from_public_key(pair.public_key)
            key_id = f"{did}#{did.removeprefix('did:key:')}"
        elif method == "jwk":
            did = did_jwk_from_public_key(pair.public_key)
            key_id = f"{did}#0"
        else:
            raise WalletError(f"cannot create did:{method}; import did:web identities instead")
        self._store.add_identity(did, method, self._sealed(pair, key_id), document=None, default=default)
        return did

    async def import_did_web(
        self,
        document: dict[str, Any],
        secret_key_multibase: str,
        *,
        key_id: str | None = None,
        default: bool | None = None,
    ) -> str:
        """Import a did:web identity: its published document and the secret of one of its keys."""
        doc = DidDocument(document)
        if parse_did(doc.id).method != "web":
            raise WalletError("only did:web identities are imported; did:key and did:jwk are created here")
        pair = KeyPair.from_multikey(secret_key_multibase)
        key_id = key_id or next(
            (
                m
                for m in doc.relationship_ids("authentication")
                if doc.method(m).public_key == pair.public_key
            ),
            None,
        )
        if key_id is None:
            raise InvalidKeyError("the secret key is not an authentication key of the document")
        doc.verification_method(key_id, "authentication")
        if doc.method(key_id).public_key != pair.public_key:
            raise InvalidKeyError("the secret key does not match the document's key")
        self._store.add_identity(
            doc.id, "web", self._sealed(pair, key_id), document=document, default=default
        )
        return doc.id

    async def rotate_did_web_key(
        self, did: str, document: dict[str, Any], secret_key_multibase: str, key_id: str
    ) -> None:
        """Switch a did:web identity to a new key already published in its new ``document``."""
        record = self._store.did(did)
        if record.method != "web":
            raise WalletError("only did:web identities rotate keys; a did:key is its key")
        doc = DidDocument(document)
        pair = KeyPair.from_multikey(secret_key_multibase)
        if doc.id != did or doc.verification_method(key_id, "authentication").public_key != pair.public_key:
            raise InvalidKeyError("the new key must be an authentication key of the DID's new document")
        self._store.rotate_key(did, self._sealed(pair, key_id), document)
        self._signers.pop(did, None)

    def _sealed(self, pair: KeyPair, key_id: str) -> SealedKey:
        return SealedKey(
            key_id, str(pair.key_type), pair.public_key.to_multikey(), self._vault.seal_key(pair, key_id)
        )

    async def list_dids(self) -> list[DidRecord]:
        return self._store.dids()

    async def set_default(self, did: str) -> None:
        self._store.set_default(did)

    async def default_did(self) -> str:
        return self._store.default_did()

    def signer(self, did: str) -> KeySigner:
        """The signer of a DID's current authentication key (decrypted once, kept in memory)."""
        cached = self._signers.get(did)
        if cached is not None:
            return cached
        key = self._store.key(self._store.did(did).key_id)
        signer = KeySigner(self._vault.open_key(key.sealed, key.key_id, key.key_type), key.key_id)
        self._signers[did] = signer
        return signer

    async def change_passphrase(self, passphrase: str | bytes, *, kdf: KdfParams | None = None) -> None:
        """Seal every key under a new passphrase, atomically: the file opens with the new one
        only, or, if anything fails, still with the old one."""
        vault = await new_vault(passphrase, kdf=kdf)
        old = self._vault
        self._store.reseal(
            lambda key: vault.seal_key(old.open_key(key.sealed, key.key_id, key.key_type), key.key_id),
            vault.stored(),
        )
        self._vault = vault

    # --- credentials ---------------------------------------------------------------------------

    async def store_credential(
        self, credential: dict[str, Any] | str, *, strict: bool = False
    ) -> CredentialRecord:
        """Check and keep a credential issued to one of the wallet's DIDs.

        The credential must verify. One whose issuer cannot be resolved right now is kept with a
        warning, or refused with ``strict=True``.
        """
        document = parse_jws(credential, typ="vc+jwt").payload if isinstance(credential, str) else credential
        info = check_credential(document)
        ours = {d.did for d in self._store.dids()}
        subject = next((s for s in info.subject_ids if s in ours), None)
        if subject is None:
            raise WalletError("this credential is not issued to any DID of this wallet")
        if self._verifier is None:
            raise WalletError("the wallet is closed")
        result = await self._verifier.check_credential(credential)
        warnings: list[str] = []
        for problem in result.problems:
            if problem.could_not_check and not strict:
                warnings.append(f"{problem.code}: {problem.message}")
            elif problem.code != "CREDENTIAL_EXPIRED_ERROR":
                raise WalletError(
                    f"the credential does not verify [{problem.code}] {problem.message}", code=problem.code
                )
            else:
                warnings.append(f"{problem.code}: {problem.message}")
        claims = [s for s in info.subjects if s.get("id") == subject]
        record = CredentialRecord(
            id=info.id or f"urn:didvc:credential:{b64url_encode(os.urandom(12))}",
            subject=subject,
            issuer=info.issuer,
            types=info.types,
            scopes=_strings(c.get("scope") for c in claims),
            audiences=_strings(c.get("audience") for c in claims),
            valid_until=info.valid_until,
            format="jwt" if isinstance(credential, str) else "ldp",
            credential=credential,
            warnings=tuple(warnings),
        )
        self._store.put_credential(record)
        return record

    async def list_credentials(
        self,
        *,
        type: str | None = None,
        issuer: str | None = None,
        scope: str | None = None,
        audience: str | None = None,
        subject: str | None = None,
        include_expired: bool = True,
        now: datetime | None = None,
    ) -> list[CredentialRecord]:
        out = []
        for record in self._store.credentials():
            if type is not None and type not in record.types:
                continue
            if issuer is not None and record.issuer != issuer:
                continue
            if scope is not None and scope not in record.scopes:
                continue
            if audience is not None and record.audiences and audience not in record.audiences:
                continue
            if subject is not None and record.subject != subject:
                continue
            if not include_expired and record.expired(now):
                continue
            out.append(replace(record, credential=copy.deepcopy(record.credential)))  # theirs to change
        return out

    async def delete_credential(self, credential_id: str) -> None:
        if not self._store.delete_credential(credential_id):
            raise WalletError(f"no credential {credential_id} in this wallet", code="NOT_FOUND_ERROR")

    # --- presentations -------------------------------------------------------------------------

    async def request_token(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        audience: str | None = None,
        nonce: str | None = None,
        did: str | None = None,
        scopes: Iterable[str] | None = None,
        credential_ids: Iterable[str] | None = None,
        lifetime: int = DEFAULT_LIFETIME,
    ) -> str:
        """A fresh vp+jwt bound to this one request (see docs/design.md, the header)."""
        audience = audience or _presentations.origin(url)
        holder, credentials = self._holder(did, audience, scopes, credential_ids)
        return await _presentations.request_token(
            self.signer(holder),
            holder,
            credentials,
            audience=audience,
            method=method,
            url=url,
            body=body,
            nonce=nonce,
            lifetime=lifetime,
        )

    def _holder(
        self,
        did: str | None,
        audience: str | None,
        scopes: Iterable[str] | None,
        credential_ids: Iterable[str] | None,
    ) -> tuple[str, list[dict[str, Any] | str]]:
        return _presentations.choose_holder(
            self._store.credentials(),
            self._dids_default_first(),
            did,
            audience=audience,
            scopes=scopes,
            credential_ids=credential_ids,
        )

    def _dids_default_first(self) -> Iterator[str]:
        """The wallet's DIDs, the default first: the others are read only if it holds nothing
        that fits (a request usually stops at the default)."""
        default = self._store.default_did()
        yield default
        yield from (d.did for d in self._store.dids() if d.did != default)

    async def request_headers(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        header: str = "Authorization",
        scheme: str | None = "VP",
        **options: Any,
    ) -> dict[str, str]:
        """The header(s) to send with one request: ``{"Authorization": "VP <token>"}`` by default."""
        token = await self.request_token(method, url, body=body, **options)
        return {header: f"{scheme} {token}" if scheme else token}

    async def data_integrity_presentation(
        self,
        *,
        challenge: str,
        domain: str,
        did: str | None = None,
        cryptosuite: str | None = None,  # None: the one for the holder's key
        scopes: Iterable[str] | None = None,
        credential_ids: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """A VP secured with a Data Integrity ``authentication`` proof (the plain W3C path)."""
        holder, credentials = self._holder(did, domain, scopes, credential_ids)
        return await _presentations.data_integrity_presentation(
            self.signer(holder),
            holder,
            credentials,
            challenge=challenge,
            domain=domain,
            cryptosuite=cryptosuite,
        )

    async def data_integrity_header(self, *, challenge: str, domain: str, **options: Any) -> dict[str, str]:
        """The Data Integrity VP as a header value: ``{"Authorization": "VP <base64url JSON>"}``."""
        presentation = await self.data_integrity_presentation(challenge=challenge, domain=domain, **options)
        return {"Authorization": _presentations.header_value(presentation)}

    # --- backups -------------------------------------------------------------------------------

    async def export_backup(self, path: str | os.PathLike[str], *, passphrase: str | bytes) -> None:
        """Write every DID, key and credential to ``path``, sealed under ``passphrase``."""
        await _backup.write_backup(self._store, self._vault, Path(path), passphrase)

    @classmethod
    async def import_backup(
        cls,
        backup_path: str | os.PathLike[str],
        wallet_path: str | os.PathLike[str],
        *,
        backup_passphrase: str | bytes,
        passphrase: str | bytes,
        resolver: DidResolver | None = None,
        verifier: Verifier | None = None,
        allow_loopback: bool = False,
    ) -> Wallet:
        """A new wallet at ``wallet_path`` from a backup (checked as :meth:`open` says), all or
        nothing: built under another name, it takes ``wallet_path`` once everything is in; if
        anything fails, no file is left and a retry starts afresh."""
        target = Path(wallet_path)
        if target.exists():
            raise WalletError(f"{wallet_path} exists; import a backup into a new wallet")
        content = await _backup.read_backup(Path(backup_path), backup_passphrase)
        staging = staging_path(target)
        try:
            wallet = await cls.open(
                staging,
                passphrase=passphrase,
                resolver=resolver,
                verifier=verifier,
                allow_loopback=allow_loopback,
            )
            async with wallet:
                _backup.restore_identities(wallet._store, wallet._vault, content["identities"])
                for credential in content["credentials"]:
                    await wallet.store_credential(credential)
                vault = wallet._vault
            install(staging, target)
        finally:
            remove_database(staging)
        return cls._opened(WalletStore(target, timeout=2.0), vault, resolver, verifier, allow_loopback)


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    """The sorted distinct strings among claim values that are a string or a list of them."""
    found: set[str] = set()
    for value in values:
        found.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return tuple(sorted(found))
