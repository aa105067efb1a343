"""One credential's integrity: its form, its data model and its proof, with a cache of proofs.

This is the part of verification that needs no policy about *who* may issue: the status checker
uses it for status list credentials, the wallet for what it stores, and the verifier's pipeline
after its policy said the issuer may count. Two steps, cheap first:

1. :meth:`CredentialChecker.load` — bounded parsing (a JSON object, JSON text, or a vc+jwt)
   and the VC data-model checks. Microseconds; no keys, no canonicalization.
2. :meth:`CredentialChecker.prove` — the proof: a Data Integrity proof set (RDFC-1.0 within
   the policy's work budget; documents above :data:`OFFLOAD_BYTES` are canonicalized on a
   worker thread so the event loop stays free) or the vc+jwt signature, each with the issuer's
   key from its resolved DID document. Results are cached by the exact bytes of the
   credential for ``cache_ttl`` seconds (at most the DID cache's TTL).
"""

from __future__ import annotations

import asyncio
import hashlib
import marshal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from didvc.credentials import CredentialInfo, check_credential, check_jose_payload
from didvc.did import DidResolver, resolve_verification_method
from didvc.errors import (
    DidvcError,
    InputTooLargeError,
    ParsingError,
    ProofVerificationError,
    UnsupportedAlgorithmError,
)
from didvc.jose import ParsedJws, parse_jws, strict_json_loads, verify_jws
from didvc.proofs import AssertionMethod, WorkLimits, parse_datetime, verify_proofs
from verifier._lru import BoundedLru
from verifier._policy import Policy

__all__ = ["OFFLOAD_BYTES", "CredentialChecker", "Loaded", "ProofCheck", "check_alg", "exact_bytes"]

#: Documents larger than this (in their exact bytes) are canonicalized on a worker thread: below
#: it, RDFC-1.0 takes a few milliseconds at most and a thread hand-off would cost more.
OFFLOAD_BYTES: Final = 8 * 1024


@dataclass(frozen=True, slots=True)
class Loaded:
    """A credential read within bounds: its JSON, its vc+jwt text if it came as one, the cache
    key (SHA-256 of its exact bytes) and its size in those bytes."""

    document: dict[str, Any]
    token: str | None
    key: bytes
    size: int


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """What a credential's proof check established, cached by the digest of its bytes."""

    info: CredentialInfo
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
    ) -> None:
        self.resolver = resolver
        self.proofs = BoundedLru[ProofCheck](max_entries=cache_size, max_bytes=cache_bytes)
        self.cache_ttl = cache_ttl
        self._executor: ThreadPoolExecutor | None = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def load(self, credential: Any, *, max_bytes: int) -> tuple[Loaded, CredentialInfo]:
        """Read a credential (a JSON object, JSON text or bytes, or a vc+jwt) and check its data
        model; anything over ``max_bytes`` is refused before it is parsed."""
        token: str | None = None
        given_as_object = isinstance(credential, dict)
        if isinstance(credential, bytes):
            if len(credential) > max_bytes:
                raise InputTooLargeError(f"credential is larger than {max_bytes} bytes")
            try:
                credential = credential.decode("utf-8")
            except UnicodeDecodeError:
                raise ParsingError("credential is not UTF-8") from None
        if isinstance(credential, str):
            text = credential.strip()
            if len(text) > max_bytes:
                raise InputTooLargeError(f"credential is larger than {max_bytes} bytes")
            if text.startswith("{"):
                credential = strict_json_loads(text, what="credential")
            else:
                token = text
                parsed = parse_jws(text, typ="vc+jwt", max_bytes=max_bytes)
                check_jose_payload(parsed.payload, typ="vc+jwt")
                credential = parsed.payload
        if not isinstance(credential, dict):
            raise ParsingError("a credential must be a JSON object, JSON text or a vc+jwt")
        exact = token.encode() if token is not None else exact_bytes(credential)
        if exact is None:
            raise ParsingError("a credential must be JSON (and not nested too deeply)")
        if given_as_object and len(exact) > max_bytes:  # text was measured before parsing
            raise InputTooLargeError(f"credential is larger than {max_bytes} bytes")
        key = hashlib.sha256(exact).digest()
        checked = self.cached(key)
        info = checked.info if checked is not None else check_credential(credential)
        return Loaded(credential, token, key, len(exact)), info

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
        if loaded.token is not None:
            await self._verify_vc_jwt(loaded.token, info, policy)
            checked = ProofCheck(info, (), "jwt", None, time.monotonic())
        else:
            verified = await verify_proofs(
                loaded.document,
                resolver=self.resolver,
                purpose=AssertionMethod(controller=info.issuer),
                now=now,
                max_clock_skew=skew,
                allowed_suites=policy.allowed_suites,
                limits=WorkLimits(
                    max_work_factor=policy.rdfc_work_factor,
                    run=self._off_loop if loaded.size > OFFLOAD_BYTES else None,
                ),
            )
            expiries = [
                parse_datetime(v.proof["expires"], what="proof expires")
                for v in verified
                if "expires" in v.proof
            ]
            checked = ProofCheck(
                info,
                tuple(v.cryptosuite for v in verified),
                "ldp",
                min(expiries, key=lambda d: d.timestamp(), default=None),
                time.monotonic(),
            )
        self.proofs.put(loaded.key, checked, loaded.size)
        return checked

    async def _off_loop(self, work: Any) -> bytes:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="didvc-canonicalize")
        result: bytes = await asyncio.get_running_loop().run_in_executor(self._executor, work)
        return result

    async def _verify_vc_jwt(self, token: str, info: CredentialInfo, policy: Policy) -> None:
        parsed = parse_jws(token, typ="vc+jwt")
        check_alg(parsed, policy)
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


def check_alg(parsed: ParsedJws, policy: Policy) -> None:
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
