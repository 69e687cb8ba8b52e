"""Validation of a project's dataset with the compiled engine (``compiled``), the default.

The same three entry points as ``engine`` (the pySHACL reference), with the same reports:

* ``validate``: every target node of the graph, in one pass of SPARQL over the store;
* ``validate_batch`` / ``validate_removal``: the nodes a batch (or its removal) can affect,
  found by ``engine._affected``, validated on their bounded neighbourhood with and without
  the batch; only what the batch introduces is reported.

Shapes the compiler leaves over go to pySHACL for exactly those shapes (the other shapes'
targets are taken out of the copy pySHACL is given), and the report names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kgraph.namespaces import RDFS, SH
from kgraph.shacl import engine as reference
from kgraph.shacl.index import ShapeIndex, analyse
from kgraph.shacl.model import Finding, Report, ValidationMode

if TYPE_CHECKING:
    from kgraph.shacl.compiled import CompiledShapes
    from kgraph.shacl.endpoint import EndpointStore
    from kgraph.shacl.evaluation import Progress
    from kgraph.shacl.literals import ExactLiterals
    from kgraph.store import Dataset

TARGET_PREDICATES = ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "target")


def _compiled(shapes: ShapeIndex) -> CompiledShapes:
    from kgraph.shacl.compiled import compile_shapes

    # Kept on the index itself (made once per index, or remembered: kgraph.shapecache).
    if shapes.compiled is None:
        shapes.compiled = compile_shapes(shapes.graph)
    return shapes.compiled


def _left(shapes: ShapeIndex) -> tuple[str, ...]:
    """Every shape pySHACL validates: left over by the compiler, or given up on in a run."""
    compiled = _compiled(shapes)
    return tuple(sorted(compiled.left.keys() | compiled.failed.keys()))


def _leftover(shapes: ShapeIndex) -> ShapeIndex | None:
    """The shape index of only the shapes left to pySHACL (None: none left), as they are
    now: called after a run, it includes the shapes that run gave up on."""
    compiled = _compiled(shapes)
    # On the index itself, by the names left over: a shape given up on during a run
    # (CompiledShapes.failed) joins them, and the index is made anew once. (Not in a dict
    # by id(shapes): nothing would hold the index, and a later one could reuse its id.)
    key = frozenset(_left(shapes))
    if key not in shapes.leftovers:
        shapes.leftovers[key] = _untargeted(shapes, compiled)
    return shapes.leftovers[key]


def _untargeted(shapes: ShapeIndex, compiled: CompiledShapes) -> ShapeIndex | None:
    from rdflib import RDF as R
    from rdflib import Graph, URIRef

    if not compiled.left and not compiled.failed:
        return None
    graph = Graph()
    for triple in shapes.graph:
        graph.add(triple)
    for shape in compiled.top:
        if shape.node.n3() in compiled.failed:
            continue
        # Untargeted, a compiled shape is still there for the left shapes that nest it.
        for local in TARGET_PREDICATES:
            graph.remove((shape.node, URIRef(SH + local), None))
        graph.remove((shape.node, R.type, URIRef(RDFS + "Class")))
    rest = analyse(graph)
    if compiled.failed:
        # A shape given up on because Oxigraph failed on it goes to pySHACL itself, SPARQL
        # constraints included: the reference's own Oxigraph path (shacl/sparql.py) would
        # fail on them as well.
        failed = {str(s.node) for s in compiled.top if s.node.n3() in compiled.failed}
        back = [c for c in rest.sparql if c.shape in failed]
        rest.sparql = [c for c in rest.sparql if c.shape not in failed]
        for constraint in back:
            rest.core_graph.add(
                (URIRef(constraint.shape), URIRef(SH + "sparql"), URIRef(constraint.constraint))
            )
    return rest


def _graph_names(graphs: Sequence[str]) -> list[Any]:
    import pyoxigraph as ox

    return [ox.NamedNode(g) for g in graphs]


def validate(
    dataset: Dataset,
    shapes: ShapeIndex,
    graphs: Sequence[str],
    exact: ExactLiterals | None = None,
    progress: Progress | None = None,
) -> Report:
    """Validate every target node of ``graphs`` against the shapes (``progress(done,
    total)`` as the compiled shapes are evaluated)."""
    findings, _ = _compiled(shapes).validate(
        dataset.store, _graph_names(graphs), exact_literals=exact, progress=progress
    )
    # After the run: a shape it gave up on is validated by pySHACL here, never only named.
    rest = _leftover(shapes)
    if rest is not None:
        findings += reference.validate(dataset, rest, graphs).findings
    checked = _checked(dataset, shapes, graphs, {f.focus for f in findings})
    return Report(tuple(findings), checked, ValidationMode.COMPILED, pyshacl_shapes=_left(shapes))


# The most finding focus nodes looked up in the store by one query; past it, the targets are
# collected here.
_FOCI_MAX = 1000


def _checked(dataset: Dataset, shapes: ShapeIndex, graphs: Sequence[str], foci: set[str]) -> int:
    """How many nodes were checked: every node some shape targets (SHACL 1.0 §2.1.3) and the
    focus node of every finding. Counted in the store, not collected here (at 1M: 250k
    target quads brought into Python, 0.4 s), where the targets can be written as a SPARQL
    pattern (IRIs as sh:targetNode) and the findings' focus nodes as constants."""
    import pyoxigraph as ox

    pattern = _targets_pattern(shapes)
    names = _graph_names(graphs)
    if (
        pattern is None
        or not names
        or len(foci) > _FOCI_MAX
        or not all(f.startswith("<") for f in foci)  # IRIs: literal or blank foci are rare
    ):
        scope = reference._Scope(dataset, list(graphs))
        return len({str(n) for n in reference._targets(scope, shapes)} | foci)

    def solutions(text: str) -> Any:
        found = dataset.store.query(text, default_graph=names)
        assert isinstance(found, ox.QuerySolutions)
        return found

    count = int(
        next(solutions(f"SELECT (COUNT(DISTINCT ?this) AS ?n) WHERE {{ {pattern} }}"))["n"].value
    )
    if foci:
        # The findings' focus nodes that are not targets (none, as the shapes stand): added.
        known = solutions(
            f"SELECT DISTINCT ?this WHERE {{ VALUES ?this {{ {' '.join(foci)} }} {pattern} }}"
        )
        count += len(foci) - sum(1 for _ in known)
    return count


def _targets_pattern(shapes: ShapeIndex) -> str | None:
    """The SPARQL group binding ?this to every node the shapes target, as
    ``engine._targets`` finds them (None: a target node that is not an IRI)."""
    import pyoxigraph as ox
    from rdflib import URIRef

    if any(not isinstance(n, URIRef) for n in shapes.target_nodes):
        return None
    try:
        classes = sorted(str(ox.NamedNode(str(c))) for c in shapes.target_classes)
        nodes = sorted(str(ox.NamedNode(str(n))) for n in shapes.target_nodes)
        subjects = sorted(str(ox.NamedNode(p)) for p in shapes.subjects_of)
        objects = sorted(str(ox.NamedNode(p)) for p in shapes.objects_of)
    except ValueError:  # not an IRI Oxigraph accepts
        return None
    parts = [f"{{ ?kgraph_c <{RDFS}subClassOf>* {c} . ?this a ?kgraph_c }}" for c in classes]
    parts += [f"{{ VALUES ?this {{ {n} }} }}" for n in nodes]
    parts += [f"{{ ?this {p} ?kgraph_o }}" for p in subjects]
    parts += [f"{{ ?kgraph_s {p} ?this }}" for p in objects]
    return " UNION ".join(parts) or "FILTER(false)"


def validate_endpoint(
    store: EndpointStore, shapes: ShapeIndex, progress: Progress | None = None
) -> Report:
    """``validate`` with the compiled queries answered by a remote store (its default
    graph: the union of the project's graphs). Shapes a SPARQL endpoint cannot check (left
    to pySHACL, or needing Oxigraph's pre-binding) are refused (UsageError, naming them)
    before anything is sent, and any shape whose queries fail to evaluate after."""
    from kgraph.shacl.endpoint import (
        check_default_graph,
        count_checked,
        prebound_only,
        refuse_left,
    )

    compiled = _compiled(shapes)
    # A shape an earlier run in this process gave up on is left over as well.
    refuse_left({**compiled.left, **compiled.failed}, store.endpoint, prebound_only(compiled))
    check_default_graph(store)
    findings, _ = compiled.validate(store, [], progress=progress)
    # A shape whose queries failed to evaluate (none known: the cases are found above) is
    # still named, never dropped from the verdict.
    refuse_left((), store.endpoint, failed=dict(compiled.failed))
    checked = count_checked(store, shapes, sorted({f.focus for f in findings}))
    return Report(tuple(findings), checked, ValidationMode.COMPILED)


def _on(
    quads: list[Any],
    shapes: ShapeIndex,
    focus: Sequence[Any] | None,
    exact: ExactLiterals | None,
) -> list[Finding]:
    """The compiled engine (and pySHACL for what it left) on exactly ``quads``."""
    import pyoxigraph as ox

    store = ox.Store()
    store.extend(ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads)
    findings, _ = _compiled(shapes).validate(
        store, [ox.DefaultGraph()], focus=focus, exact_literals=exact
    )
    rest = _leftover(shapes)
    if rest is not None:
        findings += reference._run(quads, rest, focus)
    return findings


def _compare(
    before: reference._Scope,
    after: reference._Scope,
    changed: reference._Scope,
    shapes: ShapeIndex,
    exact: ExactLiterals | None,
    *,
    walk_before: bool = False,
) -> tuple[list[Finding], int, int, ValidationMode]:
    """(new findings, nodes checked, violations there before, mode) of ``after`` over
    ``before`` at the nodes ``changed`` can affect (the whole graph for global shapes)."""
    compiled = _compiled(shapes)
    for _ in range(2):
        given_up = set(compiled.failed)
        if not shapes.is_local:
            # An unbounded path: any node may be affected, and the compiled engine's
            # findings name paths and blank nodes stably, so the whole graph is compared.
            old_findings = _on(list(before.all_quads()), shapes, None, exact)
            new_findings = _on(list(after.all_quads()), shapes, None, exact)
            focus_count = len({str(n) for n in reference._targets(after, shapes)})
            mode = ValidationMode.WHOLE_GRAPH
        else:
            focus = sorted(
                reference._affected(before if walk_before else after, shapes, changed), key=str
            )
            if not focus:
                return [], 0, 0, ValidationMode.INCREMENTAL
            old_findings = _on(
                reference._neighbourhood(before, shapes, focus), shapes, focus, exact
            )
            new_findings = _on(reference._neighbourhood(after, shapes, focus), shapes, focus, exact)
            focus_count = len(focus)
            mode = ValidationMode.INCREMENTAL
        if set(compiled.failed) == given_up:
            break
        # A shape was given up on in one of the two runs: both again, with pySHACL for it
        # in both, so that the two sides' findings are compared in one engine's form.
    old = {f.key for f in old_findings}
    fresh = [f for f in new_findings if f.key not in old]
    return fresh, focus_count, sum(f.is_violation for f in old_findings), mode


def validate_batch(
    dataset: Dataset,
    shapes: ShapeIndex,
    base: Sequence[str],
    overlay: Any,
    batch: Sequence[str],
    exact: ExactLiterals | None = None,
) -> Report:
    """As ``engine.validate_batch``: only the violations the batch (in ``overlay``) brings."""
    before = reference._Scope(dataset, list(base))
    after = before.with_overlay(overlay, batch)
    changed = reference._Scope(dataset, [], overlay, list(batch))
    fresh, count, preexisting, mode = _compare(before, after, changed, shapes, exact)
    return Report(
        tuple(fresh),
        count,
        mode,
        tuple(sorted(shapes.global_shapes)),
        preexisting=preexisting,
        pyshacl_shapes=_left(shapes),
    )


def validate_removal(
    dataset: Dataset, shapes: ShapeIndex, graph: str, exact: ExactLiterals | None = None
) -> Report:
    """As ``engine.validate_removal``: the violations taking ``graph`` out would introduce."""
    everything = dataset.asserted_graphs()
    before = reference._Scope(dataset, everything)
    after = reference._Scope(dataset, [g for g in everything if g != graph])
    # The nodes are found in the graph as it is (the removed triples are still there).
    removed = reference._Scope(dataset, [graph])
    fresh, count, _, mode = _compare(before, after, removed, shapes, exact, walk_before=True)
    return Report(
        tuple(fresh),
        count,
        mode,
        tuple(sorted(shapes.global_shapes)),
        pyshacl_shapes=_left(shapes),
    )
