"""Virtuoso 7.2's row length (SR319) and the canned queries whose lists grow with a graph.

timeline's and events-on-date's ?datedBy gives, for a date with no source of its own, the
documents whose numbered sentences its graph holds, sorted and joined with " | ": at the
bench's 100k project a graph holds 104 documents, a list of 4,572 characters. Virtuoso
7.2.5 failed both queries there with ``SR319: Max row length is exceeded when trying to
store a string of 4572 chars into a temp col``.

What its source (openlink/virtuoso-opensource, tag v7.2.5.1) says: a row that a query
sorts (ORDER BY without LIMIT: ``setp_order_row`` in libsrc/Wi/hash.c), keeps DISTINCT or
builds a hash from is inserted into a temporary index (``row_insert_cast_temp``, then
``row_insert_cast`` in libsrc/Wi/row.c), which refuses a string longer than the room
left in a row of ``MAX_ROW_BYTES`` (libsrc/Wi/widisk.h: half of a page, 8192 bytes, less
its header: about 4,000 bytes for all columns together; a single ANY value over a page is
SR478). The page
size is a compile-time constant: no virtuoso.ini setting raises the limit. A SPARQL value
goes in as type ANY, never as a blob, which the temporary row would hold by reference.
Only a sorted LIMIT of at most 10,000 rows (``setp_mem_sort`` in libsrc/Wi/sort.c) keeps
its rows in memory without that check, and a LIMIT would cut the answer. A GROUP BY
builds a long GROUP_CONCAT in memory, and a long value joined last, with no sort after,
is not copied either.

So timeline sorts rows holding short values only (a marker stands for the graph's list)
and puts the list in after the sort (docs/stores.md). events-on-date, whose list for a date
may join the lists of several graphs, sorts and de-duplicates short keys for them (the
first document, the separator and the list's rank among the graphs' lists) and puts each
list in for its key after that sort (tests/test_virtuoso_events.py holds the cases the
keys must get right). This file checks both on a small reproduction: a graph holding 80
documents with long IRIs (a list of about 5,800 characters) and two events it dates.

* locally, each list is the graph's documents sorted and joined (computed here);
* on a real Virtuoso, timeline and events-on-date give the local rows; with their old
  texts (the list in a sorted row) both failed with SR319;
* a query that sorts rows holding such a list is refused by Virtuoso, and kgraph says so
  in one line (exit 3, nothing on stdout). If a Virtuoso stops refusing it, the test says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import Run, copy_shipped, invoke
from stores import pushed_virtuoso

DOCUMENTS = 80
KGD = "https://w3id.org/kgraph/id/"
EVENTS = {"rowlen-summit": "kg:date", "rowlen-talks": "kg:month"}


def document(n: int) -> str:
    return f"{KGD}rowlen-document-with-a-rather-long-name-{n:03d}"


def rowlen_data() -> str:
    """A graph with the numbered sentences of DOCUMENTS documents, and a summit dated to a
    day and talks dated to a month there, neither with a source of its own."""
    lines = [
        "@prefix kg: <https://w3id.org/kgraph/ontology#> .",
        f"@prefix kgd: <{KGD}> .",
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .",
        "",
        'kgd:rowlen-summit a kg:Summit ; skos:prefLabel "Row-length summit"@en ;',
        '    kg:date "2024-10-28"^^xsd:date .',
        'kgd:rowlen-talks a kg:Summit ; skos:prefLabel "Row-length talks"@en ;',
        '    kg:month "2024-10"^^xsd:gYearMonth .',
    ]
    # written out of order: the list is sorted by the query, not by the file
    for n in reversed(range(DOCUMENTS)):
        lines.append(
            f"kgd:rowlen-sentence-{n:03d} kg:inDocument <{document(n)}> ; kg:sentenceNumber 1 ."
        )
    return "\n".join(lines) + "\n"


EXPECTED_LIST = " | ".join(sorted(document(n) for n in range(DOCUMENTS)))
QUERIES = ["timeline", "events-on-date"]
EXAMPLE: list[tuple[str, ...]] = [(), ("-p", "date", "2024-10-28")]

# The plain form: the list in a row that the answer's ORDER BY sorts.
SORTED_LIST = """PREFIX kg: <https://w3id.org/kgraph/ontology#>
SELECT ?graph ?documents
WHERE {
  {
    SELECT ?graph (GROUP_CONCAT(?document; separator=" | ") AS ?documents)
    WHERE {
      {
        SELECT DISTINCT ?graph ?document
        WHERE {
          GRAPH ?graph { ?sentence kg:inDocument ?d ; kg:sentenceNumber ?n }
          BIND(STR(?d) AS ?document)
        }
        ORDER BY ?graph ?document
      }
    }
    GROUP BY ?graph
  }
}
ORDER BY ?graph ?documents
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = copy_shipped(tmp_path_factory.mktemp("rowlen") / "project")
    (target / "data" / "rowlen.ttl").write_text(rowlen_data(), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def kg(project: Path) -> Callable[..., Run]:
    def run(*args: str) -> Run:
        return invoke(["--project", str(project), *args])

    return run


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory, kg: Callable[..., Run]) -> Iterator[str]:
    with pushed_virtuoso(tmp_path_factory.mktemp("virtuoso-rowlen"), kg) as endpoint:
        yield endpoint


def sorted_rows(run: Run) -> list[str]:
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    return [lines[0], *sorted(lines[1:])]


def test_the_reproduction_is_over_virtuosos_row_length() -> None:
    # a row holds about 4,000 bytes (MAX_ROW_BYTES); the list alone must be longer
    assert len(EXPECTED_LIST) > 5000


@pytest.mark.parametrize("query", QUERIES)
def test_locally_the_list_is_the_graphs_documents_sorted(
    kg: Callable[..., Run], query: str
) -> None:
    run = kg("query", query, "-f", "tsv")
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    head = lines[0].split("\t")
    item, listed = head.index("?item" if query == "timeline" else "?event"), head.index("?datedBy")
    found = {}
    for line in lines[1:]:
        cells = line.split("\t")
        for name in EVENTS:
            if cells[item] == f"<{KGD}{name}>":
                found[name] = cells[listed]
    assert found == {name: f'"{EXPECTED_LIST}"' for name in EVENTS}


@pytest.mark.server
def test_on_virtuoso_timeline_gives_the_local_rows(kg: Callable[..., Run], virtuoso: str) -> None:
    here = sorted_rows(kg("query", "timeline", "-f", "tsv"))
    assert any(EXPECTED_LIST in line for line in here), "the long list must be in the answer"
    there = kg("query", "timeline", "-f", "tsv", "--endpoint", virtuoso)
    assert there.exit_code == 0, f"Virtuoso: {there.stderr}"
    assert sorted_rows(there) == here


def assert_refused_in_one_line(run: Run, what: str) -> None:
    assert run.exit_code == 3, (
        f"Virtuoso now answers {what}: docs/stores.md (SR319) and this test can be revised"
    )
    assert "SR319" in run.stderr and "Max row length" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""


@pytest.mark.server
def test_virtuoso_refuses_a_sorted_row_holding_the_list_in_one_line(
    kg: Callable[..., Run], virtuoso: str
) -> None:
    here = kg("query", "-e", SORTED_LIST, "-f", "tsv")
    assert here.exit_code == 0, here.stderr
    assert EXPECTED_LIST in here.stdout
    there = kg("query", "-e", SORTED_LIST, "-f", "tsv", "--endpoint", virtuoso)
    assert_refused_in_one_line(there, "a sorted row holding a long string")


@pytest.mark.server
@pytest.mark.parametrize("args", EXAMPLE, ids=["unbound", "example"])
def test_on_virtuoso_events_on_date_gives_the_local_rows(
    kg: Callable[..., Run], virtuoso: str, args: tuple[str, ...]
) -> None:
    here = kg("query", "events-on-date", *args, "-f", "tsv")
    assert here.exit_code == 0, here.stderr
    assert EXPECTED_LIST in here.stdout
    there = kg("query", "events-on-date", *args, "-f", "tsv", "--endpoint", virtuoso)
    assert there.exit_code == 0, f"Virtuoso: {there.stderr}"
    assert sorted_rows(there) == sorted_rows(here)
