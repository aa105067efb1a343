"""What a wallet does with delegations (docs/delegation.md): sign one for another agent, keep
the chain it received, and find the chain a request needs. Mixed into :class:`wallet.Wallet`.

A delegate needs the whole chain above it to present it, so :meth:`Delegations.delegate`
returns the chain (the parent's links first, the new one last), and
:meth:`Delegations.store_chain` keeps a received chain: its last link issued to one of this
wallet's DIDs, the links above it (issued to others) kept beside it to be presented with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from didvc.credentials import check_credential
from didvc.delegation import MAX_HOPS, delegation_body, is_delegation
from didvc.errors import WalletError
from didvc.jose import parse_jws
from didvc.proofs import add_proof, format_datetime
from wallet._store import CredentialRecord

if TYPE_CHECKING:
    from didvc.keys import KeySigner
    from verifier import Verifier
    from wallet._store import WalletStore

__all__ = ["Delegations", "chain_for"]

Credential = dict[str, Any] | str


def _document(credential: Credential) -> dict[str, Any]:
    return parse_jws(credential, typ="vc+jwt").payload if isinstance(credential, str) else credential


def _parent_id(record: CredentialRecord) -> str | None:
    subject = _document(record.credential).get("credentialSubject")
    parent = subject.get("parentDelegation") if isinstance(subject, dict) else None
    return parent.get("id") if isinstance(parent, dict) else None


def chain_for(records: Sequence[CredentialRecord], leaf: CredentialRecord) -> list[Credential]:
    """``leaf`` and the links above it, the principal's first (as the wallet holds them)."""
    by_id = {r.id: r for r in records if is_delegation(r.types)}
    chain, current = [leaf], leaf
    while (parent := _parent_id(current)) is not None:
        if parent not in by_id or by_id[parent] in chain:
            raise WalletError(f"the wallet lacks the parent delegation {parent[:80]}: import the whole chain")
        current = by_id[parent]
        chain.append(current)
    return [r.credential for r in reversed(chain)]


class Delegations:
    """The delegation half of a wallet (its store, signers and verifier come from Wallet)."""

    _store: WalletStore
    _verifier: Verifier | None

    if TYPE_CHECKING:  # Wallet's, declared for the type checker only

        def signer(self, did: str) -> KeySigner: ...

        async def store_credential(
            self, credential: Credential, *, strict: bool = False
        ) -> CredentialRecord: ...

    async def delegate(
        self,
        delegate: str,
        *,
        scopes: Iterable[str],
        valid_for: timedelta = timedelta(hours=24),
        audiences: Iterable[str] = (),
        hops: int = 0,
        parent: str | None = None,
        did: str | None = None,
        status: Sequence[dict[str, Any]] = (),
        credential_id: str | None = None,
    ) -> list[Credential]:
        """Delegate ``scopes`` to ``delegate`` for ``valid_for``, signed by ``did`` (default: the
        wallet's default DID, or the delegate of ``parent``, the id of a delegation this wallet
        holds, which the new one narrows). Returns the chain to hand the delegate."""
        records = self._store.credentials()
        above: list[Credential] = []
        parent_record = None
        if parent is not None:
            parent_record = next((r for r in records if r.id == parent and is_delegation(r.types)), None)
            if parent_record is None:
                raise WalletError(f"this wallet holds no delegation {parent[:80]}")
            above = chain_for(records, parent_record)
            did = did or parent_record.subject
            if did != parent_record.subject:
                raise WalletError("a sub-delegation is signed by its parent's delegate")
        holder = did or self._store.default_did()
        now = datetime.now(UTC).replace(microsecond=0)
        until = now + valid_for
        ends = parent_record.valid_until if parent_record is not None else None
        if ends is not None and until > ends:
            raise WalletError(f"the parent delegation ends at {ends.isoformat()}: delegate for less")
        body = delegation_body(
            holder,
            delegate,
            scopes=list(scopes),
            audiences=list(audiences),
            hops=hops,
            valid_from=format_datetime(now),
            valid_until=format_datetime(until),
            credential_id=credential_id or f"urn:uuid:{uuid.uuid4()}",
            parent=parent_record.credential if parent_record is not None else None,
            status=status,
        )
        check_credential(body, issuing=True)
        return [*above, await add_proof(body, self.signer(holder))]

    async def store_chain(self, chain: Sequence[Credential], *, strict: bool = False) -> CredentialRecord:
        """Keep a delegation chain (as :meth:`delegate` returns it): the last link must be issued
        to one of this wallet's DIDs and each one above it must verify; all are kept."""
        if not 0 < len(chain) <= MAX_HOPS + 1:  # before any proof is checked
            raise WalletError(f"a delegation chain has 1 to {MAX_HOPS + 1} links")
        if self._verifier is None:
            raise WalletError("the wallet is closed")
        leaf = await self.store_credential(chain[-1], strict=strict)
        for credential in chain[:-1]:
            info = check_credential(_document(credential))
            if not is_delegation(info.types) or len(info.subject_ids) != 1:
                raise WalletError("a chain holds delegations, each to one delegate")
            result = await self._verifier.check_credential(credential)
            refused = [p for p in result.problems if not (p.could_not_check and not strict)]
            if refused:
                raise WalletError(f"a link above does not verify [{refused[0].code}] {refused[0].message}")
            self._store.put_credential(
                CredentialRecord(
                    id=str(info.id),
                    subject=info.subject_ids[0],
                    issuer=info.issuer,
                    types=info.types,
                    scopes=(),
                    audiences=(),
                    valid_until=info.valid_until,
                    format="jwt" if isinstance(credential, str) else "ldp",
                    credential=credential,
                    warnings=tuple(f"{p.code}: {p.message}" for p in result.problems),
                )
            )
        return leaf
