"""didvc's shared core: keys, DIDs, JOSE, status lists and (soon) Data Integrity proofs.

Pure computation: no network, no storage. Anything that needs I/O (resolving a DID, fetching a
status list) is passed in as an object with a small interface. The modules:

- :mod:`didvc.keys`      key pairs, public keys, Multikey/JWK, the Signer interface
- :mod:`didvc.encoding`  multibase, multicodec, base64url
- :mod:`didvc.did`       DID/DID URL parsing, DID documents, verification-method lookup
- :mod:`didvc.jose`      compact JWS for vc+jwt / vp+jwt
- :mod:`didvc.status`    Bitstring Status List codec
- :mod:`didvc.errors`    the error hierarchy and problem codes
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
