"""The Cryptosuite interface and the two transformations suites share (low-level).

A suite supplies only what differs between suites: its name and proof type, the key types it
signs with, how a document and its proof configuration become bytes (RDFC-1.0 or JCS), and the
hash. The generic procedure in :mod:`didvc.proofs._procedure` does the rest, once, for all.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import rfc8785

from didvc import jsonld
from didvc.errors import MalformedValueError, ProofTransformationError
from didvc.keys import KeyType
from didvc.rdfc import DEFAULT_MAX_WORK_FACTOR

__all__ = ["Cryptosuite", "jcs", "rdfc"]

Hash = Callable[[bytes], bytes]

#: Proof configurations remembered per suite (a few hundred bytes each, at most this many).
_CONFIG_MEMO_ENTRIES: Final = 256
_CONFIG_MEMO_MAX_BYTES: Final = 2048


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _sha384(data: bytes) -> bytes:
    return hashlib.sha384(data).digest()


def rdfc(
    document: dict[str, Any],
    hash_algorithm: str = "sha256",
    *,
    max_work_factor: float = DEFAULT_MAX_WORK_FACTOR,
) -> bytes:
    """RDFC-1.0 canonical N-Quads (safe mode), UTF-8."""
    return jsonld.canonicalize(
        document, hash_algorithm=hash_algorithm, max_work_factor=max_work_factor
    ).encode("utf-8")


def jcs(document: dict[str, Any], *, max_work_factor: float = DEFAULT_MAX_WORK_FACTOR) -> bytes:
    """RFC 8785 JSON Canonicalization Scheme (linear: ``max_work_factor`` does not apply)."""
    try:
        return rfc8785.dumps(document)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise MalformedValueError(f"document cannot be canonicalized with JCS: {exc}") from None


@dataclass(frozen=True)
class Cryptosuite:
    """What one cryptosuite contributes to the generic Data Integrity procedure.

    ``name`` is the ``cryptosuite`` value (for legacy suites, the proof ``type``);
    ``canonicalize`` turns both the unsecured document and the proof configuration into bytes
    (:meth:`transform` adds the key: with ``rdfc_hash_by_key``, RDFC-1.0 itself hashes with
    SHA-384 for P-384 keys, as ecdsa-rdfc-2019 requires);
    ``hash_for`` picks the hash for a key type; ``proof_context`` says whether the proof itself
    carries ``@context`` (the JCS suites) and so whether it is checked against the document's;
    ``own_context`` is a legacy suite's context, which some signers put in the proof instead of
    the document (its terms define the proof's).
    """

    name: str
    proof_type: str
    key_types: frozenset[KeyType]
    canonicalize: Callable[..., bytes]
    proof_context: bool = False
    legacy: bool = False
    own_context: str | None = None
    rdfc_hash_by_key: bool = False
    _config_memo: dict[tuple[bytes, str, float], bytes] = field(
        default_factory=dict, compare=False, repr=False
    )

    def transform(
        self,
        document: dict[str, Any],
        key_type: KeyType | str,
        *,
        max_work_factor: float = DEFAULT_MAX_WORK_FACTOR,
    ) -> bytes:
        """The bytes that get hashed for a proof made with a ``key_type`` key."""
        if self.rdfc_hash_by_key and key_type == KeyType.P384:
            return rdfc(document, "sha384", max_work_factor=max_work_factor)
        return self.canonicalize(document, max_work_factor=max_work_factor)

    def transform_config(
        self,
        config: dict[str, Any],
        key_type: KeyType | str,
        *,
        max_work_factor: float = DEFAULT_MAX_WORK_FACTOR,
    ) -> bytes:
        """:meth:`transform` for a proof configuration, remembered by its exact JSON values
        (``marshal``: equal bytes are equal members, in equal order, of equal types). An issuer
        signs many credentials in one second with one key, and verifiers meet them: the same
        configuration comes again and again, and its RDFC-1.0 costs as much as a small
        credential's. Failures are not remembered."""
        try:
            exact = marshal.dumps(config, 2)
        except ValueError:  # not JSON values, or nested too deeply: the transformation says why
            return self.transform(config, key_type, max_work_factor=max_work_factor)
        if len(exact) > _CONFIG_MEMO_MAX_BYTES:
            return self.transform(config, key_type, max_work_factor=max_work_factor)
        key = (exact, str(key_type), max_work_factor)
        memo = self._config_memo
        transformed = memo.get(key)
        if transformed is None:
            transformed = self.transform(config, key_type, max_work_factor=max_work_factor)
            if len(memo) >= _CONFIG_MEMO_ENTRIES:
                memo.clear()  # a new second, a new key: the old ones rarely come back
            memo[key] = transformed
        return transformed

    @property
    def uses_rdfc(self) -> bool:
        """Whether the transformation is RDFC-1.0 (JSON-LD work), not the linear JCS."""
        return self.canonicalize is rdfc

    def hash_for(self, key_type: KeyType | str) -> Hash:
        """SHA-384 for P-384 keys, SHA-256 otherwise (ECDSA suites §3.3, EdDSA suites §3.3)."""
        return _sha384 if key_type == KeyType.P384 else _sha256

    def hash_data(self, transformed: bytes, canonical_config: bytes, key_type: KeyType | str) -> bytes:
        """hashData = H(canonical proof configuration) ‖ H(transformed document), proof first."""
        digest = self.hash_for(key_type)
        return digest(canonical_config) + digest(transformed)

    def check_proof_shape(self, proof: dict[str, Any]) -> None:
        """The suite's own checks on ``type`` and ``cryptosuite`` (PROOF_TRANSFORMATION_ERROR)."""
        if proof.get("type") != self.proof_type:
            raise ProofTransformationError(f"proof type must be {self.proof_type} for {self.name}")
        if self.legacy:
            if "cryptosuite" in proof:
                raise ProofTransformationError(f"a {self.proof_type} proof has no cryptosuite")
        elif proof.get("cryptosuite") != self.name:
            raise ProofTransformationError(f"cryptosuite must be {self.name}")
