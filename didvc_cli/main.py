"""The ``didvc`` root group: its own commands (resolve, keygen, verify, demo) and the groups of
the issuer and the wallet."""

from __future__ import annotations

import importlib
import json
import re
import sys
from typing import Any, Final, TypeVar

import click

from didvc import __version__
from didvc_cli.support import LOOPBACK_WARNING, development_warning, forward_options, run
from didvc_cli.trust import policy_from, trust_options

T = TypeVar("T")

#: The key types that sign (didvc.keys.KeyType but X25519), named here so that the command line
#: starts without loading the cryptography (a test keeps the two in step).
KEY_TYPES = ["Ed25519", "P-256", "P-384", "secp256k1"]


class _Components(click.Group):
    """The root group: the issuer's and the wallet's command groups are imported when used, so
    ``didvc --help``, ``keygen`` or ``resolve`` do not load the issuer, the wallet and JSON-LD."""

    components: Final = {
        "issuer": ("didvc_cli.issuer", "issuer_group", "Issue, list, suspend and revoke agent credentials."),
        "wallet": (
            "didvc_cli.wallet",
            "wallet_group",
            "The agent's wallet: DIDs, keys, credentials and request headers.",
        ),
        "verifier": ("didvc_cli.verifier", "verifier_group", "A W3C VC-API verifier service."),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.components])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.components:
            return super().get_command(ctx, name)
        module, attribute, _ = self.components[name]
        group = getattr(importlib.import_module(module), attribute)
        forward_options(group)
        return group  # type: ignore[no-any-return]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, command.get_short_help_str()) for name, command in self.commands.items()]
        rows += [(name, help_text) for name, (_, _, help_text) in self.components.items()]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group(cls=_Components)
@click.version_option(__version__, prog_name="didvc")
@click.option(
    "--config",
    envvar="DIDVC_CONFIG",
    show_envvar=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Defaults for any option, in TOML (else ./didvc.toml, else ~/.config/didvc/config.toml).",
)
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """Verifiable identity for software agents: DIDs, credentials and request presentations.

    Every option's default can come from a configuration file (--config); a flag wins over an
    environment variable, which wins over the file.
    """
    from didvc_cli.config import config_path, default_map

    path = config_path(config)
    if path is not None:
        ctx.default_map = default_map(ctx, ctx.command, path)


@main.command()
@click.argument("did")
@click.option(
    "--allow-loopback",
    is_flag=True,
    help="DEVELOPMENT ONLY: resolve did:web on this machine over plain http (127.0.0.1, localhost).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON only.")
def resolve(did: str, allow_loopback: bool, as_json: bool) -> None:
    """Resolve DID and print its DID document."""
    from resolvers import default_resolver

    if allow_loopback:
        development_warning("--allow-loopback: did:web over plain http on this machine is accepted")

    async def go() -> dict[str, Any]:
        resolver = default_resolver(allow_http=allow_loopback, allow_loopback=allow_loopback)
        try:
            return (await resolver.resolve(did)).data
        finally:
            await resolver.close()

    document = run(go, as_json)
    click.echo(json.dumps(document, indent=None if as_json else 2))


@main.command()
@click.option("--type", "key_type", type=click.Choice(KEY_TYPES), default="Ed25519", show_default=True)
@click.option("--show-secret", is_flag=True, help="Also print the secret key (secretKeyMultibase).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON only.")
def keygen(key_type: str, show_secret: bool, as_json: bool) -> None:
    """Generate a key pair and print its did:key and public Multikey."""
    from didvc.keys import KeyPair
    from resolvers import did_key_from_public_key

    pair = KeyPair.generate(key_type)
    out = {
        "did": did_key_from_public_key(pair.public_key),
        "type": key_type,
        "publicKeyMultibase": pair.public_key.to_multikey(),
    }
    if show_secret:
        out["secretKeyMultibase"] = pair.secret_multikey()
    if as_json:
        click.echo(json.dumps(out))
    else:
        for name, value in out.items():
            click.echo(f"{name}: {value}")


@main.command()
@click.argument("source", type=click.File("rb"), metavar="FILE|-")
@click.option("--audience", help="The audience a request token must name (the API's origin).")
@click.option("--method", help="The HTTP method a request token must be bound to.")
@click.option("--url", help="The URL a request token must be bound to.")
@click.option("--body-file", type=click.File("rb"), help="The request body a token's digest must match.")
@click.option(
    "--challenge",
    "--nonce",
    "challenge",
    help="The value the server issued: a request token's nonce, a Data Integrity proof's challenge.",
)
@click.option(
    "--general",
    is_flag=True,
    help="Verify a presentation as the VC-API does (no request; --challenge and --domain if expected).",
)
@click.option("--domain", help="With --general: the domain the presentation's proof must name.")
@trust_options
@click.option("--json", "as_json", is_flag=True, help="Print the verification result as JSON.")
def verify(
    source: Any,
    audience: str | None,
    method: str | None,
    url: str | None,
    body_file: Any,
    challenge: str | None,
    general: bool,
    domain: str | None,
    policy_file: str | None,
    trusted: tuple[str, ...],
    principals: tuple[str, ...],
    trust_any_issuer: bool,
    allow_loopback: bool,
    as_json: bool,
) -> None:
    """Verify a credential or a presentation; exit 0 only when it verifies.

    FILE holds a Data Integrity credential or presentation (JSON), a vc+jwt, or a vp+jwt
    request token, also as the header line ``wallet present`` prints (``Authorization: VP
    <token>``) or its value (``VP <token>``); "-" reads standard input. Trust is configured,
    never assumed: a credential counts only from an issuer named with --trust or in the
    --policy file.
    """
    from verifier import Verifier

    if allow_loopback:
        development_warning(LOOPBACK_WARNING)
    data = _without_header(source.read(2 * 1024 * 1024 + 1))
    body = body_file.read() if body_file is not None else None

    async def go() -> Any:
        policy = policy_from(policy_file, trusted, trust_any_issuer, principals)
        async with Verifier(  # one input the user chose: no worker process to start for it
            policy=policy,
            allow_http=allow_loopback,
            allow_loopback=allow_loopback,
            isolate_canonicalization=False,
        ) as verifier:
            if _is_presentation(data) and general:
                return await verifier.verify_presentation(
                    data, mode="general", challenge=challenge, domain=domain
                )
            if _is_presentation(data):
                return await verifier.verify_presentation(
                    data,
                    audience=audience,
                    method=method,
                    url=url,
                    body=body,
                    challenge=challenge,
                )
            return await verifier.verify_credential(data)

    result = run(go, as_json)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:
        if result.holder:
            click.echo(f"holder:  {result.holder}")
            if result.principal:
                click.echo(f"for:     {result.principal} (a delegation chain of {len(result.delegation)})")
            click.echo(f"scopes:  {', '.join(result.scopes) or '(none)'}")
        for credential in result.credentials:
            click.echo(f"credential {credential.id or '(no id)'}")
            click.echo(f"  issuer:  {credential.issuer}")
            click.echo(f"  types:   {', '.join(credential.types)}")
            if credential.cryptosuites:
                click.echo(f"  secured: {', '.join(credential.cryptosuites)}")
        verdict = (
            click.style("verified", fg="green") if result.verified else click.style("NOT verified", fg="red")
        )
        click.echo(verdict)
        for code, message in result.problems:
            click.echo(f"  [{code}] {message}")
    sys.exit(0 if result.verified else 1)


_HEADER_LINE = re.compile(rb"^[A-Za-z0-9-]+:[ \t]*")


def _without_header(data: bytes) -> bytes:
    """A token given as a whole header line, or as its value: the token."""
    text = data.strip()
    if text.startswith((b"{", b"[")):
        return data
    text = _HEADER_LINE.sub(b"", text, count=1)
    return text[3:].lstrip() if text[:3].upper() == b"VP " else text


def _is_presentation(data: bytes) -> bool:
    """A vp+jwt, or JSON (or base64url JSON) typed VerifiablePresentation."""
    from didvc.encoding import b64url_decode, strict_json_loads
    from didvc.errors import DidvcError

    text = data.strip()
    try:
        if text.count(b".") == 2 and not text.startswith(b"{"):
            header = strict_json_loads(b64url_decode(text.split(b".")[0]))
            return isinstance(header, dict) and str(header.get("typ", "")).lower().endswith("vp+jwt")
        document = strict_json_loads(text if text.startswith(b"{") else b64url_decode(text))
    except DidvcError:
        return False
    types = document.get("type") if isinstance(document, dict) else None
    return "VerifiablePresentation" in (types if isinstance(types, list) else [types])


@main.command()
@click.option("--out", type=click.Path(dir_okay=False), help="Write the context to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print its URL, digest and size as JSON only.")
def context(out: str | None, as_json: bool) -> None:
    """The agent context every issued credential uses (https://w3id.org/didvc/agent/v1): the
    file and its SRI digest, for a verifier that bundles it instead of fetching it."""
    from importlib import resources

    from didvc.jsonld import bundled_context_digest

    url = "https://w3id.org/didvc/agent/v1"
    data = resources.files("didvc").joinpath("contexts/didvc-agent-v1.jsonld").read_bytes()
    digest = bundled_context_digest(url)
    about = {"url": url, "digestSRI": digest, "bytes": len(data)}
    if out:
        with open(out, "wb") as handle:
            handle.write(data)
    if as_json:
        click.echo(json.dumps(about))
    elif out:
        click.echo(f"wrote {out}: {about['url']}, {digest}")
    else:
        click.echo(data.decode(), nl=False)
        click.echo(f"# {about['url']} {digest}", err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the steps as JSON only.")
def demo(as_json: bool) -> None:
    """Run the end-to-end demo on embedded defaults; exit 0 only if every expectation held."""
    from didvc_cli.demo import run_demo

    ok = run(lambda: run_demo(as_json), as_json)
    sys.exit(0 if ok else 1)
