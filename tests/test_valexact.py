"""Exactness of the compiled engine (issue 13): how many results, and validate --endpoint.

* results that agree on every reported field but come from two constraints (two blank
  sh:sparql nodes, two anonymous property shapes, two values of sh:class) or from two top
  shapes that both reach the focus node are two results, as pySHACL reports them: the
  compiled engine's findings, counted, equal pySHACL's;
* the forms sent to a remote store (no ``rdfs:subClassOf*`` joined with anything, no
  VALUES in a UNION branch, sh:in as IN with literals judged by term) give the local
  findings (the real-Virtuoso proof: test_validate_endpoint's Virtuoso test);
* validate --endpoint names the shapes it cannot check (left to pySHACL, or needing
  Oxigraph's pre-binding) in one line, exit 2, before anything is sent, and a shape given
  up on during the run is named with why, never dropped.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from reference import canonical

PREFIXES = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex:  <http://example.org/> .
"""
DATA = "ex:a a ex:T ; ex:p ex:b , 'x' . ex:b a ex:Z . ex:c a ex:T ."
SELECT = "SELECT $this ?value WHERE {{ $this <http://example.org/p> ?value {} }}"

# Each case has (at least) one finding pySHACL reports twice.
TWICE = {
    "two-blank-sparql-constraints": (
        "ex:S a sh:NodeShape ; sh:targetClass ex:T ;"
        f' sh:sparql [ sh:select "{SELECT.format("")}" ] ,'
        f' [ sh:select "{SELECT.format("FILTER(true)")}" ] .'
    ),
    "two-blank-sparql-constraints-of-two-anonymous-property-shapes": (
        "ex:S a sh:NodeShape ; sh:targetClass ex:T ;"
        ' sh:property [ sh:path ex:p ; sh:sparql [ sh:select "SELECT $this ?value WHERE'
        ' { $this $PATH ?value }" ] ] ,'
        ' [ sh:path ex:p ; sh:sparql [ sh:select "SELECT $this ?value WHERE'
        ' { $this $PATH ?value }" ] ] .'
    ),
    "two-anonymous-property-shapes-same-path": (
        "ex:S a sh:NodeShape ; sh:targetClass ex:T ;"
        " sh:property [ sh:path ex:p ; sh:class ex:A ] , [ sh:path ex:p ; sh:class ex:B ] ."
    ),
    "two-values-of-sh-class": (
        "ex:S a sh:NodeShape ; sh:targetClass ex:T ;"
        " sh:property [ sh:path ex:p ; sh:class ex:A , ex:B ] ."
    ),
    "two-values-of-sh-node": (
        "ex:S a sh:NodeShape ; sh:targetClass ex:T ;"
        " sh:property [ sh:path ex:p ; sh:node ex:N1 , ex:N2 ] ."
        " ex:N1 a sh:NodeShape ; sh:class ex:A . ex:N2 a sh:NodeShape ; sh:class ex:B ."
    ),
    "two-anonymous-node-shapes-same-target": (
        "[] a sh:NodeShape ; sh:targetNode ex:a ; sh:class ex:A ."
        " [] a sh:NodeShape ; sh:targetNode ex:a ; sh:class ex:A ."
    ),
    "two-node-shapes-share-a-property-shape": (
        "ex:S1 a sh:NodeShape ; sh:targetNode ex:a ; sh:property ex:PS ."
        " ex:S2 a sh:NodeShape ; sh:targetClass ex:T ; sh:property ex:PS ."
        " ex:PS sh:path ex:p ; sh:nodeKind sh:IRI ."
    ),
    "two-node-shapes-share-a-blank-property-shape": (
        "ex:S1 a sh:NodeShape ; sh:targetNode ex:a ; sh:property _:ps ."
        " ex:S2 a sh:NodeShape ; sh:targetClass ex:T ; sh:property _:ps ."
        " _:ps sh:path ex:q ; sh:minCount 1 ."
    ),
    "two-values-of-sh-qualified-value-shape": (
        "ex:S a sh:NodeShape ; sh:targetClass ex:T ;"
        " sh:property [ sh:path ex:p ;"
        " sh:qualifiedValueShape [ sh:class ex:A ] , [ sh:class ex:B ] ;"
        " sh:qualifiedMinCount 1 ] ."
    ),
    # the union of class targets walked at once (evaluation._ClassFocus), the results
    # given back to each node shape whose class the node has, the counts made in the store
    "node-shapes-of-class-targets-share-a-qualified-property-shape": (
        "ex:S1 a sh:NodeShape ; sh:targetClass ex:T ; sh:property ex:PS ."
        " ex:S2 a sh:NodeShape ; sh:targetClass ex:T ; sh:property ex:PS ."
        " ex:S3 a sh:NodeShape ; sh:targetClass ex:Z ; sh:property ex:PS ."
        " ex:PS sh:path ex:p ; sh:qualifiedValueShape [ sh:class ex:A ] ;"
        " sh:qualifiedMinCount 1 ; sh:qualifiedMaxCount 0 ."
    ),
    "a-property-shape-targeted-and-nested": (
        "ex:S1 a sh:NodeShape ; sh:targetNode ex:a ; sh:property ex:PS ."
        " ex:PS a sh:PropertyShape ; sh:targetClass ex:T ; sh:path ex:p ; sh:class ex:A ."
    ),
}


def counted(findings: Any) -> Counter[tuple[Any, ...]]:
    return Counter(
        (f.focus, f.path, canonical(f.value), f.component, f.shape, f.severity, f.constraint)
        for f in findings
    )


def both_counts(shapes_text: str, data_text: str) -> tuple[Counter[Any], Counter[Any]]:
    """(pySHACL's, the compiled engine's) findings with their multiplicity."""
    import pyoxigraph as ox
    import pyshacl
    from rdflib import Graph

    from kgraph.convert import graph_of
    from kgraph.shacl.compiled import compile_shapes
    from kgraph.shacl.engine import _findings

    quads = list(ox.parse((PREFIXES + data_text).encode(), format=ox.RdfFormat.TURTLE))
    shapes = Graph().parse(data=PREFIXES + shapes_text, format="turtle")
    _, results, _ = pyshacl.validate(graph_of(quads), shacl_graph=shapes, advanced=True)
    graph = ox.NamedNode("urn:kgraph:test:case")
    store = ox.Store()
    store.extend(ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads)
    findings, left = compile_shapes(shapes).validate(store, [graph])
    assert not left
    return counted(_findings(results)), counted(findings)


@pytest.mark.parametrize("name", list(TWICE))
def test_results_of_two_constraints_are_two(name: str) -> None:
    reference, mine = both_counts(TWICE[name], DATA)
    assert 2 in reference.values(), "the case has no result pySHACL reports twice"
    assert mine == reference


@pytest.mark.parametrize("name", list(TWICE))
def test_results_of_two_constraints_are_two_at_given_focus_nodes(name: str) -> None:
    """The batch path (focus nodes in a VALUES block) counts as the whole-graph one."""
    import pyoxigraph as ox
    from rdflib import Graph

    from kgraph.shacl.compiled import compile_shapes

    reference, _ = both_counts(TWICE[name], DATA)
    quads = list(ox.parse((PREFIXES + DATA).encode(), format=ox.RdfFormat.TURTLE))
    store = ox.Store()
    store.extend(ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads)
    shapes = Graph().parse(data=PREFIXES + TWICE[name], format="turtle")
    focus = [ox.NamedNode("http://example.org/" + n) for n in "abc"]
    findings, _ = compile_shapes(shapes).validate(store, [ox.DefaultGraph()], focus=focus)
    assert counted(findings) == reference


class Portable:
    """A local store that the compiled engine treats as a remote one (endpoint.EndpointStore's
    ``portable``): the queries take the forms sent to a SPARQL endpoint."""

    portable = True

    def __init__(self, store: Any) -> None:
        self.store = store
        self.sent: list[str] = []

    def query(self, text: str, **kw: Any) -> Any:
        self.sent.append(text)
        return self.store.query(text, **kw)

    def quads_for_pattern(self, *pattern: Any) -> Any:
        return self.store.quads_for_pattern(*pattern)


@pytest.mark.parametrize("name", list(TWICE))
def test_results_of_two_constraints_are_two_in_the_forms_sent_to_a_store(name: str) -> None:
    import pyoxigraph as ox
    from rdflib import Graph

    from kgraph.shacl.compiled import compile_shapes

    reference, _ = both_counts(TWICE[name], DATA)
    store = ox.Store()
    store.extend(ox.parse((PREFIXES + DATA).encode(), format=ox.RdfFormat.TURTLE))
    shapes = Graph().parse(data=PREFIXES + TWICE[name], format="turtle")
    findings, _ = compile_shapes(shapes).validate(Portable(store), [ox.DefaultGraph()])
    assert counted(findings) == reference


def test_a_shared_property_shape_counts_only_the_shapes_that_target_the_node() -> None:
    # ex:c is a target of ex:S2 only: one result there, two on ex:a (S1's and S2's)
    reference, mine = both_counts(TWICE["two-node-shapes-share-a-blank-property-shape"], DATA)
    by_focus = {k[0]: n for k, n in mine.items()}
    assert by_focus == {"<http://example.org/a>": 2, "<http://example.org/c>": 1}
    assert mine == reference


# -- the forms of the compiled queries (portable to Virtuoso 7.2.5) ----------------------------

IN_SHAPES = (
    "ex:S a sh:NodeShape ; sh:targetNode ex:a , ex:z ;"
    ' sh:property [ sh:path ex:n ; sh:in ( 1 "x" ex:b true "y"@en ) ] .'
)
IN_DATA = (
    'ex:a ex:n 1 , 1.0 , "1" , "x" , "x"@en , "y"@en , "y"@de , ex:b , ex:c , true , 2 , "b" .'
)


def test_sh_in_is_term_equality() -> None:
    """sh:in is written with IN (value equality) and the literals equal to a literal member
    judged by term: 1.0 and "1" are not 1, "x"@en is not "x"."""
    reference, mine = both_counts(IN_SHAPES, IN_DATA)
    values = {k[2] for k in mine}
    assert '"1"' in values and '"x"@en' in values and "<http://example.org/c>" in values
    assert "<http://example.org/b>" not in values and '"x"' not in values
    assert mine == reference


def test_class_targets_and_values_without_a_path_or_values_block() -> None:
    """Sent to a remote store, the instances of a class are found through the subclasses
    asked for alone, and target nodes are BINDs: no ``rdfs:subClassOf*`` joined with
    anything and no VALUES in a UNION branch (Virtuoso 7.2.5 answers both wrongly,
    docs/stores.md); the findings are the local ones."""
    import pyoxigraph as ox
    from rdflib import Graph

    from kgraph.shacl.compiled import compile_shapes

    shapes = (
        "ex:S a sh:NodeShape ; sh:targetClass ex:T ; sh:targetNode ex:n , 'lit' ;"
        " sh:property [ sh:path ex:p ; sh:class ex:A ] ."
    )
    data = (
        "ex:U <http://www.w3.org/2000/01/rdf-schema#subClassOf> ex:T ."
        " ex:B <http://www.w3.org/2000/01/rdf-schema#subClassOf> ex:A ."
        " ex:a a ex:U ; ex:p ex:x , ex:y . ex:x a ex:B . ex:y a ex:Z . ex:n ex:p ex:x ."
    )
    reference, mine = both_counts(shapes, data)
    assert mine == reference and {k[2] for k in mine} == {"<http://example.org/y>"}

    store = ox.Store()
    store.extend(ox.parse((PREFIXES + data).encode(), format=ox.RdfFormat.TURTLE))
    graph = Graph().parse(data=PREFIXES + shapes, format="turtle")
    remote = Portable(store)
    findings, _ = compile_shapes(graph).validate(remote, [ox.DefaultGraph()])
    assert counted(findings) == mine
    sent = remote.sent
    subclass = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"
    assert all(f"{subclass}*" not in text for text in sent)
    assert all("VALUES" not in text for text in sent)
    # the subclasses are asked for alone, one class per query
    alone = [t for t in sent if f"{subclass}+" in t]
    assert alone and all(t.startswith("SELECT DISTINCT ?t WHERE") for t in alone)


# -- validate --endpoint and the shapes it cannot check ----------------------------------------

# $this in a sub-select's projection: Oxigraph's substitution reaches it, a join does not
# (sparqltext.prebound_select), and no request of the SPARQL 1.1 Protocol can pre-bind.
PREBOUND_SHAPE = """
kgs:CountShape a sh:NodeShape ;
    sh:targetClass kg:ArmedForce ;
    sh:sparql [ sh:select \"\"\"SELECT $this WHERE { $this a ?type .
        FILTER NOT EXISTS { SELECT $this WHERE {
            ?force <https://w3id.org/kgraph/ontology#armedForceOf> ?state } } }\"\"\" ] .
"""
LOOP_SHAPE = """
kgs:LoopShape a sh:NodeShape ;
    sh:targetClass kg:ArmedForce ;
    sh:property [ sh:path kg:armedForceOf ; sh:node kgs:LoopShape ] .
"""


class Counting:
    """A SPARQL endpoint on 127.0.0.1 that counts the requests it gets (and answers none)."""

    def __enter__(self) -> Counting:
        from servers import Loopback, QuietHandler

        self.requests = 0
        outer = self

        class Handler(QuietHandler):
            def answer(self) -> None:
                outer.requests += 1
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = answer

        self.server = Loopback(Handler)
        self.endpoint = self.server.base + "/query"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()


@pytest.mark.parametrize(
    ("extra", "name", "says"),
    [
        (PREBOUND_SHAPE, "kgs:CountShape", "pre-bind"),
        (LOOP_SHAPE, "kgs:LoopShape", "pySHACL"),
        (PREBOUND_SHAPE + LOOP_SHAPE, "kgs:CountShape, kgs:LoopShape", "pre-bind"),
    ],
)
def test_shapes_an_endpoint_cannot_check_are_named_before_anything_is_sent(
    extra: str, name: str, says: str, tmp_path: Any
) -> None:
    from conftest import invoke
    from kgraph.errors import ExitStatus
    from test_validate_endpoint import copy_project

    project = copy_project(tmp_path / "p", bad=False)
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text(encoding="utf-8") + extra, encoding="utf-8")
    # locally the shapes are checked (the compiled engine pre-binds, pySHACL does the rest)
    local = invoke(["--project", str(project), "validate"])
    assert local.exit_code == 0, local.stderr
    with Counting() as store:
        run = invoke(["--project", str(project), "validate", "--endpoint", store.endpoint])
        assert store.requests == 0
    assert run.exit_code == int(ExitStatus.BAD_INPUT)
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("Error: ")
    for shape in name.split(", "):
        assert shape in run.stderr
    assert says in run.stderr and "nothing is reported" in run.stderr


def test_a_shape_whose_queries_fail_remotely_is_named_not_dropped() -> None:
    """A shape the engine gives up on while evaluating (here: the store fails on its
    queries) makes validate_endpoint refuse the verdict, naming the shape and why."""
    import pyoxigraph as ox
    from rdflib import Graph

    from kgraph.errors import UsageError
    from kgraph.shacl import run
    from kgraph.shacl.index import analyse

    shapes = (
        "ex:Good a sh:NodeShape ; sh:targetClass ex:T ; sh:property [ sh:path ex:p ;"
        " sh:minCount 1 ] . ex:Bad a sh:NodeShape ; sh:targetClass ex:T ;"
        " sh:property [ sh:path ex:broken ; sh:maxCount 0 ] ."
    )
    store = ox.Store()
    store.extend(ox.parse((PREFIXES + DATA).encode(), format=ox.RdfFormat.TURTLE))

    class Failing:
        endpoint = "http://127.0.0.1:1/query"

        def query(self, text: str, **kw: Any) -> Any:
            if "http://example.org/broken" in text:
                raise ValueError("the store refused the query")
            return store.query(text)

        def quads_for_pattern(self, *pattern: Any) -> Any:
            return store.quads_for_pattern(*pattern)

    index = analyse(Graph().parse(data=PREFIXES + shapes, format="turtle"))
    with pytest.raises(UsageError) as raised:
        run.validate_endpoint(Failing(), index)  # type: ignore[arg-type]
    message = str(raised.value)
    assert "ex:Bad" in message or "example.org/Bad" in message
    assert "could not be evaluated" in message and "the store refused" in message
