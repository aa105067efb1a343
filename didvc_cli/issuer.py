"""``didvc issuer``: a consortium operator's commands.

The store comes from ``--store`` (or ``DIDVC_ISSUER_STORE``, default ``issuer.db``); the
passphrase from ``--passphrase-file``, the ``DIDVC_ISSUER_PASSPHRASE`` environment variable, or
a prompt. It is never printed or logged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from didvc.encoding import strict_json_loads
from didvc.errors import DidvcError, IssuerError
from didvc_cli.issuer_batch import batch, export
from didvc_cli.issuer_common import KEY_TYPES, SUITE, Options, emit_result, with_issuer
from didvc_cli.issuer_delegation import register_delegation
from didvc_cli.support import NEW_PASSPHRASE_FILE, fail, new_passphrase, parse_duration, run

if TYPE_CHECKING:  # the component loads when a command runs: --help stays fast
    from issuer import Issuer, Securing

__all__ = ["issuer_group"]


@click.group()
@click.option(
    "--store",
    envvar="DIDVC_ISSUER_STORE",
    show_envvar=True,
    default="issuer.db",
    show_default=True,
    help="The issuer store: a SQLite file, or a postgresql:// URL.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the passphrase from a file (else from DIDVC_ISSUER_PASSPHRASE, else a prompt).",
)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_context
def issuer_group(ctx: click.Context, store: str, passphrase_file: str | None, as_json: bool) -> None:
    """Issue, list, suspend and revoke agent credentials."""
    ctx.obj = Options(store, passphrase_file, as_json)


@issuer_group.command("init")
@click.option("--did-web", help="Create a did:web identity for host[:port][:path] (else a did:key).")
@click.option("--base-url", help="Where status lists are published (default for did:web: its https origin).")
@click.option("--key-type", type=click.Choice(KEY_TYPES), default="Ed25519", show_default=True)
@click.option(
    "--validity", default="24h", show_default=True, help="Default credential lifetime (e.g. 1h, 24h, 7d)."
)
@click.option(
    "--status-ttl", default="5m", show_default=True, help="How long verifiers may cache status lists."
)
@click.option(
    "--did-cache",
    default="5m",
    show_default=True,
    help="How long verifiers may cache the DID document (its max-age; the key-rotation grace).",
)
@click.option(
    "--did-json",
    "did_json",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the did.json to publish.",
)
@click.pass_obj
def init(
    options: Options,
    did_web: str | None,
    base_url: str | None,
    key_type: str,
    validity: str,
    status_ttl: str,
    did_cache: str,
    did_json: Path | None,
) -> None:
    """Create an issuer identity with keys encrypted at rest."""

    async def go() -> dict[str, Any]:
        from issuer import Issuer

        issuer = await Issuer.create(
            options.path(),
            passphrase=options.passphrase(confirm=True),
            did_web=did_web,
            base_url=base_url,
            key_type=key_type,
            default_validity=parse_duration(validity),
            status_ttl_ms=int(parse_duration(status_ttl).total_seconds() * 1000),
            did_document_max_age=int(parse_duration(did_cache).total_seconds()),
        )
        async with issuer:
            if did_json is not None:
                did_json.write_text(json.dumps(await issuer.did_document(), indent=2))
            return {"did": issuer.did, "baseUrl": issuer.base_url, "store": issuer.store.description}

    out = run(go, options.as_json)
    text = f"issuer {out['did']}\nstatus lists at {out['baseUrl']}/status/<n>"
    if did_json is not None:
        text += f"\nDID document written to {did_json} (publish it at the did:web URL)"
    emit_result(options, out, text)


@issuer_group.command("issue")
@click.argument("agent")
@click.option("--scope", "scopes", multiple=True, help="A scope the agent may use (repeatable).")
@click.option("--owner", help="Who owns the agent.")
@click.option("--name", "agent_name", help="The agent's name.")
@click.option(
    "--audience", "audiences", multiple=True, help="An API the credential is meant for (repeatable)."
)
@click.option("--claims-file", type=click.File("rb"), help="More claims as a JSON object.")
@click.option(
    "--type", "types", multiple=True, help="An extra credential type (must be defined by a bundled context)."
)
@click.option("--valid-for", help="Lifetime (default: the issuer's, e.g. 24h).")
@SUITE
@click.option(
    "--status-message", "status_messages", multiple=True, help="A message status value (repeat: 0, 1, ...)."
)
@click.option(
    "--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the credential here."
)
@click.pass_obj
def issue(
    options: Options,
    agent: str,
    scopes: tuple[str, ...],
    owner: str | None,
    agent_name: str | None,
    audiences: tuple[str, ...],
    claims_file: Any,
    types: tuple[str, ...],
    valid_for: str | None,
    suite: Securing,
    status_messages: tuple[str, ...],
    out_file: Path | None,
) -> None:
    """Issue a credential to the agent DID AGENT."""
    try:
        claims: Any = (
            strict_json_loads(claims_file.read(), what="claims file") if claims_file is not None else {}
        )
    except DidvcError as error:
        fail(error, options.as_json)
    if not isinstance(claims, dict):
        fail(IssuerError("--claims-file must hold a JSON object"), options.as_json)
    if scopes:
        claims["scope"] = list(scopes)
    if owner:
        claims["owner"] = owner
    if agent_name:
        claims["agentName"] = agent_name
    if audiences:
        claims["audience"] = list(audiences)

    async def work(issuer: Issuer) -> Any:
        return await issuer.issue(
            agent,
            claims=claims,
            types=types,
            valid_for=parse_duration(valid_for) if valid_for else None,
            securing=suite,
            status_messages=list(status_messages) or None,
        )

    credential = with_issuer(options, work)
    text = credential if isinstance(credential, str) else json.dumps(credential, indent=2)
    if out_file is not None:
        out_file.write_text(text)
    if options.as_json:
        click.echo(json.dumps({"credential": credential}))
    else:
        click.echo(text if out_file is None else f"written to {out_file}")


_PAST = {"revoke": "revoked", "suspend": "suspended", "reinstate": "reinstated"}


def _status_command(name: str, help_text: str) -> None:
    @issuer_group.command(name, help=help_text)
    @click.argument("credential_id")
    @click.pass_obj
    def command(options: Options, credential_id: str) -> None:
        with_issuer(options, lambda issuer: getattr(issuer, name)(credential_id))
        emit_result(
            options,
            {"id": credential_id, "action": name},
            f"{_PAST[name]} {credential_id}",
        )


_status_command("revoke", "Revoke a credential for good.")
_status_command("suspend", "Suspend a credential (reversible with reinstate).")
_status_command("reinstate", "Lift a suspension.")


@issuer_group.command("set-message")
@click.argument("credential_id")
@click.argument("value", type=int)
@click.pass_obj
def set_message(options: Options, credential_id: str, value: int) -> None:
    """Set a credential's message status to VALUE (the index of one of its messages)."""

    with_issuer(options, lambda issuer: issuer.set_message(credential_id, value))
    emit_result(options, {"id": credential_id, "message": value}, f"{credential_id}: message status {value}")


@issuer_group.command("revoke-all")
@click.argument("agent")
@click.pass_obj
def revoke_all(options: Options, agent: str) -> None:
    """Emergency: revoke every credential of the agent DID AGENT."""

    ids = with_issuer(options, lambda issuer: issuer.revoke_all(agent))
    emit_result(options, {"agent": agent, "revoked": ids}, f"revoked {len(ids)} credential(s) of {agent}")


@issuer_group.command("list")
@click.option("--agent", help="Only this agent's credentials.")
@click.option("--status", type=click.Choice(["active", "suspended", "revoked", "expired"]))
@click.option("--expiring-within", help="Only active credentials expiring within this time (e.g. 2h).")
@click.option("--limit", type=click.IntRange(1, 10_000), help="At most this many (a page).")
@click.option("--after", help="The page after this cursor (printed at the end of a page).")
@click.option("--counts", is_flag=True, help="Only how many are active, suspended, revoked, expired.")
@click.pass_obj
def list_command(
    options: Options,
    agent: str | None,
    status: str | None,
    expiring_within: str | None,
    limit: int | None,
    after: str | None,
    counts: bool,
) -> None:
    """The agent inventory: who holds what, until when, in what state."""
    if counts:
        found = with_issuer(options, lambda issuer: issuer.inventory_counts(agent=agent))
        emit_result(options, found, "  ".join(f"{state} {n}" for state, n in found.items()))
        return

    async def work(issuer: Issuer) -> list[Any]:
        return await issuer.inventory(
            agent=agent,
            status=status,
            expiring_within=parse_duration(expiring_within) if expiring_within else None,
            limit=limit,
            after=after,
        )

    entries = with_issuer(options, work)
    if options.as_json:
        click.echo(json.dumps([e.to_json() for e in entries]))
        return
    if not entries:
        click.echo("(no credentials)")
        return
    header = f"{'STATUS':10} {'AGENT':28} {'OWNER':12} {'SCOPES':24} {'VALID UNTIL':20} ID"
    click.echo(header)
    for e in entries:
        agent_text = e.subject if len(e.subject) <= 28 else e.subject[:25] + "..."
        until = e.valid_until.strftime("%Y-%m-%d %H:%M") if e.valid_until else "-"
        owner, scopes = (e.owner or "-")[:12], ",".join(e.scopes)[:24]
        click.echo(f"{e.status:10} {agent_text:28} {owner:12} {scopes:24} {until:20} {e.id}")
    if limit is not None and len(entries) == limit:
        click.echo(f"(next page: --after {entries[-1].cursor})")


@issuer_group.command("passwd")
@NEW_PASSPHRASE_FILE
@click.pass_obj
def passwd(options: Options, new_passphrase_file: str | None) -> None:
    """Change the store's passphrase: every key sealed again, in one transaction."""

    async def work(issuer: Issuer) -> None:
        await issuer.change_passphrase(new_passphrase(new_passphrase_file))

    with_issuer(options, work)
    emit_result(options, {"changed": True}, "passphrase changed (restart other processes using this store)")


@issuer_group.command("show")
@click.argument("credential_id")
@click.pass_obj
def show(options: Options, credential_id: str) -> None:
    """One credential: its agent, scopes, validity and state now (--json: and the credential)."""
    from didvc.jose import parse_jws

    async def work(issuer: Issuer) -> tuple[Any, Any]:
        body = await issuer.credential(credential_id)  # UNKNOWN_CREDENTIAL_ERROR if not ours
        document = body if isinstance(body, dict) else parse_jws(body, typ="vc+jwt").payload
        subjects = document.get("credentialSubject")
        subjects = subjects if isinstance(subjects, list) else [subjects]
        agent = next(s["id"] for s in subjects if isinstance(s, dict) and isinstance(s.get("id"), str))
        entry = next(e for e in await issuer.inventory(agent=agent) if e.id == credential_id)
        return entry, body

    entry, body = with_issuer(options, work)
    if options.as_json:
        click.echo(json.dumps({**entry.to_json(), "credential": body}))
        return
    until = entry.valid_until.isoformat() if entry.valid_until else "-"
    lines = [
        ("id", entry.id),
        ("status", entry.status),
        ("agent", entry.subject),
        ("owner", entry.owner or "-"),
        ("name", entry.agent_name or "-"),
        ("scopes", ", ".join(entry.scopes) or "-"),
        ("valid", f"{entry.valid_from.isoformat()} to {until}"),
        ("format", entry.format),
    ]
    click.echo("\n".join(f"{name + ':':8} {value}" for name, value in lines))


@issuer_group.command("rotate-key")
@click.pass_obj
def rotate_key(options: Options) -> None:
    """A new key signs credentials now, status lists once cached DID documents have expired."""

    async def work(issuer: Issuer) -> dict[str, Any]:
        key_id = await issuer.rotate_key()
        switch = await issuer.lists_switch_at()
        return {"activeKey": key_id, "statusListsSwitchAt": switch.isoformat() if switch else None}

    out = with_issuer(options, work)
    when = out["statusListsSwitchAt"] or "now"
    emit_result(
        options,
        out,
        f"now signing credentials with {out['activeKey']}; status lists switch to it at {when}"
        " (with 'publish' instead of 'serve': republish the DID document now)",
    )


@issuer_group.command("retire-key")
@click.argument("key_id")
@click.pass_obj
def retire_key(options: Options, key_id: str) -> None:
    """Remove an old key from the DID document: what it signed stops verifying."""

    with_issuer(options, lambda issuer: issuer.retire_key(key_id))
    emit_result(options, {"retired": key_id}, f"retired {key_id} (republish the DID document)")


@issuer_group.command("publish")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def publish(options: Options, directory: Path) -> None:
    """Write the signed status lists (and the did:web DID document) under DIRECTORY."""

    paths = with_issuer(options, lambda issuer: issuer.publish(directory))
    emit_result(options, {"written": [str(p) for p in paths]}, "\n".join(f"wrote {p}" for p in paths))


@issuer_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--operator-token-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Enable the VC-API (/credentials/issue, /credentials/status) and /agent-credentials.",
)
@click.pass_obj
def serve(options: Options, host: str, port: int, operator_token_file: str | None) -> None:
    """Serve the DID document, the status lists and the agent context over HTTP."""
    from aiohttp import web

    from issuer import create_app

    token = Path(operator_token_file).read_text().strip() if operator_token_file else None
    if operator_token_file and not token:
        fail(IssuerError(f"the operator token file {operator_token_file} is empty"), options.as_json)

    async def make() -> web.Application:
        from issuer import Issuer

        issuer = await Issuer.open(options.path(), passphrase=options.passphrase())
        app = create_app(issuer, operator_token=token)

        async def close(app: web.Application) -> None:
            await issuer.close()

        app.on_cleanup.append(close)
        return app

    try:
        web.run_app(make(), host=host, port=port, print=lambda text: click.echo(text, err=True))
    except DidvcError as error:
        fail(error, options.as_json)
    except OSError as error:  # the port is taken, the host is not this machine's
        fail(
            DidvcError(f"cannot serve on {host}:{port}: {error.strerror or error}", code="IO_ERROR"),
            options.as_json,
        )


@issuer_group.command("log")
@click.option("--since", help="Only entries from this long ago (e.g. 2h, 7d).")
@click.option("--verify", is_flag=True, help="Check the whole chain and its signed checkpoints first.")
@click.pass_obj
def log(options: Options, since: str | None, verify: bool) -> None:
    """The audit log: who issued, revoked, suspended, reinstated or rotated what, and when."""

    async def work(issuer: Issuer) -> dict[str, Any]:
        head = await issuer.verify_audit_log() if verify else None
        start = issuer.clock() - parse_duration(since) if since else None
        entries = await issuer.audit_log(since=start)
        return {"verified": head.to_json() if head else None, "entries": [e.to_json() for e in entries]}

    out = with_issuer(options, work)  # a log that does not verify fails here: AUDIT_LOG_ERROR
    if options.as_json:
        click.echo(json.dumps(out))
        return
    for e in out["entries"]:
        detail = " ".join(
            f"{k}={v}" for k, v in e["detail"].items() if v is not None and k != "publicKeyMultibase"
        )
        click.echo(
            f"{e['seq']:>6} {e['at'][:19]} {e['actor']:20} {e['event']:12} {e['subject']} {detail}".rstrip()
        )
    if verify:
        head = out["verified"]
        text = f"seq {head['seq']}, hash {head['hash']}" if head else "empty"
        click.echo(f"the audit log verifies: head {text} (keep it elsewhere to detect a cut-off tail)")


issuer_group.add_command(batch)
issuer_group.add_command(export)
issuer_group.add_command(register_delegation)
