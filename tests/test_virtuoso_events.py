"""events-on-date on Virtuoso 7.2: the date's sources sorted by short keys, the lists put in after.

events-on-date's ?datedBy joins, sorted and distinct, the sources of an event's date in
every graph that gives it; where a graph has no source for it, that graph's documents
(the ones whose numbered sentences it holds), sorted and joined as one item. At the
bench's 100k project such a list is 4,569 characters, and Virtuoso 7.2.5 refused every
form that sorted or made distinct rows holding it (SR319, "Max row length": a row it sorts
or keeps DISTINCT holds about 4,000 bytes; tests/test_virtuoso_rowlen.py). The query now
sorts and de-duplicates short keys (a source itself; for a graph's list its first
document, the separator and the list's rank among all graphs' lists) and puts each list in
for its key after that sort (docs/stores.md).

The reproduction here holds the cases the keys must get right, with lists longer than a
Virtuoso row:

* graph A: 80 documents with long IRIs, dating a summit (kg:date) and talks (kg:month);
* graph B: the same first document, then others: its list starts as A's and sorts after it;
  it dates the summit too;
* graph C: exactly A's documents (an equal list: one item), dating the talks;
* graph D: no sentences, the summit's date with A's first document as its own source (an
  IRI equal to the start of both lists, which sorts before them).

Locally ?datedBy is what Python computes from those sets; on a real Virtuoso the rows are
the local ones, with and without a date, but for the order of the summit's three items
(the old text: SR319). Pinned beside it: that order (Virtuoso gives the lists its OPTIONAL
put in before the own source), and two faults the query is written around, an IF over the
rank (SQ156) and the comparison with an unbound ?date (false in Virtuoso, so the
month-dated talks were lost). The order guard of tests/test_query_order.py is checked to
accept the form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from rdflib.plugins.sparql import prepareQuery

from conftest import ROOT, Run, copy_shipped, invoke
from stores import pushed_virtuoso
from test_query_order import nodes, reads_ordered_rows

KGD = "https://w3id.org/kgraph/id/"
QUERY = ROOT / "queries" / "events-on-date.rq"
PREFIXES = """@prefix kg: <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
SUMMIT = 'kgd:evlists-summit kg:date "2024-10-28"^^xsd:date .'
TALKS = 'kgd:evlists-talks kg:month "2024-10"^^xsd:gYearMonth .'
GRAPHS: dict[str, tuple[Iterable[int], list[str]]] = {
    "a": (range(80), [SUMMIT, TALKS]),
    "b": ([0, *range(40, 120)], [SUMMIT]),
    "c": (range(80), [TALKS]),
}


def document(n: int) -> str:
    return f"{KGD}evlists-document-with-a-rather-long-name-{n:03d}"


def sentences(documents: Iterable[int], graph: str) -> list[str]:
    # written out of order: the lists are sorted by the query, not by the file
    return [
        f"kgd:evlists-{graph}-sentence-{n:03d} kg:inDocument <{document(n)}> ;"
        " kg:sentenceNumber 1 ."
        for n in sorted(documents, reverse=True)
    ]


def joined(documents: Iterable[int]) -> str:
    return " | ".join(sorted(document(n) for n in documents))


LIST_A, LIST_B = joined(GRAPHS["a"][0]), joined(GRAPHS["b"][0])
EXPECTED = {
    # D's own source, A's list and B's list (same start), sorted as strings
    "evlists-summit": " | ".join(sorted([document(0), LIST_A, LIST_B])),
    # A's and C's lists are equal: one item
    "evlists-talks": LIST_A,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = copy_shipped(tmp_path_factory.mktemp("evlists") / "project")
    data = target / "data"
    (data / "evlists-events.ttl").write_text(
        PREFIXES
        + 'kgd:evlists-summit a kg:Summit ; skos:prefLabel "Lists summit"@en .\n'
        + 'kgd:evlists-talks a kg:Summit ; skos:prefLabel "Lists talks"@en .\n',
        encoding="utf-8",
    )
    for name, (documents, dates) in GRAPHS.items():
        lines = [*dates, *sentences(documents, name)]
        (data / f"evlists-{name}.ttl").write_text(PREFIXES + "\n".join(lines) + "\n", "utf-8")
    (data / "evlists-d.ttl").write_text(
        PREFIXES + SUMMIT + f"\nkgd:evlists-summit dcterms:source <{document(0)}> .\n", "utf-8"
    )
    return target


@pytest.fixture(scope="module")
def kg(project: Path) -> Callable[..., Run]:
    def run(*args: str) -> Run:
        return invoke(["--project", str(project), *args])

    return run


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory, kg: Callable[..., Run]) -> Iterator[str]:
    with pushed_virtuoso(tmp_path_factory.mktemp("virtuoso-evlists"), kg) as endpoint:
        yield endpoint


def all_dated_by(run: Run) -> dict[str, list[str]]:
    """The reproduction's events and the ?datedBy of each of their rows, from -f tsv."""
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    head = lines[0].split("\t")
    event, listed = head.index("?event"), head.index("?datedBy")
    found: dict[str, list[str]] = {}
    for line in lines[1:]:
        cells = line.split("\t")
        name = cells[event].removeprefix(f"<{KGD}").removesuffix(">")
        if name in EXPECTED:
            found.setdefault(name, []).append(cells[listed].removeprefix('"').removesuffix('"'))
    return found


def dated_by(run: Run) -> dict[str, str]:
    """The reproduction's events and their ?datedBy (the same in each of an event's rows)."""
    found = {}
    for name, values in all_dated_by(run).items():
        assert len(set(values)) == 1, f"{name}'s rows differ"
        found[name] = values[0]
    return found


def distinct_rows(run: Run) -> list[str]:
    """The header and the distinct rows, sorted. Locally an event whose date two graphs
    give has a row per graph, with the old text as with this one (the event's kg:date is
    matched in the union of the graphs, which Oxigraph does not de-duplicate; Virtuoso
    does); that is not what these tests are about."""
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    return [lines[0], *sorted(set(lines[1:]))]


def test_the_lists_are_longer_than_a_virtuoso_row() -> None:
    # a row Virtuoso sorts holds about 4,000 bytes (MAX_ROW_BYTES), and B starts as A does
    assert min(len(LIST_A), len(LIST_B)) > 5000
    assert LIST_A[:100] == LIST_B[:100] and LIST_A < LIST_B


ARGS = [(), ("-p", "date", "2024-10-28")]


def with_sorted_items(run: Run) -> list[str]:
    """The header and the distinct rows, sorted, each ?datedBy's items sorted: the same
    sources in any order."""
    rows = distinct_rows(run)
    column = rows[0].split("\t").index("?datedBy")
    out = set()
    for line in rows[1:]:
        cells = line.split("\t")
        cells[column] = " | ".join(sorted(cells[column].strip('"').split(" | ")))
        out.add("\t".join(cells))
    return [rows[0], *sorted(out)]


@pytest.mark.server
@pytest.mark.parametrize("args", ARGS, ids=["unbound", "the-summits-day"])
def test_on_virtuoso_events_on_date_gives_the_local_rows_and_sources(
    kg: Callable[..., Run], virtuoso: str, args: tuple[str, ...]
) -> None:
    here = kg("query", "events-on-date", *args, "-f", "tsv")
    # locally the lists are the documents' sets sorted and joined, as Python makes them
    assert dated_by(here) == EXPECTED
    there = kg("query", "events-on-date", *args, "-f", "tsv", "--endpoint", virtuoso)
    assert there.exit_code == 0, f"Virtuoso: {there.stderr}"
    assert with_sorted_items(there) == with_sorted_items(here)


@pytest.mark.server
def test_on_virtuoso_the_lists_put_in_come_first(kg: Callable[..., Run], virtuoso: str) -> None:
    # Virtuoso 7.2 gives the rows its OPTIONAL matched (the keys that stand for lists) before
    # the ones it did not, whatever the sort before it: the summit's own source comes last
    # and B's list before A's. A date with a list and other sources differs in its order
    # there (docs/stores.md); with one item, as in every date of the bench's graphs, it is
    # the local row.
    there = kg("query", "events-on-date", "-f", "tsv", "--endpoint", virtuoso)
    assert there.exit_code == 0, f"Virtuoso: {there.stderr}"
    found = all_dated_by(there)
    items = sorted(EXPECTED["evlists-summit"].split(" | "))
    assert all(sorted(value.split(" | ")) == items for value in found["evlists-summit"])
    assert EXPECTED["evlists-summit"] not in found["evlists-summit"], (
        "Virtuoso now keeps the sorted order through the OPTIONAL: docs/stores.md can say so"
    )
    assert set(found["evlists-talks"]) == {EXPECTED["evlists-talks"]}


def undone(rewritten: str, plain: str) -> str:
    text = QUERY.read_text(encoding="utf-8")
    assert text.count(rewritten) == 1, f"events-on-date.rq no longer holds {rewritten!r}"
    return text.replace(rewritten, plain)


KEY_WITH_LENGTH = """CONCAT(?firstDocument,
                        SUBSTR(CONCAT(" | ", SUBSTR(CONCAT("000000", STR(?rank)), STRLEN(STR(?rank)) + 1)),
                               1, ?suffixLength))"""
KEY_WITH_IF = """IF(?documents > 1,
                        CONCAT(?firstDocument, " | ", SUBSTR(CONCAT("000000", STR(?rank)), STRLEN(STR(?rank)) + 1)),
                        ?firstDocument)"""
UNBOUND_FIRST = "FILTER(!BOUND(?date) || COALESCE(IF(BOUND(?begins),"
UNBOUND_CAUGHT = "FILTER(COALESCE(IF(BOUND(?begins),"


def plain_key(text: str) -> str:
    """The key with the IF over ?rank (twice: the query computes the keys in two places)."""
    assert text.count(KEY_WITH_LENGTH) == 1
    indented = KEY_WITH_LENGTH.replace("\n", "\n    ")
    assert text.count(indented) == 1, "the second copy of the keys changed"
    return text.replace(KEY_WITH_LENGTH, KEY_WITH_IF).replace(
        indented, KEY_WITH_IF.replace("\n", "\n    ")
    )


@pytest.mark.server
def test_on_virtuoso_an_if_over_the_rank_fails(
    kg: Callable[..., Run], virtuoso: str, tmp_path: Path
) -> None:
    plain = tmp_path / "events-on-date.rq"
    plain.write_text(plain_key(QUERY.read_text(encoding="utf-8")), encoding="utf-8")
    assert dated_by(kg("query", str(plain), "-f", "tsv")) == EXPECTED
    there = kg("query", str(plain), "-f", "tsv", "--endpoint", virtuoso)
    assert there.exit_code == 3 and "SQ156" in there.stderr, (
        "Virtuoso now takes an IF over the rank: the suffix length may go (docs/stores.md)"
    )


@pytest.mark.server
def test_on_virtuoso_the_unbound_date_must_be_tested_first(
    kg: Callable[..., Run], virtuoso: str, tmp_path: Path
) -> None:
    plain = tmp_path / "events-on-date.rq"
    plain.write_text(undone(UNBOUND_FIRST, UNBOUND_CAUGHT), encoding="utf-8")
    here = kg("query", str(plain), "-f", "tsv")
    assert dated_by(here) == EXPECTED
    there = kg("query", str(plain), "-f", "tsv", "--endpoint", virtuoso)
    assert there.exit_code == 0, there.stderr
    assert f"<{KGD}evlists-summit>" in there.stdout
    assert f"<{KGD}evlists-talks>" not in there.stdout, (
        "Virtuoso now keeps the month-dated talks with COALESCE alone (docs/stores.md)"
    )


def test_the_order_guard_follows_a_sorted_sub_select_through_an_optional() -> None:
    # ?datedBy's GROUP_CONCAT reads the sorted keys with the lists put in by an OPTIONAL and
    # a BIND (a left join keeps the order of its left side); the guard of test_query_order
    # must accept that and still refuse a plain join after the sort.
    ordered = """SELECT ?s (GROUP_CONCAT(?v) AS ?vs) WHERE {
      { SELECT ?s ?k WHERE { ?s ?p ?k } ORDER BY ?s ?k }
      OPTIONAL { ?k ?q ?long }
      BIND(COALESCE(?long, ?k) AS ?v)
    } GROUP BY ?s"""
    joined_after = ordered.replace("OPTIONAL { ?k ?q ?long }", "?k ?q ?long .")
    verdicts = []
    for text in (ordered, joined_after):
        algebra = prepareQuery(text).algebra
        (aggregate,) = [n for n in nodes(algebra) if n.name == "AggregateJoin"]
        verdicts.append(reads_ordered_rows(aggregate))
    assert verdicts == [True, False]
