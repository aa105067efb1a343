"""W3C Data Integrity proofs: one generic procedure, one small module per cryptosuite.

Suites: ``eddsa-rdfc-2022``, ``eddsa-jcs-2022``, ``ecdsa-rdfc-2019``, ``ecdsa-jcs-2019`` (P-256,
P-384), and ``Ed25519Signature2020`` (verify only).

>>> secured = await add_proof(credential, signer, cryptosuite="eddsa-rdfc-2022")   # doctest: +SKIP
>>> purpose = AssertionMethod(controller=issuer)
>>> await verify_proofs(secured, resolver=resolver, purpose=purpose)  # doctest: +SKIP
"""

from didvc.proofs._procedure import (
    DEFAULT_MAX_CLOCK_SKEW,
    SUITES,
    TransformJob,
    VerifiedProof,
    WorkLimits,
    add_proof,
    default_cryptosuite,
    format_datetime,
    parse_datetime,
    verify_proofs,
)
from didvc.proofs._suite import Cryptosuite
from didvc.proofs.purposes import AssertionMethod, Authentication, ProofPurpose

__all__ = [
    "DEFAULT_MAX_CLOCK_SKEW",
    "SUITES",
    "AssertionMethod",
    "Authentication",
    "Cryptosuite",
    "ProofPurpose",
    "TransformJob",
    "VerifiedProof",
    "WorkLimits",
    "add_proof",
    "default_cryptosuite",
    "format_datetime",
    "parse_datetime",
    "verify_proofs",
]
