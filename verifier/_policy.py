"""What a verifier accepts beyond "the signatures hold": issuers, types, scopes, limits.

Trust is configured, never assumed: with no ``trusted_issuers`` a credential grants nothing,
and a presentation without credentials is refused unless ``allow_authentication_only``. A
policy file (TOML or JSON) looks like::

    trusted_issuers = { AgentCredential = ["did:web:issuer.example"] }   # "*" = any type
    required_types = ["AgentCredential"]
    max_credential_age = 86400            # seconds since validFrom
    allowed_suites = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]
    allowed_algorithms = ["EdDSA", "ES256"]
    holder_binding_exempt_types = []
    status_fail_open = false
    max_token_lifetime = 300
    clock_skew = 60
    require_nonce = false
    allow_authentication_only = false     # a token without credentials proves only who calls
    allow_unlisted_routes = false         # with routes, a request no route matches is refused
    max_credentials = 8                   # per presentation
    max_presentation_bytes = 65536
    rdfc_work_factor = 1                  # RDFC-1.0 blank-node budget (the reference's default)
    trust_any_issuer = false              # DEVELOPMENT ONLY: any issuer's credential counts

    [[routes]]
    method = "GET"                         # or "*"
    path = "/orders/*"                     # shell-style pattern
    scopes = ["orders:read"]

Routes are tried in order; the first match decides the scopes a request needs. When a policy
has routes, a request that matches none is refused unless ``allow_unlisted_routes``.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path
from typing import Any, Final

from didvc.development import refuse_in_production
from didvc.errors import MalformedValueError
from didvc.rdfc import DEFAULT_MAX_WORK_FACTOR

__all__ = ["Policy", "RouteRule"]

_HUNDRED_YEARS: Final = 100 * 366 * 86400
_ROUTE_MEMORY: Final = 4096  # (method, path) pairs whose required scopes are remembered ...
_ROUTE_MEMORY_PATH: Final = 512  # ... for paths this long at most (2 MB in all)


@dataclass(frozen=True)
class RouteRule:
    method: str
    path: str
    scopes: frozenset[str]

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method.upper() == method.upper()) and fnmatchcase(path, self.path)


@dataclass(frozen=True)
class Policy:
    trusted_issuers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    trust_any_issuer: bool = False
    required_types: frozenset[str] = frozenset()
    routes: tuple[RouteRule, ...] = ()
    allow_unlisted_routes: bool = False
    allow_authentication_only: bool = False
    max_credential_age: timedelta | None = None
    allowed_suites: frozenset[str] | None = None
    allowed_algorithms: frozenset[str] | None = None
    holder_binding_exempt_types: frozenset[str] = frozenset()
    status_fail_open: bool = False
    #: A credential's proof must be made by a key of its issuer (off: any key's proof that
    #: verifies counts, as for credentials whose issuer is an https URL)
    signer_is_issuer: bool = True
    #: The DIDs a delegation chain may start from (docs/delegation.md), and its longest chain
    trusted_principals: frozenset[str] = frozenset()
    #: ... or whoever a presented credential of one of these types from a trusted issuer is about
    principal_credential_types: frozenset[str] = frozenset()
    max_delegation_depth: int = 3
    max_token_lifetime: int = 300
    clock_skew: int = 60
    require_nonce: bool = False
    max_credentials: int = 8
    max_presentation_bytes: int = 64 * 1024
    rdfc_work_factor: float = DEFAULT_MAX_WORK_FACTOR

    def __post_init__(self) -> None:
        if self.trust_any_issuer:
            refuse_in_production("trust_any_issuer")

    @cached_property
    def skew(self) -> timedelta:
        """``clock_skew`` as a timedelta (computed once: it is read on every request)."""
        return timedelta(seconds=self.clock_skew)

    def required_scopes(self, method: str, path: str) -> frozenset[str] | None:
        """The scopes a request needs; None when the policy has routes and none matches.
        Remembered per method and path (every request asks; matching is a pattern per rule),
        at most :data:`_ROUTE_MEMORY` of them, short ones: the paths are the callers'."""
        memory = self._route_memory
        key = (method, path)
        if key in memory:
            return memory[key]
        scopes = next((rule.scopes for rule in self.routes if rule.matches(method, path)), None)
        if scopes is None and (not self.routes or self.allow_unlisted_routes):
            scopes = frozenset()
        if len(path) <= _ROUTE_MEMORY_PATH:
            if len(memory) >= _ROUTE_MEMORY:
                memory.clear()
            memory[key] = scopes
        return scopes

    @cached_property
    def _route_memory(self) -> dict[tuple[str, str], frozenset[str] | None]:
        return {}

    @cached_property
    def status_hosts(self) -> frozenset[str]:
        """Who may sign a delegation's status list (docs/delegation.md): the issuers it trusts."""
        return frozenset(did for dids in self.trusted_issuers.values() for did in dids)

    def trusts(self, issuer: str | None, types: Iterable[str]) -> bool:
        """Whether a credential of these types from ``issuer`` may count at all."""
        if self.trust_any_issuer:
            return True
        if issuer is None:
            return False
        return any(issuer in self.trusted_issuers.get(t, ()) for t in (*types, "*"))

    @classmethod
    def from_dict(cls, data: Any) -> Policy:
        """A policy from parsed TOML/JSON; every setting is checked for type and range."""
        if not isinstance(data, Mapping):
            raise MalformedValueError("a policy must be a table/object of settings")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise MalformedValueError(f"unknown policy setting(s): {', '.join(sorted(map(str, unknown)))}")
        issuers = data.get("trusted_issuers", {})
        if not isinstance(issuers, Mapping):
            raise MalformedValueError("policy trusted_issuers must be a table of type → issuers")
        routes = data.get("routes", [])
        if not isinstance(routes, list):
            raise MalformedValueError("policy routes must be a list of tables")
        age = data.get("max_credential_age")
        optional_sets = {
            name: _strings(data[name], name) if name in data else None
            for name in ("allowed_suites", "allowed_algorithms")
        }
        return cls(
            trusted_issuers={str(k): _strings(v, f"trusted_issuers.{k}") for k, v in issuers.items()},
            trust_any_issuer=_bool(data, "trust_any_issuer"),
            required_types=_strings(data.get("required_types", []), "required_types"),
            routes=tuple(_route(rule) for rule in routes),
            allow_unlisted_routes=_bool(data, "allow_unlisted_routes"),
            allow_authentication_only=_bool(data, "allow_authentication_only"),
            max_credential_age=(
                timedelta(seconds=_number(age, "max_credential_age", 0, _HUNDRED_YEARS))
                if age is not None
                else None
            ),
            allowed_suites=optional_sets["allowed_suites"],
            allowed_algorithms=optional_sets["allowed_algorithms"],
            holder_binding_exempt_types=_strings(data.get("holder_binding_exempt_types", []), "exempt types"),
            status_fail_open=_bool(data, "status_fail_open"),
            signer_is_issuer=_bool(data, "signer_is_issuer", default=True),
            trusted_principals=_strings(data.get("trusted_principals", []), "trusted_principals"),
            principal_credential_types=_strings(
                data.get("principal_credential_types", []), "principal types"
            ),
            max_delegation_depth=int(
                _number(data.get("max_delegation_depth", 3), "max_delegation_depth", 1, 8)
            ),
            max_token_lifetime=int(
                _number(data.get("max_token_lifetime", 300), "max_token_lifetime", 1, 86400)
            ),
            clock_skew=int(_number(data.get("clock_skew", 60), "clock_skew", 0, 3600)),
            require_nonce=_bool(data, "require_nonce"),
            max_credentials=int(_number(data.get("max_credentials", 8), "max_credentials", 0, 1000)),
            max_presentation_bytes=int(
                _number(
                    data.get("max_presentation_bytes", 64 * 1024), "max_presentation_bytes", 1024, 16 << 20
                )
            ),
            rdfc_work_factor=_number(
                data.get("rdfc_work_factor", DEFAULT_MAX_WORK_FACTOR), "rdfc_work_factor", 0, 4
            ),
        )

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read a policy from a ``.toml`` or ``.json`` file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MalformedValueError(f"policy file {path.name} cannot be read: {exc}") from None
        try:
            data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
            raise MalformedValueError(f"policy file {path.name} is not valid: {exc}") from None
        return cls.from_dict(data)


def _route(rule: Any) -> RouteRule:
    if not isinstance(rule, Mapping) or not isinstance(rule.get("path"), str):
        raise MalformedValueError("each policy route needs a path")
    method = rule.get("method", "*")
    if not isinstance(method, str) or not method:
        raise MalformedValueError("a policy route's method must be a string")
    unknown = set(rule) - {"method", "path", "scopes"}
    if unknown:
        raise MalformedValueError(f"unknown route setting(s): {', '.join(sorted(map(str, unknown)))}")
    return RouteRule(method, rule["path"], _strings(rule.get("scopes", []), "scopes"))


def _strings(value: Any, what: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MalformedValueError(f"policy {what} must be a list of strings")
    return frozenset(value)


def _bool(data: Mapping[str, Any], name: str, *, default: bool = False) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):  # "false" must not read as true
        raise MalformedValueError(f"policy {name} must be true or false")
    return value


def _number(value: Any, what: str, low: float, high: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
        or not low <= value <= high
    ):
        raise MalformedValueError(f"policy {what} must be a number from {low:g} to {high:g}")
    return float(value)
