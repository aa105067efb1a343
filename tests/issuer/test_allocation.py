"""Status-list indexes: a keyed permutation, pinned to what earlier releases allocated (a store
keeps allocating on its lists after an upgrade: a different permutation could hand out an index
twice)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from issuer._allocation import Permutation, index_for

# (key number, list size, position, index) from the HMAC-per-round implementation of 0.1
PINNED = [
    (0, 2, 0, 1), (0, 2, 1, 0), (1, 7, 0, 6), (1, 7, 1, 3), (1, 7, 3, 0), (1, 7, 6, 1),
    (2, 100, 0, 63), (2, 100, 1, 66), (2, 100, 50, 35), (2, 100, 99, 60),
    (3, 131072, 0, 108108), (3, 131072, 1, 85329), (3, 131072, 65536, 101159), (3, 131072, 131071, 6475),
    (4, 131073, 0, 85157), (4, 131073, 65536, 27573), (4, 131073, 131072, 59791),
    (5, 1048576, 0, 903751), (5, 1048576, 1048575, 189529),
    (6, 16777216, 0, 16082818), (6, 16777216, 8388608, 3740541), (6, 16777216, 16777215, 7442978),
]  # fmt: skip


@pytest.mark.parametrize(("key", "size", "position", "index"), PINNED)
def test_indexes_are_those_earlier_releases_allocated(key: int, size: int, position: int, index: int) -> None:
    secret = hashlib.sha256(b"key%d" % key).digest()
    assert index_for(secret, position, size) == index
    assert Permutation(secret, size).index(position) == index


@given(st.binary(min_size=1, max_size=100), st.integers(min_value=1, max_value=300))
def test_every_list_is_a_permutation(key: bytes, size: int) -> None:
    permutation = Permutation(key, size)
    assert sorted(permutation.index(p) for p in range(size)) == list(range(size))
    with pytest.raises(ValueError, match="outside"):
        permutation.index(size)
