"""The canned queries' rewrites for speed keep their answers, and the shape that made
them slow stays out.

Not a timed test (speed is measured by the bench, docs/benchmarks.md "every canned
query"). Two kinds of check:

* the shape: an alternative path (``kg:about|rdf:subject``) in a UNION branch beside
  another pattern, its end bound outside the UNION. Oxigraph's planner starts such a
  branch with the other pattern (every ``schema:appearance`` of the graph) and runs the
  path for each of its rows, again for every row that the branch is joined with: visits
  took 3.2 s at 100k triples and over a minute at 1M that way, 0.05 s and 0.7 s with the
  path spelt as plain patterns;
* the answer: the rewritten query against its straightforward form (the path), byte for
  byte, on the shipped graph and on a generated project small enough for the suite.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib.paths import AlternativePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Variable

from conftest import ROOT
from kgraph.layout import Layout
from kgraph.limits import Limits
from kgraph.queries import CannedQuery, bind, from_text, load_query, with_values
from kgraph.results import capture
from kgraph.store import Dataset
from test_query_order import nodes  # the walk of a query's algebra

# bench/ is a top-level package of the repository, not part of the installed kgraph.
sys.path.insert(0, str(ROOT))
from bench.projects import build

QUERIES = sorted((ROOT / "queries").glob("*.rq"))


def variables(node: object) -> set[Variable]:
    if isinstance(node, Variable):
        return {node}
    if isinstance(node, CompValue):
        return set().union(*(variables(value) for value in node.values()))
    if isinstance(node, (list, tuple, set)):
        return set().union(*(variables(value) for value in node))
    return set()


def branches(union: CompValue) -> Iterator[object]:
    """The branches of ``{ A } UNION { B } UNION { C }`` (nested unions, flattened)."""
    for side in (union.p1, union.p2):
        if isinstance(side, CompValue) and side.name == "Union":
            yield from branches(side)
        else:
            yield side


def crowded_alternatives(text: str) -> list[str]:
    """The alternative paths that sit in a UNION branch beside other triple patterns, with
    an end bound outside the UNION (by a pattern it is joined with)."""
    found = []
    for node in nodes(prepareQuery(text).algebra):
        if node.name != "Join":
            continue
        for union, other in ((node.p1, node.p2), (node.p2, node.p1)):
            if not isinstance(union, CompValue) or union.name != "Union":
                continue
            outside = variables(other)
            for branch in branches(union):
                if not isinstance(branch, CompValue) or branch.name != "BGP":
                    continue
                found += [
                    p.n3()
                    for s, p, o in branch.triples
                    if isinstance(p, AlternativePath)
                    and len(branch.triples) > 1
                    and {s, o} & outside
                ]
    return found


@pytest.mark.parametrize("path", QUERIES, ids=[p.stem for p in QUERIES])
def test_no_alternative_path_beside_other_patterns_in_a_union_branch(path: Path) -> None:
    assert crowded_alternatives(path.read_text(encoding="utf-8")) == []


def test_the_check_finds_the_shape_visits_had() -> None:
    # The check itself: the straightforward form of visits' documents is what it flags.
    assert crowded_alternatives(reference_visits()) != []


# -- visits: the rewrite gives the answer of the straightforward form ---------------------

VISITS = ROOT / "queries" / "visits.rq"
PLAIN = """\
          { ?claim kg:about ?visit ; schema:appearance ?doc }
          UNION
          { ?claim rdf:subject ?visit ; schema:appearance ?doc }
"""
PATH = "          { ?claim kg:about|rdf:subject ?visit ; schema:appearance ?doc }\n"
# Each way a visit finds a document, so that the comparison is not of empty lists.
WAYS = {
    "kg:about": "?claim kg:about ?visit ; schema:appearance ?doc",
    "rdf:subject": "?claim rdf:subject ?visit ; schema:appearance ?doc",
    "dcterms:source": "?visit dcterms:source ?doc",
}


def reference_visits() -> str:
    """visits.rq with its documents found through the path, as it was before."""
    text = VISITS.read_text(encoding="utf-8")
    assert text.count(PLAIN) == 1, "visits.rq no longer spells the two patterns as PLAIN"
    return text.replace(PLAIN, PATH)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    root = build(20_000, 3, cache=tmp_path_factory.mktemp("bench"), source=ROOT).root
    return Dataset.open(Layout.locate(root), limits=Limits())


@pytest.fixture(scope="module")
def shipped() -> Dataset:
    return Dataset.open(Layout.locate(ROOT), limits=Limits())


def answer(dataset: Dataset, query: CannedQuery, params: list[tuple[str, str]]) -> bytes:
    return capture(dataset.query(with_values(query.text, bind(query, params))), "tsv").data


@pytest.mark.parametrize("graph", ["shipped", "generated"])
@pytest.mark.parametrize("params", [[], [("visitor", "kgd:ChoeSonHui")]], ids=["all", "example"])
def test_visits_answers_as_its_straightforward_form(
    request: pytest.FixtureRequest, graph: str, params: list[tuple[str, str]]
) -> None:
    dataset = request.getfixturevalue(graph)
    new = answer(dataset, load_query(VISITS), params)
    assert new == answer(dataset, from_text(reference_visits(), name="visits"), params)
    assert len(new.splitlines()) > 1


@pytest.mark.parametrize("way", sorted(WAYS))
def test_the_generated_graph_has_visits_documented_each_way(generated: Dataset, way: str) -> None:
    assert generated.query(
        "PREFIX dcterms: <http://purl.org/dc/terms/> PREFIX schema: <http://schema.org/> "
        f"ASK {{ ?visit kg:visitor ?visitor . {WAYS[way]} }}"
    )


# -- alternative-names: each distinct string matched once gives the answer of the pairs ---

ALTERNATIVE_NAMES = ROOT / "queries" / "alternative-names.rq"
PAIRS = """\
          VALUES ?labelProperty { skos:altLabel skos:hiddenLabel }
          ?entity ?labelProperty ?label .
          ?sentence a kg:Sentence ;
                    kg:inDocument ?doc ;
                    schema:text ?sentenceText .
          FILTER(CONTAINS(STR(?sentenceText), STR(?label)))
"""


def reference_alternative_names() -> str:
    """alternative-names.rq with every (label, sentence) pair tested in the filter, as it
    was before."""
    text = ALTERNATIVE_NAMES.read_text(encoding="utf-8")
    start = text.index("          # Each distinct label string matched once")
    last = "          FILTER(STR(?label) = ?labelText)\n"
    end = text.index(last, start) + len(last)
    return text[:start] + PAIRS + "          BIND(STR(?doc) AS ?document)\n" + text[end:]


@pytest.mark.parametrize("graph", ["shipped", "generated"])
@pytest.mark.parametrize("params", [[], [("entity", "kgd:ChoeSonHui")]], ids=["all", "example"])
def test_alternative_names_answers_as_its_straightforward_form(
    request: pytest.FixtureRequest, graph: str, params: list[tuple[str, str]]
) -> None:
    dataset = request.getfixturevalue(graph)
    new = answer(dataset, load_query(ALTERNATIVE_NAMES), params)
    reference = from_text(reference_alternative_names(), name="alternative-names")
    assert new == answer(dataset, reference, params)
    documents = [row.split("\t")[-1] for row in new.decode().splitlines()[1:]]
    # Not vacuous: some names are found in documents' sentences, and some are not.
    assert any(documents) and not all(documents)


def contains_calls(text: str) -> list[CompValue]:
    return [n for n in nodes(prepareQuery(text).algebra) if n.name == "Builtin_CONTAINS"]


def test_alternative_names_makes_no_string_in_its_contains_filter() -> None:
    # The filter runs for every (label text, sentence) pair: its operands are strings made
    # before, once each, not STR() calls made again for each pair.
    calls = contains_calls(ALTERNATIVE_NAMES.read_text(encoding="utf-8"))
    assert calls and all(
        isinstance(c.arg1, Variable) and isinstance(c.arg2, Variable) for c in calls
    )
    assert not all(
        isinstance(c.arg1, Variable) for c in contains_calls(reference_alternative_names())
    )


def test_the_generated_graph_has_label_strings_shared_by_several_labels(
    generated: Dataset,
) -> None:
    # So that the matches given back to the labels are more than one label's each.
    assert generated.query(
        "ASK { VALUES ?p { skos:altLabel skos:hiddenLabel } VALUES ?q { skos:altLabel skos:hiddenLabel }"
        " ?a ?p ?x . ?b ?q ?y FILTER(?a != ?b && STR(?x) = STR(?y)) }"
    )
