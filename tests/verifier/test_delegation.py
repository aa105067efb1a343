"""Delegation from a human principal, checked on every request (docs/delegation.md): real
wallets sign the links, a real issuer hosts their revocation, the verifier checks the chain."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from didvc.credentials import make_presentation
from didvc.delegation import delegation_body
from didvc.proofs import add_proof, format_datetime
from didvc.request import sign_request_token
from tests.helpers import issuer_site, trusting
from verifier import Verifier
from wallet import KdfParams, Wallet

FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)
API = "https://api.example"


@dataclass
class World:
    issuer: Any  # the operator's issuer: AgentCredentials, and the delegations' revocation
    principal: Wallet  # a person
    agent: Wallet
    sub: Wallet  # an agent the agent hands part of its grant to
    verifier: Verifier

    async def did(self, wallet: Wallet) -> str:
        return await wallet.default_did()

    async def call(self, wallet: Wallet, scope: str = "orders:read") -> Any:
        token = await wallet.request_token("GET", f"{API}/orders", scopes=[scope])
        self.verifier.status.clear()
        return await self.verifier.verify_presentation(token, audience=API, method="GET", url=f"{API}/orders")


async def _wallet(path: Path) -> Wallet:
    wallet = await Wallet.open(path, passphrase="pw", kdf=FAST, allow_loopback=True)
    await wallet.create_did()
    return wallet


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with issuer_site(tmp_path) as (issuer, _):
        wallets = [await _wallet(tmp_path / f"{name}.wallet") for name in ("principal", "agent", "sub")]
        principal, agent, sub = wallets
        for holder in (agent, sub):
            vc = await issuer.issue(
                await holder.default_did(), claims={"scope": ["orders:read", "orders:write"]}
            )
            await holder.store_credential(vc)
        policy = trusting(issuer.did, trusted_principals=frozenset({await principal.default_did()}))
        verifier = Verifier(policy=policy, allow_http=True, allow_loopback=True)
        yield World(issuer, principal, agent, sub, verifier)
        await verifier.close()
        for wallet in wallets:
            await wallet.close()


async def _grant(world: World, hops: int = 0, scopes: tuple[str, ...] = ("orders:read",)) -> list[Any]:
    registration = await world.issuer.register_delegation(await world.did(world.principal))
    chain = await world.principal.delegate(
        await world.did(world.agent),
        scopes=scopes,
        audiences=[API],
        hops=hops,
        valid_for=timedelta(hours=2),
        credential_id=registration["id"],
        status=registration["credentialStatus"],
    )
    await world.agent.store_chain(chain)
    return chain


async def test_the_agent_acts_for_its_principal_with_no_more_than_it_was_given(world: World) -> None:
    await _grant(world)
    result = await world.call(world.agent)
    assert result.verified, result.problems
    assert result.principal == await world.did(world.principal)
    assert result.scopes == ["orders:read"]  # its own credential allows write too: the chain does not
    assert len(result.delegation) == 1
    refused = await world.call(world.agent, "orders:write")  # the wallet presents no chain for it
    assert refused.principal is None  # acting for itself, it may write
    assert refused.verified and refused.scopes == ["orders:read", "orders:write"]


async def test_a_chain_from_a_principal_the_policy_does_not_accept_grants_nothing(world: World) -> None:
    await _grant(world)
    stranger = Verifier(policy=trusting(world.issuer.did), allow_http=True, allow_loopback=True)
    token = await world.agent.request_token("GET", f"{API}/orders", scopes=["orders:read"])
    result = await stranger.verify_presentation(token, audience=API, method="GET", url=f"{API}/orders")
    assert [p.code for p in result.problems] == ["UNTRUSTED_PRINCIPAL_ERROR"]
    await stranger.close()


async def test_revoking_the_middle_link_stops_the_sub_agent(world: World) -> None:
    await _grant(world, hops=1)
    middle = await world.issuer.register_delegation(await world.did(world.agent))
    parent_id = next(r.id for r in await world.agent.list_credentials() if "DelegationCredential" in r.types)
    chain = await world.agent.delegate(
        await world.did(world.sub),
        scopes=["orders:read"],
        audiences=[API],
        valid_for=timedelta(hours=1),
        parent=parent_id,
        credential_id=middle["id"],
        status=middle["credentialStatus"],
    )
    assert len(chain) == 2  # the agent hands on a narrower part of its grant, with the link above
    await world.sub.store_chain(chain)
    before = await world.call(world.sub)
    assert before.verified and before.principal == await world.did(world.principal), before.problems
    await world.issuer.revoke(parent_id)  # the principal's link to the agent
    after = await world.call(world.sub)
    assert [p.code for p in after.problems] == ["CREDENTIAL_REVOKED_ERROR"]


async def _forged_sub(world: World, parent: dict[str, Any], **changes: Any) -> list[Any]:
    """A sub-delegation signed by the agent that breaks a rule (its wallet would refuse some)."""
    now = datetime.now(UTC).replace(microsecond=0)
    settings: dict[str, Any] = {
        "scopes": ["orders:read"],
        "audiences": [API],
        "valid_from": format_datetime(now),
        "valid_until": format_datetime(now + timedelta(hours=1)),
        "credential_id": "urn:uuid:5d1c9a7e-0000-4000-8000-00000000000b",
        "hops": 0,
        "parent": parent,
    }
    settings.update(changes)
    body = delegation_body(await world.did(world.agent), await world.did(world.sub), **settings)
    agent_did = await world.did(world.agent)
    return [parent, await add_proof(body, world.agent.signer(agent_did))]


@pytest.mark.parametrize(
    ("grant_hops", "changes"),
    [
        (1, {"scopes": ["orders:read", "orders:write"]}),  # wider scopes
        (1, {"valid_until": format_datetime(datetime.now(UTC) + timedelta(days=30))}),  # outlasts
        (0, {}),  # the parent allows no further hop
        (1, {"hops": 1}),  # hops not decreasing
        (1, {"audiences": [API, "https://elsewhere.example"]}),  # more audiences
    ],
)
async def test_a_sub_delegation_that_widens_anything_is_refused(
    world: World, grant_hops: int, changes: dict[str, Any]
) -> None:
    (parent,) = await _grant(world, hops=grant_hops)
    await world.sub.store_chain(await _forged_sub(world, parent, **changes))
    result = await world.call(world.sub)
    assert [p.code for p in result.problems] == ["DELEGATION_ERROR"], result.problems


async def test_an_expired_or_tampered_link_is_refused(world: World) -> None:
    (link,) = await _grant(world)
    tampered = copy.deepcopy(link)
    tampered["credentialSubject"]["scope"] = ["orders:read", "admin"]
    agent_did = await world.did(world.agent)
    own = next(r.credential for r in await world.agent.list_credentials() if "AgentCredential" in r.types)
    token = await sign_request_token(
        make_presentation(agent_did, [own, tampered]),
        world.agent.signer(agent_did),
        audience=API,
        method="GET",
        url=f"{API}/orders",
    )
    result = await world.verifier.verify_presentation(token, audience=API, method="GET", url=f"{API}/orders")
    assert [p.code for p in result.problems] == ["PROOF_VERIFICATION_ERROR"]
    later = Verifier(
        policy=world.verifier.policy,
        allow_http=True,
        allow_loopback=True,
        clock=lambda: datetime.now(UTC) + timedelta(hours=3),  # past the link's validUntil
    )
    token = await world.agent.request_token("GET", f"{API}/orders", scopes=["orders:read"])
    result = await later.verify_presentation(token, audience=API, method="GET", url=f"{API}/orders")
    assert not result.verified
    await later.close()


async def test_a_principal_can_be_vouched_for_by_a_credential_from_a_trusted_issuer(world: World) -> None:
    (link,) = await _grant(world)
    person = await world.did(world.principal)
    employee = await world.issuer.sign(
        {
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                {"EmployeeCredential": "https://example.org/vocab#EmployeeCredential"},
            ],
            "type": ["VerifiableCredential", "EmployeeCredential"],
            "issuer": world.issuer.did,
            "credentialSubject": {"id": person},
        }
    )
    agent_did = await world.did(world.agent)
    own = next(r.credential for r in await world.agent.list_credentials() if "AgentCredential" in r.types)

    async def verify(credentials: list[Any], **settings: Any) -> Any:
        token = await sign_request_token(
            make_presentation(agent_did, credentials),
            world.agent.signer(agent_did),
            audience=API,
            method="GET",
            url=f"{API}/orders",
        )
        policy = trusting(world.issuer.did, **settings)
        async with Verifier(policy=policy, allow_http=True, allow_loopback=True) as verifier:
            return await verifier.verify_presentation(token, audience=API, method="GET", url=f"{API}/orders")

    vouched = await verify(
        [own, employee, link], principal_credential_types=frozenset({"EmployeeCredential"})
    )
    assert vouched.verified and vouched.principal == person and vouched.scopes == ["orders:read"], (
        vouched.problems
    )
    unvouched = await verify([own, link], principal_credential_types=frozenset({"EmployeeCredential"}))
    assert [p.code for p in unvouched.problems] == ["UNTRUSTED_PRINCIPAL_ERROR"]


async def test_a_delegations_status_list_must_be_signed_by_an_issuer_the_policy_trusts(
    world: World, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    async with issuer_site(tmp_path / "elsewhere") as (stranger, _):
        registration = await stranger.register_delegation(await world.did(world.principal))
        chain = await world.principal.delegate(
            await world.did(world.agent),
            scopes=["orders:read"],
            audiences=[API],
            credential_id=registration["id"],
            status=registration["credentialStatus"],
        )
        await world.agent.store_chain(chain)  # the holder judges no trust: it keeps the link
        result = await world.call(world.agent)
        assert [p.code for p in result.problems] == ["STATUS_VERIFICATION_ERROR"]


async def test_a_wallet_refuses_an_empty_or_overlong_chain_before_checking_any_proof(world: World) -> None:
    from wallet import WalletError

    (link,) = await _grant(world)
    for chain in ([], [link] * 10):
        with pytest.raises(WalletError, match="1 to 9 links"):
            await world.agent.store_chain(chain)
