"""Batch issuance: bad rows reported by line, re-runs resume, a killed batch completes."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from issuer import read_rows
from tests.helpers import Party, run_cli


def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    return run_cli("issuer", ("--store", tmp_path / "i.db"), tmp_path / "pass", *args)


def _init(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("pw\n")
    assert _cli(tmp_path, "init", "--base-url", "https://status.example")[0] == 0


def test_csv_with_bad_rows_and_resume(tmp_path: Path) -> None:
    _init(tmp_path)
    agents = [Party().did for _ in range(5)]
    rows = ["agent,scope,owner,name,valid_for"]
    rows += [f"{a},orders:read;orders:write,Acme,bot-{i},2h" for i, a in enumerate(agents[:3])]
    rows += [
        "not-a-did,x,Acme,bad,1h",
        ",x,Acme,missing,1h",
        f"{agents[3]},x,Acme,ok,forever",
        f"{agents[4]},x,Acme,ok,1h,extra",
    ]
    source = tmp_path / "agents.csv"
    source.write_text("\n".join(rows) + "\n")
    code, out = _cli(tmp_path, "batch", str(source), "--out", str(tmp_path / "out.jsonl"))
    assert code == 1
    report = json.loads(out)
    assert report["issued"] == 3
    assert sorted(f["line"] for f in report["failed"]) == [5, 6, 7, 8]
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 3
    code, out = _cli(tmp_path, "batch", str(source))
    assert json.loads(out)["issued"] == 0 and json.loads(out)["skipped"] == 3


def test_unreadable_batch_file(tmp_path: Path) -> None:
    _init(tmp_path)
    (tmp_path / "latin1.csv").write_bytes("agent,owner\ndid:example:1,Caf\xe9\n".encode("latin-1"))
    code, out = _cli(tmp_path, "batch", str(tmp_path / "latin1.csv"))
    assert code == 1 and json.loads(out)["error"]["code"] == "PARSING_ERROR"


def test_jsonl_to_a_directory(tmp_path: Path) -> None:
    _init(tmp_path)
    source = tmp_path / "agents.jsonl"
    source.write_text(
        "\n".join(
            json.dumps({"agent": Party().did, "scope": ["a", "b"], "audience": "https://api.example"})
            for _ in range(4)
        )
        + "\n{broken\n"
    )
    code, out = _cli(tmp_path, "batch", str(source), "--out-dir", str(tmp_path / "vcs"), "--suite", "vc+jwt")
    assert code == 1  # one row failed
    assert json.loads(out)["issued"] == 4
    assert [f["line"] for f in json.loads(out)["failed"]] == [5]
    assert len(list((tmp_path / "vcs").iterdir())) == 4


HOSTILE_ROWS = {
    "nested 100,000 deep": ("[" * 100_000 + "]" * 100_000, "the row is nested too deeply"),
    "NaN": ('{"agent": "did:example:1", "scope": NaN}', "the row is not valid JSON"),
    "a member twice": ('{"agent": "did:example:1", "agent": "did:example:2"}', "duplicate member"),
    "lists in the scope": ('{"agent": "did:example:1", "scope": [["a"]]}', "scope is a list of strings"),
    "a number in the scope": ('{"agent": "did:example:1", "scope": ["a", 5]}', "scope is a list of strings"),
    "an object as scope": ('{"agent": "did:example:1", "scope": {"a": 1}}', "scope is a list of strings"),
    "an audience number": ('{"agent": "did:example:1", "audience": 5}', "audience is a list of strings"),
    "no agent": ('{"scope": "a"}', "the row has no agent DID"),
    "not an object": ("[1, 2]", "the row is not an object"),
}


@pytest.mark.parametrize(("line", "error"), HOSTILE_ROWS.values(), ids=HOSTILE_ROWS.keys())
def test_a_hostile_row_is_an_error_of_its_line(tmp_path: Path, line: str, error: str) -> None:
    source = tmp_path / "rows.jsonl"
    source.write_text(f'{{"agent": "did:example:ok", "scope": ["a", "b"]}}\n{line}\n')
    good, bad = read_rows(source)
    assert good.error is None and good.claims == {"scope": ["a", "b"]}
    assert bad.line == 2 and bad.agent is None and bad.error is not None and error in bad.error


def test_a_line_separator_inside_a_value_does_not_split_the_row(tmp_path: Path) -> None:
    """JSON Lines end at \\n only: U+2028 or NEL inside a string (valid JSON) stays in its row."""
    source = tmp_path / "rows.jsonl"
    rows = [
        {"agent": "did:example:1", "owner": "Acme\u2028Ltd"},
        {"agent": "did:example:2", "name": "a\x85b"},
    ]
    source.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    read = list(read_rows(source))
    assert [(row.line, row.error) for row in read] == [(1, None), (2, None)]
    assert read[0].claims["owner"] == "Acme\u2028Ltd" and read[1].claims["agentName"] == "a\x85b"


def test_hostile_rows_leave_the_batch_command_answering(tmp_path: Path) -> None:
    _init(tmp_path)
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(line + "\n" for line, _ in HOSTILE_ROWS.values()))
    code, out = _cli(tmp_path, "batch", str(source))
    assert code == 1
    assert [f["line"] for f in json.loads(out)["failed"]] == list(range(1, len(HOSTILE_ROWS) + 1))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_ROW = st.fixed_dictionaries(
    {},
    optional={
        "agent": st.one_of(st.just("did:example:a"), _JSON),
        "scope": _JSON,
        "audience": _JSON,
        "owner": _JSON,
        "valid_for": _JSON,
    },
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.one_of(_ROW.map(json.dumps), st.text(max_size=40)), max_size=6))
def test_any_jsonl_line_is_a_row_or_an_error_of_its_line(tmp_path_factory: Any, rows: list[str]) -> None:
    """Whatever a line holds, read_rows gives one row for it (blank lines aside): an error, or an
    agent with claims whose scopes and audiences are lists of strings."""
    lines = [row.replace("\n", " ").replace("\r", " ") for row in rows]
    source = tmp_path_factory.mktemp("rows") / "rows.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read = list(read_rows(source))
    assert [row.line for row in read] == [n for n, line in enumerate(lines, start=1) if line.strip()]
    for row in read:
        if row.error is None:
            assert isinstance(row.agent, str) and row.agent
            for name in ("scope", "audience"):
                values = row.claims.get(name, [])
                assert isinstance(values, list) and all(isinstance(v, str) and v for v in values)


def _batch_process(tmp_path: Path, source: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "didvc_cli",
        "issuer",
        "--store",
        str(tmp_path / "i.db"),
        "--passphrase-file",
        str(tmp_path / "pass"),
        "--json",
        "batch",
        str(source),
        *extra,
    ]


def _stored(tmp_path: Path) -> int:
    try:
        with sqlite3.connect(tmp_path / "i.db", timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.parametrize(
    ("kill_after", "rerun_as"),
    [(60, "renamed"), (300, "edited"), (0, "same")],
    ids=["early-renamed-copy", "late-line-inserted-on-top", "after-the-first-group"],
)
def test_a_killed_batch_completes_on_rerun_with_every_credential_once(
    tmp_path: Path, kill_after: int, rerun_as: str
) -> None:
    _init(tmp_path)
    total = 800  # enough that a batch on two cores is still running when the test kills it
    lines = [json.dumps({"agent": f"did:example:agent-{i}", "scope": "a"}) for i in range(total)]
    source = tmp_path / "many.jsonl"
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    out.write_text("a line from an earlier run of something else\n")
    process = subprocess.Popen(
        _batch_process(tmp_path, source, "--out", str(out)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline and _stored(tmp_path) <= kill_after and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = _stored(tmp_path)
    assert partial < total, "the batch finished before it could be killed"
    if rerun_as == "renamed":
        source = source.rename(tmp_path / "copy-of-many.jsonl")
    elif rerun_as == "edited":
        extra = json.dumps({"agent": "did:example:newcomer", "scope": "a"})
        source.write_text(extra + "\n" + "\n".join(lines) + "\n")
    rerun = subprocess.run(
        _batch_process(tmp_path, source, "--out", str(out)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    expected = total + 1 if rerun_as == "edited" else total
    report = json.loads(rerun.stdout)
    assert report["issued"] == expected - partial and report["skipped"] == partial
    with sqlite3.connect(tmp_path / "i.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0] == expected
        assert db.execute("SELECT COUNT(DISTINCT subject) FROM credentials").fetchone()[0] == expected
        stored_ids = {r[0] for r in db.execute("SELECT id FROM credentials")}
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(written) == expected
    assert {c["id"] for c in written} == stored_ids  # every stored credential, each once
    assert sorted(p.name for p in tmp_path.iterdir() if ".tmp-" in p.name) == []


def test_export_writes_stored_credentials_again(tmp_path: Path) -> None:
    _init(tmp_path)
    agent = Party().did
    source = tmp_path / "rows.jsonl"
    source.write_text(
        json.dumps({"agent": agent, "scope": "a"}) + "\n" + json.dumps({"agent": Party().did}) + "\n"
    )
    assert (
        _cli(tmp_path, "batch", str(source), "--batch", "march", "--out", str(tmp_path / "march.jsonl"))[0]
        == 0
    )
    code, out = _cli(tmp_path, "export", "--batch", "march", "--out", str(tmp_path / "again.jsonl"))
    assert code == 0 and json.loads(out) == {"exported": 2}
    assert (tmp_path / "again.jsonl").read_text() == (tmp_path / "march.jsonl").read_text()
    code, out = _cli(tmp_path, "export", "--agent", agent)
    (only,) = [json.loads(line) for line in out.splitlines()]
    assert only["credentialSubject"]["id"] == agent
    code, out = _cli(tmp_path, "export", "--id", only["id"])
    assert json.loads(out) == only
    # a renewal: the same rows under a new name are issued again
    code, out = _cli(tmp_path, "batch", str(source), "--batch", "april")
    assert json.loads(out)["issued"] == 2
    assert _cli(tmp_path, "export", "--agent", agent, "--batch", "march")[0] != 0  # one selector only
