"""Expanded JSON-LD to an RDF dataset, in linear time (low-level).

https://www.w3.org/TR/json-ld11-api/#node-map-generation (§7.2) and
https://www.w3.org/TR/json-ld11-api/#deserialize-json-ld-to-rdf-algorithm (§8.1-8.3), written
for canonicalization: the result is a set of quads (:data:`didvc.rdfc.Quad`) whose blank-node
labels RDFC-1.0 replaces anyway, so the node map keeps duplicate values (the dataset drops them)
and nothing is sorted. pyld's node map compares every new value with every value the property
already has, which made a 50 KB credential with a 6,000-item list cost nine seconds.

Literals follow the reference implementation (jsonld.js): numbers with a fraction or of
magnitude 10^21 and more are ``xsd:double`` in the canonical form of ``toExponential(15)``;
other numbers ``xsd:integer``. Anything the algorithm would silently drop (a relative IRI, a
blank-node predicate, an invalid language tag) raises
:class:`~didvc.errors.DataLossDetectionError`: dropped data would sit outside the signature.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Final

import rfc8785

from didvc import rdfc
from didvc.errors import DataLossDetectionError, MalformedValueError, ParsingError

__all__ = ["is_absolute_iri", "to_quads"]

_RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XSD: Final = "http://www.w3.org/2001/XMLSchema#"
_I18N: Final = "https://www.w3.org/ns/i18n#"
_TYPE: Final = rdfc.term_iri(_RDF + "type")
_FIRST: Final = rdfc.term_iri(_RDF + "first")
_REST: Final = rdfc.term_iri(_RDF + "rest")
_NIL: Final = rdfc.term_iri(_RDF + "nil")
_LANGUAGE_TAG: Final = re.compile(r"[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*")
_ABSOLUTE_IRI: Final = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*|_):\S*")
_EXACT_INTEGERS: Final = 2**53
_LARGEST_DOUBLE: Final = int(1.7976931348623157e308)
_SIXTEEN_DIGITS: Final = Decimal("1.000000000000000")
_JS_FLOAT: Final = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def is_absolute_iri(value: str) -> bool:
    """An absolute IRI or a blank node identifier, as jsonld.js decides it (no white space)."""
    return _ABSOLUTE_IRI.fullmatch(value) is not None


class _Labels:
    """Blank node identifiers: the input's are renamed, so generated ones never collide."""

    def __init__(self) -> None:
        self._renamed: dict[str, str] = {}
        self._count = 0

    def fresh(self) -> str:
        self._count += 1
        return f"_:b{self._count}"

    def rename(self, label: str) -> str:
        renamed = self._renamed.get(label)
        if renamed is None:
            renamed = self._renamed[label] = self.fresh()
        return renamed


NodeMap = dict[str, dict[str, dict[str, Any]]]


class _NodeMapper:
    """Node Map Generation (§7.2): every node object flattened into its graph, by id.

    A value joins a property only once, "once" as the reference compares values (jsonld.js
    ``compareValues``): equal ``@id``, or equal ``@value`` (JavaScript equality), ``@type``,
    ``@language`` and ``@index``; lists and JSON literals are never equal. Looked up in a set,
    not by scanning the values already there.
    """

    def __init__(self) -> None:
        self.labels = _Labels()
        self.graphs: NodeMap = {"@default": {}}
        self._seen: dict[tuple[str, str, str], set[Any]] = {}

    def _id(self, value: str) -> str:
        return self.labels.rename(value) if value.startswith("_:") else value

    def _append(self, graph: str, node: dict[str, Any], prop: str, entry: Any) -> None:
        values = node.setdefault(prop, [])
        key = _identity(entry)
        if key is not None:
            seen = self._seen.setdefault((graph, node["@id"], prop), set())
            if key in seen:
                return
            seen.add(key)
        values.append(entry)

    def add(
        self,
        element: Any,
        graph: str,
        subject: str | dict[str, Any] | None = None,
        prop: str | None = None,
        items: list[Any] | None = None,
    ) -> None:
        if isinstance(element, list):  # step 1
            for item in element:
                self.add(item, graph, subject, prop, items)
            return
        if not isinstance(element, dict):
            raise ParsingError("expanded JSON-LD holds a value where a node or value object belongs")
        nodes = self.graphs.setdefault(graph, {})
        if "@value" in element or "@list" in element:  # steps 3 and 4
            if "@value" in element:
                entry = dict(element)
                if isinstance(entry.get("@type"), str):
                    entry["@type"] = self._id(entry["@type"])
            else:
                entry = {"@list": []}
                self.add(element["@list"], graph, subject, prop, entry["@list"])
            if items is not None:
                items.append(entry)
            elif isinstance(subject, str) and prop is not None:
                self._append(graph, nodes[subject], prop, entry)
            else:
                raise DataLossDetectionError("a value that belongs to no node would be dropped")
            return
        # step 5: a node object
        node_id = self._id(element["@id"]) if isinstance(element.get("@id"), str) else self.labels.fresh()
        node = nodes.setdefault(node_id, {"@id": node_id})
        if isinstance(subject, dict) and prop is not None:  # a reverse property: node → subject
            self._append(graph, node, prop, subject)
        elif prop is not None:
            reference = {"@id": node_id}
            if items is not None:
                items.append(reference)
            elif isinstance(subject, str):
                self._append(graph, nodes[subject], prop, reference)
        types = element.get("@type", [])
        for type_ in types if isinstance(types, list) else [types]:
            self._append(graph, node, "@type", self._id(type_) if isinstance(type_, str) else type_)
        if "@index" in element:
            if "@index" in node and node["@index"] != element["@index"]:
                raise ParsingError("conflicting @index values for one node")
            node["@index"] = element["@index"]
        for reverse_prop, values in element.get("@reverse", {}).items():
            for value in values if isinstance(values, list) else [values]:
                self.add(value, graph, {"@id": node_id}, self._id(reverse_prop))
        if "@graph" in element:
            self.graphs.setdefault(node_id, {})
            self.add(element["@graph"], node_id)
        if "@included" in element:
            self.add(element["@included"], graph)
        for key, value in element.items():
            if key.startswith("@"):
                continue
            prop_id = self._id(key)
            node.setdefault(prop_id, [])
            self.add(value, graph, node_id, prop_id)


def _identity(entry: Any) -> Any:
    """What makes two values of a property the same to the reference; None: never the same."""
    if isinstance(entry, str):  # an @type
        return entry
    if not isinstance(entry, dict) or "@list" in entry:
        return None
    if "@value" not in entry:
        return ("@id", entry.get("@id"))
    value = entry["@value"]
    if isinstance(value, bool):
        tagged: Any = ("boolean", value)
    elif isinstance(value, int | float):
        try:
            tagged = ("number", float(value))  # JavaScript: 1 === 1.0, and 2^53 + 1 is 2^53
        except OverflowError:
            raise ParsingError("a JSON-LD number is too large") from None
    elif isinstance(value, str):
        tagged = ("string", value)
    else:
        return None  # a JSON literal: objects are never === each other
    return ("@value", tagged, entry.get("@type"), entry.get("@language"), _hashable(entry.get("@index")))


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | None) else repr(value)


def to_quads(expanded: Any) -> list[rdfc.Quad]:
    """Deserialize expanded JSON-LD to RDF (§8.1): the quads of every graph of its node map."""
    mapper = _NodeMapper()
    mapper.add(expanded, "@default")
    quads: list[rdfc.Quad] = []
    for graph_name, nodes in mapper.graphs.items():
        graph = "" if graph_name == "@default" else _reference(graph_name)
        for node_id, node in nodes.items():
            subject = _reference(node_id)
            for prop, values in node.items():
                if prop == "@type":
                    quads.extend((subject, _TYPE, _reference(t), graph) for t in values)
                    continue
                if prop.startswith("@"):
                    continue
                if prop.startswith("_:"):
                    raise DataLossDetectionError(f"blank node predicate {prop[:80]!r} would be dropped")
                predicate = _reference(prop)
                for value in values:
                    quads.append((subject, predicate, _object(value, mapper.labels, graph, quads), graph))
    return quads


def _reference(value: Any) -> str:
    if not isinstance(value, str) or not is_absolute_iri(value):
        raise DataLossDetectionError(f"relative or invalid IRI {str(value)[:100]!r} would be dropped")
    return rdfc.term_blank(value) if value.startswith("_:") else rdfc.term_iri(value)


def _object(item: dict[str, Any], labels: _Labels, graph: str, quads: list[rdfc.Quad]) -> str:
    """Object to RDF (§8.2); a list's quads (§8.3) are added to ``quads``."""
    if "@list" in item:
        entries = item["@list"]
        if not entries:
            return _NIL
        nodes = [labels.fresh() for _ in entries]
        for index, (node, entry) in enumerate(zip(nodes, entries, strict=True)):
            head = rdfc.term_blank(node)
            quads.append((head, _FIRST, _object(entry, labels, graph, quads), graph))
            rest = rdfc.term_blank(nodes[index + 1]) if index + 1 < len(nodes) else _NIL
            quads.append((head, _REST, rest, graph))
        return rdfc.term_blank(nodes[0])
    if "@value" not in item:
        return _reference(item.get("@id"))
    return _literal(item)


def _literal(item: dict[str, Any]) -> str:
    value, datatype = item["@value"], item.get("@type")
    if datatype is not None and datatype != "@json":
        _reference(datatype)
        if datatype.startswith("_:"):
            raise DataLossDetectionError("a literal's datatype cannot be a blank node")
    language = item.get("@language")
    if language is not None and (not isinstance(language, str) or not _LANGUAGE_TAG.fullmatch(language)):
        raise DataLossDetectionError(f"invalid language tag {str(language)[:40]!r}")
    if datatype == "@json":
        try:
            return rdfc.term_literal(rfc8785.dumps(value).decode("utf-8"), _RDF + "JSON")
        except (rfc8785.CanonicalizationError, TypeError, ValueError, OverflowError) as exc:
            raise MalformedValueError(f"a JSON literal cannot be canonicalized: {exc}") from None
    if isinstance(value, bool):
        return rdfc.term_literal("true" if value else "false", datatype or _XSD + "boolean")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _LARGEST_DOUBLE:
        raise ParsingError("a JSON-LD number is beyond the range of a double")
    if isinstance(value, int | float) and (_is_double(value) or datatype == _XSD + "double"):
        return rdfc.term_literal(_double(value), datatype or _XSD + "double")
    if datatype == _XSD + "double" and isinstance(value, str):
        return rdfc.term_literal(_double(_parse_float(value)), datatype)
    if isinstance(value, int | float):
        # JSON numbers are doubles to the reference: an integer beyond 2^53 is the nearest double.
        integral = int(value) if abs(value) <= _EXACT_INTEGERS else int(float(value))
        return rdfc.term_literal(str(integral), datatype or _XSD + "integer")
    if not isinstance(value, str):
        raise ParsingError("a JSON-LD @value must be a string, number or boolean")
    if "@direction" in item:
        # rdfDirection "i18n-datatype" (JSON-LD 1.1 API §8.2 step 13), as the Data Integrity
        # cryptosuites canonicalize: https://www.w3.org/ns/i18n#<language lower-cased>_<direction>
        direction = item["@direction"]
        if direction not in ("ltr", "rtl"):
            raise DataLossDetectionError(f"invalid base direction {str(direction)[:10]!r}")
        return rdfc.term_literal(value, f"{_I18N}{(language or '').lower()}_{direction}")
    if language is not None:
        return rdfc.term_literal(value, datatype or _RDF + "langString", language)
    return rdfc.term_literal(value, datatype or _XSD + "string")


def _is_double(value: int | float) -> bool:
    """jsonld.js's test: the number's JavaScript string form has a point, or it is 10^21 or more.

    JavaScript writes numbers below 10^-6 in exponent notation, so ``1e-7`` (one significant
    digit, no point) is an *integer* to the reference (``"0"``) while ``1.5e-7`` is a double.
    """
    try:
        magnitude = abs(value)
        if magnitude >= 1e21:
            return True
        if isinstance(value, int) or value.is_integer():
            return False
    except OverflowError:
        raise ParsingError("a JSON-LD number is too large") from None
    if magnitude >= 1e-6:
        return True
    significant = repr(magnitude).split("e")[0].replace(".", "").strip("0")
    return len(significant) > 1


def _parse_float(text: str) -> float:
    """JavaScript's parseFloat: the longest numeric prefix after leading white space, else NaN."""
    match = _JS_FLOAT.match(text.lstrip())
    if match is None:
        return float("nan")
    number = match[0]
    return float(number.replace("Infinity", "inf"))


def _double(value: float | int) -> str:
    """The canonical xsd:double form jsonld.js writes: ``toExponential(15)`` (16 significant
    digits, ties away from zero), trailing zeros of the fraction dropped, no ``+``: ``1.1E0``."""
    number = float(value) if not isinstance(value, bool) else float(int(value))
    if number != number:
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0.0E0"
    with localcontext() as context:
        context.prec = 1200  # exact: a double has at most 767 significant decimal digits
        exact = Decimal(number)
        exponent = exact.adjusted()
        digits = exact.scaleb(-exponent).quantize(_SIXTEEN_DIGITS, rounding=ROUND_HALF_UP)
        if abs(digits) >= 10:  # rounding carried into a new digit
            exponent += 1
            digits = exact.scaleb(-exponent).quantize(_SIXTEEN_DIGITS, rounding=ROUND_HALF_UP)
    mantissa = f"{digits:f}".rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    return f"{mantissa}E{exponent}"
