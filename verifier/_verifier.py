"""The verification pipeline: one call per credential or presentation, a result every time.

For a request presentation (``vp+jwt``) the checks run in the order of docs/design.md:
parse → holder key from ``kid`` (``authentication``) → JWS signature → ``aud``/``htm``/``htu``/
time window → ``jti`` replay → each credential (proof, issuer key, validity, status) → holder
binding → policy. Every credential and every proof must pass; every failure becomes a
``(code, message)`` problem, and nothing the caller sends raises.

Speed: a credential's proof check (and data-model parse) is cached by the SHA-256 of its exact
JSON, for at most the resolver's TTL, so a repeated request costs one holder signature and a
few look-ups. Validity dates and status are re-checked on every request, from their caches.
"""

from __future__ import annotations

import hashlib
import marshal
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlsplit

from didvc.credentials import (
    CredentialInfo,
    PresentationInfo,
    check_credential,
    check_presentation,
    check_validity_period,
)
from didvc.did import DidResolver, parse_did_url, resolve_verification_method
from didvc.encoding import b64url_decode
from didvc.errors import (
    CredentialTooOldError,
    DidvcError,
    HolderBindingError,
    InsufficientScopeError,
    MissingCredentialTypeError,
    ParsingError,
    ProofVerificationError,
    ReplayDetectedError,
    RequestBindingError,
    UnsupportedAlgorithmError,
    UntrustedIssuerError,
    UseNonceError,
)
from didvc.jose import ParsedJws, parse_jws, strict_json_loads, verify_jws
from didvc.proofs import AssertionMethod, Authentication, parse_datetime, verify_proofs
from didvc.request import RequestClaims, check_request_claims
from resolvers import FetchPolicy, GuardedFetcher
from verifier._lru import BoundedLru
from verifier._policy import Policy
from verifier._replay import MemoryReplayCache, ReplayCache
from verifier._result import CredentialResult, Problem, VerificationResult
from verifier._status import StatusChecker

__all__ = ["Verifier"]

MAX_INPUT_BYTES: Final = 256 * 1024
_JSON_START: Final = ("{", "[")

#: Consumes a nonce the presentation carries: true once for a nonce this server issued.
NonceCheck = Callable[[str], Awaitable[bool]]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _ProofCheck:
    """What a credential's proof check established, cached by the digest of its bytes."""

    info: CredentialInfo
    cryptosuites: tuple[str, ...]
    format: str
    proof_expires: datetime | None
    checked_at: float


@dataclass(frozen=True, slots=True)
class _SettledCredential:
    template: CredentialResult
    claims: bytes  # marshalled, so each result gets claims of its own that a handler may change

    def result(self) -> CredentialResult:
        t = self.template
        return CredentialResult(
            True,
            t.id,
            t.issuer,
            t.types,
            marshal.loads(self.claims),  # noqa: S302 -- bytes we wrote, from parsed JSON
            t.valid_from,
            t.valid_until,
            t.format,
            t.cryptosuites,
        )


@dataclass(frozen=True, slots=True)
class _Settled:
    """A presentation that passed every check not tied to the request, the clock or status."""

    policy: Policy
    holder: str
    credentials: tuple[_SettledCredential, ...]
    scopes: frozenset[str]
    not_before: float  # epoch seconds: every credential (and proof) valid from here ...
    not_after: float  # ... to here, with the clock skew and the policy's maximum age applied
    expires: float  # monotonic: when the cached proof results must be checked again
    statused: tuple[CredentialInfo, ...]  # credentials whose status is checked on every request


class Verifier:
    """Verifies credentials and presentations.

    - ``resolver``: DID resolution (default: did:key, did:jwk, did:web, cached).
    - ``policy``: trusted issuers, scopes per route, suites, lifetimes (:class:`Policy`).
    - ``replay_cache``: where token ids are remembered (default: in memory; use
      :class:`RedisReplayCache` for a fleet).
    - ``clock``: the current time, injectable for tests.
    - ``allow_http``/``allow_loopback``: relax the network rules for did:web and status lists,
      for loopback tests and demos only.
    - ``proof_cache_size``/``proof_cache_bytes``/``proof_cache_ttl``: the bounds of the caches of
      proof results and of settled presentations (entries, bytes of the content they were keyed
      by, each; seconds an entry is trusted, at most the DID cache's TTL).
    """

    def __init__(
        self,
        *,
        resolver: DidResolver | None = None,
        policy: Policy | None = None,
        replay_cache: ReplayCache | None = None,
        clock: Callable[[], datetime] = _now,
        status_checker: StatusChecker | None = None,
        allow_http: bool = False,
        allow_loopback: bool = False,
        proof_cache_size: int = 4096,
        proof_cache_ttl: float = 300.0,
        proof_cache_bytes: int = 64 << 20,
        max_clock_skew: timedelta | None = None,
    ) -> None:
        self._owns_resolver = resolver is None
        if resolver is None:
            from resolvers import default_resolver

            resolver = default_resolver(allow_http=allow_http, allow_loopback=allow_loopback)
        self.resolver = resolver
        self.policy = policy or Policy()
        self.replay_cache: ReplayCache = replay_cache or MemoryReplayCache()
        self.clock = clock
        self.max_clock_skew = max_clock_skew or timedelta(seconds=self.policy.clock_skew)
        self.status = status_checker or StatusChecker(
            GuardedFetcher(
                FetchPolicy(allow_http=allow_http, allow_loopback=allow_loopback, max_bytes=4 << 20)
            ),
            self._verify_status_list,
        )
        self._proofs = BoundedLru[_ProofCheck](max_entries=proof_cache_size, max_bytes=proof_cache_bytes)
        self._settled = BoundedLru[_Settled](max_entries=proof_cache_size, max_bytes=proof_cache_bytes)
        self._proof_cache_ttl = proof_cache_ttl

    async def close(self) -> None:
        """Close the HTTP sessions this verifier opened (status lists, and did:web if it made
        its own resolver)."""
        await self.status.fetcher.close()
        close = getattr(self.resolver, "close", None)
        if self._owns_resolver and close is not None:
            await close()

    def middleware(self, *, audience: str, **options: Any) -> Any:
        """The aiohttp middleware for this verifier (see :func:`verifier.middleware`)."""
        from verifier._middleware import middleware

        return middleware(self, audience=audience, **options)

    async def __aenter__(self) -> Verifier:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # --- credentials ---------------------------------------------------------------------------

    async def verify_credential(self, credential: dict[str, Any] | str | bytes) -> VerificationResult:
        """Verify one credential: a Data Integrity JSON object, its JSON text, or a vc+jwt."""
        now = self.clock()
        result, _, _ = await self._credential(credential, now=now)
        problems = list(result.problems) + self._apply_credential_policy([result], now)
        return VerificationResult(verified=not problems, credentials=[result], problems=problems)

    async def _verify_status_list(self, document: Any) -> tuple[bool, CredentialInfo | None, list[Problem]]:
        """A status list credential's own check: its proof and validity, but not its status."""
        result, info, _ = await self._credential(document, now=self.clock(), check_status=False)
        return result.verified, info if result.verified else None, result.problems

    async def _credential(
        self, credential: dict[str, Any] | str | bytes, *, now: datetime, check_status: bool = True
    ) -> tuple[CredentialResult, CredentialInfo | None, _ProofCheck | None]:
        proof_error: DidvcError | None = None
        try:
            document, token = _load_credential(credential)
            exact = token.encode() if token is not None else _exact_bytes(document)
            key = hashlib.sha256(exact).digest() if exact is not None else None
            checked = self._proofs.get(key) if key is not None else None
            if checked is None or checked.checked_at + self._proof_cache_ttl <= time.monotonic():
                info = check_credential(document)
                try:
                    checked = await self._check_proofs(document, token, now, info)
                except DidvcError as error:
                    checked, proof_error = None, error
                else:
                    if key is not None and exact is not None:
                        self._proofs.put(key, checked, len(exact))
            else:
                info = checked.info
        except DidvcError as error:
            return CredentialResult(verified=False, problems=[Problem.from_error(error)]), None, None
        result = CredentialResult(
            verified=False,
            id=info.id,
            issuer=info.issuer,
            types=info.types,
            claims=[dict(s) for s in info.subjects],
            valid_from=info.valid_from,
            valid_until=info.valid_until,
            format=checked.format if checked else ("jwt" if token else "ldp"),
            cryptosuites=checked.cryptosuites if checked else (),
        )
        if proof_error is not None:
            result.problems.append(Problem.from_error(proof_error))
        try:
            proof_expires = checked.proof_expires if checked is not None else None
            if proof_expires is not None and proof_expires + self.max_clock_skew < now:
                raise ProofVerificationError("proof has expired")
            check_validity_period(info, now=now, max_clock_skew=self.max_clock_skew)
            if check_status and info.status and proof_error is None:
                await self.status.check(info)
        except DidvcError as error:
            problem = Problem.from_error(error)
            if not (problem.could_not_check and self.policy.status_fail_open):
                result.problems.append(problem)
        result.verified = not result.problems
        return result, info, checked

    async def _check_proofs(
        self, document: dict[str, Any], token: str | None, now: datetime, info: CredentialInfo
    ) -> _ProofCheck:
        if token is not None:
            await self._verify_vc_jwt(token, info)
            return _ProofCheck(info, (), "jwt", None, time.monotonic())
        verified = await verify_proofs(
            document,
            resolver=self.resolver,
            purpose=AssertionMethod(controller=info.issuer),
            now=now,
            max_clock_skew=self.max_clock_skew,
            allowed_suites=self.policy.allowed_suites,
        )
        expiries = [
            parse_datetime(v.proof["expires"], what="proof expires") for v in verified if "expires" in v.proof
        ]
        return _ProofCheck(
            info, tuple(v.cryptosuite for v in verified), "ldp", min(expiries, default=None), time.monotonic()
        )

    async def _verify_vc_jwt(self, token: str, info: CredentialInfo) -> None:
        parsed = parse_jws(token, typ="vc+jwt")
        self._check_alg(parsed)
        if parsed.kid is None:
            raise ParsingError("vc+jwt header has no kid")
        method = await resolve_verification_method(self.resolver, parsed.kid, "assertionMethod")
        if method.controller != info.issuer:
            raise ProofVerificationError(
                f"vc+jwt was signed by {method.controller}, not by the issuer {info.issuer}"
            )
        iss = parsed.payload.get("iss")
        if iss is not None and iss != info.issuer:
            raise ProofVerificationError("vc+jwt iss does not match the credential issuer")
        try:
            verify_jws(parsed, method.public_key)
        except DidvcError as error:
            raise ProofVerificationError(f"vc+jwt signature does not verify ({error.code})") from None

    def _check_alg(self, parsed: ParsedJws) -> None:
        allowed = self.policy.allowed_algorithms
        if allowed is not None and parsed.alg not in allowed:
            raise UnsupportedAlgorithmError(f"JOSE alg {parsed.alg} is not allowed by policy")

    # --- presentations -------------------------------------------------------------------------

    async def verify_presentation(
        self,
        presentation: str | bytes | dict[str, Any],
        *,
        audience: str | None = None,
        method: str | None = None,
        url: str | None = None,
        body: bytes | None = None,
        nonce: str | NonceCheck | None = None,
        challenge: str | None = None,
        domain: str | None = None,
    ) -> VerificationResult:
        """Verify a request presentation: a ``vp+jwt`` token, or a Data Integrity VP (JSON object,
        JSON text or base64url JSON) whose ``authentication`` proof carries ``challenge``/``domain``.

        For a vp+jwt, ``audience``, ``method`` and ``url`` are required: the token must be bound
        to exactly this request. ``nonce`` is the server nonce the token must carry, or a
        function that consumes the nonce it carries (e.g. :meth:`NonceStore.consume`: true once
        for a nonce the server issued). The function is called only once the signature, the
        request binding and the replay check have passed, so a forged token cannot use up a
        nonce. For a Data Integrity VP without ``challenge``, that function checks the proof's
        challenge instead: the challenge is then a server nonce.
        """
        now = self.clock()
        try:
            if isinstance(presentation, bytes):
                if len(presentation) > MAX_INPUT_BYTES:
                    raise ParsingError("presentation is too large")
                try:
                    presentation = presentation.decode(
                        "ascii" if not presentation.lstrip().startswith(b"{") else "utf-8"
                    )
                except UnicodeDecodeError:
                    raise ParsingError("presentation is not valid text") from None
            if isinstance(presentation, str):
                text = presentation.strip()
                if len(text) > MAX_INPUT_BYTES:
                    raise ParsingError("presentation is too large")
                if text.count(".") == 2 and not text.startswith(_JSON_START):
                    return await self._verify_vp_jwt(text, now, audience, method, url, body, nonce)
                document = (
                    strict_json_loads(text, what="presentation")
                    if text.startswith(_JSON_START)
                    else strict_json_loads(b64url_decode(text), what="presentation")
                )
            else:
                document = presentation
            return await self._verify_vp_ldp(document, now, challenge, domain or audience, method, url, nonce)
        except DidvcError as error:
            return VerificationResult(verified=False, problems=[Problem.from_error(error)])

    async def _verify_vp_jwt(
        self,
        token: str,
        now: datetime,
        audience: str | None,
        method: str | None,
        url: str | None,
        body: bytes | None,
        nonce: str | NonceCheck | None,
    ) -> VerificationResult:
        parsed = parse_jws(token, typ="vp+jwt", max_bytes=MAX_INPUT_BYTES)
        self._check_alg(parsed)
        if parsed.kid is None:
            raise ParsingError("vp+jwt header has no kid")
        holder = parse_did_url(parsed.kid).did
        holder_key = await resolve_verification_method(self.resolver, parsed.kid, "authentication")
        verify_jws(parsed, holder_key.public_key)
        payload = parsed.payload
        if payload.get("iss") != holder or _holder_of(payload) != holder:
            raise HolderBindingError("the token's iss and the presentation's holder must be the signer's DID")
        if audience is None or method is None or url is None:
            raise RequestBindingError("a request token is verified against an audience, a method and a URL")
        timestamp = now.timestamp()
        jti, expires = check_request_claims(
            payload,
            RequestClaims(audience, method, url, body, nonce if isinstance(nonce, str) else None),
            now=timestamp,
            max_lifetime=self.policy.max_token_lifetime,
            clock_skew=self.policy.clock_skew,
        )
        if not await self.replay_cache.remember(
            f"{holder}|{jti}", expires + self.policy.clock_skew, now=timestamp
        ):
            raise ReplayDetectedError("this token has been used before")
        if nonce is not None and not isinstance(nonce, str):
            await _consume_nonce(nonce, payload.get("nonce"))
        presented = _presentation_key(holder, payload)
        settled = await self._settled_result(presented, holder, timestamp, method, url)
        if settled is not None:
            return settled
        info = check_presentation(payload)
        return await self._finish(info, holder, now, method, url, settle_key=presented)

    async def _verify_vp_ldp(
        self,
        document: Any,
        now: datetime,
        challenge: str | None,
        domain: str | None,
        method: str | None,
        url: str | None,
        nonce: str | NonceCheck | None = None,
    ) -> VerificationResult:
        info = check_presentation(document)
        if info.holder is None:
            raise HolderBindingError("the presentation has no holder")
        consume = nonce if nonce is not None and not isinstance(nonce, str) else None
        if challenge is None and consume is not None:
            challenge = _proof_challenge(document)
            if challenge is None:
                raise UseNonceError("the presentation proof's challenge must be a nonce from this server")
        verified = await verify_proofs(
            document,
            resolver=self.resolver,
            purpose=Authentication(challenge=challenge, domain=domain, controller=info.holder),
            now=now,
            max_clock_skew=self.max_clock_skew,
            allowed_suites=self.policy.allowed_suites,
        )
        for proof in verified:
            created = proof.proof.get("created")
            if created is None:
                raise RequestBindingError("a presentation proof needs created")
            age = now - parse_datetime(created, what="proof created")
            if age > timedelta(seconds=self.policy.max_token_lifetime) + self.max_clock_skew:
                raise RequestBindingError("the presentation proof is too old")
            if challenge is None:
                raise RequestBindingError("a Data Integrity presentation is verified against a challenge")
            proof_key = hashlib.sha256(str(proof.proof.get("proofValue")).encode()).hexdigest()
            expires = now.timestamp() + self.policy.max_token_lifetime + self.policy.clock_skew
            if not await self.replay_cache.remember(
                f"{info.holder}|vp|{proof_key}", expires, now=now.timestamp()
            ):
                raise ReplayDetectedError("this presentation has been used before")
        if consume is not None:
            await _consume_nonce(consume, challenge)
        return await self._finish(info, info.holder, now, method, url)

    async def _finish(
        self,
        info: PresentationInfo,
        holder: str,
        now: datetime,
        method: str | None,
        url: str | None,
        settle_key: bytes | None = None,
    ) -> VerificationResult:
        checked = [await self._credential(c, now=now) for c in info.credentials]
        credentials = [result for result, _, _ in checked]
        problems: list[Problem] = [p for c in credentials for p in c.problems]
        for credential in credentials:
            if not credential.verified:
                continue
            exempt = self.policy.holder_binding_exempt_types.intersection(credential.types)
            subject_ids = {c.get("id") for c in credential.claims}
            if holder not in subject_ids and not exempt:
                error = HolderBindingError(
                    f"credential {credential.id or ''} is not about the holder {holder}"
                )
                credential.problems.append(Problem.from_error(error))
                credential.verified = False
                problems.append(Problem.from_error(error))
        scopes = sorted(
            {
                scope
                for c in credentials
                if c.verified
                for claim in c.claims
                if claim.get("id") == holder
                for scope in _as_list(claim.get("scope"))
                if isinstance(scope, str)
            }
        )
        problems.extend(self._apply_credential_policy(credentials, now))
        if not problems and method is not None and url is not None and self.policy.routes:
            required = self.policy.required_scopes(method, _path_of(url))
            missing = sorted(required.difference(scopes))
            if missing:
                problems.append(
                    Problem.from_error(
                        InsufficientScopeError(f"this route needs scope(s): {', '.join(missing)}")
                    )
                )
        result = VerificationResult(
            verified=not problems, holder=holder, credentials=credentials, scopes=scopes, problems=problems
        )
        if result.verified and settle_key is not None:
            self._settle(settle_key, holder, checked, scopes)
        return result

    # --- settled presentations: the per-request fast path --------------------------------------

    def _settle(
        self,
        key: bytes,
        holder: str,
        checked: list[tuple[CredentialResult, CredentialInfo | None, _ProofCheck | None]],
        scopes: list[str],
    ) -> None:
        """Remember a presentation whose credentials passed every check, with the time window in
        which that stays true; only the request, the status lists and the clock change after."""
        skew, age_limit = self.max_clock_skew, self.policy.max_credential_age
        not_before, not_after, expires = -math.inf, math.inf, math.inf
        credentials, statused = [], []
        for result, info, proof in checked:
            if info is None or proof is None:
                return
            if info.valid_from is not None:
                not_before = max(not_before, (info.valid_from - skew).timestamp())
                if age_limit is not None:
                    not_after = min(not_after, (info.valid_from + age_limit).timestamp())
            if info.valid_until is not None:
                not_after = min(not_after, (info.valid_until + skew).timestamp())
            if proof.proof_expires is not None:
                not_after = min(not_after, (proof.proof_expires + skew).timestamp())
            if info.status:
                statused.append(info)
            expires = min(expires, proof.checked_at + self._proof_cache_ttl)
            template = replace(result, claims=[], problems=[])  # not the caller's object, which it may change
            credentials.append(_SettledCredential(template, marshal.dumps(result.claims, 2)))
        settled = _Settled(
            self.policy,
            holder,
            tuple(credentials),
            frozenset(scopes),
            not_before,
            not_after,
            expires,
            tuple(statused),
        )
        self._settled.put(key, settled, 2 * len(key))  # the key, and results about as large

    async def _settled_result(
        self, key: bytes | None, holder: str, now: float, method: str, url: str
    ) -> VerificationResult | None:
        """The result for a settled presentation, or None when anything calls for the full path
        (another policy, a credential outside its validity window, a status that does not
        check out, scopes the route lacks): that path then reports precisely what is wrong."""
        settled = self._settled.get(key) if key is not None else None
        if (
            settled is None
            or settled.policy is not self.policy
            or settled.holder != holder
            or not settled.not_before <= now <= settled.not_after
            or settled.expires <= time.monotonic()
        ):
            return None
        for info in settled.statused:
            try:
                await self.status.check(info)
            except DidvcError:
                return None
        if self.policy.routes and not self.policy.required_scopes(method, _path_of(url)) <= settled.scopes:
            return None
        return VerificationResult(
            verified=True,
            holder=holder,
            credentials=[c.result() for c in settled.credentials],
            scopes=sorted(settled.scopes),
        )

    def _apply_credential_policy(self, credentials: list[CredentialResult], now: datetime) -> list[Problem]:
        policy = self.policy
        problems: list[Problem] = []
        verified = [c for c in credentials if c.verified]
        for credential in verified:
            trusted = policy.issuers_for(credential.types)
            if trusted is not None and credential.issuer not in trusted:
                problems.append(
                    Problem.from_error(
                        UntrustedIssuerError(
                            f"{credential.issuer} is not trusted for {', '.join(credential.types)}"
                        )
                    )
                )
            age_limit = policy.max_credential_age
            if (
                age_limit is not None
                and credential.valid_from is not None
                and now - credential.valid_from > age_limit
            ):
                problems.append(
                    Problem.from_error(CredentialTooOldError("the credential is older than policy allows"))
                )
        present = {t for c in verified for t in c.types}
        missing = sorted(policy.required_types - present)
        if missing:
            problems.append(
                Problem.from_error(
                    MissingCredentialTypeError(f"a credential of type {', '.join(missing)} is required")
                )
            )
        return problems


@lru_cache(maxsize=4096)
def _path_of(url: str) -> str:
    return urlsplit(url).path or "/"


def _holder_of(payload: dict[str, Any]) -> str | None:
    holder = payload.get("holder")
    if isinstance(holder, dict):
        holder = holder.get("id")
    return holder if isinstance(holder, str) else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


async def _consume_nonce(consume: NonceCheck, carried: Any) -> None:
    if not isinstance(carried, str) or not await consume(carried):
        raise UseNonceError("a fresh nonce from this server is required")


def _proof_challenge(document: Any) -> str | None:
    """The one challenge every proof of a Data Integrity presentation carries, if there is one."""
    proofs = document.get("proof") if isinstance(document, dict) else None
    challenges = [p.get("challenge") if isinstance(p, dict) else None for p in _as_list(proofs)]
    first = challenges[0] if challenges else None
    return first if isinstance(first, str) and all(c == first for c in challenges) else None


def _presentation_key(holder: str, payload: dict[str, Any]) -> bytes | None:
    """The exact content of what a request token presents (every member the presentation checks
    read; ``()`` for an absent one, which JSON cannot produce): equal keys, same presentation."""
    return _exact_bytes((holder, *(payload.get(name, ()) for name in _PRESENTATION_MEMBERS)))


_PRESENTATION_MEMBERS: Final = ("@context", "type", "id", "holder", "verifiableCredential")


def _exact_bytes(value: Any) -> bytes | None:
    """A JSON value as bytes that read back to the same value, so equal bytes mean equal members
    in equal order (a reordered copy is merely a cache miss). marshal format 2 writes no
    back-references; it is four times cheaper than pickle here and five than JSON."""
    try:
        return marshal.dumps(value, 2)
    except ValueError:  # not a JSON value, or nested too deeply
        return None


def _load_credential(credential: dict[str, Any] | str | bytes) -> tuple[dict[str, Any], str | None]:
    """The credential's JSON, and its vc+jwt token when it came as one."""
    if isinstance(credential, dict):
        return credential, None
    if isinstance(credential, bytes):
        if len(credential) > 2 * 1024 * 1024:
            raise ParsingError("credential is too large")
        try:
            credential = credential.decode("utf-8")
        except UnicodeDecodeError:
            raise ParsingError("credential is not UTF-8") from None
    if not isinstance(credential, str):
        raise ParsingError("a credential must be a JSON object, JSON text or a vc+jwt")
    text = credential.strip()
    if len(text) > 2 * 1024 * 1024:
        raise ParsingError("credential is too large")
    if text.startswith("{"):
        return strict_json_loads(text, what="credential"), None
    parsed = parse_jws(text, typ="vc+jwt", max_bytes=2 * 1024 * 1024)
    return parsed.payload, text
