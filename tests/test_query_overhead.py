"""The fixed cost of a query: what depends only on the query text is worked out once per
text (the parse the guards read), what depends only on the store's state once per state (the
graphs a query runs over). Every test observes the work itself (how often the parser ran,
how often the store's graphs were listed), never a time; and every query still passes
every guard, with a changed text, depth bound, prefix set or allowed graph read afresh."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

import kgraph.sparql
import kgraph.store
from conftest import in_fresh_interpreter
from kgraph import Project
from kgraph.errors import InputError, LimitError, RefusedError
from kgraph.guards import check_query
from kgraph.namespaces import GRAPH, PREFIXES, inferred_graph

ONTOLOGY = """@prefix owl: <http://www.w3.org/2002/07/owl#> .
<https://w3id.org/kgraph/ontology#> a owl:Ontology .
"""
DATA = """@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
kgd:A skos:prefLabel "A" .
"""


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """How many times the SPARQL parser read each text (a full parse: the query start rule,
    and the update one when that failed)."""
    counted: Counter[str] = Counter()
    run = kgraph.sparql._Parser.run

    def counting(self: Any, *, update: bool) -> Any:
        if not update:
            counted[self.text] += 1
        return run(self, update=update)

    monkeypatch.setattr(kgraph.sparql._Parser, "run", counting)
    yield counted


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return make_tiny(tmp_path)


def make_tiny(tmp_path: Path) -> Path:
    root = tmp_path / "tiny"
    (root / "ontology").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "ontology" / "kg.ttl").write_text(ONTOLOGY)
    (root / "data" / "a.ttl").write_text(DATA)
    return root


def fresh(body: str = "?s ?p ?o") -> str:
    """A text no other test has parsed (the parses are remembered for the process)."""
    return f"SELECT * WHERE {{ {body} }} # {uuid.uuid4()}"


def check(text: str, **kwargs: Any) -> Any:
    return check_query(text, max_depth=kwargs.pop("max_depth", 64), **kwargs)


# -- the text: read once ------------------------------------------------------------------


def test_the_guard_parses_a_text_once_for_many_queries(parses: Counter[str]) -> None:
    text = fresh()
    shapes = {check(text, allowed_graph_prefix=GRAPH) for _ in range(20)}
    assert shapes == {check(text, allowed_graph_prefix=GRAPH)}
    assert parses[text] == 1


def test_the_front_door_parses_a_query_once_however_often_it_runs(
    tiny: Path, parses: Counter[str]
) -> None:
    # Project.query guards the text, then Dataset.query guards what it runs: one parse in
    # all, for the first of five runs, not two per run.
    project = Project.open(tiny, isolated=False)
    text = fresh("?s skos:prefLabel ?label")
    answers = {project.query(text).data for _ in range(5)}
    assert len(answers) == 1 and b'"A"' in answers.pop()
    assert parses[text] == 1


def test_binding_parses_the_template_and_each_bound_text_once(
    tiny: Path, parses: Counter[str]
) -> None:
    project = Project.open(tiny, isolated=False)
    template = fresh("?s skos:prefLabel ?label")
    for _ in range(4):
        first = project.query(template, [("label", "A")]).data
        other = project.query(template, [("label", "B")]).data
    assert b"kgraph/id/A" in first and b"kgraph/id/A" not in other
    # The template once on the first run (guarded within the depth bound; the binding's
    # unbounded search for its WHERE clause reuses that parse), each bound text once:
    # nothing on the later runs.
    assert parses.pop(template) == 1
    assert len(parses) == 2 and all("VALUES" in t for t in parses)
    assert all(count == 1 for count in parses.values())


def test_a_refused_text_is_refused_every_time(parses: Counter[str]) -> None:
    # The parse is remembered, not the verdict: the refusals are judged on each call.
    text = "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } } # " + str(
        uuid.uuid4()
    )
    for _ in range(3):
        with pytest.raises(RefusedError, match="SERVICE"):
            check(text)
    assert parses[text] == 1


def test_a_text_that_does_not_parse_is_read_every_time(parses: Counter[str]) -> None:
    text = f"SELECT * WHERE {{ ?s ?p }} # {uuid.uuid4()}"
    for _ in range(3):
        with pytest.raises(InputError, match="unexpected"):
            check(text)
    assert parses[text] == 3


def test_a_changed_text_is_read_afresh(parses: Counter[str]) -> None:
    text = fresh("?s ?p ?o")
    check(text)
    # One character on, a SERVICE: the remembered parse of the other text is not used.
    changed = text.replace("{ ?s ?p ?o }", "{ SERVICE <http://example.org/> { ?s ?p ?o } }")
    with pytest.raises(RefusedError):
        check(changed)
    assert parses[text] == 1 and parses[changed] == 1


def test_a_lower_depth_bound_is_enforced_on_a_text_read_before(parses: Counter[str]) -> None:
    text = fresh("{ { { ?s ?p ?o } } }")
    check(text, max_depth=64)
    with pytest.raises(LimitError):
        check(text, max_depth=2)
    # A higher bound than the first reading's reuses it; a lower one (that passes) reads.
    check(text, max_depth=1000)
    assert parses[text] == 2
    check(text, max_depth=8)
    assert parses[text] == 3


def test_other_prefixes_read_the_text_again() -> None:
    text = f"SELECT * WHERE {{ ?s nope{uuid.uuid4().hex}:p ?o }}"
    check(text, prefixes=None)  # any prefix counts
    with pytest.raises(InputError):
        check(text, prefixes=PREFIXES)


def test_the_allowed_graphs_are_judged_on_every_call() -> None:
    # The verdict is not remembered, only the parse: a FROM allowed to one caller is
    # refused to the next, which does not allow it.
    text = f"SELECT * FROM <urn:g:{uuid.uuid4()}> WHERE {{ ?s ?p ?o }}"
    graph = text.split("<", 1)[1].split(">", 1)[0]
    assert check(text, allowed_graphs=[graph]).from_graphs == (graph,)
    with pytest.raises(RefusedError, match="FROM"):
        check(text, allowed_graph_prefix=GRAPH)


def test_a_remembered_parse_cannot_be_changed_by_its_users() -> None:
    text = f"PREFIX p: <urn:p#> SELECT * WHERE {{ ?s p:x ?o }} # {uuid.uuid4()}"
    parsed = kgraph.sparql.parse(text, max_depth=64, prefixes=PREFIXES)
    with pytest.raises(TypeError):
        parsed.prefixes["p"] = "urn:other#"  # type: ignore[index]
    assert kgraph.sparql.parse(text, max_depth=64, prefixes=PREFIXES).prefixes == {"p": "urn:p#"}


def test_the_cache_of_parses_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kgraph.sparql, "PARSE_CACHE_CHARS", 4000)
    monkeypatch.setattr(kgraph.sparql, "_PARSED", {})
    monkeypatch.setattr(kgraph.sparql, "_cached_chars", 0)
    texts = [fresh() for _ in range(100)]  # about 60 characters each
    for text in texts:
        kgraph.sparql.parse(text, max_depth=64, prefixes=None)
    kept = list(kgraph.sparql._PARSED)
    assert 0 < len(kept) < len(texts) and kept == texts[-len(kept) :]
    assert kgraph.sparql._cached_chars == sum(map(len, kept)) <= 4000
    # A text of more than a sixteenth of the budget is not kept (nor pushes others out).
    big = fresh("?s ?p ?o . " * 30)
    kgraph.sparql.parse(big, max_depth=64, prefixes=None)
    assert list(kgraph.sparql._PARSED) == kept


# -- the store's graphs: listed once per state of the store -----------------------------------


class Recording:
    """A store that records the options of each query and passes it on."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.options: list[dict[str, Any]] = []

    def query(self, text: str, **options: Any) -> Any:
        graphs = ("use_default_graph_as_union", "default_graph", "named_graphs")
        self.options.append({k: v for k, v in options.items() if k in graphs})
        return self.store.query(text, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def labels(result: Any) -> list[str]:
    return sorted(str(row["label"].value) for row in result)


def test_the_graphs_are_listed_once_while_the_dataset_is_unchanged(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = Project.open(tiny, isolated=False).dataset()
    listed = Counter[str]()
    present = dataset.present_graphs

    def counting() -> set[str]:
        listed["present"] += 1
        return present()

    monkeypatch.setattr(dataset, "present_graphs", counting)
    text = "SELECT ?label WHERE { ?s skos:prefLabel ?label }"
    assert all(labels(dataset.query(text)) == ["A"] for _ in range(5))
    assert listed["present"] == 1
    # A graph added: listed again, and its triples are in the answer.
    b = ox.NamedNode("https://w3id.org/kgraph/id/B")
    label = ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")
    dataset.add_graph(f"{GRAPH}extra", [ox.Quad(b, label, ox.Literal("B"))])
    assert labels(dataset.query(text)) == ["A", "B"]
    assert listed["present"] == 2
    # Only some graphs asked for: not the union, whatever was remembered.
    only = [g for g in dataset.asserted_graphs() if g.endswith("/a.ttl")]
    assert labels(dataset.query(text, graphs=only)) == ["A"]


# The two tests on an on-disk store open it in this process (isolated=False, to count what
# the library does) and so run in a fresh interpreter: RocksDB starts its background threads
# in the process that opens a store, and a process forked after that (a later test's
# confined worker) has none, so the first flush of a store it creates waits for ever.


def test_an_on_disk_store_reads_its_record_again_only_when_it_changed(tmp_path: Path) -> None:
    in_fresh_interpreter(__name__, "on_disk_record", str(tmp_path))


def test_the_names_of_an_on_disk_store_are_opened_only_for_a_name_to_resolve(
    tmp_path: Path,
) -> None:
    in_fresh_interpreter(__name__, "on_disk_names", str(tmp_path))


def on_disk_record(folder: str) -> None:
    tmp_path = Path(folder)
    tiny = make_tiny(tmp_path)
    monkeypatch = pytest.MonkeyPatch()
    dataset = Project.open(tiny, store=tmp_path / "store", isolated=False).dataset()
    assert dataset.store_dir is not None
    reads = Counter[str]()
    read = kgraph.store.read_store_meta

    def counting(store_dir: Path) -> Any:
        reads["meta"] += 1
        return read(store_dir)

    monkeypatch.setattr(kgraph.store, "read_store_meta", counting)
    text = "SELECT ?label WHERE { ?s skos:prefLabel ?label }"
    recording = Recording(dataset.store)
    dataset.store = recording  # type: ignore[assignment]
    assert all(labels(dataset.query(text)) == ["A"] for _ in range(5))
    assert reads["meta"] == 1
    assert all(o == {"use_default_graph_as_union": True} for o in recording.options)

    # The store now keeps a closure that this dataset did not ask for: its record says so,
    # and the queries leave that graph out (an explicit list of graphs, not the union).
    closure = inferred_graph("rdfs")
    dataset.store = recording.store
    store = dataset.writable()
    store.add(
        ox.Quad(
            ox.NamedNode("https://w3id.org/kgraph/id/C"),
            ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
            ox.Literal("C"),
            ox.NamedNode(closure),
        )
    )
    dataset.remember_inference("rdfs")
    recording = Recording(dataset.store)
    dataset.store = recording  # type: ignore[assignment]
    before = reads["meta"]
    assert labels(dataset.query(text)) == ["A"]
    assert labels(dataset.query(text)) == ["A"]
    assert reads["meta"] == before + 1
    assert all("default_graph" in o for o in recording.options)
    assert closure not in {g.value for g in recording.options[0]["default_graph"]}
    # Asked for, the closure is seen.
    dataset.inferred_graphs.append(closure)
    assert labels(dataset.query(text)) == ["A", "C"]


LABEL_OF = """#+ summary: The label of a thing
#+ params:
#+   thing: {type: iri, required: false, example: "kgd:A"}
SELECT ?thing ?label WHERE { ?thing skos:prefLabel ?label }
"""


def on_disk_names(folder: str) -> None:
    tmp_path = Path(folder)
    tiny = make_tiny(tmp_path)
    monkeypatch = pytest.MonkeyPatch()
    # An on-disk store's name index reads the store's metadata and every file's stamp:
    # a query whose values need no look-up (none, or a full IRI) does not open it.
    import kgraph.namecache

    (tiny / "queries").mkdir()
    (tiny / "queries" / "label-of.rq").write_text(LABEL_OF)
    project = Project.open(tiny, store=tmp_path / "store", isolated=False)
    opened = Counter[str]()
    for_store = kgraph.namecache.NameCache.for_store

    def counting(*args: Any) -> Any:
        opened["names"] += 1
        return for_store(*args)

    monkeypatch.setattr(kgraph.namecache.NameCache, "for_store", counting)
    unbound = project.query("label-of")
    by_iri = project.query("label-of", [("thing", "<https://w3id.org/kgraph/id/A>")])
    assert b'"A"' in unbound.data and by_iri.data == unbound.data
    assert opened["names"] == 0
    # A name (the label "A") is looked up in the store's names, and found.
    by_name = project.query("label-of", [("thing", "A")])
    assert by_name.data == unbound.data
    assert opened["names"] == 1
