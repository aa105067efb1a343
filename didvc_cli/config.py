"""The configuration file: defaults for any option of any command, in TOML.

Looked for at ``--config FILE`` (or ``DIDVC_CONFIG``), else ``./didvc.toml``, else
``$XDG_CONFIG_HOME/didvc/config.toml`` (``~/.config/didvc/config.toml``). A table per command
group and command, keys the options' long names::

    [issuer]
    store = "postgresql://didvc@db/didvc"
    passphrase-file = "/run/secrets/issuer-passphrase"

    [issuer.batch]
    suite = "eddsa-jcs-2022"

    [wallet]
    wallet = "/var/lib/agent/agent.wallet"

A flag on the command line wins over an environment variable, which wins over the file (click's
own order for ``default_map``). A key that names no option is an error, not silently ignored.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import click

__all__ = ["config_path", "default_map"]


def config_path(given: str | None) -> Path | None:
    """The configuration file in use, if any."""
    if given:
        return Path(given)
    here = Path("didvc.toml")
    if here.is_file():
        return here
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "didvc" / "config.toml"
    return home if home.is_file() else None


def default_map(ctx: click.Context, command: click.Command, path: Path) -> dict[str, Any]:
    """``path`` read as click's ``default_map`` for ``command`` (its subcommands' tables
    below it); raises a usage error naming the first key that is no option."""
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise click.UsageError(f"cannot read the configuration file {path}: {error}") from None
    return _translate(ctx, command, table, path.name)


def _translate(
    ctx: click.Context, command: click.Command, table: dict[str, Any], where: str
) -> dict[str, Any]:
    names = {
        option.lstrip("-"): param.name
        for param in command.params
        if isinstance(param, click.Option)
        for option in param.opts
        if option.startswith("--")
    }
    out: dict[str, Any] = {}
    for key, value in table.items():
        sub = command.get_command(ctx, key) if isinstance(command, click.Group) else None
        if isinstance(value, dict) and sub is not None:
            out[key] = _translate(ctx, sub, value, f"{where} [{key}]")
        elif key in names:
            out[names[key]] = value
        else:
            raise click.UsageError(f"{where}: {key!r} is no option of '{command.name}'")
    return out
