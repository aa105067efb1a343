"""The Data Integrity proof procedure, written once for every cryptosuite.

https://www.w3.org/TR/vc-data-integrity/ — §4.2 Add Proof, §4.3 Add Proof Set/Chain,
§4.4 Verify Proof, §4.5 Verify Proof Sets and Chains. A suite (see :mod:`._suite`) supplies the
canonicalization and hash; everything else, including the order of the checks, is here:
structure and purpose first, then the verification method through the resolver, then the
cryptography. A proof verifies only with a key from a resolved DID document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from didvc.did import DidResolver, VerificationMethod, resolve_verification_method
from didvc.encoding import multibase_decode, multibase_encode
from didvc.errors import (
    InvalidSignatureError,
    MalformedProofError,
    MalformedValueError,
    MismatchedProofPurposeError,
    ProofGenerationError,
    ProofVerificationError,
)
from didvc.keys import Signer
from didvc.proofs import (
    ecdsa_jcs_2019,
    ecdsa_rdfc_2019,
    ed25519_signature_2020,
    eddsa_jcs_2022,
    eddsa_rdfc_2022,
)
from didvc.proofs._suite import Cryptosuite
from didvc.proofs.purposes import AssertionMethod, ProofPurpose
from didvc.rdfc import DEFAULT_MAX_WORK_FACTOR

__all__ = [
    "DEFAULT_MAX_CLOCK_SKEW",
    "SUITES",
    "TransformJob",
    "VerifiedProof",
    "WorkLimits",
    "add_proof",
    "default_cryptosuite",
    "format_datetime",
    "parse_datetime",
    "verify_proofs",
]

SUITES: Final[Mapping[str, Cryptosuite]] = {
    module.SUITE.name: module.SUITE
    for module in (eddsa_rdfc_2022, eddsa_jcs_2022, ecdsa_rdfc_2019, ecdsa_jcs_2019, ed25519_signature_2020)
}
DEFAULT_MAX_CLOCK_SKEW: Final = timedelta(minutes=5)
#: The cryptosuite a key signs with when none is named: RDFC-1.0, the W3C's interoperable default.
_DEFAULT_FOR_KEY: Final = ("eddsa-rdfc-2022", "ecdsa-rdfc-2019")


def default_cryptosuite(key_type: str) -> str | None:
    """The cryptosuite a ``key_type`` key signs with by default (eddsa-rdfc-2022 for Ed25519,
    ecdsa-rdfc-2019 for P-256 and P-384); None when no Data Integrity suite takes it
    (secp256k1: JOSE's ES256K only)."""
    return next((name for name in _DEFAULT_FOR_KEY if key_type in SUITES[name].key_types), None)


@dataclass(frozen=True, slots=True)
class TransformJob:
    """The expensive part of verifying one proof, as plain data: transform the document and the
    proof configuration with the suite (§3.3.1-3.3.4) and hash them. Its fields are JSON, so
    a caller may compute it in another thread or process (:attr:`WorkLimits.run`)."""

    cryptosuite: str
    document: dict[str, Any]
    config: dict[str, Any]
    key_type: str
    max_work_factor: float

    def compute(self) -> bytes:
        """hashData (§3.3.4); a document that cannot be transformed is PROOF_VERIFICATION_ERROR."""
        suite = SUITES[self.cryptosuite]
        factor = self.max_work_factor
        try:
            return suite.hash_data(
                suite.transform(self.document, self.key_type, max_work_factor=factor),
                suite.transform_config(self.config, self.key_type, max_work_factor=factor),
                self.key_type,
            )
        except MalformedValueError as exc:
            raise ProofVerificationError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class WorkLimits:
    """How much work a proof's transformation may take, and where it runs.

    ``max_work_factor``: RDFC-1.0's blank-node budget (:mod:`didvc.rdfc`). ``run``: when set,
    awaited with each :class:`TransformJob` instead of computing it inline, so a caller can move
    the work off its event loop (the verifier sends it to a worker process).
    """

    max_work_factor: float = DEFAULT_MAX_WORK_FACTOR
    run: Callable[[TransformJob], Awaitable[bytes]] | None = None


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """One proof that verified: its JSON, the suite and the verification method that signed it."""

    proof: dict[str, Any]
    cryptosuite: str
    method: VerificationMethod


def format_datetime(moment: datetime) -> str:
    """An XML Schema dateTimeStamp in UTC, to the second: ``2024-01-01T00:00:00Z``."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: Any, *, what: str, error: type[Exception] = MalformedProofError) -> datetime:
    """Parse an XML Schema dateTimeStamp; a time zone is required."""
    if not isinstance(value, str) or not 19 <= len(value) <= 40 or value[10:11] not in ("T", "t"):
        raise error(f"{what} must be an XML Schema dateTimeStamp")
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise error(f"{what} is not a valid dateTimeStamp: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise error(f"{what} has no time zone: {value!r}")
    return parsed


def _select_suite(proof: dict[str, Any], allowed: Iterable[str] | None) -> Cryptosuite:
    proof_type = proof.get("type")
    name = proof.get("cryptosuite") if proof_type == "DataIntegrityProof" else proof_type
    suite = SUITES.get(name) if isinstance(name, str) else None
    if suite is None:
        raise ProofVerificationError(f"unsupported proof type/cryptosuite {str(name)[:60]!r}")
    if allowed is not None and suite.name not in allowed:
        raise ProofVerificationError(f"cryptosuite {suite.name} is not allowed here")
    return suite


def _unsecured(document: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "proof"}


def _proofs_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    proofs = document.get("proof")
    if proofs is None:
        raise ProofVerificationError("document has no proof")
    items = proofs if isinstance(proofs, list) else [proofs]
    if not items or not all(isinstance(p, dict) for p in items):
        raise MalformedProofError("proof must be an object or a non-empty list of objects")
    return items


def _matching_previous(
    proof: dict[str, Any], proofs: list[dict[str, Any]], error: type[Exception]
) -> list[dict[str, Any]]:
    previous = proof.get("previousProof")
    candidates = previous if isinstance(previous, list) else [previous]
    ids = [i for i in candidates if isinstance(i, str)]
    if not ids or len(ids) != len(candidates):
        raise MalformedProofError("previousProof must be a string or a list of strings")
    by_id = {p.get("id"): p for p in proofs if p is not proof}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise error(f"previousProof {missing[0][:80]!r} is not among the document's proofs")
    return [by_id[i] for i in ids]


def _proof_config(suite: Cryptosuite, options: dict[str, Any], unsecured: dict[str, Any]) -> dict[str, Any]:
    """Proof configuration (suite §3.3.5): the options, with the document's ``@context``."""
    config = dict(options)
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    return config


async def add_proof(
    document: Mapping[str, Any],
    signer: Signer,
    *,
    cryptosuite: str | None = None,
    purpose: ProofPurpose | None = None,
    created: datetime | None = None,
    expires: datetime | None = None,
    proof_id: str | None = None,
    previous_proof: str | list[str] | None = None,
    include_created: bool = True,
    run: Callable[[TransformJob], Awaitable[bytes]] | None = None,
) -> dict[str, Any]:
    """Secure ``document`` with one more proof (§4.2, and §4.3 for sets and chains).

    ``cryptosuite`` defaults to the one for the signer's key (:func:`default_cryptosuite`).
    An existing ``proof`` makes a proof set; ``previous_proof`` names the proofs this one chains
    to, which are then signed along with the document. ``run``, when given, computes the
    transformation and hash (a :class:`TransformJob`) elsewhere, e.g. in a worker process on
    another core. Returns a new document.
    """
    purpose = purpose or AssertionMethod()
    if cryptosuite is None:  # the signer's key decides (default_cryptosuite)
        cryptosuite = default_cryptosuite(signer.algorithm)
        if cryptosuite is None:
            raise ProofGenerationError(f"no Data Integrity cryptosuite signs with a {signer.algorithm} key")
    suite = SUITES.get(cryptosuite)
    if suite is None or suite.legacy:
        raise ProofGenerationError(f"cryptosuite {cryptosuite!r} cannot create proofs")
    if signer.algorithm not in suite.key_types:
        raise ProofGenerationError(f"{cryptosuite} cannot sign with a {signer.algorithm} key")
    if not isinstance(document.get("@context"), list | str):
        raise ProofGenerationError("document must have an @context")
    unsecured = _unsecured(document)
    existing = _proofs_of(document) if "proof" in document else []

    options: dict[str, Any] = {"type": suite.proof_type}
    if proof_id is not None:
        options["id"] = proof_id
    options["cryptosuite"] = suite.name
    if include_created:
        options["created"] = format_datetime(created or datetime.now(UTC))
    if expires is not None:
        options["expires"] = format_datetime(expires)
    options["verificationMethod"] = signer.key_id
    options["proofPurpose"] = purpose.term
    options.update(purpose.options())
    if previous_proof is not None:
        options["previousProof"] = previous_proof

    to_sign = unsecured
    if previous_proof is not None:
        to_sign = {**unsecured, "proof": _matching_previous(options, existing, ProofGenerationError)}
    config = _proof_config(suite, options, unsecured)
    try:
        if run is not None:
            job = TransformJob(suite.name, to_sign, config, str(signer.algorithm), DEFAULT_MAX_WORK_FACTOR)
            hash_data = await run(job)
        else:
            hash_data = suite.hash_data(
                suite.transform(to_sign, signer.algorithm),
                suite.transform_config(config, signer.algorithm),
                signer.algorithm,
            )
    except (MalformedValueError, ProofVerificationError) as exc:  # the job's name for the same
        raise ProofGenerationError(str(exc)) from None
    signature = await signer.sign(hash_data)

    proof = dict(config) if suite.proof_context else dict(options)
    proof["proofValue"] = multibase_encode(signature, "z")
    secured = dict(unsecured)
    secured["proof"] = [*existing, proof] if existing else proof
    return secured


async def verify_proofs(
    document: Mapping[str, Any],
    *,
    resolver: DidResolver,
    purpose: ProofPurpose | None = None,
    now: datetime | None = None,
    max_clock_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW,
    allowed_suites: Iterable[str] | None = None,
    limits: WorkLimits | None = None,
) -> list[VerifiedProof]:
    """Verify every proof of ``document`` (§4.4, §4.5): all must pass, or this raises.

    Raises the :class:`~didvc.errors.DidvcError` of the first failure (its ``code`` is the
    problem code); returns what verified otherwise. Every check that needs no canonicalization
    (shape, purpose, dates, the verification method and its relationship) runs before the
    transformation; ``limits`` bounds that (RDFC-1.0's work factor) and may run it elsewhere.
    """
    limits = limits or WorkLimits()
    purpose = purpose or AssertionMethod()
    now = now or datetime.now(UTC)
    allowed = frozenset(allowed_suites) if allowed_suites is not None else None
    proofs = _proofs_of(document)
    unsecured = _unsecured(document)
    verified = []
    for proof in proofs:
        input_document = unsecured
        if "previousProof" in proof:
            input_document = {**unsecured, "proof": _matching_previous(proof, proofs, ProofVerificationError)}
        verified.append(
            await _verify_one(input_document, proof, resolver, purpose, now, max_clock_skew, allowed, limits)
        )
    return verified


async def _verify_one(
    unsecured: dict[str, Any],
    proof: dict[str, Any],
    resolver: DidResolver,
    purpose: ProofPurpose,
    now: datetime,
    max_clock_skew: timedelta,
    allowed: frozenset[str] | None,
    limits: WorkLimits,
) -> VerifiedProof:
    suite = _select_suite(proof, allowed)
    suite.check_proof_shape(proof)
    if proof.get("proofPurpose") != purpose.term:
        raise MismatchedProofPurposeError(
            f"proof purpose {str(proof.get('proofPurpose'))[:40]!r} is not the expected {purpose.term!r}"
        )
    proof_value = proof.get("proofValue")
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        raise MalformedProofError("proofValue must be a base58btc multibase string")
    try:
        signature = multibase_decode(proof_value, expect="z")
    except MalformedValueError:
        raise MalformedProofError("proofValue is not valid base58btc") from None
    vm_url = proof.get("verificationMethod")
    if not isinstance(vm_url, str):
        raise MalformedProofError("verificationMethod must be a string")
    moment, skew = now.timestamp(), max_clock_skew.total_seconds()  # seconds: years 1-9999 never overflow
    if "created" in proof:
        created = parse_datetime(proof["created"], what="proof created")
        if created.timestamp() - skew > moment:
            raise ProofVerificationError("proof was created in the future")
    if "expires" in proof:
        expires = parse_datetime(proof["expires"], what="proof expires")
        if expires.timestamp() + skew < moment:
            raise ProofVerificationError("proof has expired")

    method = await resolve_verification_method(resolver, vm_url, purpose.term)
    if method.public_key.key_type not in suite.key_types:
        raise ProofVerificationError(
            f"{suite.name} cannot be verified with a {method.public_key.key_type} key"
        )
    purpose.check(proof, method)

    options = {key: value for key, value in proof.items() if key != "proofValue"}
    if suite.proof_context and "@context" in options:
        # JCS suites: the document's @context must start with the proof's, which then stands in.
        proof_context = options["@context"]
        doc_context = unsecured.get("@context")
        prefix = proof_context if isinstance(proof_context, list) else [proof_context]
        current = doc_context if isinstance(doc_context, list) else [doc_context]
        if current[: len(prefix)] != prefix:
            raise ProofVerificationError("document @context does not start with the proof's @context")
        unsecured = {**unsecured, "@context": proof_context}
    if suite.legacy and "@context" in options:
        # the suite's own context in the proof (DIDKit): it defines the proof's terms, nothing else
        if options["@context"] not in (suite.own_context, [suite.own_context]):
            raise ProofVerificationError(f"a {suite.name} proof's @context may only be its suite's")
        config = options
    else:
        config = _proof_config(suite, options, unsecured)
    job = TransformJob(suite.name, unsecured, config, str(method.public_key.key_type), limits.max_work_factor)
    hash_data = await limits.run(job) if limits.run is not None else job.compute()
    try:
        method.public_key.verify(signature, hash_data)
    except InvalidSignatureError:
        raise ProofVerificationError("proof signature does not verify") from None
    return VerifiedProof(proof=proof, cryptosuite=suite.name, method=method)
