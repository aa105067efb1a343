"""``didvc wallet``: the agent's wallet from the shell.

The wallet file comes from ``--wallet`` (or ``DIDVC_WALLET``, default ``agent.wallet``); the
passphrase from ``--passphrase-file``, the ``DIDVC_WALLET_PASSPHRASE`` environment variable, or
a prompt. ``present`` prints a header line, so a shell user can write::

    curl -H "$(didvc wallet present --method GET --url https://api.example/orders)" https://api.example/orders
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from didvc.encoding import strict_json_loads
from didvc.errors import DidvcError, WalletError
from didvc.keys import KeyType
from didvc.sealing import passphrase_from
from didvc.storage import write_atomically
from didvc_cli.support import (
    LOOPBACK_WARNING,
    NEW_PASSPHRASE_FILE,
    development_warning,
    emit,
    fail,
    new_passphrase,
    parse_duration,
    run,
)

if TYPE_CHECKING:  # the component loads when a command runs: --help stays fast
    from wallet import Wallet

__all__ = ["wallet_group"]

T = TypeVar("T")
PASSPHRASE_ENV = "DIDVC_WALLET_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
_KEY_TYPES = [str(t) for t in KeyType if t is not KeyType.X25519]


class _Options:
    def __init__(
        self, path: Path, passphrase_file: str | None, as_json: bool, allow_loopback: bool = False
    ) -> None:
        self.path = path
        self.passphrase_file = passphrase_file
        self.as_json = as_json
        self.allow_loopback = allow_loopback

    def passphrase(self, *, confirm: bool = False) -> bytes:
        if self.passphrase_file or os.environ.get(PASSPHRASE_ENV):
            return passphrase_from(file=self.passphrase_file, env=PASSPHRASE_ENV)
        value = click.prompt("Wallet passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
        return passphrase_from(value)


def _with_wallet(options: _Options, work: Callable[[Wallet], Awaitable[T]], *, create: bool = False) -> T:
    if options.allow_loopback:  # given before or after the subcommand: said either way
        development_warning(LOOPBACK_WARNING)

    async def go() -> T:
        from wallet import Wallet

        if not create and not options.path.exists():
            raise WalletError(f"no wallet at {options.path} (run 'didvc wallet init')")
        async with await Wallet.open(
            options.path,
            passphrase=options.passphrase(confirm=create),
            create=create,
            allow_loopback=options.allow_loopback,
        ) as wallet:
            return await work(wallet)

    return run(go, options.as_json)


def _emit(options: _Options, data: Any, text: str) -> None:
    emit(options.as_json, data, text)


@click.group()
@click.option(
    "--wallet",
    "path",
    envvar="DIDVC_WALLET",
    show_envvar=True,
    default="agent.wallet",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The wallet file.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the passphrase from a file (else from DIDVC_WALLET_PASSPHRASE, else a prompt).",
)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.option(
    "--allow-loopback",
    is_flag=True,
    help="DEVELOPMENT ONLY: check credentials against did:web and status lists on this machine over http.",
)
@click.pass_context
def wallet_group(
    ctx: click.Context, path: Path, passphrase_file: str | None, as_json: bool, allow_loopback: bool
) -> None:
    """The agent's wallet: DIDs, keys, credentials and request headers."""
    ctx.obj = _Options(path, passphrase_file, as_json, allow_loopback)


@wallet_group.command("init")
@click.option("--key-type", type=click.Choice(_KEY_TYPES), default="Ed25519", show_default=True)
@click.option("--method", type=click.Choice(["key", "jwk"]), default="key", show_default=True)
@click.pass_obj
def init(options: _Options, key_type: str, method: str) -> None:
    """Create a new wallet with a first DID."""
    if options.path.exists():
        fail(WalletError(f"{options.path} already exists"), options.as_json)

    async def work(wallet: Wallet) -> str:
        return await wallet.create_did(method, key_type)

    did = _with_wallet(options, work, create=True)
    _emit(options, {"wallet": str(options.path), "did": did}, f"created {options.path}\ndid: {did}")


@wallet_group.group("did")
def did_group() -> None:
    """The wallet's DIDs."""


@did_group.command("create")
@click.option("--key-type", type=click.Choice(_KEY_TYPES), default="Ed25519", show_default=True)
@click.option("--method", type=click.Choice(["key", "jwk"]), default="key", show_default=True)
@click.option("--default", "make_default", is_flag=True, help="Make it the default DID.")
@click.pass_obj
def did_create(options: _Options, key_type: str, method: str, make_default: bool) -> None:
    """Create another DID."""

    async def work(wallet: Wallet) -> str:
        return await wallet.create_did(method, key_type, default=make_default or None)

    did = _with_wallet(options, work)
    _emit(options, {"did": did}, did)


@did_group.command("list")
@click.pass_obj
def did_list(options: _Options) -> None:
    """List the wallet's DIDs (the default is marked *)."""

    async def work(wallet: Wallet) -> list[Any]:
        return await wallet.list_dids()

    records = _with_wallet(options, work)
    rows = [
        {"did": r.did, "method": r.method, "keyType": r.key_type, "default": r.is_default} for r in records
    ]
    _emit(
        options, rows, "\n".join(f"{'*' if r.is_default else ' '} {r.did}  ({r.key_type})" for r in records)
    )


@wallet_group.command("import")
@click.argument("source", type=click.File("rb"), metavar="FILE|-")
@click.option("--strict", is_flag=True, help="Refuse a credential whose issuer cannot be resolved now.")
@click.pass_obj
def import_credential(options: _Options, source: Any, strict: bool) -> None:
    """Store a credential (Data Integrity JSON or vc+jwt) issued to one of the wallet's DIDs, or
    a delegation chain (a JSON list, as 'wallet delegate' writes it) ending with one."""
    data = source.read(2 * 1024 * 1024).strip()
    try:
        credential: Any = (
            strict_json_loads(data, what="credential")
            if data.startswith((b"{", b"["))
            else data.decode("ascii", "replace")
        )
    except DidvcError as error:
        fail(error, options.as_json)

    async def work(wallet: Wallet) -> Any:
        if isinstance(credential, list):
            return await wallet.store_chain(credential, strict=strict)
        return await wallet.store_credential(credential, strict=strict)

    record = _with_wallet(options, work)
    _emit(
        options,
        {
            "id": record.id,
            "issuer": record.issuer,
            "scopes": list(record.scopes),
            "warnings": list(record.warnings),
        },
        f"stored {record.id} from {record.issuer}" + "".join(f"\nwarning: {w}" for w in record.warnings),
    )


@wallet_group.command("delegate")
@click.argument("delegate")
@click.option("--scope", "scopes", multiple=True, required=True, help="A scope to grant (repeatable).")
@click.option("--audience", "audiences", multiple=True, help="Only for this API (repeatable; default: any).")
@click.option("--valid-for", default="24h", show_default=True, help="How long it holds: 30m, 8h, 7d.")
@click.option("--hops", default=0, show_default=True, type=click.IntRange(0, 8), help="Further hops allowed.")
@click.option("--parent", help="The id of a delegation this wallet holds, which this one narrows.")
@click.option("--did", help="Sign as this DID (default: the default DID, or the parent's delegate).")
@click.option(
    "--registration",
    type=click.File("rb"),
    help="The issuer's registration ('didvc issuer register-delegation'): its id and revocation entry.",
)
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the chain.")
@click.pass_obj
def delegate(
    options: _Options,
    delegate: str,
    scopes: tuple[str, ...],
    audiences: tuple[str, ...],
    valid_for: str,
    hops: int,
    parent: str | None,
    did: str | None,
    registration: Any,
    out_file: Path | None,
) -> None:
    """Delegate scopes to the agent DELEGATE (a DID): the chain to hand it, for 'wallet import'."""
    lifetime = parse_duration(valid_for)  # a usage error when it is none
    try:
        registered = strict_json_loads(registration.read(65536), what="registration") if registration else {}
        if not isinstance(registered, dict):
            raise WalletError(
                "a registration is a JSON object: what 'didvc issuer register-delegation' writes"
            )
    except DidvcError as error:
        fail(error, options.as_json)

    async def work(wallet: Wallet) -> list[Any]:
        return await wallet.delegate(
            delegate,
            scopes=scopes,
            audiences=audiences,
            valid_for=lifetime,
            hops=hops,
            parent=parent,
            did=did,
            credential_id=registered.get("id"),
            status=registered.get("credentialStatus", []),
        )

    chain = _with_wallet(options, work)
    text = json.dumps(chain, indent=2)
    if out_file is not None:
        write_atomically(out_file, (text + "\n").encode())
    link, granted = chain[-1], sorted(set(scopes))
    data = {"id": link["id"], "delegate": delegate, "scopes": granted, "links": len(chain)}
    where = f" (a chain of {len(chain)}, written to {out_file})" if out_file else f"\n{text}"
    _emit(options, data, f"delegated {', '.join(granted)} to {delegate}: {link['id']}{where}")


@wallet_group.command("list")
@click.option("--type", "credential_type", help="Only credentials of this type.")
@click.option("--issuer", help="Only credentials from this issuer.")
@click.option("--scope", help="Only credentials granting this scope.")
@click.pass_obj
def list_credentials(
    options: _Options, credential_type: str | None, issuer: str | None, scope: str | None
) -> None:
    """List stored credentials (expired ones are flagged)."""

    async def work(wallet: Wallet) -> list[Any]:
        return await wallet.list_credentials(type=credential_type, issuer=issuer, scope=scope)

    records = _with_wallet(options, work)
    rows = [
        {
            "id": r.id,
            "subject": r.subject,
            "issuer": r.issuer,
            "types": list(r.types),
            "scopes": list(r.scopes),
            "validUntil": r.valid_until.isoformat() if r.valid_until else None,
            "expired": r.expired(),
        }
        for r in records
    ]
    lines = [
        f"{r.id}  {', '.join(r.types)}  scopes={','.join(r.scopes) or '-'}  issuer={r.issuer}"
        + ("  EXPIRED" if r.expired() else "")
        for r in records
    ]
    _emit(options, rows, "\n".join(lines) or "(no credentials)")


@wallet_group.command("passwd")
@NEW_PASSPHRASE_FILE
@click.pass_obj
def passwd(options: _Options, new_passphrase_file: str | None) -> None:
    """Change the wallet's passphrase: every key sealed again, in one transaction."""

    async def work(wallet: Wallet) -> None:
        await wallet.change_passphrase(new_passphrase(new_passphrase_file))

    _with_wallet(options, work)
    _emit(options, {"changed": True}, "passphrase changed")


@wallet_group.command("remove")
@click.argument("credential_id")
@click.pass_obj
def remove(options: _Options, credential_id: str) -> None:
    """Remove a credential from the wallet (its id as ``wallet list`` shows it)."""

    async def work(wallet: Wallet) -> None:
        await wallet.delete_credential(credential_id)

    _with_wallet(options, work)
    _emit(options, {"removed": credential_id}, f"removed {credential_id}")


@wallet_group.command("present")
@click.option("--method", required=True, help="The HTTP method of the request.")
@click.option("--url", required=True, help="The URL of the request.")
@click.option("--body-file", type=click.File("rb"), help="The exact request body, to bind the token to it.")
@click.option("--audience", help="The API's audience (default: the URL's origin).")
@click.option("--scope", "scopes", multiple=True, help="Present only credentials granting these scopes.")
@click.option("--nonce", help="A nonce the server asked for.")
@click.option(
    "--did", help="The DID that speaks (default: the first, default first, holding credentials that fit)."
)
@click.option("--header-name", default="Authorization", show_default=True)
@click.pass_obj
def present(
    options: _Options,
    method: str,
    url: str,
    body_file: Any,
    audience: str | None,
    scopes: tuple[str, ...],
    nonce: str | None,
    did: str | None,
    header_name: str,
) -> None:
    """Print a request header with a fresh presentation bound to METHOD, URL and body."""
    body = body_file.read() if body_file is not None else None

    async def work(wallet: Wallet) -> dict[str, str]:
        return await wallet.request_headers(
            method,
            url,
            body=body,
            audience=audience,
            nonce=nonce,
            did=did,
            scopes=list(scopes) or None,
            header=header_name,
            scheme="VP" if header_name.lower() == "authorization" else None,
        )

    headers = _with_wallet(options, work)
    name, value = next(iter(headers.items()))
    _emit(options, {"header": name, "value": value}, f"{name}: {value}")


@wallet_group.command("export")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--backup-passphrase-file", type=click.Path(exists=True, dir_okay=False), required=True)
@click.pass_obj
def export(options: _Options, destination: Path, backup_passphrase_file: str) -> None:
    """Write an encrypted backup of every DID, key and credential."""

    async def work(wallet: Wallet) -> None:
        backup_passphrase = passphrase_from(file=backup_passphrase_file)  # refused as the others are
        await wallet.export_backup(destination, passphrase=backup_passphrase)

    _with_wallet(options, work)
    _emit(options, {"backup": str(destination)}, f"backup written to {destination}")


@wallet_group.command("import-backup")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--backup-passphrase-file", type=click.Path(exists=True, dir_okay=False), required=True)
@click.pass_obj
def import_backup(options: _Options, source: Path, backup_passphrase_file: str) -> None:
    """Create the wallet (at --wallet) from a backup."""
    if options.allow_loopback:
        development_warning(LOOPBACK_WARNING)

    async def go() -> int:
        backup_passphrase = passphrase_from(file=backup_passphrase_file)
        from wallet import Wallet

        wallet = await Wallet.import_backup(
            source,
            options.path,
            backup_passphrase=backup_passphrase,
            passphrase=options.passphrase(confirm=True),
            allow_loopback=options.allow_loopback,
        )
        async with wallet:
            return len(await wallet.list_dids())

    count = run(go, options.as_json)
    _emit(
        options, {"wallet": str(options.path), "dids": count}, f"restored {count} DID(s) into {options.path}"
    )
