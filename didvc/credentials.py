"""Verifiable Credentials and Presentations: the data-model checks, and vc+jwt envelopes.

- VC Data Model 2.0 (https://www.w3.org/TR/vc-data-model-2.0/) on issue and verify; 1.1
  (https://www.w3.org/TR/vc-data-model-1.1/) on verify only.
- Securing with JOSE (https://www.w3.org/TR/vc-jose-cose/): a ``vc+jwt`` is a compact JWS whose
  payload *is* the credential; in a presentation it travels as an
  ``EnvelopedVerifiableCredential`` whose ``id`` is ``data:application/vc+jwt,<token>``.

These functions only look at the JSON; proofs are checked by :mod:`didvc.proofs` and
:mod:`didvc.jose`, and the verifier puts the pieces together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from didvc.errors import (
    CredentialExpiredError,
    CredentialNotYetValidError,
    MalformedValueError,
    ParsingError,
    ProofGenerationError,
)
from didvc.jose import sign_jws
from didvc.keys import Signer
from didvc.proofs import parse_datetime

__all__ = [
    "CREDENTIALS_V1",
    "CREDENTIALS_V2",
    "ENVELOPED_VC_PREFIX",
    "CredentialExpiredError",
    "CredentialInfo",
    "CredentialNotYetValidError",
    "PresentationInfo",
    "check_credential",
    "check_jose_payload",
    "check_presentation",
    "check_validity_period",
    "envelope",
    "make_presentation",
    "sign_vc_jwt",
    "unwrap_envelope",
]

CREDENTIALS_V2: Final = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_V1: Final = "https://www.w3.org/2018/credentials/v1"
ENVELOPED_VC_PREFIX: Final = "data:application/vc+jwt,"


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """What a credential says, once its JSON passed the data-model checks."""

    id: str | None
    version: str  # "2.0" or "1.1"
    types: tuple[str, ...]
    issuer: str
    subjects: tuple[dict[str, Any], ...]
    valid_from: datetime | None
    valid_until: datetime | None
    status: tuple[dict[str, Any], ...] = field(default=())

    @property
    def subject_ids(self) -> tuple[str, ...]:
        return tuple(s["id"] for s in self.subjects if isinstance(s.get("id"), str))


@dataclass(frozen=True, slots=True)
class PresentationInfo:
    id: str | None
    types: tuple[str, ...]
    holder: str | None
    credentials: tuple[dict[str, Any] | str, ...]  # secured JSON objects, or vc+jwt tokens


def _types(value: Any, required: str) -> tuple[str, ...]:
    types = value if isinstance(value, list) else [value]
    if not types or not all(isinstance(t, str) and t for t in types):
        raise MalformedValueError("type must be a string or a list of strings")
    if required not in types:
        raise MalformedValueError(f"type must include {required}")
    return tuple(types)


_WHITESPACE: Final = re.compile(r"\s")


def _is_url(value: str) -> bool:
    scheme, colon, _ = value.partition(":")
    return bool(colon) and scheme[:1].isalpha() and not _WHITESPACE.search(value)


def _url(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _is_url(value):
        raise MalformedValueError(f"{what} must be a URL")
    return value


def _version(document: dict[str, Any], *, issuing: bool) -> str:
    """The data model version from ``@context`` (VC DM 2.0 §4.3): a URL or a list of URLs and
    objects whose first item is the base context."""
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if not contexts or not all(isinstance(c, dict) or (isinstance(c, str) and _is_url(c)) for c in contexts):
        raise MalformedValueError("@context must be a URL or a list of URLs and objects")
    if contexts[0] == CREDENTIALS_V2:
        return "2.0"
    if contexts[0] == CREDENTIALS_V1 and not issuing:
        return "1.1"
    raise MalformedValueError(f"the first @context must be {CREDENTIALS_V2}")


def _optional_datetime(document: dict[str, Any], name: str) -> datetime | None:
    if name not in document:
        return None
    return parse_datetime(document[name], what=name, error=MalformedValueError)


def check_credential(credential: Any, *, issuing: bool = False) -> CredentialInfo:
    """The data-model checks of a credential (VC DM 2.0 §4; 1.1 when verifying)."""
    if not isinstance(credential, dict):
        raise ParsingError("a credential must be a JSON object")
    version = _version(credential, issuing=issuing)
    types = _types(credential.get("type"), "VerifiableCredential")
    credential_id = credential.get("id")
    if "id" in credential:  # present, it is a URL: null is no identifier (§4.4)
        _url(credential_id, "id")
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        _check_descriptions(issuer, "issuer.")
        issuer = issuer.get("id")
    issuer_id = _url(issuer, "issuer (or issuer.id)")
    subject = credential.get("credentialSubject")
    candidates = subject if isinstance(subject, list) else [subject]
    subjects: list[dict[str, Any]] = [s for s in candidates if isinstance(s, dict) and s]
    if not subjects or len(subjects) != len(candidates):
        raise MalformedValueError("credentialSubject must be a non-empty object or list of objects")
    for item in subjects:
        if "id" in item:
            _url(item["id"], "credentialSubject.id")
    if version == "2.0":
        valid_from = _optional_datetime(credential, "validFrom")
        valid_until = _optional_datetime(credential, "validUntil")
    else:
        if "issuanceDate" not in credential:
            raise MalformedValueError("a VC 1.1 credential must have issuanceDate")
        valid_from = _optional_datetime(credential, "issuanceDate")
        valid_until = _optional_datetime(credential, "expirationDate")
    if valid_from and valid_until and valid_until.timestamp() < valid_from.timestamp():
        raise MalformedValueError("validUntil is before validFrom")
    _check_descriptions(credential, "")
    _check_typed_members(credential)
    _check_related_resources(credential.get("relatedResource"))
    statuses = _as_list(credential.get("credentialStatus"))
    return CredentialInfo(
        id=credential_id,
        version=version,
        types=types,
        issuer=issuer_id,
        subjects=tuple(subjects),
        valid_from=valid_from,
        valid_until=valid_until,
        status=tuple(statuses),
    )


#: Members whose every object names its type, and is identified by a URL if at all (VC DM 2.0
#: §4.5 Types, §4.10 Status, §4.11 Data Schemas, §5.4 Refreshing, §5.5 Terms of Use, §5.6 Evidence).
_TYPED_MEMBERS: Final = ("credentialStatus", "credentialSchema", "refreshService", "termsOfUse", "evidence")
_LANGUAGE_VALUE_KEYS: Final = frozenset({"@value", "@language", "@direction"})


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _is_type(value: Any) -> bool:
    types = value if isinstance(value, list) else [value]
    return bool(types) and all(isinstance(t, str) and t for t in types)


def _check_typed_members(credential: dict[str, Any]) -> None:
    for name in _TYPED_MEMBERS:
        for item in _as_list(credential.get(name)):
            if not isinstance(item, dict) or not _is_type(item.get("type")):
                raise MalformedValueError(f"each {name} object must have a type")
            if "id" in item or name == "credentialSchema":  # a schema is named by its URL (§4.11)
                _url(item.get("id"), f"{name}.id")


def _check_descriptions(document: dict[str, Any], where: str) -> None:
    """``name`` and ``description``: strings or language value objects (§4.6, §11.1)."""
    for name in ("name", "description"):
        for value in _as_list(document.get(name)) if name in document else ():
            if isinstance(value, str):
                continue
            if (
                not isinstance(value, dict)
                or not isinstance(value.get("@value"), str)
                or not _LANGUAGE_VALUE_KEYS.issuperset(value)
                or not all(isinstance(v, str) for v in value.values())
            ):
                raise MalformedValueError(f"{where}{name} must be a string or a language value object")


def _check_related_resources(value: Any) -> None:
    """``relatedResource``: objects naming a URL and its digest (§5.3 Integrity of Related Resources)."""
    seen: set[str] = set()
    for resource in _as_list(value):
        if not isinstance(resource, dict):
            raise MalformedValueError("each relatedResource must be an object")
        if _url(resource.get("id"), "relatedResource.id") in seen:
            raise MalformedValueError("each relatedResource names another resource")
        seen.add(resource["id"])
        digests = [resource[d] for d in ("digestSRI", "digestMultibase") if d in resource]
        if not digests or not all(isinstance(d, str) and d for d in digests):
            raise MalformedValueError("each relatedResource needs a digestSRI or a digestMultibase")


def check_validity_period(
    info: CredentialInfo, *, now: datetime | None = None, max_clock_skew: timedelta = timedelta(minutes=5)
) -> None:
    """Raise when ``now`` is outside ``[validFrom, validUntil]`` (allowing ``max_clock_skew``).

    Compared as epoch seconds: the dates may be anywhere from year 1 to 9999, where adding the
    skew to a datetime would overflow.
    """
    moment = (now or datetime.now(UTC)).timestamp()
    skew = max_clock_skew.total_seconds()
    if info.valid_from is not None and info.valid_from.timestamp() - skew > moment:
        raise CredentialNotYetValidError(f"credential is not valid before {info.valid_from.isoformat()}")
    if info.valid_until is not None and info.valid_until.timestamp() + skew < moment:
        raise CredentialExpiredError(f"credential expired at {info.valid_until.isoformat()}")


def check_jose_payload(payload: dict[str, Any], *, typ: str) -> None:
    """A ``vc+jwt``/``vp+jwt`` payload *is* a VC 2.0 credential or presentation (VC-JOSE-COSE
    §3.1): the VC 1.1 JWT form, with the document under a ``vc`` or ``vp`` claim, is refused,
    and the base context must be VC 2.0's."""
    legacy = sorted({"vc", "vp"}.intersection(payload))
    if legacy:
        raise MalformedValueError(f"a {typ} payload is the document itself, not a {legacy[0]!r} claim")
    _version(payload, issuing=True)  # VC 2.0 only


def check_presentation(presentation: Any) -> PresentationInfo:
    """The data-model checks of a presentation (VC DM 2.0 §4.13)."""
    if not isinstance(presentation, dict):
        raise ParsingError("a presentation must be a JSON object")
    _version(presentation, issuing=False)
    types = _types(presentation.get("type"), "VerifiablePresentation")
    holder = presentation.get("holder")
    if isinstance(holder, dict):
        holder = holder.get("id")
    if holder is not None:
        _url(holder, "holder")
    presentation_id = presentation.get("id")
    if presentation_id is not None:
        _url(presentation_id, "id")
    entries = presentation.get("verifiableCredential", [])
    entries = entries if isinstance(entries, list) else [entries]
    credentials: list[dict[str, Any] | str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise MalformedValueError("verifiableCredential entries must be objects")
        entry_types = entry.get("type")
        entry_types = entry_types if isinstance(entry_types, list) else [entry_types]
        credentials.append(
            unwrap_envelope(entry) if "EnvelopedVerifiableCredential" in entry_types else entry
        )
    return PresentationInfo(presentation_id, types, holder, tuple(credentials))


def make_presentation(
    holder: str, credentials: list[dict[str, Any] | str], *, presentation_id: str | None = None
) -> dict[str, Any]:
    """An unsecured VC 2.0 presentation of ``credentials`` (secured objects, or vc+jwt tokens
    which are enveloped) by ``holder``."""
    entries = [envelope(c) if isinstance(c, str) else c for c in credentials]
    presentation: dict[str, Any] = {"@context": [CREDENTIALS_V2], "type": ["VerifiablePresentation"]}
    if presentation_id is not None:
        presentation["id"] = presentation_id
    presentation["holder"] = holder
    presentation["verifiableCredential"] = entries
    check_presentation(presentation)
    return presentation


def envelope(token: str) -> dict[str, Any]:
    """Wrap a vc+jwt for a presentation's ``verifiableCredential`` (VC-JOSE-COSE §3.1.3)."""
    return {
        "@context": CREDENTIALS_V2,
        "id": ENVELOPED_VC_PREFIX + token,
        "type": "EnvelopedVerifiableCredential",
    }


def unwrap_envelope(entry: dict[str, Any]) -> str:
    """The vc+jwt token inside an ``EnvelopedVerifiableCredential``."""
    value = entry.get("id")
    if not isinstance(value, str) or not value.startswith(ENVELOPED_VC_PREFIX):
        raise MalformedValueError("an EnvelopedVerifiableCredential id must be a data:application/vc+jwt URL")
    return value[len(ENVELOPED_VC_PREFIX) :]


async def sign_vc_jwt(credential: dict[str, Any], signer: Signer) -> str:
    """Secure a credential as a ``vc+jwt`` (VC-JOSE-COSE §3.1.1): the payload is the credential."""
    info = check_credential(credential, issuing=True)
    if not signer.key_id.startswith(info.issuer + "#"):
        raise ProofGenerationError("the signing key must be a verification method of the issuer")
    return await sign_jws(credential, signer, typ="vc+jwt", header={"cty": "vc"})
