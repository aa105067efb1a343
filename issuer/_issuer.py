"""The issuer: an identity that gives agents short-lived credentials and can take them back.

>>> issuer = await Issuer.create("issuer.db", passphrase=..., did_web="issuer.example.com")  # doctest: +SKIP
>>> vc = await issuer.issue(subject=agent_did, claims={"scope": ["orders:read"], "owner": "Acme"})
>>> await issuer.suspend(vc["id"]); await issuer.reinstate(vc["id"]); await issuer.revoke(vc["id"])

Every credential carries two Bitstring Status List entries (revocation and suspension) at
random, never-reused indexes; :meth:`Issuer.publish` writes the signed status-list credentials
(and, for did:web, the DID document) for any static host, and ``didvc issuer serve`` serves them.

:class:`Issuer` is a front over its parts: the store (:mod:`issuer._store`, every SQL
statement, with a module per backend), identity and keys (:mod:`issuer._keys`), status lists
(:mod:`issuer._lists`), the inventory (:mod:`issuer._inventory`) and issuance
(:mod:`issuer._issuance`, where the securing format is chosen).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from didvc.keys import KeySigner, KeyType
from didvc.sealing import KdfParams, Vault
from didvc.status import MIN_ENTRIES
from didvc.worker import TransformWorker
from issuer import _groups, _issuance
from issuer import _setup as setup
from issuer._audit import AuditEntry, AuditLog, default_actor
from issuer._groups import new_worker
from issuer._inventory import Inventory, InventoryEntry
from issuer._issuance import DEFAULT_SECURING, Outcome, Securing
from issuer._keys import IssuerKeys, precise
from issuer._lists import StatusLists, write_published
from issuer._store import Store

__all__ = ["Issuer"]

DEFAULT_VALIDITY: Final = timedelta(hours=24)
DEFAULT_TTL_MS: Final = 300_000
#: Seconds verifiers may cache the DID document (served as its max-age); status lists stay
#: signed by the previous key this long after a rotation.
DEFAULT_DID_DOCUMENT_MAX_AGE: Final = 300


def _now() -> datetime:
    return datetime.now(UTC)


class Issuer:
    """An open issuer store. Create one with :meth:`create`, open it with :meth:`open`."""

    def __init__(self, store: Store, vault: Vault, meta: Mapping[str, str]) -> None:
        self.store = store
        self.did: str = meta["did"]
        self.default_validity = timedelta(
            seconds=int(meta.get("default_validity", DEFAULT_VALIDITY.total_seconds()))
        )
        self.clock = _now
        self._keys = IssuerKeys(
            store,
            vault,
            self.did,
            lambda: self.clock(),
            grace=float(meta.get("did_document_max_age", DEFAULT_DID_DOCUMENT_MAX_AGE)),
        )
        self._lists = StatusLists(
            store,
            self.did,
            meta["base_url"],
            list_size=int(meta.get("list_size", MIN_ENTRIES)),
            ttl_ms=int(meta.get("status_ttl_ms", DEFAULT_TTL_MS)),
            clock=lambda: self.clock(),
        )
        self._inventory = Inventory(store)
        self._audit = AuditLog(store, self._keys.signer_in, default_actor(), lambda: self.clock())
        store.audit = self._audit
        self._worker: TransformWorker | None = None

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
        did_document_max_age: int = DEFAULT_DID_DOCUMENT_MAX_AGE,
    ) -> Issuer:
        """A new issuer: did:web when ``did_web`` is given (``host[:port][:path]``), else did:key.

        ``base_url`` is where status lists are published (default for did:web: its https origin
        and path; required for did:key).
        """
        store, vault, meta = await setup.create(
            path,
            passphrase=passphrase,
            did_web=did_web,
            base_url=base_url,
            key_type=key_type,
            kdf=kdf,
            list_size=list_size,
            default_validity=default_validity,
            status_ttl_ms=status_ttl_ms,
            did_document_max_age=did_document_max_age,
        )
        return cls(store, vault, meta)

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], *, passphrase: str | bytes, parallel: bool = False
    ) -> Issuer:
        """Open an issuer store; ``parallel`` starts the worker of :meth:`start_worker` first,
        so it boots while the passphrase is checked."""
        worker = new_worker() if parallel else None
        try:
            store, vault, meta = await setup.unlock(path, passphrase=passphrase)
        except BaseException:
            if worker is not None:
                worker.close()
            raise
        issuer = cls(store, vault, meta)
        issuer._worker = worker
        return issuer

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
        await self.store.close()

    def start_worker(self) -> None:
        """Issue groups on two cores: a worker process transforms every other credential of an
        :meth:`issue_group` (start it a few hundred ms before the batch; :meth:`close` stops it)."""
        if self._worker is None:
            self._worker = new_worker()

    async def __aenter__(self) -> Issuer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- identity and keys -------------------------------------------------------------------

    @property
    def is_did_web(self) -> bool:
        return self._keys.is_did_web

    @property
    def did_document_path(self) -> str:
        """The path at which ``serve`` and :meth:`publish` put the DID document."""
        return self._keys.document_path

    async def signer(self) -> KeySigner:
        """The signer of the active assertion key (read anew every time: see
        :meth:`issuer._keys.IssuerKeys.signer`)."""
        return await self._keys.signer()

    async def did_document(self) -> dict[str, Any]:
        """The DID document to publish (did:web): every key not yet retired asserts for us."""
        return await self._keys.did_document()

    @property
    def did_document_max_age(self) -> int:
        """Seconds verifiers may cache the DID document: the rotation grace of status lists."""
        return int(self._keys.grace)

    @did_document_max_age.setter
    def did_document_max_age(self, value: int) -> None:
        self._keys.grace = float(value)

    async def rotate_key(self, key_type: KeyType | str | None = None) -> str:
        """A new assertion key signs credentials from now on, and status lists once
        :attr:`did_document_max_age` has passed; the old one stays published until retired."""
        return await self._keys.rotate(key_type)

    async def lists_switch_at(self) -> datetime | None:
        """When status lists start being signed by the active key, if that is still to come."""
        return await self._keys.switch_time()

    async def change_passphrase(self, passphrase: str | bytes, *, kdf: KdfParams | None = None) -> None:
        """Seal every key under a new passphrase, atomically (other open processes: restart)."""
        await self._keys.change_passphrase(await Vault.create(passphrase, label=setup.LABEL, kdf=kdf))

    async def retire_key(self, key_id: str) -> None:
        """Take a key out of the DID document: credentials it signed stop verifying."""
        await self._keys.retire(key_id)

    async def keys(self) -> list[dict[str, Any]]:
        return await self._keys.listing()

    # --- issuing ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._lists.base_url

    @property
    def base_path(self) -> str:
        """The path part of ``base_url`` ("" for an origin), where ``status/<n>`` lives."""
        return self._lists.base_path

    @property
    def status_ttl_ms(self) -> int:
        """How long verifiers may cache a list, and how long ``serve`` keeps a signed copy."""
        return self._lists.ttl_ms

    @status_ttl_ms.setter
    def status_ttl_ms(self, value: int) -> None:
        self._lists.ttl_ms = value

    async def issue(
        self,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        types: Iterable[str] = (),
        contexts: Iterable[str] = (),
        valid_for: timedelta | None = None,
        valid_from: datetime | None = None,
        securing: Securing | str = DEFAULT_SECURING,
        credential_id: str | None = None,
        batch_key: str | None = None,
        status_messages: Sequence[str] | None = None,
    ) -> dict[str, Any] | str:
        """Issue an AgentCredential to ``subject`` with ``claims`` (``scope``, ``owner``,
        ``agentName``, ``audience``, or any term a bundled ``contexts`` entry defines), secured
        as ``securing`` names: a cryptosuite, or ``"vc+jwt"`` (:class:`Securing`).

        The status indexes, the signature and the record are one transaction: when this returns
        the credential is durable, and if it fails nothing is left half-issued.
        ``status_messages`` adds a ``message`` entry, the n-th message meaning status value n
        (``statusSize`` bits, as few as fit); it starts at 0, :meth:`set_message` moves it.
        """
        request = self.request(
            subject,
            claims=claims,
            types=types,
            contexts=contexts,
            valid_for=valid_for,
            valid_from=valid_from,
            securing=securing,
            credential_id=credential_id,
            batch_key=batch_key,
            status_messages=status_messages,
        )
        return await _issuance.issue(self.store, self._keys, self._lists, request, issued=self.clock())

    async def sign(
        self,
        credential: Mapping[str, Any],
        *,
        securing: Securing | str = DEFAULT_SECURING,
        credential_id: str | None = None,
        status_purposes: Sequence[str] = (),
        status_messages: Sequence[str] | None = None,
    ) -> dict[str, Any] | str:
        """Sign a caller's credential as given (the VC-API's issue): checked as VC Data Model
        2.0, its issuer this issuer's DID, nothing in it rewritten. ``status_purposes``
        ("revocation", "suspension", "message" with ``status_messages``) add status entries after
        any it has; it is recorded under its ``id``, else ``credential_id``, like any other."""
        request = _issuance.given_request(
            credential,
            now=self.clock(),
            securing=Securing.named(securing),
            credential_id=credential_id,
            purposes=status_purposes,
            status_messages=status_messages,
        )
        return await _issuance.issue(self.store, self._keys, self._lists, request, issued=self.clock())

    async def register_delegation(self, principal: str, delegation_id: str | None = None) -> dict[str, Any]:
        """Host the revocation of a delegation ``principal`` will sign: ``{"id", "credentialStatus"}``
        for ``didvc wallet delegate --registration``; :meth:`revoke` of that id revokes it."""
        registered = delegation_id or f"urn:uuid:{uuid.uuid4()}"
        entries = await _issuance.register_delegation(
            self.store, self._lists, principal, registered, issued=self.clock()
        )
        return {"id": registered, "principal": principal, "credentialStatus": entries}

    # --- status changes ----------------------------------------------------------------------

    async def revoke(self, credential_id: str) -> None:
        """Revoke for good (the revocation bit is set; it is never cleared)."""
        await self._lists.change(credential_id, ("active", "suspended"), "revoked", "revocation", 1)

    async def suspend(self, credential_id: str) -> None:
        """Suspend an active credential (reversible with :meth:`reinstate`)."""
        await self._lists.change(credential_id, ("active",), "suspended", "suspension", 1)

    async def reinstate(self, credential_id: str) -> None:
        """Lift a suspension; a revoked credential stays revoked."""
        await self._lists.change(credential_id, ("suspended",), "active", "suspension", 0)

    async def set_message(self, credential_id: str, value: int) -> None:
        """Move a credential's ``message`` status to ``value`` (an index into its messages)."""
        await self._lists.set_message(credential_id, value)

    async def revoke_all(self, agent: str) -> list[str]:
        """Emergency: revoke every credential of ``agent`` that is not revoked yet."""
        return await self._lists.revoke_all(agent)

    # --- inventory ---------------------------------------------------------------------------

    async def inventory(
        self,
        *,
        agent: str | None = None,
        status: str | None = None,
        expiring_within: timedelta | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[InventoryEntry]:
        """Issued credentials, in issue order, with their current state; a page of at most
        ``limit`` after the entry whose ``cursor`` is ``after``."""
        return await self._inventory.entries(
            self.clock(),
            agent=agent,
            status=status,
            expiring_within=expiring_within,
            limit=limit,
            after=after,
        )

    async def inventory_counts(self, *, agent: str | None = None) -> dict[str, int]:
        """How many credentials are active, suspended, revoked and expired now."""
        return await self._inventory.counts(self.clock(), agent=agent)

    async def batch_keys(self, among: Sequence[str]) -> set[str]:
        """Those of the batch keys ``among`` already issued (``issue(..., batch_key=...)``)."""
        return await self.store.batch_keys(among)

    async def issue_group(self, requests: Sequence[_issuance.Request]) -> list[Outcome]:
        """Issue several credentials in one transaction (one durable commit): each request's
        credential, or the error that refused it (see :func:`issuer._issuance.issue_group`)."""
        return await _issuance.issue_group(
            self.store, self._keys, self._lists, requests, issued=self.clock(), worker=self._worker
        )

    def issue_groups(self, groups: Sequence[Sequence[_issuance.Request]]) -> AsyncIterator[list[Outcome]]:
        """Issue ``groups`` back to back, each yielded as :meth:`issue_group` returns it; with the
        worker, the next group is queued for it while one is recorded (:mod:`issuer._groups`)."""
        clock, worker = (lambda: self.clock()), self._worker
        return _groups.issue_groups(self.store, self._keys, self._lists, groups, clock=clock, worker=worker)

    def request(
        self,
        subject: str,
        *,
        claims: Mapping[str, Any] | None = None,
        types: Iterable[str] = (),
        contexts: Iterable[str] = (),
        valid_for: timedelta | None = None,
        valid_from: datetime | None = None,
        securing: Securing | str = DEFAULT_SECURING,
        credential_id: str | None = None,
        batch_key: str | None = None,
        status_messages: Sequence[str] | None = None,
    ) -> _issuance.Request:
        """What :meth:`issue` and :meth:`issue_group` issue (the arguments of :meth:`issue`)."""
        return _issuance.Request(
            subject,
            claims or {},
            types,
            contexts,
            valid_from or self.clock(),
            valid_for if valid_for is not None else self.default_validity,
            Securing.named(securing),
            credential_id,
            batch_key,
            status_messages,
        )

    async def stored_credentials(
        self, *, batch: str | None = None, agent: str | None = None
    ) -> list[dict[str, Any] | str]:
        """The credentials issued in the batch named ``batch``, or to ``agent``, as issued, in
        issue order (to write them out again)."""
        return await self._inventory.stored(batch=batch, agent=agent)

    async def credential(self, credential_id: str) -> dict[str, Any] | str:
        return await self._inventory.credential(credential_id)

    # --- the audit log -----------------------------------------------------------------------

    @property
    def actor(self) -> str:
        """Who the audit log names for this issuer's changes (default: ``user@host``)."""
        return self._audit.actor

    @actor.setter
    def actor(self, value: str) -> None:
        self._audit.actor = value

    async def audit_log(self, *, since: datetime | None = None) -> list[AuditEntry]:
        """The audit log's entries in order, from ``since`` if given."""
        return await self._audit.entries(None if since is None else precise(since))

    async def verify_audit_log(self) -> AuditEntry | None:
        """The head of the audit log if every entry verifies (None when empty); raises
        :class:`~didvc.errors.AuditLogError` naming the first that does not."""
        return await self._audit.verify()

    # --- status lists ------------------------------------------------------------------------

    async def status_lists(self) -> list[tuple[int, str]]:
        return await self.store.status_lists()

    async def status_list_credential(
        self, list_id: int, *, valid_for: timedelta | None = None
    ) -> dict[str, Any]:
        """The signed BitstringStatusListCredential of one list, as of now."""
        return await self._lists.signed(list_id, await self._keys.list_signer(), valid_for)

    def served_status_list(self, list_id: int) -> Coroutine[Any, Any, dict[str, Any]]:
        """The list as ``serve`` hands it out, signed again only when it changed (the parts'
        coroutine itself: on the path a client can hammer, no extra layer)."""
        return self._lists.served(list_id, self._keys.list_signer)

    def served_status_list_tagged(
        self, list_id: int
    ) -> Coroutine[Any, Any, tuple[dict[str, Any], bytes, str]]:
        """The served list, its JSON and its entity tag (see
        :meth:`issuer._lists.StatusLists.served_tagged`)."""
        return self._lists.served_tagged(list_id, self._keys.list_signer)

    def status_list_url(self, list_id: int) -> str:
        return self._lists.url(list_id)

    async def publish(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write the signed status lists, and for did:web the DID document, into ``directory``
        taken as the web root of ``base_url``'s host. Each file is replaced atomically."""
        written = await self._lists.publish(directory, await self._keys.list_signer())
        if self.is_did_web:
            path = Path(directory) / self.did_document_path.lstrip("/")
            written.append(write_published(path, await self.did_document()))
        return written
