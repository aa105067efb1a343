"""didvc's shared core: what the issuer, the wallet and the verifier all stand on.

No network, and nothing from the packages above it (``resolvers``, ``issuer``, ``wallet``,
``verifier``, ``didvc_cli``). Anything that needs I/O (resolving a DID, fetching a status list)
is passed in as an object with a small interface; :mod:`didvc.storage` is its one module that
touches the disk. Each spec step lives in one module:

- :mod:`didvc.keys`        key pairs, public keys, Multikey/JWK, the Signer interface
                           (:mod:`didvc._ed25519`: the strict Ed25519 point rules)
- :mod:`didvc.encoding`    multibase, multicodec, base64url, strict JSON
- :mod:`didvc.did`         DID/DID URL syntax, DID documents, verification-method lookup
- :mod:`didvc.jose`        compact JWS for vc+jwt / vp+jwt (VC-JOSE-COSE)
- :mod:`didvc.credentials` the VC Data Model 1.1/2.0 checks, vc+jwt envelopes
- :mod:`didvc.proofs`      Data Integrity: one procedure, one small module per cryptosuite
- :mod:`didvc.jsonld`      bundled contexts, safe mode; :mod:`didvc.to_rdf` JSON-LD to RDF;
                           :mod:`didvc.rdfc` RDFC-1.0 within a work budget
- :mod:`didvc.request`     the claims binding a vp+jwt to one HTTP request
- :mod:`didvc.status`      Bitstring Status List: the codec and the entry's shape
- :mod:`didvc.sealing`     secrets at rest under a passphrase (Argon2id, ChaCha20-Poly1305)
- :mod:`didvc.storage`     private and atomic files; :mod:`didvc.cache` an expiring cache
- :mod:`didvc.errors`      the one error tree and its problem codes
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
