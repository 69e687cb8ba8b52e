"""`kgraph serve`'s Graph Store Protocol GET writes literals as the project's files write
them (issue 13), as `kgraph export` does: the store holds ``"12"^^xsd:long`` as
``"12"^^xsd:integer`` and ``"1"^^xsd:boolean`` as ``true``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
import rdflib

from serving import request, start

EXTRA = """@prefix ex: <https://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:s ex:count "12"^^xsd:long ; ex:flag "1"^^xsd:boolean ; ex:plain 12 ; ex:price "1.50"^^xsd:decimal .
"""
GRAPH = "https://w3id.org/kgraph/graph/data/extra.ttl"
EX = "https://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"


def objects(body: bytes, fmt: str) -> dict[str, set[rdflib.term.Node]]:
    graph = rdflib.Graph().parse(data=body, format=fmt)
    found: dict[str, set[rdflib.term.Node]] = {}
    for _, p, o in graph.triples((rdflib.URIRef(EX + "s"), None, None)):
        found.setdefault(str(p).removeprefix(EX), set()).add(o)
    return found


def as_written(o: str, datatype: str) -> rdflib.Literal:
    return rdflib.Literal(o, datatype=rdflib.URIRef(XSD + datatype))


@pytest.mark.parametrize("store", [False, True], ids=["memory", "on-disk"])
def test_graph_store_get_writes_the_files_literals(
    project: Path, tmp_path: Path, store: bool
) -> None:
    (project / "data" / "extra.ttl").write_text(EXTRA)
    served = start([], project=project, store=tmp_path / "store" if store else None)
    try:
        named = request(
            served.url("/rdf-graph-store?graph=" + quote(GRAPH, safe="")),
            headers={"Accept": "application/n-triples"},
        )
        union = request(served.url("/rdf-graph-store?default"))
    finally:
        log = served.stop()
    assert named.status == 200, log
    assert union.status == 200, log
    expected = {
        "count": {as_written("12", "long")},
        "flag": {as_written("1", "boolean")},
        "plain": {as_written("12", "integer")},
        "price": {as_written("1.50", "decimal")},
    }
    # rdflib compares literals by lexical form and datatype (Literal.eq); check both.
    for body, fmt in ((named.body, "nt"), (union.body, "turtle")):
        got = objects(body, fmt)
        assert {k: {(str(o), o.datatype) for o in v} for k, v in got.items()} == {  # type: ignore[union-attr]
            k: {(str(o), o.datatype) for o in v} for k, v in expected.items()
        }
