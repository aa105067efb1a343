"""The verification pipeline: every check in one place, in order, cheapest first.

A request presentation (``vp+jwt``) goes through these steps; each lives in one method below
and the first failure ends the run (docs/design.md, "The verification pipeline", gives each
step's cost):

1. **bounds** — the input's bytes (``max_presentation_bytes``), then the number of credentials
   (``max_credentials``; none at all only with ``allow_authentication_only``);
2. **token** — the JOSE header (algorithms, ``typ``, no embedded keys);
3. **holder** — the ``kid``'s key from the holder's ``authentication`` relationship, the
   signature (one verify), ``iss`` and the presentation's ``holder`` equal to that DID;
4. **request** — ``aud``, ``htm``, ``htu``, time window, body digest, the server's challenge;
5. **replay** — the ``jti`` unseen (the caches' own part asked before any key: whether an
   in-memory one holds it, a token from before a restart or clock step), then the challenge
   consumed;
6. **settled** — a presentation verified before is answered from memory (:mod:`._settled`);
   it is looked up first, before any key; once known, by the token's first bytes, and then only
   the request claims are read (:mod:`._known`). Step 4 comes before any key too: a stash of
   expired or misbound tokens costs a parse each, not a screening and a signature;
7. **credentials, before any proof** — each one read within bounds and checked against the data
   model; its issuer trusted by the policy for its types; its subject the holder; its
   ``audience`` naming this verifier's; inside its validity period and maximum age; the
   required types present; the route's scopes among the claims (or no route rule at all);
8. **proofs** — the expensive part: each credential's proof by its issuer's key (RDFC-1.0 within
   the work budget, large documents off the event loop), cached by exact bytes;
9. **status** — each status entry, from the status-list cache.

A Data Integrity presentation is its own proof over everything it holds, so its order is
bounds → data model → the proof's cheap checks (purpose, challenge, domain, age) → step 7 →
the holder's proof → replay → steps 8 and 9. :meth:`Pipeline.credential` runs steps 7 to 9 for
one credential (``verify_credential``); those steps, for one credential, are
:class:`~verifier._steps.CredentialSteps`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

from didvc.credentials import (
    check_jose_payload,
    check_presentation,
)
from didvc.delegation import Chain
from didvc.did import cached_verification_method, parse_did_url, resolve_verification_method
from didvc.encoding import b64url_decode, bounded_text, strict_json_loads
from didvc.errors import (
    CredentialRequiredError,
    DidvcError,
    HolderBindingError,
    InputTooLargeError,
    InsufficientScopeError,
    ParsingError,
    ReplayDetectedError,
    RequestBindingError,
    UnlistedRouteError,
    UseNonceError,
)
from didvc.jose import split_jws, verify_jws
from didvc.proofs import Authentication, parse_datetime, verify_proofs
from didvc.request import RequestClaims, check_request_claims
from verifier._credentials import CredentialChecker, check_alg, exact_bytes
from verifier._delegation import delegation_chain, granted_scopes
from verifier._known import members_key
from verifier._policy import Policy
from verifier._redis import RedisReplayCache
from verifier._replay import MemoryReplayCache, ReplayCache
from verifier._result import CredentialResult, Problem, VerificationResult
from verifier._settled import Settled, SettledPresentations
from verifier._status import StatusChecker
from verifier._steps import Checked, CredentialSteps, Refused, as_list, refuse

__all__ = ["NonceCheck", "Pipeline", "Request"]

#: Consumes a challenge the presentation carries: true once for one this server issued.
NonceCheck = Callable[[str], Awaitable[bool]]

_JSON_START: Final = ("{", "[")
#: The caches that answer part of the replay check at once, before the signature (``seen``).
_LOCAL_CHECK: Final = (MemoryReplayCache, RedisReplayCache)


class Request(NamedTuple):
    """What the presentation must be bound to, and the freshness the server asks for (a tuple:
    built on every request, and a frozen dataclass costs a microsecond more)."""

    audience: str | None = None
    method: str | None = None
    url: str | None = None
    body: bytes | None = None
    challenge: str | None = None  # the value this server issued: vp+jwt nonce, DI proof challenge
    consume_challenge: NonceCheck | None = None  # or: consume the one the presentation carries


class Pipeline:
    """One verification under one policy, at one moment, for one request."""

    __slots__ = (
        "_chain",
        "_checker",
        "_replay",
        "_settled",
        "_status",
        "_steps_made",
        "now",
        "policy",
        "resolver",
        "skew",
        "timestamp",
    )

    def __init__(
        self,
        policy: Policy,
        now: datetime,
        credentials: CredentialChecker,
        status: StatusChecker,
        replay: ReplayCache,
        settled: SettledPresentations,
        resolver: Any,
    ) -> None:
        self.policy = policy
        self.now = now
        self.timestamp = now.timestamp()
        self.skew = policy.skew
        self._checker = credentials
        self._status = status
        self._replay = replay
        self._settled = settled
        self.resolver = resolver
        self._steps_made: CredentialSteps | None = None
        self._chain: Chain | None = None  # the holder's delegation chain, once its route is checked

    @property
    def limits(self) -> Any:
        """The proof limits of this policy (the canonicalization budget)."""
        return self._checker.limits(self.policy)

    async def prove_all(self, credentials: list[Checked]) -> VerificationResult:
        """Steps 8 and 9 for credentials screened with no holder and no request."""
        return await self._prove_all(None, credentials, Request(), settle_key=None)

    @property
    def credential_steps(self) -> CredentialSteps:
        """Steps 7 to 9, made when a credential is first read (a settled request reads none)."""
        if self._steps_made is None:
            self._steps_made = CredentialSteps(self.policy, self.now, self.skew, self._checker, self._status)
        return self._steps_made

    # --- presentations ---------------------------------------------------------------------------

    async def presentation(self, presentation: Any, request: Request) -> VerificationResult:
        if request.challenge is not None and request.consume_challenge is not None:
            raise ValueError(
                "give the challenge this server issued, or a function that consumes it; not both"
            )
        try:
            form = self.read(presentation)
            if isinstance(form, str):
                return await self._vp_jwt(form, request)
            return await self._vp_ldp(form, request)
        except Refused as refused:
            return refused.result
        except DidvcError as error:
            return VerificationResult(verified=False, problems=[Problem.from_error(error)])

    def read(self, presentation: Any) -> str | dict[str, Any]:
        """Step 1, bytes: a vp+jwt token, or a Data Integrity VP (object, JSON, base64url JSON)."""
        limit = self.policy.max_presentation_bytes
        token = presentation if type(presentation) is str and 0 < len(presentation) <= limit else ""
        if token and token[0] not in "{[" and "." in token and token == token.strip():
            return token  # a request token as the middleware passes it, told apart in one look
        if isinstance(presentation, dict):
            exact = exact_bytes(presentation)
            if exact is None or len(exact) > limit:
                raise InputTooLargeError(f"the presentation is larger than {limit} bytes (or not JSON)")
            return presentation
        if not isinstance(presentation, str | bytes):
            raise ParsingError("a presentation is a vp+jwt, or a JSON object or text")
        text = bounded_text(presentation, limit, what="presentation")
        if not text.startswith(_JSON_START) and "." in text:  # base64url has no dot
            return text
        document = strict_json_loads(
            text if text.startswith(_JSON_START) else b64url_decode(text), what="presentation"
        )
        if not isinstance(document, dict):
            raise ParsingError("a presentation must be a JSON object")
        return document

    def count(self, document: dict[str, Any], *, allow_empty: bool = False) -> None:
        """Step 1, counts: at most ``max_credentials``, and none only if the policy allows it."""
        entries = document.get("verifiableCredential", [])
        count = len(entries) if isinstance(entries, list) else 1
        if count > self.policy.max_credentials:
            raise InputTooLargeError(
                f"the presentation holds {count} credentials; at most {self.policy.max_credentials}"
            )
        if count == 0 and not (allow_empty or self.policy.allow_authentication_only):
            raise CredentialRequiredError("the presentation holds no credential")

    async def _vp_jwt(self, token: str, request: Request) -> VerificationResult:
        policy, timestamp, audience = self.policy, self.timestamp, request.audience
        # steps 1-2: the token's header (the payload's bounds: the token's)
        parts = split_jws(token, typ="vp+jwt", max_bytes=policy.max_presentation_bytes)
        check_alg(parts, policy)
        kid = parts.kid
        if kid is None:
            raise ParsingError("vp+jwt header has no kid")
        holder = parse_did_url(kid).did
        # step 6 first, before any key (refusing on what the token claims is always safe): a
        # settled presentation is known by the payload's first bytes, then only the claims are read
        known = self._settled.known(holder, parts.encoded_payload, policy, audience, timestamp)
        settled: Settled | None = None
        key: bytes | None = None
        if known is not None:
            settled, key, payload = known
        else:
            payload = parts.read_payload()
            self.count(payload)
        # step 4 before any key too (a stash of expired tokens costs a parse, not a signature)
        method, url = request.method, request.url
        if audience is None or method is None or url is None:
            raise RequestBindingError("a request token is verified against an audience, a method and a URL")
        skew = policy.clock_skew
        jti, expires = check_request_claims(
            payload,
            RequestClaims(audience, method, url, request.body, request.challenge),
            now=timestamp,
            max_lifetime=policy.max_token_lifetime,
            clock_skew=skew,
        )
        replay_key, issued = f"{holder}|{jti}", float(payload["iat"])  # numeric: checked above
        replay = self._replay
        if isinstance(replay, _LOCAL_CHECK) and replay.seen(replay_key, now=timestamp, issued_at=issued):
            raise ReplayDetectedError("this token has been used before")  # before any key, too
        credentials: list[Checked] = []
        if known is None:
            key = members_key(holder, payload)
            settled = self._settled.lookup(key, policy, audience, holder, timestamp)
            if settled is None:
                check_jose_payload(payload, typ="vp+jwt")
                info = check_presentation(payload)
                credentials = self.credential_steps.screen(info.credentials, holder, audience)
        # step 3: the holder's key and signature (a known presentation's holder member is the
        # signer's: it was when it settled, and its bytes are the same)
        holder_key = cached_verification_method(self.resolver, kid, "authentication")
        holder_key = holder_key or await resolve_verification_method(self.resolver, kid, "authentication")
        verify_jws(parts, holder_key.public_key)
        if payload.get("iss") != holder or (known is None and _holder_of(payload) != holder):
            raise HolderBindingError("the token's iss and the presentation's holder must be the signer's DID")
        # step 5: never seen before, the server's nonce used up
        if not await self._replay.remember(replay_key, expires + skew, now=timestamp, issued_at=issued):
            raise ReplayDetectedError("this token has been used before")
        if request.consume_challenge is not None:
            await _consume(request.consume_challenge, payload.get("nonce"))
        # step 6: a settled presentation, still good for this route and status
        if settled is not None:
            answer = await self._settled_answer(settled, method, url)
            if answer is not None:
                if known is None:  # its second token: known from the third on
                    self._settled.learn(settled, parts.encoded_payload, payload)
                return answer
            if known is not None:
                payload = parts.read_payload()
                self.count(payload)
            info = check_presentation(payload)
            credentials = self.credential_steps.screen(info.credentials, holder, request.audience)
        self._refuse_route(holder, credentials, request)
        return await self._prove_all(holder, credentials, request, settle_key=key)

    async def _vp_ldp(self, document: dict[str, Any], request: Request) -> VerificationResult:
        self.count(document)
        info = check_presentation(document)
        if info.holder is None:
            raise HolderBindingError("the presentation has no holder")
        challenge = request.challenge
        if challenge is None and request.consume_challenge is not None:
            challenge = _proof_challenge(document)
            if challenge is None:
                raise UseNonceError("the presentation proof's challenge must be a nonce from this server")
        if challenge is None:
            raise RequestBindingError("a Data Integrity presentation is verified against a challenge")
        issued = self._presentation_proof_times(document)
        credentials = self.credential_steps.screen(info.credentials, info.holder, request.audience)
        verified = await verify_proofs(
            document,
            resolver=self.resolver,
            purpose=Authentication(challenge=challenge, domain=request.audience, controller=info.holder),
            now=self.now,
            max_clock_skew=self.skew,
            allowed_suites=self.policy.allowed_suites,
            limits=self._checker.limits(self.policy),
        )
        timestamp = self.timestamp
        for proof in verified:
            proof_key = hashlib.sha256(str(proof.proof.get("proofValue")).encode()).hexdigest()
            expires = timestamp + self.policy.max_token_lifetime + self.policy.clock_skew
            key = f"{info.holder}|vp|{proof_key}"
            if not await self._replay.remember(key, expires, now=timestamp, issued_at=issued):
                raise ReplayDetectedError("this presentation has been used before")
        if request.consume_challenge is not None:
            await _consume(request.consume_challenge, challenge)
        self._refuse_route(info.holder, credentials, request)
        return await self._prove_all(info.holder, credentials, request, settle_key=None)

    def _presentation_proof_times(self, document: dict[str, Any]) -> float:
        """A DI presentation's proofs are fresh: ``created`` within the token lifetime (cheap,
        so before the canonicalization the signature needs). The earliest ``created``."""
        proofs = document.get("proof")
        earliest = self.timestamp
        for proof in proofs if isinstance(proofs, list) else [proofs]:
            created = proof.get("created") if isinstance(proof, dict) else None
            if created is None:
                raise RequestBindingError("a presentation proof needs created")
            issued = parse_datetime(created, what="proof created").timestamp()
            if self.timestamp - issued > self.policy.max_token_lifetime + self.skew.total_seconds():
                raise RequestBindingError("the presentation proof is too old")
            earliest = min(earliest, issued)
        return earliest

    async def _settled_answer(self, settled: Settled, method: str, url: str) -> VerificationResult | None:
        """The settled result, if the route's scopes and its status entries (from the cache)
        still hold; None sends the request down the full path, which says what is wrong. The
        status lists are awaited only when one was fetched again since it settled."""
        required = self.policy.required_scopes(method, _path_of(url))
        if required is None or not required.issubset(settled.scopes):
            return None
        statused = settled.statused
        changed = statused and not self._status.unchanged(statused)
        if changed and not await self._status.still_good(statused, policy=self.policy, now=self.now):
            return None
        return settled.result()

    # --- credentials -----------------------------------------------------------------------------

    async def credential(self, credential: Any, request: Request) -> VerificationResult:
        """Steps 7 to 9 for one credential, with no holder (``verify_credential``)."""
        try:
            if isinstance(credential, dict):
                exact = exact_bytes(credential)
                if exact is None or len(exact) > self.policy.max_presentation_bytes:
                    limit = self.policy.max_presentation_bytes
                    error = InputTooLargeError(f"the credential is larger than {limit} bytes (or not JSON)")
                    return VerificationResult(verified=False, problems=[Problem.from_error(error)])
            checked = self.credential_steps.screen([credential], None, request.audience)
            return await self._prove_all(None, checked, request, settle_key=None)
        except Refused as refused:
            return refused.result

    def _refuse_route(self, holder: str, credentials: list[Checked], request: Request) -> None:
        """Once the holder is authenticated and before any proof: a delegation chain must hold,
        and the route's scopes must be among what the credentials grant (403 material: who calls
        is known, what it asks is not allowed)."""
        try:
            self._chain = delegation_chain(holder, credentials, self.policy)
        except DidvcError as error:
            refuse(holder, credentials, [Problem.from_error(error)])
        problems = self._route_problems(granted_scopes(holder, credentials, self._chain), request)
        if problems:
            refuse(holder, credentials, problems)

    def _route_problems(self, scopes: set[str], request: Request) -> list[Problem]:
        if request.method is None or request.url is None:
            return []
        required = self.policy.required_scopes(request.method, _path_of(request.url))
        if required is None:
            return [Problem.from_error(UnlistedRouteError("no route rule of the policy allows this request"))]
        missing = sorted(required - scopes)
        if missing:
            error = InsufficientScopeError(f"this route needs scope(s): {', '.join(missing)}")
            return [Problem.from_error(error)]
        return []

    async def integrity(self, credential: Any) -> CredentialResult:
        """A holder's check of a credential it keeps (:meth:`CredentialSteps.integrity`)."""
        return await self.credential_steps.integrity(credential)

    async def _prove_all(
        self, holder: str | None, credentials: list[Checked], request: Request, *, settle_key: bytes | None
    ) -> VerificationResult:
        """Steps 8 and 9: each credential's proof, then its status."""
        for item in credentials:
            await asyncio.sleep(0)  # one credential at a time holds the event loop
            await self.credential_steps.prove(item)
        warnings = [w for c in credentials for w in c.result.warnings]
        problems = [p for c in credentials for p in c.result.problems]
        verified = [c for c in credentials if c.result.verified]
        chain = self._chain
        scopes = sorted(granted_scopes(holder, verified, chain)) if holder is not None else []
        verdict = VerificationResult(
            verified=not problems,
            holder=holder,
            credentials=[c.result for c in credentials],
            scopes=scopes,
            problems=problems,
            warnings=warnings,
            principal=chain.principal if chain is not None else None,
            delegation=[link.id for link in chain.links] if chain is not None else [],
        )
        if verdict.verified and not warnings and settle_key is not None and holder is not None:
            assert request.audience is not None
            self._settled.remember(
                settle_key,
                policy=self.policy,
                audience=request.audience,
                holder=holder,
                checked=[
                    (
                        c.result,
                        c.info,
                        c.proof,
                        self._status.memo(c.info, self.policy) if c.info.status else None,
                    )
                    for c in credentials
                    if c.proof is not None and c.info is not None
                ],
                scopes=scopes,
                principal=verdict.principal,
                delegation=verdict.delegation,
            )
        return verdict


@lru_cache(maxsize=4096)
def _path_of(url: str) -> str:
    return urlsplit(url).path or "/"


def _holder_of(payload: dict[str, Any]) -> Any:
    holder = payload.get("holder")
    return holder.get("id") if isinstance(holder, dict) else holder


async def _consume(consume: NonceCheck, carried: Any) -> None:
    if not isinstance(carried, str) or not await consume(carried):
        raise UseNonceError("a fresh nonce from this server is required")


def _proof_challenge(document: Any) -> str | None:
    """The one challenge every proof of a Data Integrity presentation carries, if there is one."""
    proofs = document.get("proof") if isinstance(document, dict) else None
    challenges = [p.get("challenge") if isinstance(p, dict) else None for p in as_list(proofs)]
    first = challenges[0] if challenges else None
    return first if isinstance(first, str) and all(c == first for c in challenges) else None
