"""ecdsa-rdfc-2019: ECDSA P-256/SHA-256 or P-384/SHA-384 over RDFC-1.0; signatures raw r ‖ s.

With a P-384 key, SHA-384 is also RDFC-1.0's own hash (it decides blank-node labels), so a
document with several blank nodes canonicalizes differently than for P-256.

https://www.w3.org/TR/vc-di-ecdsa/#ecdsa-rdfc-2019
"""

from didvc.keys import KeyType
from didvc.proofs._suite import Cryptosuite, rdfc

SUITE = Cryptosuite(
    name="ecdsa-rdfc-2019",
    proof_type="DataIntegrityProof",
    key_types=frozenset({KeyType.P256, KeyType.P384}),
    canonicalize=rdfc,
    rdfc_hash_by_key=True,  # vc-di-ecdsa §3.1: RDFC-1.0 hashes with SHA-384 for P-384 keys
)
