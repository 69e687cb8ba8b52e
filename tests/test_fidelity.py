"""Issue 17: what the canned queries answer must be what the sources said.

Each test pins one point of the issue by its meaning (which rows, which flags), beside the
byte-level expected answers of tests/test_queries.py.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest

from conftest import copy_shipped, invoke

Rows = list[dict[str, str]]


@pytest.fixture(scope="module")
def query(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Rows]:
    project = tmp_path_factory.mktemp("fidelity") / "project"
    copy_shipped(project)

    def run(name: str, *params: str) -> Rows:
        args: list[str] = []
        for pair in params:
            key, value = pair.split("=", 1)
            args += ["-p", key, value]
        result = invoke(["--project", str(project), "query", name, *args, "-f", "csv"])
        assert result.exit_code == 0, result.stderr
        return list(csv.DictReader(io.StringIO(result.stdout)))

    return run


def kgd(name: str) -> str:
    return f"https://w3id.org/kgraph/id/{name}"


def test_denials_are_answered_by_their_stance(query: Callable[..., Rows]) -> None:
    rows = query("claims-by-stance", "stance=kg:Denied")
    assert sorted(r["factId"] for r in rows) == ["X06a", "X06b"]


def test_an_organisation_finds_the_claims_its_spokesperson_voiced(
    query: Callable[..., Rows],
) -> None:
    by_nsc = query("claims-by-source", "source=kgd:WhiteHouseNSC")
    by_kirby = query("claims-by-source", "source=kgd:JohnKirby")
    assert {r["factId"] for r in by_nsc} == {r["factId"] for r in by_kirby} >= {"F60", "F61"}
    assert {r["as"] for r in by_kirby} == {"voiced"}
    assert {r["claimCount"] for r in by_nsc} == {str(len(by_nsc))}
    rutte = {
        r["factId"]: r["attributedTo"] for r in query("claims-by-source", "source=kgd:MarkRutte")
    }
    assert rutte["F49"] == rutte["F50"] == kgd("NATO")


def test_f35_is_not_yonhaps_speculation(query: Callable[..., Rows]) -> None:
    yonhap = {r["factId"] for r in query("claims-by-source", "source=kgd:Yonhap")}
    assert yonhap == {"F32", "F33"}


def test_about_entity_includes_the_events_taken_part_in(query: Callable[..., Rows]) -> None:
    rows = query("about-entity", "entity=kgd:ChoeSonHui")
    via = {r["factId"]: r["via"] for r in rows}
    assert via["F01"] == ""
    assert "Choe Son Hui's visit to Russia, October 2024" in via["F19"]
    assert len(via) == len(rows), "one row per claim"


def test_timeline_has_dated_estimates_and_says_who_dates_each(query: Callable[..., Rows]) -> None:
    rows = query("timeline")
    f57 = [r for r in rows if r["item"] == kgd("claim-F57")]
    assert [(r["begins"], r["backgroundOnly"]) for r in f57] == [("2024-10-23", "false")]
    biden = [
        r for r in query("events-on-date", "date=2024-10-28") if r["event"] == kgd("remarks-biden")
    ]
    assert [(r["datedBy"], r["backgroundOnly"]) for r in biden] == [
        (kgd("source-kbs-188744"), "true")
    ]


def test_counts_per_document_and_graph(query: Callable[..., Rows]) -> None:
    persons = {
        (r["scopeKind"], r["scope"]): r["count"]
        for r in query("counts-by-document")
        if r["class"].endswith("#Person")
    }
    assert persons[("document", kgd("article"))] == "8"
    assert persons[("graph", "https://w3id.org/kgraph/graph/data/background.ttl")] == "1"


def test_sub_events_and_names_are_one_row_each(query: Callable[..., Rows]) -> None:
    parts = [r["part"] for r in query("sub-events")]
    assert len(parts) == len(set(parts))
    names = query("alternative-names", "entity=kgd:ChoeSonHui")
    assert {(r["alternativeName"], r["language"]) for r in names} == {
        ("Choe Son-hui", "en"),
        ("Cui Shanji", "zh-latn-pinyin"),
    }


def test_silence_is_not_no(query: Callable[..., Rows]) -> None:
    # (Choe Son Hui and Putin were the silent pair until the second article, whose B01
    # reports their meeting of 4 November 2024.)
    silent = query("took-part-together", "entity=kgd:ChoeSonHui", "other=kgd:JoeBiden")
    assert [(r["answer"], r["event"]) for r in silent] == [("no source says", "")]
    met = query("took-part-together", "entity=kgd:VladimirPutin", "other=kgd:KimJongUn")
    assert [(r["answer"], r["event"]) for r in met] == [("yes", kgd("summit-putin-kim-2024-06"))]
