"""Claim sheets scale with the number of sheets (issue 11): a sheet of data/ resolves its
names against the graphs before it in the one loaded store (kgraph.store.GraphView), not
in a copy of them per sheet. Not timed: the tests count the files read, and check that
the compiled triples stay those of a store of the earlier files alone."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

import kgraph.store as kstore
from conftest import count_compiles
from kgraph.layout import Layout
from kgraph.limits import Limits
from kgraph.namespaces import graph_iri
from kgraph.store import Dataset, GraphView, sheet_base_copy

# Each test opens on-disk stores in process: in a fork of pytest's process (conftest), so
# that RocksDB's threads never live in the pytest worker (conftest.no_store_in_process).
pytestmark = pytest.mark.in_fork

SHEETS = 4


def small_sheet(n: int) -> str:
    """A later report citing the same publisher and people as article2.yaml."""
    return (
        f"document:\n  id: article3-{n}\n  url: https://example.org/report/{n}\n"
        f'  label: "Report {n}"\n  publisher: Al Jazeera\n  date: 2024-11-05\n'
        f'sentences:\n  1: "Putin met Choe Son Hui again, report {n} says."\n'
        f"claims:\n  - id: S{n}\n    sentence: 1\n    text: Putin met Choe Son Hui again ({n})\n"
        "    source: Ukraine\n    stance: reported\n    about: [Choe Son Hui, Vladimir Putin]\n"
    )


@pytest.fixture
def many(project: Path) -> Path:
    for n in range(SHEETS):
        (project / "data" / f"article3-{n}.yaml").write_text(small_sheet(n), encoding="utf-8")
    return project


def count_reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    reads: dict[str, int] = {}
    real = kstore.read_input

    def counting(path: str, *args: object, **kw: object) -> object:
        reads[Path(path).name] = reads.get(Path(path).name, 0) + 1
        return real(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(kstore, "read_input", counting)
    return reads


def triples(dataset: Dataset, graph: str) -> Graph:
    nt = ox.serialize([q.triple for q in dataset.quads([graph])], format=ox.RdfFormat.N_TRIPLES)
    return Graph().parse(data=nt, format="nt")


def test_a_fresh_store_reads_each_file_once_whatever_the_number_of_sheets(
    many: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = count_reads(monkeypatch)
    dataset = Dataset.open(Layout(many), limits=Limits(), store_dir=tmp_path / "store")
    files = [s.path.name for s in dataset.sources]
    assert len([f for f in files if f.startswith("article3-")]) == SHEETS
    # Before: every sheet reloaded the files before it (article.ttl read 1 + 5 times).
    assert reads == {name: 1 for name in files}


def test_a_refresh_for_one_more_sheet_reads_the_sheets_not_the_curated_files_again(
    many: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    Dataset.open(Layout(many), limits=Limits(), store_dir=store)
    (many / "data" / "article3-9.yaml").write_text(small_sheet(9), encoding="utf-8")
    reads = count_reads(monkeypatch)
    Dataset.open(Layout(many), limits=Limits(), store_dir=store)
    # The sheets are compiled again (the new file may change them); the curated files,
    # whose graphs the store keeps, are not read at all.
    assert reads == {"article2.yaml": 1, **{f"article3-{n}.yaml": 1 for n in (0, 1, 2, 3, 9)}}


def test_the_sheets_compile_in_a_store_as_against_their_earlier_files_alone(
    many: Path, tmp_path: Path
) -> None:
    layout = Layout(many)
    on_disk = Dataset.open(layout, limits=Limits(), store_dir=tmp_path / "store")
    in_memory = Dataset.open(layout, limits=Limits())
    for sheet in [s for s in on_disk.sources if s.is_sheet]:
        alone = sheet_base_copy(on_disk.sources, sheet, layout, Limits())
        data = sheet.path.read_bytes()
        expected = kstore.compile_project_sheet(data, sheet.relative, alone, Limits())
        reference = Graph().parse(
            data=ox.serialize(
                [ox.Triple(q.subject, q.predicate, q.object) for q in expected.quads],
                format=ox.RdfFormat.N_TRIPLES,
            ),
            format="nt",
        )
        assert len(reference) > 0
        assert isomorphic(triples(on_disk, sheet.graph), reference), sheet.relative
        assert isomorphic(triples(in_memory, sheet.graph), reference), sheet.relative


def test_a_later_namesake_does_not_reach_an_earlier_sheet_in_the_one_store(
    many: Path, tmp_path: Path
) -> None:
    # data/namesake.ttl sorts after the sheets and is in the same store as they are: they
    # still resolve "Choe Son Hui" to kgd:ChoeSonHui alone (else: ambiguous, an error).
    (many / "data" / "namesake.ttl").write_text(
        "@prefix kg: <https://w3id.org/kgraph/ontology#> .\n"
        "@prefix kgd: <https://w3id.org/kgraph/id/> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        'kgd:ChoeSonHui2 a kg:Person ; skos:prefLabel "Choe Son-hui"@en .\n',
        encoding="utf-8",
    )
    dataset = Dataset.open(Layout(many), limits=Limits(), store_dir=tmp_path / "store")
    kgd = "https://w3id.org/kgraph/id/"
    assert "namesake.ttl" in [s.path.name for s in dataset.sources]
    for sheet in ["data/article2.yaml", *(f"data/article3-{n}.yaml" for n in range(SHEETS))]:
        graph = ox.NamedNode(graph_iri(sheet))
        objects = {q.object for q in dataset.store.quads_for_pattern(None, None, None, graph)}
        assert ox.NamedNode(kgd + "ChoeSonHui") in objects, sheet
        assert ox.NamedNode(kgd + "ChoeSonHui2") not in objects, sheet


def test_the_view_reads_only_its_graphs() -> None:
    store = ox.Store()
    s, p = ox.NamedNode("https://w3id.org/kgraph/id/x"), ox.NamedNode("urn:p")
    for g in ("urn:g1", "urn:g2"):
        store.add(ox.Quad(s, p, ox.Literal(g), ox.NamedNode(g)))
    view = GraphView(store, ["urn:g1"])
    assert [q.object.value for q in view.quads_for_pattern(None, None, None)] == ["urn:g1"]
    rows = view.query("SELECT ?o { ?s ?p ?o }", use_default_graph_as_union=True)
    assert [r["o"].value for r in rows] == ["urn:g1"]
    with pytest.raises(ValueError):
        view.query("SELECT ?o { ?s ?p ?o }")


def test_one_more_sheet_compiles_that_sheet_only_and_gives_the_same_triples(
    many: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    compiled = count_compiles(monkeypatch)
    Dataset.open(Layout(many), limits=Limits(), store_dir=store)
    assert sorted(compiled) == sorted(["article2.yaml", *(f"article3-{n}.yaml" for n in range(4))])
    compiled.clear()
    (many / "data" / "article3-9.yaml").write_text(small_sheet(9), encoding="utf-8")
    on_disk = Dataset.open(Layout(many), limits=Limits(), store_dir=store)
    assert compiled == ["article3-9.yaml"]
    in_memory = Dataset.open(Layout(many), limits=Limits())
    for sheet in [s for s in on_disk.sources if s.is_sheet]:
        assert isomorphic(triples(on_disk, sheet.graph), triples(in_memory, sheet.graph))


def test_an_earlier_file_changed_recompiles_the_sheets_after_it(
    many: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    Dataset.open(Layout(many), limits=Limits(), store_dir=store)
    compiled = count_compiles(monkeypatch)
    sheet = many / "data" / "article3-1.yaml"
    sheet.write_text(small_sheet(1).replace("again", "once more"), encoding="utf-8")
    Dataset.open(Layout(many), limits=Limits(), store_dir=store)
    # Those before it resolved against the same files: from the cache.
    assert compiled == ["article3-1.yaml", "article3-2.yaml", "article3-3.yaml"]
    # The edited sheet's old entry is gone: one entry per sheet.
    assert len(list((store / kstore.SHEET_CACHE).iterdir())) == 5


def test_a_damaged_cache_entry_is_compiled_again(
    many: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    reference = triples(
        Dataset.open(Layout(many), limits=Limits()), graph_iri("data/article2.yaml")
    )
    Dataset.open(Layout(many), limits=Limits(), store_dir=store)
    for entry in (store / kstore.SHEET_CACHE).iterdir():
        entry.write_bytes(b"<not n-triples")
    (many / "data" / "article3-9.yaml").write_text(small_sheet(9), encoding="utf-8")
    compiled = count_compiles(monkeypatch)
    dataset = Dataset.open(Layout(many), limits=Limits(), store_dir=store)
    assert len(compiled) == SHEETS + 2
    assert isomorphic(triples(dataset, graph_iri("data/article2.yaml")), reference)
