from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from didvc.encoding import (
    b64url_decode,
    b64url_encode,
    multibase_decode,
    multibase_encode,
    multicodec_unwrap,
    multicodec_wrap,
    strict_json_loads,
)
from didvc.errors import MalformedValueError, ParsingError

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
#: JSON's own whitespace and some that is not JSON's (NBSP, vertical tab, line separator)
_SPACE = st.text(alphabet=" \t\n\r\xa0\x0b\u2028", max_size=3)


@given(st.binary(max_size=200), st.sampled_from(["z", "u"]))
def test_multibase_round_trip(data: bytes, base: str) -> None:
    encoded = multibase_encode(data, base)
    assert encoded[0] == base
    assert multibase_decode(encoded) == data


@given(st.binary(max_size=200))
def test_b64url_round_trip(data: bytes) -> None:
    assert b64url_decode(b64url_encode(data)) == data


@given(
    st.sampled_from(["ed25519-pub", "p256-pub", "p384-pub", "secp256k1-pub", "ed25519-priv"]),
    st.binary(max_size=64),
)
def test_multicodec_round_trip(codec: str, payload: bytes) -> None:
    assert multicodec_unwrap(multicodec_wrap(codec, payload)) == (codec, payload)


def test_known_multicodec_prefix_bytes() -> None:
    assert multicodec_wrap("ed25519-pub", b"")[:2] == b"\xed\x01"
    assert multicodec_wrap("p256-pub", b"") == b"\x80\x24"


@pytest.mark.parametrize(
    "value",
    ["", "zO0Il", "x123", "u!!", "u" + "A", "uAB=", "f00", "z\u00e9", 42, None],
)
def test_malformed_multibase_is_a_clear_error(value: object) -> None:
    with pytest.raises(MalformedValueError) as info:
        multibase_decode(value)  # type: ignore[arg-type]
    assert info.value.code == "MALFORMED_VALUE_ERROR"


def test_multibase_expect_pins_the_base() -> None:
    with pytest.raises(MalformedValueError):
        multibase_decode(multibase_encode(b"abc", "u"), expect="z")


@pytest.mark.parametrize("value", ["AB=", "A", "A+B/", "AB\n", "AR"])
def test_b64url_is_strict(value: str) -> None:
    # padding, impossible lengths, the standard alphabet, whitespace, non-canonical trailing bits
    with pytest.raises(MalformedValueError):
        b64url_decode(value)


@pytest.mark.parametrize("data", [b"", b"\x80", b"\xff\xff\xff", b"\x99\x01abc"])
def test_malformed_multicodec_never_index_error(data: bytes) -> None:
    with pytest.raises(MalformedValueError) as info:
        multicodec_unwrap(data)
    assert info.value.code == "MALFORMED_VALUE_ERROR"


@given(st.binary(max_size=40))
def test_multicodec_unwrap_only_raises_malformed(data: bytes) -> None:
    with contextlib.suppress(MalformedValueError):
        multicodec_unwrap(data)


@given(st.text(max_size=60))
def test_multibase_decode_only_raises_malformed(text: str) -> None:
    with contextlib.suppress(MalformedValueError):
        multibase_decode(text)


@given(_JSON, _SPACE, _SPACE, st.sampled_from(["", "x", "{}", ","]))
def test_strict_json_reads_what_json_reads_around_whitespace(
    value: object, before: str, after: str, extra: str
) -> None:
    """Whitespace around a value is JSON's (RFC 8259 §2) only, and nothing may follow it: as
    ``json.loads`` decides, the duplicate members and NaN it allows aside."""
    text = before + json.dumps(value) + after + extra
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ParsingError):
            strict_json_loads(text)
        return
    assert strict_json_loads(text) == expected
    assert strict_json_loads(text.encode()) == expected
