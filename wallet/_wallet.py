"""The agent wallet: DIDs and their keys (encrypted at rest), credentials, and presentations.

>>> async with await Wallet.open("agent.wallet", passphrase="...") as wallet:      # doctest: +SKIP
...     did = await wallet.create_did()
...     await wallet.store_credential(vc)
...     headers = await wallet.request_headers("POST", "https://api.example/orders", body=b"{}")

One SQLite file (WAL, one transaction per change, so a crash leaves the old or the new state).
Private keys are sealed with a key derived from the passphrase (Argon2id, bounded parameters
stored in the file) and never written in the clear; a passphrase check happens before anything
else is read or changed.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from didvc.credentials import check_credential, make_presentation
from didvc.did import DidDocument, DidResolver, parse_did
from didvc.encoding import b64url_decode, b64url_encode, strict_json_loads
from didvc.errors import (
    InvalidKeyError,
    MalformedValueError,
    WalletCorruptedError,
    WalletError,
    WalletLockedError,
)
from didvc.jose import parse_jws
from didvc.keys import KeyPair, KeySigner, KeyType
from didvc.proofs import Authentication, add_proof
from didvc.request import DEFAULT_LIFETIME, sign_request_token
from didvc.sealing import KdfParams, SealedBox, WrongPassphraseError
from didvc.storage import create_private, write_atomically
from resolvers import did_jwk_from_public_key, did_key_from_public_key

__all__ = [
    "CredentialRecord",
    "DidRecord",
    "Wallet",
    "WalletCorruptedError",
    "WalletError",
    "WalletLockedError",
]

SCHEMA_VERSION: Final = 1
_CHECK_PLAINTEXT: Final = b"didvc wallet v1"
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dids (
    did TEXT PRIMARY KEY, method TEXT NOT NULL, key_id TEXT NOT NULL, document TEXT,
    is_default INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    key_id TEXT PRIMARY KEY, did TEXT NOT NULL, key_type TEXT NOT NULL, public_key TEXT NOT NULL,
    sealed_secret BLOB NOT NULL, created TEXT NOT NULL, retired TEXT);
CREATE TABLE IF NOT EXISTS credentials (
    id TEXT PRIMARY KEY, subject TEXT NOT NULL, issuer TEXT NOT NULL, types TEXT NOT NULL,
    scopes TEXT NOT NULL, audiences TEXT NOT NULL, valid_until TEXT, format TEXT NOT NULL,
    body TEXT NOT NULL, warnings TEXT NOT NULL, stored TEXT NOT NULL);
"""
_INSERT_DID: Final = (
    "INSERT INTO dids (did, method, key_id, document, is_default, created) VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_KEY: Final = (
    "INSERT INTO keys (key_id, did, key_type, public_key, sealed_secret, created) VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_CREDENTIAL: Final = (
    "INSERT OR REPLACE INTO credentials (id, subject, issuer, types, scopes, audiences, valid_until, format,"
    " body, warnings, stored) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_DIDS: Final = (
    "SELECT d.did, d.method, d.key_id, k.key_type, d.is_default"
    " FROM dids d JOIN keys k ON k.key_id = d.key_id"
)


@dataclass(frozen=True)
class DidRecord:
    did: str
    method: str
    key_id: str
    key_type: str
    is_default: bool


@dataclass(frozen=True)
class CredentialRecord:
    id: str
    subject: str
    issuer: str
    types: tuple[str, ...]
    scopes: tuple[str, ...]
    audiences: tuple[str, ...]
    valid_until: datetime | None
    format: str
    credential: dict[str, Any] | str
    warnings: tuple[str, ...]

    def expired(self, now: datetime | None = None) -> bool:
        return self.valid_until is not None and self.valid_until < (now or datetime.now(UTC))


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Wallet:
    """An open wallet. Use :meth:`open` (an async context manager closes it)."""

    def __init__(
        self,
        path: Path,
        connection: sqlite3.Connection,
        box: SealedBox,
        resolver: DidResolver | None,
        allow_loopback: bool = False,
    ) -> None:
        self.path = path
        self._db = connection
        self._box = box
        self._resolver = resolver
        self._allow_loopback = allow_loopback
        self._signers: dict[str, KeySigner] = {}
        self._records: tuple[tuple[int, int], list[CredentialRecord]] | None = None

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
    ) -> Wallet:
        """Open (or create) the wallet at ``path``; a wrong passphrase changes nothing.

        ``allow_loopback`` lets credential checks reach did:web documents and status lists on
        plain-http loopback addresses (tests and demos only).
        """
        path = Path(path)
        secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
        if not secret:
            raise WrongPassphraseError("the passphrase is empty")
        if not path.exists() and not create:
            raise WalletError(f"no wallet at {path}")
        connection = _connect(path, timeout)
        try:
            meta = _read_meta(connection)
            if meta.get("kdf") is None:
                params = kdf or KdfParams.new()
                key = await asyncio.to_thread(params.derive, secret)
                box = SealedBox(key)
                with _transaction(connection):
                    for statement in _SCHEMA.strip().split(";"):
                        if statement.strip():
                            connection.execute(statement)
                    _write_meta(connection, "schema", str(SCHEMA_VERSION))
                    _write_meta(connection, "kdf", json.dumps(params.to_json()))
                    _write_meta(connection, "check", b64url_encode(box.seal(_CHECK_PLAINTEXT, b"check")))
            else:
                params = KdfParams.from_json(_loads(meta["kdf"]))  # bounds checked before any work
                key = await asyncio.to_thread(params.derive, secret)
                box = SealedBox(key)
                if box.open(b64url_decode(meta.get("check", "")), b"check") != _CHECK_PLAINTEXT:
                    raise WrongPassphraseError("the passphrase does not open this wallet")
        except BaseException:
            connection.close()
            raise
        return cls(path, connection, box, resolver, allow_loopback)

    async def close(self) -> None:
        self._db.close()
        self._signers.clear()

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
        self._add_identity(did, method, key_id, pair, document=None, default=default)
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
        self._add_identity(doc.id, "web", key_id, pair, document=document, default=default)
        return doc.id

    async def rotate_did_web_key(
        self, did: str, document: dict[str, Any], secret_key_multibase: str, key_id: str
    ) -> None:
        """Switch a did:web identity to a new key already published in its new ``document``."""
        record = self._did(did)
        if record.method != "web":
            raise WalletError("only did:web identities rotate keys; a did:key is its key")
        doc = DidDocument(document)
        pair = KeyPair.from_multikey(secret_key_multibase)
        if doc.id != did or doc.verification_method(key_id, "authentication").public_key != pair.public_key:
            raise InvalidKeyError("the new key must be an authentication key of the DID's new document")
        with _transaction(self._db):
            self._db.execute(
                "UPDATE keys SET retired = ? WHERE did = ? AND retired IS NULL", (_now_text(), did)
            )
            self._insert_key(did, key_id, pair)
            self._db.execute(
                "UPDATE dids SET key_id = ?, document = ? WHERE did = ?", (key_id, json.dumps(document), did)
            )
        self._signers.pop(did, None)

    def _add_identity(
        self, did: str, method: str, key_id: str, pair: KeyPair, *, document: Any, default: bool | None
    ) -> None:
        with _transaction(self._db):
            if self._db.execute("SELECT 1 FROM dids WHERE did = ?", (did,)).fetchone():
                raise WalletError(f"{did} is already in the wallet")
            first = self._db.execute("SELECT COUNT(*) FROM dids").fetchone()[0] == 0
            make_default = first if default is None else default
            if make_default:
                self._db.execute("UPDATE dids SET is_default = 0")
            self._db.execute(
                _INSERT_DID,
                (
                    did,
                    method,
                    key_id,
                    json.dumps(document) if document else None,
                    int(make_default),
                    _now_text(),
                ),
            )
            self._insert_key(did, key_id, pair)

    def _insert_key(self, did: str, key_id: str, pair: KeyPair) -> None:
        sealed = self._box.seal(pair.private_bytes(), f"key|{key_id}|{pair.key_type}".encode())
        self._db.execute(
            _INSERT_KEY,
            (key_id, did, str(pair.key_type), pair.public_key.to_multikey(), sealed, _now_text()),
        )

    async def list_dids(self) -> list[DidRecord]:
        rows = self._db.execute(_SELECT_DIDS + " ORDER BY d.created, d.did").fetchall()
        return [DidRecord(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    async def set_default(self, did: str) -> None:
        self._did(did)
        with _transaction(self._db):
            self._db.execute("UPDATE dids SET is_default = (did = ?)", (did,))

    async def default_did(self) -> str:
        row = self._db.execute("SELECT did FROM dids WHERE is_default = 1").fetchone()
        if row is None:
            raise WalletError("the wallet has no DID yet (create one first)")
        return str(row[0])

    def _did(self, did: str) -> DidRecord:
        row = self._db.execute(
            _SELECT_DIDS + " WHERE d.did = ?",
            (did,),
        ).fetchone()
        if row is None:
            raise WalletError(f"{did} is not in this wallet")
        return DidRecord(row[0], row[1], row[2], row[3], bool(row[4]))

    def signer(self, did: str) -> KeySigner:
        """The signer of a DID's current authentication key (decrypted once, kept in memory)."""
        cached = self._signers.get(did)
        if cached is not None:
            return cached
        record = self._did(did)
        row = self._db.execute(
            "SELECT key_type, sealed_secret FROM keys WHERE key_id = ?", (record.key_id,)
        ).fetchone()
        secret = self._box.open(bytes(row[1]), f"key|{record.key_id}|{row[0]}".encode())
        signer = KeySigner(KeyPair.from_private_bytes(row[0], secret), record.key_id)
        self._signers[did] = signer
        return signer

    # --- credentials ---------------------------------------------------------------------------

    async def store_credential(
        self, credential: dict[str, Any] | str, *, strict: bool = False
    ) -> CredentialRecord:
        """Check and keep a credential issued to one of the wallet's DIDs.

        The credential must verify. One whose issuer cannot be resolved right now is kept with a
        warning, or refused with ``strict=True``.
        """
        from verifier import Verifier

        document = parse_jws(credential, typ="vc+jwt").payload if isinstance(credential, str) else credential
        info = check_credential(document)
        ours = {d.did for d in await self.list_dids()}
        subject = next((s for s in info.subject_ids if s in ours), None)
        if subject is None:
            raise WalletError("this credential is not issued to any DID of this wallet")
        loopback = self._allow_loopback
        async with Verifier(
            resolver=self._resolver,
            allow_http=loopback,
            allow_loopback=loopback,
            isolate_canonicalization=False,
        ) as verifier:
            result = await verifier.check_credential(credential)
        warnings: list[str] = []
        for problem in result.problems:
            if problem.could_not_check and not strict:
                warnings.append(f"{problem.code}: {problem.message}")
            elif problem.code not in ("CREDENTIAL_EXPIRED_ERROR",):
                raise WalletError(
                    f"the credential does not verify [{problem.code}] {problem.message}", code=problem.code
                )
            else:
                warnings.append(f"{problem.code}: {problem.message}")
        credential_id = info.id or f"urn:didvc:credential:{b64url_encode(os.urandom(12))}"
        claims = [s for s in info.subjects if s.get("id") == subject]
        scopes = sorted({s for c in claims for s in _as_list(c.get("scope")) if isinstance(s, str)})
        audiences = sorted({a for c in claims for a in _as_list(c.get("audience")) if isinstance(a, str)})
        record = CredentialRecord(
            id=credential_id,
            subject=subject,
            issuer=info.issuer,
            types=info.types,
            scopes=tuple(scopes),
            audiences=tuple(audiences),
            valid_until=info.valid_until,
            format="jwt" if isinstance(credential, str) else "ldp",
            credential=credential,
            warnings=tuple(warnings),
        )
        with _transaction(self._db):
            self._db.execute(
                _INSERT_CREDENTIAL,
                (
                    record.id,
                    record.subject,
                    record.issuer,
                    json.dumps(list(record.types)),
                    json.dumps(scopes),
                    json.dumps(audiences),
                    info.valid_until.isoformat() if info.valid_until else None,
                    record.format,
                    credential if isinstance(credential, str) else json.dumps(credential),
                    json.dumps(warnings),
                    _now_text(),
                ),
            )
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
        for record in self._all_records():
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

    def _all_records(self) -> list[CredentialRecord]:
        """Every stored credential, decoded once and kept while the file is unchanged: by this
        connection (``total_changes``) or by any other, another process included
        (``PRAGMA data_version``). A request header no longer re-decodes every credential."""
        stamp = (int(self._db.execute("PRAGMA data_version").fetchone()[0]), self._db.total_changes)
        if self._records is None or self._records[0] != stamp:
            rows = self._db.execute("SELECT * FROM credentials ORDER BY stored, rowid")
            self._records = (stamp, [_record(row) for row in rows])
        return self._records[1]

    async def delete_credential(self, credential_id: str) -> None:
        with _transaction(self._db):
            deleted = self._db.execute("DELETE FROM credentials WHERE id = ?", (credential_id,)).rowcount
        if not deleted:
            raise WalletError(f"no credential {credential_id} in this wallet", code="NOT_FOUND_ERROR")

    # --- presentations -------------------------------------------------------------------------

    async def _select(
        self,
        did: str,
        *,
        audience: str | None,
        scopes: Iterable[str] | None,
        credential_ids: Iterable[str] | None,
    ) -> list[dict[str, Any] | str]:
        """Least disclosure: only what this audience and these scopes need, never expired ones."""
        candidates = [r for r in self._all_records() if r.subject == did and not r.expired()]  # read-only
        if credential_ids is not None:
            wanted = set(credential_ids)
            chosen = [c for c in candidates if c.id in wanted]
            if len(chosen) != len(wanted):
                raise WalletError("some named credentials are not in the wallet (or have expired)")
            return [c.credential for c in chosen]
        if audience is not None:
            candidates = [c for c in candidates if not c.audiences or audience in c.audiences]
        if scopes is not None:
            needed = set(scopes)
            candidates = [c for c in candidates if needed & set(c.scopes)]
        return [c.credential for c in candidates]

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
        holder = did or await self.default_did()
        audience = audience or _origin(url)
        credentials = await self._select(
            holder, audience=audience, scopes=scopes, credential_ids=credential_ids
        )
        return await sign_request_token(
            make_presentation(holder, credentials),
            self.signer(holder),
            audience=audience,
            method=method,
            url=url,
            body=body,
            nonce=nonce,
            lifetime=lifetime,
        )

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
        cryptosuite: str = "eddsa-rdfc-2022",
        scopes: Iterable[str] | None = None,
        credential_ids: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """A VP secured with a Data Integrity ``authentication`` proof (the plain W3C path)."""
        holder = did or await self.default_did()
        credentials = await self._select(
            holder, audience=domain, scopes=scopes, credential_ids=credential_ids
        )
        return await add_proof(
            make_presentation(holder, credentials),
            self.signer(holder),
            cryptosuite=cryptosuite,
            purpose=Authentication(challenge=challenge, domain=domain),
        )

    async def data_integrity_header(self, *, challenge: str, domain: str, **options: Any) -> dict[str, str]:
        """The Data Integrity VP as a header value: ``{"Authorization": "VP <base64url JSON>"}``."""
        presentation = await self.data_integrity_presentation(challenge=challenge, domain=domain, **options)
        encoded = b64url_encode(json.dumps(presentation, separators=(",", ":")).encode())
        return {"Authorization": f"VP {encoded}"}

    # --- backups -------------------------------------------------------------------------------

    async def export_backup(self, path: str | os.PathLike[str], *, passphrase: str | bytes) -> None:
        """Write every DID, key and credential to ``path``, sealed under ``passphrase``."""
        secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
        identities = []
        for record in await self.list_dids():
            rows = self._db.execute(
                "SELECT key_id, key_type, sealed_secret, retired FROM keys WHERE did = ?", (record.did,)
            )
            keys = [
                {
                    "key_id": r[0],
                    "key_type": r[1],
                    "secret": b64url_encode(self._box.open(bytes(r[2]), f"key|{r[0]}|{r[1]}".encode())),
                    "retired": r[3],
                }
                for r in rows
            ]
            doc_row = self._db.execute("SELECT document FROM dids WHERE did = ?", (record.did,)).fetchone()
            identities.append(
                {
                    "did": record.did,
                    "method": record.method,
                    "key_id": record.key_id,
                    "default": record.is_default,
                    "document": json.loads(doc_row[0]) if doc_row[0] else None,
                    "keys": keys,
                }
            )
        credentials = [r.credential for r in await self.list_credentials()]
        plaintext = json.dumps({"version": 1, "identities": identities, "credentials": credentials}).encode()
        params = KdfParams.new()
        key = await asyncio.to_thread(params.derive, secret)
        sealed = SealedBox(key).seal(plaintext, b"didvc backup v1")
        backup = {
            "format": "didvc-wallet-backup",
            "version": 1,
            "kdf": params.to_json(),
            "sealed": b64url_encode(sealed),
        }
        write_atomically(path, json.dumps(backup).encode())

    @classmethod
    async def import_backup(
        cls,
        backup_path: str | os.PathLike[str],
        wallet_path: str | os.PathLike[str],
        *,
        backup_passphrase: str | bytes,
        passphrase: str | bytes,
        resolver: DidResolver | None = None,
    ) -> Wallet:
        """Create a new wallet at ``wallet_path`` from a backup."""
        if Path(wallet_path).exists():
            raise WalletError(f"{wallet_path} exists; import a backup into a new wallet")
        data = strict_json_loads(Path(backup_path).read_bytes(), what="backup")
        if not isinstance(data, dict) or data.get("format") != "didvc-wallet-backup":
            raise MalformedValueError("not a didvc wallet backup")
        params = KdfParams.from_json(data.get("kdf"))
        secret = backup_passphrase.encode() if isinstance(backup_passphrase, str) else backup_passphrase
        key = await asyncio.to_thread(params.derive, secret)
        content = json.loads(
            SealedBox(key).open(b64url_decode(str(data.get("sealed", ""))), b"didvc backup v1")
        )
        wallet = await cls.open(wallet_path, passphrase=passphrase, resolver=resolver)
        try:
            with _transaction(wallet._db):
                for identity in content["identities"]:
                    wallet._db.execute(
                        _INSERT_DID,
                        (
                            identity["did"],
                            identity["method"],
                            identity["key_id"],
                            json.dumps(identity["document"]) if identity["document"] else None,
                            int(identity["default"]),
                            _now_text(),
                        ),
                    )
                    for key_entry in identity["keys"]:
                        pair = KeyPair.from_private_bytes(
                            key_entry["key_type"], b64url_decode(key_entry["secret"])
                        )
                        wallet._insert_key(identity["did"], key_entry["key_id"], pair)
                        if key_entry.get("retired"):
                            wallet._db.execute(
                                "UPDATE keys SET retired = ? WHERE key_id = ?",
                                (key_entry["retired"], key_entry["key_id"]),
                            )
            for credential in content["credentials"]:
                await wallet.store_credential(credential)
        except BaseException:
            await wallet.close()
            raise
        return wallet


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise WalletCorruptedError("the wallet's metadata is not valid JSON") from None


def _record(row: sqlite3.Row | tuple[Any, ...]) -> CredentialRecord:
    (cid, subject, issuer, types, scopes, audiences, valid_until, fmt, body, warnings, _stored) = row
    return CredentialRecord(
        id=cid,
        subject=subject,
        issuer=issuer,
        types=tuple(json.loads(types)),
        scopes=tuple(json.loads(scopes)),
        audiences=tuple(json.loads(audiences)),
        valid_until=datetime.fromisoformat(valid_until) if valid_until else None,
        format=fmt,
        credential=body if fmt == "jwt" else json.loads(body),
        warnings=tuple(json.loads(warnings)),
    )


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    try:
        create_private(path)
        connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise WalletLockedError(f"the wallet {path} is locked by another process") from None
        raise WalletCorruptedError(f"cannot open the wallet {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise WalletCorruptedError(f"{path} is not a wallet or is corrupted: {exc}") from None
    return connection


def _read_meta(connection: sqlite3.Connection) -> dict[str, str]:
    try:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" not in tables:
            if tables:
                raise WalletCorruptedError("this SQLite file is not a didvc wallet")
            return {}
        return {name: value for name, value in connection.execute("SELECT name, value FROM meta")}
    except sqlite3.DatabaseError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise WalletLockedError("the wallet is locked by another process") from None
        raise WalletCorruptedError(f"the wallet file is corrupted: {exc}") from None


def _write_meta(connection: sqlite3.Connection, name: str, value: str) -> None:
    connection.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT: one writer at a time, all or nothing."""
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise WalletLockedError(f"the wallet is locked by another process ({exc})") from None
    except sqlite3.DatabaseError as exc:
        raise WalletCorruptedError(f"the wallet file is corrupted: {exc}") from None
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    try:
        connection.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        connection.execute("ROLLBACK")
        raise WalletCorruptedError(f"could not commit to the wallet: {exc}") from None
