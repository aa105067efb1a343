"""The decision every web integration makes, whatever the framework: find the presentation in
the request's headers, verify it bound to the request (method, URL, exact body), and answer.

- ``401`` (``WWW-Authenticate: VP ...`` and an RFC 9457 problem body) when the presentation is
  missing or does not verify, with a fresh nonce in ``VP-Nonce`` when the policy requires nonces;
- ``403`` when it verifies but the route's scopes are not among what it grants (or no route rule
  allows the request): the problem names the missing scope;
- ``503`` with ``Retry-After`` when the verifier cannot check now (busy, the shared replay cache
  down); hostile input never produces a 500. An optional audit logger gets one JSON line per
  decision, never the token.

The aiohttp middleware (:mod:`verifier._middleware`), the ASGI middleware (:mod:`verifier.asgi`)
and the synchronous ones (:mod:`verifier.flask`, :mod:`verifier.django`) each adapt a request to
:meth:`Gate.check` and a :class:`Denial` to a response.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, Protocol

from yarl import URL

from didvc.errors import PROBLEM_TYPE, DidvcError, InsufficientScopeError
from didvc.request import NONCE_HEADER, refusal_header
from verifier._pipeline import NonceCheck
from verifier._policy import Policy
from verifier._replay import MemoryNonceStore, NonceStore
from verifier._result import Problem, VerificationResult

__all__ = [
    "Denial",
    "Gate",
    "RequestFacts",
    "audit_line",
    "body_too_large",
    "missing_scopes",
    "problem_denial",
]

_log = logging.getLogger("didvc.verifier")

#: Problems of a caller who proved who it is but may not do this: 403, not 401.
_FORBIDDEN: Final = frozenset({"INSUFFICIENT_SCOPE_ERROR", "UNLISTED_ROUTE_ERROR"})
#: The verifier cannot check right now: 503 with Retry-After, the presentation may well be good.
_UNAVAILABLE: Final = frozenset(
    {"VERIFIER_BUSY_ERROR", "REPLAY_CACHE_UNAVAILABLE_ERROR", "REPLAY_CACHE_FULL_ERROR"}
)
_TITLES: Final = {401: "Unauthorized", 403: "Forbidden", 413: "Content Too Large", 503: "Service Unavailable"}
#: A JSON string's quoted form, as ``json.dumps`` writes it (ASCII, escaped), in C.
_QUOTE: Final[Callable[[str], str]] = json.encoder.encode_basestring_ascii
#: A Host header that is a host: a name or an IPv4 or bracketed IPv6 address, and a port.
_HOST: Final = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class VerifierLike(Protocol):
    """What a gate needs of a :class:`~verifier.Verifier`."""

    policy: Policy

    async def verify_presentation(
        self,
        presentation: str,
        *,
        audience: str | None = ...,
        method: str | None = ...,
        url: str | None = ...,
        body: bytes | None = ...,
        consume_challenge: NonceCheck | None = ...,
    ) -> VerificationResult: ...


class RequestFacts(NamedTuple):
    """What a gate reads of a request, as the framework hands it over (a tuple: one is built
    per request)."""

    method: str
    scheme: str
    host: str  # the Host header
    raw_path: str  # the path and query as sent (percent-escapes kept)
    header: Callable[[str], str | None]  # a header's value by (case-insensitive) name


@dataclass(frozen=True, slots=True)
class Denial:
    """The answer to a request that may not go on: status, headers, problem body (and, for the
    audit line, the problems and the result)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    result: VerificationResult | None = None

    def json(self) -> bytes:
        return json.dumps(self.body).encode()


class Gate:
    """One API's verification of requests (the settings of :func:`verifier.middleware`)."""

    def __init__(
        self,
        verifier: VerifierLike,
        *,
        audience: str,
        header: str = "Authorization",
        scheme: str | None = "VP",
        public_url: str | None = None,
        public_paths: Iterable[str] = (),
        nonces: NonceStore | None = None,
        max_header_bytes: int = 64 * 1024,
        audit: logging.Logger | None = None,
    ) -> None:
        self.verifier = verifier
        self.audience = audience
        self.header = header
        self.scheme = scheme
        self.origin = public_url.rstrip("/") if public_url else None
        self.public_paths = frozenset(public_paths)
        self.nonces = nonces if nonces is not None else MemoryNonceStore()
        self.max_header_bytes = max_header_bytes
        self.audit = audit
        self._prefix = f"{scheme} " if scheme else ""
        serving = getattr(verifier, "serving", None)  # a Verifier's; a stand-in need not have it
        if serving is not None:
            serving()

    def token(self, facts: RequestFacts) -> str | Denial:
        """The presentation in the request's header, or the 401 for its absence or shape."""
        raw = facts.header(self.header)
        if raw is None:
            return self._problem(
                401, [Problem("MISSING_PRESENTATION", f"send a presentation in {self.header}")]
            )
        if len(raw) > self.max_header_bytes:
            return self._problem(401, [Problem("PARSING_ERROR", "the presentation header is too large")])
        if self._prefix and not raw.startswith(self._prefix):
            return self._problem(
                401, [Problem("PARSING_ERROR", f"expected '{self._prefix}<token>' in {self.header}")]
            )
        return raw[len(self._prefix) :].strip()

    async def check(self, facts: RequestFacts, token: str, body: bytes | None) -> VerificationResult | Denial:
        """The verification of ``token`` bound to the request (its exact ``body``): the result
        when the request may go on, else the answer. Never raises."""
        url = self.target(facts)
        if url is None:
            return self._problem(401, [Problem("REQUEST_BINDING_ERROR", "the Host header is not a host")])
        require_nonce = self.verifier.policy.require_nonce
        try:
            result = await self.verifier.verify_presentation(
                token,
                audience=self.audience,
                method=facts.method,
                url=url,
                body=body,
                consume_challenge=self.nonces.consume if require_nonce else None,  # after the signature
            )
        except Exception:  # a bug must not turn hostile input into a 500
            _log.exception("presentation verification failed unexpectedly")
            return self._problem(401, [Problem("INTERNAL_ERROR", "the presentation could not be verified")])
        if result.verified:
            return result
        codes = {p.code for p in result.problems}
        status = 503 if codes & _UNAVAILABLE else 403 if codes <= _FORBIDDEN else 401
        return self._problem(status, result.problems, result)

    async def deny(self, denial: Denial, route: str) -> Denial:
        """``denial`` with a fresh nonce when the policy asks for one, and audited."""
        if denial.status == 401 and self.verifier.policy.require_nonce:
            with contextlib.suppress(DidvcError):  # the nonce store down: refuse all the same
                denial.headers[NONCE_HEADER] = await self.nonces.issue()
            if denial.problems and denial.problems[0].code in ("USE_NONCE", "REQUEST_BINDING_ERROR"):
                denial.headers["WWW-Authenticate"] = f'{self.scheme or "VP"} error="use_nonce"'
        self.log(route, denial.status, denial.result, denial.problems)
        return denial

    def _problem(
        self, status: int, problems: list[Problem], result: VerificationResult | None = None
    ) -> Denial:
        return problem_denial(status, problems, result, scheme=self.scheme)

    def target(self, facts: RequestFacts) -> str | None:
        """The URL the request was sent to, as the token's ``htu`` names it: the public origin
        (or the request's own scheme and host) and its path; None when the Host header is no
        host. A plain path is taken as sent; one with percent-escapes or dot segments is
        normalized (yarl) as clients do. Only a host and port may stand in the URL: the Host
        header is the client's."""
        if self.origin is None and not _HOST.fullmatch(facts.host):
            return None
        origin = self.origin or f"{facts.scheme}://{facts.host}"
        path = facts.raw_path or "/"
        if "%" in path or "/." in path or not path.isascii():
            try:
                return str(URL(origin + path))
            except ValueError:
                return None
        return origin + path

    def log(
        self, route: str, status: int, result: VerificationResult | None, problems: list[Problem]
    ) -> None:
        """The audit line of one decision (none built when the audit logger would drop it).
        A logger's record is made here rather than by ``Logger.info``, which would walk the
        stack for its caller (a sixth of the line's cost); filters and handlers see it as any
        other. Anything else with ``info`` (a ``LoggerAdapter``) is called as before."""
        audit = self.audit
        if audit is None or not audit.isEnabledFor(logging.INFO):
            return
        line = audit_line(route, status, result, problems)
        if type(audit) is not logging.Logger:  # an adapter, or a logger class of its own
            audit.info(line)
            return
        audit.handle(audit.makeRecord(audit.name, logging.INFO, __file__, _LOG_LINE, line, (), None, "log"))


#: Where an audit record says it was made (``%(lineno)d``): the first line of :meth:`Gate.log`.
_LOG_LINE: Final = Gate.log.__code__.co_firstlineno


def audit_line(route: str, status: int, result: VerificationResult | None, problems: list[Problem]) -> str:
    """One decision as a line of compact JSON: the route, the verdict and status, who called,
    for whom, with whose credentials, and the problems' codes; never the token. Written
    directly (each string quoted by json's own C function): a dict through the encoder took
    twice as long."""
    quote = _QUOTE
    if result is None:
        verdict, who = "deny", '"holder":null,"principal":null,"issuers":[],"credentials":[]'
    else:
        verdict = "allow" if result.verified else "deny"
        holder, principal, credentials = result.holder, result.principal, result.credentials
        who = (
            f'"holder":{"null" if holder is None else quote(holder)},'
            f'"principal":{"null" if principal is None else quote(principal)},'
            f'"issuers":[{",".join(map(quote, sorted({c.issuer for c in credentials if c.issuer})))}],'
            f'"credentials":[{",".join([quote(c.id) for c in credentials if c.id])}]'
        )
    codes = ",".join([quote(p.code) for p in problems])
    return (
        f'{{"event":"didvc.decision","route":{quote(route)},"verdict":"{verdict}","status":{status:d},'
        f'{who},"problems":[{codes}]}}'
    )


def problem_denial(
    status: int,
    problems: list[Problem],
    result: VerificationResult | None = None,
    *,
    scheme: str | None = "VP",
) -> Denial:
    """The answer with ``status`` and an RFC 9457 body listing ``problems`` (a 401 says how to
    authenticate, a 503 when to come back)."""
    first = problems[0].code if problems else "MISSING_PRESENTATION"
    headers = {"Retry-After": "1"} if status == 503 else {}
    if status == 401:
        headers["WWW-Authenticate"] = refusal_header(scheme or "VP", first)
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + first,
        "title": _TITLES[status],
        "status": status,
        "problems": [p.to_json() for p in problems],
    }
    return Denial(status, headers, body, problems, result)


def body_too_large(limit: int) -> Denial:
    """The 413 for a request body over ``limit`` bytes (refused before it is read whole)."""
    return problem_denial(413, [Problem("INPUT_TOO_LARGE_ERROR", f"the body is larger than {limit} bytes")])


def missing_scopes(result: VerificationResult, scopes: Iterable[str]) -> Denial | None:
    """The 403 for a route whose own ``scopes`` the request was not granted (naming them, so the
    agent can ask for exactly those), else None."""
    missing = sorted(set(scopes) - set(result.scopes))
    if not missing:
        return None
    error = InsufficientScopeError(f"this route needs scope(s): {', '.join(missing)}")
    return problem_denial(403, [Problem.from_error(error)], result)
