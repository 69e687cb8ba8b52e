"""A bound on transitive chains, checked at the gate (``kgraph add``).

The closure of a transitive property is quadratic in the length of its chains: a
1,000-place ``kg:locatedIn`` chain (92 KB, valid by every shape) made every later OWL 2 RL
command take 53 s and 2.2 GB, 2,000 places more than 6 GB. Validation cannot see this (each
triple is fine), and no limit of the worker helps the *next* commands. So ``add`` refuses a
batch after which a node would reach more than :data:`MAX_REACH` nodes along one transitive
property, or sit on a chain of it longer than that. Place hierarchies are shallow (a town,
its district, province, state, region, continent: under ten), and so are the event chains
of a story (``kg:follows``) and class hierarchies; the bound keeps every closure within
``MAX_REACH`` triples per node, i.e. linear in the graph.

Properties covered: those typed ``owl:TransitiveProperty`` in the graph or in the batch
(with their sub-properties and inverses, OWL 2 RL rules prp-trp, prp-spo1, prp-inv), plus the
ones transitive by the RDFS and OWL semantics: ``rdfs:subClassOf``, ``rdfs:subPropertyOf``,
``owl:sameAs``, ``owl:equivalentClass``, ``owl:equivalentProperty`` (the last three
symmetric too).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from kgraph.errors import LimitError
from kgraph.namespaces import OWL, RDF, RDFS, shorten

MAX_REACH = 64
"""Most nodes one node may reach along a transitive property (and longest chain through a
batch's statement)."""

_BUILT_IN = {
    RDFS + "subClassOf": False,
    RDFS + "subPropertyOf": False,
    OWL + "sameAs": True,
    OWL + "equivalentClass": True,
    OWL + "equivalentProperty": True,
}
"""Transitive by the semantics; the value says whether it is symmetric too."""


class _Union:
    """Pattern lookups over several Oxigraph stores at once (the graph and the batch)."""

    def __init__(self, stores: Iterable[Any]) -> None:
        self.stores = list(stores)

    def objects(self, subject: Any, predicate: Any) -> Iterator[Any]:
        for store in self.stores:
            for quad in store.quads_for_pattern(subject, predicate, None, None):
                yield quad.object

    def subjects(self, predicate: Any, obj: Any) -> Iterator[Any]:
        for store in self.stores:
            for quad in store.quads_for_pattern(None, predicate, obj, None):
                yield quad.subject


def check_chains(graph: Any, batch: Any, *, source: str | None = None) -> None:
    """Raise :class:`LimitError` if ``batch`` (a store) makes a transitive chain too long."""
    import pyoxigraph as ox

    view = _Union([graph, batch])
    batch_predicates = {q.predicate for q in batch.quads_for_pattern(None, None, None, None)}
    declared = {
        s.value
        for s in view.subjects(ox.NamedNode(RDF + "type"), ox.NamedNode(OWL + "TransitiveProperty"))
        if isinstance(s, ox.NamedNode)
    }
    symmetric = {
        s.value
        for s in view.subjects(ox.NamedNode(RDF + "type"), ox.NamedNode(OWL + "SymmetricProperty"))
    }
    properties = {p: p in symmetric for p in declared} | _BUILT_IN
    for iri, is_symmetric in properties.items():
        forward, backward = _edges(view, iri)
        if not batch_predicates & (forward | backward):
            continue  # the batch adds no edge of this property
        for subject in _touched(batch, forward, backward):
            _check_node(view, subject, iri, forward, backward, is_symmetric, source)


def _edges(view: _Union, iri: str) -> tuple[set[Any], set[Any]]:
    """The predicates whose triples are edges of ``iri`` read forwards, and read backwards
    (its sub-properties, and the inverses of those)."""
    import pyoxigraph as ox

    sub_property = ox.NamedNode(RDFS + "subPropertyOf")
    inverse = ox.NamedNode(OWL + "inverseOf")
    forward: set[Any] = set()
    todo = [ox.NamedNode(iri)]
    while todo and len(forward) <= MAX_REACH:
        p = todo.pop()
        if p not in forward:
            forward.add(p)
            todo += [s for s in view.subjects(sub_property, p) if isinstance(s, ox.NamedNode)]
    backward: set[Any] = set()
    for p in forward:
        backward |= {o for o in view.objects(p, inverse) if isinstance(o, ox.NamedNode)}
        backward |= {s for s in view.subjects(inverse, p) if isinstance(s, ox.NamedNode)}
    return forward, backward


def _touched(batch: Any, forward: set[Any], backward: set[Any]) -> set[Any]:
    """The lower end of every edge the batch states."""
    nodes: set[Any] = set()
    for quad in batch.quads_for_pattern(None, None, None, None):
        if quad.predicate in forward:
            nodes.add(quad.subject)
        elif quad.predicate in backward:
            nodes.add(quad.object)
    return nodes


def _step(
    view: _Union, node: Any, forward: set[Any], backward: set[Any], *, up: bool, symmetric: bool
) -> Iterator[Any]:
    for p in forward:
        if up or symmetric:
            yield from view.objects(node, p)
        if not up or symmetric:
            yield from view.subjects(p, node)
    for p in backward:
        if up or symmetric:
            yield from view.subjects(p, node)
        if not up or symmetric:
            yield from view.objects(node, p)


def _walk(
    start: Any, step: Any, *, max_nodes: float = float("inf"), max_levels: float = float("inf")
) -> tuple[set[Any], int]:
    """Breadth-first from ``start``: (the nodes reached, how many levels deep), stopping once
    more than ``max_nodes`` nodes or ``max_levels`` levels are found."""
    seen = {start}
    frontier = [start]
    levels = 0
    while frontier and len(seen) - 1 <= max_nodes and levels <= max_levels:
        following = []
        for node in frontier:
            for found in step(node):
                if found not in seen:
                    seen.add(found)
                    following.append(found)
        frontier = following
        levels += 1 if following else 0
    seen.discard(start)
    return seen, levels


def _check_node(
    view: _Union,
    start: Any,
    iri: str,
    forward: set[Any],
    backward: set[Any],
    symmetric: bool,
    source: str | None,
) -> None:
    # Everything ``start`` reaches (it gains all of it in the closure), and the levels below
    # it (each node there reaches at least its path up to ``start`` and all ``start``
    # reaches). Both walks stop as soon as they pass the bound.
    up, _ = _walk(
        start,
        lambda n: _step(view, n, forward, backward, up=True, symmetric=symmetric),
        max_nodes=MAX_REACH,
    )
    depth = 0
    if not symmetric and len(up) <= MAX_REACH:
        _, depth = _walk(
            start,
            lambda n: _step(view, n, forward, backward, up=False, symmetric=False),
            max_levels=MAX_REACH - len(up),
        )
    if len(up) + depth > MAX_REACH:
        name = shorten(start.value) if hasattr(start, "value") else str(start)
        raise LimitError(
            f"the batch makes a {shorten(iri)} chain through {name} longer than {MAX_REACH} "
            "nodes; its closure would grow with the square of the chain, so kgraph refuses it "
            "(place hierarchies are shallow; see 'Adding triples' in the README)",
            path=source,
        )
