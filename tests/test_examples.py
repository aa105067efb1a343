"""The examples refuse what they cannot do with a message, never a traceback (the journeys that
run them for real are in tests/e2e)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WITHOUT = {k: v for k, v in os.environ.items() if not k.endswith("_PASSPHRASE")}


@pytest.mark.parametrize(
    ("script", "args", "env", "code", "says"),
    [
        ("agent_client.py", ["GET", "http://127.0.0.1:9/orders"], {}, 2, "set DIDVC_WALLET_PASSPHRASE"),
        ("operator_script.py", ["--agent", "did:key:z6Mk"], {}, 2, "set DIDVC_ISSUER_PASSPHRASE"),
        ("agent_requests.py", ["GET", "http://127.0.0.1:9/orders"], {}, 2, "set DIDVC_WALLET_PASSPHRASE"),
        (
            "agent_requests.py",
            ["GET", "http://127.0.0.1:9/orders"],
            {"DIDVC_WALLET_PASSPHRASE": "pw"},
            1,
            "error [WALLET_ERROR]: no wallet at agent.wallet",
        ),
        (
            "agent_client.py",
            ["GET", "http://127.0.0.1:9/orders"],
            {"DIDVC_WALLET_PASSPHRASE": "pw"},
            1,
            "error [WALLET_ERROR]: no wallet at agent.wallet",
        ),
    ],
)
def test_an_example_without_what_it_needs_says_so(
    tmp_path: Path, script: str, args: list[str], env: dict[str, str], code: int, says: str
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        cwd=tmp_path,
        env={**WITHOUT, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == code and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
