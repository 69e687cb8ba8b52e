"""The quality checks in queries/checks/*-violation.rq (the ROBOT/ODK convention).

Each check must find nothing on the shipped graph, and must find exactly the planted
problems of its bad fixture, tests/data/checks/<check>.ttl, added to a copy of the project.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import DATA, ROOT, Run, copy_shipped, invoke
from kgraph.namespaces import expand
from kgraph.queries import CannedQuery, load_query

CHECKS = ROOT / "queries" / "checks"
FIXTURES = DATA / "checks"
CHECK_FILES = sorted(CHECKS.glob("*-violation.rq"))
CHECK_IDS = [p.stem for p in CHECK_FILES]

# The background check reads data/background.ttl's graph only, so its fixture is appended
# to that file instead of being added beside it.
APPEND_TO_BACKGROUND = {"background-without-source-violation"}

# What each fixture plants: the (entity, property) pairs the check must report, no more.
PLANTED: dict[str, set[tuple[str, str]]] = {
    "missing-label-or-definition-violation": {
        ("kg:Gadget", "skos:definition"),
        ("kg:Gadget", "rdfs:isDefinedBy"),
    },
    "duplicate-label-violation": {
        ("kgd:Russia", "skos:prefLabel"),
        ("kgd:RussiaAgain", "skos:prefLabel"),
        ("kg:Claim", "rdfs:label"),
        ("kg:Assertion", "rdfs:label"),
    },
    "undeclared-property-violation": {("kgd:Russia", "kg:capital")},
    "untyped-instance-violation": {("kgd:mystery-node", "rdf:type")},
    "claim-without-source-violation": {
        ("kgd:claim-unsourced", "kg:sourceSentence"),
        ("kgd:claim-unsourced", "schema:appearance"),
    },
    "disjoint-classes-violation": {
        ("kgd:visit-that-is-a-person", "owl:disjointWith"),
        ("kgd:impossible-thing", "rdf:type"),
    },
    "located-in-cycle-violation": {
        ("kgd:Russia", "kg:locatedIn"),
        ("kgd:KurskOblast", "kg:locatedIn"),
    },
    "background-without-source-violation": {
        ("kgd:Vladivostok", "rdf:type"),
        ("kgd:Vladivostok", "skos:prefLabel"),
        ("kgd:Vladivostok", "kg:locatedIn"),
        ("kgd:visit-choe-saint-petersburg-2024-09", "kg:destination"),
    },
    "unlinked-estimates-violation": {
        ("kgd:claim-F56", "kg:supersededBy"),
        ("kgd:claim-F57", "kg:supersededBy"),
    },
    "spokesperson-attribution-violation": {
        ("kgd:claim-kirby-as-himself", "prov:wasAttributedTo"),
        ("kgd:claim-rutte-voice-elsewhere", "prov:wasAttributedTo"),
    },
}


def copy_project(target: Path) -> Path:
    return copy_shipped(target)


def findings(run: Run) -> set[tuple[str, str]]:
    """The (entity, property) pairs of a check's TSV output."""
    lines = run.stdout.splitlines()
    assert lines[0] == "?entity\t?property\t?value"
    pairs = set()
    for line in lines[1:]:
        entity, prop, _value = line.split("\t")
        pairs.add((entity.strip("<>"), prop.strip("<>")))
    return pairs


@pytest.fixture(scope="module")
def run_shipped(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Run]:
    project = copy_project(tmp_path_factory.mktemp("checks") / "project")

    def run(*args: str) -> Run:
        return invoke(["--project", str(project), *args])

    return run


@pytest.fixture(params=CHECK_FILES, ids=CHECK_IDS)
def check(request: pytest.FixtureRequest) -> CannedQuery:
    return load_query(request.param)


def test_every_check_has_a_fixture_and_every_fixture_a_check() -> None:
    assert {p.stem for p in FIXTURES.glob("*.ttl")} == set(CHECK_IDS)
    assert set(PLANTED) == set(CHECK_IDS)


def test_the_required_checks_exist() -> None:
    required = {
        "missing-label-or-definition-violation",
        "duplicate-label-violation",
        "undeclared-property-violation",
        "untyped-instance-violation",
        "claim-without-source-violation",
        "disjoint-classes-violation",
        "located-in-cycle-violation",
        "background-without-source-violation",
        "unlinked-estimates-violation",
    }
    assert required <= set(CHECK_IDS)


def test_check_header_has_summary_description_and_level(check: CannedQuery) -> None:
    assert check.summary
    assert check.description
    assert check.extra.get("level") in ("ERROR", "WARN", "INFO")
    assert not check.params


def test_check_finds_nothing_on_the_shipped_graph(
    check: CannedQuery, run_shipped: Callable[..., Run]
) -> None:
    result = run_shipped("query", str(CHECKS / f"{check.name}.rq"), "-f", "tsv")
    assert result.exit_code == 0, result.stderr
    assert findings(result) == set(), result.stdout


def test_check_finds_exactly_what_its_fixture_plants(check: CannedQuery, tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    fixture = FIXTURES / f"{check.name}.ttl"
    if check.name in APPEND_TO_BACKGROUND:
        with open(project / "data" / "background.ttl", "a", encoding="utf-8") as handle:
            handle.write("\n" + fixture.read_text(encoding="utf-8"))
    else:
        shutil.copy(fixture, project / "data" / fixture.name)
    result = invoke(
        ["--project", str(project), "query", str(CHECKS / f"{check.name}.rq"), "-f", "tsv"]
    )
    assert result.exit_code == 0, result.stderr
    planted = {(expand(e), expand(p)) for e, p in PLANTED[check.name]}
    assert findings(result) == planted
