"""``didvc verifier``: a W3C VC-API verifier service over the library."""

from __future__ import annotations

import click

from didvc.errors import DidvcError, PolicyError
from didvc_cli.support import LOOPBACK_WARNING, development_warning, fail
from didvc_cli.trust import policy_from, trust_options

__all__ = ["verifier_group"]


@click.group("verifier")
def verifier_group() -> None:
    """A W3C VC-API verifier service."""


@verifier_group.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=click.IntRange(1, 65535))
@trust_options
def serve(
    host: str,
    port: int,
    policy_file: str | None,
    trusted: tuple[str, ...],
    principals: tuple[str, ...],
    trust_any_issuer: bool,
    allow_loopback: bool,
) -> None:
    """Serve POST /credentials/verify, /presentations/verify and /challenges, and
    GET /openapi.json. Presentations are verified in general mode (holder optional, freshness
    from the caller's challenge); credentials count only from the issuers the --policy file or
    --trust names."""
    from aiohttp import web

    from verifier import Verifier, create_verifier_app

    if not (policy_file or trusted or trust_any_issuer):
        fail(
            PolicyError("name the issuers to trust: --policy FILE or --trust DID (trust is never assumed)"),
            False,
        )
    if allow_loopback:
        development_warning(LOOPBACK_WARNING)
    try:
        policy = policy_from(policy_file, trusted, trust_any_issuer, principals)
    except DidvcError as error:
        fail(error, False)

    async def make() -> web.Application:
        verifier = Verifier(policy=policy, allow_http=allow_loopback, allow_loopback=allow_loopback)
        return create_verifier_app(verifier)

    try:
        web.run_app(make(), host=host, port=port, print=lambda text: click.echo(text, err=True))
    except DidvcError as error:
        fail(error, False)
    except OSError as error:  # the port is taken, the host is not this machine's
        fail(DidvcError(f"cannot serve on {host}:{port}: {error.strerror or error}", code="IO_ERROR"), False)
