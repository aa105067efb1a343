"""eddsa-rdfc-2022: Ed25519 over RDFC-1.0 canonical N-Quads, SHA-256.

https://www.w3.org/TR/vc-di-eddsa/#eddsa-rdfc-2022
"""

from didvc.keys import KeyType
from didvc.proofs._suite import Cryptosuite, rdfc

SUITE = Cryptosuite(
    name="eddsa-rdfc-2022",
    proof_type="DataIntegrityProof",
    key_types=frozenset({KeyType.ED25519}),
    canonicalize=rdfc,
)
