"""Random, never-repeated status-list indexes (Bitstring Status List 1.0 §6.1, "herd privacy").

Each list has a secret key and a counter. The n-th credential placed on a list gets index
``permutation(n)``, where the permutation is a keyed Feistel network over the list's index
space (cycle-walking to its exact size). So indexes look random, allocation is O(1) and needs
no retries, and an index can never be handed out twice: the counter only grows, inside the same
transaction as the credential's record, and a permutation never maps two counters to one index.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["index_for"]

_ROUNDS = 4


def _round(key: bytes, round_number: int, value: int, bits: int) -> int:
    digest = hmac.new(
        key, round_number.to_bytes(1, "big") + value.to_bytes(8, "big"), hashlib.sha256
    ).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << bits) - 1)


def _feistel(key: bytes, value: int, half_bits: int) -> int:
    mask = (1 << half_bits) - 1
    left, right = value >> half_bits, value & mask
    for round_number in range(_ROUNDS):
        left, right = right, left ^ _round(key, round_number, right, half_bits)
    return (left << half_bits) | right


def index_for(key: bytes, position: int, size: int) -> int:
    """The index of the ``position``-th entry of a list of ``size`` entries (a bijection)."""
    if not 0 <= position < size:
        raise ValueError("position outside the list")
    half_bits = max(1, ((size - 1).bit_length() + 1) // 2)
    value = position
    while True:  # cycle-walking: stays a permutation of [0, size)
        value = _feistel(key, value, half_bits)
        if value < size:
            return value
