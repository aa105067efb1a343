"""Low-level Edwards25519 point checks that OpenSSL does not make.

OpenSSL (and so ``cryptography``) accepts any 32-byte Ed25519 public key, including the
identity and the other points of small order. With such a key a signature whose R is the
identity and whose S is 0 verifies for *every* message. We therefore load each public key
strictly: a canonical encoding (y < p) of a point on the curve in the prime-order subgroup
(:func:`montgomery_of_valid`, through libsodium; honest keys, [a]B, always are), which refuses
the small-order points and those with a small-order component. For signatures we refuse an R
that encodes a small-order point, as libsodium does, by comparing against the precomputed set
of such encodings.

See RFC 8032 §5.1.3 (decoding) and https://eprint.iacr.org/2020/1244 (the small-order pitfalls).

:func:`verify` is the one Ed25519 signature check of the project, through libsodium (PyNaCl,
a pyca project): on this machine it takes half the time of OpenSSL's. Both compute the
cofactorless equation and compare encodings, both require S < L; libsodium also refuses
small-order and non-canonical keys and small-order R, which our checks refuse anyway, so the
two accept exactly the same signatures (tests: every C2SP/CCTV edge-case vector, RFC 8032).
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Final

from nacl.bindings import crypto_sign_ed25519_pk_to_curve25519, crypto_sign_open
from nacl.exceptions import CryptoError

__all__ = [
    "SMALL_ORDER_ENCODINGS",
    "montgomery_of_valid",
    "verify",
    "decode_point",
    "derive_small_order_encodings",
    "has_small_order",
    "to_montgomery_u",
]

P: Final = 2**255 - 19
L: Final = 2**252 + 27742317777372353535851937790883648493
D: Final = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1: Final = pow(2, (P - 1) // 4, P)

Point = tuple[int, int]
IDENTITY: Final[Point] = (0, 1)


def decode_point(encoded: bytes) -> Point | None:
    """RFC 8032 §5.1.3 point decoding; None when non-canonical or not on the curve."""
    if len(encoded) != 32:
        return None
    value = int.from_bytes(encoded, "little")
    sign = value >> 255
    y = value & ((1 << 255) - 1)
    if y >= P:
        return None
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    # §5.1.3 step 2: x = u v^3 (u v^7)^((p-5)/8), one exponentiation for the root and the division
    v3 = v * v * v % P
    x = u * v3 * pow(u * v3 * v3 * v % P, (P - 5) // 8, P) % P
    check = v * x * x % P
    if check == (P - u) % P:
        x = x * SQRT_M1 % P
    elif check != u:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y)


def _add(a: Point, b: Point) -> Point:
    x1, y1 = a
    x2, y2 = b
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, P - 2, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P
    return (x3, y3)


def _mul(k: int, point: Point) -> Point:
    result = IDENTITY
    addend = point
    while k:
        if k & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        k >>= 1
    return result


def has_small_order(point: Point) -> bool:
    """True when [8]point is the identity (the point lies in the torsion subgroup)."""
    return _mul(8, point) == IDENTITY


def _encodings(point: Point) -> set[bytes]:
    _x, y = point
    out = set()
    for y_enc in (y, y + P):
        if y_enc >= 1 << 255:
            continue
        for sign in (0, 1):
            out.add((y_enc | (sign << 255)).to_bytes(32, "little"))
    return out


#: Every 32-byte string, canonical or not, that encodes one of the 8 points of small order: the
#: identity (y = 1), the point of order 2 (y = -1), the two of order 4 (y = 0) and the four of
#: order 8, with both signs of x and, where y + p < 2^255, the non-canonical y + p. A fixed set,
#: so checking a key or an R is one look-up; :func:`derive_small_order_encodings` derives it
#: from the curve (in tests: deriving it takes 700 modular exponentiations, ≈ 70 ms).
SMALL_ORDER_ENCODINGS: Final = frozenset(
    bytes.fromhex(h)
    for h in (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    )
)


@cache
def derive_small_order_encodings() -> frozenset[bytes]:
    """The small-order encodings, derived from the curve: [L]Q of a point Q outside the prime
    subgroup generates the torsion subgroup; each of its 8 points with every encoding of it."""
    # A point of order 8 is the torsion part [L]Q of a curve point Q outside the prime subgroup.
    generator: Point | None = None
    candidate = 2
    while generator is None:
        q = decode_point(candidate.to_bytes(32, "little"))
        candidate += 1
        if q is None:
            continue
        torsion = _mul(L, q)
        if _mul(4, torsion) != IDENTITY:
            generator = torsion
    encodings: set[bytes] = set()
    point = IDENTITY
    for _ in range(8):
        encodings |= _encodings(point)
        point = _add(point, generator)
    return frozenset(encodings)


def montgomery_of_valid(encoded: bytes) -> bytes | None:
    """The X25519 key (RFC 7748 §4.1) of a valid Ed25519 public key, None for an invalid one:
    valid is a canonical encoding (y < p) of a point on the curve in the prime-order subgroup
    (so neither of small order nor with a small-order component). libsodium decides the point
    and its subgroup and maps it in one call (≈ 40 µs, against ≈ 200 µs for
    :func:`decode_point` and :func:`to_montgomery_u` in Python, which the tests compare with)."""
    if len(encoded) != 32 or int.from_bytes(encoded, "little") & ((1 << 255) - 1) >= P:
        return None
    if not _sodium_checks_subgroup():  # an older libsodium: the same decision, in Python
        return montgomery_in_python(encoded)
    try:
        return bytes(crypto_sign_ed25519_pk_to_curve25519(encoded))
    except CryptoError:
        return None


def montgomery_in_python(encoded: bytes) -> bytes | None:
    """:func:`montgomery_of_valid` by the curve arithmetic (≈ 200 µs), where libsodium is too
    old to check the subgroup."""
    point = decode_point(encoded)
    if point is None or has_small_order(point) or _mul(L, point) != IDENTITY:
        return None
    return to_montgomery_u(encoded)


#: A point on the curve outside the prime-order subgroup (a small-order component): the
#: libsodium of PyNaCl 1.6.2's wheels refuses to map it, the 1.0.18 of PyNaCl 1.5 did not.
_MIXED_ORDER_KEY: Final = bytes(22) + bytes.fromhex("0103192100000000 0171".replace(" ", ""))


@cache
def _sodium_checks_subgroup() -> bool:
    """Whether the linked libsodium refuses keys outside the prime-order subgroup (asked once;
    a PyNaCl built on an older system libsodium does not, and each new key then costs tens of
    milliseconds of arithmetic in Python: said once in the log)."""
    try:
        crypto_sign_ed25519_pk_to_curve25519(_MIXED_ORDER_KEY)
    except CryptoError:
        return True
    logging.getLogger("didvc").warning(
        "this libsodium does not check Ed25519 keys' subgroup: checking in Python, slowly"
        " (PyNaCl 1.6.2 or later with its own libsodium does it)"
    )
    return False


def to_montgomery_u(encoded: bytes) -> bytes:
    """The X25519 public key (Montgomery u = (1 + y) / (1 - y)) of an encoded Ed25519 point,
    RFC 7748 §4.1: only y is needed, so the point is not decoded again."""
    y = int.from_bytes(encoded, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow((1 - y) % P, P - 2, P) % P
    return u.to_bytes(32, "little")


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` (64 bytes) is ``public_key``'s over ``message`` (RFC 8032
    §5.1.7, cofactorless, S < L). The key must have passed :class:`didvc.keys.PublicKey`'s
    checks; an R of small order is refused here, before any arithmetic."""
    if len(signature) != 64 or signature[:32] in SMALL_ORDER_ENCODINGS:
        return False
    try:
        crypto_sign_open(signature + message, public_key)
    except CryptoError:
        return False
    return True
