from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didvc.encoding import multibase_encode
from didvc.errors import MalformedValueError, RangeError, StatusListLengthError
from didvc.status import DEFAULT_MAX_DECODED_BYTES, MIN_ENTRIES, StatusList


def test_empty_list_round_trip_and_minimum_size() -> None:
    status = StatusList()
    decoded = StatusList.decode(status.encode())
    assert decoded.length == MIN_ENTRIES
    assert decoded.get(0) == 0 and decoded.get(MIN_ENTRIES - 1) == 0


def test_most_significant_bit_first() -> None:
    status = StatusList()
    status.set(0, 1)
    status.set(9, 1)
    data = status.to_bytes()
    assert data[0] == 0b1000_0000
    assert data[1] == 0b0100_0000


@settings(max_examples=20, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=MIN_ENTRIES - 1), max_size=50))
def test_set_bits_survive_encoding(indexes: set[int]) -> None:
    status = StatusList()
    for index in indexes:
        status.set(index, True)
    decoded = StatusList.decode(status.encode())
    assert {i for i in indexes if decoded.get(i)} == indexes


def test_status_size_two() -> None:
    status = StatusList(status_size=2)
    status.set(0, 0b10)
    status.set(1, 0b11)
    status.set(3, 0b01)
    assert status.to_bytes()[0] == 0b1011_0001
    decoded = StatusList.decode(status.encode(), status_size=2)
    assert [decoded.get(i) for i in range(4)] == [2, 3, 0, 1]
    with pytest.raises(RangeError):
        status.set(0, 4)


def test_encoding_is_gzip_base64url_multibase() -> None:
    encoded = StatusList().encode()
    assert encoded.startswith("u")
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded


def test_short_list_is_a_length_error() -> None:
    encoded = multibase_encode(gzip.compress(b"\x00" * 1024), "u")
    with pytest.raises(StatusListLengthError) as info:
        StatusList.decode(encoded)
    assert info.value.code == "STATUS_LIST_LENGTH_ERROR"
    with pytest.raises(StatusListLengthError):
        StatusList(length=1000)


def test_list_of_minimum_bits_too_short_for_status_size_two() -> None:
    encoded = StatusList().encode()
    with pytest.raises(StatusListLengthError):
        StatusList.decode(encoded, status_size=2)


@pytest.mark.parametrize("index", [-1, MIN_ENTRIES, 10**12, True])
def test_index_out_of_range(index: int) -> None:
    with pytest.raises(RangeError) as info:
        StatusList().get(index)
    assert info.value.code == "RANGE_ERROR"


def _gzip_of_zeros(total: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\x00" * (1 << 20)
    parts = [compressor.compress(chunk) for _ in range(total // len(chunk))]
    parts.append(compressor.flush())
    return b"".join(parts)


def test_gzip_bomb_fails_fast_with_bounded_memory() -> None:
    bomb = _gzip_of_zeros(1 << 30)  # 1 GiB of zeros in about 1 MiB
    assert len(bomb) < 2 << 20
    encoded = multibase_encode(bomb, "u")
    tracemalloc.start()
    try:
        with pytest.raises(MalformedValueError) as info:
            StatusList.decode(encoded)  # default cap: 16 MiB
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "more than" in str(info.value)
    assert peak < 4 * len(encoded) + (1 << 20), peak  # the input and its decoding; not even the cap


def test_a_large_list_is_held_once() -> None:
    size = DEFAULT_MAX_DECODED_BYTES - (1 << 20)
    encoded = multibase_encode(_gzip_of_zeros(size), "u")
    tracemalloc.start()
    try:
        decoded = StatusList.decode(encoded)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoded.length == size * 8
    assert peak < size + 4 * len(encoded) + (1 << 20), peak  # no growing buffer, no second copy


@pytest.mark.parametrize(
    "encoded",
    [
        "zabc",
        "uAAAA",
        "u" + "A" * 10,
        multibase_encode(gzip.compress(b"\x00" * 16384)[:-8], "u"),
        multibase_encode(gzip.compress(b"\x00" * 16384) + b"trailing", "u"),
        multibase_encode(zlib.compress(b"\x00" * 16384), "u"),
        42,
    ],
)
def test_malformed_encoded_lists(encoded: str) -> None:
    with pytest.raises(MalformedValueError):
        StatusList.decode(encoded)


@pytest.mark.parametrize("size", [0, 9, "1"])
def test_bad_status_size(size: object) -> None:
    with pytest.raises(RangeError):
        StatusList(status_size=size)  # type: ignore[arg-type]
