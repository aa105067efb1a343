"""Multibase, multicodec, base64url and strict JSON: the encodings keys, proofs and tokens travel in.

Thin and strict wrappers over the ``base58`` and ``multiformats`` packages. Malformed input of
any kind raises :class:`~didvc.errors.MalformedValueError`, never an ``IndexError`` or a bare
``ValueError``.

- Multibase: https://www.w3.org/TR/cid-1.0/#multibase-0 (``z`` base58btc, ``u`` base64url)
- Multicodec: https://github.com/multiformats/multicodec (unsigned-varint prefixes)
- JSON (RFC 8259, I-JSON RFC 7493): duplicate members and non-finite numbers refused
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from typing import Any, Final

import base58

from didvc.errors import InputTooLargeError, MalformedValueError, ParsingError

__all__ = [
    "sri_sha384",
    "MULTICODEC",
    "b64url_decode",
    "b64url_encode",
    "bounded_text",
    "load_multicodec",
    "multibase_decode",
    "multibase_encode",
    "multicodec_unwrap",
    "multicodec_wrap",
    "strict_json_loads",
]

#: The multicodec codes didvc knows, by name (multiformats table, "key" tag).
MULTICODEC: Final[dict[str, int]] = {
    "ed25519-pub": 0xED,
    "x25519-pub": 0xEC,
    "secp256k1-pub": 0xE7,
    "p256-pub": 0x1200,
    "p384-pub": 0x1201,
    "ed25519-priv": 0x1300,
    "secp256k1-priv": 0x1301,
    "p256-priv": 0x1306,
    "p384-priv": 0x1307,
}
_CODEC_NAMES: Final[dict[int, str]] = {code: name for name, code in MULTICODEC.items()}

_MAX_MULTIBASE_CHARS: Final = 1 << 20


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 4648 §5, as JOSE and multibase ``u`` use it)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes) -> bytes:
    """Decode unpadded base64url strictly: alphabet, length and canonical trailing bits."""
    if isinstance(text, str):
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            raise MalformedValueError("base64url value is not ASCII") from None
    else:
        raw = text
    remainder = len(raw) % 4
    if remainder == 1:
        raise MalformedValueError("malformed base64url value")
    # One C pass maps the URL alphabet onto the standard one and '+', '/', '=' onto a byte
    # outside it, so strict decoding refuses them, any other stray byte, and bad lengths.
    try:
        data = binascii.a2b_base64(raw.translate(_TO_STANDARD) + _PADDING[remainder], strict_mode=True)
    except binascii.Error:
        raise MalformedValueError("malformed base64url value") from None
    # A canonical encoding leaves the unused low bits of its last character zero.
    if remainder and _B64URL_VALUES[raw[-1]] & (0x0F if remainder == 2 else 0x03):
        raise MalformedValueError("non-canonical base64url value")
    return data


_TO_STANDARD: Final = bytes.maketrans(b"-_+/=", b"+/***")
_PADDING: Final = (b"", b"", b"==", b"=")
_B64URL_VALUES: Final = {
    c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}


def multibase_encode(data: bytes, base: str = "z") -> str:
    """Multibase-encode ``data`` as ``z`` (base58btc) or ``u`` (base64url, no padding)."""
    if base == "z":
        return "z" + base58.b58encode(data).decode("ascii")
    if base == "u":
        return "u" + b64url_encode(data)
    raise MalformedValueError(f"unsupported multibase prefix {base!r}")


def multibase_decode(text: str, *, expect: str | None = None, max_chars: int = _MAX_MULTIBASE_CHARS) -> bytes:
    """Decode a ``z`` or ``u`` multibase string; ``expect`` pins the base."""
    if not isinstance(text, str) or not text:
        raise MalformedValueError("multibase value must be a non-empty string")
    if len(text) > max_chars:
        raise MalformedValueError("multibase value is too long")
    prefix, body = text[0], text[1:]
    if expect is not None and prefix != expect:
        raise MalformedValueError(f"multibase value must start with {expect!r}, not {prefix!r}")
    if prefix == "z":
        try:
            return base58.b58decode(body)
        except ValueError:
            raise MalformedValueError("malformed base58btc value") from None
    if prefix == "u":
        return b64url_decode(body)
    raise MalformedValueError(f"unsupported multibase prefix {prefix!r}")


@functools.cache
def _varint() -> Any:
    """multiformats' unsigned varint, loaded with the first multicodec value: the package loads
    every table it has (25 ms), which a command or a worker that meets no key does not need."""
    from multiformats import varint

    return varint


def load_multicodec() -> None:
    """Load multiformats now rather than with the first key: a server does it as it starts
    (:meth:`verifier.Verifier.serving`), so its first request does not wait for the tables on
    the event loop, with every request that came with it."""
    _varint()


def multicodec_wrap(codec: str, data: bytes) -> bytes:
    """Prefix ``data`` with the unsigned-varint code of ``codec`` (e.g. ``"ed25519-pub"``)."""
    try:
        code = MULTICODEC[codec]
    except KeyError:
        raise MalformedValueError(f"unknown multicodec {codec!r}") from None
    return bytes(_varint().encode(code)) + data


def multicodec_unwrap(data: bytes) -> tuple[str, bytes]:
    """Split a multicodec-prefixed value into ``(codec name, payload)``."""
    if not data:
        raise MalformedValueError("empty multicodec value")
    try:
        code, size, _ = _varint().decode_raw(data)
    except (ValueError, IndexError):
        raise MalformedValueError("malformed multicodec varint prefix") from None
    name = _CODEC_NAMES.get(code)
    if name is None:
        raise MalformedValueError(f"unsupported multicodec 0x{code:x}")
    return name, bytes(data[size:])


# --- text and JSON, strictly ------------------------------------------------------------------


def bounded_text(value: bytes | str, max_bytes: int, *, what: str) -> str:
    """``value`` as text without surrounding space; refused when longer than ``max_bytes``
    (bytes before they are decoded) or not UTF-8."""
    if isinstance(value, bytes):
        if len(value) > max_bytes:
            raise InputTooLargeError(f"the {what} is larger than {max_bytes} bytes")
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ParsingError(f"the {what} is not UTF-8 text") from None
    text = value.strip()
    if len(text) > max_bytes:
        raise InputTooLargeError(f"the {what} is larger than {max_bytes} bytes")
    return text


def strict_json_loads(data: bytes | str, *, what: str = "JSON") -> Any:
    """Parse JSON refusing duplicate member names, NaN/Infinity, fractions beyond a double's range
    (``1e400``), and excessive nesting. Integers are read as Python reads them (up to 4,300
    digits); every place that uses one as a number bounds it first."""
    try:
        text = data.decode(json.detect_encoding(data), "surrogatepass") if isinstance(data, bytes) else data
        text = text.strip(_JSON_SPACE)  # as JSONDecoder.decode skips it, with one call less
        value, end = _STRICT_DECODER.raw_decode(text)
        if end != len(text):
            raise ValueError(f"extra data at character {end}")
        return value
    except RecursionError:
        raise ParsingError(f"{what} is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParsingError(f"{what} is not valid JSON: {exc}") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise ValueError(f"duplicate member {duplicate!r}")
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e400 reads as infinity
        raise ValueError(f"number {text[:40]} is out of range")
    return value


_JSON_SPACE: Final = " \t\n\r"  # RFC 8259 §2: the only whitespace around values
# One decoder for every call: json.loads with hooks builds a new JSONDecoder each time (≈ 2 µs).
_STRICT_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    parse_constant=_no_constant,
    parse_float=_finite_float,
)


def sri_sha384(data: bytes) -> str:
    """The Subresource Integrity digest of ``data`` (``sha384-`` and base64), as ``digestSRI``
    names a resource (VC Data Model 2.0 §5.3)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
