"""Key pairs and public keys for Ed25519, P-256, P-384 and secp256k1, in Multikey and JWK forms.

Two layers:

- :class:`PublicKey` and :class:`KeyPair` hold validated key material and sign/verify raw
  bytes. Loading refuses wrong lengths, points off the curve and (Ed25519) keys of small
  order; :meth:`PublicKey.verify` raises :class:`~didvc.errors.InvalidSignatureError`.
- :class:`Signer` is what proofs and tokens sign through: ``key_id``, ``algorithm`` and an
  async ``sign``. :class:`KeySigner` is the in-process one; a KMS or HSM fits the same seam.

Multikey: https://www.w3.org/TR/cid-1.0/#Multikey; JWK: RFC 7517, RFC 8037 (OKP), RFC 8812.
ECDSA signatures are raw ``r || s`` (IEEE P1363), as Data Integrity and JOSE use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from didvc import _ed25519
from didvc.encoding import (
    b64url_decode,
    b64url_encode,
    multibase_decode,
    multibase_encode,
    multicodec_unwrap,
    multicodec_wrap,
)
from didvc.errors import InvalidKeyError, InvalidSignatureError, MalformedValueError

__all__ = [
    "KeyPair",
    "KeySigner",
    "KeyType",
    "PublicKey",
    "Signer",
    "key_type_for_jws_alg",
]


class KeyType(StrEnum):
    """The key types didvc signs and verifies with (and X25519, for key agreement only)."""

    ED25519 = "Ed25519"
    P256 = "P-256"
    P384 = "P-384"
    SECP256K1 = "secp256k1"
    X25519 = "X25519"


@dataclass(frozen=True)
class _Spec:
    public_codec: str
    private_codec: str | None
    jws_alg: str | None
    kty: str
    public_len: int  # raw Ed25519/X25519 key, or compressed SEC1 point
    private_len: int
    curve: ec.EllipticCurve | None = None
    hash: type[hashes.HashAlgorithm] | None = None


_SPECS: Final[dict[KeyType, _Spec]] = {
    KeyType.ED25519: _Spec("ed25519-pub", "ed25519-priv", "EdDSA", "OKP", 32, 32),
    KeyType.X25519: _Spec("x25519-pub", None, None, "OKP", 32, 32),
    KeyType.P256: _Spec("p256-pub", "p256-priv", "ES256", "EC", 33, 32, ec.SECP256R1(), hashes.SHA256),
    KeyType.P384: _Spec("p384-pub", "p384-priv", "ES384", "EC", 49, 48, ec.SECP384R1(), hashes.SHA384),
    KeyType.SECP256K1: _Spec(
        "secp256k1-pub", "secp256k1-priv", "ES256K", "EC", 33, 32, ec.SECP256K1(), hashes.SHA256
    ),
}
_BY_PUBLIC_CODEC: Final = {spec.public_codec: kt for kt, spec in _SPECS.items()}
_BY_PRIVATE_CODEC: Final = {spec.private_codec: kt for kt, spec in _SPECS.items() if spec.private_codec}
_BY_JWS_ALG: Final = {spec.jws_alg: kt for kt, spec in _SPECS.items() if spec.jws_alg}


def key_type_for_jws_alg(alg: str) -> KeyType | None:
    """The one key type a JOSE ``alg`` may be used with, or None when the alg is not allowed."""
    return _BY_JWS_ALG.get(alg)


class PublicKey:
    """A validated public key; equality is by type and encoded bytes."""

    __slots__ = ("_key", "key_type", "raw")

    def __init__(self, key_type: KeyType, raw: bytes) -> None:
        """Load raw bytes (32-byte Ed25519/X25519 key, or a compressed SEC1 point) strictly."""
        spec = _SPECS[key_type]
        if not isinstance(raw, bytes | bytearray) or len(raw) != spec.public_len:
            raise InvalidKeyError(
                f"{key_type} public key must be {spec.public_len} bytes, got "
                f"{len(raw) if isinstance(raw, bytes | bytearray) else type(raw).__name__}"
            )
        raw = bytes(raw)
        self.key_type = key_type
        self.raw = raw
        # Ed25519 is verified by libsodium on the raw bytes, X25519 is only ever carried: only an
        # ECDSA key needs an OpenSSL object (a cached agent's key then costs its 32 bytes)
        self._key: ec.EllipticCurvePublicKey | None = None
        if key_type is KeyType.ED25519:
            if raw in _ed25519.SMALL_ORDER_ENCODINGS:
                raise InvalidKeyError("Ed25519 public key has small order (identity or torsion)")
            if _ed25519.montgomery_of_valid(raw) is None:  # kept by no one: derived again if asked
                raise InvalidKeyError(
                    "Ed25519 public key is not a canonical point of the prime-order subgroup"
                )
        elif key_type is not KeyType.X25519:
            assert spec.curve is not None
            if raw[0] not in (2, 3):
                raise InvalidKeyError(f"{key_type} public key must be a compressed point")
            try:
                self._key = ec.EllipticCurvePublicKey.from_encoded_point(spec.curve, raw)
            except ValueError:
                raise InvalidKeyError(f"{key_type} public key is not a point on the curve") from None

    # --- loading and exporting -------------------------------------------------------------

    @classmethod
    def from_multikey(cls, public_key_multibase: str) -> PublicKey:
        """Load a Multikey ``publicKeyMultibase`` (``z`` + base58btc of multicodec + key)."""
        data = multibase_decode(public_key_multibase, expect="z")
        codec, raw = multicodec_unwrap(data)
        key_type = _BY_PUBLIC_CODEC.get(codec)
        if key_type is None:
            raise InvalidKeyError(f"multicodec {codec} is not a public key type")
        return cls(key_type, raw)

    def to_multikey(self) -> str:
        return multibase_encode(multicodec_wrap(_SPECS[self.key_type].public_codec, self.raw))

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> PublicKey:
        """Load a public JWK (OKP Ed25519/X25519 or EC P-256/P-384/secp256k1); ``d`` is refused."""
        if not isinstance(jwk, dict):
            raise InvalidKeyError("JWK must be a JSON object")
        if "d" in jwk:
            raise InvalidKeyError("a public JWK must not contain the private key 'd'")
        key_type = _jwk_key_type(jwk)
        spec = _SPECS[key_type]
        if spec.kty == "OKP":
            return cls(key_type, _jwk_bytes(jwk, "x", spec.public_len))
        size = spec.private_len
        x = _jwk_bytes(jwk, "x", size)
        y = _jwk_bytes(jwk, "y", size)
        assert spec.curve is not None
        try:
            key = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), spec.curve
            ).public_key()
        except ValueError:
            raise InvalidKeyError(f"{key_type} JWK is not a point on the curve") from None
        return cls(
            key_type,
            key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint),
        )

    def to_jwk(self) -> dict[str, str]:
        spec = _SPECS[self.key_type]
        if spec.kty == "OKP":
            return {"kty": "OKP", "crv": str(self.key_type), "x": b64url_encode(self.raw)}
        assert isinstance(self._key, ec.EllipticCurvePublicKey)
        numbers = self._key.public_numbers()
        size = spec.private_len
        return {
            "kty": "EC",
            "crv": str(self.key_type),
            "x": b64url_encode(numbers.x.to_bytes(size, "big")),
            "y": b64url_encode(numbers.y.to_bytes(size, "big")),
        }

    # --- use -----------------------------------------------------------------------------------

    @property
    def jws_alg(self) -> str:
        """The one JOSE ``alg`` this key may verify (EdDSA, ES256, ES384, ES256K)."""
        alg = _SPECS[self.key_type].jws_alg
        if alg is None:
            raise InvalidKeyError(f"{self.key_type} keys do not sign")
        return alg

    def to_x25519(self) -> PublicKey:
        """The X25519 key-agreement key derived from an Ed25519 key (RFC 7748 §4.1 birational map)."""
        if self.key_type is not KeyType.ED25519:
            raise InvalidKeyError("only Ed25519 keys have a derived X25519 key")
        montgomery = _ed25519.montgomery_of_valid(self.raw)
        assert montgomery is not None  # it was when the key was loaded
        return PublicKey(KeyType.X25519, montgomery)

    def verify(self, signature: bytes, data: bytes) -> None:
        """Check a raw signature (Ed25519, or ECDSA ``r || s`` over SHA-256/384 of ``data``).

        Raises :class:`InvalidSignatureError` on any failure; there is no boolean to ignore.
        """
        if self.key_type is KeyType.ED25519:
            if not _ed25519.verify(self.raw, signature, data):
                raise InvalidSignatureError("invalid Ed25519 signature")
            return
        key = self._key
        if key is not None:
            spec = _SPECS[self.key_type]
            size = spec.private_len
            if len(signature) != 2 * size:
                raise InvalidSignatureError(f"{self.key_type} signature must be {2 * size} bytes")
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            assert spec.hash is not None
            try:
                key.verify(encode_dss_signature(r, s), data, ec.ECDSA(spec.hash()))
            except InvalidSignature:
                raise InvalidSignatureError(f"invalid {self.key_type} signature") from None
            return
        raise InvalidSignatureError(f"{self.key_type} keys do not sign")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other.key_type is self.key_type and other.raw == self.raw

    def __hash__(self) -> int:
        return hash((self.key_type, self.raw))

    def __repr__(self) -> str:
        return f"PublicKey({self.key_type}, {self.to_multikey()})"


class KeyPair:
    """A private key with its public key. ``repr`` never shows the secret."""

    __slots__ = ("_private", "key_type", "public_key")

    def __init__(
        self, key_type: KeyType, private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    ) -> None:
        self.key_type = key_type
        self._private = private
        pub = private.public_key()
        if isinstance(pub, ed25519.Ed25519PublicKey):
            raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        else:
            raw = pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
        self.public_key = PublicKey(key_type, raw)

    @classmethod
    def generate(cls, key_type: KeyType | str = KeyType.ED25519) -> KeyPair:
        key_type = _signing_key_type(key_type)
        if key_type is KeyType.ED25519:
            return cls(key_type, ed25519.Ed25519PrivateKey.generate())
        curve = _SPECS[key_type].curve
        assert curve is not None
        return cls(key_type, ec.generate_private_key(curve))

    @classmethod
    def from_private_bytes(cls, key_type: KeyType | str, secret: bytes) -> KeyPair:
        """Load a 32-byte Ed25519 seed or a big-endian EC private scalar of the curve's size."""
        key_type = _signing_key_type(key_type)
        spec = _SPECS[key_type]
        if len(secret) != spec.private_len:
            raise InvalidKeyError(f"{key_type} private key must be {spec.private_len} bytes")
        if key_type is KeyType.ED25519:
            return cls(key_type, ed25519.Ed25519PrivateKey.from_private_bytes(secret))
        assert spec.curve is not None
        try:
            private = ec.derive_private_key(int.from_bytes(secret, "big"), spec.curve)
        except ValueError:
            raise InvalidKeyError(f"{key_type} private key is out of range") from None
        return cls(key_type, private)

    @classmethod
    def from_multikey(cls, secret_key_multibase: str, public_key_multibase: str | None = None) -> KeyPair:
        """Load a Multikey ``secretKeyMultibase``; if the public key is given it must match."""
        codec, secret = multicodec_unwrap(multibase_decode(secret_key_multibase, expect="z"))
        key_type = _BY_PRIVATE_CODEC.get(codec)
        if key_type is None:
            raise InvalidKeyError(f"multicodec {codec} is not a private key type")
        pair = cls.from_private_bytes(key_type, secret)
        if (
            public_key_multibase is not None
            and PublicKey.from_multikey(public_key_multibase) != pair.public_key
        ):
            raise InvalidKeyError("secret key does not match the public key")
        return pair

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any]) -> KeyPair:
        """Load a private JWK; its public part must match ``d``."""
        if not isinstance(jwk, dict) or "d" not in jwk:
            raise InvalidKeyError("private JWK must be an object with 'd'")
        public_part = {k: v for k, v in jwk.items() if k != "d"}
        expected = PublicKey.from_jwk(public_part)
        spec = _SPECS[expected.key_type]
        pair = cls.from_private_bytes(expected.key_type, _jwk_bytes(jwk, "d", spec.private_len))
        if pair.public_key != expected:
            raise InvalidKeyError("JWK private key does not match its public key")
        return pair

    def private_bytes(self) -> bytes:
        """The raw secret: Ed25519 seed or EC scalar (low-level; handle with care)."""
        private = self._private
        if isinstance(private, ed25519.Ed25519PrivateKey):
            return private.private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
            )
        return private.private_numbers().private_value.to_bytes(_SPECS[self.key_type].private_len, "big")

    def secret_multikey(self) -> str:
        codec = _SPECS[self.key_type].private_codec
        assert codec is not None
        return multibase_encode(multicodec_wrap(codec, self.private_bytes()))

    def private_jwk(self) -> dict[str, str]:
        return {**self.public_key.to_jwk(), "d": b64url_encode(self.private_bytes())}

    def sign(self, data: bytes) -> bytes:
        """Sign raw bytes: Ed25519, or ECDSA over SHA-256/384 returned as raw ``r || s``."""
        private = self._private
        if isinstance(private, ed25519.Ed25519PrivateKey):
            return private.sign(data)
        spec = _SPECS[self.key_type]
        assert spec.hash is not None
        r, s = decode_dss_signature(private.sign(data, ec.ECDSA(spec.hash())))
        return r.to_bytes(spec.private_len, "big") + s.to_bytes(spec.private_len, "big")

    def __repr__(self) -> str:
        return f"KeyPair({self.key_type}, public={self.public_key.to_multikey()})"


@runtime_checkable
class Signer(Protocol):
    """Whatever signs for a verification method: ``key_id`` is its DID URL, ``algorithm`` its key type."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    async def sign(self, data: bytes) -> bytes: ...


class KeySigner:
    """A :class:`Signer` over an in-process :class:`KeyPair`."""

    __slots__ = ("_pair", "key_id")

    def __init__(self, pair: KeyPair, key_id: str) -> None:
        self._pair = pair
        self.key_id = key_id

    @property
    def algorithm(self) -> str:
        return str(self._pair.key_type)

    @property
    def public_key(self) -> PublicKey:
        return self._pair.public_key

    async def sign(self, data: bytes) -> bytes:
        return self._pair.sign(data)

    def __repr__(self) -> str:
        return f"KeySigner({self.key_id!r}, {self.algorithm})"


def _signing_key_type(key_type: KeyType | str) -> KeyType:
    try:
        kt = KeyType(key_type)
    except ValueError:
        raise InvalidKeyError(f"unknown key type {key_type!r}") from None
    if kt is KeyType.X25519:
        raise InvalidKeyError("X25519 keys are for key agreement, not signing")
    return kt


def _jwk_key_type(jwk: dict[str, Any]) -> KeyType:
    kty, crv = jwk.get("kty"), jwk.get("crv")
    for key_type, spec in _SPECS.items():
        if spec.kty == kty and str(key_type) == crv:
            return key_type
    raise InvalidKeyError(f"unsupported JWK kty/crv {kty!r}/{crv!r}")


def _jwk_bytes(jwk: dict[str, Any], member: str, size: int) -> bytes:
    value = jwk.get(member)
    if not isinstance(value, str):
        raise InvalidKeyError(f"JWK member {member!r} is missing")
    try:
        data = b64url_decode(value)
    except MalformedValueError:
        raise InvalidKeyError(f"JWK member {member!r} is not base64url") from None
    if len(data) != size:
        raise InvalidKeyError(f"JWK member {member!r} must be {size} bytes, got {len(data)}")
    return data
