"""The verifier: one call that says whether a credential (or presentation) verifies, and why not.

>>> from verifier import Verifier
>>> result = await Verifier().verify_credential(vc)   # doctest: +SKIP
>>> result.verified, result.problems                  # doctest: +SKIP
"""

from verifier._result import CredentialResult, Problem, VerificationResult
from verifier._verifier import Verifier

__all__ = ["CredentialResult", "Problem", "VerificationResult", "Verifier"]
