"""did:web: a DID document published at an https URL derived from the DID.

https://w3c-ccg.github.io/did-method-web/ — ``did:web:example.com`` →
``https://example.com/.well-known/did.json``; ``did:web:example.com:user:alice`` →
``https://example.com/user/alice/did.json``; a port is written ``%3A`` (``example.com%3A8443``).
Fetching follows the guarded rules of :mod:`resolvers._http`; the document must parse strictly
and its ``id`` must be the DID.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote

from didvc.did import DidDocument, parse_did
from didvc.encoding import strict_json_loads
from didvc.errors import (
    DidvcError,
    FetchError,
    ForbiddenTargetError,
    InvalidDidDocumentError,
    InvalidDidError,
    NotFoundError,
    RepresentationNotSupportedError,
    ResolverUnreachableError,
)
from resolvers._fetch import Fetcher
from resolvers._http import FetchPolicy, GuardedFetcher

__all__ = ["WebResolver", "cache_lifetime", "did_web_url"]

_HOST: Final = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_SEGMENT: Final = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=@-]+")
_ACCEPT: Final = (
    "application/did+json",
    "application/did+ld+json",
    "application/json",
    "application/ld+json",
)
MAX_DOCUMENT_BYTES: Final = 256 * 1024


def did_web_url(did: str) -> str:
    """The https URL of a did:web's document (spec §3.2 "Read")."""
    parsed = parse_did(did)
    if parsed.method != "web":
        raise InvalidDidError(f"{did[:80]} is not a did:web")
    host_part, *path = parsed.method_specific_id.split(":")
    host, _, port = unquote(host_part).partition(":")
    if not _HOST.fullmatch(host) or (port and (not port.isdigit() or not 0 < int(port) < 65536)):
        raise InvalidDidError(f"did:web host {host_part[:80]!r} is not a valid host[:port]")
    segments = [unquote(s) for s in path]
    if any(not _SEGMENT.fullmatch(s) or s in (".", "..") for s in segments):
        raise InvalidDidError("did:web path segments must be plain, non-empty names")
    authority = f"{host.lower()}:{port}" if port else host.lower()
    return f"https://{authority}/" + (
        "/".join(segments) + "/did.json" if segments else ".well-known/did.json"
    )


class WebResolver:
    """Resolves did:web through a :class:`~resolvers.Fetcher` (the guarded one by default).
    With ``allow_http`` (loopback tests and demos only) the document is asked for over plain
    http."""

    def __init__(
        self,
        *,
        fetcher: Fetcher | None = None,
        policy: FetchPolicy | None = None,
        allow_http: bool | None = None,
    ) -> None:
        policy = policy or FetchPolicy()
        self.fetcher: Fetcher = fetcher or GuardedFetcher(policy)
        self.allow_http = policy.allow_http if allow_http is None else allow_http

    async def close(self) -> None:
        await self.fetcher.close()

    async def resolve(self, did: str) -> DidDocument:
        url = did_web_url(did)
        if self.allow_http and url.startswith("https://"):
            url = "http://" + url[len("https://") :]
        try:
            fetched = await self.fetcher.fetch(url, accept=_ACCEPT, max_bytes=MAX_DOCUMENT_BYTES)
        except FetchError as exc:
            if exc.status in (404, 410):
                raise NotFoundError(f"{did} has no DID document ({exc})") from None
            if exc.reason == "media_type":
                raise RepresentationNotSupportedError(str(exc)) from None
            if exc.reason == "too_large":
                raise InvalidDidDocumentError(str(exc)) from None
            if exc.refused:
                raise ForbiddenTargetError(
                    f"refused to fetch the DID document of {did[:80]}: {exc}"
                ) from None
            raise ResolverUnreachableError(f"could not fetch the DID document of {did[:80]}: {exc}") from None
        try:
            data = strict_json_loads(fetched.body, what="DID document")
        except DidvcError as exc:
            raise InvalidDidDocumentError(str(exc)) from None
        document = DidDocument(data)
        if document.id != did:
            raise InvalidDidDocumentError(f"the document at {url} is for {document.id[:80]}, not {did[:80]}")
        document.cache_for = cache_lifetime(fetched.headers.get("cache-control", ""))
        return document


def cache_lifetime(cache_control: str) -> float | None:
    """Seconds a response may be cached by its ``Cache-Control`` (RFC 9111 §5.2.2): ``max-age``,
    0 for ``no-store``/``no-cache``, None when it does not say."""
    directives = [d.strip().lower() for d in cache_control.split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name == "max-age" and value.strip('"').isdigit():
            return float(min(int(value.strip('"')), 2**31))
    return None
