"""The query forms the canned queries use for Virtuoso 7.2's sake, each beside the plain form.

about-entity, took-part-together and troop-estimates-over-time are written around four
faults of Virtuoso 7.2.5 (docs/stores.md). Each probe here is a small query in the plain
form and in the form the canned query uses:

* locally (pyoxigraph) both forms give the same answer, so the rewrite changes nothing
  for kgraph's own store;
* on a real Virtuoso the rewritten form gives the local answer and the plain one does
  not. The second half pins the fault: if a Virtuoso stops making it, the test says so,
  and the comment in the canned query (and docs/stores.md) can go.

tests/test_stores.py runs the canned queries themselves on all three stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, Run, copy_shipped, invoke
from stores import pushed_virtuoso


@dataclass(frozen=True)
class Probe:
    """A canned query with one rewrite undone: each (rewritten, plain) pair of strings is
    replaced in the query's text."""

    name: str
    query: str
    undo: tuple[tuple[str, str], ...]
    args: tuple[str, ...] = ()

    def plain_text(self) -> str:
        text = (ROOT / "queries" / f"{self.query}.rq").read_text(encoding="utf-8")
        for rewritten, plain in self.undo:
            assert text.count(rewritten) == 1, f"{self.query}.rq no longer holds {rewritten!r}"
            text = text.replace(rewritten, plain)
        return text


PARTICIPANT = "{ BIND(kg:participant AS ?role) } UNION { ?role rdfs:subPropertyOf+ kg:participant }"
PROBES = [
    Probe(
        # Virtuoso sorts long literals that share a prefix by the prefix only
        "about-entity's names sorted as literals",
        "about-entity",
        (("ORDER BY ?entity ?claim STR(?eventName)", "ORDER BY ?entity ?claim ?eventName"),),
        ("-p", "entity", "kgd:ChoeSonHui"),
    ),
    Probe(
        # the zero-length step of a path in a join over a named dataset is lost
        "about-entity's roles as one path",
        "about-entity",
        ((PARTICIPANT, "?role rdfs:subPropertyOf* kg:participant ."),),
    ),
    Probe(
        # SQ156: an expression over aggregates (LANG() of the names) in the projection of
        # a grouped sub-select joined with more
        "about-entity's language from LANG()",
        "about-entity",
        (
            (
                '(GROUP_CONCAT(STR(?eventName); separator=" | ") AS ?events)\n'
                "           (COUNT(?eventName) AS ?eventCount) (COUNT(?label) AS ?labelCount)",
                '(IF(MIN(LANG(?eventName)) = MAX(LANG(?eventName)) && MIN(LANG(?eventName)) != "",'
                ' STRLANG(GROUP_CONCAT(STR(?eventName); separator=" | "), MIN(LANG(?eventName))),'
                ' GROUP_CONCAT(STR(?eventName); separator=" | ")) AS ?events)',
            ),
            (
                "IF(?eventCount = 0, ?none,\n"
                '          IF(?labelCount = ?eventCount, STRLANG(?events, "en"), ?events))',
                'IF(?events = "", ?none, ?events)',
            ),
        ),
    ),
    Probe(
        # two paths ending in one constant, joined: no rows at all
        "took-part-together's roles to the constant",
        "took-part-together",
        (
            (
                "?role rdfs:subPropertyOf* ?participant .\n"
                "    ?otherRole rdfs:subPropertyOf* ?participant .\n"
                "    VALUES ?participant { kg:participant }\n",
                "?role rdfs:subPropertyOf* kg:participant .\n"
                "    ?otherRole rdfs:subPropertyOf* kg:participant .\n",
            ),
        ),
    ),
    Probe(
        # asked whether a path joins two bound ends, Virtuoso finds none
        "troop-estimates-over-time's classes as a path",
        "troop-estimates-over-time",
        (
            (
                "?eventType rdfs:subClassOf* kg:Event .\n"
                "      FILTER(STR(?eventType) = STR(?activityType))",
                "?activityType rdfs:subClassOf* kg:Event .",
            ),
        ),
    ),
]
IDS = [p.name.replace(" ", "-").replace("'", "") for p in PROBES]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("forms") / "project"
    copy_shipped(target)
    return target


@pytest.fixture(scope="module")
def kg(shipped: Path) -> Callable[..., Run]:
    def run(*args: str) -> Run:
        return invoke(["--project", str(shipped), *args])

    return run


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory, kg: Callable[..., Run]) -> Iterator[str]:
    with pushed_virtuoso(tmp_path_factory.mktemp("virtuoso"), kg) as endpoint:
        yield endpoint


def answer(kg: Callable[..., Run], query: str, probe: Probe, *endpoint: str) -> Run:
    return kg("query", query, *probe.args, "-f", "tsv", *endpoint)


def rows(run: Run) -> list[str]:
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    return [lines[0], *sorted(lines[1:])]


@pytest.mark.parametrize("probe", PROBES, ids=IDS)
def test_locally_the_rewrite_changes_no_byte(
    kg: Callable[..., Run], tmp_path: Path, probe: Probe
) -> None:
    plain = tmp_path / f"{probe.query}.rq"
    plain.write_text(probe.plain_text(), encoding="utf-8")
    here = answer(kg, probe.query, probe)
    assert here.exit_code == 0, here.stderr
    assert len(here.stdout.splitlines()) > 2, "the probe must find something in the shipped graph"
    assert answer(kg, str(plain), probe).stdout == here.stdout


@pytest.mark.server
@pytest.mark.parametrize("probe", PROBES, ids=IDS)
def test_on_virtuoso_only_the_rewritten_query_gives_the_local_rows(
    kg: Callable[..., Run], virtuoso: str, tmp_path: Path, probe: Probe
) -> None:
    plain = tmp_path / f"{probe.query}.rq"
    plain.write_text(probe.plain_text(), encoding="utf-8")
    here = rows(answer(kg, probe.query, probe))
    assert rows(answer(kg, probe.query, probe, "--endpoint", virtuoso)) == here
    there = answer(kg, str(plain), probe, "--endpoint", virtuoso)
    assert there.exit_code != 0 or rows(there) != here, (
        f"Virtuoso now answers {probe.name!r} right: the rewrite may go (docs/stores.md)"
    )


# -- the label joined after the grouping, for a claim attributed to no one ------------------

UNATTRIBUTED = "    prov:wasAttributedTo kgd:KCNA ;\n"


@pytest.mark.parametrize("query", ["sub-events", "took-part-together"])
def test_a_claim_attributed_to_no_one_is_listed_once(
    kgraph: Callable[..., Run], project: Path, query: str
) -> None:
    # The agent is SAMPLEd in a grouped sub-select and its label joined after it (for
    # Virtuoso); a claim with no prov:wasAttributedTo leaves ?agent unbound there, and a
    # label pattern on ?agent alone then matched every English label in the graph.
    article = project / "data" / "article.ttl"
    text = article.read_text(encoding="utf-8")
    start = text.index("kgd:claim-F22\n")
    at = text.index(UNATTRIBUTED, start)
    article.write_text(text[:at] + text[at + len(UNATTRIBUTED) :], encoding="utf-8")
    run = kgraph("query", query, "-f", "tsv")
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    column = lines[0].split("\t").index("?factIds")
    listed = [line.split("\t")[column].strip('"').split(" | ") for line in lines[1:]]
    with_f22 = [ids for ids in listed if "F22" in ids]
    assert with_f22, f"{query}: no row lists F22"
    assert all(ids.count("F22") == 1 for ids in with_f22), with_f22[:1]
