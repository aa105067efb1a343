"""eddsa-jcs-2022: Ed25519 over JCS (RFC 8785), SHA-256; the proof carries the document's @context.

https://www.w3.org/TR/vc-di-eddsa/#eddsa-jcs-2022
"""

from didvc.keys import KeyType
from didvc.proofs._suite import Cryptosuite, jcs

SUITE = Cryptosuite(
    name="eddsa-jcs-2022",
    proof_type="DataIntegrityProof",
    key_types=frozenset({KeyType.ED25519}),
    canonicalize=jcs,
    proof_context=True,
)
