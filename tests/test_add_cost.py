"""The fixed costs of `kgraph add` on a store, cut without weakening a check.

* The analysis of the shapes file and the compiler's survey of it are remembered in the
  store folder (without a store, in the user's cache folder), by the file's exact bytes
  (kgraph.shapecache): a second command analyses and compiles nothing, a changed byte is analysed again, and the
  guards on the shapes' SPARQL still run on a hit.
* The closed door's vocabulary is read with two DISTINCT queries instead of a walk over
  every quad of the ontology (each decoded from RocksDB on an on-disk store).

Counts, never timings: a test of speed would be a test of the machine.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from conftest import invoke
from kgraph.closed import Vocabulary
from kgraph.convert import graph_of
from kgraph.errors import ExitStatus, RefusedError
from kgraph.project import Project
from kgraph.shacl import compiled as kcompiled
from kgraph.shacl import index as kindex
from kgraph.shacl import run
from kgraph.shacl.index import load_shapes
from kgraph.shapecache import CACHE_FILE, ShapesCache
from kgraph.usercache import shapes_folder
from test_fast_paths import HOSTILE

FIXTURES = Path(__file__).parent / "data" / "shapes"

BLANK_SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .

[] a sh:NodeShape ;
    sh:targetClass ex:Thing ;
    sh:property [ sh:path ex:name ; sh:minCount 1 ; sh:datatype <http://www.w3.org/2001/XMLSchema#string> ] ;
    sh:node [ sh:property [ sh:path ex:size ; sh:maxCount 1 ] ] .

ex:Named a sh:NodeShape ;
    sh:targetNode ex:a, [ ex:odd true ] ;
    sh:property [ sh:path ( ex:p ex:q ) ; sh:minCount 1 ] .
"""
"""Shapes that are blank nodes, one with a target: a blank node's label differs between two
parses of the same bytes, so the cache must find it again by its place."""

BLANK_DATA = """
@prefix ex: <http://example.org/> .
ex:a a ex:Thing ; ex:size 1, 2 .
ex:b a ex:Thing ; ex:name "b" ; ex:p [ ex:q 1 ] .
"""


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the shapes are analysed (index.analyse, called by load_shapes) and surveyed
    by the compiler (compiled.compile_shapes) from now on."""
    counts = {"analyse": 0, "compile": 0}
    real_analyse, real_compile = kindex.analyse, kcompiled.compile_shapes

    def analyse(graph: Any) -> Any:
        counts["analyse"] += 1
        return real_analyse(graph)

    def compile_shapes(graph: Any) -> Any:
        counts["compile"] += 1
        return real_compile(graph)

    monkeypatch.setattr(kindex, "analyse", analyse)
    monkeypatch.setattr(kcompiled, "compile_shapes", compile_shapes)
    return counts


def _shapes(project: Path, store: Path | None) -> Any:
    """The project's shapes as a command's worker reads them, with the compiled survey the
    validation asks for (run._compiled)."""
    shapes = Project.open(project, store=store, isolated=False).shapes()
    run._compiled(shapes)
    return shapes


def _blankless(text: str) -> str:
    return re.sub(r"_:[0-9A-Za-z]+", "_:b", text)


def _same_analysis(a: Any, b: Any) -> None:
    assert a.reads == b.reads and a.shape_count == b.shape_count
    for name in ("global_shapes", "target_classes", "subjects_of", "objects_of"):
        assert len(getattr(a, name)) == len(getattr(b, name))
        assert {_blankless("_:" + s if ":" not in s else s) for s in getattr(a, name)} == {
            _blankless("_:" + s if ":" not in s else s) for s in getattr(b, name)
        }
    assert sorted(_blankless(n.n3()) for n in a.target_nodes) == sorted(
        _blankless(n.n3()) for n in b.target_nodes
    )
    assert len(a.targets_by_shape) == len(b.targets_by_shape)
    assert a.sparql == b.sparql
    assert {(str(s), str(c)) for s, c in a.handled} == {(str(s), str(c)) for s, c in b.handled}
    ca, cb = run._compiled(a), run._compiled(b)
    assert [_blankless(s.node.n3()) for s in ca.top] == [_blankless(s.node.n3()) for s in cb.top]
    assert {_blankless(k): v for k, v in ca.left.items()} == {
        _blankless(k): v for k, v in cb.left.items()
    }
    # The nodes found again are the graph's own (a blank node of this parse, not the last).
    for shape in cb.top:
        assert (shape.node, None, None) in b.graph


def test_a_second_add_on_the_store_analyses_the_shapes_no_more(
    project: Path, store: Path, analyses: dict[str, int]
) -> None:
    first = _shapes(project, store)
    assert analyses == {"analyse": 1, "compile": 1}
    assert (store / CACHE_FILE).is_file()
    second = _shapes(project, store)
    assert analyses == {"analyse": 1, "compile": 1}  # the old code: 2 and 2
    _same_analysis(first, second)


def test_without_a_store_the_users_cache_remembers(
    project: Path, analyses: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    first = _shapes(project, None)
    second = _shapes(project, None)
    assert analyses == {"analyse": 1, "compile": 1}  # the old code: 2 and 2
    _same_analysis(first, second)
    folder = shapes_folder(project)
    assert folder is not None and folder.is_relative_to(tmp_path / "cache")
    assert (folder / CACHE_FILE).is_file()


def test_a_cache_folder_inside_the_project_is_not_used(
    project: Path, analyses: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(project / "data" / "cache"))
    _shapes(project, None)
    _shapes(project, None)
    assert analyses == {"analyse": 2, "compile": 2}
    assert not (project / "data" / "cache").exists()


def test_validate_without_a_store_is_the_same_with_the_users_cache(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the CLI: the confined worker may write the folder (made before it starts)."""
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    fixture = str(FIXTURES / "AgreementShape-party-1.ttl")
    first = invoke(["--project", str(project), "validate", "-f", "json", fixture])
    folder = shapes_folder(project)
    assert folder is not None and (folder / CACHE_FILE).is_file()
    assert (folder / "kgraph-guard-cache.json").is_file()
    second = invoke(["--project", str(project), "validate", "-f", "json", fixture])
    assert first.exit_code == second.exit_code == ExitStatus.FINDINGS, first.stderr
    assert first.stdout == second.stdout and json.loads(first.stdout)["results"]


def test_a_changed_byte_is_analysed_again(
    project: Path, store: Path, analyses: dict[str, int]
) -> None:
    _shapes(project, store)
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_bytes(shapes.read_bytes() + b"\n# one more line\n")
    _shapes(project, store)
    assert analyses == {"analyse": 2, "compile": 2}
    _shapes(project, store)
    assert analyses == {"analyse": 2, "compile": 2}


@pytest.mark.parametrize(
    "damage",
    [
        b"not json",
        b'{"format": 1, "key": "0"}',
        b"[]",
        b"{}",
    ],
)
def test_a_damaged_cache_is_analysed_again_and_rewritten(
    project: Path, store: Path, analyses: dict[str, int], damage: bytes
) -> None:
    _shapes(project, store)
    (store / CACHE_FILE).write_bytes(damage)
    _shapes(project, store)
    assert analyses == {"analyse": 2, "compile": 2}
    assert json.loads((store / CACHE_FILE).read_text())["format"] == 1


def test_an_entry_that_does_not_fit_the_graph_is_a_miss(
    project: Path, store: Path, analyses: dict[str, int]
) -> None:
    _shapes(project, store)
    document = json.loads((store / CACHE_FILE).read_text())
    document["compiled"]["top"][0] = ["b", 10**6]  # a blank node the parse does not have
    (store / CACHE_FILE).write_text(json.dumps(document))
    _shapes(project, store)
    assert analyses == {"analyse": 2, "compile": 2}


def test_the_guards_run_on_a_cache_hit(project: Path, store: Path) -> None:
    """An entry stored under the key of hostile shapes (as a forger would) does not let
    their SERVICE through: the guards read the file's SPARQL on every command."""
    _shapes(project, store)
    clean = json.loads((store / CACHE_FILE).read_text())
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + HOSTILE)
    data = shapes.read_bytes()
    clean["key"] = ShapesCache(None).key(data)
    # Made to fit the hostile file's parse (its blank nodes), so that it is a hit.
    parsed = list(ox.parse(data, format=ox.RdfFormat.TURTLE))
    blanks = list(
        dict.fromkeys(
            n.value for t in parsed for n in (t.subject, t.object) if isinstance(n, ox.BlankNode)
        )
    )
    clean["blanks"] = len(blanks)
    (store / CACHE_FILE).write_text(json.dumps(clean))
    forged = ShapesCache(store / CACHE_FILE).get(clean["key"], graph_of(parsed), blanks)
    assert forged is not None  # a hit, were the guards not run first
    with pytest.raises(RefusedError, match="SERVICE is refused"):
        _shapes(project, store)


def test_add_on_the_store_is_the_same_with_the_cache(project: Path, store: Path) -> None:
    batch = FIXTURES / "AgreementShape-party-1.ttl"
    args = ["--store", str(store), "--project", str(project), "add", "--dry-run", "-f", "json"]
    first = invoke([*args, str(batch)])
    assert (store / CACHE_FILE).is_file()
    second = invoke([*args, str(batch)])
    assert first.exit_code == second.exit_code == ExitStatus.FINDINGS, first.stderr
    report = json.loads(second.stdout)["report"]
    assert report == json.loads(first.stdout)["report"]
    assert report["conforms"] is False and report["results"]


def test_blank_node_shapes_are_found_again_by_their_place(
    tmp_path: Path, analyses: dict[str, int]
) -> None:
    data = BLANK_SHAPES.encode()
    cache = ShapesCache(tmp_path / CACHE_FILE)
    fresh = load_shapes(data, name="shapes.ttl", max_depth=64, cache=cache)
    hit = load_shapes(data, name="shapes.ttl", max_depth=64, cache=cache)
    assert analyses == {"analyse": 1, "compile": 1}
    assert any(s.node.n3().startswith("_:") for s in run._compiled(hit).top)
    _same_analysis(fresh, hit)
    store = ox.Store()
    store.load(BLANK_DATA.encode(), format=ox.RdfFormat.TURTLE)
    found = [
        sorted(
            _blankless(repr(f.key))
            for f in run._compiled(s).validate(store, [ox.DefaultGraph()])[0]
        )
        for s in (fresh, hit)
    ]
    assert found[0] == found[1] and len(found[0]) >= 3


def test_the_shipped_fixtures_get_the_same_reports_from_a_remembered_analysis(
    project: Path, tmp_path: Path
) -> None:
    from kgraph.operations import read_inputs

    data = (project / "ontology" / "shapes.ttl").read_bytes()
    cache = ShapesCache(tmp_path / CACHE_FILE)
    fresh = load_shapes(data, name="ontology/shapes.ttl", max_depth=64, cache=cache)
    hit = load_shapes(data, name="ontology/shapes.ttl", max_depth=64, cache=cache)
    assert hit.compiled is not None  # from the cache, not surveyed again
    kgraph = Project.open(project, isolated=False)
    dataset = kgraph.dataset()  # in memory: no on-disk store in this process
    base = dataset.asserted_graphs()
    files = sorted(FIXTURES.glob("*.ttl"))[:24]
    for path in files:
        overlay = ox.Store()
        read = read_inputs([str(path)], kgraph.limits)
        for item, quads in read:
            target = ox.NamedNode(item.graph)
            overlay.extend(ox.Quad(q.subject, q.predicate, q.object, target) for q in quads)
        graphs = [item.graph for item, _ in read]
        reports = [run.validate_batch(dataset, s, base, overlay, graphs) for s in (fresh, hit)]
        assert [_blankless(repr(f.key)) for f in reports[0].findings] == [
            _blankless(repr(f.key)) for f in reports[1].findings
        ], path.name
        assert reports[0].findings, path.name  # each fixture breaks a shape


# -- the closed door's vocabulary ----------------------------------------------------------


class _Walks:
    """A store that counts the quads walked out of it by quads_for_pattern."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.walked = 0

    def quads_for_pattern(self, *pattern: Any) -> Any:
        for quad in self.store.quads_for_pattern(*pattern):
            self.walked += 1
            yield quad

    def query(self, *args: Any, **kwargs: Any) -> Any:
        return self.store.query(*args, **kwargs)


def test_the_vocabulary_is_read_without_walking_the_ontology(project: Path) -> None:
    dataset = Project.open(project, isolated=False).dataset()
    ontology = [s.graph for s in dataset.sources if s.relative.startswith("ontology/")]
    counted = _Walks(dataset.store)
    vocabulary = Vocabulary.from_store(counted, ontology)  # type: ignore[arg-type]
    assert counted.walked == 0  # the old code: every quad of the ontology (~900)
    # The same terms as the walk finds: every IRI subject of the ontology's graphs.
    subjects = {
        q.subject.value
        for g in ontology
        for q in dataset.store.quads_for_pattern(None, None, None, ox.NamedNode(g))
        if isinstance(q.subject, ox.NamedNode)
    }
    kg = "https://w3id.org/kgraph/ontology#"
    assert vocabulary.terms[kg] == {s.removeprefix(kg) for s in subjects if s.startswith(kg)}
    assert f"{kg}party" in vocabulary.object_properties
    assert "assertedOn" in vocabulary.terms[kg] and f"{kg}assertedOn" not in (
        vocabulary.object_properties
    )


# -- the ontology read once for both sides of a batch ----------------------------------------


def test_a_batch_reads_the_ontology_from_the_store_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graph before and after the batch see the same ontology (the batch is in its own
    graph): it is read from the store once per add, where it was read for each side."""
    from kgraph.operations import read_inputs
    from kgraph.store import Dataset

    kgraph = Project.open(project, isolated=False)
    dataset = kgraph.dataset()
    shapes = kgraph.shapes()
    read: list[tuple[str, ...]] = []
    real = Dataset.quads

    def counting(self: Dataset, graphs: Any) -> Any:
        read.append(tuple(graphs))
        return real(self, graphs)

    monkeypatch.setattr(Dataset, "quads", counting)
    overlay = ox.Store()
    [(item, quads)] = read_inputs([str(FIXTURES / "AgreementShape-party-1.ttl")], kgraph.limits)
    overlay.extend(
        ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(item.graph)) for q in quads
    )
    report = run.validate_batch(dataset, shapes, dataset.asserted_graphs(), overlay, [item.graph])
    ontology = tuple(s.graph for s in dataset.sources if s.relative.startswith("ontology/"))
    assert read.count(ontology) == 1  # the old code: 2, one for each side
    assert any(f.path == "<https://w3id.org/kgraph/ontology#party>" for f in report.findings)
