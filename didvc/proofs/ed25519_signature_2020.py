"""Ed25519Signature2020 (legacy, verify only): Ed25519 over RDFC-1.0 with the ed25519-2020 context.

https://w3c.github.io/vc-di-eddsa/#ed25519signature2020-0 — the proof ``type`` names the suite
and there is no ``cryptosuite`` member. Some signers (DIDKit) put the suite's context in the proof
rather than in the document; the proof's options are then read under that context alone.
"""

from didvc.keys import KeyType
from didvc.proofs._suite import Cryptosuite, rdfc

SUITE = Cryptosuite(
    name="Ed25519Signature2020",
    proof_type="Ed25519Signature2020",
    key_types=frozenset({KeyType.ED25519}),
    canonicalize=rdfc,
    legacy=True,
    own_context="https://w3id.org/security/suites/ed25519-2020/v1",
)
