"""The verifier: one call per credential or presentation, a result every time.

:class:`Verifier` holds what outlives one verification: the resolver, the policy, the caches
(proof results, settled presentations, status lists, replayed token ids) and the clock. Each
call runs a :class:`~verifier._pipeline.Pipeline` — every check in one place, cheapest first —
and turns every failure into a ``(code, message)`` problem: nothing the caller sends raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from didvc.did import DidDocument, DidResolver
from didvc.encoding import load_multicodec
from resolvers import Fetcher, FetchPolicy, GuardedFetcher
from verifier._credentials import CredentialChecker
from verifier._events import RedisStatusChannel, StatusEventStream
from verifier._general import Mode, general_presentation
from verifier._pipeline import NonceCheck, Pipeline, Request
from verifier._policy import Policy
from verifier._replay import MemoryReplayCache, ReplayCache
from verifier._result import CredentialResult, VerificationResult
from verifier._settled import SettledPresentations
from verifier._status import StatusChecker
from verifier._worker import shared_worker

if TYPE_CHECKING:
    from aiohttp.typedefs import Middleware

__all__ = ["Verifier"]

_log = logging.getLogger("didvc.verifier")


def _now() -> datetime:
    return datetime.now(UTC)


class Verifier:
    """Verifies credentials and presentations.

    - ``resolver``: DID resolution (default: did:key, did:jwk, did:web, cached).
    - ``policy``: trusted issuers, scopes per route, limits, suites (:class:`Policy`). The
      default trusts no issuer: configure ``trusted_issuers``.
    - ``replay_cache``: where token ids are remembered (default: in memory; use
      :class:`RedisReplayCache` for a fleet).
    - ``clock``: the current time, injectable for tests.
    - ``fetcher``: where did:web documents and status lists come from (default: the network,
      under the guarded rules; :class:`~resolvers.MemoryFetcher` serves them from memory in tests).
    - ``allow_http``/``allow_loopback``: relax the network rules for did:web and status lists,
      for loopback tests and demos only.
    - ``cache_size``/``cache_bytes``/``cache_ttl``: one sizing for what the verifier keeps per
      agent — DID documents (of the default resolver), proof results and settled presentations.
      Each holds at most ``cache_size`` entries; together they hold about ``cache_bytes`` (a
      quarter each for documents and proofs, half for presentations, by their estimated size);
      an entry is trusted ``cache_ttl`` seconds (at most the DID documents' lifetime). The
      defaults hold 100,000 active agents in about 300 MB (``bench/bench_agents.py``).
    - ``isolate_canonicalization``: canonicalize credentials the caches have not seen in a worker
      process at low priority (:mod:`verifier._worker`), never on the event loop. On by default;
      off only where no one else sends the input (a holder checking its own credentials).
    - ``status_channel``: a :class:`RedisStatusChannel` through which a fleet shares status
      changes (see :meth:`start_status_updates`).
    """

    def __init__(
        self,
        *,
        resolver: DidResolver | None = None,
        policy: Policy | None = None,
        replay_cache: ReplayCache | None = None,
        clock: Callable[[], datetime] = _now,
        status_checker: StatusChecker | None = None,
        fetcher: Fetcher | None = None,
        allow_http: bool = False,
        allow_loopback: bool = False,
        cache_size: int = 100_000,
        cache_bytes: int = 384 << 20,
        cache_ttl: float = 300.0,
        isolate_canonicalization: bool = True,
        status_channel: RedisStatusChannel | None = None,
    ) -> None:
        self._owns_fetcher = fetcher is None
        self.fetcher = fetcher or GuardedFetcher(
            FetchPolicy(allow_http=allow_http, allow_loopback=allow_loopback)
        )
        if resolver is None:
            from resolvers import default_resolver

            # sized with the other caches: an agent whose proof is cached has its DID document too
            resolver = default_resolver(
                fetcher=self.fetcher,
                allow_http=allow_http,
                maxsize=cache_size,
                max_bytes=cache_bytes // 4,
            )
        self.resolver = resolver
        self.policy = policy or Policy()
        if self.policy.trust_any_issuer:
            _log.warning("trust_any_issuer is on: a credential from ANY issuer counts. Development only.")
        self.replay_cache: ReplayCache = replay_cache if replay_cache is not None else MemoryReplayCache()
        self.clock = clock
        self.credentials = CredentialChecker(
            resolver,
            cache_size=cache_size,
            cache_bytes=cache_bytes // 4,
            cache_ttl=cache_ttl,
            isolate=isolate_canonicalization,
        )
        self.status = status_checker or StatusChecker(self.fetcher, self.credentials)
        if isolate_canonicalization:  # a server's verifier: what takes a while, now, not on a request
            shared_worker().start()  # the worker's imports
            DidDocument.load_parser()  # pydid, for the first did:web document
        self._settled = SettledPresentations(
            max_entries=cache_size, max_bytes=cache_bytes // 2, ttl=cache_ttl
        )
        self.status_channel = status_channel
        self._updates: set[asyncio.Task[None]] = set()  # the listener, the followers, publishing
        self._listening = False
        self.event_streams: list[StatusEventStream] = []

    async def start_status_updates(self, events: Iterable[str] = ()) -> None:
        """Learn of status changes as they happen, not only when a list's ``ttl`` runs out:
        follow each issuer event stream in ``events`` (``https://issuer.example/status/events``)
        and, with a ``status_channel``, share what is learned with the fleet and hear what the
        others learned. Runs until :meth:`close`; call it once the event loop runs (an aiohttp
        ``on_startup`` hook)."""
        if self.status_channel is not None and not self._listening:
            self._listening = True
            self._run(
                self.status_channel.listen(
                    changed=self.status.invalidate, missed=self.status.invalidate_prefix
                )
            )
        for url in events:
            if not isinstance(self.fetcher, GuardedFetcher):
                raise TypeError("following status events needs the network fetcher (GuardedFetcher)")
            stream = StatusEventStream(
                url, self.fetcher, changed=self._status_changed, missed=self._status_missed
            )
            self.event_streams.append(stream)
            self._run(stream.run())

    def _status_changed(self, url: str) -> None:
        _log.info("status list changed: %s", url[:200])
        self.status.invalidate(url)
        if self.status_channel is not None:
            self._run(self.status_channel.publish(changed=url))

    def _status_missed(self, prefix: str) -> None:
        self.status.invalidate_prefix(prefix)
        if self.status_channel is not None:
            self._run(self.status_channel.publish(missed=prefix))

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        """A background task kept until it ends (or :meth:`close` cancels it)."""
        task = asyncio.create_task(work)
        self._updates.add(task)
        task.add_done_callback(self._updates.discard)

    def _pipeline(self) -> Pipeline:
        return Pipeline(
            self.policy,
            self.clock(),
            self.credentials,
            self.status,
            self.replay_cache,
            self._settled,
            self.resolver,
        )

    async def close(self) -> None:
        """Stop following status updates; close the HTTP session this verifier opened (did:web
        and status lists)."""
        updates, self._updates = list(self._updates), set()
        self._listening = False
        for task in updates:
            task.cancel()
        await asyncio.gather(*updates, return_exceptions=True)
        if self._owns_fetcher:
            await self.fetcher.close()

    async def __aenter__(self) -> Verifier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def serving(self) -> None:
        """Say that a server starts verifying requests now: an in-memory replay cache refuses,
        from now on, a token issued before (:meth:`MemoryReplayCache.begin`), since a restarted
        process has forgotten which tokens were used; and what the first request would load on
        the event loop is loaded now (multiformats' tables: 10-30 ms that every request arriving
        with the first one waited for). Each web integration's gate calls it as it is built; a
        script verifying tokens made earlier does not."""
        if isinstance(self.replay_cache, MemoryReplayCache):
            self.replay_cache.begin(self.clock().timestamp())
        load_multicodec()

    def middleware(self, *, audience: str, **options: Any) -> Middleware:
        """The aiohttp middleware for this verifier (see :func:`verifier.middleware`)."""
        from verifier._middleware import middleware  # aiohttp's server loads with it

        return middleware(self, audience=audience, **options)

    async def verify_credential(
        self, credential: dict[str, Any] | str | bytes, *, audience: str | None = None
    ) -> VerificationResult:
        """Verify one credential (a Data Integrity JSON object, its JSON text, or a vc+jwt) as a
        relying party: trusted issuer, ``audience`` if the credential names audiences, validity,
        proof, status, required types."""
        return await self._pipeline().credential(credential, Request(audience=audience))

    async def check_credential(self, credential: dict[str, Any] | str | bytes) -> CredentialResult:
        """A credential's integrity, as its holder checks what it stores: data model, validity,
        proof and status, under no trust policy. Relying parties use :meth:`verify_credential`."""
        return await self._pipeline().integrity(credential)

    async def verify_presentation(
        self,
        presentation: str | bytes | dict[str, Any],
        *,
        audience: str | None = None,
        method: str | None = None,
        url: str | None = None,
        body: bytes | None = None,
        challenge: str | None = None,
        consume_challenge: NonceCheck | None = None,
        mode: Mode | str = Mode.REQUEST,
        domain: str | None = None,
    ) -> VerificationResult:
        """Verify a request presentation: a ``vp+jwt`` token, or a Data Integrity VP (JSON object,
        JSON text or base64url JSON) whose ``authentication`` proof names the audience as its
        ``domain``.

        ``audience``, ``method``, ``url`` (and ``body``) are the request it must be bound to.
        Freshness from the server has one name for both forms: ``challenge`` is the value this
        server issued, which a vp+jwt carries as ``nonce`` and a Data Integrity VP as its proof's
        ``challenge``; or ``consume_challenge`` consumes the one the presentation carries (e.g.
        :meth:`NonceStore.consume`: true once for a value the server issued), called only once
        the signature, request binding and replay checks passed, so a forged token cannot use
        one up. A Data Integrity VP needs one of the two.

        ``mode="general"`` verifies any presentation as the W3C VC-API does (holder optional,
        credentials about anyone, freshness from the ``challenge`` and ``domain`` the caller
        expects, nothing remembered; :mod:`verifier._general`): give only ``challenge`` and
        ``domain`` then. The result's ``holder`` is the presentation's signer.
        """
        if mode is not Mode.REQUEST and Mode(mode) is Mode.GENERAL:  # Mode(): a µs per request
            if (audience, method, url, body, consume_challenge) != (None,) * 5:
                raise ValueError("general verification takes a challenge and a domain, not a request")
            return await general_presentation(
                self._pipeline(), presentation, challenge=challenge, domain=domain
            )
        if domain is not None:
            raise ValueError("request authentication takes the audience as the domain")
        request = Request(audience, method, url, body, challenge, consume_challenge)
        return await self._pipeline().presentation(presentation, request)
