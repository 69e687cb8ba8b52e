"""Validation internals: chunks spread over processes give the same answer as one pass; a
shape kgraph cannot localise makes it validate the whole graph, and say so."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import DATA
from kgraph import Project
from kgraph.errors import KGraphError
from kgraph.limits import fork_map
from kgraph.shacl import engine as validation

BROKEN = sorted((DATA / "shapes").glob("*.ttl"))[:12]


def report(project: Path, chunk: int, monkeypatch: pytest.MonkeyPatch) -> validation.Report:
    monkeypatch.setattr(validation, "CHUNK", chunk)
    return Project.open(project, isolated=False).validate([str(p) for p in BROKEN])


def test_many_small_chunks_in_several_processes_equal_one_pass(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = report(project, 10**6, monkeypatch)
    chunked = report(project, 17, monkeypatch)
    assert len(whole.findings) >= len(BROKEN)
    assert sorted(map(repr, (f.key for f in chunked.findings))) == sorted(
        map(repr, (f.key for f in whole.findings))
    )
    assert chunked.focus_nodes == whole.focus_nodes


def test_a_failing_chunk_fails_the_whole_validation() -> None:
    def fn(item: int) -> list[validation.Finding]:
        if item == 3:
            raise KGraphError("chunk 3 broke")
        return []

    with pytest.raises(KGraphError, match="chunk 3 broke"):
        fork_map(fn, list(range(6)), 2)
    assert fork_map(lambda i: [], list(range(6)), 2) == [[] for _ in range(6)]


# -- a shape kgraph cannot localise: the whole graph is validated, and the report says so ----

CYCLE_SHAPE = '''
kgs:PlaceShape-noCycle
    a sh:NodeShape ;
    sh:targetClass kg:Place ;
    sh:sparql kgs:PlaceShape-noCycle-select .

kgs:PlaceShape-noCycle-select
    a sh:SPARQLConstraint ;
    sh:message "The place is located in itself through kg:locatedIn." ;
    sh:prefixes <https://w3id.org/kgraph/shapes> ;
    sh:select """SELECT $this WHERE { $this kg:locatedIn+ $this }""" .
'''

CYCLE_BATCH = (
    "@prefix kg: <https://w3id.org/kgraph/ontology#> .\n"
    "@prefix kgd: <https://w3id.org/kgraph/id/> .\n"
    "kgd:Russia kg:locatedIn kgd:KurskOblast .\n"
)


def test_global_shape_falls_back_to_the_whole_graph_and_names_the_shape(
    kgraph, project: Path
) -> None:
    """pySHACL's engine works on neighbourhoods, so an unbounded path makes it fall back;
    the compiled engine validates the whole graph anyway, in the same one pass."""
    shapes = project / "ontology" / "shapes.ttl"
    local = kgraph("validate", "--engine", "pyshacl")
    assert local.exit_code == 0, local.stdout + local.stderr
    assert "chunked" in local.stdout and "not local" not in local.stdout
    checked = re.search(r"\((\d+) nodes checked", local.stdout)
    assert checked is not None

    shapes.write_text(shapes.read_text() + CYCLE_SHAPE)
    result = kgraph("validate", "--engine", "pyshacl")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"({checked.group(1)} nodes checked, whole-graph)" in result.stdout
    assert (
        "validated the whole graph because these shapes are not local: kgs:PlaceShape-noCycle"
        in result.stdout
    )
    as_json = json.loads(kgraph("validate", "--engine", "pyshacl", "-f", "json").stdout)
    assert as_json["globalShapes"] == ["https://w3id.org/kgraph/shapes#PlaceShape-noCycle"]
    compiled = kgraph("validate")
    assert compiled.exit_code == 0, compiled.stdout + compiled.stderr
    assert f"({checked.group(1)} nodes checked, compiled)" in compiled.stdout


def test_global_shape_refuses_a_batch_that_only_the_whole_graph_shows(
    kgraph, project: Path, tmp_path: Path, snapshot
) -> None:
    batch = tmp_path / "cycle.ttl"
    batch.write_text(CYCLE_BATCH)
    # Without the shape the batch is fine: nothing else refuses it.
    assert kgraph("add", "--dry-run", str(batch)).exit_code == 0

    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + CYCLE_SHAPE)
    before = snapshot(project / "data")
    result = kgraph("add", str(batch))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "whole-graph" in result.stdout and "kgs:PlaceShape-noCycle" in result.stdout
    assert result.stdout.count("The place is located in itself") == 2
    assert {"kgd:Russia", "kgd:KurskOblast"} <= set(result.stdout.split())
    assert snapshot(project / "data") == before
