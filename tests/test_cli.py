from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from didvc.keys import PublicKey
from didvc_cli import main
from tests.helpers import in_fresh_python


def test_keygen_prints_did_and_public_key_only() -> None:
    result = CliRunner().invoke(main, ["keygen", "--type", "P-256", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["did"] == "did:key:" + out["publicKeyMultibase"]
    assert PublicKey.from_multikey(out["publicKeyMultibase"]).key_type == "P-256"
    assert "secretKeyMultibase" not in out


def test_keygen_show_secret() -> None:
    result = CliRunner().invoke(main, ["keygen", "--show-secret", "--json"])
    assert json.loads(result.output)["secretKeyMultibase"].startswith("z3u2")


def test_resolve_did_key() -> None:
    did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    result = CliRunner().invoke(main, ["resolve", did])
    assert result.exit_code == 0
    assert json.loads(result.output)["id"] == did


def test_resolve_unknown_method_exits_non_zero_with_code() -> None:
    result = CliRunner().invoke(main, ["resolve", "did:example:123", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["error"]["code"] == "methodNotSupported"


def test_console_script_runs_as_a_subprocess() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "didvc_cli",
            "resolve",
            "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verificationMethod"][0]["type"] == "Multikey"
    bad = subprocess.run(
        [sys.executable, "-m", "didvc_cli", "resolve", "did:key:zBAD"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert "invalidDid" in bad.stderr


def test_resolve_on_this_machine_says_how_and_closes_what_it_opened() -> None:
    """A did:web on 127.0.0.1 is refused with the development switch named; with it the fetch
    is attempted (nothing listens here: could not fetch); either way no session is left open
    and no traceback printed."""
    did = "did:web:127.0.0.1%3A1"
    for extra, code in (((), "forbiddenTarget"), (("--allow-loopback",), "internalError")):
        done = subprocess.run(
            [sys.executable, "-m", "didvc_cli", "resolve", did, *extra],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        assert f"error [{code}]" in done.stderr
        assert "Unclosed" not in done.stderr and "Traceback" not in done.stderr
    assert (
        "--allow-loopback"
        in subprocess.run(
            [sys.executable, "-m", "didvc_cli", "resolve", did],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stderr
    )


def test_the_command_line_starts_without_the_components() -> None:
    """``didvc --help`` lists every group, and loads neither the issuer, the wallet, JSON-LD
    nor aiohttp (a fast start: bench/bench_cli.py); the key types it offers are the core's."""
    from didvc.keys import KeyType
    from didvc_cli.main import KEY_TYPES

    assert [str(t) for t in KeyType if t is not KeyType.X25519] == KEY_TYPES
    probe = (
        "import sys; from click.testing import CliRunner; from didvc_cli import main;"
        "out = CliRunner().invoke(main, ['--help']).output;"
        "print(all(n in out for n in ('issuer', 'wallet', 'verify', 'demo')),"
        " sorted(m for m in ('issuer', 'wallet', 'pyld', 'aiohttp', 'cryptography') if m in sys.modules))"
    )
    assert in_fresh_python(probe) == "True []"


def test_the_command_line_reference_is_current() -> None:
    """docs/cli.md is what the commands say of themselves: regenerate it with
    ``python -m didvc_cli.reference > docs/cli.md`` when a command changes."""
    from pathlib import Path

    from didvc_cli.reference import reference

    written = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    current = reference()
    assert "### `didvc issuer batch`" in current and "#### `didvc wallet did create`" in current
    assert written == current, "docs/cli.md is stale: python -m didvc_cli.reference > docs/cli.md"


def test_development_switches_are_refused_when_the_environment_says_production(monkeypatch: Any) -> None:
    """With DIDVC_PRODUCTION set, loopback or plain http for did:web and status lists, trusting
    any issuer and accepting tokens signed before a server started are refused: in the library
    and on the command line (POLICY_ERROR)."""
    import pytest

    from didvc.errors import PolicyError
    from resolvers import FetchPolicy
    from verifier import MemoryReplayCache, Policy

    assert Policy(trust_any_issuer=True).trust_any_issuer and FetchPolicy(allow_loopback=True).allow_loopback
    MemoryReplayCache(refuse_earlier_tokens=False)
    monkeypatch.setenv("DIDVC_PRODUCTION", "1")
    for make in (
        lambda: Policy(trust_any_issuer=True),
        lambda: FetchPolicy(allow_loopback=True),
        lambda: FetchPolicy(allow_http=True),
        lambda: MemoryReplayCache(refuse_earlier_tokens=False),
    ):
        with pytest.raises(PolicyError, match="DIDVC_PRODUCTION"):
            make()
    assert FetchPolicy().allow_http is False  # the safe defaults are untouched
    result = CliRunner().invoke(main, ["resolve", "did:web:127.0.0.1%3A1", "--allow-loopback", "--json"])
    last = result.output.strip().splitlines()[-1]  # after the switch's warning, on stderr
    assert result.exit_code == 1 and json.loads(last)["error"]["code"] == "POLICY_ERROR"


def test_context_prints_the_agent_context_and_its_digest(tmp_path: Any) -> None:
    import base64
    import hashlib
    from importlib import resources

    bundled = resources.files("didvc").joinpath("contexts/didvc-agent-v1.jsonld").read_bytes()
    about = json.loads(CliRunner().invoke(main, ["context", "--json"]).output)
    assert about == {
        "url": "https://w3id.org/didvc/agent/v1",
        "digestSRI": "sha384-" + base64.b64encode(hashlib.sha384(bundled).digest()).decode(),
        "bytes": len(bundled),
    }
    written = tmp_path / "agent-v1.jsonld"
    assert CliRunner().invoke(main, ["context", "--out", str(written)]).exit_code == 0
    assert written.read_bytes() == bundled
    printed = CliRunner().invoke(main, ["context"]).stdout
    assert json.loads(printed)["@context"]["AgentCredential"]


def _loaded_after(args: list[str]) -> list[str]:
    probe = (
        "import sys; from click.testing import CliRunner; from didvc_cli import main;"
        f"result = CliRunner().invoke(main, {args!r}); assert result.exit_code == 0, result.output;"
        "print(' '.join(sorted(m for m in ('issuer', 'wallet', 'pyld', 'aiohttp') if m in sys.modules)))"
    )
    return in_fresh_python(probe).split()


def test_group_help_and_core_commands_load_neither_json_ld_nor_aiohttp() -> None:
    """The components load when one of their commands runs (bench/bench_cli.py times it)."""
    assert _loaded_after(["issuer", "--help"]) == []
    assert _loaded_after(["wallet", "--help"]) == []
    assert _loaded_after(["keygen", "--json"]) == []


def test_shell_completion_offers_commands_and_options(tmp_path: Any) -> None:
    """The completion docs/cli.md documents: click's, through the lazily loaded groups."""

    def complete(words: str, index: int) -> list[str]:
        env = {
            **os.environ,
            "COMP_WORDS": words,
            "COMP_CWORD": str(index),
            "_DIDVC_COMPLETE": "bash_complete",
        }
        script = str(Path(sys.executable).parent / "didvc")  # the installed command, as a shell runs it
        done = subprocess.run([script], env=env, capture_output=True, text=True, timeout=60)
        return [line.split(",", 1)[1] for line in done.stdout.splitlines()]

    assert complete("didvc iss", 1) == ["issuer"]
    assert {"revoke", "revoke-all", "reinstate"} <= set(complete("didvc issuer re", 2))
    assert {"--method", "--url", "--did"} <= set(complete("didvc wallet present --", 3))
    assert set(complete("didvc keygen --type ", 3)) >= {"Ed25519", "P-256"}


def test_verify_general_takes_a_presentation_someone_handed_over(tmp_path: Any) -> None:
    """``verify --general``: the VC-API's question on the command line (no request binding)."""
    import asyncio

    from didvc.credentials import make_presentation
    from didvc.proofs import Authentication, add_proof
    from tests.helpers import Party, agent_credential, signed

    issuer, holder = Party(), Party()

    async def make() -> Any:
        vc = await signed(
            agent_credential(issuer, holder.did, ["orders:read"], validUntil="2099-01-01T00:00:00Z"), issuer
        )
        return await add_proof(
            make_presentation(holder.did, [vc]), holder.signer, purpose=Authentication(challenge="c-9")
        )

    (tmp_path / "vp.json").write_text(json.dumps(asyncio.run(make())))
    runner = CliRunner()
    base = ["verify", str(tmp_path / "vp.json"), "--general", "--trust", issuer.did, "--json"]
    ok = runner.invoke(main, [*base, "--challenge", "c-9"])
    assert ok.exit_code == 0 and json.loads(ok.output)["holder"] == holder.did, ok.output
    wrong = runner.invoke(main, [*base, "--challenge", "c-10"])
    assert wrong.exit_code == 1 and "INVALID_CHALLENGE_ERROR" in wrong.output
