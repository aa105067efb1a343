"""One Ed25519 verify (libsodium through PyNaCl) accepting exactly what the rest of the project
accepts: the RFC 8032 vectors, and every edge case of the C2SP/CCTV set compared with OpenSSL
(``cryptography``) behind the same key and R checks (#13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from didvc import _ed25519
from didvc.errors import InvalidKeyError, InvalidSignatureError
from didvc.keys import KeyPair, KeyType, PublicKey

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures/vectors/ed25519/ed25519vectors.json").read_text()
)
REFUSED_BY_POLICY = {"low_order_A", "non_canonical_A", "low_order_R", "non_canonical_R"}

# RFC 8032 §7.1, TEST 1 to TEST 3: (secret key, public key, message, signature)
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


def _openssl(key: PublicKey, signature: bytes, message: bytes) -> bool:
    """The other engine, behind the same checks: R not of small order, S by OpenSSL."""
    if len(signature) != 64 or signature[:32] in _ed25519.SMALL_ORDER_ENCODINGS:
        return False
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(key.raw).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _ours(key: PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignatureError:
        return False
    return True


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors(secret: str, public: str, message: str, signature: str) -> None:
    pair = KeyPair.from_private_bytes(KeyType.ED25519, bytes.fromhex(secret))
    assert pair.public_key.raw.hex() == public
    assert pair.sign(bytes.fromhex(message)).hex() == signature
    assert _ours(pair.public_key, bytes.fromhex(signature), bytes.fromhex(message))
    assert not _ours(pair.public_key, bytes.fromhex(signature), bytes.fromhex(message) + b"!")


def test_every_cctv_edge_case_is_decided_as_openssl_decides_it_behind_our_checks() -> None:
    decided: dict[str, int] = {"refused key": 0, "accepted": 0, "refused signature": 0}
    for vector in VECTORS:
        flags = set(vector["flags"] or [])
        signature, message = bytes.fromhex(vector["sig"]), vector["msg"].encode()
        try:
            key = PublicKey(KeyType.ED25519, bytes.fromhex(vector["key"]))
        except InvalidKeyError:
            decided["refused key"] += 1
            assert flags & {"low_order_A", "non_canonical_A", "low_order_component_A"}, vector["number"]
            continue
        ours = _ours(key, signature, message)
        assert ours == _openssl(key, signature, message), vector["number"]
        if flags & REFUSED_BY_POLICY:
            assert not ours, vector["number"]
        decided["accepted" if ours else "refused signature"] += 1
    assert all(decided.values()), decided  # each kind of outcome occurs: the test can fail


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_keys_are_loaded_as_the_curve_arithmetic_decides(raw: bytes) -> None:
    """libsodium's check of a key, against the curve arithmetic in Python: canonical, on the
    curve, in the prime-order subgroup ([L]A is the identity); and the same X25519 key."""
    point = _ed25519.decode_point(raw)
    valid = point is not None and _ed25519._mul(_ed25519.L, point) == _ed25519.IDENTITY
    derived = _ed25519.montgomery_of_valid(raw)
    assert (derived is not None) == valid
    if derived is not None:
        assert derived == _ed25519.to_montgomery_u(raw)
    if _ed25519.has_small_order(point) if point is not None else False:
        valid = False  # refused as small order, as PublicKey refuses it before this
    assert _ed25519.montgomery_in_python(raw) == (derived if valid else None)


def test_a_libsodium_that_does_not_check_the_subgroup_is_noticed() -> None:
    """The probe key is outside the prime-order subgroup: refused, whichever path decides."""
    point = _ed25519.decode_point(_ed25519._MIXED_ORDER_KEY)
    assert point is not None and _ed25519._mul(_ed25519.L, point) != _ed25519.IDENTITY
    assert _ed25519.montgomery_of_valid(_ed25519._MIXED_ORDER_KEY) is None
    assert _ed25519.montgomery_in_python(_ed25519._MIXED_ORDER_KEY) is None


def test_honest_keys_load_and_map_as_rfc7748_says() -> None:
    for _ in range(50):
        raw = KeyPair.generate(KeyType.ED25519).public_key.raw
        assert _ed25519.montgomery_of_valid(raw) == _ed25519.to_montgomery_u(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=64), st.binary(max_size=64), st.integers(0, 63), st.integers(1, 255))
def test_both_engines_agree_on_tampered_signatures(message: bytes, extra: bytes, at: int, flip: int) -> None:
    pair = KeyPair.generate(KeyType.ED25519)
    signature = bytearray(pair.sign(message))
    assert _ours(pair.public_key, bytes(signature), message)
    signature[at] ^= flip
    tampered: Any = bytes(signature)
    assert _ours(pair.public_key, tampered, message + extra) == _openssl(
        pair.public_key, tampered, message + extra
    )
