"""Review 5: output folders, portable kg:sourceFile, unknown ontology terms in a query.
Each test fails on the code before its fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Run
from kgraph.errors import ExitStatus

# -- -o into a folder that does not exist is bad input, and creates nothing ---------------

OUTPUT_COMMANDS = [
    ("export",),
    ("export", "-f", "nq.gz"),
    ("reason",),
    ("convert", "{data}"),
    ("query", "-e", "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"),
    ("validate",),
    ("check",),
]


@pytest.mark.parametrize("args", OUTPUT_COMMANDS, ids=lambda a: "-".join(a[:3])[:30])
def test_output_into_a_missing_folder_is_refused_and_creates_nothing(
    kgraph: Callable[..., Run], project: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    data = next(p for p in sorted((project / "data").glob("*.ttl")))
    missing = tmp_path / "nonexistent"
    target = missing / "dir" / "x.out"
    run = kgraph(*(str(data) if a == "{data}" else a for a in args), "-o", str(target))
    assert run.exit_code == ExitStatus.BAD_INPUT, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert str(target) in lines[0] and "does not exist" in lines[0]
    assert "Traceback" not in run.stderr
    assert not missing.exists()


def test_output_whose_folder_is_a_file_is_refused(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("keep\n")
    run = kgraph("export", "-o", str(blocker / "x.nq"))
    assert run.exit_code == ExitStatus.BAD_INPUT, run.stderr
    assert "is not a folder" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert blocker.read_text() == "keep\n"


def test_output_into_an_existing_folder_still_works_and_add_makes_its_batch_folder(
    kgraph: Callable[..., Run], project: Path, tmp_path: Path
) -> None:
    target = tmp_path / "x.nq"
    run = kgraph("export", "-o", str(target))
    assert run.exit_code == ExitStatus.OK, run.stderr
    assert target.stat().st_size > 0
    # data/batches/ is kgraph's own folder: the first add makes it.
    assert not (project / "data" / "batches").exists()
    sheet = tmp_path / "one.ttl"
    sheet.write_text(
        "@prefix kgd: <https://w3id.org/kgraph/id/> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        'kgd:review5-thing rdfs:label "review5" .\n'
    )
    added = kgraph("add", str(sheet))
    assert added.exit_code == ExitStatus.OK, added.stderr
    assert len(list((project / "data" / "batches").glob("*.ttl"))) == 1
