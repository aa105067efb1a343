"""Compact JWS for ``vc+jwt`` and ``vp+jwt`` (VC-JOSE-COSE), checked before any signature work.

https://www.w3.org/TR/vc-jose-cose/ and RFC 7515. Verification is two steps:

1. :func:`parse_jws` decodes the token (:func:`split_jws` all but the payload, for a verifier
   that knows most of it and reads the rest itself) and refuses, before any cryptography:
   anything but three parts (a five-part JWE included), an ``alg`` outside the allow-list
   (``none``, HMAC, RSA...), a ``typ`` other than the expected one, any ``crit`` (we understand
   no extension), ``b64`` (RFC 7797), keys or key references in the header (``jwk``, ``jku``,
   ``x5u``, ``x5c``, ``x5t``), encryption members, duplicate JSON members, oversized or deeply
   nested input.
2. :func:`verify_jws` checks the signature with the key the caller resolved from the ``kid``'s
   DID document, never one the token carries; ``alg`` must be the one of that key's type.

Signing goes through a :class:`~didvc.keys.Signer`, so keys may live outside the process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from didvc.encoding import b64url_decode, b64url_encode, strict_json_loads
from didvc.errors import (
    InputTooLargeError,
    InvalidSignatureError,
    InvalidTokenHeaderError,
    MalformedValueError,
    ParsingError,
    UnsupportedAlgorithmError,
)
from didvc.keys import KeyType, PublicKey, Signer, key_type_for_jws_alg

__all__ = [
    "ALLOWED_ALGORITHMS",
    "MAX_TOKEN_BYTES",
    "JwsParts",
    "ParsedJws",
    "parse_jws",
    "sign_jws",
    "split_jws",
    "verify_jws",
]

#: The JOSE algorithms didvc accepts, each tied to one key type.
ALLOWED_ALGORITHMS: Final = frozenset({"EdDSA", "ES256", "ES384", "ES256K"})
#: Default cap on a compact token's length (a VP with several credentials fits easily).
MAX_TOKEN_BYTES: Final = 256 * 1024

_FORBIDDEN_HEADER: Final = frozenset(
    {"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit", "b64", "enc", "zip", "epk", "apu", "apv"}
)
_MEDIA_PREFIX: Final = "application/"


class JwsParts:
    """A compact JWS whose header passed every check; the payload is not yet read, the
    signature not yet verified (:func:`split_jws`). Its header is shared by every token that
    has the same one: read it, never change it (a slotted class, not a frozen dataclass: one
    is made per request, and a frozen dataclass's ``__init__`` costs twice as much)."""

    __slots__ = ("alg", "encoded_payload", "header", "kid", "signature", "signing_input", "token")

    def __init__(
        self, header: _Header, encoded_payload: str, signing_input: bytes, signature: bytes, token: str
    ) -> None:
        self.header: Mapping[str, Any] = header.members
        self.alg: str = header.alg
        self.kid: str | None = header.kid
        self.encoded_payload = encoded_payload
        self.signing_input = signing_input
        self.signature = signature
        self.token = token

    def read_payload(self) -> dict[str, Any]:
        """The payload: base64url, UTF-8 (RFC 7515 §3), a JSON object read strictly."""
        try:
            payload_bytes = b64url_decode(self.encoded_payload)
        except MalformedValueError as exc:
            raise ParsingError(f"token part is not base64url: {exc}") from None
        try:
            payload_text = payload_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise ParsingError("JWS payload is not UTF-8") from None
        payload = strict_json_loads(payload_text, what="JWS payload")
        if not isinstance(payload, dict):
            raise ParsingError("JWS payload is not a JSON object")
        return payload


class ParsedJws(JwsParts):
    """A compact JWS whose header passed every check and whose payload was read; the signature
    is not yet verified."""

    __slots__ = ("payload",)

    def __init__(self, parts: JwsParts, payload: dict[str, Any]) -> None:
        self.header, self.alg, self.kid = parts.header, parts.alg, parts.kid
        self.encoded_payload, self.signing_input = parts.encoded_payload, parts.signing_input
        self.signature, self.token = parts.signature, parts.token
        self.payload = payload


class _Header(NamedTuple):
    """A protected header that passed the checks: its members (read-only) and what is read of
    them on every token."""

    members: Mapping[str, Any]
    alg: str
    kid: str | None


def _typ_matches(typ: object, expected: str) -> bool:
    if not isinstance(typ, str):
        return False
    value = typ.lower().removeprefix(_MEDIA_PREFIX)
    return value == expected.lower()


@lru_cache(maxsize=4096)
def _checked_header(encoded_header: str, typ: str) -> _Header:
    """Decode and check one protected header. A holder's tokens share theirs, so a header that
    passed is remembered (by its exact text); a failing one is never cached."""
    try:
        header_bytes = b64url_decode(encoded_header)
    except MalformedValueError as exc:
        raise ParsingError(f"token part is not base64url: {exc}") from None
    header = strict_json_loads(header_bytes, what="JOSE header")
    if not isinstance(header, dict):
        raise ParsingError("JOSE header is not a JSON object")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise UnsupportedAlgorithmError(f"JOSE alg {alg!r} is not allowed")
    forbidden = sorted(_FORBIDDEN_HEADER.intersection(header))
    if forbidden:
        raise InvalidTokenHeaderError(f"JOSE header member(s) not accepted: {', '.join(forbidden)}")
    if not _typ_matches(header.get("typ"), typ):
        raise InvalidTokenHeaderError(f"JOSE typ must be {typ!r}, got {header.get('typ')!r}")
    kid = header.get("kid")
    if "kid" in header and not isinstance(kid, str):
        raise InvalidTokenHeaderError("JOSE kid must be a string")
    return _Header(MappingProxyType(header), alg, kid)


def parse_jws(token: str | bytes, *, typ: str, max_bytes: int = MAX_TOKEN_BYTES) -> ParsedJws:
    """Decode a compact JWS, check its header and read its payload; no signature work is done."""
    parts = split_jws(token, typ=typ, max_bytes=max_bytes)
    return ParsedJws(parts, parts.read_payload())


def split_jws(token: str | bytes, *, typ: str, max_bytes: int = MAX_TOKEN_BYTES) -> JwsParts:
    """Split a compact JWS and check its header, leaving the payload unread (a verifier that
    knows most of it reads only the rest); no signature work is done."""
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise ParsingError("token is not ASCII") from None
    if not isinstance(token, str):
        raise ParsingError("token must be a string")
    if len(token) > max_bytes:
        raise InputTooLargeError(f"token is longer than {max_bytes} bytes")
    parts = token.split(".")
    if len(parts) == 5:
        raise InvalidTokenHeaderError("encrypted tokens (JWE) are not accepted")
    if len(parts) != 3:
        raise ParsingError("token is not a compact JWS (three dot-separated parts)")
    encoded_header, encoded_payload, encoded_signature = parts
    header = _checked_header(encoded_header, typ)
    try:
        signature = b64url_decode(encoded_signature)
    except MalformedValueError as exc:
        raise ParsingError(f"token part is not base64url: {exc}") from None
    if not signature:
        raise InvalidTokenHeaderError("token has no signature")
    return JwsParts(
        header,
        encoded_payload,
        token[: len(encoded_header) + 1 + len(encoded_payload)].encode("ascii"),
        signature,
        token,
    )


def verify_jws(parsed: JwsParts, key: PublicKey) -> None:
    """Verify the signature with ``key`` (from a resolved DID document); raises on failure.

    JWS signatures are the raw forms :meth:`PublicKey.verify` checks (Ed25519; ECDSA ``r || s``
    over SHA-256 for ES256/ES256K, SHA-384 for ES384), on the bytes :func:`parse_jws` checked.
    """
    expected_type = key_type_for_jws_alg(parsed.alg)
    if expected_type is None or expected_type is not key.key_type:
        raise UnsupportedAlgorithmError(f"alg {parsed.alg} cannot be used with a {key.key_type} key")
    try:
        key.verify(parsed.signature, parsed.signing_input)
    except InvalidSignatureError:
        raise InvalidSignatureError("JWS signature is invalid") from None


async def sign_jws(
    payload: dict[str, Any],
    signer: Signer,
    *,
    typ: str,
    header: dict[str, Any] | None = None,
) -> str:
    """Sign ``payload`` as a compact JWS with ``alg`` from the signer's key type and ``kid``."""
    alg = _alg_for(signer.algorithm)
    protected = {"alg": alg, "kid": signer.key_id, "typ": typ, **(header or {})}
    encoded_header = b64url_encode(json.dumps(protected, separators=(",", ":")).encode())
    encoded_payload = b64url_encode(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = f"{encoded_header}.{encoded_payload}"
    signature = await signer.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


def _alg_for(algorithm: str) -> str:
    try:
        key_type = KeyType(algorithm)
    except ValueError:
        raise UnsupportedAlgorithmError(f"no JOSE alg for key type {algorithm!r}") from None
    for alg in ALLOWED_ALGORITHMS:
        if key_type_for_jws_alg(alg) is key_type:
            return alg
    raise UnsupportedAlgorithmError(f"no JOSE alg for key type {algorithm!r}")
