"""The agent's request presentation: the claims that bind a vp+jwt to one HTTP request.

See docs/design.md, "The agent's request presentation". The token is a compact JWS with
``typ: vp+jwt`` whose payload is a VC 2.0 presentation plus these claims:

- ``iss`` (the holder), ``aud`` (the API's audience), ``iat``, ``exp`` (short), ``jti`` (unique)
- ``htm`` and ``htu``: the request method and target URI without query or fragment (as DPoP,
  RFC 9449 §4.2)
- optional ``nonce`` (a server-issued challenge) and ``bdh``: base64url(SHA-256(body bytes))

This module is pure: building the claims and checking them against a request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final, NamedTuple, TypeGuard
from urllib.parse import urlsplit, urlunsplit

from didvc.encoding import b64url_encode
from didvc.errors import ParsingError, RequestBindingError
from didvc.jose import sign_jws
from didvc.keys import Signer

__all__ = [
    "DEFAULT_LIFETIME",
    "NONCE_HEADER",
    "RequestClaims",
    "another_try",
    "body_digest",
    "check_request_claims",
    "new_jti",
    "normalize_htu",
    "refusal_header",
    "sign_request_token",
]

DEFAULT_LIFETIME: Final = 60
#: The response header in which a server hands out a nonce for the next token (valid once).
NONCE_HEADER: Final = "VP-Nonce"
_MAX_TIME: Final = 2**53
_NUMBERS: Final = frozenset({int, float})  # exactly: bool is an int
#: How a 401's ``WWW-Authenticate`` names the problem that refused the token.
_CODE_PARAMETER: Final = 'error_code="{}"'
_REPLAYED: Final = _CODE_PARAMETER.format("REPLAY_DETECTED_ERROR")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def refusal_header(scheme: str, code: str) -> str:
    """The ``WWW-Authenticate`` value of a 401 refusing a token for ``code`` (a problem code;
    docs/header.md, "Answers"): what :func:`another_try` reads."""
    return f'{scheme} error="invalid_token", ' + _CODE_PARAMETER.format(code)


def another_try(status: int, headers: Mapping[str, str]) -> tuple[bool, str | None]:
    """Whether a client sends its request once more, with a fresh token, and the nonce to put
    in it: a 401 that hands out a nonce (``VP-Nonce``), or one that refused the token as a
    replay (``error_code="REPLAY_DETECTED_ERROR"``): the client's tokens are fresh, so the
    server, or its Redis, restarted or set its clock back since the token was signed. Either
    way the server answered before its handler ran: nothing was done. Once, not more (docs/
    header.md, "Answers")."""
    if status != 401:
        return False, None
    nonce = headers.get(NONCE_HEADER) or None
    replayed = _REPLAYED in (headers.get("WWW-Authenticate") or "")
    return nonce is not None or replayed, nonce


def body_digest(body: bytes) -> str:
    """The ``bdh`` claim: base64url (no padding) of SHA-256 of the exact body bytes."""
    return b64url_encode(hashlib.sha256(body).digest())


def new_jti() -> str:
    """A fresh token id: 128 random bits."""
    return b64url_encode(secrets.token_bytes(16))


@lru_cache(maxsize=4096)
def normalize_htu(url: str) -> str:
    """The ``htu`` form of a URL: scheme and host lower-cased, default port dropped, no query or
    fragment, an empty path as ``/`` (RFC 9449 §4.3 compares URIs this way)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ParsingError(f"not a valid URL: {url[:100]!r}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ParsingError(f"htu must be an absolute http(s) URL: {url[:100]!r}")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


class RequestClaims(NamedTuple):
    """What the verifier expects of a request token (a tuple: built on every request)."""

    audience: str
    method: str
    url: str
    body: bytes | None = None
    nonce: str | None = None


def check_request_claims(
    payload: dict[str, Any],
    expected: RequestClaims,
    *,
    now: float,
    max_lifetime: int,
    clock_skew: int,
) -> tuple[str, float]:
    """Check ``aud``, ``htm``, ``htu``, ``iat``/``exp``, ``nonce`` and ``bdh``; return (jti, exp)."""
    get = payload.get  # every request: one look-up per claim
    aud = get("aud")
    if aud != expected.audience and not (isinstance(aud, list) and expected.audience in aud):
        raise RequestBindingError("token audience does not match this API")
    htm = get("htm")
    if not isinstance(htm, str) or htm.upper() != expected.method.upper():
        raise RequestBindingError("token is bound to another HTTP method")
    htu = get("htu")
    if not isinstance(htu, str):
        raise RequestBindingError("token has no htu")
    try:
        same_target = normalize_htu(htu) == normalize_htu(expected.url)
    except ParsingError:
        same_target = False
    if not same_target:
        raise RequestBindingError("token is bound to another URL")
    iat, exp = get("iat"), get("exp")
    if not _is_number(iat) or not _is_number(exp):
        raise RequestBindingError("token needs numeric iat and exp (epoch seconds)")
    if exp <= iat or exp - iat > max_lifetime:
        raise RequestBindingError(f"token lifetime must be positive and at most {max_lifetime} s")
    if iat > now + clock_skew:
        raise RequestBindingError("token was issued in the future")
    if exp < now - clock_skew:
        raise RequestBindingError("token has expired")
    jti = get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 256:
        raise RequestBindingError("token needs a jti of 8 to 256 characters")
    if expected.nonce is not None and get("nonce") != expected.nonce:
        raise RequestBindingError("token nonce does not match the server's nonce")
    if "bdh" in payload and (expected.body is None or payload["bdh"] != body_digest(expected.body)):
        raise RequestBindingError("token is bound to another request body")
    return jti, float(exp)


def _is_number(value: Any) -> TypeGuard[int | float]:
    """A JSON number (bool is not one) that is a plausible time: from 0 to 2^53 seconds."""
    return type(value) in _NUMBERS and 0 <= value <= _MAX_TIME


async def sign_request_token(
    presentation: dict[str, Any],
    signer: Signer,
    *,
    audience: str,
    method: str,
    url: str,
    body: bytes | None = None,
    nonce: str | None = None,
    lifetime: int = DEFAULT_LIFETIME,
    now: float | None = None,
) -> str:
    """Sign ``presentation`` as the request-bound ``vp+jwt`` for one HTTP request."""
    holder = presentation.get("holder")
    if not isinstance(holder, str) or not signer.key_id.startswith(holder + "#"):
        raise ParsingError("the presentation's holder must be the DID of the signing key")
    issued = int(time.time() if now is None else now)
    payload: dict[str, Any] = {
        **presentation,
        "iss": holder,
        "aud": audience,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": new_jti(),
        "htm": method.upper(),
        "htu": normalize_htu(url),
    }
    if nonce is not None:
        payload["nonce"] = nonce
    if body is not None:
        payload["bdh"] = body_digest(body)
    return await sign_jws(payload, signer, typ="vp+jwt")
