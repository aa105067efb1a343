"""DIDs, DID URLs and DID documents, and finding a verification method the way the specs say.

- DID syntax: https://www.w3.org/TR/did-core/#did-syntax and #did-url-syntax
- DID documents are parsed strictly through pydid (no silent fallback to a non-conformant model).
- :meth:`DidDocument.verification_method` is the Controlled Identifiers 1.0 "Retrieve
  Verification Method" algorithm (https://www.w3.org/TR/cid-1.0/#retrieve-verification-method):
  the method must be in the document, controlled by the document's subject, and listed under the
  requested verification relationship.
- :class:`DidResolver` is the seam through which the core reaches DID resolution; the
  ``resolvers`` package implements it.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Protocol

from didvc.errors import (
    DidvcError,
    InvalidControlledIdentifierDocumentError,
    InvalidControlledIdentifierDocumentIdError,
    InvalidDidDocumentError,
    InvalidDidError,
    InvalidDidUrlError,
    InvalidKeyError,
    InvalidRelationshipForVerificationMethodError,
    InvalidVerificationMethodError,
    InvalidVerificationMethodUrlError,
    MalformedValueError,
)
from didvc.keys import PublicKey

__all__ = [
    "RELATIONSHIPS",
    "DidDocument",
    "DidResolver",
    "DidUrl",
    "VerificationMethod",
    "parse_did",
    "parse_did_url",
    "resolve_verification_method",
]

RELATIONSHIPS: Final = frozenset(
    {"authentication", "assertionMethod", "keyAgreement", "capabilityInvocation", "capabilityDelegation"}
)

_PCT = r"%[0-9A-Fa-f]{2}"
_IDCHAR = rf"(?:[A-Za-z0-9._-]|{_PCT})"
_DID = rf"did:(?P<method>[a-z0-9]+):(?P<msid>(?:{_IDCHAR}*:)*{_IDCHAR}+)"
_PCHAR = rf"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|{_PCT})"
_DID_RE: Final = re.compile(_DID)
_DID_URL_RE: Final = re.compile(
    rf"(?P<did>{_DID})(?P<path>(?:/{_PCHAR}*)*)"
    rf"(?:\?(?P<query>(?:{_PCHAR}|[/?])*))?(?:#(?P<fragment>(?:{_PCHAR}|[/?])*))?"
)
_MAX_DID_URL: Final = 8192


@dataclass(frozen=True, slots=True)
class DidUrl:
    """A parsed DID URL: ``did`` + optional path, query and fragment."""

    did: str
    method: str
    method_specific_id: str
    path: str = ""
    query: str | None = None
    fragment: str | None = None

    def __str__(self) -> str:
        out = self.did + self.path
        if self.query is not None:
            out += "?" + self.query
        if self.fragment is not None:
            out += "#" + self.fragment
        return out


def parse_did(did: str) -> DidUrl:
    """Parse a bare DID (no path, query or fragment); ``invalidDid`` otherwise."""
    if not isinstance(did, str) or len(did) > _MAX_DID_URL:
        raise InvalidDidError("DID must be a string of reasonable length")
    match = _DID_RE.fullmatch(did)
    if match is None:
        raise InvalidDidError(f"not a valid DID: {_short(did)}")
    return DidUrl(did, match["method"], match["msid"])


def parse_did_url(url: str) -> DidUrl:
    """Parse a DID URL (DID Core §3.2); ``invalidDidUrl`` on bad syntax."""
    if not isinstance(url, str) or len(url) > _MAX_DID_URL:
        raise InvalidDidUrlError("DID URL must be a string of reasonable length")
    return _parse_did_url(url)


@lru_cache(maxsize=4096)
def _parse_did_url(url: str) -> DidUrl:
    match = _DID_URL_RE.fullmatch(url)
    if match is None:
        raise InvalidDidUrlError(f"not a valid DID URL: {_short(url)}")
    return DidUrl(
        match["did"], match["method"], match["msid"], match["path"], match["query"], match["fragment"]
    )


@dataclass(frozen=True, slots=True)
class VerificationMethod:
    """A verification method found in a DID document, with its validated public key."""

    id: str
    type: str
    controller: str
    public_key: PublicKey


class DidDocument:
    """A DID document, validated strictly with pydid; ``data`` is the JSON as received.

    Keys are parsed once, on first use, and remembered with the document. ``size`` estimates
    the bytes it holds, for caches bounded in bytes (a did:web document may be large).
    """

    __slots__ = ("_data", "_keys", "_methods", "_related", "cache_for", "id", "size")

    def __init__(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict):
            raise InvalidDidDocumentError("DID document must be a JSON object")
        try:
            _pydid().deserialize_document(data, strict=True)
        except RecursionError:
            raise InvalidDidDocumentError("DID document is nested too deeply") from None
        except Exception as exc:  # pydid parses untrusted input; whatever it raises is a refusal
            lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
            detail = next((line for line in lines if not line.startswith("For further")), type(exc).__name__)
            raise InvalidDidDocumentError(
                f"DID document does not conform to DID Core: {detail[:200]}"
            ) from None
        doc_id = data.get("id")
        if not isinstance(doc_id, str):  # pragma: no cover - pydid requires it
            raise InvalidDidDocumentError("DID document has no id")
        parse_did(doc_id)
        self._index(doc_id, data)

    @staticmethod
    def load_parser() -> None:
        """Import the strict parser now (about 150 ms): a server calls this at start-up, so its
        first did:web request does not pay it on the event loop."""
        _pydid()

    @classmethod
    def generated(cls, data: dict[str, Any], methods: Iterable[VerificationMethod] = ()) -> DidDocument:
        """A document generated here from keys already validated (did:key, did:jwk): no pydid
        round trip (tests check every generated form against it once), and its ``methods``
        already decoded, so no key is decoded twice."""
        document = cls.__new__(cls)
        document._index(data["id"], data)
        for method in methods:
            document._keys[method.id] = method
        return document

    def _index(self, doc_id: str, data: dict[str, Any]) -> None:
        self.id: str = doc_id
        self._data = data
        self.size: int = _estimated_size(data)
        #: How long its publisher lets it be cached, in seconds, when it said (HTTP max-age).
        self.cache_for: float | None = None
        self._methods: dict[str, dict[str, Any]] = {}
        for method in _as_list(data.get("verificationMethod")):
            if isinstance(method, dict) and isinstance(method.get("id"), str):
                self._methods.setdefault(self._absolute(method["id"]), method)
        for relationship in RELATIONSHIPS:
            for entry in _as_list(data.get(relationship)):
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    self._methods.setdefault(self._absolute(entry["id"]), entry)
        self._keys: dict[str, VerificationMethod] = {}
        self._related: dict[tuple[str, str], VerificationMethod] = {}

    @property
    def data(self) -> dict[str, Any]:
        """The document's JSON, as received (or as generated)."""
        return self._data

    def _absolute(self, ref: str) -> str:
        return self.id + ref if ref.startswith("#") else ref

    def relationship_ids(self, relationship: str) -> list[str]:
        """The absolute ids of the methods listed (by reference or embedded) under ``relationship``."""
        out = []
        for entry in _as_list(self.data.get(relationship)):
            ref = entry.get("id") if isinstance(entry, dict) else entry
            if isinstance(ref, str):
                out.append(self._absolute(ref))
        return out

    def verification_method(self, url: str, relationship: str) -> VerificationMethod:
        """Controlled Identifiers 1.0 §3.3 "Retrieve Verification Method", on this document.

        ``url`` must be an absolute DID URL with a fragment whose DID is this document's id; the
        method must be controlled by this DID and listed under ``relationship``.
        """
        checked = self._related.get((url, relationship))
        if checked is not None:  # the document does not change: a method that passed still does
            return checked
        if not url or not isinstance(url, str):
            raise InvalidVerificationMethodUrlError("verification method URL is empty")
        try:
            parsed = parse_did_url(url)
        except InvalidDidUrlError:
            raise InvalidVerificationMethodUrlError(f"not a DID URL: {_short(url)}") from None
        if parsed.fragment is None:
            raise InvalidVerificationMethodUrlError("verification method URL has no fragment")
        if parsed.did != self.id:
            raise InvalidControlledIdentifierDocumentIdError(
                f"verification method {_short(url)} does not belong to {self.id}"
            )
        if relationship not in RELATIONSHIPS:
            raise InvalidRelationshipForVerificationMethodError(f"unknown relationship {relationship!r}")
        method = self.method(url)  # the spec's order: the method must exist before its relationship
        if url not in self.relationship_ids(relationship):
            raise InvalidRelationshipForVerificationMethodError(
                f"{_short(url)} is not an {relationship} method of {self.id}"
            )
        self._related[(url, relationship)] = method
        return method

    def method(self, url: str) -> VerificationMethod:
        """The verification method with this absolute id, key validated; no relationship check."""
        cached = self._keys.get(url)
        if cached is not None:
            return cached
        entry = self._methods.get(url)
        if entry is None:
            raise InvalidVerificationMethodError(f"{_short(url)} is not in the DID document of {self.id}")
        controller = entry.get("controller")
        if not isinstance(controller, str) or self._absolute(controller) != self.id:
            raise InvalidVerificationMethodError(
                f"{_short(url)} is controlled by {controller!r}, not by {self.id}"
            )
        vm_type = entry.get("type")
        if not isinstance(vm_type, str):
            raise InvalidVerificationMethodError(f"{_short(url)} has no type")
        try:
            key = _public_key_of(entry)
        except (InvalidKeyError, MalformedValueError) as exc:
            raise InvalidVerificationMethodError(f"{_short(url)}: {exc}") from None
        method = VerificationMethod(url, vm_type, self.id, key)
        self._keys[url] = method
        return method

    def __repr__(self) -> str:
        return f"DidDocument({self.id!r})"


class DidResolver(Protocol):
    """Resolves a DID to its validated document. Implemented in the ``resolvers`` package.

    A caching resolver may also offer ``async refresh(did) -> DidDocument | None``: the
    document resolved anew, bypassing its cache, or None when it will not now (rate-limited).
    :func:`resolve_verification_method` uses it once when a cached document lacks a method.
    And ``cached(did) -> DidDocument | None``: the document it holds, if fresh, with no
    resolution (:func:`cached_verification_method`, a request's fast path).
    """

    async def resolve(self, did: str) -> DidDocument: ...


def cached_verification_method(
    resolver: DidResolver, url: str, relationship: str
) -> VerificationMethod | None:
    """:func:`resolve_verification_method` from a document the resolver holds (its optional
    ``cached(did)``), with no resolution; None when it holds none or the method is not in it."""
    cached = getattr(resolver, "cached", None)
    try:
        parsed = parse_did_url(url)
        document: DidDocument | None = cached(parsed.did) if cached is not None else None
        if document is None or document.id != parsed.did:
            return None
        return document.verification_method(url, relationship)
    except DidvcError:
        return None


async def resolve_verification_method(
    resolver: DidResolver, url: str, relationship: str
) -> VerificationMethod:
    """Dereference a verification-method DID URL through ``resolver`` and check its relationship."""
    try:
        parsed = parse_did_url(url)
    except InvalidDidUrlError:
        raise InvalidVerificationMethodUrlError(f"not a DID URL: {_short(url)}") from None
    document = await resolver.resolve(parsed.did)
    if document.id != parsed.did:
        raise InvalidControlledIdentifierDocumentError(
            f"resolving {parsed.did} returned the document of {document.id}"
        )
    try:
        return document.verification_method(url, relationship)
    except (InvalidVerificationMethodError, InvalidRelationshipForVerificationMethodError):
        # A key added since the document was cached (the controller rotated): resolve once more.
        refresh = getattr(resolver, "refresh", None)
        fresh: DidDocument | None = await refresh(parsed.did) if refresh is not None else None
        if fresh is None or fresh.id != parsed.did:
            raise
        return fresh.verification_method(url, relationship)


_KEY_TYPES_MULTIBASE: Final = frozenset(
    {"Multikey", "Ed25519VerificationKey2020", "X25519KeyAgreementKey2020"}
)
_KEY_TYPES_JWK: Final = frozenset({"JsonWebKey", "JsonWebKey2020"})


def _public_key_of(entry: dict[str, Any]) -> PublicKey:
    vm_type = entry["type"]
    multibase = entry.get("publicKeyMultibase")
    jwk = entry.get("publicKeyJwk")
    if vm_type in _KEY_TYPES_MULTIBASE and isinstance(multibase, str) and jwk is None:
        key = PublicKey.from_multikey(multibase)
        if vm_type == "Ed25519VerificationKey2020" and key.key_type != "Ed25519":
            raise InvalidKeyError("Ed25519VerificationKey2020 must hold an Ed25519 key")
        return key
    if vm_type in _KEY_TYPES_JWK and isinstance(jwk, dict) and multibase is None:
        return PublicKey.from_jwk(jwk)
    raise InvalidKeyError(f"unsupported verification method type or key form {vm_type!r}")


@lru_cache(maxsize=1)
def _pydid() -> Any:
    """pydid, imported when a document is first parsed: building its models takes 150 ms, which
    every command and process paid at start-up, though only did:web documents need them."""
    import pydid

    return pydid


def _estimated_size(data: dict[str, Any]) -> int:
    """About the bytes a parsed document and its index hold: Python's dicts and strings take
    three to four times their JSON's length (measured on did:web documents)."""
    try:
        return 4 * len(marshal.dumps(data, 2)) + 512
    except ValueError:  # nested beyond marshal's depth: pydid refused it before this
        return 1 << 20


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
