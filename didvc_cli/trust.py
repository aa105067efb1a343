"""The trust options ``verify`` and ``verifier serve`` share, and the policy they make: trust is
configured (a policy file, issuers named with --trust), never assumed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from verifier import Policy

__all__ = ["policy_from", "trust_options"]

F = TypeVar("F", bound=Callable[..., Any])


def trust_options(command: F) -> F:
    """--policy, --trust, --trust-any-issuer and --allow-loopback on ``command``."""
    for option in reversed(
        [
            click.option(
                "--policy",
                "policy_file",
                type=click.Path(exists=True, dir_okay=False),
                help="A policy file (TOML/JSON).",
            ),
            click.option(
                "--trust",
                "trusted",
                multiple=True,
                metavar="DID",
                help="An issuer whose credentials count (repeatable; added to the policy's trusted issuers).",
            ),
            click.option(
                "--trust-principal",
                "principals",
                multiple=True,
                metavar="DID",
                help="A principal delegation chains may start from (repeatable; docs/delegation.md).",
            ),
            click.option(
                "--trust-any-issuer",
                is_flag=True,
                help="DEVELOPMENT ONLY: let a credential from any issuer count.",
            ),
            click.option(
                "--allow-loopback",
                is_flag=True,
                help="DEVELOPMENT ONLY: did:web and status lists on this machine over plain http.",
            ),
        ]
    ):
        command = option(command)
    return command


def policy_from(
    policy_file: str | None,
    trusted: tuple[str, ...],
    trust_any_issuer: bool,
    principals: tuple[str, ...] = (),
) -> Policy:
    """The policy file's policy (or the default), the --trust issuers added for every type and
    the --trust-principal DIDs to its principals."""
    from verifier import Policy

    policy = Policy.load(policy_file) if policy_file else Policy()
    if trusted:
        issuers = {**policy.trusted_issuers}
        issuers["*"] = issuers.get("*", frozenset()) | frozenset(trusted)
        policy = replace(policy, trusted_issuers=issuers)
    if principals:
        policy = replace(policy, trusted_principals=policy.trusted_principals | frozenset(principals))
    if trust_any_issuer:
        click.echo("warning: --trust-any-issuer: any issuer's credential counts (development only)", err=True)
        policy = replace(policy, trust_any_issuer=True)
    return policy
