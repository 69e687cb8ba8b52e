"""SHACL-SPARQL constraints see a blank node where the source wrote one (issue 13).

kgraph skolemises blank nodes as it loads them; the compiled engine rewrites isBlank, isIRI,
isURI and STR in a constraint's SPARQL so that a skolem IRI answers as the blank node does.
pySHACL (``--engine pyshacl``) is given the blank nodes back, so the two engines must agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from test_validation_bugs import extend_shapes, out, write

# One shape per constraint: the engines differ on whether two SPARQL constraints of one
# shape with the same focus node and value are one result or two.
CONSTRAINTS = {
    "Iri": ("part is an IRI", "FILTER(isIRI(?value))"),
    "NoBlank": ("part is no blank node", "FILTER(!isBLANK(?value))"),
    "Https": ("part is an example IRI", "FILTER(STRSTARTS(str(?value), 'https://'))"),
    "Blank": ("part is a blank node", "FILTER(isBlank(?value) && !isURI(?value))"),
}
SHAPES = "".join(
    f"ex:{name}Shape a sh:NodeShape ; sh:targetSubjectsOf ex:part ;\n"
    f'  sh:sparql [ sh:message "{message}" ; sh:select\n'
    f'    "SELECT $this ?value WHERE {{ $this <https://example.org/part> ?value . {test} }}" ] .\n'
    for name, (message, test) in CONSTRAINTS.items()
)

DATA = """
ex:a ex:part [ ex:size 1 ] .
ex:b ex:part ex:o .
ex:c ex:part "text" .
"""


def findings(kgraph: Any, *engine: str) -> set[tuple[str, str]]:
    result = kgraph("validate", "--format", "json", *engine)
    assert result.exit_code == 1, out(result)
    return {(r["focusNode"], r["message"]) for r in json.loads(result.stdout)["results"]}


def test_sparql_constraints_see_blank_nodes_as_pyshacl_does(kgraph: Any, project: Path) -> None:
    extend_shapes(project, SHAPES)
    write(project / "data", "extra.ttl", DATA)
    compiled = findings(kgraph)
    reference = findings(kgraph, "--engine", "pyshacl")
    assert compiled == reference
    ex = "<https://example.org/"
    assert compiled == {
        (ex + "a>", "part is a blank node"),
        (ex + "b>", "part is an IRI"),
        (ex + "b>", "part is no blank node"),
        (ex + "b>", "part is an example IRI"),
        (ex + "c>", "part is no blank node"),
    }


@pytest.mark.parametrize(
    "expression",
    [
        "isBlank(?x)",
        "ISIRI(?x)",
        "isUri(?x)",
        "isLiteral(?x)",
        "STR(?x)",
        "STRLEN(STR(?x)) > 3",
        "isBlank(IF(isIRI(?x) || isBlank(?x), ?x, ?y))",
        'CONCAT(STR(?x), "-")',
    ],
)
def test_a_skolem_iri_answers_as_its_blank_node(expression: str) -> None:
    """Each rewritten expression gives on a skolem IRI what the original gives on a blank
    node in Oxigraph, and on any other term what the original gives."""
    import pyoxigraph as ox

    from kgraph.namespaces import SKOLEM
    from kgraph.shacl.sparqltext import skolem_aware

    def value(text: str, x: Any) -> Any:
        query = f"SELECT ?r WHERE {{ <urn:s> <urn:p> ?x BIND(({text}) AS ?r) }}"
        store = ox.Store()
        store.add(ox.Quad(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), x))
        [row] = list(store.query(query))
        return row["r"]

    rewritten = skolem_aware(expression)
    skolem = ox.NamedNode(SKOLEM + "data/extra.ttl/b0")
    assert value(rewritten, skolem) == value(expression, ox.BlankNode())
    for other in (
        ox.NamedNode("https://example.org/o"),
        ox.BlankNode(),
        ox.Literal("text"),
        ox.Literal("12", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#long")),
    ):
        assert value(rewritten, other) == value(expression, other)


def test_deeply_nested_calls_go_to_pyshacl() -> None:
    """Each rewritten call repeats its argument, so nesting multiplies the text: past a bound
    the constraint is left to pySHACL rather than compiled into megabytes of SPARQL."""
    from kgraph.shacl.sparqltext import Uncompilable, prebound_select, skolem_aware

    nested = "?x"
    for _ in range(20):
        nested = f"STR({nested})"
    with pytest.raises(Uncompilable, match="too deeply"):
        prebound_select(f"SELECT $this WHERE {{ $this ?p ?x FILTER({nested} = '') }}", None)
    assert "STRSTARTS" in skolem_aware("STR(STR(STR(?x)))")
