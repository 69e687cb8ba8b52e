"""The second article as a claim sheet (issue 11): data/article2.yaml compiles to exactly
the triples first written by hand (tests/data/article2.ttl), the project loads it as its
own graph, `kgraph add article2.yaml` into a project without it gives that same graph,
and what the sheet format gained for it (characterisation, occasion, declared
attributions, weekdays checked against dates) works and fails as documented."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from conftest import DATA, ROOT, in_fresh_interpreter
from kgraph.errors import ExitStatus
from kgraph.layout import Layout
from kgraph.limits import Limits
from kgraph.namespaces import graph_iri
from kgraph.store import Dataset

SHEET = ROOT / "data" / "article2.yaml"
GRAPH = graph_iri("data/article2.yaml")


def rdflib_graph(triples: list[ox.Triple]) -> Graph:
    return Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")


def loaded(project: Path, graph: str = GRAPH, store: Path | None = None) -> Graph:
    dataset = Dataset.open(Layout(project), limits=Limits(), store_dir=store)
    return rdflib_graph([q.triple for q in dataset.quads([graph])])


def test_the_sheet_compiles_to_the_hand_written_turtle() -> None:
    reference = Graph().parse(DATA / "article2.ttl", format="turtle")
    shipped = loaded(ROOT)
    assert len(shipped) == len(reference) == 195
    assert isomorphic(shipped, reference)


def test_adding_the_sheet_to_a_project_without_it_gives_the_shipped_graph(
    kgraph, project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "article2.yaml"
    (project / "data" / "article2.yaml").rename(outside)
    run = kgraph("add", str(outside))
    assert run.exit_code == ExitStatus.OK, run.stderr
    (batch,) = sorted((project / "data" / "batches").glob("*.ttl"))
    relative = batch.relative_to(project).as_posix()
    added = Graph()
    for triple in loaded(project, graph_iri(relative)):
        if str(triple[0]) != graph_iri(relative):  # not the batch's provenance record
            added.add(triple)
    assert isomorphic(added, loaded(ROOT))


def test_cross_document_answers_after_adding_the_sheet(
    kgraph, project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "article2.yaml"
    (project / "data" / "article2.yaml").rename(outside)
    assert kgraph("add", str(outside)).exit_code == ExitStatus.OK
    troops = kgraph("query", "troop-estimates-over-time", "-f", "csv", "--columns", "factId")
    assert troops.stdout.split() == ["factId", "B05", "B06", "F57", "F56"]
    choe = kgraph("query", "about-entity", "-p", "entity", "Choe Son Hui", "-f", "tsv")
    facts = {line.split("\t")[3] for line in choe.stdout.splitlines()[1:]}
    assert {'"B01"', '"B04"', '"F01"'} <= facts
    conflicts = kgraph("query", "conflicting-claims", "-f", "tsv")
    assert "claim-B05" in conflicts.stdout and "claim-B06" in conflicts.stdout


def test_a_later_file_with_a_namesake_leaves_the_sheet_as_it_was(kgraph, project: Path) -> None:
    # data/namesake.ttl sorts after data/article2.yaml: the sheet never sees it, so its
    # "Choe Son Hui" stays kgd:ChoeSonHui instead of becoming ambiguous.
    (project / "data" / "namesake.ttl").write_text(
        "@prefix kg: <https://w3id.org/kgraph/ontology#> .\n"
        "@prefix kgd: <https://w3id.org/kgraph/id/> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        'kgd:ChoeSonHui2 a kg:Person ; skos:prefLabel "Choe Son-hui"@en .\n',
        encoding="utf-8",
    )
    assert isomorphic(loaded(project), loaded(ROOT))
    run = kgraph("validate")
    assert run.exit_code == ExitStatus.OK, run.stdout + run.stderr


def test_an_on_disk_store_recompiles_the_sheet_when_an_earlier_file_changes(
    project: Path, tmp_path: Path
) -> None:
    # In a new interpreter: the store is opened in process (conftest.no_store_in_process).
    in_fresh_interpreter(__name__, "recompiles_on_disk", str(project), str(tmp_path / "store"))


def recompiles_on_disk(folder: str, store_folder: str) -> None:
    project, store = Path(folder), Path(store_folder)
    assert isomorphic(loaded(project, store=store), loaded(ROOT))
    article = project / "data" / "article.ttl"
    # A new alternative name in the earlier file makes the sheet's "Kremlin" a known place.
    article.write_text(
        article.read_text(encoding="utf-8")
        + '\nkgd:Kremlin2 a kg:Place ; skos:prefLabel "Kremlin"@en .\n',
        encoding="utf-8",
    )
    with pytest.raises(Exception, match=r"article2\.yaml:\d+: 'Kremlin' is already in the graph"):
        loaded(project, store=store)


def test_a_broken_project_sheet_is_one_error_at_its_line(kgraph, project: Path) -> None:
    path = project / "data" / "article2.yaml"
    text = path.read_text(encoding="utf-8").replace("stance: not denied", "stance: not denyed")
    path.write_text(text, encoding="utf-8")
    line = next(n for n, x in enumerate(text.splitlines(), 1) if "not denyed" in x)
    run = kgraph("validate")
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr.startswith(f"Error: {path}:{line}: no stance is named 'not denyed'")
    assert run.stderr.count("\n") == 1


def test_said_naming_another_weekday_than_the_date_is_an_error(
    kgraph, project: Path, tmp_path: Path
) -> None:
    text = SHEET.read_text(encoding="utf-8")
    wrong = text.replace(
        "date: 2024-11-04\n      said: on Monday", "date: 2024-11-05\n      said: on Monday", 1
    )
    assert wrong != text
    (project / "data" / "article2.yaml").unlink()
    path = tmp_path / "article2.yaml"
    path.write_text(wrong, encoding="utf-8")
    run = kgraph("add", str(path))
    assert run.exit_code == ExitStatus.BAD_INPUT
    line = next(n for n, x in enumerate(wrong.splitlines(), 1) if "2024-11-05" in x) + 1
    assert run.stderr == (
        f"Error: {path}:{line}: said 'on Monday' names Monday, but 2024-11-05 is a Tuesday\n"
    )


def test_characterisation_and_occasion_reach_the_claim(kgraph, project: Path) -> None:
    run = kgraph(
        "query",
        "-f",
        "csv",
        "-e",
        "SELECT ?words ?occasion WHERE { kgd:claim-B04 kg:characterisation ?words ."
        " kgd:claim-B05 prov:wasGeneratedBy ?occasion }",
    )
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines()[1:] == [
        '"sincere, warm, comradely greetings",https://w3id.org/kgraph/id/statement-miller-2024-11-04'
    ]


def test_the_template_stays_within_25_lines() -> None:
    from kgraph.sheets import TEMPLATE

    assert len(TEMPLATE.splitlines()) <= 25


def test_source_date_epoch_stamps_the_batch(
    kgraph, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "article2.yaml"
    (project / "data" / "article2.yaml").rename(outside)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1730764800")
    run = kgraph("add", str(outside))
    assert run.exit_code == ExitStatus.OK, run.stderr
    assert run.stdout.startswith("added batch 20241105T000000Z-")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    bad = kgraph("add", str(DATA / "article2.ttl"))
    assert bad.exit_code == ExitStatus.BAD_INPUT
    assert bad.stderr == (
        "Error: SOURCE_DATE_EPOCH must be whole seconds since 1970, not 'yesterday'\n"
    )
