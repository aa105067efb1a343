"""didvc issuer through click's runner and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from didvc.status import StatusList
from tests.helpers import Party, run_cli


def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    return run_cli("issuer", ("--store", tmp_path / "issuer.db"), tmp_path / "pass", *args)


def test_operator_journey(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("operator passphrase\n")
    code, out = _cli(
        tmp_path,
        "init",
        "--did-web",
        "issuer.example.com:agents",
        "--validity",
        "2h",
        "--did-json",
        str(tmp_path / "did.json"),
    )
    assert code == 0, out
    did = json.loads(out)["did"]
    assert did == "did:web:issuer.example.com:agents"
    assert json.loads((tmp_path / "did.json").read_text())["id"] == did
    assert "operator passphrase" not in out

    agent = Party().did
    code, out = _cli(
        tmp_path,
        "issue",
        agent,
        "--scope",
        "orders:read",
        "--scope",
        "orders:write",
        "--owner",
        "Acme",
        "--name",
        "bot",
    )
    assert code == 0, out
    vc = json.loads(out)["credential"]
    assert vc["credentialSubject"]["scope"] == ["orders:read", "orders:write"]

    code, out = _cli(tmp_path, "list", "--agent", agent)
    assert [e["status"] for e in json.loads(out)] == ["active"]
    assert _cli(tmp_path, "suspend", vc["id"])[0] == 0
    assert _cli(tmp_path, "reinstate", vc["id"])[0] == 0
    assert _cli(tmp_path, "revoke", vc["id"])[0] == 0
    code, out = _cli(tmp_path, "revoke", vc["id"])
    assert code == 1 and json.loads(out)["error"]["code"] == "STATUS_CHANGE_ERROR"
    code, out = _cli(tmp_path, "reinstate", "urn:uuid:nope")
    assert code == 1 and json.loads(out)["error"]["code"] == "UNKNOWN_CREDENTIAL_ERROR"

    code, out = _cli(tmp_path, "publish", str(tmp_path / "site"))
    assert code == 0, out
    revocation = vc["credentialStatus"][0]
    published = tmp_path / "site" / "agents" / "status" / revocation["statusListCredential"].rsplit("/", 1)[1]
    bits = StatusList.decode(json.loads(published.read_text())["credentialSubject"]["encodedList"])
    assert bits.get(int(revocation["statusListIndex"])) == 1
    assert (tmp_path / "site" / "agents" / "did.json").exists()

    code, out = _cli(tmp_path, "rotate-key")
    assert json.loads(out)["activeKey"] == f"{did}#key-2"
    code, out = _cli(tmp_path, "retire-key", f"{did}#key-1")
    assert code == 0, out


def test_bad_input(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("pw\n")
    assert _cli(tmp_path, "init", "--base-url", "https://status.example")[0] == 0
    code, out = _cli(tmp_path, "issue", "not-a-did")
    assert code == 1 and json.loads(out)["error"]["code"] == "invalidDid"
    (tmp_path / "claims.json").write_text(json.dumps({"isAdmin": True}))
    code, out = _cli(tmp_path, "issue", Party().did, "--claims-file", str(tmp_path / "claims.json"))
    assert code == 1 and json.loads(out)["error"]["code"] == "DATA_LOSS_DETECTION_ERROR"
    (tmp_path / "broken.json").write_text("{not json")
    code, out = _cli(tmp_path, "issue", Party().did, "--claims-file", str(tmp_path / "broken.json"))
    assert code == 1 and json.loads(out)["error"]["code"] == "PARSING_ERROR"
    code, out = _cli(tmp_path, "rotate-key")
    assert code == 1  # a did:key issuer cannot rotate
    code, out = _cli(tmp_path, "issue", Party().did, "--status-message", "ok", "--status-message", "paused")
    assert code == 0, out
    vc = json.loads(out)["credential"]
    assert vc["credentialStatus"][2]["statusSize"] == 1
    assert _cli(tmp_path, "set-message", vc["id"], "1")[0] == 0
    assert _cli(tmp_path, "set-message", vc["id"], "2")[0] == 1
    (tmp_path / "pass").write_text("wrong\n")
    code, out = _cli(tmp_path, "list")
    assert code == 1 and json.loads(out)["error"]["code"] == "WRONG_PASSPHRASE_ERROR"


def test_as_a_subprocess(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DIDVC_ISSUER_STORE": str(tmp_path / "i.db"),
        "DIDVC_ISSUER_PASSPHRASE": "secret words",
    }
    init = subprocess.run(
        [sys.executable, "-m", "didvc_cli", "issuer", "init", "--base-url", "https://status.example"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    issued = subprocess.run(
        [
            sys.executable,
            "-m",
            "didvc_cli",
            "issuer",
            "issue",
            Party().did,
            "--scope",
            "a",
            "--suite",
            "vc+jwt",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert issued.returncode == 0, issued.stderr
    assert issued.stdout.strip().count(".") == 2
    listed = subprocess.run(
        [sys.executable, "-m", "didvc_cli", "issuer", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "active" in listed.stdout
    assert "secret words" not in init.stdout + init.stderr + issued.stdout + issued.stderr + listed.stdout


def test_group_options_work_after_the_subcommand_too(tmp_path: Path) -> None:
    """``didvc issuer list --json`` as the docs write it, ``--store`` and ``--passphrase-file``
    after the subcommand as well: the same as before it."""
    from click.testing import CliRunner

    from didvc_cli import main

    (tmp_path / "pass").write_text("pw\n")
    assert _cli(tmp_path, "init", "--base-url", "https://status.example")[0] == 0
    store, passphrase = str(tmp_path / "issuer.db"), str(tmp_path / "pass")
    before = CliRunner().invoke(
        main, ["issuer", "--store", store, "--passphrase-file", passphrase, "--json", "list", "--counts"]
    )
    after = CliRunner().invoke(
        main, ["issuer", "list", "--counts", "--json", "--store", store, "--passphrase-file", passphrase]
    )
    assert before.exit_code == after.exit_code == 0, after.output
    assert (
        json.loads(after.output)
        == json.loads(before.output)
        == {
            "active": 0,
            "suspended": 0,
            "revoked": 0,
            "expired": 0,
        }
    )
    usage = CliRunner().invoke(main, ["issuer", "list", "--help"])
    assert "--json" in usage.output and "DIDVC_ISSUER_PASSPHRASE" in usage.output


def test_no_lifetime_is_refused_not_replaced_by_the_default(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("pw\n")
    assert _cli(tmp_path, "init", "--base-url", "https://status.example")[0] == 0
    code, out = _cli(tmp_path, "issue", Party().did, "--valid-for", "0s")
    assert code == 2 and "no time at all" in out
    code, out = _cli(tmp_path, "issue", Party().did, "--valid-for", "99999999999d")  # past the calendar
    assert code == 2 and "hundred years" in out
    code, out = _cli(tmp_path, "issue", Party().did, "--valid-for", "90s")
    credential = json.loads(out)["credential"]
    assert code == 0 and credential["validUntil"] != credential["validFrom"]


def test_status_changes_read_as_english(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from didvc_cli import main

    (tmp_path / "pass").write_text("pw\n")
    assert _cli(tmp_path, "init", "--base-url", "https://status.example")[0] == 0
    credential_id = json.loads(_cli(tmp_path, "issue", Party().did)[1])["credential"]["id"]
    common = ["--store", str(tmp_path / "issuer.db"), "--passphrase-file", str(tmp_path / "pass")]
    for action, said in (("suspend", "suspended"), ("reinstate", "reinstated"), ("revoke", "revoked")):
        result = CliRunner().invoke(main, ["issuer", *common, action, credential_id])
        assert result.output.strip() == f"{said} {credential_id}"


def test_serve_refuses_cleanly_what_it_cannot_do(tmp_path: Path) -> None:
    """A port out of range, a port taken, an empty operator-token file: a message and a
    non-zero exit, never a traceback."""
    import socket

    from click.testing import CliRunner

    from didvc_cli import main

    (tmp_path / "pass").write_text("pw\n")
    assert _cli(tmp_path, "init", "--base-url", "https://status.example")[0] == 0
    common = ["issuer", "--store", str(tmp_path / "issuer.db"), "--passphrase-file", str(tmp_path / "pass")]
    out_of_range = CliRunner().invoke(main, [*common, "serve", "--port", "99999"])
    assert out_of_range.exit_code == 2 and "1<=x<=65535" in out_of_range.output
    (tmp_path / "token").write_text("\n")
    empty = CliRunner().invoke(main, [*common, "serve", "--operator-token-file", str(tmp_path / "token")])
    assert empty.exit_code == 1 and "is empty" in empty.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [sys.executable, "-m", "didvc_cli", *common, "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert busy.returncode == 1 and "[IO_ERROR]" in busy.stderr and "Traceback" not in busy.stderr


def test_show_one_credential_as_it_stands_now(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("pw\n")
    assert _cli(tmp_path, "init", "--base-url", "https://status.example")[0] == 0
    agent = Party().did
    for securing in ("eddsa-rdfc-2022", "vc+jwt"):
        code, out = _cli(
            tmp_path, "issue", agent, "--scope", "orders:read", "--owner", "Acme", "--suite", securing
        )
        credential = json.loads(out)["credential"]
        credential_id = json.loads(_cli(tmp_path, "list", "--agent", agent)[1])[-1]["id"]
        assert _cli(tmp_path, "suspend", credential_id)[0] == 0
        code, out = _cli(tmp_path, "show", credential_id)
        shown = json.loads(out)
        assert code == 0 and shown["status"] == "suspended" and shown["agent"] == agent
        assert shown["scopes"] == ["orders:read"] and shown["credential"] == credential
    code, out = _cli(tmp_path, "show", "urn:uuid:not-issued-here")
    assert code == 1 and json.loads(out)["error"]["code"] == "UNKNOWN_CREDENTIAL_ERROR"


def test_a_configuration_file_sets_defaults_below_flags_and_environment(tmp_path: Path) -> None:
    """didvc.toml: a table per group and command, keys the options' long names; a flag beats
    the environment, which beats the file; a key that is no option is refused."""
    from click.testing import CliRunner

    from didvc_cli import main

    (tmp_path / "pass").write_text("pw\n")
    assert _cli(tmp_path, "init", "--base-url", "https://status.example")[0] == 0
    config = tmp_path / "didvc.toml"
    config.write_text(
        f'[issuer]\nstore = "{tmp_path / "issuer.db"}"\n'
        f'passphrase-file = "{tmp_path / "pass"}"\njson = true\n'
        "[issuer.list]\ncounts = true\n"
    )
    env = {"DIDVC_ISSUER_PASSPHRASE": "", "DIDVC_ISSUER_STORE": ""}
    result = CliRunner().invoke(main, ["--config", str(config), "issuer", "list"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["active"] == 0  # the file's store, passphrase, --json and --counts
    elsewhere = {**env, "DIDVC_ISSUER_STORE": str(tmp_path / "none.db")}
    result = CliRunner().invoke(main, ["--config", str(config), "issuer", "list"], env=elsewhere)
    assert result.exit_code == 1 and "no issuer store" in result.output  # the environment won
    result = CliRunner().invoke(
        main,
        ["--config", str(config), "issuer", "--store", str(tmp_path / "issuer.db"), "list"],
        env=elsewhere,
    )
    assert result.exit_code == 0, result.output  # the flag won
    config.write_text("[issuer]\nstorage = 'x'\n")
    result = CliRunner().invoke(main, ["--config", str(config), "issuer", "list"], env=env)
    assert result.exit_code == 2 and "'storage' is no option of 'issuer'" in result.output


def test_passwd_seals_every_key_again_and_only_the_new_passphrase_opens(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("old passphrase\n")
    (tmp_path / "new").write_text("new passphrase\n")
    assert _cli(tmp_path, "init", "--did-web", "issuer.example.com")[0] == 0
    assert _cli(tmp_path, "rotate-key")[0] == 0  # two keys to seal again
    before = json.loads(_cli(tmp_path, "issue", Party().did)[1])["credential"]
    code, out = _cli(tmp_path, "passwd", "--new-passphrase-file", str(tmp_path / "new"))
    assert code == 0 and json.loads(out) == {"changed": True}
    code, out = _cli(tmp_path, "list")
    assert code == 1 and json.loads(out)["error"]["code"] == "WRONG_PASSPHRASE_ERROR"
    (tmp_path / "pass").write_text("new passphrase\n")
    code, out = _cli(tmp_path, "issue", Party().did)
    after = json.loads(out)["credential"]
    assert code == 0 and after["proof"]["verificationMethod"] == before["proof"]["verificationMethod"]
    code, out = _cli(tmp_path, "log", "--verify")
    assert code == 0 and "change-passphrase" in out


def test_a_broken_configuration_file_is_a_usage_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from didvc_cli import main

    config = tmp_path / "didvc.toml"
    for text, says in (
        ("[issuer\nstore =", "cannot read the configuration file"),  # not TOML
        ('[issuer.list]\nlimit = "many"\n', "'many' is not a valid integer"),  # the wrong type
    ):
        config.write_text(text)
        result = CliRunner().invoke(
            main, ["--config", str(config), "issuer", "--store", str(tmp_path / "none.db"), "list"]
        )
        assert result.exit_code == 2 and says in result.output, result.output
