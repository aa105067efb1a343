from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from didvc import _ed25519
from didvc.encoding import b64url_encode, multibase_encode, multicodec_wrap
from didvc.errors import InvalidKeyError, InvalidSignatureError
from didvc.keys import KeyPair, KeySigner, KeyType, PublicKey, Signer
from resolvers import did_key_document, did_key_from_public_key
from tests.conftest import load_fixture

SIGNING_TYPES = [KeyType.ED25519, KeyType.P256, KeyType.P384, KeyType.SECP256K1]

# libsodium's blocklist of small-order Ed25519 encodings (crypto_core/ed25519/ref10), as data.
LIBSODIUM_SMALL_ORDER = {
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
}


@pytest.mark.parametrize("key_type", SIGNING_TYPES)
def test_round_trips_multikey_jwk_did_key(key_type: KeyType) -> None:
    pair = KeyPair.generate(key_type)
    public = pair.public_key
    assert PublicKey.from_multikey(public.to_multikey()) == public
    assert PublicKey.from_jwk(public.to_jwk()) == public
    assert KeyPair.from_multikey(pair.secret_multikey(), public.to_multikey()).public_key == public
    assert KeyPair.from_jwk(pair.private_jwk()).public_key == public
    did = did_key_from_public_key(public)
    document = did_key_document(did)
    assert PublicKey.from_multikey(document["verificationMethod"][0]["publicKeyMultibase"]) == public


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(SIGNING_TYPES), st.binary(max_size=256))
def test_sign_verify_and_tamper(key_type: KeyType, message: bytes) -> None:
    pair = KeyPair.generate(key_type)
    signature = pair.sign(message)
    pair.public_key.verify(signature, message)
    with pytest.raises(InvalidSignatureError):
        pair.public_key.verify(signature, message + b"x")
    broken = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(InvalidSignatureError):
        pair.public_key.verify(broken, message)


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_ed25519_seed_round_trip(seed: bytes) -> None:
    pair = KeyPair.from_private_bytes(KeyType.ED25519, seed)
    assert pair.private_bytes() == seed
    assert KeyPair.from_multikey(pair.secret_multikey()).private_bytes() == seed


def test_vector_key_pair_loads_and_matches() -> None:
    pair = KeyPair.from_multikey(
        "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq",
        "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    )
    assert pair.key_type is KeyType.ED25519
    assert "z3u2en7" not in repr(pair)


def test_mismatched_secret_and_public_key_refused() -> None:
    a, b = KeyPair.generate(), KeyPair.generate()
    with pytest.raises(InvalidKeyError):
        KeyPair.from_multikey(a.secret_multikey(), b.public_key.to_multikey())


def test_derived_x25519_matches_the_did_key_vector() -> None:
    vectors = load_fixture("vectors/did-key/did-key.json")
    entry = next(e for e in vectors["dids"] if "derivedX25519" in e)
    key = PublicKey.from_multikey(entry["did"].removeprefix("did:key:"))
    assert key.to_x25519().to_multikey() == entry["derivedX25519"]


async def test_signer_interface() -> None:
    pair = KeyPair.generate(KeyType.P384)
    signer = KeySigner(pair, "did:example:1#k")
    assert isinstance(signer, Signer)
    assert signer.algorithm == "P-384"
    signature = await signer.sign(b"data")
    pair.public_key.verify(signature, b"data")
    assert len(signature) == 96  # raw r || s


# --- hostile keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_type", "length"),
    [
        (KeyType.ED25519, 31),
        (KeyType.ED25519, 33),
        (KeyType.P256, 32),
        (KeyType.P256, 65),
        (KeyType.P384, 33),
        (KeyType.SECP256K1, 34),
    ],
)
def test_wrong_public_key_lengths(key_type: KeyType, length: int) -> None:
    with pytest.raises(InvalidKeyError) as info:
        PublicKey(key_type, b"\x02" * length)
    assert info.value.code == "INVALID_KEY_ERROR"


@pytest.mark.parametrize("codec", ["ed25519-pub", "p256-pub"])
def test_wrong_length_in_multikey(codec: str) -> None:
    with pytest.raises(InvalidKeyError):
        PublicKey.from_multikey(multibase_encode(multicodec_wrap(codec, b"\x02" * 20)))


def test_private_codec_is_not_a_public_key() -> None:
    secret = KeyPair.generate().secret_multikey()
    with pytest.raises(InvalidKeyError):
        PublicKey.from_multikey(secret)


@pytest.mark.parametrize("key_type", [KeyType.P256, KeyType.P384, KeyType.SECP256K1])
def test_off_curve_points_refused(key_type: KeyType) -> None:
    jwk = KeyPair.generate(key_type).public_key.to_jwk()
    size = {KeyType.P256: 32, KeyType.P384: 48, KeyType.SECP256K1: 32}[key_type]
    jwk["y"] = b64url_encode((1).to_bytes(size, "big"))
    with pytest.raises(InvalidKeyError) as info:
        PublicKey.from_jwk(jwk)
    assert "curve" in str(info.value)
    # a compressed x coordinate with no point on the curve (x = 5 has no square root on P-256)
    bad = None
    for x in range(1, 50):
        try:
            PublicKey(key_type, b"\x02" + x.to_bytes(size, "big"))
        except InvalidKeyError:
            bad = x
            break
    assert bad is not None


def test_uncompressed_point_refused_in_multikey_form() -> None:
    with pytest.raises(InvalidKeyError):
        PublicKey(KeyType.P256, b"\x04" + b"\x01" * 32)


def test_public_jwk_with_private_part_refused() -> None:
    with pytest.raises(InvalidKeyError):
        PublicKey.from_jwk(KeyPair.generate().private_jwk())


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        {"kty": "OKP", "crv": "Ed448", "x": "AA"},
        {"kty": "oct", "k": "AAAA"},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "Ed25519", "x": 5},
    ],
)
def test_unsupported_or_broken_jwk(jwk: dict[str, object]) -> None:
    with pytest.raises(InvalidKeyError):
        PublicKey.from_jwk(jwk)


def test_ec_private_scalar_out_of_range() -> None:
    with pytest.raises(InvalidKeyError):
        KeyPair.from_private_bytes(KeyType.P256, b"\x00" * 32)
    with pytest.raises(InvalidKeyError):
        KeyPair.from_private_bytes(KeyType.P256, b"\xff" * 32)


def test_small_order_encodings_match_libsodium() -> None:
    computed = {e.hex() for e in _ed25519.SMALL_ORDER_ENCODINGS}
    assert computed >= LIBSODIUM_SMALL_ORDER


def test_the_small_order_table_is_what_the_curve_gives() -> None:
    assert _ed25519.derive_small_order_encodings() == _ed25519.SMALL_ORDER_ENCODINGS
    for encoding in _ed25519.SMALL_ORDER_ENCODINGS:  # every one of them is a small-order point
        point = _ed25519.decode_point(encoding)
        assert point is None or _ed25519.has_small_order(point)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_the_table_decides_as_the_curve_arithmetic_does(raw: bytes) -> None:
    point = _ed25519.decode_point(raw)
    if point is not None:
        assert (raw in _ed25519.SMALL_ORDER_ENCODINGS) == _ed25519.has_small_order(point)


def test_identity_key_forgery_accepted_by_openssl_refused_by_us() -> None:
    identity = (1).to_bytes(32, "little")
    forged_signature = identity + (0).to_bytes(32, "little")  # R = identity, S = 0
    # The attack is real: OpenSSL verifies this signature for any message under the identity key.
    raw = ed25519.Ed25519PublicKey.from_public_bytes(identity)
    raw.verify(forged_signature, b"transfer all funds")
    raw.verify(forged_signature, b"anything else")
    # We refuse the key itself, from every form a key can arrive in.
    with pytest.raises(InvalidKeyError) as info:
        PublicKey(KeyType.ED25519, identity)
    assert info.value.code == "INVALID_KEY_ERROR"
    with pytest.raises(InvalidKeyError):
        PublicKey.from_multikey(multibase_encode(multicodec_wrap("ed25519-pub", identity)))
    with pytest.raises(InvalidKeyError):
        PublicKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(identity)})


@pytest.mark.parametrize("encoding", sorted(LIBSODIUM_SMALL_ORDER))
def test_every_small_order_key_refused(encoding: str) -> None:
    with pytest.raises(InvalidKeyError):
        PublicKey(KeyType.ED25519, bytes.fromhex(encoding))


def test_non_canonical_and_off_curve_ed25519_keys_refused() -> None:
    p = 2**255 - 19
    with pytest.raises(InvalidKeyError):  # y >= p
        PublicKey(KeyType.ED25519, (p + 5).to_bytes(32, "little"))
    off_curve = next(y for y in range(2, 100) if _ed25519.decode_point(y.to_bytes(32, "little")) is None)
    with pytest.raises(InvalidKeyError):
        PublicKey(KeyType.ED25519, off_curve.to_bytes(32, "little"))


def test_signature_with_small_order_r_refused() -> None:
    pair = KeyPair.generate()
    identity = (1).to_bytes(32, "little")
    with pytest.raises(InvalidSignatureError):
        pair.public_key.verify(identity + b"\x00" * 32, b"m")


def test_did_key_of_identity_key_does_not_resolve() -> None:
    from didvc.errors import InvalidDidError

    did = "did:key:" + multibase_encode(multicodec_wrap("ed25519-pub", (1).to_bytes(32, "little")))
    with pytest.raises(InvalidDidError):
        asyncio.run(__import__("resolvers").default_resolver().resolve(did))
