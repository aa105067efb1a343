"""Issuing an AgentCredential: its body, its status entries, its securing, its record.

One transaction holds the status indexes, the signature and the record: when :func:`issue`
returns the credential is durable, and if it fails nothing is left half-issued. A batch issues
its rows in groups, one durable commit per group (:func:`issue_group`; back to back, on two
cores, :mod:`issuer._groups`). A batch row's key makes the issuance idempotent (the same key
gives back the credential it made).
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from didvc.credentials import CREDENTIALS_V2, check_credential, sign_vc_jwt
from didvc.did import parse_did
from didvc.errors import DidvcError, IssuerError, MalformedValueError, StoreConflictError
from didvc.jsonld import bundled_context_digest
from didvc.keys import KeySigner
from didvc.proofs import SUITES, TransformJob, add_proof, default_cryptosuite, format_datetime
from didvc.worker import TransformWorker
from issuer._inventory import stored_credential
from issuer._keys import IssuerKeys, precise
from issuer._lists import StatusLists
from issuer._rows import CredentialRow
from issuer._store import Records, Store

__all__ = ["AGENT_CONTEXT", "DEFAULT_SECURING", "Securing", "issue", "issue_group"]

AGENT_CONTEXT: Final = "https://w3id.org/didvc/agent/v1"
#: The securing a credential gets when none is named: the cryptosuite for the issuer's key
#: (eddsa-rdfc-2022 for Ed25519, ecdsa-rdfc-2019 for P-256 and P-384), vc+jwt for secp256k1.
DEFAULT_SECURING: Final = "default"
_LONGEST: Final = timedelta(days=100 * 366)  # past it, validUntil would leave the calendar
_JWT: Final = "vc+jwt"

#: What issuing one request gives: the credential, or the error that refused it.
Outcome = dict[str, Any] | str | DidvcError


@dataclass(frozen=True)
class Securing:
    """How a credential is secured: an embedded Data Integrity proof of a cryptosuite
    (``format`` "ldp"), or an enveloping ``vc+jwt`` (VC-JOSE-COSE; ``format`` "jwt"). The one
    vocabulary of the library, the CLI's ``--suite`` and the VC-API's options."""

    format: str
    cryptosuite: str | None

    @classmethod
    def named(cls, name: str | Securing) -> Securing:
        """``"vc+jwt"``, a cryptosuite name (``"eddsa-rdfc-2022"``, ``"ecdsa-jcs-2019"``, ...),
        or ``"default"``: the one for the signing key, decided when it signs (:meth:`for_key`)."""
        if isinstance(name, Securing):
            return name
        if name == _JWT:
            return cls("jwt", None)
        if name == DEFAULT_SECURING:
            return cls(DEFAULT_SECURING, None)
        if name in SUITES:
            return cls("ldp", name)
        raise IssuerError(f"unknown securing {str(name)[:60]!r}: 'vc+jwt' or one of {', '.join(SUITES)}")

    @property
    def name(self) -> str:
        return self.cryptosuite or (_JWT if self.format == "jwt" else DEFAULT_SECURING)

    @property
    def transforms(self) -> bool:
        """Whether it costs a canonicalization (everything but vc+jwt)."""
        return self.format != "jwt"

    def for_key(self, key_type: str) -> Securing:
        """What the default means for a ``key_type`` key; any other securing is itself."""
        if self.format != DEFAULT_SECURING:
            return self
        suite = default_cryptosuite(key_type)
        return Securing("ldp", suite) if suite is not None else Securing("jwt", None)

    async def secure(
        self,
        body: dict[str, Any],
        signer: KeySigner,
        created: datetime,
        run: Callable[[TransformJob], Awaitable[bytes]] | None = None,
    ) -> dict[str, Any] | str:
        """``body`` secured; a proof's transformation computed by ``run`` if given (a worker)."""
        securing = self.for_key(signer.algorithm)
        if securing.cryptosuite is None:
            return await sign_vc_jwt(body, signer)
        return await add_proof(body, signer, cryptosuite=securing.cryptosuite, created=created, run=run)


class Request(NamedTuple):
    """What to issue (see :meth:`issuer.Issuer.issue`)."""

    subject: str
    claims: Mapping[str, Any]
    types: Iterable[str]
    contexts: Iterable[str]
    valid_from: datetime
    valid_for: timedelta
    securing: Securing
    credential_id: str | None
    batch_key: str | None
    status_messages: Sequence[str] | None
    given: Mapping[str, Any] | None = None  # a caller's credential, signed as given (VC-API)
    purposes: Sequence[str] | None = None  # status entries added; None: revocation and suspension


def given_request(
    credential: Any,
    *,
    now: datetime,
    securing: Securing,
    credential_id: str | None,
    purposes: Sequence[str],
    status_messages: Sequence[str] | None,
) -> Request:
    """What :meth:`issuer.Issuer.sign` issues: ``credential`` as given, plus the status entries
    of ``purposes``. Its record is its ``id``, else ``credential_id`` (VC-API ``credentialId``),
    else a new one the credential does not carry."""
    if not isinstance(credential, Mapping):
        raise MalformedValueError("a credential is a JSON object")
    given_id = credential.get("id")
    if credential_id is not None and given_id is not None and credential_id != given_id:
        raise MalformedValueError("credentialId names another credential than the credential's id")
    record_id = given_id if isinstance(given_id, str) else credential_id or f"urn:uuid:{uuid.uuid4()}"
    subjects = credential.get("credentialSubject")
    first = (subjects[0] if subjects else None) if isinstance(subjects, list) else subjects
    subject = first.get("id") if isinstance(first, Mapping) else None
    return Request(
        subject if isinstance(subject, str) else "",
        {},
        (),
        (),
        now,
        timedelta(0),
        securing,
        record_id,
        None,
        status_messages,
        given=copy.deepcopy(dict(credential)),
        purposes=tuple(purposes),
    )


#: The context a Data Integrity proof's terms need when the VC 2.0 one is not there to define
#: them (a VC 1.1 credential): https://www.w3.org/TR/vc-data-integrity/#contexts-and-vocabularies
DATA_INTEGRITY_CONTEXT: Final = "https://w3id.org/security/data-integrity/v2"


def _given_body(request: Request, issuer: str) -> dict[str, Any]:
    """A caller's credential, checked as VC Data Model 2.0 (or 1.1, for a Data Integrity proof)
    and never rewritten, but for the Data Integrity context a 1.1 credential needs for its proof."""
    assert request.given is not None
    body = copy.deepcopy(dict(request.given))
    if "proof" in body:
        raise MalformedValueError("the credential already carries a proof")
    info = check_credential(body, issuing=request.securing.format == "jwt")  # vc+jwt: 2.0 only
    if info.version == "1.1":
        contexts = body["@context"] if isinstance(body["@context"], list) else [body["@context"]]
        if DATA_INTEGRITY_CONTEXT not in contexts:
            body["@context"] = [*contexts, DATA_INTEGRITY_CONTEXT]
    if info.issuer != issuer:
        raise IssuerError(f"the credential's issuer is {info.issuer[:100]}; this issuer signs as {issuer}")
    return body


def body_of(request: Request, issuer: str, credential_id: str) -> dict[str, Any]:
    """The unsecured credential (status entries aside)."""
    if request.given is not None:
        return _given_body(request, issuer)
    parse_did(request.subject)
    if not timedelta(seconds=1) <= request.valid_for <= _LONGEST:
        raise IssuerError(f"a credential is valid for a second to a hundred years, not {request.valid_for}")
    claims = {"id": request.subject, **dict(request.claims)}
    if claims["id"] != request.subject:
        raise IssuerError("claims may not change the subject id")
    for name in ("scope", "audience"):  # verifiers read strings: anything else would grant nothing
        values = claims.get(name, [])
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise MalformedValueError(f"the {name} claim is a string or a list of strings")
    extra_types = [t for t in request.types if t not in ("VerifiableCredential", "AgentCredential")]
    return {
        "@context": [CREDENTIALS_V2, AGENT_CONTEXT, *request.contexts],
        "id": credential_id,
        "type": ["VerifiableCredential", "AgentCredential", *extra_types],
        "issuer": issuer,
        "validFrom": format_datetime(request.valid_from),
        "validUntil": format_datetime(request.valid_from + request.valid_for),
        "credentialSubject": claims,
        # our context is no W3C one: its digest, so a verifier bundling it knows it is the same
        "relatedResource": [{"id": AGENT_CONTEXT, "digestSRI": bundled_context_digest(AGENT_CONTEXT)}],
    }


async def issue(
    store: Store, keys: IssuerKeys, lists: StatusLists, request: Request, *, issued: datetime
) -> dict[str, Any] | str:
    """Issue ``request`` signed with the active key, recording it in ``store`` at ``issued``."""
    (outcome,) = await issue_group(store, keys, lists, [request], issued=issued)
    if isinstance(outcome, DidvcError):
        raise outcome
    return outcome


async def issue_group(
    store: Store,
    keys: IssuerKeys,
    lists: StatusLists,
    requests: Sequence[Request],
    *,
    issued: datetime,
    worker: TransformWorker | None = None,
) -> list[Outcome]:
    """Issue ``requests`` in one transaction (one durable commit for the group), each its
    credential or the error that refused it. A request refused before signing does not stop the
    others; anything failing inside the transaction rolls the whole group back, and it is issued
    again one by one so that only the request at fault fails. With a ``worker``, every other
    credential's transformation runs in it, on another core (:func:`_secure_all`)."""
    outcomes, bodies, signer = await prepare(keys, requests)
    try:
        async with store.transaction() as tx:
            drafts = await drafts_of(tx, lists, bodies, outcomes)
            for draft, secured in zip(drafts, await _secure_all(drafts, signer, worker), strict=True):
                await record(tx, draft, secured, issued)
                outcomes[draft.position] = secured
    except DidvcError as error:
        return await one_by_one(store, keys, lists, requests, issued, error)
    return outcomes


async def prepare(
    keys: IssuerKeys, requests: Sequence[Request]
) -> tuple[list[Outcome], list[tuple[Request, dict[str, Any]] | None], KeySigner]:
    """Each request's unsigned body, or the error refusing it (before any I/O; None in its
    place), and the signer of the active key (whose algorithm "default" securing means)."""
    outcomes: list[Outcome] = []
    bodies: list[tuple[Request, dict[str, Any]] | None] = []
    for request in requests:
        try:
            body = body_of(request, keys.did, request.credential_id or f"urn:uuid:{uuid.uuid4()}")
            bodies.append((request, body))
            outcomes.append({})
        except DidvcError as error:
            bodies.append(None)
            outcomes.append(error)
    signer = await keys.signer()
    bodies = [
        None if p is None else (p[0]._replace(securing=p[0].securing.for_key(signer.algorithm)), p[1])
        for p in bodies
    ]
    return outcomes, bodies, signer


async def drafts_of(
    tx: Records,
    lists: StatusLists,
    bodies: Sequence[tuple[Request, dict[str, Any]] | None],
    outcomes: list[Outcome],
) -> list[Draft]:
    """The bodies to sign, their status entries placed in ``tx``; a batch row whose key made a
    credential before gets that one back, in ``outcomes``, instead."""
    made = await made_before(tx, [p[0] for p in bodies if p is not None])
    todo: list[tuple[int, Request, dict[str, Any]]] = []
    for n, pending in enumerate(bodies):
        if pending is None:
            continue
        request, body = pending
        if request.batch_key in made:
            outcomes[n] = stored_credential(*made[request.batch_key])
        else:
            todo.append((n, request, body))
    return await _drafts(tx, lists, todo)


async def made_before(tx: Records, requests: Iterable[Request]) -> dict[str, tuple[str, str]]:
    """What the batch keys among ``requests`` made before: body and format, by key."""
    row_keys = [r.batch_key for r in requests if r.batch_key is not None]
    return await tx.issued_in_batch(row_keys) if row_keys else {}


async def one_by_one(
    store: Store,
    keys: IssuerKeys,
    lists: StatusLists,
    requests: Sequence[Request],
    issued: datetime,
    error: DidvcError,
) -> list[Outcome]:
    """After a group's transaction failed with ``error``: each request issued alone, so that
    only the one at fault fails."""
    if len(requests) == 1:
        return [error]
    return [o for r in requests for o in await issue_group(store, keys, lists, [r], issued=issued)]


class Draft(NamedTuple):
    """A credential about to be signed: its place in the group, its status entries placed."""

    position: int
    request: Request
    body: dict[str, Any]
    placed: list[tuple[int, int, str]]  # (list id, index, purpose)


async def _drafts(
    tx: Records, lists: StatusLists, todo: Sequence[tuple[int, Request, dict[str, Any]]]
) -> list[Draft]:
    """The group's credentials with their status entries (allocated for the group at once)."""
    if not todo:
        return []
    wanted = [(request.valid_from, request.status_messages, request.purposes) for _, request, _ in todo]
    drafts = []
    for (n, request, body), entries in zip(todo, await lists.allocate(tx, wanted), strict=True):
        body = copy.copy(body)  # a retry of the group starts from the unsigned body again
        if entries:  # after any the caller gave
            given = body.get("credentialStatus")
            given = [] if given is None else given if isinstance(given, list) else [given]
            body["credentialStatus"] = [*given, *(entry for *_, entry in entries)]
        check_credential(body, issuing=request.given is None)  # a given one was checked as its version
        placed = [(list_id, index, purpose) for list_id, index, purpose, _ in entries]
        drafts.append(Draft(n, request, body, placed))
    return drafts


async def _secure_all(
    drafts: Sequence[Draft], signer: KeySigner, worker: TransformWorker | None
) -> list[dict[str, Any] | str]:
    """Each draft secured. With a worker, both cores work on the group: the worker's share of
    the transformations is handed to it first, all at once (it then never waits for this
    process, whose threads hand frames over only when the interpreter lets them), and this
    process transforms the rest. It also allocates, signs and records, so the worker takes
    more than half."""
    if worker is None or not worker.ready or len(drafts) < 2:  # booting: not worth waiting for
        return [await secure(d, signer) for d in drafts]
    cut = worker_share(len(drafts), _WORKER_SHARE, worker)
    return await all_secured([*securing(drafts[:cut], signer, worker.run), *securing(drafts[cut:], signer)])


#: The worker's share of a group's transformations signed inside its transaction.
_WORKER_SHARE: Final = 0.6


def worker_share(size: int, share: float, worker: TransformWorker) -> int:
    """How many of a group's ``size`` transformations go to ``worker``: ``share`` of them, at
    most half of the jobs it may hold (two groups wait in it at once). A larger share would be
    refused as busy, and the group issued one by one: a commit per credential."""
    return min(round(size * share), worker.max_pending // 2)


def securing(
    drafts: Sequence[Draft], signer: KeySigner, run: Callable[[TransformJob], Awaitable[bytes]] | None = None
) -> list[asyncio.Future[dict[str, Any] | str]]:
    """Each draft being secured, a task each, transformed by ``run`` (a worker's) if given. The
    tasks run in the order they are made: make the worker's first, so that its jobs are queued
    before this process starts on its own."""
    return [asyncio.ensure_future(secure(d, signer, run)) for d in drafts]


async def all_secured(tasks: Sequence[asyncio.Future[dict[str, Any] | str]]) -> list[dict[str, Any] | str]:
    """What ``tasks`` give, once all are done; the first error among them raised."""
    done = await asyncio.gather(*tasks, return_exceptions=True)
    for outcome in done:
        if isinstance(outcome, BaseException):
            raise outcome
    return done  # type: ignore[return-value]


def secure(
    draft: Draft, signer: KeySigner, run: Callable[[TransformJob], Awaitable[bytes]] | None = None
) -> Awaitable[dict[str, Any] | str]:
    return draft.request.securing.secure(draft.body, signer, draft.request.valid_from, run)


async def record(tx: Records, draft: Draft, secured: dict[str, Any] | str, issued: datetime) -> None:
    """Record a signed credential in ``tx``, with its audit-log entry."""
    request, body = draft.request, draft.body
    claims = body["credentialSubject"]
    claims = (claims[0] if claims else {}) if isinstance(claims, list) else claims
    scopes = claims.get("scope", [])
    row = CredentialRow(
        id=request.credential_id if request.given is not None and request.credential_id else body["id"],
        subject=request.subject,
        owner=_text(claims.get("owner")),
        agent_name=_text(claims.get("agentName")),
        types=json.dumps(body["type"]),
        scopes=json.dumps(scopes if isinstance(scopes, list) else [scopes]),
        valid_from=body.get("validFrom") or body.get("issuanceDate") or format_datetime(request.valid_from),
        valid_until=body.get("validUntil") or body.get("expirationDate"),
        status="active",
        format=request.securing.format,
    )
    text = secured if isinstance(secured, str) else json.dumps(secured)
    try:
        await tx.add_credential(row, text, precise(issued), request.batch_key, draft.placed)
    except StoreConflictError:  # its id, or (another process's meanwhile) its batch row
        what = f"the id {row.id[:200]}" if request.batch_key is None else f"the id {row.id[:200]} or its row"
        raise StoreConflictError(f"this store already holds a credential with {what}") from None
    tx.note("issue", row.id, agent=request.subject, securing=request.securing.name, batch=request.batch_key)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def register_delegation(
    store: Store, lists: StatusLists, principal: str, delegation_id: str, *, issued: datetime
) -> list[dict[str, Any]]:
    """A revocation entry for a delegation ``principal`` signs (docs/delegation.md: principals
    host no status list; the operator's issuer does). Recorded under ``delegation_id``, so
    revoking that id revokes the delegation, and every link below it with it."""
    parse_did(principal)
    async with store.transaction() as tx:
        (entries,) = await lists.allocate(tx, [(issued, None, ("revocation",))])
        row = CredentialRow(
            id=delegation_id,
            subject=principal,
            owner=None,
            agent_name=None,
            types=json.dumps(["VerifiableCredential", "DelegationCredential"]),
            scopes="[]",
            valid_from=format_datetime(issued),
            valid_until=None,
            status="active",
            format="registration",
        )
        record = json.dumps({"registered": delegation_id, "principal": principal})
        await tx.add_credential(row, record, precise(issued), None, [(i, n, p) for i, n, p, _ in entries])
        tx.note("register-delegation", delegation_id, principal=principal)
    return [entry for *_, entry in entries]
