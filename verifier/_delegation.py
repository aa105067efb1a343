"""The delegation rules in the pipeline (didvc.delegation holds them): which presented
credentials are links, the chain they form to the holder, and what the holder may do."""

from __future__ import annotations

from collections.abc import Sequence

from didvc.delegation import Chain, check_chain, is_delegation, read_link
from verifier._policy import Policy
from verifier._steps import Checked, scopes_of

__all__ = ["delegation_chain", "granted_scopes"]


def _is_link(item: Checked) -> bool:
    return item.info is not None and is_delegation(item.info.types)


def delegation_chain(holder: str, credentials: Sequence[Checked], policy: Policy) -> Chain | None:
    """The chain the presented links form from a principal the policy accepts to ``holder``
    (None when none is presented); raises DELEGATION_ERROR or UNTRUSTED_PRINCIPAL_ERROR."""
    links = []
    for item in credentials:
        if _is_link(item):
            assert item.loaded is not None and item.info is not None
            presented = item.loaded.token if item.loaded.token is not None else item.loaded.document
            links.append(read_link(presented, item.info))
    if not links:
        return None
    vouched = {  # principals by a presented credential (its issuer trusted: screened already)
        subject
        for item in credentials
        if item.info is not None and policy.principal_credential_types.intersection(item.info.types)
        for subject in item.info.subject_ids
    }
    return check_chain(links, holder, policy.trusted_principals | vouched, policy.max_delegation_depth)


def granted_scopes(holder: str | None, credentials: Sequence[Checked], chain: Chain | None) -> set[str]:
    """The holder's own credentials' scopes, narrowed to what every link of its chain grants."""
    own = scopes_of(holder, [item for item in credentials if not _is_link(item)])
    return own if chain is None else own & chain.scopes
