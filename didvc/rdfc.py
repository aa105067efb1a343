"""RDF Dataset Canonicalization (RDFC-1.0) with a work budget (low-level).

https://www.w3.org/TR/rdf-canon/ — the algorithm that gives every blank node of a dataset a
canonical label, so that isomorphic datasets serialize to the same canonical N-Quads. Its
Hash N-Degree Quads step (§4.8) grows factorially on "poison" graphs (blank nodes that all
link to each other), and §4.4 says implementations MUST defend against that. As the reference
implementation does by default (Digital Bazaar's rdf-canonize, ``maxWorkFactor`` 1), the calls
to Hash N-Degree Quads are bounded by ``k ** max_work_factor`` for the ``k`` blank nodes that
first-degree hashing leaves non-unique (§4.4 note); the permutations examined are bounded too,
since a permutation of already-labelled nodes costs work without a recursive call. Past either
bound, :class:`~didvc.errors.CanonicalizationLimitError`.

Quads are tuples of four serialized terms: ``<iri>``, a canonical literal (``"…"@lang`` or
``"…"^^<datatype>``), a blank node ``_:label``, and ``""`` for the default graph. Blank nodes are
the terms that start with ``_:``; :func:`term_iri`, :func:`term_literal` and
:func:`term_blank` build the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from itertools import permutations
from typing import Any, Final

from didvc.errors import CanonicalizationLimitError

__all__ = [
    "DEFAULT_MAX_PERMUTATIONS",
    "DEFAULT_MAX_WORK_FACTOR",
    "Quad",
    "canonicalize",
    "term_blank",
    "term_iri",
    "term_literal",
]

Quad = tuple[str, str, str, str]  # subject, predicate, object, graph ("" = default graph)

#: Hash N-Degree Quads may run k ** this many times for k non-unique blank nodes (reference: 1).
DEFAULT_MAX_WORK_FACTOR: Final = 1
#: Permutations examined in Hash N-Degree Quads, in all (the W3C test suite needs fewer than 100).
DEFAULT_MAX_PERMUTATIONS: Final = 4096

_XSD_STRING: Final = "http://www.w3.org/2001/XMLSchema#string"
_RDF_LANG_STRING: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_HASHES: Final[dict[str, Callable[[bytes], Any]]] = {"sha256": hashlib.sha256, "sha384": hashlib.sha384}

# Canonical N-Quads (§A): BS HT LF FF CR " \ as ECHAR; other controls and DEL as \uXXXX.
_ESCAPES: Final = {
    **{code: f"\\u{code:04X}" for code in (*range(0x20), 0x7F)},
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}
_NEEDS_ESCAPE: Final = frozenset(chr(code) for code in _ESCAPES)


def term_iri(iri: str) -> str:
    return f"<{iri}>"


def term_blank(label: str) -> str:
    return label if label.startswith("_:") else f"_:{label}"


def term_literal(value: str, datatype: str = _XSD_STRING, language: str | None = None) -> str:
    """A literal in canonical N-Quads form (§A): xsd:string without its datatype."""
    text = value.translate(_ESCAPES) if not _NEEDS_ESCAPE.isdisjoint(value) else value
    if language:
        return f'"{text}"@{language}'
    if datatype in (_XSD_STRING, _RDF_LANG_STRING):
        return f'"{text}"'
    return f'"{text}"^^<{datatype}>'


def _line(quad: Quad, label: Callable[[str], str]) -> str:
    s, p, o, g = quad
    s = label(s) if s.startswith("_:") else s
    o = label(o) if o.startswith("_:") else o
    if g:
        g = label(g) if g.startswith("_:") else g
        return f"{s} {p} {o} {g} .\n"
    return f"{s} {p} {o} .\n"


class _Issuer:
    """Identifier Issuer (§4.5): issues ``prefix0``, ``prefix1``… in order, remembering the order."""

    __slots__ = ("issued", "prefix")

    def __init__(self, prefix: str, issued: dict[str, str] | None = None) -> None:
        self.prefix = prefix
        self.issued: dict[str, str] = issued if issued is not None else {}

    def issue(self, existing: str) -> str:
        label = self.issued.get(existing)
        if label is None:
            label = self.issued[existing] = f"{self.prefix}{len(self.issued)}"
        return label

    def copy(self) -> _Issuer:
        return _Issuer(self.prefix, dict(self.issued))


class _Canonicalizer:
    def __init__(self, quads: list[Quad], hash_name: str, max_work_factor: float, max_permutations: int):
        self.quads = quads
        self.hash = _HASHES[hash_name]
        self.max_work_factor = max_work_factor
        self.permutations_left = max_permutations
        self.deep_left = 0
        self.canonical = _Issuer("c14n")
        self.blank_quads: dict[str, list[Quad]] = {}
        self.first_degree: dict[str, str] = {}

    def digest(self, text: str) -> str:
        return str(self.hash(text.encode("utf-8")).hexdigest())

    def run(self) -> str:
        # §4.4 ca.2: the blank node to quads map.
        for quad in self.quads:
            for term in (quad[0], quad[2], quad[3]):
                if term.startswith("_:"):
                    entries = self.blank_quads.setdefault(term, [])
                    if not entries or entries[-1] is not quad:
                        entries.append(quad)
        # ca.3: first-degree hashes.
        by_hash: dict[str, list[str]] = {}
        for node in self.blank_quads:
            by_hash.setdefault(self.hash_first_degree(node), []).append(node)
        # ca.4: unique hashes get canonical identifiers at once, in hash order.
        shared = []
        for digest in sorted(by_hash):
            nodes = by_hash[digest]
            if len(nodes) == 1:
                self.canonical.issue(nodes[0])
            else:
                shared.append(nodes)
        # The work budget (§4.4 note; the reference's maxDeepIterations).
        non_unique = sum(len(nodes) for nodes in shared)
        self.deep_left = int(min(non_unique**self.max_work_factor, 1 << 62))
        # ca.5: the rest through Hash N-Degree Quads, each group in hash order.
        for nodes in shared:
            results = []
            for node in nodes:
                if node in self.canonical.issued:
                    continue
                temporary = _Issuer("b")
                temporary.issue(node)
                results.append(self.hash_n_degree(node, temporary))
            for _, issuer in sorted(results, key=lambda result: result[0]):
                for existing in issuer.issued:
                    self.canonical.issue(existing)
        # ca.6-7: every quad with its canonical labels, in code point order.
        labels = self.canonical.issued
        return "".join(sorted(_line(quad, lambda node: "_:" + labels[node]) for quad in self.quads))

    def hash_first_degree(self, node: str) -> str:
        """§4.6 Hash First Degree Quads: the node's quads with itself as ``_:a``, others ``_:z``."""
        cached = self.first_degree.get(node)
        if cached is None:
            lines = sorted(
                _line(quad, lambda other: "_:a" if other == node else "_:z")
                for quad in self.blank_quads[node]
            )
            cached = self.first_degree[node] = self.digest("".join(lines))
        return cached

    def hash_related(self, related: str, quad: Quad, issuer: _Issuer, position: str) -> str:
        """§4.7 Hash Related Blank Node."""
        text = position if position == "g" else f"{position}{quad[1]}"
        label = self.canonical.issued.get(related) or issuer.issued.get(related)
        text += f"_:{label}" if label is not None else self.hash_first_degree(related)
        return self.digest(text)

    def hash_n_degree(self, node: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        """§4.8 Hash N-Degree Quads, within the work budget."""
        if self.deep_left <= 0:
            raise CanonicalizationLimitError(
                "RDF canonicalization needs more work than allowed (too many linked blank nodes)"
            )
        self.deep_left -= 1
        # hndq.1-3: related blank nodes grouped by their related hash.
        related_by_hash: dict[str, list[str]] = {}
        for quad in self.blank_quads[node]:
            for term, position in ((quad[0], "s"), (quad[2], "o"), (quad[3], "g")):
                if term != node and term.startswith("_:"):
                    digest = self.hash_related(term, quad, issuer, position)
                    related_by_hash.setdefault(digest, []).append(term)
        # hndq.4-5: for each group, the lexicographically least path over its permutations.
        data = ""
        for digest in sorted(related_by_hash):
            data += digest
            chosen_path, chosen_issuer = "", issuer
            for permutation in permutations(related_by_hash[digest]):
                self.permutations_left -= 1
                if self.permutations_left < 0:
                    raise CanonicalizationLimitError(
                        "RDF canonicalization needs more work than allowed (too many blank node orders)"
                    )
                path, issuer_copy = self.path_of(permutation, issuer, chosen_path)
                if path is not None and (not chosen_path or path < chosen_path):
                    chosen_path, chosen_issuer = path, issuer_copy
            data += chosen_path
            issuer = chosen_issuer
        return self.digest(data), issuer

    def path_of(self, permutation: Iterable[str], issuer: _Issuer, chosen: str) -> tuple[str | None, _Issuer]:
        """hndq.5.4: the path of one permutation, or None as soon as it exceeds ``chosen``."""
        issuer_copy = issuer.copy()
        path = ""
        recursion = []
        for related in permutation:
            label = self.canonical.issued.get(related)
            if label is None:
                if related not in issuer_copy.issued:
                    recursion.append(related)
                label = issuer_copy.issue(related)
            path += f"_:{label}"
            if chosen and path > chosen:
                return None, issuer_copy
        for related in recursion:
            digest, issuer_copy = self.hash_n_degree(related, issuer_copy)
            path += f"_:{issuer_copy.issue(related)}<{digest}>"
            if chosen and path > chosen:
                return None, issuer_copy
        return path, issuer_copy


def canonicalize(
    quads: Iterable[Quad],
    *,
    hash_algorithm: str = "sha256",
    max_work_factor: float = DEFAULT_MAX_WORK_FACTOR,
    max_permutations: int = DEFAULT_MAX_PERMUTATIONS,
) -> str:
    """The canonical N-Quads of a dataset (RDFC-1.0 §4.4), sorted, one quad per line.

    ``hash_algorithm`` is RDFC-1.0's hash (``sha256``, or ``sha384``); it decides the labels.
    ``max_work_factor`` bounds the Hash N-Degree Quads calls to ``k ** max_work_factor`` for
    ``k`` non-unique blank nodes (0: none; ``math.inf``: unbounded) and ``max_permutations``
    the permutations they examine; beyond them, :class:`CanonicalizationLimitError`.
    """
    if hash_algorithm not in _HASHES:
        raise ValueError(f"RDFC-1.0 hash must be one of {sorted(_HASHES)}")
    # Quads are taken as given: like the reference, two equal quads give two equal lines.
    return _Canonicalizer(list(quads), hash_algorithm, max_work_factor, max_permutations).run()
