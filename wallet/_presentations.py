"""Presentations: which credentials a request gets, and the two ways of presenting them.

- :func:`choose` — least disclosure: the holder's unexpired credentials this audience accepts
  and these scopes need (or exactly the ones named); :func:`choose_holder` — which of the
  wallet's DIDs speaks, when the caller did not say.
- :func:`request_token` — the vp+jwt bound to one HTTP request (docs/design.md, "the header").
- :func:`data_integrity_presentation` — a VP with an ``authentication`` Data Integrity proof
  over a verifier's challenge and domain (the plain W3C path), and :func:`header_value`, its
  form in a header.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from didvc.credentials import make_presentation
from didvc.delegation import is_delegation
from didvc.encoding import b64url_encode
from didvc.errors import WalletError
from didvc.keys import KeySigner
from didvc.proofs import Authentication, add_proof
from didvc.request import sign_request_token
from wallet._delegations import chain_for
from wallet._store import CredentialRecord

__all__ = [
    "choose",
    "choose_holder",
    "data_integrity_presentation",
    "header_value",
    "origin",
    "request_token",
]

Credential = dict[str, Any] | str


def choose(
    records: Iterable[CredentialRecord],
    holder: str,
    *,
    audience: str | None,
    scopes: Iterable[str] | None,
    credential_ids: Iterable[str] | None,
) -> list[Credential]:
    """Least disclosure: only what this audience and these scopes need, never expired ones; with
    them, when scopes are named, the first delegation chain to ``holder`` that fits them
    (docs/delegation.md)."""
    records = list(records)
    candidates = [r for r in records if r.subject == holder and not r.expired()]
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
    own = [c for c in candidates if not is_delegation(c.types)]
    # acting for a principal is asked for by naming the scopes: without them, for itself
    leaf = next((c for c in candidates if is_delegation(c.types)), None) if scopes is not None else None
    chain = chain_for(records, leaf) if leaf is not None and own else []
    return [c.credential for c in own] + chain


def choose_holder(
    records: Sequence[CredentialRecord],
    dids: Iterable[str],
    did: str | None,
    *,
    audience: str | None,
    scopes: Iterable[str] | None,
    credential_ids: Iterable[str] | None,
) -> tuple[str, list[Credential]]:
    """The DID that speaks and what it presents: ``did`` if named; else the DID of the named
    credentials, or the first of ``dids`` (the default first; read only as far as needed)
    holding credentials that fit. When credentials exist but none fits, an error says why,
    rather than a presentation with nothing in it (which proves who is calling and grants
    nothing)."""
    wanted = None if scopes is None else list(scopes)
    named = None if credential_ids is None else list(credential_ids)
    holders: Iterable[str] = [did] if did is not None else dids
    if did is None and named:
        owners = sorted({r.subject for r in records if r.id in named})
        if len(owners) > 1:
            raise WalletError("the named credentials belong to different DIDs: name one with did=")
        holders = owners or dids
    first = None
    for holder in holders:
        first = first or holder
        chosen = choose(records, holder, audience=audience, scopes=wanted, credential_ids=named)
        if chosen:
            return holder, chosen
    held = [r for r in records if not r.expired() and (did is None or r.subject == did)]
    if held:
        asked = f"audience {audience}" + (f", scopes {', '.join(wanted)}" if wanted else "")
        owner = did or "this wallet"
        raise WalletError(
            f"no credential of {owner} fits this request ({asked}): "
            f"{len(held)} held, none for this audience and these scopes"
        )
    assert first is not None  # a wallet has a DID, or default_did() said so
    return first, []


def origin(url: str) -> str:
    """The audience a request to ``url`` is for when none is named: its origin."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def request_token(signer: KeySigner, holder: str, credentials: list[Credential], **binding: Any) -> str:
    """A fresh vp+jwt of ``credentials``, bound to the request ``binding`` describes (audience,
    method, url, body, nonce, lifetime: :func:`didvc.request.sign_request_token`)."""
    return await sign_request_token(make_presentation(holder, credentials), signer, **binding)


async def data_integrity_presentation(
    signer: KeySigner,
    holder: str,
    credentials: list[Credential],
    *,
    challenge: str,
    domain: str,
    cryptosuite: str | None,
) -> dict[str, Any]:
    return await add_proof(
        make_presentation(holder, credentials),
        signer,
        cryptosuite=cryptosuite,
        purpose=Authentication(challenge=challenge, domain=domain),
    )


def header_value(presentation: dict[str, Any]) -> str:
    """``VP <base64url of the compact JSON>``: a Data Integrity VP in an Authorization header."""
    return "VP " + b64url_encode(json.dumps(presentation, separators=(",", ":")).encode())
