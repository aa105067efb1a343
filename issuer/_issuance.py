"""Issuing an AgentCredential: its body, its status entries, its securing, its record.

One transaction holds the status indexes, the signature and the record: when :func:`issue`
returns the credential is durable, and if it fails nothing is left half-issued. A batch issues
its rows in groups, one transaction (one durable commit) per group (:func:`issue_group`). A
batch row's key makes the issuance idempotent (the same key gives back the credential it made).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from didvc.credentials import CREDENTIALS_V2, check_credential, sign_vc_jwt
from didvc.did import parse_did
from didvc.errors import DidvcError, IssuerError
from didvc.keys import KeySigner
from didvc.proofs import SUITES, add_proof, format_datetime
from issuer._inventory import stored_credential
from issuer._keys import IssuerKeys, precise
from issuer._lists import StatusLists
from issuer._store import CredentialRow, Records, Store

__all__ = ["AGENT_CONTEXT", "DEFAULT_SECURING", "Securing", "issue", "issue_group"]

AGENT_CONTEXT: Final = "https://w3id.org/didvc/agent/v1"
DEFAULT_SECURING: Final = "eddsa-rdfc-2022"
_JWT: Final = "vc+jwt"


@dataclass(frozen=True)
class Securing:
    """How a credential is secured: an embedded Data Integrity proof of a cryptosuite
    (``format`` "ldp"), or an enveloping ``vc+jwt`` (VC-JOSE-COSE; ``format`` "jwt"). The one
    vocabulary of the library, the CLI's ``--suite`` and the VC-API's options."""

    format: str
    cryptosuite: str | None

    @classmethod
    def named(cls, name: str | Securing) -> Securing:
        """``"vc+jwt"`` or a cryptosuite name (``"eddsa-rdfc-2022"``, ``"ecdsa-jcs-2019"``, ...)."""
        if isinstance(name, Securing):
            return name
        if name == _JWT:
            return cls("jwt", None)
        if name in SUITES:
            return cls("ldp", name)
        raise IssuerError(f"unknown securing {str(name)[:60]!r}: 'vc+jwt' or one of {', '.join(SUITES)}")

    @property
    def name(self) -> str:
        return self.cryptosuite or _JWT

    async def secure(
        self, body: dict[str, Any], signer: KeySigner, created: datetime
    ) -> dict[str, Any] | str:
        if self.cryptosuite is None:
            return await sign_vc_jwt(body, signer)
        return await add_proof(body, signer, cryptosuite=self.cryptosuite, created=created)


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


def body_of(request: Request, issuer: str, credential_id: str) -> dict[str, Any]:
    """The unsecured credential (status entries aside)."""
    parse_did(request.subject)
    claims = {"id": request.subject, **dict(request.claims)}
    if claims["id"] != request.subject:
        raise IssuerError("claims may not change the subject id")
    extra_types = [t for t in request.types if t not in ("VerifiableCredential", "AgentCredential")]
    return {
        "@context": [CREDENTIALS_V2, AGENT_CONTEXT, *request.contexts],
        "id": credential_id,
        "type": ["VerifiableCredential", "AgentCredential", *extra_types],
        "issuer": issuer,
        "validFrom": format_datetime(request.valid_from),
        "validUntil": format_datetime(request.valid_from + request.valid_for),
        "credentialSubject": claims,
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
    store: Store, keys: IssuerKeys, lists: StatusLists, requests: Sequence[Request], *, issued: datetime
) -> list[dict[str, Any] | str | DidvcError]:
    """Issue ``requests`` in one transaction (one durable commit for the group), each its
    credential or the error that refused it. A request refused before signing does not stop the
    others; anything failing inside the transaction rolls the whole group back, and it is issued
    again one by one so that only the request at fault fails."""
    outcomes: list[dict[str, Any] | str | DidvcError] = []
    bodies: list[tuple[Request, dict[str, Any]] | None] = []
    for request in requests:  # a bad request is refused before any I/O
        try:
            body = body_of(request, keys.did, request.credential_id or f"urn:uuid:{uuid.uuid4()}")
            bodies.append((request, body))
            outcomes.append({})
        except DidvcError as error:
            bodies.append(None)
            outcomes.append(error)
    signer = await keys.signer()
    try:
        async with store.transaction() as tx:
            for n, pending in enumerate(bodies):
                if pending is not None:
                    outcomes[n] = await _record(tx, lists, signer, *pending, issued)
    except DidvcError as error:
        if len(requests) == 1:
            return [error]
        return [
            outcome
            for request in requests
            for outcome in await issue_group(store, keys, lists, [request], issued=issued)
        ]
    return outcomes


async def _record(
    tx: Records,
    lists: StatusLists,
    signer: KeySigner,
    request: Request,
    body: dict[str, Any],
    issued: datetime,
) -> dict[str, Any] | str:
    """Sign ``body`` and record it in ``tx`` (or give back what its batch key already made)."""
    if request.batch_key is not None:
        done = await tx.issued_in_batch(request.batch_key)
        if done is not None:
            return stored_credential(*done)
    body = copy.copy(body)  # a retry of the group starts from the unsigned body again
    entries = await lists.allocate(tx, request.valid_from, request.status_messages)
    body["credentialStatus"] = [entry for *_, entry in entries]
    check_credential(body, issuing=True)
    secured = await request.securing.secure(body, signer, request.valid_from)
    claims = body["credentialSubject"]
    scopes = claims.get("scope", [])
    row = CredentialRow(
        id=body["id"],
        subject=request.subject,
        owner=_text(claims.get("owner")),
        agent_name=_text(claims.get("agentName")),
        types=json.dumps(body["type"]),
        scopes=json.dumps(scopes if isinstance(scopes, list) else [scopes]),
        valid_from=body["validFrom"],
        valid_until=body["validUntil"],
        status="active",
        format=request.securing.format,
    )
    text = secured if isinstance(secured, str) else json.dumps(secured)
    placed = [(list_id, index, purpose) for list_id, index, purpose, _ in entries]
    await tx.add_credential(row, text, precise(issued), request.batch_key, placed)
    tx.note("issue", row.id, agent=request.subject, securing=request.securing.name, batch=request.batch_key)
    return secured


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
