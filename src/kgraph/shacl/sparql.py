"""SHACL-SPARQL constraints (SHACL 1.0 §5), evaluated set-at-a-time by Oxigraph.

pySHACL evaluates a SPARQL-based constraint once per focus node, parsing the query text
each time with rdflib's pure-Python parser: 35 ms a node, 2 minutes for 3,000 estimates.
Here each constraint runs once per chunk of focus nodes: ``$this`` becomes an ordinary
variable bound by an inline ``VALUES`` block to the chunk's nodes that the shape targets,
and the query is evaluated by Oxigraph over the same neighbourhood graph pySHACL sees:
the pre-binding of §5.3.1 done as a join, which gives the same solutions except where a
sub-select or MINUS hides ``$this``. Constraints outside that subset (``$currentShape``,
``$shapesGraph``, property shapes' ``$PATH``, a ``$this`` that is not projected) are left
to pySHACL. One difference is the engines': Oxigraph follows SPARQL 1.1 where rdflib is
lenient, so comparing an ``xsd:date`` with an ``xsd:dateTime`` or a string is an error
(the FILTER is false) rather than a guess; our shapes check those datatypes separately.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from kgraph.namespaces import RDF, RDFS, SH
from kgraph.queries import inline_values
from kgraph.shacl.model import Finding, fill_message
from kgraph.shacl.sparqltext import Uncompilable, constraint_prefixes, oxigraph_refusal

_UNSUPPORTED = ("$currentShape", "?currentShape", "$shapesGraph", "?shapesGraph", "$PATH")


@dataclass(frozen=True)
class SparqlConstraint:
    shape: str
    """IRI of the node shape (pySHACL's sh:sourceShape)."""
    constraint: str
    """IRI of the sh:SPARQLConstraint node (sh:sourceConstraint)."""
    query: str
    messages: tuple[str, ...]
    severity: str
    target_classes: tuple[str, ...]
    target_nodes: tuple[Any, ...]
    """Oxigraph terms (SHACL allows literals here)."""


def extract(shapes: Any) -> tuple[list[SparqlConstraint], set[tuple[Any, Any]]]:
    """The constraints kgraph evaluates itself, and the (shape, constraint) pairs of the
    ``sh:sparql`` triples that :func:`without_handled` leaves out of pySHACL's copy."""
    from rdflib import RDF as R
    from rdflib import URIRef

    from kgraph.convert import from_rdflib

    def sh(local: str) -> Any:
        return URIRef(SH + local)

    found: list[SparqlConstraint] = []
    handled: set[tuple[Any, Any]] = set()
    for shape, constraint in shapes.subject_objects(sh("sparql")):
        if (shape, R.type, sh("NodeShape")) not in shapes or (shape, sh("path"), None) in shapes:
            continue
        if not isinstance(constraint, URIRef) or not isinstance(shape, URIRef):
            continue
        if str(shapes.value(constraint, sh("deactivated"))).lower() == "true":
            handled.add((shape, constraint))
            continue
        select = shapes.value(constraint, sh("select"))
        if select is None or any(word in str(select) for word in _UNSUPPORTED):
            continue
        query = _rewrite(str(select))
        if query is None:
            continue
        try:
            prefixes = constraint_prefixes(shapes, constraint)
        except Uncompilable:
            continue  # a namespace that is no IRI: the guards refuse it (index.load_shapes)
        if oxigraph_refusal(prefixes + query) is not None:
            # Not runnable by Oxigraph as written (a custom function it lacks): pySHACL's.
            # A text Oxigraph cannot parse never gets here (index.check_engine_sparql).
            continue
        messages = tuple(str(m) for m in shapes.objects(constraint, sh("message"))) or tuple(
            str(m) for m in shapes.objects(shape, sh("message"))
        )
        severity = str(shapes.value(shape, sh("severity")) or SH + "Violation").removeprefix(SH)
        found.append(
            SparqlConstraint(
                shape=str(shape),
                constraint=str(constraint),
                query=prefixes + query,
                messages=messages,
                severity=severity,
                # IRIs only: shapes.analyse refuses a literal sh:targetClass first.
                target_classes=tuple(str(c) for c in shapes.objects(shape, sh("targetClass"))),
                target_nodes=tuple(from_rdflib(n) for n in shapes.objects(shape, sh("targetNode"))),
            )
        )
        handled.add((shape, constraint))
    return found, handled


def without_handled(shapes: Any, handled: set[tuple[Any, Any]]) -> Any:
    """A copy of the shapes graph without the ``sh:sparql`` triples of ``handled``: what
    pySHACL is given (it would evaluate those constraints again)."""
    from rdflib import Graph, URIRef

    sparql = URIRef(SH + "sparql")
    stripped = Graph()
    for triple in shapes:
        if triple[1] == sparql and (triple[0], triple[2]) in handled:
            continue
        stripped.add(triple)
    for prefix, namespace in shapes.namespaces():
        stripped.bind(prefix, namespace)
    return stripped


def _rewrite(select: str) -> str | None:
    """``$this`` -> ``?this``; None when ``$this`` is not in the projection."""
    from kgraph.sparql import SparqlDepthError, SparqlSyntaxError, parse

    try:
        # The prefixes are declared apart (sh:declare): any prefix counts here.
        parsed = parse(select, max_depth=sys.maxsize, prefixes=None)
    except (SparqlSyntaxError, SparqlDepthError):
        return None  # not SPARQL to Oxigraph: left to pySHACL, as unsupported text is
    if not any(this.projected for this in parsed.this):
        return None
    out = []
    last = 0
    for this in parsed.this:
        out.append(select[last : this.offset] + "?this")
        last = this.offset + len(this.text)
    out.append(select[last:])
    return "".join(out)


def evaluate(
    store: Any, constraints: Iterable[SparqlConstraint], focus: Iterable[Any]
) -> list[Any]:
    """Validation results of ``constraints`` on ``store``'s default graph, for ``focus`` only."""
    import pyoxigraph as ox

    focus = set(focus)
    findings = []
    for constraint in constraints:
        targets = _targets(store, constraint) & focus
        if not targets:
            continue
        # Pre-bind $this to the targets (§5.3.1) with an inline VALUES block, so that even
        # a $this used only inside FILTER NOT EXISTS is bound.
        values = "VALUES ?this { " + " ".join(str(t) for t in sorted(targets, key=str)) + " }"
        for row in store.query(inline_values(constraint.query, values)):
            this = row["this"]
            if this not in targets:
                continue
            value = _get(row, "value")
            path = _get(row, "path")
            for template in constraint.messages or ("",):
                message, shown = fill_message(template, partial(_get, row))
                findings.append(
                    Finding(
                        focus=str(this),
                        path=str(path) if isinstance(path, ox.NamedNode) else None,
                        value=None if value is None else str(value),
                        message=message,
                        shown_message=shown,
                        severity=constraint.severity,
                        shape=f"<{constraint.shape}>",
                        component="SPARQLConstraintComponent",
                        constraint=f"<{constraint.constraint}>",
                    )
                )
    return findings


def _get(row: Any, name: str) -> Any:
    try:
        return row[name]
    except (KeyError, IndexError):
        return None


def _targets(store: Any, constraint: SparqlConstraint) -> set[Any]:
    """The constraint's target nodes in ``store``: its sh:targetNode values, and the
    instances of its target classes and of their subclasses (SHACL 1.0 §2.1.3.2).

    Walked with pattern lookups rather than a query: the class IRIs come from the shapes
    file, and text from a file is never pasted into a query.
    """
    import pyoxigraph as ox

    nodes: set[Any] = set(constraint.target_nodes)
    rdf_type, sub = ox.NamedNode(RDF + "type"), ox.NamedNode(RDFS + "subClassOf")
    classes = {ox.NamedNode(c) for c in constraint.target_classes}
    frontier = list(classes)
    while frontier:
        for quad in store.quads_for_pattern(None, sub, frontier.pop(), None):
            if quad.subject not in classes:
                classes.add(quad.subject)
                frontier.append(quad.subject)
    for cls in classes:
        nodes |= {q.subject for q in store.quads_for_pattern(None, rdf_type, cls, None)}
    return nodes
