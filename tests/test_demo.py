from __future__ import annotations

import json
import subprocess
import sys


def test_demo_runs_and_every_step_holds() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "didvc_cli", "demo", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    titles = " | ".join(step["step"] for step in report["steps"])
    assert all(step["ok"] for step in report["steps"]), report
    for expectation in ["suspend", "reinstate", "revoke", "twice", "outside the agent's scopes", "did:web"]:
        assert expectation in titles
