"""JSON-LD for Data Integrity: bundled contexts only, safe mode, RDFC-1.0 canonical N-Quads.

- The document loader serves the contexts bundled in ``didvc/contexts`` (``MANIFEST.json`` maps
  each URL to its file; ``PROVENANCE.md`` says where each came from) and raises
  :class:`~didvc.errors.UnknownContextError` for any other URL. It never touches the network.
- **Safe mode** (https://www.w3.org/TR/vc-data-integrity/#securing-data-losslessly): expansion
  must not drop or leave relative anything. A term no context defines, an undefined or relative
  ``@type``, a relative ``@id``: each raises
  :class:`~didvc.errors.DataLossDetectionError`, because such data would sit outside the
  signature. pyld has no safe mode and its ``on_property_dropped`` hook misses types and
  identifiers, so the expanded output is checked here as well.
- Canonicalization: pyld expands (``base`` unset, so no relative IRI is silently made absolute
  against an example host); :mod:`didvc.to_rdf` turns the expansion into quads in linear time and
  :mod:`didvc.rdfc` labels and sorts them (RDFC-1.0, within a work budget), byte for byte as the
  reference implementation does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Final

from cachetools import LRUCache

from didvc import rdfc, to_rdf
from didvc.encoding import sri_sha384
from didvc.errors import DataLossDetectionError, ParsingError, UnknownContextError

__all__ = [
    "bundled_context_digest",
    "bundled_context_urls",
    "canonicalize",
    "document_loader",
    "expand",
    "load",
    "register_context",
    "registered_contexts",
]

_lock = threading.Lock()
_extra_contexts: dict[str, Any] = {}


@cache
def _manifest() -> Mapping[str, str]:
    text = resources.files("didvc").joinpath("contexts/MANIFEST.json").read_text(encoding="utf-8")
    return {url: name for url, name in json.loads(text).items() if not url.startswith("_")}


@cache
def bundled_context_digest(url: str) -> str:
    """The SRI digest (sha384) of a bundled context's file: what a credential's
    ``relatedResource`` names (VC Data Model 2.0 §5.3, integrity of related resources)."""
    data = resources.files("didvc").joinpath(f"contexts/{_manifest()[url]}").read_bytes()
    return sri_sha384(data)


@cache
def _bundled(url: str) -> Any:
    name = _manifest()[url]
    document = json.loads(resources.files("didvc").joinpath(f"contexts/{name}").read_text(encoding="utf-8"))
    _remember_objects(url, document)
    return document


# Every JSON object inside a bundled context, by id(), with the object itself (so the id can never
# be reused) and a stable cache key. These objects are never mutated and live as long as the
# process, so pyld's per-context work for them can be keyed by identity instead of by
# re-serializing them (a third of canonicalization time in pyld's ContextResolver).
_BUNDLED_OBJECTS: dict[int, tuple[Any, str]] = {}


def _remember_objects(url: str, node: Any, path: str = "") -> None:
    if isinstance(node, dict):
        _BUNDLED_OBJECTS[id(node)] = (node, f"didvc-bundled:{url}#{path}")
        for key, value in node.items():
            _remember_objects(url, value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _remember_objects(url, value, f"{path}/{index}")


def _bundled_key(obj: Any) -> str | None:
    entry = _BUNDLED_OBJECTS.get(id(obj))
    return entry[1] if entry is not None and entry[0] is obj else None


def bundled_context_urls() -> frozenset[str]:
    """The context URLs the loader will serve."""
    return frozenset(_manifest()) | frozenset(_extra_contexts)


def registered_contexts() -> dict[str, Any]:
    """The contexts :func:`register_context` added (URL → document), e.g. to hand to a worker."""
    return dict(_extra_contexts)


def register_context(url: str, document: Mapping[str, Any]) -> None:
    """Serve one more context (e.g. a component's own) from memory; the URL may not be rebound."""
    with _lock:
        current = _extra_contexts.get(url)
        if url in _manifest() or (current is not None and current != document):
            raise ValueError(f"context {url} is already defined differently")
        copy = json.loads(json.dumps(document))
        _extra_contexts[url] = copy
        _remember_objects(url, copy)


def _context_document(url: str) -> Any:
    if url in _extra_contexts:
        return _extra_contexts[url]
    if url in _manifest():
        return _bundled(url)
    raise UnknownContextError(f"JSON-LD context {url[:200]} is not bundled (contexts are never fetched)")


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """pyld document loader over the bundled contexts; any other URL is an error, never a fetch."""
    # "static" lets pyld keep the resolved context in its shared cache, not just for one call.
    return {"contextUrl": None, "documentUrl": url, "document": _context_document(url), "tag": "static"}


# pyld caches resolved contexts in a shared LRU keyed by URL; ours holds only bundled contexts.
_resolved_contexts: Final[Any] = LRUCache(maxsize=1000)


# Processed scoped contexts: pyld re-processes a type- or property-scoped context on every use
# (a non-propagating context is applied to a fresh clone, so its cache never hits). Processing a
# bundled (immutable) context against the same active-context object is deterministic; we key
# it by both identities, holding both objects so neither id can be reused.
_processed: Final[LRUCache[tuple[int, int, bool, bool, bool], tuple[Any, Any, Any]]] = LRUCache(maxsize=4096)
_processed_lock = threading.Lock()


@cache
def _pyld() -> tuple[Any, Any, type[Exception]]:
    """pyld's processor and context resolver, as we extend them, and its error: pyld loads
    (with aiohttp and lxml, 0.15 s) at the first expansion, not with every import of the core."""
    from pyld import jsonld as pyld_jsonld
    from pyld.context_resolver import ContextResolver
    from pyld.resolved_context import ResolvedContext

    class _ContextResolver(ContextResolver):  # type: ignore[misc]
        """pyld's resolver, keying bundled embedded contexts by identity rather than by content."""

        def resolve(self, active_ctx: Any, context: Any, base: Any, cycles: Any = None) -> Any:
            key = _bundled_key(context)
            if key is not None and "@context" not in context:
                resolved = self._get(key)
                if not resolved:
                    resolved = ResolvedContext(context)
                    self._cache_resolved_context(key, resolved, "static")
                return [resolved]
            return super().resolve(active_ctx, context, base, cycles)

    class _Processor(pyld_jsonld.JsonLdProcessor):  # type: ignore[misc]
        def _process_context(
            self,
            active_ctx: Any,
            local_ctx: Any,
            options: Any,
            override_protected: bool = False,
            propagate: bool = True,
            validate_scoped: bool = True,
            cycles: Any = None,
        ) -> Any:
            if cycles is not None or _bundled_key(local_ctx) is None:
                return super()._process_context(
                    active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
                )
            key = (id(active_ctx), id(local_ctx), override_protected, propagate, validate_scoped)
            with _processed_lock:
                hit = _processed.get(key)
            if hit is not None and hit[0] is active_ctx and hit[1] is local_ctx:
                return hit[2]
            result = super()._process_context(
                active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
            )
            with _processed_lock:
                _processed[key] = (active_ctx, local_ctx, result)
            return result

    return _Processor, _ContextResolver, pyld_jsonld.JsonLdError


def load() -> None:
    """Load the JSON-LD processor now, while this process waits for something else (a worker
    starting, a key derivation in a thread), rather than in the first expansion."""
    _pyld()


def _options() -> dict[str, Any]:
    return {
        "documentLoader": document_loader,
        "contextResolver": _pyld()[1](_resolved_contexts, document_loader),
        "base": None,
        "processingMode": "json-ld-1.1",
        "extractAllScripts": True,
    }


def _unwrap(exc: BaseException) -> UnknownContextError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UnknownContextError):
            return seen
        seen = seen.__cause__ or seen.__context__
        details = getattr(seen, "details", None)
        cause = details.get("cause") if isinstance(details, dict) else None
        if isinstance(cause, UnknownContextError):
            return cause
    return None


# What pyld raises, besides its JsonLdError, on input it did not expect (a non-finite number, an
# empty @context string, a value of an unexpected type): a parsing failure, never a foreign error.
_FOREIGN: Final = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


def expand(document: Mapping[str, Any]) -> list[Any]:
    """Expand ``document`` in safe mode; raises on anything expansion would drop or leave relative."""
    processor_class, _, pyld_error = _pyld()
    dropped: list[str | None] = []
    processor = processor_class(on_property_dropped=dropped.append)
    try:
        expanded = processor.expand(document, _options())
    except pyld_error as exc:
        unknown = _unwrap(exc)
        if unknown is not None:
            raise UnknownContextError(str(unknown)) from None
        raise ParsingError(f"JSON-LD expansion failed: {_describe(exc)}") from None
    except RecursionError:
        raise ParsingError("JSON-LD document is nested too deeply") from None
    except _FOREIGN as exc:  # pyld's own failures on values it did not expect
        raise ParsingError(f"JSON-LD expansion failed ({type(exc).__name__})") from None
    if dropped:
        names = ", ".join(sorted({str(d) for d in dropped}))
        raise DataLossDetectionError(f"undefined term(s) would be dropped by expansion: {names}")
    _check_expanded(expanded)
    return expanded  # type: ignore[no-any-return]


def canonicalize(
    document: Mapping[str, Any],
    *,
    hash_algorithm: str = "sha256",
    max_work_factor: float = rdfc.DEFAULT_MAX_WORK_FACTOR,
) -> str:
    """RDFC-1.0 canonical N-Quads of ``document``, after a safe-mode expansion.

    ``hash_algorithm`` is RDFC-1.0's hash parameter, which decides how blank nodes are labelled:
    ``sha256`` (the default) or ``sha384`` (ecdsa-rdfc-2019 with P-384 keys, vc-di-ecdsa §3.1).
    ``max_work_factor`` bounds the blank-node work (:mod:`didvc.rdfc`): a poison graph raises
    :class:`~didvc.errors.CanonicalizationLimitError` instead of running for minutes.
    """
    quads = to_rdf.to_quads(expand(document))
    return rdfc.canonicalize(quads, hash_algorithm=hash_algorithm, max_work_factor=max_work_factor)


def _describe(exc: BaseException) -> str:
    cause = exc.__cause__
    message = str(exc).splitlines()[0]
    if cause is not None:
        message += f" ({str(cause).splitlines()[0]})"
    return message[:300]


_KEYWORDS_WITH_IRIS: Final = ("@id", "@type")


def _check_expanded(node: Any) -> None:
    """Walk expanded JSON-LD: every @id and @type must be an absolute IRI (or a blank node)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key == "@id":
                if not isinstance(value, str) or not to_rdf.is_absolute_iri(value):
                    raise DataLossDetectionError(f"relative or invalid @id {str(value)[:100]!r}")
            elif key == "@type":
                for type_ in value if isinstance(value, list) else [value]:
                    if type_ == "@json":
                        continue
                    if not isinstance(type_, str) or not to_rdf.is_absolute_iri(type_):
                        raise DataLossDetectionError(f"undefined or relative type {str(type_)[:100]!r}")
            elif key == "@value":
                continue
            elif isinstance(value, list | dict):
                stack.append(value)
