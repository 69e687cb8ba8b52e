"""Issue 13 through the command line: the compiled engine as `validate` and `add` use it.

Each test fails on the engine before it (pySHACL on a store that rewrites literals)."""

from __future__ import annotations

import re
from pathlib import Path

ESTIMATE = """
@prefix kg:      <https://w3id.org/kgraph/ontology#> .
@prefix kgd:     <https://w3id.org/kgraph/id/> .
@prefix prov:    <http://www.w3.org/ns/prov#> .
@prefix schema:  <http://schema.org/> .
@prefix skos:    <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .

kgd:fixture-estimate-1
    a kg:Estimate ;
    skos:prefLabel "Fixture estimate"@en ;
    kg:stance kg:Reported ;
    prov:wasAttributedTo kgd:USDepartmentOfDefense ;
    kg:sourceSentence kgd:article-s19 ;
    schema:appearance kgd:article ;
    kg:about kgd:dprk-troops ;
    kg:estimateOf kgd:quantity-dprk-soldiers-sent-to-russia ;
    kg:count COUNT ;
    kg:estimateDate "2024-10-30"^^xsd:date .
"""


def batch_files(project: Path) -> list[Path]:
    return sorted((project / "data" / "batches").glob("*.ttl"))


def test_add_refuses_a_long_where_the_shape_says_integer(
    kgraph, project: Path, tmp_path: Path
) -> None:
    """The store rewrites "12"^^xsd:long to xsd:integer; sh:datatype judges the source's."""
    good = tmp_path / "good.ttl"
    good.write_text(ESTIMATE.replace("COUNT", "12"))
    assert kgraph("add", "--dry-run", str(good)).exit_code == 0  # the batch is fine otherwise

    bad = tmp_path / "long.ttl"
    bad.write_text(ESTIMATE.replace("COUNT", '"12"^^xsd:long'))
    result = kgraph("add", str(bad))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "kg:count must be one non-negative integer" in result.stdout
    assert re.search(r"kg:count = .*12.*long", result.stdout), result.stdout
    assert batch_files(project) == []
    # pySHACL on the store's rewritten literal (the old engine) lets it through.
    assert kgraph("add", "--dry-run", "--engine", "pyshacl", str(bad)).exit_code == 0


def test_batch_file_keeps_the_source_datatype(kgraph, project: Path, tmp_path: Path) -> None:
    batch = tmp_path / "int.ttl"
    batch.write_text(
        '<https://example.org/thing> <https://example.org/size> "5"^^'
        "<http://www.w3.org/2001/XMLSchema#int> .\n"
    )
    result = kgraph("add", str(batch))
    assert result.exit_code == 0, result.stdout + result.stderr
    [written] = batch_files(project)
    text = written.read_text()
    assert re.search(r'"5"\^\^(xsd:int|<http://www.w3.org/2001/XMLSchema#int>)\s', text), text
    assert "XMLSchema#integer" not in text and "xsd:integer" not in text


LITERAL_TARGET = """
@prefix sh:  <http://www.w3.org/ns/shacl#> .
@prefix kgs: <https://w3id.org/kgraph/shapes#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

kgs:LiteralTarget
    a sh:NodeShape ;
    sh:targetNode "x" ;
    sh:datatype xsd:integer ;
    sh:message "A literal target node, checked as the node it is." .
"""


def test_literal_target_node_is_validated_not_an_internal_error(kgraph, project: Path) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + LITERAL_TARGET)
    result = kgraph("validate")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "A literal target node, checked as the node it is." in result.stdout
    assert "Traceback" not in result.stderr
