"""docs/quickstart.md's walk on one machine, run as written (on free ports, in a temp dir): the
documentation cannot drift from the commands."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_quickstart_by_hand_runs_as_written(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    found = re.search(r"## The same story by hand.*?```sh\n(.*?)```", text, re.S)
    assert found is not None, "the walk-through's shell block is gone from docs/quickstart.md"
    issuer_port, api_port = _free_port(), _free_port()
    block = (
        found.group(1)
        .replace("8080", str(issuer_port))
        .replace("8081", str(api_port))
        .replace("python examples/", f"{sys.executable} {ROOT}/examples/")
    )
    script = f"set -euo pipefail\n{block}\nkill %1 %2\n"
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"scopes": ["orders:read"]' in done.stdout  # the agent's call went through
    assert re.search(r"revoked urn:uuid:[0-9a-f-]+$", done.stdout.strip())  # curl prints no newline
