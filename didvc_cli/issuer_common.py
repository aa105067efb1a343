"""What the ``didvc issuer`` commands share: the store and passphrase options, opening the
issuer for one piece of work, and the securing option."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from didvc.errors import IssuerError
from didvc.keys import KeyType
from didvc.sealing import passphrase_from
from didvc_cli.support import emit, run

if TYPE_CHECKING:  # the component loads when a command runs: --help stays fast
    from issuer import Issuer, Securing

__all__ = ["KEY_TYPES", "PASSPHRASE_ENV", "SUITE", "Options", "emit_result", "with_issuer"]

T = TypeVar("T")
PASSPHRASE_ENV = "DIDVC_ISSUER_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
KEY_TYPES = [str(t) for t in KeyType if t is not KeyType.X25519]


def _securing(ctx: click.Context, param: click.Parameter, value: str) -> Securing:
    try:
        from issuer import Securing

        return Securing.named(value)
    except IssuerError as error:
        raise click.BadParameter(str(error)) from None


SUITE = click.option(
    "--suite",
    default="default",
    show_default=True,
    callback=_securing,
    help="A cryptosuite, or 'vc+jwt'; default: the issuer key's (eddsa-rdfc-2022 for Ed25519, "
    "ecdsa-rdfc-2019 for P-256 and P-384, vc+jwt for secp256k1).",
)


class Options:
    def __init__(self, store: str, passphrase_file: str | None, as_json: bool) -> None:
        self.store = store
        self.passphrase_file = passphrase_file
        self.as_json = as_json

    def passphrase(self, *, confirm: bool = False) -> bytes:
        if self.passphrase_file or os.environ.get(PASSPHRASE_ENV):
            return passphrase_from(file=self.passphrase_file, env=PASSPHRASE_ENV)
        return passphrase_from(
            click.prompt("Issuer passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
        )

    def path(self) -> str:
        """A SQLite file path, or a postgresql:// URL."""
        return self.store


def with_issuer(options: Options, work: Callable[[Issuer], Awaitable[T]], *, parallel: bool = False) -> T:
    """Run ``work`` on the open issuer (``parallel``: with a second core for proofs)."""

    async def go() -> T:
        passphrase = options.passphrase()
        from issuer import Issuer

        async with await Issuer.open(options.path(), passphrase=passphrase, parallel=parallel) as issuer:
            return await work(issuer)

    return run(go, options.as_json)


def emit_result(options: Options, data: Any, text: str) -> None:
    emit(options.as_json, data, text)
