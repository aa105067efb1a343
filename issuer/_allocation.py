"""Random, never-repeated status-list indexes (Bitstring Status List 1.0 §6.1, "herd privacy").

Each list has a secret key and a counter. The n-th credential placed on a list gets index
``permutation(n)``, where the permutation is a keyed Feistel network over the list's index
space (cycle-walking to its exact size). So indexes look random, allocation is O(1) and needs
no retries, and an index can never be handed out twice: the counter only grows, inside the same
transaction as the credential's record, and a permutation never maps two counters to one index.
"""

from __future__ import annotations

import hashlib

__all__ = ["Permutation", "index_for"]

_ROUNDS = 4
_BLOCK = 64  # SHA-256's block size, as HMAC (RFC 2104) pads the key to it


class Permutation:
    """The permutation of one list: its key's HMAC-SHA-256 inner and outer states computed once
    (RFC 2104; the same digests as :func:`hmac.new`, a third of the work per round), so a group
    of credentials placed on a list costs its rounds and nothing more."""

    __slots__ = ("_half_bits", "_inner", "_outer", "size")

    def __init__(self, key: bytes, size: int) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        self._half_bits = max(1, ((size - 1).bit_length() + 1) // 2)
        self.size = size

    def index(self, position: int) -> int:
        """The index of the ``position``-th entry (a bijection of ``[0, size)``)."""
        if not 0 <= position < self.size:
            raise ValueError("position outside the list")
        value = position
        while True:  # cycle-walking: stays a permutation of [0, size)
            value = self._feistel(value)
            if value < self.size:
                return value

    def _feistel(self, value: int) -> int:
        half_bits = self._half_bits
        mask = (1 << half_bits) - 1
        left, right = value >> half_bits, value & mask
        for round_number in range(_ROUNDS):
            left, right = right, left ^ (self._round(round_number, right) & mask)
        return (left << half_bits) | right

    def _round(self, round_number: int, value: int) -> int:
        inner = self._inner.copy()
        inner.update(round_number.to_bytes(1, "big") + value.to_bytes(8, "big"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return int.from_bytes(outer.digest()[:8], "big")


def index_for(key: bytes, position: int, size: int) -> int:
    """The index of the ``position``-th entry of a list of ``size`` entries (a bijection)."""
    return Permutation(key, size).index(position)
