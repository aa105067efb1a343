"""``didvc issuer register-delegation``: the operator's issuer hosts the revocation of a
delegation a principal signs (a person's DID hosts no status list; docs/delegation.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from didvc.storage import write_atomically
from didvc_cli.issuer_common import Options, emit_result, with_issuer

if TYPE_CHECKING:
    from issuer import Issuer

__all__ = ["register_delegation"]


@click.command("register-delegation")
@click.argument("principal")
@click.option("--id", "delegation_id", help="The delegation's id (default: a new urn:uuid).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), help="Write it here.")
@click.pass_obj
def register_delegation(
    options: Options, principal: str, delegation_id: str | None, out_file: Path | None
) -> None:
    """Host the revocation of a delegation PRINCIPAL (a DID) will sign: an id and a revocation
    entry, for 'didvc wallet delegate --registration'. 'revoke ID' revokes the delegation, and
    every delegation below it with it."""

    async def work(issuer: Issuer) -> dict[str, Any]:
        return await issuer.register_delegation(principal, delegation_id)

    registered = with_issuer(options, work)
    text = json.dumps(registered, indent=2)
    if out_file is not None:
        write_atomically(out_file, (text + "\n").encode(), private=False)
        emit_result(
            options, registered, f"registered {registered['id']} for {principal}, written to {out_file}"
        )
    else:
        emit_result(options, registered, text)
