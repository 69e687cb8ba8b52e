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
    # Inside the project: its path relative to the project, not the local absolute path.
    assert record == {(KG + "sourceFile", "sheet.yaml"), (KG + "sha256", sha.hexdigest())}

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
            "date '2024-13-01' is not a valid date: month must be in 1..12",
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


# -- the closed door: add, validate FILE and convert refuse the typos -----------------

PREFIXES = """@prefix kg: <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

TYPOS = [
    (
        "kgd:claim-F05 <https://w3id.org/kgraph/ontolgy#stance> kg:Stated .",
        "<https://w3id.org/kgraph/ontolgy#stance> is not a term of the ontology: its namespace"
        " is one edit away from <https://w3id.org/kgraph/ontology#>; did you mean kg:stance?",
    ),
    (
        "kgd:claim-F05 kg:about kgd:deploymnet-dprk-troops-kursk .",
        "kgd:deploymnet-dprk-troops-kursk (kg:about) is not described anywhere in the graph or"
        " the batch; did you mean kgd:deployment-dprk-troops-kursk?",
    ),
    (
        "kgd:claim-F05 prov:wasAttributedTo kgd:article-publsher .",
        "kgd:article-publsher (prov:wasAttributedTo) is not described anywhere in the graph or"
        " the batch; did you mean kgd:article-publisher?",
    ),
    (
        'kgd:claim-F05 kg:date "2024-13-01"^^xsd:date .',
        '"2024-13-01" is not a valid xsd:date',
    ),
    (
        "kgd:claim-F05 kg:stanse kg:Stated .",
        "kg:stanse is not a term of the ontology; did you mean kg:stance?",
    ),
]


@pytest.mark.parametrize("command", ["add", "validate", "convert"])
@pytest.mark.parametrize(("triple", "message"), TYPOS)
def test_each_typo_is_refused_with_its_line_and_nearest_term(
    kgraph, project: Path, snapshot, command: str, triple: str, message: str
) -> None:
    path = project / "new.ttl"
    path.write_text(PREFIXES + triple + "\n", encoding="utf-8")
    before = snapshot(project / "data")
    run = kgraph(command, str(path))
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr == f"Error: {path}:5: {message}\n"
    assert snapshot(project / "data") == before


def test_every_problem_is_shown_and_counted(kgraph, project: Path) -> None:
    path = project / "new.ttl"
    path.write_text(PREFIXES + "\n".join(t for t, _ in TYPOS) + "\n", encoding="utf-8")
    run = kgraph("add", str(path))
    assert run.exit_code == 2
    shown = "; ".join(f"{path}:{5 + i}: {message}" for i, (_, message) in enumerate(TYPOS))
    assert run.stderr == f"Error: {len(TYPOS)} problems: {shown}\n"


def test_an_object_described_by_another_input_of_the_same_add_passes(kgraph, project: Path) -> None:
    first = project / "a.ttl"
    second = project / "b.ttl"
    first.write_text(PREFIXES + "kgd:claim-F05 kg:about kgd:new-thing .\n", encoding="utf-8")
    second.write_text(PREFIXES + "kgd:new-thing a kg:City .\n", encoding="utf-8")
    run = kgraph("validate", str(first), str(second))
    assert run.exit_code in (0, 1)  # shapes may still have findings; the door let it in
    assert "not described" not in run.stderr


# -- names as parameters ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Choe Son Hui", "choe son-hui", "CHOE SON HUI", "kgd:ChoeSonHui"])
def test_an_entity_parameter_takes_a_label_in_any_case_or_the_iri(kgraph, name: str) -> None:
    by_iri = kgraph("query", "about-entity", "-p", "entity", "kgd:ChoeSonHui", "-f", "csv")
    run = kgraph("query", "about-entity", "-p", "entity", name, "-f", "csv")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == by_iri.stdout
    assert run.stdout.count("\n") > 1  # rows, not just the header


def test_a_stance_parameter_takes_its_label(kgraph) -> None:
    run = kgraph("query", "claims-by-stance", "-p", "stance", "speculated", "-f", "csv")
    by_iri = kgraph("query", "claims-by-stance", "-p", "stance", "kg:Speculated", "-f", "csv")
    assert run.exit_code == 0, run.stderr
    assert run.stdout == by_iri.stdout
    assert "https://w3id.org/kgraph/ontology#Speculated" in run.stdout


@pytest.mark.parametrize(
    ("query", "param", "value", "message"),
    [
        (
            "about-entity",
            "entity",
            "Choe Son Hue",
            "no entity is named 'Choe Son Hue'; nearest: kgd:ChoeSonHui (Choe Son Hui)",
        ),
        (
            "about-entity",
            "entity",
            "kgd:ChoeSonHu",
            "kgd:ChoeSonHu is not a known entity; nearest: kgd:ChoeSonHui (Choe Son Hui)",
        ),
        (
            "claims-by-stance",
            "stance",
            "kg:Speculatd",
            "parameter stance takes a stance (kg:Stance); "
            "kg:Speculatd is not a known stance; nearest: kg:Speculated (speculated)",
        ),
    ],
)
def test_an_unknown_name_or_misspelled_iri_parameter_exits_2_with_the_nearest(
    kgraph, query: str, param: str, value: str, message: str
) -> None:
    run = kgraph("query", query, "-p", param, value)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr == f"Error: {message}\n"


def test_an_ambiguous_name_parameter_lists_the_candidates(kgraph, project: Path) -> None:
    extra = project / "data" / "namesake.ttl"
    extra.write_text(
        "@prefix kg: <https://w3id.org/kgraph/ontology#> .\n"
        "@prefix kgd: <https://w3id.org/kgraph/id/> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        'kgd:ChoeSonHui2 a kg:Person ; skos:prefLabel "Choe Son-hui"@en .\n',
        encoding="utf-8",
    )
    run = kgraph("query", "about-entity", "-p", "entity", "Choe Son Hui")
    assert run.exit_code == 2
    assert run.stderr == (
        "Error: parameter entity: 'Choe Son Hui' names 2 things: kgd:ChoeSonHui (Choe Son Hui), "
        "kgd:ChoeSonHui2 (Choe Son-hui); write one of these IRIs instead\n"
    )


def test_container_membership_properties_pass_the_door(kgraph, project: Path) -> None:
    path = project / "list.ttl"
    path.write_text(
        "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
        '<http://example.org/bag> a rdf:Bag ; rdf:_1 "a" ; rdf:_2 "b" .\n',
        encoding="utf-8",
    )
    run = kgraph("convert", str(path))
    assert run.exit_code == 0, run.stderr
    assert "rdf-syntax-ns#_2>" in run.stdout
