"""General verification of a presentation (the VC-API's ``/presentations/verify``), beside the
request authentication of :mod:`verifier._pipeline`.

Request authentication answers "who sends this request, and may it?": a holder, every credential
about it, bound to the request, fresh, used once. General verification answers "is this
presentation sound?", as the W3C VC-API and Data Model 2.0 define it:

- the holder is optional, and credentials need not be about it (one may present another's);
- the presentation's proof (``authentication``) must verify; its signer is who presented;
- freshness comes from the ``challenge`` the caller expects (and ``domain``, if given), not from
  the proof's age; nothing is remembered (no replay cache), no route or scope applies;
- every credential is checked as ``verify_credential`` checks one: trust, data model, validity,
  proof, status. A presentation with no credential is sound if its proof is.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from didvc.credentials import check_jose_payload, check_presentation
from didvc.did import parse_did_url, resolve_verification_method
from didvc.errors import DidvcError, HolderBindingError, ParsingError, ProofVerificationError, RangeError
from didvc.jose import parse_jws, verify_jws
from didvc.proofs import Authentication, verify_proofs
from verifier._credentials import check_alg
from verifier._result import Problem, VerificationResult
from verifier._steps import Refused, as_list

if TYPE_CHECKING:
    from verifier._pipeline import Pipeline

__all__ = ["Mode", "general_presentation"]


class Mode(StrEnum):
    """What :meth:`verifier.Verifier.verify_presentation` checks (module docstring)."""

    REQUEST = "request"  # request authentication: the default, what the middleware runs
    GENERAL = "general"  # VC-API semantics


async def general_presentation(
    pipeline: Pipeline, presentation: Any, *, challenge: str | None, domain: str | None
) -> VerificationResult:
    """``presentation`` (a Data Integrity VP or a vp+jwt) verified in general mode."""
    try:
        form = pipeline.read(presentation)
        screen = pipeline.credential_steps.screen
        if isinstance(form, str):
            signer, entries = await _vp_jwt(pipeline, form, challenge, domain)
            checked = screen(entries, None, None)
        else:
            pipeline.count(form, allow_empty=True)
            entries = check_presentation(form).credentials
            if "proof" not in form:
                raise ProofVerificationError("the presentation has no proof")
            checked = screen(entries, None, None)  # every cheap refusal before any key
            verified = await verify_proofs(
                form,
                resolver=pipeline.resolver,
                purpose=Authentication(challenge=challenge, domain=domain),
                now=pipeline.now,
                max_clock_skew=pipeline.skew,
                allowed_suites=pipeline.policy.allowed_suites,
                limits=pipeline.limits,
            )
            signer = verified[0].method.controller
        return dataclasses.replace(await pipeline.prove_all(checked), holder=signer)
    except Refused as refused:
        return refused.result
    except DidvcError as error:
        return VerificationResult(verified=False, problems=[Problem.from_error(error)])


async def _vp_jwt(
    pipeline: Pipeline, token: str, challenge: str | None, domain: str | None
) -> tuple[str, tuple[Any, ...]]:
    """A vp+jwt's signer (its ``kid``'s DID, which ``iss`` and ``holder`` must name when
    present) and credentials; ``nonce`` and ``aud`` checked against what the caller expects."""
    policy = pipeline.policy
    parsed = parse_jws(token, typ="vp+jwt", max_bytes=policy.max_presentation_bytes)
    check_alg(parsed, policy)
    payload = parsed.payload
    pipeline.count(payload, allow_empty=True)
    if parsed.kid is None:
        raise ParsingError("vp+jwt header has no kid")
    check_jose_payload(payload, typ="vp+jwt")
    info = check_presentation(payload)
    key = await resolve_verification_method(pipeline.resolver, parsed.kid, "authentication")
    verify_jws(parsed, key.public_key)
    signer = parse_did_url(parsed.kid).did
    if payload.get("iss", signer) != signer or (info.holder is not None and info.holder != signer):
        raise HolderBindingError("the token's iss and holder must be its signer's DID")
    if challenge is not None and payload.get("nonce") != challenge:
        raise ProofVerificationError("the token's nonce is not the expected challenge")
    if domain is not None and domain not in as_list(payload.get("aud")):
        raise ProofVerificationError("the token's aud does not name the expected domain")
    skew = policy.clock_skew
    for claim in ("exp", "nbf"):
        value = payload.get(claim)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise ParsingError(f"vp+jwt {claim} must be a number")
    if payload.get("exp") is not None and pipeline.timestamp > payload["exp"] + skew:
        raise RangeError("the token is expired")
    if payload.get("nbf") is not None and pipeline.timestamp + skew < payload["nbf"]:
        raise RangeError("the token is not yet valid")
    return signer, info.credentials
