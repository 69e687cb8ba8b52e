"""A shape the compiled engine gives up on is never reported as checked when it was not.

* SPARQL in the shapes that Oxigraph (the engine that runs it) cannot parse is bad input
  about the shapes file: exit 2, one line naming the file, the shape and the line, before
  any data is read, nothing written (``shacl.index.check_engine_sparql``). pySHACL would
  run some of it (rdflib accepts ``SELECT $this ... GROUP BY ?s``, which SPARQL 1.1 §11.4
  makes an error) and raise on the rest; kgraph says which.
* A constraint that parses but fails when it is evaluated goes to pySHACL for real: its
  findings are in the report (``shacl.run``), and the report names it.

Each test fails on the code before the fix: the shape was listed as "validated by
pySHACL" and skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kgraph.errors import ExitStatus, InputError
from kgraph.project import Project

HEAD = """
@prefix kg:     <https://w3id.org/kgraph/ontology#> .
@prefix kgs:    <https://w3id.org/kgraph/shapes#> .
@prefix sh:     <http://www.w3.org/ns/shacl#> .
"""

# SELECT $this with GROUP BY ?s: $this is neither grouped nor aggregated.
UNGROUPED = """
kgs:UngroupedShape
    a sh:NodeShape ;
    sh:targetClass kg:Claim ;
    sh:sparql kgs:UngroupedShape-stance .

kgs:UngroupedShape-stance
    a sh:SPARQLConstraint ;
    kg:reads kg:stance ;
    sh:message "ungrouped" ;
    sh:prefixes <https://w3id.org/kgraph/shapes> ;
    sh:select \"\"\"
        SELECT $this
        WHERE { $this kg:stance ?s }
        GROUP BY ?s
    \"\"\" .
"""

# Valid SPARQL, and the shipped data has claims it finds (two kg:Denied stances).
DENIED = """
kgs:DeniedShape
    a sh:NodeShape ;
    sh:targetClass kg:Claim ;
    sh:sparql kgs:DeniedShape-stance .

kgs:DeniedShape-stance
    a sh:SPARQLConstraint ;
    kg:reads kg:stance ;
    sh:message "denied: {?value}" ;
    sh:prefixes <https://w3id.org/kgraph/shapes> ;
    sh:select \"\"\"
        SELECT $this ?value
        WHERE { $this kg:stance ?value FILTER(?value = kg:Denied) }
    \"\"\" .
"""

BATCH = """
@prefix kg:  <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .
kgd:claim-X11 kg:note "a note" .
"""


def extend_shapes(project: Path, shapes: str) -> int:
    """Append ``shapes``; the line of the shapes file where ``GROUP BY`` ends up."""
    path = project / "ontology" / "shapes.ttl"
    text = path.read_text() + HEAD + shapes
    path.write_text(text)
    before = text[: text.find("GROUP BY")] if "GROUP BY" in shapes else ""
    return before.count("\n") + 1


def assert_one_error(result: Any, *words: str) -> None:
    assert result.exit_code == ExitStatus.BAD_INPUT, (result.exit_code, result.stdout)
    assert result.stderr.startswith("Error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def test_validate_refuses_shapes_whose_sparql_oxigraph_cannot_parse(kgraph, project) -> None:
    line = extend_shapes(project, UNGROUPED)
    result = kgraph("validate")
    assert_one_error(
        result, f"ontology/shapes.ttl:{line}:", "kgs:UngroupedShape", "variable that is unbound"
    )
    assert "conforms" not in result.stdout


def test_validate_names_the_shape_for_a_guard_refusal_too(kgraph, project) -> None:
    """The colleague's case: GROUP BY with nothing after it (kgraph's own parse refuses it)."""
    extend_shapes(project, UNGROUPED.replace("GROUP BY ?s", "GROUP BY"))
    assert_one_error(
        kgraph("validate"), "shapes.ttl (sh:select)", "kgs:UngroupedShape", "end of the query"
    )


@pytest.mark.parametrize("engine", ["compiled", "pyshacl"])
def test_add_against_such_shapes_is_refused_and_writes_nothing(
    kgraph, project, tmp_path, snapshot, engine
) -> None:
    line = extend_shapes(project, UNGROUPED)
    batch = tmp_path / "batch.ttl"
    batch.write_text(BATCH)
    before, batch_bytes = snapshot(project), batch.read_bytes()
    result = kgraph("add", "--engine", engine, str(batch))
    assert_one_error(result, f"ontology/shapes.ttl:{line}:", "kgs:UngroupedShape")
    after = snapshot(project)
    after.pop(".kgraph.lock", None)  # the writers' lock, kept by design (kgraph.lock)
    assert after == before
    assert batch.read_bytes() == batch_bytes
    assert not (project / "data" / "batches").exists() or not any(
        (project / "data" / "batches").iterdir()
    )


def test_the_library_raises_the_typed_error(project) -> None:
    line = extend_shapes(project, UNGROUPED)
    with pytest.raises(InputError) as caught:
        Project.open(project).validate()
    assert caught.value.path is not None and caught.value.path.endswith("shapes.ttl")
    assert caught.value.line == line
    assert "kgs:UngroupedShape" in caught.value.message
    with pytest.raises(InputError):
        Project.open(project).shapes()  # before any data: the shapes alone decide


def test_an_undeclared_prefix_is_bad_input_but_pyshacls_predeclared_ones_are_not(
    kgraph, project
) -> None:
    """pySHACL declares rdf:, rdfs: and owl: for every query; kgraph's engines do the same,
    and any other undeclared prefix is an error in the shapes (it was skipped)."""
    declared = DENIED.replace("?value FILTER", "?value . $this rdf:type ?t FILTER")
    extend_shapes(project, declared)
    result = kgraph("validate", "--format", "json")
    assert result.exit_code == ExitStatus.FINDINGS, result.stderr
    found = [r for r in json.loads(result.stdout)["results"] if "DeniedShape" in json.dumps(r)]
    assert len(found) == 2
    other = DENIED.replace("DeniedShape", "OtherShape").replace("kg:Denied", "x:y")
    text = (project / "ontology" / "shapes.ttl").read_text() + HEAD
    line = (text + other[: other.index("x:y")]).count("\n") + 1
    extend_shapes(project, other)
    assert_one_error(kgraph("validate"), f"shapes.ttl:{line}:", "kgs:OtherShape")


def _denied(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted(
        (json.dumps(r.get("focusNode", r.get("focus"))), json.dumps(r.get("message")))
        for r in results
        if "DeniedShape" in json.dumps(r)
    )


@pytest.mark.parametrize("command", ["validate", "add"])
def test_a_constraint_failing_at_evaluation_is_run_by_pyshacl(
    kgraph, project, tmp_path, monkeypatch, command
) -> None:
    """An evaluation error (simulated: none is known for a text that parses) hands the
    shape to pySHACL, and its findings are produced, the same as pySHACL's own."""
    from kgraph.shacl import evaluation

    extend_shapes(project, DENIED)
    reference = kgraph("validate", "--engine", "pyshacl", "--format", "json")
    expected = _denied(json.loads(reference.stdout)["results"])
    assert len(expected) == 2, reference.stdout[-2000:]

    real = evaluation.Engine.sparql

    def failing(self: Any, shape: Any, constraint: Any, focus: Any) -> Any:
        if "DeniedShape" in str(constraint):
            raise ValueError("simulated evaluation error")
        return real(self, shape, constraint, focus)

    monkeypatch.setattr(evaluation.Engine, "sparql", failing)
    if command == "validate":
        result = kgraph("validate", "--format", "json")
        assert result.exit_code == ExitStatus.FINDINGS, result.stderr
        document = json.loads(result.stdout)
        assert _denied(document["results"]) == expected
        assert "<https://w3id.org/kgraph/shapes#DeniedShape>" in document["pyshaclShapes"]
    else:
        # A second stance, kg:Denied, on a claim that had another: the shape's two old
        # findings stay old, the new one is found (by pySHACL) and refuses the batch.
        batch = tmp_path / "batch.ttl"
        batch.write_text(BATCH.replace('kg:note "a note"', "kg:stance kg:Denied"))
        result = kgraph("add", "--format", "json", str(batch))
        assert result.exit_code == ExitStatus.FINDINGS, (result.stdout, result.stderr)
        report = json.loads(result.stdout)["report"]
        assert [f for f, _ in _denied(report["results"])] == [
            '"<https://w3id.org/kgraph/id/claim-X11>"'
        ]
        assert "<https://w3id.org/kgraph/shapes#DeniedShape>" in report["pyshaclShapes"]
        assert not any((project / "data" / "batches").glob("*.ttl"))


def test_a_constraint_oxigraph_cannot_run_goes_to_pyshacl_before_the_run(project) -> None:
    """Valid SPARQL with a function Oxigraph lacks: the compiler leaves the shape to
    pySHACL from the shapes alone (no error mid-run), and pySHACL runs it."""
    from kgraph.shacl.compiled import compile_shapes

    extend_shapes(project, DENIED.replace("?value = kg:Denied", "<urn:x:fn>(?value)"))
    shapes = Project.open(project, isolated=False).shapes()
    compiled = compile_shapes(shapes.graph)
    assert "<https://w3id.org/kgraph/shapes#DeniedShape>" in compiled.left
    assert not compiled.failed
