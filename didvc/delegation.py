"""Delegation: a principal (a person's or an organisation's DID) grants an agent part of what it
may do, and an agent may hand a narrower part on. docs/delegation.md gives the model and the
threat analysis; this module is its data and its rules, with no I/O:

- a **link** is a ``DelegationCredential`` (VC Data Model 2.0, the context
  ``https://w3id.org/didvc/delegation/v1``) issued by the delegator's DID to the delegate's:
  ``scope`` (granted), ``audience`` (optional: the APIs it is for), ``delegationHops`` (how many
  further hops it allows), ``validFrom``/``validUntil`` (both required), and for a
  sub-delegation ``parentDelegation``: the parent link's ``id`` and ``digestSRI``;
- a **chain** runs from a principal the policy accepts to the agent presenting it; every link
  attenuates its parent (:func:`check_chain`), and the agent's effective scopes are the
  intersection of its own credentials' scopes and every link's.

Proofs and status of each link are checked like any credential's, by the verifier.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import rfc8785

from didvc.credentials import CREDENTIALS_V2, CredentialInfo
from didvc.encoding import sri_sha384
from didvc.errors import DelegationError, MalformedValueError, UntrustedPrincipalError

__all__ = [
    "DELEGATION_CONTEXT",
    "DELEGATION_TYPE",
    "MAX_HOPS",
    "Chain",
    "Link",
    "check_chain",
    "delegation_body",
    "is_delegation",
    "link_digest",
    "read_link",
]

DELEGATION_CONTEXT: Final = "https://w3id.org/didvc/delegation/v1"
DELEGATION_TYPE: Final = "DelegationCredential"
#: The most hops a link may allow, whatever the policy: a bound on any chain's length.
MAX_HOPS: Final = 8


def is_delegation(types: Iterable[str]) -> bool:
    return DELEGATION_TYPE in types


def link_digest(credential: dict[str, Any] | str) -> str:
    """The SRI digest (sha384) a child link names its parent by: of the secured JSON's JCS form
    (RFC 8785), or of a vc+jwt's token."""
    data = credential.encode() if isinstance(credential, str) else rfc8785.dumps(credential)
    return sri_sha384(data)


def delegation_body(
    delegator: str,
    delegate: str,
    *,
    scopes: Sequence[str],
    valid_from: str,
    valid_until: str,
    credential_id: str,
    audiences: Sequence[str] = (),
    hops: int = 0,
    parent: dict[str, Any] | str | None = None,
    status: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """An unsigned DelegationCredential from ``delegator`` to ``delegate``; with ``parent`` (the
    secured link it narrows), a sub-delegation naming it by id and digest."""
    if not scopes or not all(isinstance(s, str) and s for s in scopes):
        raise MalformedValueError("a delegation grants one or more scopes")
    if not 0 <= hops <= MAX_HOPS:
        raise MalformedValueError(f"a delegation allows 0 to {MAX_HOPS} further hops")
    subject: dict[str, Any] = {"id": delegate, "scope": sorted(set(scopes)), "delegationHops": hops}
    if audiences:
        subject["audience"] = sorted(set(audiences))
    if parent is not None:
        parent_id = parent.get("id") if isinstance(parent, dict) else None
        if not isinstance(parent_id, str):
            raise MalformedValueError("the parent delegation must have an id")
        subject["parentDelegation"] = {"id": parent_id, "digestSRI": link_digest(parent)}
    body: dict[str, Any] = {
        "@context": [CREDENTIALS_V2, DELEGATION_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", DELEGATION_TYPE],
        "issuer": delegator,
        "validFrom": valid_from,
        "validUntil": valid_until,
        "credentialSubject": subject,
    }
    if status:
        body["credentialStatus"] = list(status)
    return body


@dataclass(frozen=True)
class Link:
    """One DelegationCredential, read."""

    id: str
    delegator: str
    delegate: str
    scopes: frozenset[str]
    audiences: frozenset[str] | None  # None: any
    hops: int
    valid_from: datetime
    valid_until: datetime
    parent_id: str | None
    parent_digest: str | None
    digest: str


def read_link(credential: dict[str, Any] | str, info: CredentialInfo) -> Link:
    """A DelegationCredential's link, once its data model passed; raises :class:`DelegationError`
    on a shape the rules cannot read."""
    if len(info.subjects) != 1 or not info.subject_ids:
        raise DelegationError("a delegation names exactly one delegate")
    subject = info.subjects[0]
    if info.id is None or info.valid_from is None or info.valid_until is None:
        raise DelegationError("a delegation has an id, a validFrom and a validUntil")
    scopes = subject.get("scope")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        raise DelegationError(f"delegation {info.id[:80]} grants no scope")
    audiences = subject.get("audience")
    if audiences is not None and (
        not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences)
    ):
        raise DelegationError("a delegation's audience is a list of URLs")
    hops = subject.get("delegationHops", 0)
    if not isinstance(hops, int) or isinstance(hops, bool) or not 0 <= hops <= MAX_HOPS:
        raise DelegationError(f"delegationHops is 0 to {MAX_HOPS}")
    parent = subject.get("parentDelegation")
    if parent is not None and (
        not isinstance(parent, dict)
        or not isinstance(parent.get("id"), str)
        or not isinstance(parent.get("digestSRI"), str)
    ):
        raise DelegationError("parentDelegation names the parent's id and digestSRI")
    return Link(
        id=info.id,
        delegator=info.issuer,
        delegate=subject["id"],
        scopes=frozenset(scopes),
        audiences=frozenset(audiences) if audiences is not None else None,
        hops=hops,
        valid_from=info.valid_from,
        valid_until=info.valid_until,
        parent_id=parent["id"] if parent else None,
        parent_digest=parent["digestSRI"] if parent else None,
        digest=link_digest(credential),
    )


@dataclass(frozen=True)
class Chain:
    """A delegation chain that holds: its principal, its links from the principal's down to the
    agent's, and the scopes every link grants."""

    principal: str
    links: tuple[Link, ...]
    scopes: frozenset[str]


def check_chain(links: Sequence[Link], holder: str, principals: frozenset[str], max_depth: int) -> Chain:
    """The one chain ``links`` form from a principal in ``principals`` to ``holder``: every link
    used, each naming its parent by id and digest, issued by its parent's delegate, no wider
    (scopes, audiences, validity) and allowing fewer hops; raises otherwise."""
    if len(links) > max_depth:
        raise DelegationError(f"a delegation chain of {len(links)} links; the policy allows {max_depth}")
    by_id = {link.id: link for link in links}
    if len(by_id) != len(links):
        raise DelegationError("a delegation appears twice")
    leaves = [link for link in links if link.delegate == holder]
    if len(leaves) != 1:
        raise DelegationError("exactly one delegation must name the presenting agent as its delegate")
    chain = [leaves[0]]
    while (parent_id := chain[-1].parent_id) is not None:
        child = chain[-1]
        parent = by_id.get(parent_id)
        if parent is None or parent in chain:
            raise DelegationError(f"the parent of delegation {child.id[:80]} is not presented")
        _narrows(child, parent)
        chain.append(parent)
    if len(chain) != len(links):
        raise DelegationError("every presented delegation must be a link of the agent's chain")
    root = chain[-1]
    if root.delegator not in principals:
        raise UntrustedPrincipalError(f"{root.delegator[:100]} is not a principal this policy accepts")
    chain.reverse()
    scopes = frozenset.intersection(*(link.scopes for link in chain))
    return Chain(principal=root.delegator, links=tuple(chain), scopes=scopes)


def _narrows(child: Link, parent: Link) -> None:
    """A sub-delegation takes nothing its parent did not give (docs/delegation.md, the rules)."""
    if child.parent_digest != parent.digest:
        raise DelegationError(f"delegation {child.id[:80]} names another version of its parent")
    if child.delegator != parent.delegate:
        raise DelegationError(f"delegation {child.id[:80]} is not issued by its parent's delegate")
    if not child.scopes <= parent.scopes:
        wider = ", ".join(sorted(child.scopes - parent.scopes))
        raise DelegationError(f"delegation {child.id[:80]} widens its parent's scopes: {wider[:200]}")
    if parent.audiences is not None and (child.audiences is None or not child.audiences <= parent.audiences):
        raise DelegationError(f"delegation {child.id[:80]} widens its parent's audiences")
    if child.valid_from < parent.valid_from or child.valid_until > parent.valid_until:
        raise DelegationError(f"delegation {child.id[:80]} outlasts its parent")
    if child.hops >= parent.hops:
        raise DelegationError(f"delegation {child.id[:80]} allows as many hops as its parent, or more")
