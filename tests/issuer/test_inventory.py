"""The inventory pages in the store: filters on indexes, a cursor, counts by state (#13)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didvc.errors import MalformedValueError
from issuer import Issuer
from issuer._inventory import _position
from tests.helpers import Party, run_cli
from wallet import KdfParams

FAST = KdfParams.new(memory_kib=8192, iterations=1, lanes=1)


async def _stocked(path: Path) -> tuple[Issuer, list[str], dict[str, str]]:
    """25 credentials of 5 agents: 3 revoked, 2 suspended, 4 expiring within 2 h."""
    issuer = await Issuer.create(path, passphrase="pw", kdf=FAST, base_url="https://s.example")
    agents = [Party().did for _ in range(5)]
    ids, states = [], {}
    for n in range(25):
        short = n % 6 == 0
        vc = await issuer.issue(
            agents[n % 5], valid_for=timedelta(hours=1) if short else None, credential_id=f"urn:uuid:c-{n:02}"
        )
        ids.append(vc["id"])  # type: ignore[index]
        states[vc["id"]] = "active"  # type: ignore[index]
    for n in (1, 7, 13):
        await issuer.revoke(ids[n])
        states[ids[n]] = "revoked"
    for n in (2, 8):
        await issuer.suspend(ids[n])
        states[ids[n]] = "suspended"
    return issuer, agents, states


async def test_pages_cover_everything_once_in_issue_order(tmp_path: Path) -> None:
    issuer, _, _ = await _stocked(tmp_path / "i.db")
    everything = [e.id for e in await issuer.inventory()]
    assert len(everything) == 25
    pages, after = [], None
    while True:
        page = await issuer.inventory(limit=10, after=after)
        if not page:
            break
        pages.append([e.id for e in page])
        after = page[-1].cursor
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [i for page in pages for i in page] == everything
    await issuer.close()


async def test_filters_and_counts_agree_with_the_states(tmp_path: Path) -> None:
    issuer, agents, states = await _stocked(tmp_path / "i.db")
    later = datetime.now(UTC) + timedelta(hours=3)  # the 1-hour credentials have expired then
    issuer.clock = lambda: later
    expected = {i: ("expired" if s == "active" and int(i[-2:]) % 6 == 0 else s) for i, s in states.items()}
    for state in ("active", "suspended", "revoked", "expired"):
        found = {e.id for e in await issuer.inventory(status=state)}
        assert found == {i for i, s in expected.items() if s == state}, state
        assert all(e.status == state for e in await issuer.inventory(status=state))
    counts = await issuer.inventory_counts()
    assert counts == {s: sum(1 for v in expected.values() if v == s) for s in counts}
    assert sum(counts.values()) == 25
    mine = await issuer.inventory(agent=agents[0], status="active", limit=2)
    assert len(mine) == 2 and {e.subject for e in mine} == {agents[0]}
    issuer.clock = lambda: datetime.now(UTC)
    soon = {e.id for e in await issuer.inventory(expiring_within=timedelta(hours=2))}
    assert soon == {i for i, s in states.items() if s == "active" and int(i[-2:]) % 6 == 0}
    await issuer.close()


async def test_bad_pages_are_refused(tmp_path: Path) -> None:
    issuer, _, _ = await _stocked(tmp_path / "i.db")
    for cursor in ("", "not a cursor", "WzFd", "eyJhIjogMX0"):
        with pytest.raises(MalformedValueError):
            await issuer.inventory(limit=5, after=cursor)
    with pytest.raises(MalformedValueError):
        await issuer.inventory(limit=0)
    await issuer.close()


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=80)
    | st.binary(max_size=60).map(lambda b: __import__("base64").urlsafe_b64encode(b).decode())
)
def test_the_cursor_parser_takes_any_text(text: str) -> None:
    try:
        issued, credential_id = _position(text)
    except MalformedValueError:
        return
    assert isinstance(issued, str) and isinstance(credential_id, str)


async def test_a_store_from_before_gets_the_indexes(tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    await (await Issuer.create(path, passphrase="pw", kdf=FAST, base_url="https://s.example")).close()
    with sqlite3.connect(path) as db:
        db.execute("DROP INDEX credentials_in_order")
    await (await Issuer.open(path, passphrase="pw")).close()
    with sqlite3.connect(path) as db:
        plan = " ".join(
            r[3]
            for r in db.execute("EXPLAIN QUERY PLAN SELECT id FROM credentials ORDER BY issued, id LIMIT 5")
        )
    assert "credentials_in_order" in plan


def test_the_cli_pages_and_counts(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("pw\n")

    def cli(*args: str) -> tuple[int, str]:
        return run_cli("issuer", ("--store", tmp_path / "i.db"), tmp_path / "pass", *args)

    assert cli("init", "--base-url", "https://status.example")[0] == 0
    for _ in range(5):
        assert cli("issue", Party().did)[0] == 0
    first = json.loads(cli("list", "--limit", "3")[1])
    second = json.loads(cli("list", "--limit", "3", "--after", first[-1]["cursor"])[1])
    assert len(first) == 3 and len(second) == 2
    assert {e["id"] for e in first}.isdisjoint({e["id"] for e in second})
    assert json.loads(cli("list", "--counts")[1]) == {"active": 5, "suspended": 0, "revoked": 0, "expired": 0}
    code, out = cli("list", "--after", "garbage")
    assert code == 1 and json.loads(out)["error"]["code"] == "MALFORMED_VALUE_ERROR"
