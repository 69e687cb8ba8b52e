"""Literals as the source wrote them, where Oxigraph's store rewrote them.

The store canonicalises literals on insert: ``"12"^^xsd:long`` becomes ``"12"^^xsd:integer``,
``"5"^^xsd:int`` ``"5"^^xsd:integer``, ``"1"^^xsd:boolean`` ``"true"``, ``"01"^^xsd:integer``
``"1"``. SHACL's literal-level components (``sh:datatype``, ``sh:pattern``, ``sh:minLength``,
``sh:maxLength``, well-formedness) are about the lexical form and datatype the source used, so
the engine judges the rewritten triples on the parser's output instead of the store's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kgraph.namespaces import RDF, RDFS, SKOLEM, XSD

Key = tuple[Any, Any, Any]
"""(subject, predicate, object as the store holds it), Oxigraph terms."""


@dataclass(frozen=True)
class ExactLiterals:
    """The source forms of the triples whose literal the store rewrote.

    ``by_triple`` maps a store triple to every source literal that became it (two source
    triples can collapse into one store triple: ``"1"`` and ``"01"``).
    """

    by_triple: Mapping[Key, tuple[Any, ...]] = field(default_factory=dict)
    by_object: Mapping[Any, tuple[Any, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.by_triple)

    def forms(self, subject: Any, predicate: str | None, value: Any) -> tuple[Any, ...] | None:
        """The source forms of ``value`` reached from ``subject`` over ``predicate`` (None
        when the path is not a single predicate: then any triple with that object counts)."""
        import pyoxigraph as ox

        if predicate is not None:
            return self.by_triple.get((subject, ox.NamedNode(predicate), value))
        return self.by_object.get(value)


def canonical_forms(literals: Iterable[Any]) -> dict[Any, Any]:
    """Each literal -> the form Oxigraph's store gives it."""
    import pyoxigraph as ox

    distinct = list(dict.fromkeys(literals))
    store = ox.Store()
    p = ox.NamedNode("urn:kgraph:literal")
    store.extend(
        ox.Quad(ox.NamedNode(f"urn:kgraph:literal:{i}"), p, lit) for i, lit in enumerate(distinct)
    )
    out: dict[Any, Any] = {}
    for quad in store.quads_for_pattern(None, p, None, None):
        out[distinct[int(str(quad.subject)[1:-1].rpartition(":")[2])]] = quad.object
    return out


def exact_literals(quads: Iterable[Any]) -> ExactLiterals:
    """The :class:`ExactLiterals` of parsed quads (``pyoxigraph.parse`` output) once they are
    in a store: only the triples whose literal the store rewrites are kept."""

    triples = with_neighbours(quads)
    canonical = canonical_forms(q.object for q in triples)
    grouped: dict[Key, list[Any]] = {}
    rewritten: set[Key] = set()
    for q in triples:
        key = (q.subject, q.predicate, canonical[q.object])
        grouped.setdefault(key, []).append(q.object)
        if canonical[q.object] != q.object:
            rewritten.add(key)
    by_triple = {k: tuple(dict.fromkeys(grouped[k])) for k in rewritten}
    by_object: dict[Any, tuple[Any, ...]] = {}
    for (_, _, obj), forms in by_triple.items():
        by_object[obj] = tuple(dict.fromkeys(by_object.get(obj, ()) + forms))
    return ExactLiterals(by_triple, by_object)


def with_neighbours(quads: Iterable[Any]) -> list[Any]:
    """The quads whose literal the store may rewrite, and the literal quads with the same
    subject and predicate (``true`` beside ``"1"^^xsd:boolean``: the store holds them as
    one triple, whose source forms are both)."""
    import pyoxigraph as ox

    literal = [q for q in quads if isinstance(q.object, ox.Literal)]
    kept = [q for q in literal if may_be_rewritten(q.object)]
    pairs = {(q.subject, q.predicate) for q in kept}
    if not pairs:
        return []
    return [q for q in literal if (q.subject, q.predicate) in pairs]


_CANONICAL = {
    XSD + "integer": re.compile(r"0|-?[1-9][0-9]*"),
    XSD + "date": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}Z?"),
    XSD + "dateTime": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z?"),
    XSD + "boolean": re.compile(r"true|false"),
}
_KEPT = {XSD + "string", RDF + "langString"}


def may_be_rewritten(literal: Any) -> bool:
    """False for the forms the store is known to keep as they are (most literals of a
    project: strings, dates, plain integers), so that only the rest is put through a store
    to see (``canonical_forms`` costs a store insert per literal)."""
    if literal.language:
        return False
    return may_be_rewritten_text(literal.value, literal.datatype.value)


def may_be_rewritten_text(lexical: str, datatype: str) -> bool:
    """:func:`may_be_rewritten` of a typed literal given by its lexical form and datatype."""
    if datatype in _KEPT:
        return False
    form = _CANONICAL.get(datatype)
    return form is None or form.fullmatch(lexical) is None


# -- the literal-level components, judged in Python on one literal ---------------------------


def datatype_ok(term: Any, datatype: str) -> bool:
    """pySHACL's sh:datatype test (rdflib's notion of a well-formed literal)."""
    import pyoxigraph as ox

    if not isinstance(term, ox.Literal):
        return False
    if datatype == RDFS + "Literal":
        return True
    if term.language:
        return datatype == RDF + "langString"
    if term.datatype.value != datatype:
        return False
    from rdflib import Literal, URIRef

    literal = Literal(term.value, datatype=URIRef(datatype))
    return getattr(literal, "ill_typed", None) is not True and _value_fits(literal, datatype)


def _value_fits(literal: Any, datatype: str) -> bool:
    from datetime import date, datetime, time
    from decimal import Decimal

    value = literal.value
    expected: dict[str, type | tuple[type, ...]] = {
        XSD + "string": (str, bytes),
        XSD + "integer": int,
        XSD + "float": float,
        XSD + "double": float,
        XSD + "decimal": Decimal,
        XSD + "boolean": bool,
        XSD + "dateTime": datetime,
        XSD + "time": time,
    }
    if datatype == XSD + "date":
        return isinstance(value, date) and not isinstance(value, datetime)
    kind = expected.get(datatype)
    return kind is None or isinstance(value, kind)


def is_blank(term: Any) -> bool:
    """A blank node, or the skolem IRI kgraph gave one (``evaluation.BLANK``)."""
    import pyoxigraph as ox

    return isinstance(term, ox.BlankNode) or (
        isinstance(term, ox.NamedNode) and term.value.startswith(SKOLEM)
    )


def length_ok(term: Any, minimum: int | None, maximum: int | None) -> bool:
    if is_blank(term):
        return False
    size = len(term.value)
    return (minimum is None or size >= minimum) and (maximum is None or size <= maximum)


def pattern_ok(term: Any, pattern: str, flags: str) -> bool:
    if is_blank(term):
        return False
    return re.search(pattern, term.value, python_flags(flags)) is not None


def python_flags(flags: str) -> int:
    table = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
    out = 0
    for flag in flags:
        out |= table.get(flag, 0)
    return out
