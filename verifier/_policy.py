"""What a verifier accepts beyond "the signatures hold": issuers, types, scopes, age, suites.

A policy file (TOML or JSON) looks like::

    trusted_issuers = { AgentCredential = ["did:web:issuer.example"] }   # or "*" = any type
    required_types = ["AgentCredential"]
    max_credential_age = 86400            # seconds since validFrom
    allowed_suites = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]
    allowed_algorithms = ["EdDSA", "ES256"]
    holder_binding_exempt_types = []
    status_fail_open = false
    max_token_lifetime = 300
    clock_skew = 60
    require_nonce = false

    [[routes]]
    method = "GET"                         # or "*"
    path = "/orders/*"                     # shell-style pattern
    scopes = ["orders:read"]

Routes are tried in order; the first match decides the scopes a request needs. A request that
matches no route needs no scope (add a ``path = "*"`` route last to require one everywhere).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from didvc.errors import MalformedValueError

__all__ = ["Policy", "RouteRule"]


@dataclass(frozen=True)
class RouteRule:
    method: str
    path: str
    scopes: frozenset[str]

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method.upper() == method.upper()) and fnmatchcase(path, self.path)


def _strings(value: Any, what: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MalformedValueError(f"policy {what} must be a list of strings")
    return frozenset(value)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise MalformedValueError(f"policy {what} must be a non-negative number of seconds")
    return float(value)


@dataclass(frozen=True)
class Policy:
    trusted_issuers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    required_types: frozenset[str] = frozenset()
    routes: tuple[RouteRule, ...] = ()
    max_credential_age: timedelta | None = None
    allowed_suites: frozenset[str] | None = None
    allowed_algorithms: frozenset[str] | None = None
    holder_binding_exempt_types: frozenset[str] = frozenset()
    status_fail_open: bool = False
    max_token_lifetime: int = 300
    clock_skew: int = 60
    require_nonce: bool = False

    def required_scopes(self, method: str, path: str) -> frozenset[str]:
        for rule in self.routes:
            if rule.matches(method, path):
                return rule.scopes
        return frozenset()

    def issuers_for(self, types: Iterable[str]) -> frozenset[str] | None:
        """The issuers trusted for a credential with these types; None when no rule applies."""
        trusted: set[str] = set()
        found = False
        for credential_type in [*types, "*"]:
            issuers = self.trusted_issuers.get(credential_type)
            if issuers is not None:
                trusted |= issuers
                found = True
        return frozenset(trusted) if found else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise MalformedValueError(f"unknown policy setting(s): {', '.join(sorted(unknown))}")
        issuers = data.get("trusted_issuers", {})
        if not isinstance(issuers, dict):
            raise MalformedValueError("policy trusted_issuers must be a table of type → issuers")
        routes = []
        for rule in data.get("routes", []):
            if not isinstance(rule, dict) or not isinstance(rule.get("path"), str):
                raise MalformedValueError("each policy route needs a path")
            routes.append(
                RouteRule(
                    str(rule.get("method", "*")), rule["path"], _strings(rule.get("scopes", []), "scopes")
                )
            )
        age = data.get("max_credential_age")
        return cls(
            trusted_issuers={k: _strings(v, f"trusted_issuers.{k}") for k, v in issuers.items()},
            required_types=_strings(data.get("required_types", []), "required_types"),
            routes=tuple(routes),
            max_credential_age=timedelta(seconds=_number(age, "max_credential_age"))
            if age is not None
            else None,
            allowed_suites=_strings(data["allowed_suites"], "allowed_suites")
            if "allowed_suites" in data
            else None,
            allowed_algorithms=(
                _strings(data["allowed_algorithms"], "allowed_algorithms")
                if "allowed_algorithms" in data
                else None
            ),
            holder_binding_exempt_types=_strings(data.get("holder_binding_exempt_types", []), "exempt types"),
            status_fail_open=bool(data.get("status_fail_open", False)),
            max_token_lifetime=int(_number(data.get("max_token_lifetime", 300), "max_token_lifetime")),
            clock_skew=int(_number(data.get("clock_skew", 60), "clock_skew")),
            require_nonce=bool(data.get("require_nonce", False)),
        )

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read a policy from a ``.toml`` or ``.json`` file."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise MalformedValueError(f"policy file {path.name} is not valid: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedValueError("a policy file must hold a table/object")
        return cls.from_dict(data)
