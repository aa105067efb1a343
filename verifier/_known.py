"""Known presentations: a request token's settled key found without parsing its presentation.

An agent sends the same presentation with every request; only the request claims after it
change (``iss``, ``aud``, ``iat``, ``exp``, ``jti``, ``htm``, ``htu``...). didvc's wallet writes
the presentation's members first, in compact JSON, so every token of one presentation starts
with the same payload bytes P = ``{"@context":…,"verifiableCredential":[…],``. Decoding and
parsing P again on every request was a sixth of a settled request's cost in a server.

Once a presentation has settled and comes again, the verifier remembers where P ends in the
holder's payloads (its *cut*: the base64url characters of P's whole 3-byte groups and the 0-2
bytes left), a digest of those characters and bytes, and the presentation's settled key. A later
token of that holder whose first characters and bytes have that digest is that presentation:
its settled entry is looked up by the key, and only the rest of the payload is decoded, read
strictly as the object of the request claims, ``{`` + the rest, which must name at least one
member and no presentation member (the payload would then hold a member twice, which the full
parse refuses). Equal base64url characters are equal bytes (a bijection on whole groups), so
such a payload is exactly P followed by those claims: what the full parse would have read.

Settled entries keep one key, the SHA-256 of the presentation's marshalled members
(:func:`members_key`), whichever way a token was read; a presentation written otherwise
(another wallet's member order or spacing) has no cut and is simply always read in full.
Nothing is accepted here that the full parse would refuse: whatever does not fit falls back to
it, and it says what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from didvc.encoding import b64url_decode, b64url_encode, strict_json_loads
from didvc.errors import DidvcError
from verifier._credentials import exact_bytes

__all__ = ["PRESENTATION_MEMBERS", "claims_after", "cut_of", "members_key", "prefix_digest", "tail_of"]

#: The payload members that are the presentation (the rest are the request's claims).
PRESENTATION_MEMBERS: Final = frozenset({"@context", "type", "id", "holder", "verifiableCredential"})
_ORDER: Final = ("@context", "type", "id", "holder", "verifiableCredential")
_PREFIX_TAG: Final = b"didvc:vp-prefix\x00"


def members_key(holder: str, payload: dict[str, Any]) -> bytes | None:
    """The settled key of a presentation: the SHA-256 of its holder's DID and its members'
    exact (marshalled) values."""
    get = payload.get
    exact = exact_bytes((holder, *[get(name, ()) for name in _ORDER]))
    return hashlib.sha256(exact).digest() if exact is not None else None


def cut_of(encoded_payload: str, payload: dict[str, Any]) -> int | None:
    """Where the presentation ends in this (parsed) payload, as base64url characters of whole
    groups plus the bytes left (``chars + rest``, ``chars`` a multiple of 4); None when its
    members do not come first in compact JSON, or nothing follows them."""
    names = list(payload)
    count = 0
    while count < len(names) and names[count] in PRESENTATION_MEMBERS:
        count += 1
    if count == 0 or count == len(names) or not PRESENTATION_MEMBERS.isdisjoint(names[count:]):
        return None
    head = {name: payload[name] for name in names[:count]}
    try:
        prefix = (json.dumps(head, separators=(",", ":"), ensure_ascii=False)[:-1] + ",").encode()
        whole = len(prefix) // 3 * 3
        chars = whole // 3 * 4
        if encoded_payload[:chars] != b64url_encode(prefix[:whole]):
            return None
        if not b64url_decode(encoded_payload[chars:]).startswith(prefix[whole:]):
            return None
    except (UnicodeEncodeError, DidvcError):
        return None
    return chars + len(prefix) - whole


def tail_of(encoded_payload: str, cut: int) -> bytes | None:
    """The payload's bytes from the first group after the cut's whole groups."""
    try:
        return b64url_decode(encoded_payload[cut - cut % 4 :])
    except DidvcError:
        return None


def prefix_digest(encoded_payload: str, tail: bytes, cut: int) -> bytes:
    """A digest of the payload before ``cut``: 16 bytes of the SHA-256 of its characters and
    the bytes left of it (the same whichever way the payload was read)."""
    chars, rest = cut - cut % 4, cut % 4
    digest = hashlib.sha256(_PREFIX_TAG)
    digest.update(encoded_payload[:chars].encode("ascii"))
    digest.update(tail[:rest])
    return digest.digest()[:16]


def claims_after(tail: bytes, cut: int) -> dict[str, Any] | None:
    """The request claims after the presentation: the rest of the payload read strictly as
    ``{`` + rest, at least one member, none of the presentation's; None if it is not that."""
    try:
        claims = strict_json_loads("{" + tail[cut % 4 :].decode("utf-8"), what="JWS payload")
    except (UnicodeDecodeError, DidvcError):
        return None
    if not isinstance(claims, dict) or not claims or not PRESENTATION_MEMBERS.isdisjoint(claims):
        return None
    return claims
