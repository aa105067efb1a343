"""What verification returns: a result with problem codes, never an exception for bad input."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from didvc.errors import DidvcError

__all__ = ["CredentialResult", "Problem", "VerificationResult"]


class Problem(tuple[str, str]):
    """A ``(code, message)`` pair; ``could_not_check`` marks "not checked" as opposed to "invalid"."""

    could_not_check: bool

    def __new__(cls, code: str, message: str, could_not_check: bool = False) -> Problem:
        self = super().__new__(cls, (code, message))
        self.could_not_check = could_not_check
        return self

    @classmethod
    def from_error(cls, error: DidvcError) -> Problem:
        return cls(error.code, str(error), error.could_not_check)

    @property
    def code(self) -> str:
        return self[0]

    @property
    def message(self) -> str:
        return self[1]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.could_not_check:
            out["couldNotCheck"] = True
        return out


@dataclass(slots=True)  # one per credential of every request: no __dict__ to make
class CredentialResult:
    """One credential as the verifier saw it."""

    verified: bool
    id: str | None = None
    issuer: str | None = None
    types: tuple[str, ...] = ()
    claims: list[dict[str, Any]] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    format: str = "ldp"  # "ldp" (Data Integrity) or "jwt" (vc+jwt)
    cryptosuites: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "id": self.id,
            "issuer": self.issuer,
            "types": list(self.types),
            "claims": self.claims,
            "validFrom": self.valid_from.isoformat() if self.valid_from else None,
            "validUntil": self.valid_until.isoformat() if self.valid_until else None,
            "format": self.format,
            "cryptosuites": list(self.cryptosuites),
            "problems": [p.to_json() for p in self.problems],
            "warnings": [p.to_json() for p in self.warnings],
        }


@dataclass(slots=True)
class VerificationResult:
    """The verdict on a credential or presentation.

    ``verified`` is true only when every check passed; ``problems`` lists every failure as
    ``(code, message)``. ``warnings`` lists checks that could not be made but that the policy let
    pass (``status_fail_open``). ``could_not_check`` is true when something could not be reached
    (a DID document, a status list), whether that failed the verification or only warned.
    """

    verified: bool
    holder: str | None = None
    credentials: list[CredentialResult] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: The DID the holder acts for, through a delegation chain (None: for itself)
    principal: str | None = None
    #: The chain's credential ids, from the principal's link down to the holder's
    delegation: list[str] = field(default_factory=list)

    @property
    def could_not_check(self) -> bool:
        return any(p.could_not_check for p in (*self.problems, *self.warnings))

    def to_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "holder": self.holder,
            "principal": self.principal,
            "delegation": self.delegation,
            "scopes": self.scopes,
            "couldNotCheck": self.could_not_check,
            "credentials": [c.to_json() for c in self.credentials],
            "problems": [p.to_json() for p in self.problems],
            "warnings": [p.to_json() for p in self.warnings],
        }
