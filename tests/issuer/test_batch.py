"""Batch issuance: bad rows reported by line, re-runs resume, a killed batch completes."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
