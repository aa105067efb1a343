"""didvc wallet through click's runner and as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from didvc_cli import main
from tests.helpers import Party, agent_credential, lasting_agent_credential, run_cli, signed, trusting
from verifier import Verifier


def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    return run_cli("wallet", ("--wallet", tmp_path / "agent.wallet"), tmp_path / "pass", *args)


def test_wallet_journey(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("a long passphrase\n")
    (tmp_path / "bpass").write_text("backup passphrase\n")
    code, out = _cli(tmp_path, "init")
    assert code == 0, out
    did = json.loads(out)["did"]
    assert _cli(tmp_path, "init")[0] == 1  # never overwrites

    issuer = Party()
    vc = asyncio.run(lasting_agent_credential(issuer, did))
    (tmp_path / "vc.json").write_text(json.dumps(vc))
    code, out = _cli(tmp_path, "import", str(tmp_path / "vc.json"))
    assert code == 0, out
    code, out = _cli(tmp_path, "list")
    assert json.loads(out)[0]["scopes"] == ["orders:read"]

    code, out = _cli(tmp_path, "present", "--method", "GET", "--url", "https://api.example/orders")
    assert code == 0, out
    header = json.loads(out)
    assert header["header"] == "Authorization" and header["value"].startswith("VP ")
    result = asyncio.run(
        Verifier(policy=trusting(issuer)).verify_presentation(
            header["value"][3:],
            audience="https://api.example",
            method="GET",
            url="https://api.example/orders",
        )
    )
    assert result.verified, result.problems

    code, out = _cli(
        tmp_path, "export", str(tmp_path / "backup.json"), "--backup-passphrase-file", str(tmp_path / "bpass")
    )
    assert code == 0, out
    restored = CliRunner().invoke(
        main,
        [
            "wallet",
            "--wallet",
            str(tmp_path / "restored.wallet"),
            "--passphrase-file",
            str(tmp_path / "pass"),
            "--json",
            "import-backup",
            str(tmp_path / "backup.json"),
            "--backup-passphrase-file",
            str(tmp_path / "bpass"),
        ],
    )
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.output)["dids"] == 1


def test_wrong_passphrase_and_someone_elses_credential(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("right\n")
    assert _cli(tmp_path, "init")[0] == 0
    issuer = Party()
    foreign = asyncio.run(signed(agent_credential(issuer, Party().did, ["x"]), issuer))
    (tmp_path / "vc.json").write_text(json.dumps(foreign))
    code, out = _cli(tmp_path, "import", str(tmp_path / "vc.json"))
    assert code == 1
    assert json.loads(out)["error"]["code"] == "WALLET_ERROR"
    (tmp_path / "broken.json").write_text('{"a": ')
    code, out = _cli(tmp_path, "import", str(tmp_path / "broken.json"))
    assert code == 1 and json.loads(out)["error"]["code"] == "PARSING_ERROR"
    (tmp_path / "pass").write_text("wrong\n")
    code, out = _cli(tmp_path, "did", "list")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "WRONG_PASSPHRASE_ERROR"


def test_present_as_a_subprocess_with_env_passphrase(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DIDVC_WALLET": str(tmp_path / "w"),
        "DIDVC_WALLET_PASSPHRASE": "from the environment",
    }
    init = subprocess.run(
        [sys.executable, "-m", "didvc_cli", "wallet", "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "didvc_cli",
            "wallet",
            "present",
            "--method",
            "POST",
            "--url",
            "https://api.example/x",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Authorization: VP ey")
    assert "from the environment" not in done.stdout + done.stderr


def test_group_options_work_after_the_subcommand_too(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("a long passphrase\n")
    assert _cli(tmp_path, "init")[0] == 0
    wallet, passphrase = str(tmp_path / "agent.wallet"), str(tmp_path / "pass")
    before = CliRunner().invoke(
        main, ["wallet", "--wallet", wallet, "--passphrase-file", passphrase, "--json", "list"]
    )
    after = CliRunner().invoke(
        main, ["wallet", "list", "--json", "--wallet", wallet, "--passphrase-file", passphrase]
    )
    nested = CliRunner().invoke(
        main, ["wallet", "did", "list", "--json", "--wallet", wallet, "--passphrase-file", passphrase]
    )
    assert before.exit_code == after.exit_code == nested.exit_code == 0, (after.output, nested.output)
    assert json.loads(after.output) == json.loads(before.output) == []
    assert len(json.loads(nested.output)) == 1


def test_verify_takes_what_present_prints(tmp_path: Path) -> None:
    """The header line ``wallet present`` prints, its value, or the bare token: ``didvc verify``
    reads each (and refuses a tampered one)."""
    (tmp_path / "pass").write_text("a long passphrase\n")
    did = json.loads(_cli(tmp_path, "init")[1])["did"]
    issuer = Party()
    (tmp_path / "vc.json").write_text(json.dumps(asyncio.run(lasting_agent_credential(issuer, did))))
    assert _cli(tmp_path, "import", str(tmp_path / "vc.json"))[0] == 0
    request = ["--audience", "https://api.example", "--method", "GET", "--url", "https://api.example/orders"]
    for form in ("line", "value", "token", "tampered"):
        shown = CliRunner().invoke(
            main,
            [
                "wallet",
                "--wallet",
                str(tmp_path / "agent.wallet"),
                "--passphrase-file",
                str(tmp_path / "pass"),
                "present",
                "--method",
                "GET",
                "--url",
                "https://api.example/orders",
            ],
        )
        line = shown.output.strip()
        assert shown.exit_code == 0 and line.startswith("Authorization: VP "), shown.output
        given = {"line": line, "value": line.split(": ", 1)[1], "token": line.split(" ", 2)[2]}.get(
            form, line[:-2] + ("AA" if not line.endswith("AA") else "BB")
        )
        result = CliRunner().invoke(
            main, ["verify", "-", *request, "--trust", issuer.did, "--json"], input=given
        )
        assert (result.exit_code == 0) is (form != "tampered"), (form, result.output)


def test_an_empty_backup_passphrase_is_refused_with_its_code(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("a long passphrase\n")
    (tmp_path / "empty").write_text("")
    assert _cli(tmp_path, "init")[0] == 0
    code, out = _cli(
        tmp_path, "export", str(tmp_path / "b.json"), "--backup-passphrase-file", str(tmp_path / "empty")
    )
    assert code == 1 and json.loads(out)["error"]["code"] == "WRONG_PASSPHRASE_ERROR"
    assert not (tmp_path / "b.json").exists()


def test_present_speaks_as_the_did_that_holds_what_fits(tmp_path: Path) -> None:
    """The only credential belongs to the wallet's second DID: present speaks as that DID (not
    the default, which would present nothing); --did names one; credentials that do not fit the
    request are an error with the reason, not an empty presentation."""
    (tmp_path / "pass").write_text("a long passphrase\n")
    first = json.loads(_cli(tmp_path, "init")[1])["did"]
    second = json.loads(_cli(tmp_path, "did", "create")[1])["did"]
    issuer = Party()
    (tmp_path / "vc.json").write_text(json.dumps(asyncio.run(lasting_agent_credential(issuer, second))))
    assert _cli(tmp_path, "import", str(tmp_path / "vc.json"))[0] == 0
    url = "https://api.example/orders"

    def verified(out: str) -> Any:
        value = json.loads(out)["value"]
        return asyncio.run(
            Verifier(policy=trusting(issuer)).verify_presentation(
                value[3:], audience="https://api.example", method="GET", url=url
            )
        )

    code, out = _cli(tmp_path, "present", "--method", "GET", "--url", url)
    result = verified(out)
    assert code == 0 and result.verified and result.holder == second and result.scopes == ["orders:read"]
    code, out = _cli(tmp_path, "present", "--method", "GET", "--url", url, "--did", second)
    assert code == 0 and verified(out).holder == second
    code, out = _cli(tmp_path, "present", "--method", "GET", "--url", url, "--scope", "orders:write")
    assert code == 1 and "no credential of this wallet fits" in json.loads(out)["error"]["message"]
    code, out = _cli(tmp_path, "present", "--method", "GET", "--url", url, "--did", first)
    refused = verified(out)  # it holds nothing at all: authentication only, which this API refuses
    assert code == 0 and [p.code for p in refused.problems] == ["CREDENTIAL_REQUIRED_ERROR"]
    assert first != second


def test_remove_a_credential(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("a long passphrase\n")
    did = json.loads(_cli(tmp_path, "init")[1])["did"]
    (tmp_path / "vc.json").write_text(json.dumps(asyncio.run(lasting_agent_credential(Party(), did))))
    stored = json.loads(_cli(tmp_path, "import", str(tmp_path / "vc.json"))[1])["id"]
    assert _cli(tmp_path, "remove", stored) == (0, json.dumps({"removed": stored}) + "\n")
    assert json.loads(_cli(tmp_path, "list")[1]) == []
    code, out = _cli(tmp_path, "remove", stored)
    assert code == 1 and json.loads(out)["error"]["code"] == "NOT_FOUND_ERROR"


def test_passwd_seals_every_key_again_and_only_the_new_passphrase_opens(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("the old passphrase\n")
    (tmp_path / "new").write_text("the new passphrase\n")
    (tmp_path / "empty").write_text("\n")
    first = json.loads(_cli(tmp_path, "init")[1])["did"]
    second = json.loads(_cli(tmp_path, "did", "create")[1])["did"]
    code, out = _cli(tmp_path, "passwd", "--new-passphrase-file", str(tmp_path / "empty"))
    assert code == 1 and json.loads(out)["error"]["code"] == "WRONG_PASSPHRASE_ERROR"  # and nothing changed:
    assert _cli(tmp_path, "did", "list")[0] == 0
    assert _cli(tmp_path, "passwd", "--new-passphrase-file", str(tmp_path / "new")) == (
        0,
        json.dumps({"changed": True}) + "\n",
    )
    code, out = _cli(tmp_path, "did", "list")
    assert code == 1 and json.loads(out)["error"]["code"] == "WRONG_PASSPHRASE_ERROR"
    (tmp_path / "pass").write_text("the new passphrase\n")
    for did in (first, second):  # both keys open and sign under the new passphrase
        code, out = _cli(
            tmp_path, "present", "--method", "GET", "--url", "https://api.example/orders", "--did", did
        )
        assert code == 0, out
