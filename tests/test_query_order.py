"""The order inside the canned queries' " | " lists: each GROUP_CONCAT reads an ordered sub-select.

SPARQL 1.1 has no ORDER BY inside GROUP_CONCAT and does not promise that a grouping keeps
the order of the solutions it reads, so a list such as timeline's ?datedBy is only
deterministic where the engine keeps the order of an ordered sub-select. Oxigraph, Jena
and Virtuoso 7.2 do (tests/test_stores.py compares the lists as strings on all three), and
docs/stores.md says so. This test keeps every canned GROUP_CONCAT on that footing: the
solutions it groups come from a sub-select whose last step is ORDER BY (through a BIND or
the left side of an OPTIONAL at most).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue

from conftest import ROOT

QUERIES = sorted((ROOT / "queries").glob("*.rq"))
# A sub-select's algebra above its ORDER BY: projection, DISTINCT, LIMIT/OFFSET, the
# multiset wrapper of a nested SELECT; then (reads_ordered_rows) a BIND and the left side of
# an OPTIONAL. Anything else (a join, a filter, a union) may reorder the rows before they
# are grouped.
ORDER_KEEPING = {"ToMultiSet", "Project", "Distinct", "Reduced", "Slice"}


def nodes(node: object) -> Iterator[CompValue]:
    """Every step of a query's algebra under ``node`` (test_query_speed walks it too)."""
    if isinstance(node, CompValue):
        yield node
        for value in node.values():
            yield from nodes(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from nodes(value)


def concatenations(path: Path) -> list[CompValue]:
    """The aggregate steps of the query that compute a GROUP_CONCAT."""
    algebra = prepareQuery(path.read_text(encoding="utf-8")).algebra
    return [
        node
        for node in nodes(algebra)
        if node.name == "AggregateJoin" and any(a.name == "Aggregate_GroupConcat" for a in node.A)
    ]


def reads_ordered_rows(aggregate: CompValue) -> bool:
    step = aggregate.p.p  # AggregateJoin -> Group -> the grouped pattern
    while isinstance(step, CompValue) and step.name in ORDER_KEEPING | {"Extend", "LeftJoin"}:
        # A BIND keeps the order of its rows; an OPTIONAL that of its left side (the
        # engines iterate it, probing the right: events-on-date puts its long lists in so,
        # after the sort, and tests/test_stores.py compares the lists as strings).
        step = step.p1 if step.name == "LeftJoin" else step.p
    return isinstance(step, CompValue) and step.name == "OrderBy"


CONCATENATING = [p for p in QUERIES if concatenations(p)]


def test_the_canned_queries_concatenate_somewhere() -> None:
    # the guard below must not pass for want of anything to look at
    assert {p.stem for p in CONCATENATING} >= {"timeline", "events-on-date", "visits"}


@pytest.mark.parametrize("path", CONCATENATING, ids=[p.stem for p in CONCATENATING])
def test_every_group_concat_reads_an_ordered_sub_select(path: Path) -> None:
    unordered = [a for a in concatenations(path) if not reads_ordered_rows(a)]
    assert not unordered, (
        f"{path.name}: a GROUP_CONCAT groups rows that no ORDER BY sorted just before; "
        "put the rows in a sub-select ending in ORDER BY (docs/stores.md)"
    )


def test_the_guard_sees_an_unordered_concatenation(tmp_path: Path) -> None:
    query = tmp_path / "unordered.rq"
    query.write_text(
        "SELECT ?s (GROUP_CONCAT(?o) AS ?os) WHERE { ?s ?p ?o } GROUP BY ?s\n", encoding="utf-8"
    )
    (aggregate,) = concatenations(query)
    assert not reads_ordered_rows(aggregate)
    query.write_text(
        "SELECT ?s (GROUP_CONCAT(?o) AS ?os) WHERE { { SELECT ?s ?o WHERE { ?s ?p ?o } "
        "ORDER BY ?o } ?s ?q ?x } GROUP BY ?s\n",
        encoding="utf-8",
    )
    (aggregate,) = concatenations(query)
    assert not reads_ordered_rows(aggregate)  # a join comes after the order
    query.write_text(
        "SELECT ?s (GROUP_CONCAT(?o) AS ?os) WHERE { { SELECT DISTINCT ?s ?o WHERE "
        "{ ?s ?p ?o } ORDER BY ?s ?o } } GROUP BY ?s\n",
        encoding="utf-8",
    )
    (aggregate,) = concatenations(query)
    assert reads_ordered_rows(aggregate)
