"""ecdsa-jcs-2019: ECDSA P-256/SHA-256 or P-384/SHA-384 over JCS; the proof carries @context.

https://www.w3.org/TR/vc-di-ecdsa/#ecdsa-jcs-2019
"""

from didvc.keys import KeyType
from didvc.proofs._suite import Cryptosuite, jcs

SUITE = Cryptosuite(
    name="ecdsa-jcs-2019",
    proof_type="DataIntegrityProof",
    key_types=frozenset({KeyType.P256, KeyType.P384}),
    canonicalize=jcs,
    proof_context=True,
)
