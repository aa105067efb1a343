"""One credential's integrity: its form, its data model and its proof, with a cache of proofs.

This is the part of verification that needs no policy about *who* may issue: the status checker
uses it for status list credentials, the wallet for what it stores, and the verifier's pipeline
after its policy said the issuer may count. Two steps, cheap first:

1. :meth:`CredentialChecker.load` — bounded parsing (a JSON object, JSON text, or a vc+jwt)
   and the VC data-model checks. Microseconds; no keys, no canonicalization.
2. :meth:`CredentialChecker.prove` — the proof: a Data Integrity proof set (RDFC-1.0 within
   the policy's work budget, in the worker process of :mod:`didvc.worker` so the event loop
   stays free) or the vc+jwt signature, each with the issuer's key from its resolved DID
   document. Results are cached by the exact bytes of the credential for ``cache_ttl`` seconds
   (at most the DID cache's TTL).
"""

from __future__ import annotations

import hashlib
import marshal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from didvc.credentials import CredentialInfo, check_credential, check_jose_payload
from didvc.did import DidResolver, resolve_verification_method
from didvc.encoding import bounded_text, strict_json_loads
from didvc.errors import (
    DidvcError,
    ParsingError,
    ProofVerificationError,
    UnsupportedAlgorithmError,
)
from didvc.jose import JwsParts, ParsedJws, parse_jws, verify_jws
from didvc.proofs import SUITES, AssertionMethod, TransformJob, WorkLimits, parse_datetime, verify_proofs
from verifier._lru import BoundedLru
from verifier._policy import Policy
from verifier._worker import shared_worker

__all__ = ["CredentialChecker", "Loaded", "ProofCheck", "check_alg", "exact_bytes"]

#: What a cached proof result holds: its digest, the LRU's node and the result (about 300 bytes;
#: the credential itself is not kept).
_PROOF_ENTRY_SIZE: Final = 320


@dataclass(slots=True)
class Loaded:
    """A credential read within bounds: its JSON, and its parsed vc+jwt if it came as one (its
    signature is checked from that parse, not a second one). Its cache key (SHA-256 of its exact
    bytes) and size are computed when first needed: a credential refused before its proof never
    costs them."""

    document: dict[str, Any]
    jws: ParsedJws | None
    _key: bytes | None = None
    _size: int = 0

    @property
    def token(self) -> str | None:
        return self.jws.token if self.jws is not None else None

    @property
    def key(self) -> bytes:
        if self._key is None:
            exact = self.token.encode() if self.token is not None else exact_bytes(self.document)
            if exact is None:
                raise ParsingError("a credential must be JSON (and not nested too deeply)")
            self._key, self._size = hashlib.sha256(exact).digest(), len(exact)
        return self._key

    @property
    def size(self) -> int:
        self.key  # noqa: B018 -- computes both
        return self._size


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """What a credential's proof check established, cached by the digest of its bytes (not the
    credential: what it says is read again from the bytes that matched)."""

    cryptosuites: tuple[str, ...]
    format: str
    proof_expires: datetime | None
    checked_at: float


class CredentialChecker:
    """Loads credentials within bounds and checks their proofs, remembering what verified."""

    def __init__(
        self,
        resolver: DidResolver,
        *,
        cache_size: int = 4096,
        cache_bytes: int = 64 << 20,
        cache_ttl: float = 300.0,
        isolate: bool = True,
    ) -> None:
        self.resolver = resolver
        self.proofs = BoundedLru[ProofCheck](max_entries=cache_size, max_bytes=cache_bytes)
        self.cache_ttl = cache_ttl
        self.isolate = isolate

    def limits(self, policy: Policy) -> WorkLimits:
        """The policy's RDFC-1.0 budget, and where the transformation runs."""
        return WorkLimits(max_work_factor=policy.rdfc_work_factor, run=self.transform)

    async def transform(self, job: TransformJob) -> bytes:
        """RDFC-1.0 in the worker process (unless ``isolate`` is off); JCS, linear, right here."""
        if self.isolate and SUITES[job.cryptosuite].uses_rdfc:
            return await shared_worker().run(job)
        return job.compute()

    def load(self, credential: Any, *, max_bytes: int) -> tuple[Loaded, CredentialInfo]:
        """Read a credential (a JSON object, JSON text or bytes, or a vc+jwt) and check its data
        model; text over ``max_bytes`` is refused before it is parsed (an object's size is the
        caller's to bound: it came inside a bounded presentation, or see ``Pipeline.credential``)."""
        parsed: ParsedJws | None = None
        if isinstance(credential, str | bytes):
            text = bounded_text(credential, max_bytes, what="credential")
            if text.startswith("{"):
                credential = strict_json_loads(text, what="credential")
            else:
                parsed = parse_jws(text, typ="vc+jwt", max_bytes=max_bytes)
                check_jose_payload(parsed.payload, typ="vc+jwt")
                credential = parsed.payload
        if not isinstance(credential, dict):
            raise ParsingError("a credential must be a JSON object, JSON text or a vc+jwt")
        return Loaded(credential, parsed), check_credential(credential)

    def cached(self, key: bytes) -> ProofCheck | None:
        checked = self.proofs.get(key)
        if checked is None or checked.checked_at + self.cache_ttl <= time.monotonic():
            return None
        return checked

    async def prove(
        self, loaded: Loaded, info: CredentialInfo, *, policy: Policy, now: datetime, skew: timedelta
    ) -> ProofCheck:
        """The credential's proof(s), by its issuer's key; raises the first failure."""
        checked = self.cached(loaded.key)
        if checked is not None:
            return checked
        if loaded.jws is not None:
            await self._verify_vc_jwt(loaded.jws, info, policy)
            checked = ProofCheck((), "jwt", None, time.monotonic())
        else:
            verified = await verify_proofs(
                loaded.document,
                resolver=self.resolver,
                purpose=AssertionMethod(controller=info.issuer if policy.signer_is_issuer else None),
                now=now,
                max_clock_skew=skew,
                allowed_suites=policy.allowed_suites,
                limits=self.limits(policy),
            )
            expiries = [
                parse_datetime(v.proof["expires"], what="proof expires")
                for v in verified
                if "expires" in v.proof
            ]
            checked = ProofCheck(
                tuple(v.cryptosuite for v in verified),
                "ldp",
                min(expiries, key=lambda d: d.timestamp(), default=None),
                time.monotonic(),
            )
        self.proofs.put(loaded.key, checked, _PROOF_ENTRY_SIZE)
        return checked

    async def _verify_vc_jwt(self, parsed: ParsedJws, info: CredentialInfo, policy: Policy) -> None:
        check_alg(parsed, policy)
        if parsed.kid is None:
            raise ParsingError("vc+jwt header has no kid")
        method = await resolve_verification_method(self.resolver, parsed.kid, "assertionMethod")
        if policy.signer_is_issuer and method.controller != info.issuer:
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


def check_alg(parsed: JwsParts, policy: Policy) -> None:
    """The policy's JOSE algorithm allow-list, if it has one."""
    allowed = policy.allowed_algorithms
    if allowed is not None and parsed.alg not in allowed:
        raise UnsupportedAlgorithmError(f"JOSE alg {parsed.alg} is not allowed by policy")


def exact_bytes(value: Any) -> bytes | None:
    """A JSON value as bytes that read back to the same value, so equal bytes mean equal members
    in equal order (a reordered copy is merely a cache miss). marshal format 2 writes no
    back-references; it is four times cheaper than pickle here and five than JSON."""
    try:
        return marshal.dumps(value, 2)
    except ValueError:  # not a JSON value, or nested too deeply
        return None
