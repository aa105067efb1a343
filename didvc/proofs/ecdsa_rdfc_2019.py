"""ecdsa-rdfc-2019: ECDSA P-256/SHA-256 or P-384/SHA-384 over RDFC-1.0; signatures raw r ‖ s.

https://www.w3.org/TR/vc-di-ecdsa/#ecdsa-rdfc-2019
"""

from didvc.keys import KeyType
from didvc.proofs._suite import Cryptosuite, rdfc

SUITE = Cryptosuite(
    name="ecdsa-rdfc-2019",
    proof_type="DataIntegrityProof",
    key_types=frozenset({KeyType.P256, KeyType.P384}),
    canonicalize=rdfc,
)
