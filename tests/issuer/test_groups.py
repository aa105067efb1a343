"""Groups issued back to back (``Issuer.issue_groups``, the batch command's path): the next
group is reserved and handed to the worker while one is recorded, and what comes out is what
one group at a time gives."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from didvc.errors import DidvcError
from issuer import Issuer
from tests.helpers import Party, issuer_site, trusting
from verifier import Verifier


class Site:
    def __init__(self, issuer: Issuer, path: Path) -> None:
        self.issuer = issuer
        self.path = path
        self.verifier = Verifier(allow_http=True, allow_loopback=True, policy=trusting(issuer.did))

    async def problems(self, credential: Any) -> list[str]:
        self.verifier.status.clear()
        result = await self.verifier.verify_credential(credential)
        return [code for code, _ in result.problems]

    def reserved(self) -> int:
        """Status entries placed so far, committed (a reservation included)."""
        with sqlite3.connect(self.path) as db:
            return int(db.execute("SELECT SUM(next_position) FROM status_lists").fetchone()[0] or 0)

    def stored(self, batch_key: str) -> int:
        with sqlite3.connect(self.path) as db:
            return int(
                db.execute("SELECT COUNT(*) FROM credentials WHERE batch_key = ?", (batch_key,)).fetchone()[0]
            )


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with issuer_site(tmp_path) as (issuer, _server):
        state = Site(issuer, tmp_path / "issuer.db")
        yield state
        await state.verifier.close()


async def _with_ready_worker(issuer: Issuer) -> None:
    issuer.start_worker()
    for _ in range(200):
        if issuer._worker is not None and issuer._worker.ready:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the worker did not start")


def _entries(credentials: list[Any]) -> list[tuple[str, str]]:
    return [
        (s["statusListCredential"], s["statusListIndex"]) for c in credentials for s in c["credentialStatus"]
    ]


async def test_the_next_group_is_reserved_before_this_one_is_recorded(site: Site) -> None:
    """With the worker, the second group's status entries are committed before the first
    group is handed back; every credential verifies, each has indexes of its own, a bad request
    fails alone, and the outcomes keep the order of the requests."""
    issuer = site.issuer
    await _with_ready_worker(issuer)
    agents = [[Party().did for _ in range(4)] for _ in range(3)]
    groups = [[issuer.request(did, claims={"scope": ["orders:read"]}) for did in group] for group in agents]
    groups[1].insert(2, issuer.request("not-a-did"))
    groups[2].append(issuer.request(Party().did, status_messages=["ok", "pending"]))
    results = issuer.issue_groups(groups)
    first = await anext(results)
    assert site.reserved() == 2 * 4 + 2 * 4  # two entries a credential, for two groups
    rest = [outcomes async for outcomes in results]
    outcomes = [first, *rest]
    assert [len(o) for o in outcomes] == [4, 5, 5]
    assert isinstance(outcomes[1][2], DidvcError)
    issued = [o for group in outcomes for o in group if not isinstance(o, DidvcError)]
    assert all(isinstance(c, dict) for c in issued)
    subjects = [c["credentialSubject"]["id"] for c in issued]  # type: ignore[index]
    assert subjects[:12] == [did for group in agents for did in group]
    for credential in issued:
        assert await site.problems(credential) == []
    entries = _entries(issued)
    assert len(entries) == len(set(entries)) == 2 * 13 + 1


async def test_a_row_issued_meanwhile_is_given_back_not_issued_twice(site: Site) -> None:
    """A row of the reserved group that another call issues before the group is recorded: the
    group gives back that credential, and the store holds it once."""
    issuer = site.issuer
    await _with_ready_worker(issuer)
    groups = [[issuer.request(Party().did, batch_key=f"b/{n}/{m}") for m in range(3)] for n in range(2)]
    results = issuer.issue_groups(groups)
    await anext(results)  # the second group is reserved and in the worker's hands now
    meanwhile = await issuer.issue(groups[1][1].subject, batch_key="b/1/1")
    second = await anext(results)
    assert second[1] == meanwhile
    assert site.stored("b/1/1") == 1
    for credential in second:
        assert isinstance(credential, dict) and await site.problems(credential) == []


async def test_an_id_issued_before_fails_alone_in_its_group(site: Site) -> None:
    """A request naming a credential id the store holds: its group's record fails, the group is
    issued one by one, and only that request fails, with STORE_CONFLICT_ERROR."""
    issuer = site.issuer
    await _with_ready_worker(issuer)
    taken = await issuer.issue(Party().did, credential_id="urn:example:taken")
    groups = [[issuer.request(Party().did) for _ in range(3)] for _ in range(2)]
    groups[1].insert(1, issuer.request(Party().did, credential_id="urn:example:taken"))
    outcomes = [outcome async for outcome in issuer.issue_groups(groups)]
    refused = outcomes[1][1]
    assert isinstance(refused, DidvcError) and refused.code == "STORE_CONFLICT_ERROR"
    issued = [o for group in outcomes for o in group if o is not refused]
    assert len(issued) == 6
    for credential in issued:
        assert await site.problems(credential) == []
    assert await issuer.credential("urn:example:taken") == taken


async def test_stopping_early_leaves_the_reserved_entries_unused(site: Site) -> None:
    """A caller that stops after one group: the next group's reservation stays committed and
    unused (like a batch killed between its two transactions), nothing waits or fails later,
    and the next credential gets entries of its own."""
    issuer = site.issuer
    await _with_ready_worker(issuer)
    groups = [[issuer.request(Party().did) for _ in range(3)] for _ in range(3)]
    results = issuer.issue_groups(groups)
    first = await anext(results)
    await results.aclose()
    assert site.reserved() == 2 * 3 + 2 * 3
    later = await issuer.issue(Party().did)
    assert await site.problems(later) == []
    assert set(_entries([later])).isdisjoint(_entries(first))
    assert site.reserved() == 2 * 3 + 2 * 3 + 2
    with sqlite3.connect(site.path) as db:
        assert db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0] == 4


async def test_without_a_worker_each_group_is_one_transaction(site: Site) -> None:
    """No worker: each group is issued as issue_group issues it, nothing reserved ahead."""
    issuer = site.issuer
    groups = [[issuer.request(Party().did) for _ in range(2)] for _ in range(2)]
    results = issuer.issue_groups(groups)
    first = await anext(results)
    assert site.reserved() == 2 * 2
    second = await anext(results)
    for credential in [*first, *second]:
        assert await site.problems(credential) == []


async def test_a_group_larger_than_the_worker_holds_is_still_reserved_and_recorded_once(site: Site) -> None:
    """Two groups whose worker shares (85%) would not fit in the jobs the worker may hold: each
    hands it half of what it holds and secures the rest itself. Refused as busy instead, a group
    would be issued one by one, a commit per credential, and its reservation left unused."""
    issuer = site.issuer
    await _with_ready_worker(issuer)
    assert issuer._worker is not None
    issuer._worker.max_pending = 8  # a 12-credential group would hand it 10
    groups = [[issuer.request(Party().did) for _ in range(12)] for _ in range(2)]
    outcomes = [outcome async for group in issuer.issue_groups(groups) for outcome in group]
    assert all(isinstance(outcome, dict) for outcome in outcomes)
    assert site.reserved() == 2 * 24  # reserved once, no entry left unused
    assert len(set(_entries(outcomes))) == 2 * 24
    for credential in outcomes[::7]:
        assert await site.problems(credential) == []
