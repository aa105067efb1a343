"""What every command group shares: running a coroutine, reporting failures, reading durations,
showing progress."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, NoReturn, TypeVar

import click

from didvc.errors import DidvcError

__all__ = [
    "NEW_PASSPHRASE_FILE",
    "Progress",
    "development_warning",
    "emit",
    "fail",
    "forward_options",
    "new_passphrase",
    "parse_duration",
    "run",
]

T = TypeVar("T")

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LONGEST = 100 * 366 * 86400  # seconds: no lifetime or window is longer, and dates stay in range


def fail(error: DidvcError, as_json: bool) -> NoReturn:
    """Print ``error [CODE]: message`` (or a JSON error object) and exit with status 1."""
    if as_json:
        click.echo(json.dumps({"error": {"code": error.code, "message": str(error)}}))
    else:
        click.echo(f"error [{error.code}]: {error}", err=True)
    sys.exit(1)


#: ``passwd``'s option: where the new passphrase is (else it is asked for twice).
NEW_PASSPHRASE_FILE = click.option(
    "--new-passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the new passphrase from a file (else a prompt, asked twice).",
)


def new_passphrase(file: str | None) -> bytes:
    """The new passphrase of ``passwd``: from ``file``, else typed twice (refused when empty)."""
    from didvc.sealing import passphrase_from

    if file:
        return passphrase_from(file=file)
    return passphrase_from(
        click.prompt("New passphrase", hide_input=True, confirmation_prompt=True, err=True)
    )


def development_warning(what: str) -> None:
    """Say loudly, on standard error, that a development-only switch is on."""
    click.echo(click.style(f"WARNING (development only): {what}", fg="yellow", bold=True), err=True)


#: What every command with --allow-loopback says when it is on.
LOOPBACK_WARNING = "--allow-loopback: did:web and status lists over plain http on this machine"


def emit(as_json: bool, data: Any, text: str) -> None:
    """Print a command's result: ``data`` as JSON with ``--json``, else ``text``."""
    click.echo(json.dumps(data) if as_json else text)


def run(coro_fn: Callable[[], Coroutine[Any, Any, T]], as_json: bool) -> T:
    """Run a coroutine; a :class:`DidvcError` becomes a clean message and exit status 1."""
    try:
        return asyncio.run(coro_fn())
    except DidvcError as error:
        fail(error, as_json)
    except OSError as error:
        fail(DidvcError(str(error), code="IO_ERROR"), as_json)


def parse_duration(text: str) -> timedelta:
    """``90m``, ``24h``, ``7d``, ``1h30m`` → a timedelta."""
    parts = _DURATION.findall(text.strip().lower())
    if not parts or _DURATION.sub("", text.strip().lower()).strip():
        raise click.BadParameter(f"{text!r} is not a duration like 30m, 24h or 7d")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds > _LONGEST:
        raise click.BadParameter(f"{text!r} is longer than a hundred years")
    duration = timedelta(seconds=seconds)
    if not duration:
        raise click.BadParameter(f"{text!r} is no time at all: give a duration like 30m, 24h or 7d")
    return duration


class Progress:
    """A one-line progress bar on standard error."""

    def __init__(self, total: int, *, quiet: bool) -> None:
        self.total = max(total, 1)
        self.count = 0
        self.quiet = quiet

    def step(self, count: int = 1) -> None:
        before = self.count
        self.count += count
        if not self.quiet and (self.count // 50 > before // 50 or self.count >= self.total):
            filled = int(30 * self.count / self.total)
            click.echo(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.count}/{self.total}", nl=False, err=True
            )

    def done(self) -> None:
        if not self.quiet:
            click.echo("", err=True)


def forward_options(group: click.Group) -> None:
    """Accept ``group``'s own options after its subcommands too (``didvc issuer list --json``
    as ``didvc issuer --json list``): each is added to every command below it, and given there
    it sets the field of the same name on the group's options object (``ctx.obj``), which the
    group's callback made before the subcommand's options are read."""
    for command in _commands(group):
        taken = {name for param in command.params for name in getattr(param, "opts", ())}
        for option in group.params:
            if isinstance(option, click.Option) and not taken.intersection(option.opts):
                command.params.append(_forwarded(option))


def _commands(group: click.Group) -> list[click.Command]:
    found: list[click.Command] = []
    for command in group.commands.values():
        found.append(command)
        if isinstance(command, click.Group):
            found.extend(_commands(command))
    return found


def _forwarded(option: click.Option) -> click.Option:
    def given(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None and value is not False and ctx.obj is not None:
            setattr(ctx.obj, option.name or "", value)

    return click.Option(
        option.opts,
        is_flag=option.is_flag,
        type=None if option.is_flag else option.type,
        default=False if option.is_flag else None,
        expose_value=False,
        callback=given,
        hidden=option.hidden,
        help=option.help,
    )
