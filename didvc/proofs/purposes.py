"""Proof purposes: why a proof was made, and what that requires of its verification method.

The generic procedure already resolved the method through the purpose's relationship
(``assertionMethod`` or ``authentication``) of its controller's DID document; a purpose adds the
checks that depend on the document or the verifier's expectations.
https://www.w3.org/TR/vc-data-integrity/#proof-purposes
"""

from __future__ import annotations

from typing import Any, ClassVar

from didvc.did import VerificationMethod
from didvc.errors import InvalidChallengeError, InvalidDomainError, ProofVerificationError

__all__ = ["AssertionMethod", "Authentication", "ProofPurpose"]


class ProofPurpose:
    """A proof purpose: its ``term`` is both the ``proofPurpose`` value and the relationship."""

    term: ClassVar[str]

    def __init__(self, *, controller: str | None = None) -> None:
        #: When set, the verification method must be controlled by exactly this DID.
        self.controller = controller

    def options(self) -> dict[str, Any]:
        """Members this purpose adds to a proof when one is created."""
        return {}

    def check(self, proof: dict[str, Any], method: VerificationMethod) -> None:
        if self.controller is not None and method.controller != self.controller:
            raise ProofVerificationError(f"proof was made by {method.controller}, expected {self.controller}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(controller={self.controller!r})"


class AssertionMethod(ProofPurpose):
    """``assertionMethod``: an issuer's statement. For a credential, ``controller`` is its issuer."""

    term = "assertionMethod"


class Authentication(ProofPurpose):
    """``authentication``: a holder proving control, bound to a ``challenge`` and a ``domain``."""

    term = "authentication"

    def __init__(
        self,
        *,
        challenge: str | None = None,
        domain: str | None = None,
        controller: str | None = None,
    ) -> None:
        super().__init__(controller=controller)
        self.challenge = challenge
        self.domain = domain

    def options(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.challenge is not None:
            out["challenge"] = self.challenge
        if self.domain is not None:
            out["domain"] = self.domain
        return out

    def check(self, proof: dict[str, Any], method: VerificationMethod) -> None:
        if self.challenge is not None and proof.get("challenge") != self.challenge:
            raise InvalidChallengeError("proof challenge does not match the expected challenge")
        if self.domain is not None:
            domain = proof.get("domain")
            domains = domain if isinstance(domain, list) else [domain]
            if self.domain not in domains:
                raise InvalidDomainError("proof domain does not match the expected domain")
        super().check(proof, method)
