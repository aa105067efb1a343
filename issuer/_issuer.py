"""The issuer: an identity that gives agents short-lived credentials and can take them back.

>>> issuer = await Issuer.create("issuer.db", passphrase=..., did_web="issuer.example.com")  # doctest: +SKIP
>>> vc = await issuer.issue(subject=agent_did, claims={"scope": ["orders:read"], "owner": "Acme"})
>>> await issuer.suspend(vc["id"]); await issuer.reinstate(vc["id"]); await issuer.revoke(vc["id"])

Every credential carries two Bitstring Status List entries (revocation and suspension) at
random, never-reused indexes; :meth:`Issuer.publish` writes the signed status-list credentials
(and, for did:web, the DID document) for any static host, and ``didvc issuer serve`` serves them.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from didvc.credentials import CREDENTIALS_V2, check_credential, sign_vc_jwt
from didvc.did import DidDocument
from didvc.encoding import b64url_decode, b64url_encode
from didvc.errors import IssuerError, MalformedValueError, StatusChangeError, UnknownCredentialError
from didvc.keys import KeyPair, KeySigner, KeyType
from didvc.proofs import add_proof, format_datetime
from didvc.sealing import KdfParams, SealedBox, WrongPassphraseError
from didvc.status import MIN_ENTRIES, StatusList
from didvc.storage import write_atomically
from issuer._allocation import index_for
from issuer._store import Store, Transaction, open_store
from resolvers import did_key_from_public_key, did_web_url

__all__ = ["AGENT_CONTEXT", "InventoryEntry", "Issuer", "IssuerError"]

AGENT_CONTEXT: Final = "https://w3id.org/didvc/agent/v1"
DEFAULT_VALIDITY: Final = timedelta(hours=24)
DEFAULT_TTL_MS: Final = 300_000
PURPOSES: Final = ("revocation", "suspension")
_CHECK: Final = b"didvc issuer v1"


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


def _now() -> datetime:
    return datetime.now(UTC)


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


class Issuer:
    """An open issuer store. Create one with :meth:`create`, open it with :meth:`open`."""

    def __init__(self, store: Store, box: SealedBox, meta: Mapping[str, str]) -> None:
        self.store = store
        self._box = box
        self.did: str = meta["did"]
        self.base_url: str = meta["base_url"].rstrip("/")
        self.default_validity = timedelta(
            seconds=int(meta.get("default_validity", DEFAULT_VALIDITY.total_seconds()))
        )
        self.status_ttl_ms = int(meta.get("status_ttl_ms", DEFAULT_TTL_MS))
        self.list_size = int(meta.get("list_size", MIN_ENTRIES))
        self._signer: KeySigner | None = None
        self._served_lists: dict[int, tuple[tuple[int, str], float, dict[str, Any]]] = {}
        self.clock = _now

    # --- creating and opening ----------------------------------------------------------------

    @classmethod
    async def create(
        cls,
        path: str | os.PathLike[str],
        *,
        passphrase: str | bytes,
        did_web: str | None = None,
        base_url: str | None = None,
        key_type: KeyType | str = KeyType.ED25519,
        kdf: KdfParams | None = None,
        list_size: int = MIN_ENTRIES,
        default_validity: timedelta = DEFAULT_VALIDITY,
        status_ttl_ms: int = DEFAULT_TTL_MS,
    ) -> Issuer:
        """A new issuer: did:web when ``did_web`` is given (``host[:port][:path]``), else did:key.

        ``base_url`` is where status lists are published (default for did:web: its https origin
        and path; required for did:key).
        """
        if list_size < MIN_ENTRIES:
            raise MalformedValueError(f"status lists need at least {MIN_ENTRIES} entries")
        store = open_store(path)
        try:
            if await store.exists():
                raise IssuerError(f"{store.description} already holds an issuer")
            pair = KeyPair.generate(key_type)
            if did_web:
                did = did_web_for(did_web)
                key_id = f"{did}#key-1"
                url = did_web_url(did)
                default_base = url.removesuffix("/did.json").removesuffix("/.well-known")
            else:
                did = did_key_from_public_key(pair.public_key)
                key_id = f"{did}#{did.removeprefix('did:key:')}"
                default_base = None
            base = (base_url or default_base or "").rstrip("/")
            if not base.startswith(("https://", "http://")):
                raise IssuerError("a did:key issuer needs --base-url: where its status lists are published")
            params = (kdf or KdfParams.new()).checked()
            secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
            box = SealedBox(await asyncio.to_thread(params.derive, secret))
            await store.create_schema()
            meta = {
                "did": did,
                "base_url": base,
                "kdf": json.dumps(params.to_json()),
                "check": b64url_encode(box.seal(_CHECK, b"check")),
                "list_size": str(list_size),
                "default_validity": str(int(default_validity.total_seconds())),
                "status_ttl_ms": str(status_ttl_ms),
            }
            async with store.transaction() as tx:
                await tx.many("INSERT INTO meta (name, value) VALUES (?, ?)", list(meta.items()))
                await _insert_key(tx, box, key_id, pair, active=True)
        except BaseException:
            await store.close()
            raise
        return cls(store, box, meta)

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *, passphrase: str | bytes) -> Issuer:
        is_url = str(path).startswith(("postgresql://", "postgres://"))
        if not is_url and not Path(path).exists():
            raise IssuerError(f"no issuer store at {path} (run 'didvc issuer init')")
        store = open_store(path)
        try:
            if not await store.exists():
                raise IssuerError(f"{store.description} holds no issuer (run 'didvc issuer init')")
            meta = await store.meta()
            params = KdfParams.from_json(json.loads(meta["kdf"]))
            secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
            box = SealedBox(await asyncio.to_thread(params.derive, secret))
            if box.open(b64url_decode(meta["check"]), b"check") != _CHECK:
                raise WrongPassphraseError("the passphrase does not open this issuer store")
            await store.upgrade_schema()
        except BaseException:
            await store.close()
            raise
        return cls(store, box, meta)

    async def close(self) -> None:
        await self.store.close()

    async def __aenter__(self) -> Issuer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- identity and keys -------------------------------------------------------------------

    @property
    def is_did_web(self) -> bool:
        return self.did.startswith("did:web:")

    async def signer(self) -> KeySigner:
        """The signer of the active assertion key. The key is decrypted once and kept in memory,
        but which key is active is read every time: a ``rotate-key`` run by another process
        (the CLI beside a running ``serve`` or batch) takes effect on the next signature, before
        the old key can be retired from under us."""
        rows = await self.store.query("SELECT key_id, key_type FROM keys WHERE active = 1")
        if not rows:
            raise IssuerError("the issuer has no active key")
        key_id, key_type = rows[0]
        if self._signer is None or self._signer.key_id != key_id:
            sealed = await self.store.query("SELECT sealed_secret FROM keys WHERE key_id = ?", key_id)
            secret = self._box.open(bytes(sealed[0][0]), f"key|{key_id}|{key_type}".encode())
            self._signer = KeySigner(KeyPair.from_private_bytes(key_type, secret), key_id)
        return self._signer

    async def did_document(self) -> dict[str, Any]:
        """The DID document to publish (did:web): every key not yet retired asserts for us."""
        if not self.is_did_web:
            from resolvers import did_key_document

            return did_key_document(self.did)
        rows = await self.store.query(
            "SELECT key_id, public_key FROM keys WHERE retired IS NULL ORDER BY created, key_id"
        )
        methods = [
            {"id": key_id, "type": "Multikey", "controller": self.did, "publicKeyMultibase": public}
            for key_id, public in rows
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

    async def rotate_key(self, key_type: KeyType | str | None = None) -> str:
        """A new assertion key signs from now on; the old one stays published until retired."""
        if not self.is_did_web:
            raise IssuerError("a did:key issuer cannot rotate: its DID is its key (create a did:web issuer)")
        current = await self.signer()
        pair = KeyPair.generate(key_type or current.algorithm)
        async with self.store.transaction() as tx:
            await tx.lock("keys")
            count = (await tx.one("SELECT COUNT(*) FROM keys") or (0,))[0]
            key_id = f"{self.did}#key-{count + 1}"
            await tx.run("UPDATE keys SET active = 0")
            await _insert_key(tx, self._box, key_id, pair, active=True)
        return key_id

    async def retire_key(self, key_id: str) -> None:
        """Take a key out of the DID document: credentials it signed stop verifying."""
        rows = await self.store.query("SELECT active, retired FROM keys WHERE key_id = ?", key_id)
        if not rows:
            raise IssuerError(f"no key {key_id}")
        if rows[0][0]:
            raise IssuerError("the active key cannot be retired; rotate first")
        if rows[0][1]:
            raise IssuerError(f"{key_id} is already retired")
        async with self.store.transaction() as tx:
            await tx.run(
                "UPDATE keys SET retired = ? WHERE key_id = ?", format_datetime(self.clock()), key_id
            )

    async def keys(self) -> list[dict[str, Any]]:
        rows = await self.store.query(
            "SELECT key_id, key_type, public_key, active, retired FROM keys ORDER BY created, key_id"
        )
        return [
            {"id": r[0], "type": r[1], "publicKeyMultibase": r[2], "active": bool(r[3]), "retired": r[4]}
            for r in rows
        ]

    # --- issuing ---------------------------------------------------------------------------

    @property
    def base_path(self) -> str:
        """The path part of ``base_url`` ("" for an origin), where ``status/<n>`` lives."""
        from urllib.parse import urlsplit

        return urlsplit(self.base_url).path.rstrip("/")

    def status_list_url(self, list_id: int) -> str:
        return f"{self.base_url}/status/{list_id}"

    async def issue(
        self,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        types: Iterable[str] = (),
        contexts: Iterable[str] = (),
        valid_for: timedelta | None = None,
        valid_from: datetime | None = None,
        cryptosuite: str = "eddsa-rdfc-2022",
        format: str = "ldp",
        credential_id: str | None = None,
        batch_key: str | None = None,
        status_messages: Sequence[str] | None = None,
    ) -> dict[str, Any] | str:
        """Issue an AgentCredential to ``subject`` with ``claims`` (``scope``, ``owner``,
        ``agentName``, ``audience``, or any term a bundled ``contexts`` entry defines).

        The status indexes, the signature and the record are one transaction: when this returns
        the credential is durable, and if it fails nothing is left half-issued.

        ``status_messages`` adds a third entry with ``statusPurpose: "message"``: a list of
        messages, the n-th meaning status value n (``statusSize`` bits, as few as fit); the
        credential starts at value 0, and :meth:`set_message` moves it.
        """
        from didvc.did import parse_did

        parse_did(subject)
        if format not in ("ldp", "jwt"):
            raise IssuerError("format must be 'ldp' or 'jwt'")
        start = valid_from or self.clock()
        until = start + (valid_for or self.default_validity)
        credential_id = credential_id or f"urn:uuid:{uuid.uuid4()}"
        subject_claims = {"id": subject, **dict(claims or {})}
        if subject_claims["id"] != subject:
            raise IssuerError("claims may not change the subject id")
        extra_types = [t for t in types if t not in ("VerifiableCredential", "AgentCredential")]
        body: dict[str, Any] = {
            "@context": [CREDENTIALS_V2, AGENT_CONTEXT, *contexts],
            "id": credential_id,
            "type": ["VerifiableCredential", "AgentCredential", *extra_types],
            "issuer": self.did,
            "validFrom": format_datetime(start),
            "validUntil": format_datetime(until),
            "credentialSubject": subject_claims,
        }
        signer = await self.signer()
        async with self.store.transaction() as tx:
            if batch_key is not None:
                done = await tx.one("SELECT body, format FROM credentials WHERE batch_key = ?", batch_key)
                if done is not None:
                    return _stored_credential(done[0], done[1])
            entries = []
            purposes: list[tuple[str, int]] = [(purpose, 1) for purpose in PURPOSES]
            if status_messages:
                if not 2 <= len(status_messages) <= 256:
                    raise IssuerError("status_messages needs 2 to 256 messages")
                purposes.append(("message", max(1, (len(status_messages) - 1).bit_length())))
            for purpose, status_size in purposes:
                list_id, index = await _allocate(tx, purpose, self.list_size, start, status_size)
                url = self.status_list_url(list_id)
                entry: dict[str, Any] = {
                    "id": f"{url}#{index}",
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": purpose,
                    "statusListIndex": str(index),
                    "statusListCredential": url,
                }
                if purpose == "message":
                    entry["statusSize"] = status_size
                    entry["statusMessage"] = [
                        {"status": hex(value), "message": str(text)}
                        for value, text in enumerate(status_messages or [])
                    ]
                entries.append((list_id, index, purpose, entry))
            body["credentialStatus"] = [entry for *_, entry in entries]
            check_credential(body, issuing=True)
            secured: dict[str, Any] | str
            if format == "jwt":
                secured = await sign_vc_jwt(body, signer)
            else:
                secured = await add_proof(body, signer, cryptosuite=cryptosuite, created=start)
            scopes = subject_claims.get("scope", [])
            await tx.run(
                "INSERT INTO credentials (id, subject, owner, agent_name, types, scopes, valid_from,"
                " valid_until, status, body, format, issued, batch_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)",
                credential_id,
                subject,
                _text(subject_claims.get("owner")),
                _text(subject_claims.get("agentName")),
                json.dumps(body["type"]),
                json.dumps(scopes if isinstance(scopes, list) else [scopes]),
                body["validFrom"],
                body["validUntil"],
                secured if isinstance(secured, str) else json.dumps(secured),
                format,
                _precise(self.clock()),
                batch_key,
            )
            await tx.many(
                "INSERT INTO status_entries (list_id, idx, credential_id, purpose) VALUES (?, ?, ?, ?)",
                [(list_id, index, credential_id, purpose) for list_id, index, purpose, _ in entries],
            )
        return secured

    # --- status changes ----------------------------------------------------------------------

    async def _change(
        self, credential_id: str, allowed: tuple[str, ...], status: str, purpose: str, value: int
    ) -> None:
        async with self.store.transaction() as tx:
            row = await tx.one("SELECT status FROM credentials WHERE id = ?", credential_id)
            if row is None:
                raise UnknownCredentialError(f"no credential {credential_id} was issued here")
            if row[0] not in allowed:
                raise StatusChangeError(f"{credential_id} is {row[0]}; cannot make it {status}")
            await tx.run("UPDATE credentials SET status = ? WHERE id = ?", status, credential_id)
            await tx.run(
                "UPDATE status_entries SET value = ? WHERE credential_id = ? AND purpose = ?",
                value,
                credential_id,
                purpose,
            )
            await _lists_changed(tx, credential_id, purpose)

    async def revoke(self, credential_id: str) -> None:
        """Revoke for good (the revocation bit is set; it is never cleared)."""
        await self._change(credential_id, ("active", "suspended"), "revoked", "revocation", 1)

    async def suspend(self, credential_id: str) -> None:
        """Suspend an active credential (reversible with :meth:`reinstate`)."""
        await self._change(credential_id, ("active",), "suspended", "suspension", 1)

    async def reinstate(self, credential_id: str) -> None:
        """Lift a suspension; a revoked credential stays revoked."""
        await self._change(credential_id, ("suspended",), "active", "suspension", 0)

    async def set_message(self, credential_id: str, value: int) -> None:
        """Move a credential's ``message`` status to ``value`` (an index into its messages)."""
        async with self.store.transaction() as tx:
            row = await tx.one(
                "SELECT l.status_size FROM status_entries e JOIN status_lists l ON l.id = e.list_id"
                " WHERE e.credential_id = ? AND e.purpose = 'message'",
                credential_id,
            )
            if row is None:
                raise UnknownCredentialError(f"{credential_id} has no message status")
            if not 0 <= value < (1 << int(row[0])):
                raise StatusChangeError(f"status value {value} does not fit in {row[0]} bits")
            await tx.run(
                "UPDATE status_entries SET value = ? WHERE credential_id = ? AND purpose = 'message'",
                value,
                credential_id,
            )
            await _lists_changed(tx, credential_id, "message")

    async def revoke_all(self, agent: str) -> list[str]:
        """Emergency: revoke every credential of ``agent`` that is not revoked yet."""
        async with self.store.transaction() as tx:
            rows = await tx.all("SELECT id FROM credentials WHERE subject = ? AND status != 'revoked'", agent)
            ids = [r[0] for r in rows]
            for credential_id in ids:
                await tx.run("UPDATE credentials SET status = 'revoked' WHERE id = ?", credential_id)
                await tx.run(
                    "UPDATE status_entries SET value = 1 WHERE credential_id = ? AND purpose = 'revocation'",
                    credential_id,
                )
                await _lists_changed(tx, credential_id, "revocation")
        return ids

    # --- inventory ---------------------------------------------------------------------------

    async def inventory(
        self, *, agent: str | None = None, status: str | None = None, expiring_within: timedelta | None = None
    ) -> list[InventoryEntry]:
        """Every issued credential, in issue order, with its current state."""
        rows = await self.store.query(
            "SELECT id, subject, owner, agent_name, types, scopes, valid_from, valid_until, status, format"
            " FROM credentials ORDER BY issued, id"
        )
        now = self.clock()
        out = []
        for row in rows:
            valid_until = datetime.fromisoformat(row[7]) if row[7] else None
            current = row[8]
            if current == "active" and valid_until is not None and valid_until < now:
                current = "expired"
            entry = InventoryEntry(
                id=row[0],
                subject=row[1],
                owner=row[2],
                agent_name=row[3],
                types=tuple(json.loads(row[4])),
                scopes=tuple(json.loads(row[5])),
                valid_from=datetime.fromisoformat(row[6]),
                valid_until=valid_until,
                status=current,
                format=row[9],
            )
            if agent is not None and entry.subject != agent:
                continue
            if status is not None and entry.status != status:
                continue
            if expiring_within is not None and (
                valid_until is None
                or not now <= valid_until <= now + expiring_within
                or entry.status != "active"
            ):
                continue
            out.append(entry)
        return out

    async def batch_keys(self) -> set[str]:
        """The keys of the batch rows issued so far (``issue(..., batch_key=...)``)."""
        rows = await self.store.query("SELECT batch_key FROM credentials WHERE batch_key IS NOT NULL")
        return {r[0] for r in rows}

    async def credential(self, credential_id: str) -> dict[str, Any] | str:
        rows = await self.store.query("SELECT body, format FROM credentials WHERE id = ?", credential_id)
        if not rows:
            raise UnknownCredentialError(f"no credential {credential_id} was issued here")
        return _stored_credential(rows[0][0], rows[0][1])

    # --- status lists ------------------------------------------------------------------------

    async def status_lists(self) -> list[tuple[int, str]]:
        return [
            (r[0], r[1]) for r in await self.store.query("SELECT id, purpose FROM status_lists ORDER BY id")
        ]

    async def status_list_credential(
        self, list_id: int, *, valid_for: timedelta | None = None
    ) -> dict[str, Any]:
        """The signed BitstringStatusListCredential of one list, as of now."""
        return await self._signed_status_list(list_id, await self.signer(), valid_for)

    async def served_status_list(self, list_id: int) -> dict[str, Any]:
        """The list as ``serve`` hands it out: signed again only when its entries changed (the
        list's version, bumped by every status change from this process or another sharing the
        store, such as a CLI ``revoke``), the active key changed, or the last signature is older
        than the list's ``ttl``. Otherwise one indexed row is read: signing costs milliseconds,
        which a client hammering the endpoint must not be able to make us spend per request."""
        rows = await self.store.query("SELECT version FROM status_lists WHERE id = ?", list_id)
        if not rows:
            raise UnknownCredentialError(f"no status list {list_id}")
        signer = await self.signer()
        stamp = (int(rows[0][0]), signer.key_id)
        cached = self._served_lists.get(list_id)
        now = time.monotonic()
        if cached is not None and cached[0] == stamp and now - cached[1] < self.status_ttl_ms / 1000:
            return cached[2]
        # Read after the version: a change in between only makes the next request sign again.
        document = await self._signed_status_list(list_id, signer, None)
        self._served_lists[list_id] = (stamp, now, document)
        return document

    async def _signed_status_list(
        self, list_id: int, signer: KeySigner, valid_for: timedelta | None
    ) -> dict[str, Any]:
        rows = await self.store.query(
            "SELECT purpose, size, status_size FROM status_lists WHERE id = ?", list_id
        )
        if not rows:
            raise UnknownCredentialError(f"no status list {list_id}")
        purpose, size, status_size = rows[0]
        entries = await self.store.query(
            "SELECT idx, value FROM status_entries WHERE list_id = ? AND value != 0", list_id
        )
        bits = StatusList(size, status_size=status_size)
        for index, value in entries:
            bits.set(index, value)
        url = self.status_list_url(list_id)
        now = self.clock()
        document = {
            "@context": [CREDENTIALS_V2],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.did,
            "validFrom": format_datetime(now),
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": bits.encode(),
                "ttl": self.status_ttl_ms,
            },
        }
        if valid_for is not None:
            document["validUntil"] = format_datetime(now + valid_for)
        return await add_proof(document, signer, created=now)

    async def publish(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write the signed status lists, and for did:web the DID document, into ``directory``
        taken as the web root of ``base_url``'s host. Each file is replaced atomically."""
        root = Path(directory)
        status_dir = root.joinpath(*[p for p in self.base_path.split("/") if p], "status")
        written = []
        for list_id, _ in await self.status_lists():
            written.append(_write(status_dir / str(list_id), await self.status_list_credential(list_id)))
        if self.is_did_web:
            path = did_web_url(self.did).split("/", 3)[3]
            written.append(_write(root / path, await self.did_document()))
        return written


async def _lists_changed(tx: Transaction, credential_id: str, purpose: str) -> None:
    """Bump the version of the lists holding this credential's ``purpose`` entries."""
    await tx.run(
        "UPDATE status_lists SET version = version + 1 WHERE id IN"
        " (SELECT list_id FROM status_entries WHERE credential_id = ? AND purpose = ?)",
        credential_id,
        purpose,
    )


async def _allocate(
    tx: Transaction, purpose: str, size: int, now: datetime, status_size: int = 1
) -> tuple[int, int]:
    """Next index on the open list for ``purpose`` (a new list when the last one is full)."""
    await tx.lock(f"allocate:{purpose}")
    row = await tx.one(
        "SELECT id, size, secret, next_position FROM status_lists"
        " WHERE purpose = ? AND status_size = ? AND next_position < size ORDER BY id LIMIT 1",
        purpose,
        status_size,
    )
    if row is None:
        row = await tx.one(
            "INSERT INTO status_lists (purpose, size, status_size, secret, created) VALUES (?, ?, ?, ?, ?)"
            " RETURNING id, size, secret, next_position",
            purpose,
            size,
            status_size,
            os.urandom(32),
            format_datetime(now),
        )
        assert row is not None
    list_id, list_size, secret, position = row
    await tx.run("UPDATE status_lists SET next_position = next_position + 1 WHERE id = ?", list_id)
    return int(list_id), index_for(bytes(secret), int(position), int(list_size))


async def _insert_key(tx: Transaction, box: SealedBox, key_id: str, pair: KeyPair, *, active: bool) -> None:
    await tx.run(
        "INSERT INTO keys (key_id, key_type, public_key, sealed_secret, created, active)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        key_id,
        str(pair.key_type),
        pair.public_key.to_multikey(),
        box.seal(pair.private_bytes(), f"key|{key_id}|{pair.key_type}".encode()),
        _precise(_now()),
        int(active),
    )


def _precise(moment: datetime) -> str:
    """A sortable UTC timestamp to the microsecond (issue order for the inventory)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _stored_credential(body: str, fmt: str) -> dict[str, Any] | str:
    if fmt == "jwt":
        return body
    document: dict[str, Any] = json.loads(body)
    return document


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(document, indent=2).encode(), private=False)  # published
    return path
