"""Guarded HTTP fetching for DID documents and status lists (the SSRF rules of docs/design.md).

- https only; plain http only when the caller passes ``allow_http=True`` (loopback tests).
- Every address a name resolves to must be public (``ip.is_global``): no private, loopback,
  link-local (169.254.169.254 included), multicast, reserved or shared ranges. The check runs
  inside aiohttp's resolver, on the very addresses it connects to, so a DNS answer cannot
  change between check and use; IP-literal hosts are checked before any connection.
  ``allow_loopback=True`` admits 127.0.0.0/8 and ::1 only, for tests.
- Redirects are followed by hand, at most ``max_redirects``, each hop checked again.
- Bounded time (``timeout``), bounded size (``max_bytes``, read incrementally), and an allowed
  set of content types.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from didvc.development import refuse_in_production
from didvc.errors import FetchError
from resolvers._fetch import Fetched

if TYPE_CHECKING:
    import aiohttp

__all__ = ["FetchPolicy", "GuardedFetcher", "address_allowed"]


@dataclass(frozen=True)
class FetchPolicy:
    """The network rules of a :class:`GuardedFetcher`. ``max_bytes`` caps every response; each
    caller also states its own, smaller bound (a DID document 256 KiB, a status list 4 MiB)."""

    allow_http: bool = False
    allow_loopback: bool = False
    timeout: float = 5.0
    max_bytes: int = 4 * 1024 * 1024
    max_redirects: int = 3

    def __post_init__(self) -> None:
        for switch in ("allow_http", "allow_loopback"):
            if getattr(self, switch):
                refuse_in_production(switch)


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """True when ``address`` is a public unicast address (or loopback, when allowed)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


@cache
def _guarded_resolver_class() -> type:
    """aiohttp's resolver with the address rule applied to every answer; built on first use,
    so that importing :mod:`resolvers` (every command-line start) does not import aiohttp."""
    from aiohttp.abc import AbstractResolver, ResolveResult
    from aiohttp.resolver import DefaultResolver

    class GuardedResolver(AbstractResolver):
        def __init__(self, policy: FetchPolicy) -> None:
            self._inner = DefaultResolver()
            self._policy = policy

        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            results = await self._inner.resolve(host, port, family)
            loopback = self._policy.allow_loopback
            allowed = [r for r in results if address_allowed(r["host"], allow_loopback=loopback)]
            if not allowed:
                raise FetchError(f"{host} resolves to no allowed address", reason="forbidden")
            return allowed

        async def close(self) -> None:
            await self._inner.close()

    return GuardedResolver


class GuardedFetcher:
    """A :class:`~resolvers.Fetcher` over the network under a :class:`FetchPolicy`; one aiohttp
    session, created lazily."""

    def __init__(self, policy: FetchPolicy | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self._session: aiohttp.ClientSession | None = None

    async def _client(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None or self._session.closed:
            resolver = _guarded_resolver_class()(self.policy)
            connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.policy.timeout),
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise FetchError(f"malformed URL {url[:100]!r}", reason="forbidden") from None
        if parts.scheme == "http" and not self.policy.allow_http:
            raise FetchError("plain http is not allowed", reason="forbidden")
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
            raise FetchError(f"not an allowed URL: {url[:100]!r}", reason="forbidden")
        try:
            ipaddress.ip_address(parts.hostname)
        except ValueError:
            return
        if not address_allowed(parts.hostname, allow_loopback=self.policy.allow_loopback):
            hint = " (on one machine, in development: --allow-loopback)" if _loopback(parts.hostname) else ""
            raise FetchError(f"address {parts.hostname} is not allowed{hint}", reason="forbidden")

    async def fetch(
        self, url: str, *, accept: Iterable[str], max_bytes: int, etag: str | None = None
    ) -> Fetched:
        """GET ``url`` under the policy, at most ``max_bytes`` (and the policy's own bound) long;
        with ``etag``, conditionally (a 304 comes back with no body); raises :class:`FetchError`."""
        import aiohttp

        accepted = {a.lower() for a in accept}
        client = await self._client()
        headers = {"Accept": ", ".join(sorted(accepted))}
        if etag is not None:
            headers["If-None-Match"] = etag
        for _ in range(self.policy.max_redirects + 1):
            self._check_url(url)
            try:
                async with client.get(url, allow_redirects=False, headers=headers) as response:
                    if response.status == 304 and etag is not None:
                        found = {k.lower(): v for k, v in response.headers.items()}
                        return Fetched(url, 304, "", b"", found)
                    if response.status in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location")
                        if not location:
                            raise FetchError("redirect without Location", reason="forbidden")
                        url = urljoin(url, location)
                        continue
                    if response.status != 200:
                        raise FetchError(
                            f"HTTP {response.status} from {url[:100]}",
                            reason="http_status",
                            status=response.status,
                        )
                    content_type = response.content_type.lower()
                    if content_type not in accepted:
                        raise FetchError(f"unexpected content type {content_type!r}", reason="media_type")
                    limit = min(max_bytes, self.policy.max_bytes)
                    declared = response.content_length
                    if declared is not None and declared > limit:
                        raise FetchError(f"response larger than {limit} bytes", reason="too_large")
                    body = bytearray()
                    async for chunk in response.content.iter_chunked(65536):
                        body.extend(chunk)
                        if len(body) > limit:
                            raise FetchError(f"response larger than {limit} bytes", reason="too_large")
                    headers = {k.lower(): v for k, v in response.headers.items()}
                    return Fetched(url, response.status, content_type, bytes(body), headers)
            except FetchError:
                raise
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                cause: Any = exc
                while cause is not None and not isinstance(cause, FetchError):
                    cause = cause.__cause__ or cause.__context__
                if isinstance(cause, FetchError):
                    raise cause from None
                raise FetchError(
                    f"could not fetch {url[:100]}: {type(exc).__name__}", reason="unreachable"
                ) from None
        raise FetchError(f"more than {self.policy.max_redirects} redirects", reason="forbidden")

    @contextlib.asynccontextmanager
    async def stream(
        self, url: str, *, accept: str, idle_timeout: float
    ) -> AsyncIterator[aiohttp.StreamReader]:
        """A long-lived GET of ``url`` under the policy (an event stream): no redirects, the
        connection bounded by the policy's timeout, then by ``idle_timeout`` seconds of silence
        between reads; yields the body to read incrementally. Raises :class:`FetchError`."""
        import aiohttp

        self._check_url(url)
        client = await self._client()
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.policy.timeout, sock_read=idle_timeout)
        try:
            response = await client.get(
                url, allow_redirects=False, headers={"Accept": accept}, timeout=timeout
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise FetchError(
                f"could not open {url[:100]}: {type(exc).__name__}", reason="unreachable"
            ) from None
        async with response:
            if response.status != 200:
                raise FetchError(
                    f"HTTP {response.status} from {url[:100]}", reason="http_status", status=response.status
                )
            if response.content_type.lower() != accept:
                raise FetchError(f"unexpected content type {response.content_type!r}", reason="media_type")
            yield response.content


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
