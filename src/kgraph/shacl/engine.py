"""SHACL validation with pySHACL, on bounded neighbourhoods of the focus nodes.

pySHACL is handed an rdflib graph that holds, for a set of focus nodes, exactly the
triples the shapes read from them (see :mod:`kgraph.shacl.index`) plus the ontology (for
``rdfs:subClassOf`` in targets and ``sh:class``), and validates those focus nodes only.

* ``validate`` (the whole graph) runs over every target node in chunks, so memory stays
  bounded however big the graph grows;
* ``validate_batch`` (``kgraph add``) finds the nodes a batch can affect, validates them
  with and without the batch, and reports only the violations the batch introduces.

A shapes file with a global shape (unbounded path, SPARQL without ``kg:reads``) makes
both fall back to pySHACL over the whole graph; the report says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kgraph.errors import InputError
from kgraph.limits import fork_map
from kgraph.namespaces import RDF, RDFS, SH, SKOLEM
from kgraph.shacl.index import ReadPath, ShapeIndex
from kgraph.shacl.model import Finding, Report, ValidationMode
from kgraph.shacl.sparql import evaluate

if TYPE_CHECKING:
    from kgraph.store import Dataset

_TYPE_EDGE = (RDF + "type", False)

CHUNK = 4000
"""Focus nodes validated per pySHACL call when validating a whole graph."""


@dataclass
class _Scope:
    """The graphs a validation sees: graphs of the dataset's store, and of an overlay store
    (a batch being added, kept out of the dataset until it is accepted)."""

    dataset: Dataset
    graphs: list[str]
    overlay: Any = None
    overlay_graphs: list[str] = field(default_factory=list)
    _parts: list[tuple[Any, set[Any]]] = field(default_factory=list)
    _hierarchy: list[Any] | None = None
    _ontology: list[Any] | None = None

    def __post_init__(self) -> None:
        import pyoxigraph as ox

        self._parts = [(self.dataset.store, {ox.NamedNode(g) for g in self.graphs})]
        if self.overlay is not None:
            self._parts.append((self.overlay, {ox.NamedNode(g) for g in self.overlay_graphs}))

    @property
    def ontology_graphs(self) -> list[str]:
        return [s.graph for s in self.dataset.sources if s.relative.startswith("ontology/")]

    def class_hierarchy(self) -> list[Any]:
        """Every rdfs:subClassOf triple the scope holds, wherever it was declared (SHACL
        targets and sh:class follow them: SHACL 1.0 §3.2), computed once per scope."""
        if self._hierarchy is None:
            import pyoxigraph as ox

            self._hierarchy = list(self.match(None, ox.NamedNode(RDFS + "subClassOf"), None))
        return self._hierarchy

    def ontology_quads(self) -> list[Any]:
        """The quads of the project's ontology files (whatever graphs the scope sees),
        read once per scope."""
        if self._ontology is None:
            self._ontology = list(self.dataset.quads(self.ontology_graphs))
        return self._ontology

    def with_overlay(self, overlay: Any, overlay_graphs: Sequence[str]) -> _Scope:
        """This scope and the ``overlay_graphs`` of ``overlay``, reusing what this one read
        of the dataset (the ontology, the class hierarchy): a batch's graph before and
        after it then reads them from the store once, not twice (on an on-disk store
        every term is decoded from RocksDB: the ontology's 900 quads cost 40 ms a read)."""
        import pyoxigraph as ox

        after = _Scope(self.dataset, list(self.graphs), overlay, list(overlay_graphs))
        after._ontology = self.ontology_quads()
        # The hierarchy as match() walks the parts: the dataset's, then the overlay's.
        added = _Scope(self.dataset, [], overlay, list(overlay_graphs))
        sub = ox.NamedNode(RDFS + "subClassOf")
        after._hierarchy = self.class_hierarchy() + list(added.match(None, sub, None))
        return after

    def match(self, s: Any, p: Any, o: Any) -> Iterable[Any]:
        import pyoxigraph as ox

        if isinstance(s, ox.Literal):
            return  # a literal focus node (sh:targetObjectsOf) is the subject of nothing
        for store, names in self._parts:
            if not names:
                continue
            for quad in store.quads_for_pattern(s, p, o, None):
                if quad.graph_name in names:
                    yield quad

    def all_quads(self) -> Iterable[Any]:
        yield from self.match(None, None, None)


def validate(dataset: Dataset, shapes: ShapeIndex, graphs: Sequence[str]) -> Report:
    """Validate every target node of ``graphs`` against the shapes."""
    scope = _Scope(dataset, list(graphs))
    if not shapes.is_local:
        return _whole_graph(scope, shapes)
    focus = sorted(_targets(scope, shapes), key=str)
    chunks = [focus[start : start + CHUNK] for start in range(0, len(focus), CHUNK)]

    def check(chunk: list[Any]) -> list[Finding]:
        return _run(_neighbourhood(scope, shapes, chunk), shapes, chunk)

    # pySHACL is pure Python: one process per core. Forking is safe for an in-memory
    # store (no background threads); an on-disk store's RocksDB threads are not, so it
    # is validated in this process.
    workers = 1 if dataset.store_dir is not None else min(len(chunks), os.cpu_count() or 1)
    findings = [f for part in fork_map(check, chunks, workers) for f in part]
    return Report(tuple(findings), len(focus), ValidationMode.CHUNKED)


def validate_batch(
    dataset: Dataset, shapes: ShapeIndex, base: Sequence[str], overlay: Any, batch: Sequence[str]
) -> Report:
    """Validate the graph with the batch (held in ``overlay``), reporting only what the
    batch introduces: violations at the affected nodes that were not there before."""
    before = _Scope(dataset, list(base))
    after = before.with_overlay(overlay, batch)
    if not shapes.is_local:
        old = {f.key for f in _whole_graph(before, shapes).findings}
        report = _whole_graph(after, shapes)
        new = tuple(f for f in report.findings if f.key not in old)
        return Report(
            new, report.focus_nodes, ValidationMode.WHOLE_GRAPH, report.global_shapes, len(old)
        )
    focus = sorted(_affected(after, shapes, _Scope(dataset, [], overlay, list(batch))), key=str)
    if not focus:
        return Report((), 0, ValidationMode.INCREMENTAL)
    old_findings = _run(_neighbourhood(before, shapes, focus), shapes, focus)
    old = {f.key for f in old_findings}
    fresh = [
        f for f in _run(_neighbourhood(after, shapes, focus), shapes, focus) if f.key not in old
    ]
    return Report(
        tuple(fresh),
        len(focus),
        ValidationMode.INCREMENTAL,
        preexisting=sum(f.is_violation for f in old_findings),
    )


def validate_removal(dataset: Dataset, shapes: ShapeIndex, graph: str) -> Report:
    """The violations that taking ``graph`` out of the dataset would introduce."""
    everything = dataset.asserted_graphs()
    before = _Scope(dataset, everything)
    after = _Scope(dataset, [g for g in everything if g != graph])
    if not shapes.is_local:
        old = {f.key for f in _whole_graph(before, shapes).findings}
        report = _whole_graph(after, shapes)
        return Report(
            tuple(f for f in report.findings if f.key not in old),
            report.focus_nodes,
            ValidationMode.WHOLE_GRAPH,
            report.global_shapes,
        )
    focus = sorted(_affected(before, shapes, _Scope(dataset, [graph])), key=str)
    if not focus:
        return Report((), 0, ValidationMode.INCREMENTAL)
    old = {f.key for f in _run(_neighbourhood(before, shapes, focus), shapes, focus)}
    new = [f for f in _run(_neighbourhood(after, shapes, focus), shapes, focus) if f.key not in old]
    return Report(tuple(new), len(focus), ValidationMode.INCREMENTAL)


def _targets(scope: _Scope, shapes: ShapeIndex) -> set[Any]:
    """Every node some shape targets (SHACL 1.0 §2.1.3), over the scope's graphs."""
    import pyoxigraph as ox

    nodes: set[Any] = set()
    if shapes.target_classes:
        nodes |= _instances(scope, [ox.NamedNode(c) for c in shapes.target_classes])
    for node in shapes.target_nodes:
        from kgraph.convert import from_rdflib

        nodes.add(from_rdflib(node))
    for predicate in shapes.subjects_of:
        nodes |= {q.subject for q in scope.match(None, ox.NamedNode(predicate), None)}
    for predicate in shapes.objects_of:
        # Literal objects too: sh:targetObjectsOf targets every object (SHACL 1.0 §2.1.3.5).
        nodes |= {q.object for q in scope.match(None, ox.NamedNode(predicate), None)}
    return nodes


def _affected(after: _Scope, shapes: ShapeIndex, batch: _Scope) -> set[Any]:
    """The nodes whose validation result the batch's triples can change.

    A node is affected when one of its read paths ends in a batch triple: walk each read
    path backwards from the triple to the nodes it starts from.
    """
    import pyoxigraph as ox

    affected: set[Any] = set()
    by_edge: dict[tuple[str, bool], list[tuple[ReadPath, int]]] = {}
    for path in shapes.reads:
        for i, edge in enumerate(path):
            by_edge.setdefault(edge, []).append((path, i))
    sub_class_of = RDFS + "subClassOf"
    for quad in batch.all_quads():
        affected.add(quad.subject)
        if quad.predicate.value == sub_class_of:
            # A subclass axiom changes the classes of every instance below it: as if each
            # of their rdf:type triples had changed, for the targets (the instance itself)
            # and for every read path that ends in rdf:type (sh:class, also under sh:not
            # and sh:qualifiedValueShape) from the nodes that reach the instance.
            instances = _instances(after, [quad.subject])
            affected |= instances
            for path, i in by_edge.get(_TYPE_EDGE, ()):
                for instance in instances:
                    affected |= _walk_back(after, instance, path[:i])
        for inverse, node in ((False, quad.subject), (True, quad.object)):
            if isinstance(node, ox.Literal):
                continue
            for path, i in by_edge.get((quad.predicate.value, inverse), ()):
                affected |= _walk_back(after, node, path[:i])
    # A literal is a focus node only as the object of a sh:targetObjectsOf predicate (a
    # literal sh:targetNode is there with or without the batch).
    literals = {
        q.object
        for predicate in shapes.objects_of
        for q in batch.match(None, ox.NamedNode(predicate), None)
        if isinstance(q.object, ox.Literal)
    }
    return {n for n in affected if not isinstance(n, ox.Literal)} | literals


def _instances(scope: _Scope, roots: Iterable[Any]) -> set[Any]:
    """Instances of the ``roots`` classes and of their subclasses, as the scope (overlay
    included) declares them."""
    import pyoxigraph as ox

    rdf_type, sub = ox.NamedNode(RDF + "type"), ox.NamedNode(RDFS + "subClassOf")
    classes = set(roots)
    frontier = list(classes)
    while frontier:
        for quad in scope.match(None, sub, frontier.pop()):
            if quad.subject not in classes:
                classes.add(quad.subject)
                frontier.append(quad.subject)
    return {q.subject for c in classes for q in scope.match(None, rdf_type, c)}


def _walk_back(scope: _Scope, node: Any, edges: ReadPath) -> set[Any]:
    import pyoxigraph as ox

    frontier = {node}
    for predicate, inverse in reversed(edges):
        step: set[Any] = set()
        p = ox.NamedNode(predicate)
        for n in frontier:
            if inverse:  # the path went n' <-p- n ... so from n go forward
                step |= {q.object for q in scope.match(n, p, None)}
            else:
                step |= {q.subject for q in scope.match(None, p, n)}
        frontier = {n for n in step if not isinstance(n, ox.Literal)}
    return frontier


def _neighbourhood(scope: _Scope, shapes: ShapeIndex, focus: Sequence[Any]) -> list[Any]:
    """The ontology, the focus nodes' triples and the triples along their read paths."""
    import pyoxigraph as ox

    quads: list[Any] = list(scope.ontology_quads())
    quads += scope.class_hierarchy()
    for node in focus:
        quads.extend(scope.match(node, None, None))
    trie = _trie(shapes.reads)
    for node in focus:
        _follow(scope, node, trie, quads)
    return [q for q in quads if not isinstance(q.subject, ox.Triple)]


def _trie(paths: Iterable[ReadPath]) -> dict[Any, Any]:
    root: dict[Any, Any] = {}
    for path in paths:
        level = root
        for edge in path:
            level = level.setdefault(edge, {})
    return root


def _follow(scope: _Scope, node: Any, trie: dict[Any, Any], out: list[Any]) -> None:
    import pyoxigraph as ox

    for (predicate, inverse), rest in trie.items():
        p = ox.NamedNode(predicate)
        matches = list(scope.match(None, p, node) if inverse else scope.match(node, p, None))
        out.extend(matches)
        if rest:
            for quad in matches:
                nxt = quad.subject if inverse else quad.object
                if not isinstance(nxt, ox.Literal):
                    _follow(scope, nxt, rest, out)


def _whole_graph(scope: _Scope, shapes: ShapeIndex) -> Report:
    findings = _run(list(scope.all_quads()), shapes, None)
    # Nodes checked: the targets kgraph can enumerate, plus any other node a finding is on
    # (a SPARQL-based target only pySHACL evaluates).
    checked = {str(node) for node in _targets(scope, shapes)} | {f.focus for f in findings}
    return Report(
        tuple(findings),
        len(checked),
        ValidationMode.WHOLE_GRAPH,
        tuple(sorted(shapes.global_shapes)),
    )


def _run(quads: list[Any], shapes: ShapeIndex, focus: Sequence[Any] | None) -> list[Finding]:
    """Validate ``focus`` (every target when None) on exactly the given triples.

    pySHACL validates every target in the neighbourhood and only the focus nodes' results
    are kept: its own ``focus_nodes`` option also filters the value nodes that nested
    shapes (``sh:qualifiedValueShape``, ``sh:node``) are checked on, and so drops every
    literal, and with it the check for an English label.
    """
    import dataclasses

    import pyoxigraph as ox

    from kgraph.convert import graph_of

    # pySHACL sees kgraph's skolem IRIs as the blank nodes they were in the source
    # (`kg:about []` is no sh:IRI), and its findings name them by those IRIs again, which
    # is what the report locates and what the other runs of a batch compare.
    blank, named = _unskolemised(quads)
    findings = _pyshacl(graph_of(blank), shapes)
    if named:
        findings = [
            dataclasses.replace(
                f,
                focus=named.get(f.focus, f.focus),
                value=None if f.value is None else named.get(f.value, f.value),
            )
            for f in findings
        ]
    if focus is not None:
        wanted = {str(n) for n in focus}
        findings = [f for f in findings if f.focus in wanted]
    if shapes.sparql:
        store = ox.Store()
        store.extend(ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads)
        nodes = focus if focus is not None else {q.subject for q in quads}
        findings += evaluate(store, shapes.sparql, nodes)
    findings.sort(key=lambda f: (f.focus, f.shape, f.path or "", f.value or "", f.constraint or ""))
    return findings


def _unskolemised(quads: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """The quads with each IRI of kgraph's skolem namespace as a blank node, and each such
    blank node's N-Triples form -> its IRI's."""
    import pyoxigraph as ox

    labels: dict[Any, Any] = {}
    named: dict[str, str] = {}

    def blank(term: Any) -> Any:
        if not isinstance(term, ox.NamedNode) or not term.value.startswith(SKOLEM):
            return term
        node = labels.get(term)
        if node is None:
            node = labels[term] = ox.BlankNode(f"sk{len(labels)}")
            named[str(node)] = str(term)
        return node

    out = []
    for q in quads:
        subject, obj = blank(q.subject), blank(q.object)
        out.append(
            q
            if subject is q.subject and obj is q.object
            else ox.Quad(subject, q.predicate, obj, q.graph_name)
        )
    return out, named


def _pyshacl(graph: Any, shapes: ShapeIndex) -> list[Finding]:
    import pyshacl
    from pyshacl.errors import ReportableRuntimeError, ShapeLoadError, ValidationFailure

    try:
        _, results, _ = pyshacl.validate(
            graph,
            shacl_graph=shapes.core_graph,
            advanced=True,
            inplace=True,  # the graph is ours, built for this call
            allow_warnings=True,
            allow_infos=True,
            do_owl_imports=False,
        )
    except (ShapeLoadError, ReportableRuntimeError, ValidationFailure) as err:
        # A broken shape is the shapes file's fault, not the data's (never 'conforms=False').
        raise InputError(f"the shapes cannot be used: {err}", path="ontology/shapes.ttl") from err
    if not hasattr(results, "subjects"):  # pySHACL returns its failure instead of raising it
        raise InputError(f"the shapes cannot be used: {results}", path="ontology/shapes.ttl")
    return _findings(results)


def _findings(results: Any) -> list[Finding]:
    from rdflib import RDF as R
    from rdflib import URIRef

    from kgraph.convert import from_rdflib

    def one(node: Any, local: str) -> Any:
        return results.value(node, URIRef(SH + local))

    findings = []
    top_level = [
        result
        for report in results.subjects(R.type, URIRef(SH + "ValidationReport"))
        for result in results.objects(report, URIRef(SH + "result"))
    ]
    for result in top_level:
        path = one(result, "resultPath")
        value = one(result, "value")
        severity = str(one(result, "resultSeverity") or SH + "Violation").removeprefix(SH)
        constraint = one(result, "sourceConstraint")
        findings.append(
            Finding(
                constraint=f"<{constraint}>" if isinstance(constraint, URIRef) else None,
                focus=str(from_rdflib(one(result, "focusNode"))),
                path=_path_text(results, path),
                value=None if value is None else str(from_rdflib(value)),
                message=str(one(result, "resultMessage") or ""),
                severity=severity,
                shape=_shape_name(one(result, "sourceShape")),
                component=str(one(result, "sourceConstraintComponent") or "").removeprefix(SH),
            )
        )
    return findings


def _shape_name(node: Any) -> str:
    from rdflib import URIRef

    return f"<{node}>" if isinstance(node, URIRef) else "(anonymous shape)"


def _path_text(graph: Any, path: Any) -> str | None:
    """A result path: ``<iri>`` for a predicate, a SPARQL-like path otherwise."""
    from rdflib import BNode, URIRef

    if path is None:
        return None
    if isinstance(path, URIRef):
        return f"<{path}>"
    if isinstance(path, BNode):
        inverse = graph.value(path, URIRef(SH + "inversePath"))
        if inverse is not None:
            return f"^{_path_text(graph, inverse)}"
        alternatives = graph.value(path, URIRef(SH + "alternativePath"))
        if alternatives is not None:
            return (
                "(" + "|".join(_path_text(graph, m) or "" for m in graph.items(alternatives)) + ")"
            )
        members = list(graph.items(path))
        if members:
            return "/".join(_path_text(graph, m) or "" for m in members)
    return str(path)
