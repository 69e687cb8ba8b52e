"""Moving terms between Oxigraph and rdflib without losing or changing any.

The trap (ENGINE-NOTES): Oxigraph reads a plain literal as ``xsd:string`` (RDF 1.1), while
rdflib keeps ``Literal('x')`` and ``Literal('x', datatype=XSD.string)`` unequal; moving
triples across without normalising silently drops matches. Here a plain string is always
rdflib's ``Literal('x')`` and Oxigraph's ``Literal('x')``, and rdflib is told not to
rewrite lexical forms, so a round trip gives back the exact same term.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from kgraph.namespaces import XSD

if TYPE_CHECKING:
    import pyoxigraph as ox

_XSD_STRING = XSD + "string"

# rdflib logs a traceback for every ill-typed literal ("2024-13-01"^^xsd:date); SHACL
# reports those as datatype violations, which is where a user should see them.
logging.getLogger("rdflib.term").setLevel(logging.ERROR)


def to_rdflib(term: Any) -> Any:
    import pyoxigraph as ox
    from rdflib import BNode, Literal, URIRef

    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language, normalize=False)
        datatype = term.datatype.value
        if datatype == _XSD_STRING:
            return Literal(term.value, normalize=False)
        return Literal(term.value, datatype=URIRef(datatype), normalize=False)
    raise TypeError(f"cannot convert {term!r} (RDF-star triples are not supported)")


def from_rdflib(term: Any) -> Any:
    import pyoxigraph as ox
    from rdflib import BNode, Literal, URIRef

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is None or str(term.datatype) == _XSD_STRING:
            return ox.Literal(str(term))
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
    raise TypeError(f"cannot convert {term!r}")


def triples_to_rdflib(triples: Iterable[Any]) -> Iterator[tuple[Any, Any, Any]]:
    """Oxigraph triples or quads -> rdflib (s, p, o) tuples."""
    for t in triples:
        yield to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)


def graph_of(triples: Iterable[Any]) -> Any:
    """An rdflib Graph holding the given Oxigraph triples or quads."""
    from rdflib import Graph

    graph = Graph()
    add = graph.add
    # Each distinct term converted once: a shapes file names sh:path, sh:datatype ... a
    # thousand times (the conversion was a third of building the graph).
    converted: dict[Any, Any] = {}

    def rdflib_term(term: Any) -> Any:
        found = converted.get(term)
        if found is None:
            found = converted[term] = to_rdflib(term)
        return found

    for t in triples:
        add((rdflib_term(t.subject), rdflib_term(t.predicate), rdflib_term(t.object)))
    return graph


def triple_from_rdflib(s: Any, p: Any, o: Any) -> ox.Triple:
    import pyoxigraph as ox

    return ox.Triple(from_rdflib(s), from_rdflib(p), from_rdflib(o))
