"""Batch issuance: bad rows reported by line, re-runs resume, a killed batch completes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

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


def test_killed_batch_completes_on_rerun_without_duplicates(tmp_path: Path) -> None:
    _init(tmp_path)
    source = tmp_path / "many.jsonl"
    source.write_text(
        "\n".join(json.dumps({"agent": f"did:example:agent-{i}", "scope": "a"}) for i in range(1500)) + "\n"
    )
    env = {**os.environ}
    args = [
        sys.executable,
        "-m",
        "didvc_cli",
        "issuer",
        "--store",
        str(tmp_path / "i.db"),
        "--passphrase-file",
        str(tmp_path / "pass"),
        "batch",
        str(source),
    ]
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until it is well into the batch
        time.sleep(0.3)
        try:
            with sqlite3.connect(tmp_path / "i.db", timeout=5) as db:
                if db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0] > 100:
                    break
        except sqlite3.OperationalError:
            continue
    process.send_signal(signal.SIGKILL)
    process.wait()
    with sqlite3.connect(tmp_path / "i.db") as db:
        partial = db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0]
    assert 0 < partial < 1500
    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert rerun.returncode == 0, rerun.stderr
    with sqlite3.connect(tmp_path / "i.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM credentials").fetchone()[0] == 1500
        assert db.execute("SELECT COUNT(DISTINCT subject) FROM credentials").fetchone()[0] == 1500
        assert (
            db.execute("SELECT COUNT(DISTINCT list_id || ':' || idx) FROM status_entries").fetchone()[0]
            == 3000
        )
