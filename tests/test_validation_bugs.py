"""Issue 13's bug list, each bug through the command line (`kgraph validate`, `add`,
`remove`) on a private copy of the project, with the default (compiled) engine.

Where a bug needs shapes the shipped ones do not have, the copy's ontology/shapes.ttl is
extended (``extend_shapes``). Each test fails on the code before its fix.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_validation_engine import ESTIMATE

HEAD = """
@prefix ex:     <https://example.org/> .
@prefix kg:     <https://w3id.org/kgraph/ontology#> .
@prefix kgd:    <https://w3id.org/kgraph/id/> .
@prefix prov:   <http://www.w3.org/ns/prov#> .
@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <http://schema.org/> .
@prefix sh:     <http://www.w3.org/ns/shacl#> .
@prefix skos:   <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd:    <http://www.w3.org/2001/XMLSchema#> .
"""


def extend_shapes(project: Path, shapes: str) -> None:
    path = project / "ontology" / "shapes.ttl"
    path.write_text(path.read_text() + HEAD + shapes)


def write(folder: Path, name: str, turtle: str) -> Path:
    path = folder / name
    path.write_text(HEAD + turtle)
    return path


def batch_ids(project: Path) -> list[str]:
    return [p.stem for p in sorted((project / "data" / "batches").glob("*.ttl"))]


def out(result) -> str:  # type: ignore[no-untyped-def]
    return result.stdout + result.stderr


# -- blank nodes are validated as blank nodes ------------------------------------------------


def test_blank_node_about_is_not_an_iri_in_add(kgraph, project: Path, tmp_path: Path) -> None:
    """kg:about has sh:nodeKind sh:IRI; `[]` used to be skolemised into an IRI first."""
    batch = write(tmp_path, "blank.ttl", "kgd:claim-F01 kg:about [] .\n")
    result = kgraph("add", str(batch))
    assert result.exit_code == 1, out(result)
    assert "A claim must say what it is about" in result.stdout
    assert batch_ids(project) == []


def test_blank_node_about_is_not_an_iri_in_validate(kgraph, project: Path) -> None:
    write(project / "data", "extra.ttl", "kgd:claim-F01 kg:about [] .\n")
    result = kgraph("validate")
    assert result.exit_code == 1, out(result)
    assert "A claim must say what it is about" in result.stdout
    assert "extra.ttl:" in result.stdout  # located in the file that wrote `[]`


def test_blank_node_passes_a_blank_node_kind(kgraph, project: Path, tmp_path: Path) -> None:
    extend_shapes(
        project,
        "ex:BlankShape a sh:NodeShape ; sh:targetSubjectsOf ex:part ;\n"
        "  sh:property [ sh:path ex:part ; sh:nodeKind sh:BlankNode ] .\n",
    )
    good = write(tmp_path, "good.ttl", "ex:s ex:part [ ex:size 1 ] .\n")
    assert kgraph("add", "--dry-run", str(good)).exit_code == 0
    bad = write(tmp_path, "bad.ttl", "ex:s ex:part ex:o .\n")
    assert kgraph("add", "--dry-run", str(bad)).exit_code == 1


# -- a subclass axiom that arrives or leaves -----------------------------------------------


def test_remove_of_a_subclass_axiom_a_later_batch_relies_on(
    kgraph, project: Path, tmp_path: Path
) -> None:
    axiom = write(tmp_path, "axiom.ttl", "ex:Foo rdfs:subClassOf prov:Agent .\n")
    assert kgraph("add", str(axiom)).exit_code == 0
    use = write(
        tmp_path,
        "use.ttl",
        'ex:x a ex:Foo ; skos:prefLabel "x"@en .\nkgd:claim-F01 prov:wasAttributedTo ex:x .\n',
    )
    assert kgraph("add", str(use)).exit_code == 0
    first = batch_ids(project)[0]
    result = kgraph("remove", first)
    assert result.exit_code == 1, out(result)
    assert "kgd:claim-F01" in result.stdout
    assert "A claim needs a source" in result.stdout
    assert len(batch_ids(project)) == 2


NOT_AND_QUALIFIED = """
ex:NotBannedShape a sh:NodeShape ; sh:targetSubjectsOf ex:by ;
  sh:property [ sh:path ex:by ; sh:not [ sh:class ex:Banned ] ;
                sh:message "ex:by must not name a banned agent." ] .
ex:NoBannedSourceShape a sh:NodeShape ; sh:targetSubjectsOf ex:from ;
  sh:property [ sh:path ex:from ; sh:qualifiedValueShape [ sh:class ex:Banned ] ;
                sh:qualifiedMaxCount 0 ; sh:message "ex:from must not name a banned source." ] .
"""


def test_add_of_a_subclass_axiom_under_not_and_qualified_max_count(
    kgraph, project: Path, tmp_path: Path
) -> None:
    extend_shapes(project, NOT_AND_QUALIFIED)
    data = write(tmp_path, "data.ttl", "ex:x a ex:Foo .\nex:s ex:by ex:x .\nex:t ex:from ex:x .\n")
    assert kgraph("add", str(data)).exit_code == 0
    axiom = write(tmp_path, "axiom.ttl", "ex:Foo rdfs:subClassOf ex:Banned .\n")
    result = kgraph("add", str(axiom))
    assert result.exit_code == 1, out(result)
    assert "ex:by must not name a banned agent." in result.stdout
    assert "ex:from must not name a banned source." in result.stdout
    assert len(batch_ids(project)) == 1


# -- nested shapes ----------------------------------------------------------------------------

NESTED = """
ex:OuterShape a sh:NodeShape ; sh:targetSubjectsOf ex:has ;
  sh:property [ sh:path ex:has ;
                sh:property [ sh:path ex:size ; sh:datatype xsd:integer ;
                              sh:message "a nested property shape's ex:size" ] ] .
ex:ClosedOuterShape a sh:NodeShape ; sh:targetSubjectsOf ex:holds ;
  sh:property [ sh:path ex:holds ;
                sh:node [ sh:closed true ; sh:property [ sh:path ex:size ] ] ;
                sh:message "a closed nested shape" ] .
"""


def test_nested_property_and_closed_nested_shape(kgraph, project: Path, tmp_path: Path) -> None:
    extend_shapes(project, NESTED)
    ok = write(tmp_path, "ok.ttl", "ex:s ex:has ex:o . ex:o ex:size 1 .\nex:t ex:holds ex:p .\n")
    assert kgraph("add", "--dry-run", str(ok)).exit_code == 0
    bad = 'ex:s ex:has ex:o . ex:o ex:size "big" .\nex:t ex:holds ex:p . ex:p ex:colour 1 .\n'
    batch = write(tmp_path, "bad.ttl", bad)
    result = kgraph("add", str(batch))
    assert result.exit_code == 1, out(result)
    assert "a nested property shape's ex:size" in result.stdout
    assert "a closed nested shape" in result.stdout
    write(project / "data", "extra.ttl", bad)
    result = kgraph("validate")
    assert result.exit_code == 1, out(result)
    assert "a nested property shape's ex:size" in result.stdout
    assert "a closed nested shape" in result.stdout


# -- targets ----------------------------------------------------------------------------------


def test_literal_target_node_in_add(kgraph, project: Path, tmp_path: Path) -> None:
    """(`validate` is tests/test_validation_engine.py's test_literal_target_node_...)."""
    extend_shapes(
        project,
        'ex:LiteralTarget a sh:NodeShape ; sh:targetNode "x" ; sh:datatype xsd:integer ;\n'
        '  sh:message "the literal target node" .\n',
    )
    batch = write(tmp_path, "any.ttl", 'ex:s ex:label "x" .\n')
    # The target is there before the batch too: not the batch's violation.
    result = kgraph("add", "--dry-run", str(batch))
    assert result.exit_code == 0, out(result)
    result = kgraph("validate", "--format", "json")
    assert result.exit_code == 1, out(result)
    [finding] = json.loads(result.stdout)["results"]
    assert finding["focusNode"] == '"x"' and finding["message"] == "the literal target node"


LITERAL_OBJECTS = """
ex:CodeShape a sh:NodeShape ; sh:targetObjectsOf ex:code ; sh:datatype xsd:integer ;
  sh:message "an ex:code is an integer" .
"""


def test_literal_objects_of_target_objects_of(kgraph, project: Path, tmp_path: Path) -> None:
    extend_shapes(project, LITERAL_OBJECTS)
    ok = write(tmp_path, "ok.ttl", "ex:s ex:code 7 .\n")
    assert kgraph("add", "--dry-run", str(ok)).exit_code == 0
    batch = write(tmp_path, "bad.ttl", 'ex:s ex:code "abc" .\n')
    result = kgraph("add", str(batch))
    assert result.exit_code == 1, out(result)
    assert "an ex:code is an integer" in result.stdout and '"abc"' in result.stdout
    assert batch_ids(project) == []
    write(project / "data", "extra.ttl", 'ex:s ex:code "abc" .\n')
    result = kgraph("validate")
    assert result.exit_code == 1, out(result)
    assert "an ex:code is an integer" in result.stdout


def test_shape_with_a_target_but_no_type(kgraph, project: Path, tmp_path: Path) -> None:
    extend_shapes(
        project,
        "ex:UntypedShape sh:targetSubjectsOf ex:weight ;\n"
        '  sh:property [ sh:path ex:weight ; sh:datatype xsd:integer ; sh:message "untyped" ] .\n',
    )
    batch = write(tmp_path, "bad.ttl", 'ex:s ex:weight "heavy" .\n')
    result = kgraph("add", str(batch))
    assert result.exit_code == 1, out(result)
    assert "untyped" in result.stdout
    write(project / "data", "extra.ttl", 'ex:s ex:weight "heavy" .\n')
    result = kgraph("validate")
    assert result.exit_code == 1 and "untyped" in result.stdout, out(result)


# -- unbounded paths: stable findings, so old violations are not new ---------------------------


def test_zero_or_more_path_old_violations_are_not_new(
    kgraph, project: Path, tmp_path: Path
) -> None:
    extend_shapes(
        project,
        "ex:ReachShape a sh:NodeShape ; sh:targetSubjectsOf ex:next ;\n"
        "  sh:property [ sh:path [ sh:zeroOrMorePath ex:next ] ; sh:class ex:Node ] .\n",
    )
    write(project / "data", "chain.ttl", "ex:a ex:next [ ex:next ex:c ] .\n")
    first, second = kgraph("validate"), kgraph("validate")
    assert first.exit_code == 1 and first.stdout == second.stdout
    assert "(ex:next)*" in first.stdout or "(<https://example.org/next>)*" in first.stdout
    unrelated = write(tmp_path, "unrelated.ttl", 'ex:u ex:colour "red" .\n')
    result = kgraph("add", str(unrelated))
    assert result.exit_code == 0, out(result)
    assert "whole-graph" in result.stdout


# -- literals as the source wrote them, in the project's own files ----------------------------


def test_validate_judges_a_project_file_long_as_written(kgraph, project: Path) -> None:
    write(project / "data", "extra.ttl", ESTIMATE.replace("COUNT", "12"))
    assert kgraph("validate").exit_code == 0
    write(project / "data", "extra.ttl", ESTIMATE.replace("COUNT", '"12"^^xsd:long'))
    result = kgraph("validate")
    assert result.exit_code == 1, out(result)
    assert "kg:count must be one non-negative integer" in result.stdout
    assert re.search(r"kg:count = .*12.*long.*extra\.ttl:", result.stdout), result.stdout


def test_validate_accepts_a_project_file_int_where_the_shape_says_int(
    kgraph, project: Path
) -> None:
    extend_shapes(
        project,
        "ex:IntShape a sh:NodeShape ; sh:targetSubjectsOf ex:small ;\n"
        '  sh:property [ sh:path ex:small ; sh:datatype xsd:int ; sh:message "an xsd:int" ] .\n'
        "ex:FlagShape a sh:NodeShape ; sh:targetSubjectsOf ex:flag ;\n"
        '  sh:property [ sh:path ex:flag ; sh:pattern "^[01]$" ; sh:message "0 or 1" ] .\n',
    )
    write(
        project / "data", "extra.ttl", 'ex:s ex:small "5"^^xsd:int ; ex:flag "1"^^xsd:boolean .\n'
    )
    result = kgraph("validate")
    assert result.exit_code == 0, out(result)


# -- dates ------------------------------------------------------------------------------------

LESS_THAN = """
ex:SpanShape a sh:NodeShape ; sh:targetSubjectsOf ex:start ;
  sh:property [ sh:path ex:start ; sh:lessThan ex:end ; sh:message "start before end" ] .
"""


def test_less_than_between_date_and_datetime_is_a_violation(
    kgraph, project: Path, tmp_path: Path
) -> None:
    """Incomparable values violate sh:lessThan (SHACL 1.0 §4.5.3, and Jena); pySHACL lets
    them through, and the report says that the engines disagree there."""
    extend_shapes(project, LESS_THAN)
    span = 'ex:e ex:start "2024-01-01"^^xsd:date ; ex:end "2024-02-01T00:00:00"^^xsd:dateTime .\n'
    batch = write(tmp_path, "span.ttl", span)
    result = kgraph("add", "--dry-run", str(batch))
    assert result.exit_code == 1, out(result)
    assert "start before end" in result.stdout
    assert "incomparable" in result.stdout and "pySHACL" in result.stdout
    assert kgraph("add", "--dry-run", "--engine", "pyshacl", str(batch)).exit_code == 0
    write(project / "data", "extra.ttl", span)
    result = kgraph("validate")
    assert result.exit_code == 1 and "incomparable" in result.stdout, out(result)
    document = json.loads(kgraph("validate", "--format", "json").stdout)
    assert document["engineDisagreements"], document
    comparable = 'ex:e ex:start "2024-01-01"^^xsd:date ; ex:end "2024-02-01"^^xsd:date .\n'
    write(project / "data", "extra.ttl", comparable)
    result = kgraph("validate")
    assert result.exit_code == 0 and "incomparable" not in result.stdout, out(result)


def test_a_dated_claim_with_a_timezone_after_its_document(
    kgraph, project: Path, tmp_path: Path
) -> None:
    """kgd:article2 was issued on 2024-11-04; a claim dated the 5th in +14:00 is after it
    (its instant is not comparable with a date without a timezone, so the SPARQL filter
    used to be an error, and an error is no result)."""
    for day, verdict in (
        ("2024-11-05+14:00", 1),
        ("2024-11-05Z", 1),
        ("2024-11-04-13:00", 0),
        ("2024-11-04", 0),
    ):
        claim = f'kgd:claim-B01 kg:assertedOn "{day}"^^xsd:date .\n'
        result = kgraph("add", "--dry-run", str(write(tmp_path, "dated.ttl", claim)))
        assert result.exit_code == verdict, (day, out(result))
        if verdict:
            assert "after the document it appears in was issued" in result.stdout


def test_an_estimate_with_a_timezone_after_its_successor(
    kgraph, project: Path, tmp_path: Path
) -> None:
    """kgd:claim-F56 (dated 2024-10-28) supersedes the new estimate, dated after it."""
    for day, verdict in (("2024-10-29+14:00", 1), ("2024-10-28-13:00", 0)):
        estimate = ESTIMATE.replace("COUNT", "12").replace("2024-10-30", day)
        estimate = estimate.replace("kg:count 12", "kg:count 12 ; kg:supersededBy kgd:claim-F56")
        result = kgraph("add", "--dry-run", str(write(tmp_path, "dated.ttl", estimate)))
        assert result.exit_code == verdict, (day, out(result))
        if verdict:
            assert "after the estimate that supersedes it" in result.stdout
