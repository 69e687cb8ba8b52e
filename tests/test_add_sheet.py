"""Claim sheets through the command line (issue 11): `kgraph template`, `kgraph add
SHEET.yaml` (sheet -> triples -> queries), its dry run as Turtle, re-adding, and every
sheet error as one stderr line at the sheet's line with exit 2."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyoxigraph as ox
import pytest

from kgraph.namespaces import KG
from kgraph.sheets import TEMPLATE


def sheet(project: Path, text: str = TEMPLATE, name: str = "sheet.yaml") -> Path:
    path = project / name
    path.write_text(text, encoding="utf-8")
    return path


def batch_files(project: Path) -> list[Path]:
    return sorted((project / "data" / "batches").glob("*.ttl"))


def test_template_prints_the_commented_sheet(kgraph) -> None:
    run = kgraph("template")
    assert run.exit_code == 0
    assert run.stdout == TEMPLATE


def test_dry_run_as_turtle_prints_the_batch_and_writes_nothing(kgraph, project: Path) -> None:
    path = sheet(project)
    run = kgraph("add", "--dry-run", "-f", "turtle", str(path))
    assert run.exit_code == 0, run.stderr
    assert run.stderr.startswith("dry run: would add batch ")
    triples = list(ox.parse(run.output_bytes, format=ox.RdfFormat.TURTLE))
    assert any(t.predicate.value == KG + "sourceFile" for t in triples)  # the batch record
    assert any(t.object.value == "11000" for t in triples)
    assert batch_files(project) == []


def test_sheet_goes_in_as_a_batch_recording_the_sheet_and_answers_queries(
    kgraph, project: Path
) -> None:
    path = sheet(project)
    run = kgraph("add", str(path))
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith("added batch ")
    (batch,) = batch_files(project)
    record = {
        (t.predicate.value, t.object.value)
        for t in ox.parse(path=str(batch), format=ox.RdfFormat.TURTLE)
        if t.predicate.value in (KG + "sourceFile", KG + "sha256")
    }
    sha = hashlib.sha256(len(path.read_bytes()).to_bytes(8, "big") + path.read_bytes())
    assert record == {(KG + "sourceFile", str(path)), (KG + "sha256", sha.hexdigest())}

    meeting = kgraph(
        "query",
        "-f",
        "csv",
        "-e",
        "SELECT ?place WHERE { ?e a kg:Meeting ; kg:participant kgd:ChoeSonHui, ?lavrov ;"
        ' kg:location ?place . ?lavrov skos:prefLabel "Sergey Lavrov"@en }',
    )
    assert meeting.exit_code == 0, meeting.stderr
    assert "https://w3id.org/kgraph/id/Moscow" in meeting.stdout
    troops = kgraph("query", "troop-estimates-over-time", "-f", "csv")
    assert troops.exit_code == 0, troops.stderr
    assert "11000" in troops.stdout


def test_adding_the_same_sheet_again_says_already_added(kgraph, project: Path) -> None:
    path = sheet(project)
    first = kgraph("add", str(path))
    assert first.exit_code == 0, first.stderr
    again = kgraph("add", str(path))
    assert again.exit_code == 0, again.stderr
    assert again.stdout.startswith("nothing added: this input was already added as batch ")
    assert len(batch_files(project)) == 1


def test_a_yml_sheet_is_a_sheet_too(kgraph, project: Path) -> None:
    run = kgraph("add", "--dry-run", str(sheet(project, name="sheet.yml")))
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith("dry run: would add batch ")


def _line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "stance: stated ",
            "stance: stateed",
            "no stance is named 'stateed'; nearest: kg:Stated (stated)",
        ),
        (
            "Choe Son Hui]",
            "Choe Son Hue]",
            "no participant is named 'Choe Son Hue'; nearest: kgd:ChoeSonHui (Choe Son Hui);"
            " declare it under new: with its class",
        ),
        ("  title:", "  titel:", "unknown key 'titel' in document; did you mean 'title'?"),
        (
            "2024-11-01}",
            "2024-13-01}",
            "date '2024-13-01' is not a date; write it as YYYY-MM-DD",
        ),
    ],
)
def test_each_sheet_error_is_one_line_at_its_line_exit_2(
    kgraph, project: Path, old: str, new: str, message: str
) -> None:
    assert old in TEMPLATE
    text = TEMPLATE.replace(old, new, 1)
    path = sheet(project, text)
    run = kgraph("add", str(path))
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr == f"Error: {path}:{_line_of(text, new)}: {message}\n"
    assert batch_files(project) == []


def test_malformed_yaml_names_its_line(kgraph, project: Path) -> None:
    path = sheet(project, "document:\n  title: [unclosed\n")
    run = kgraph("add", str(path))
    assert run.exit_code == 2
    assert run.stderr.startswith(f"Error: {path}:")
    assert run.stderr.count("\n") == 1


def test_a_sheet_is_added_on_its_own(kgraph, project: Path) -> None:
    path = sheet(project)
    run = kgraph("add", str(path), str(project / "data" / "article.ttl"))
    assert run.exit_code == 2
    assert run.stderr == "Error: add a claim sheet on its own: one SHEET.yaml per `kgraph add`\n"
