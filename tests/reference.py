"""pySHACL as the reference engine, shared by test_shapes and test_shacl_compiled.

Both compare kgraph with pySHACL on the whole merged graph (ontology + data + one fixture of
tests/data/shapes): test_shapes its fixture expectation and kgraph's report, test_shacl_compiled
the compiled engine's findings. That run takes seconds; ``fixture_reference`` makes it once per
fixture per test process. (``make test`` runs pytest-xdist workers with ``--dist loadfile``,
so the two files may run in two workers and each make the runs, in parallel: pytest 9.2
no longer lets pytest-xdist 3.8 rename a test's node id, so ``--dist loadgroup`` does not
keep an ``xdist_group`` together.)

pySHACL hands rdflib the text of a SPARQL-based constraint once per focus node, with the node
as an initial binding, and rdflib parses and translates the same text each time: about half
of a whole-graph run. ``prepared_queries`` translates each text once, as rdflib's own
``prepareQuery`` does for a caller that reuses a query; the evaluation, and so the
reference's results, are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

Key = tuple[str, str | None, str | None, str, str, str, str | None]
"""(focus, path, value, component, shape, severity, sourceConstraint)."""


@cache
def canonical(term: str | None) -> str | None:
    """A term's N-Triples form after Oxigraph's canonicalisation of literals.

    Both sides rewrite lexical forms: rdflib reads "...Z"^^xsd:dateTime as "...+00:00" and
    "x"^^xsd:string as a string with a datatype; Oxigraph's store keeps 3.0 as "3"^^xsd:decimal
    and "x"^^xsd:string as "x". One canonical form makes the results comparable.
    """
    import pyoxigraph as ox

    if term is None:
        return None
    parsed = next(
        iter(ox.parse(f"<urn:s> <urn:p> {term} .".encode(), format=ox.RdfFormat.N_TRIPLES))
    )
    store = ox.Store()
    store.add(ox.Quad(parsed.subject, parsed.predicate, parsed.object))
    return str(next(iter(store)).object)


def key(finding: Any) -> Key:
    return (
        finding.focus,
        finding.path,
        canonical(finding.value),
        finding.component,
        finding.shape,
        finding.severity,
        finding.constraint,
    )


# -- the shipped project, parsed once ----------------------------------------------------------


@cache
def project_files() -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """(graph IRI, parsed quads) of every ontology and data file, shapes excluded."""
    import pyoxigraph as ox

    files = [p for p in sorted((ROOT / "ontology").glob("*.ttl")) if p.name != "shapes.ttl"]
    files += sorted((ROOT / "data").glob("*.ttl"))
    out = []
    for path in files:
        graph = "urn:kgraph:test:" + path.relative_to(ROOT).as_posix()
        quads = ox.parse(path=path, format=ox.RdfFormat.TURTLE, base_iri=path.as_uri())
        out.append((graph, tuple(quads)))
    return tuple(out)


@cache
def shape_index() -> Any:
    from kgraph.shacl.index import load_shapes

    path = ROOT / "ontology" / "shapes.ttl"
    return load_shapes(path.read_bytes(), name="ontology/shapes.ttl", max_depth=64)


def ontology_quads() -> list[Any]:
    return [q for g, qs in project_files() if g.startswith("urn:kgraph:test:ontology/") for q in qs]


def data_quads() -> list[Any]:
    return [q for g, qs in project_files() if g.startswith("urn:kgraph:test:data/") for q in qs]


def turtle_quads(path: Path | None = None, text: str | None = None) -> list[Any]:
    """The quads of a Turtle file or text, literals as written (Oxigraph's parser)."""
    import pyoxigraph as ox

    if path is not None:
        return list(ox.parse(path=path, format=ox.RdfFormat.TURTLE, base_iri=path.as_uri()))
    return list(ox.parse((text or "").encode(), format=ox.RdfFormat.TURTLE))


@cache
def _base_graph() -> tuple[Any, frozenset[Any]]:
    from kgraph.convert import graph_of

    return graph_of([*ontology_quads(), *data_quads()]), frozenset(data_quads())


@contextmanager
def rdflib_graph(data: Sequence[Any]) -> Iterator[Any]:
    """The rdflib graph of ontology + ``data``, literals as parsed.

    A batch changes a triple or two of the shipped data: the shipped graph, built once, is
    changed in place for the duration and restored after (a copy of its 3,000 triples costs
    more than pySHACL's run on a few focus nodes). pySHACL only reads it: no inference is
    asked for, and the shapes have no sh:rule; the restored graph is checked to be whole.
    """
    from kgraph.convert import graph_of, triples_to_rdflib

    base, shipped = _base_graph()
    now = set(data)
    if len(shipped - now) > 50:
        yield graph_of([*ontology_quads(), *data])
        return
    size = len(base)
    onto = set(ontology_quads())
    gone = [t for t in triples_to_rdflib([q for q in shipped - now if q not in onto]) if t in base]
    new = [t for t in triples_to_rdflib(now - shipped) if t not in base]
    for triple in gone:
        base.remove(triple)
    for triple in new:
        base.add(triple)
    try:
        yield base
    finally:
        for triple in new:
            base.remove(triple)
        for triple in gone:
            base.add(triple)
        assert len(base) == size, "the shipped rdflib graph was changed"


# -- pySHACL -----------------------------------------------------------------------------------


_PREPARED: dict[tuple[str, str | None, tuple[tuple[str, Any], ...]], Any] = {}
"""Translated SPARQL, by (text, base, prefixes): rdflib's Query, which evaluation only reads."""


@contextmanager
def prepared_queries() -> Iterator[None]:
    """rdflib translates each SPARQL text once while inside (see the module docstring)."""
    from rdflib.plugins.sparql import processor
    from rdflib.plugins.sparql.sparql import Query

    original = processor.SPARQLProcessor.query
    prepared = _PREPARED

    def query(
        self: Any,
        strOrQuery: str | Query,  # rdflib's names, kept for its callers
        initBindings: Mapping[str, Any] | None = None,
        initNs: Mapping[str, Any] | None = None,
        base: str | None = None,
        DEBUG: bool = False,
    ) -> Mapping[str, Any]:
        if isinstance(strOrQuery, str):
            # The translation depends on the text, the base and the prefixes in scope.
            name = (strOrQuery, base, tuple(sorted((initNs or {}).items())))
            if name not in prepared:
                prepared[name] = processor.translateQuery(
                    processor.parseQuery(strOrQuery), base, initNs
                )
            strOrQuery = prepared[name]
        return original(self, strOrQuery, initBindings, initNs, base, DEBUG)

    processor.SPARQLProcessor.query = query  # type: ignore[method-assign]
    try:
        yield
    finally:
        processor.SPARQLProcessor.query = original  # type: ignore[method-assign]


def pyshacl_findings(graph: Any, shapes: Any | None = None) -> list[Any]:
    """pySHACL's findings (kgraph's Finding) on an rdflib graph (``rdflib_graph``: literals
    as parsed); ``shapes`` (an rdflib graph) instead of the shipped shapes."""
    import pyshacl

    from kgraph.shacl.engine import _findings

    with prepared_queries():
        _, results, _ = pyshacl.validate(
            graph,
            shacl_graph=shape_index().graph if shapes is None else shapes,
            advanced=True,
            inplace=True,
            allow_warnings=True,
            allow_infos=True,
        )
    return list(_findings(results))


@cache
def fixture_reference(path: Path) -> tuple[Any, ...]:
    """pySHACL's findings on the shipped graph with the fixture file ``path`` added: once."""
    with rdflib_graph([*data_quads(), *turtle_quads(path)]) as graph:
        return tuple(pyshacl_findings(graph))


def focus_reference(data: Sequence[Any], focus: Iterable[Any]) -> list[Any]:
    """pySHACL's findings on ``data`` for the ``focus`` nodes only (see ``narrowed``)."""
    from kgraph.convert import to_rdflib

    with rdflib_graph(data) as graph:
        shapes = narrowed(shape_index().graph, graph, {to_rdflib(n) for n in focus})
        return pyshacl_findings(graph, shapes)


TARGETS = ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf")


def narrowed(shapes: Any, data: Any, focus: set[Any]) -> Any:
    """A copy of the shapes whose targets are only the ``focus`` nodes they targeted.

    pySHACL's own ``focus_nodes`` option also filters the value nodes that nested shapes are
    checked on (so ``sh:qualifiedValueShape`` on labels sees none, validation.py says) and
    refuses literals; naming the targets with ``sh:targetNode`` keeps its semantics.
    """
    from rdflib import RDF, RDFS, Graph, URIRef

    def sh(local: str) -> URIRef:
        return URIRef("http://www.w3.org/ns/shacl#" + local)

    out = Graph()
    for triple in shapes:
        if triple[1] not in {sh(t) for t in TARGETS}:
            out.add(triple)
    for local in TARGETS:
        for shape, value in shapes.subject_objects(sh(local)):
            if local == "targetClass":
                classes = set(data.transitive_subjects(RDFS.subClassOf, value))
                nodes = {n for c in classes for n in data.subjects(RDF.type, c)}
            elif local == "targetNode":
                nodes = {value}
            elif local == "targetSubjectsOf":
                nodes = set(data.subjects(value, None))
            else:
                nodes = set(data.objects(None, value))
            for node in nodes & focus:
                out.add((shape, sh("targetNode"), node))
    return out
