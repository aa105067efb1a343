"""Every shell and Python block of README.md and docs/*.md runs, in order, as a reader would type
them into one terminal (one bash process per document, in a temp dir, on loopback).

The documents show production names; the run maps them onto a stage on this machine, the same
way for every document (``_STAGE``): the issuer host ``issuer.example.com`` becomes a did:web
issuer on 127.0.0.1 (http, with the development switch on through a ``didvc.toml``), the API
``https://api.example`` the example API on another port, ``redis://cache:6379/0`` and the
PostgreSQL URLs the test services, a placeholder DID or credential id (``did:key:z6Mk...``,
``urn:uuid:...``) the stage's ``$AGENT`` and ``$CREDENTIAL``. A command that serves forever
(``didvc issuer serve``, ``python examples/api_aiohttp.py``) is started in the background and
waited for; curl fails on an HTTP error status.

What a reader is expected to have at hand (a credential file, a CSV of agents) is made by
hidden setup in the document, an HTML comment ``<!-- docs-test: shell -->`` run where it stands.
A block preceded by ``<!-- docs-test: skip, reason -->`` does not run; each says why, and few do.
Python blocks run with top-level await after the document's hidden ``<!-- docs-test-python:
... -->`` setup, in the same directory.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from didvc.keys import KeyPair
from resolvers import did_key_from_public_key
from tests.e2e.services import REDIS_URL, new_database
from tests.e2e.services import free_port as _free_port

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_PIECE = re.compile(
    r"<!-- docs-test: (?P<setup>.*?)-->|<!-- docs-test-python(?P<when>-after)?:\n(?P<python>.*?)-->|"
    r"```(?P<lang>sh|python)\n(?P<code>.*?)```",
    re.S,
)
_SKIP = "skip,"

# a bash function for what serves forever: start it in the background, wait for its port
_PRELUDE = r"""
set -euo pipefail -m  # -m: each background job is a process group, stopped whole
trap 'for job in $(jobs -p); do kill -- "-$job" 2>/dev/null || true; done' EXIT
export DIDVC_ISSUER_PASSPHRASE='operator passphrase' DIDVC_WALLET_PASSPHRASE='agent passphrase'
cat > didvc.toml <<'TOML'
[wallet]
allow-loopback = true
[verify]
allow-loopback = true
[resolve]
allow-loopback = true
TOML
declare -A SERVING
STAGE_JOBS=()
stage_wait() {  # every command a document sent to the background must have succeeded
    for job in "${STAGE_JOBS[@]}"; do wait "$job"; done
    STAGE_JOBS=()
}
stage_serve() {  # stage_serve PORT command...: stop what serves PORT, start command, wait for it
    local port=$1; shift
    local old=${SERVING[$port]:-}
    if [ -n "$old" ]; then kill -- "-$old" 2>/dev/null || true; wait "$old" 2>/dev/null || true; fi
    "$@" > "serve-$port.log" 2>&1 &
    SERVING[$port]=$!
    for _ in $(seq 100); do
        if command curl -s -o /dev/null "http://127.0.0.1:$port/"; then return 0; fi
        if ! kill -0 "${SERVING[$port]}" 2>/dev/null; then cat "serve-$port.log" >&2; return 1; fi
        sleep 0.1
    done
    echo "nothing answers on port $port" >&2; return 1
}
curl() { command curl -sSf "$@"; }
stage_issuer() {  # the stage's did:web issuer, served: for the documents that read as agent or API
    didvc issuer --store stage-issuer.db init --did-web "${ISSUER_DID#did:web:}" \
        --base-url "$ISSUER_URL" --status-ttl 1s > /dev/null
    stage_serve "$ISSUER_PORT" didvc issuer --store stage-issuer.db serve --port "$ISSUER_PORT"
}
stage_issue() {  # stage_issue DID FILE [issue options]: the stage issuer's credential for DID
    local did=$1 out=$2; shift 2
    didvc issuer --store stage-issuer.db issue "$did" --out "$out" "$@" > /dev/null
}
stage_api() {  # the example API at $API_URL, trusting the stage's issuer
    stage_serve "$API_PORT" "$PYTHON" "$ROOT/examples/api_aiohttp.py" --port "$API_PORT" \
        --audience "$API_URL" --trust "$ISSUER_DID" --allow-loopback
}
stage_credential_id() {  # $CREDENTIAL, else the id of the newest credential file here
    if [ -n "${CREDENTIAL:-}" ]; then echo "$CREDENTIAL"; return; fi
    json_field '["id"]' < "$(ls -t credential.json vc.json 2>/dev/null | head -1)"
}
json_field() { "$PYTHON" -c "import json, sys; print(json.load(sys.stdin)$1)"; }
python3() { "$PYTHON" "$@"; }
python() { "$PYTHON" "$@"; }
"""


class Stage:
    """The ports and services one document's run maps its production names onto."""

    def __init__(self, postgres: str = "") -> None:
        self.issuer_port, self.api_port, self.api_port_2 = _free_port(), _free_port(), _free_port()
        self.redis = REDIS_URL
        self.postgres = postgres
        self.agent = did_key_from_public_key(KeyPair.generate("Ed25519").public_key)  # an agent's DID

    @property
    def did_host(self) -> str:
        return f"127.0.0.1%3A{self.issuer_port}"

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.issuer_port}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        bin_dir = str(Path(sys.executable).parent)
        return {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "PYTHON": sys.executable,
            "ROOT": str(ROOT),
            "ISSUER_PORT": str(self.issuer_port),
            "API_PORT": str(self.api_port),
            "API_PORT_2": str(self.api_port_2),
            "ISSUER_DID": f"did:web:{self.did_host}",
            "AGENT": self.agent,
            "ISSUER_URL": self.issuer,
            "API_URL": self.api,
            "REDIS_URL": self.redis,
            "POSTGRES_URL": self.postgres,
        }

    def map(self, code: str) -> str:
        """``code`` with the documents' production names replaced by this stage's."""
        replacements = [
            ("--did-web issuer.example.com", f"--did-web {self.did_host} --base-url {self.issuer}"),
            ("did:web:issuer.example.com", f"did:web:{self.did_host}"),
            ("did:web:issuer.example", f"did:web:{self.did_host}"),
            ("https://issuer.example.com", self.issuer),
            ("https://issuer.example", self.issuer),
            ("https://api.example", self.api),
            ("redis://cache:6379/0", self.redis),
            ("postgresql://issuer:pw@db.internal/didvc", "$POSTGRES_URL"),
            ("postgresql://user:pw@db/issuer", "$POSTGRES_URL"),
            ("127.0.0.1:8080", f"127.0.0.1:{self.issuer_port}"),
            ("127.0.0.1%3A8080", self.did_host),
            ("127.0.0.1:8081", f"127.0.0.1:{self.api_port}"),
            ("pip install 'didvc[postgresql]'", "$PYTHON -c 'import asyncpg'  # the test extras have it"),
            ("pip install 'didvc[redis]'", "$PYTHON -c 'import redis'  # the test extras have it"),
            ("did:key:z6Mk...", self.agent),  # literal: it also stands inside quoted JSON
            ("urn:uuid:...", '"$(stage_credential_id)"'),
            ("python examples/", f"python {ROOT}/examples/"),
        ]
        for old, new in replacements:
            code = code.replace(old, new)
        lines = []
        for line in code.replace("\\\n", " ").splitlines():
            lines.append(self._background(line))
        return "\n".join(lines)

    def _background(self, line: str) -> str:
        stripped = line.split(" #", 1)[0].rstrip()
        words = stripped.split()
        if words[:2] == ["didvc", "issuer"] and "serve" in words[2:4]:
            port, extra = self.issuer_port, ""
        elif "examples/api_aiohttp.py" in stripped:
            port = self.api_port_2 if "--port 8082" in stripped else self.api_port
            extra = " --allow-loopback"
        elif stripped.endswith("&"):  # a command the reader leaves running: its end is checked
            return f"{stripped} STAGE_JOBS+=($!)"
        else:
            return line
        stripped = re.sub(r"\s*&( sleep \d+)?$", "", stripped)
        stripped = re.sub(r"--port \d+", f"--port {port}", stripped)
        if "--port" not in stripped:
            stripped += f" --port {port}"
        return f"stage_serve {port} {stripped}{extra}"


def _script(path: Path, stage: Stage) -> tuple[str, list[str]]:
    """The document as one bash script, and the reasons of the blocks it skips."""
    parts, skipped, python_setup, skip_next = [_PRELUDE], [], "", ""
    pieces = list(_PIECE.finditer(path.read_text(encoding="utf-8")))
    for number, piece in enumerate(pieces):
        if piece["setup"] is not None:
            setup = piece["setup"].strip()
            if setup.startswith(_SKIP):
                skip_next = setup.removeprefix(_SKIP).strip()
            else:
                parts.append(setup)
        elif piece["python"] is not None:
            if not piece["when"]:
                python_setup = piece["python"]
        elif skip_next:
            skipped.append(f"{piece['lang']} block {number}: {skip_next}")
            skip_next = ""
        elif piece["lang"] == "sh":
            parts.append(f"echo '--- {path.name}, shell block {number}' >&2")
            parts.append(stage.map(piece["code"]))
        else:
            following = pieces[number + 1] if number + 1 < len(pieces) else None
            after = following["python"] if following is not None and following["when"] else ""
            source = _python(f"{python_setup}\n{piece['code']}\n{after}", stage)
            parts.append(f"echo '--- {path.name}, Python block {number}' >&2")
            parts.append(f"$PYTHON - <<'PY_{number}'\n{source}\nPY_{number}")
    return "\n".join([*parts, "stage_wait"]) + "\n", skipped


def _python(code: str, stage: Stage) -> str:
    body = "\n".join("    " + line for line in code.splitlines())
    names = {
        "https://issuer.example.com": stage.issuer,
        "https://issuer.example": stage.issuer,
        "https://api.example": stage.api,
        "redis://cache:6379/0": stage.redis,
    }
    for old, new in names.items():
        body = body.replace(old, new)
    body = body.replace("Verifier(", "Verifier(allow_http=True, allow_loopback=True, ")  # the switch
    return f"import asyncio\n\n\nasync def document():\n{body}\n    pass\n\n\nasyncio.run(document())\n"


RUNNABLE = [path for path in DOCS if path.name != "cli.md"]  # cli.md: generated, checked apart


def _needs_services(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return "postgresql://" in text or "redis://" in text


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new PostgreSQL database for a document that shows one (dropped after), Redis checked."""
    if not _needs_services(request.node.callspec.params["path"]):
        yield ""
        return
    yield from new_database("didvc_docs", "the document")


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.name)
def test_every_block_of_the_document_runs(path: Path, tmp_path: Path, database: str) -> None:
    stage = Stage(database)
    script, skipped = _script(path, stage)
    (tmp_path / "script.sh").write_text(script, encoding="utf-8")
    done = subprocess.run(
        ["bash", str(tmp_path / "script.sh")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env=stage.env(),
        check=False,
    )
    assert done.returncode == 0, f"{path.name}:\n{done.stderr[-3000:]}\n{done.stdout[-1000:]}"
    assert len(skipped) <= 2, skipped


def test_the_stage_maps_every_production_name() -> None:
    stage = Stage()
    mapped = stage.map("didvc issuer init --did-web issuer.example.com\ndidvc issuer serve --port 8080")
    assert "issuer.example.com" not in mapped and "8080" not in mapped
    assert mapped.splitlines()[1].startswith(f"stage_serve {stage.issuer_port} didvc issuer serve")
    assert shlex.split(mapped.splitlines()[0])[-1] == stage.issuer
