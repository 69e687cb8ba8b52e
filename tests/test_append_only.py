"""Append-only knowledge, documents rather than files, and the second article (issue 11,
points 1, 2 and 6), proved through the CLI on a private copy of the project.

* A later estimate added by `kgraph add` alone becomes the current one in
  troop-estimates-over-time, the earlier one shows as superseded, whichever side states
  the supersession (kg:supersededBy on the earlier estimate, kg:supersedes on the later),
  and the two figures from different sources show in conflicting-claims. No earlier file
  changes.
* The default validation rejects what `--infer owlrl` would read into a supersession
  stated only as kg:supersedes (a second successor, another quantity).
* The second article (its claim sheet, data/article2.yaml) goes in as a batch of its own; its sentences are
  the text kept in tests/data/article2.txt, word for word.
* No canned query names a data file's graph.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, ROOT, Run
from kgraph.errors import ExitStatus

KGD = "https://w3id.org/kgraph/id/"

PREFIXES = """\
@prefix kg:      <https://w3id.org/kgraph/ontology#> .
@prefix kgd:     <https://w3id.org/kgraph/id/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix prov:    <http://www.w3.org/ns/prov#> .
@prefix schema:  <http://schema.org/> .
@prefix skos:    <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
"""

# A test input, not a record of a real report: a later document giving a later figure for
# the quantity F56 and F57 count (the soldiers North Korea sent to Russia), from another
# source than theirs (the example: 11,000 as of 4 November 2024).
LATER_REPORT = """
kgd:test-later-report
    a kg:NewsArticle ;
    skos:prefLabel "Test input: a later report"@en ;
    dcterms:bibliographicCitation "tests/test_append_only.py, a test input" ;
    dcterms:issued "2024-11-04"^^xsd:date .

kgd:test-later-report-s01
    a kg:Sentence ;
    skos:prefLabel "Sentence 1 of the test input"@en ;
    kg:inDocument kgd:test-later-report ;
    kg:sentenceNumber 1 ;
    schema:text "Test input: 11,000 North Korean soldiers have been sent to Russia."@en .
"""


def shipped_graph(relative: str) -> Any:
    """The triples of one graph of the shipped project, as the project loads it (a claim
    sheet compiled), in an rdflib Graph."""
    import pyoxigraph as ox
    from rdflib import Graph

    from kgraph.layout import Layout
    from kgraph.limits import Limits
    from kgraph.namespaces import graph_iri
    from kgraph.store import Dataset

    dataset = Dataset.open(Layout(ROOT), limits=Limits())
    triples = [q.triple for q in dataset.quads([graph_iri(relative)])]
    return Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")


def estimate(iri: str, quantity: str, count: int, extra: str = "") -> str:
    return f"""
kgd:{iri}
    a kg:Estimate ;
    skos:prefLabel "Test estimate {count}"@en ;
    kg:stance kg:Reported ;
    prov:wasAttributedTo kgd:Ukraine ;
    kg:sourceSentence kgd:test-later-report-s01 ;
    schema:appearance kgd:test-later-report ;
    kg:about kgd:dprk-troops ;
    kg:estimateOf kgd:{quantity} ;
    kg:count {count} ;
    kg:estimateDate "2024-11-04"^^xsd:date{extra} .
"""


SENT = "quantity-dprk-soldiers-sent-to-russia"
KILLED = "quantity-russian-soldiers-killed-or-injured"

SIDES = {
    # The later file says it of the earlier estimate (a triple about an old subject).
    "supersededBy": "\nkgd:claim-F56 kg:supersededBy kgd:test-estimate-11000 .\n",
    # The later estimate says it of itself.
    "supersedes": "",
}


def batch(tmp_path: Path, name: str, turtle: str) -> Path:
    path = tmp_path / f"{name}.ttl"
    path.write_text(PREFIXES + turtle, encoding="utf-8")
    return path


def rows(run: Run) -> list[dict[str, str]]:
    assert run.exit_code == ExitStatus.OK, run.stderr
    reader = csv.DictReader(io.StringIO(run.stdout), delimiter="\t", quoting=csv.QUOTE_NONE)
    return [{k.lstrip("?"): v for k, v in row.items()} for row in reader]


def iri(local: str) -> str:
    return f"<{KGD}{local}>"


def by_estimate(kgraph: Callable[..., Run]) -> dict[str, dict[str, str]]:
    table = rows(kgraph("query", "troop-estimates-over-time", "-f", "tsv"))
    return {row["estimate"]: row for row in table}


def disagreements(kgraph: Callable[..., Run]) -> set[tuple[str, str, str, str, str]]:
    return {
        (r["claim"], r["otherClaim"], r["disagreement"], r["figure"], r["otherFigure"])
        for r in rows(kgraph("query", "conflicting-claims", "-f", "tsv"))
    }


TRUE = "true"
FALSE = "false"


def test_shipped_data_asserts_no_currency_flag() -> None:
    for path in sorted((ROOT / "data").glob("*.ttl")):
        assert "kg:isCurrent" not in path.read_text(encoding="utf-8"), path.name


def test_shipped_currency_is_derived(kgraph: Callable[..., Run]) -> None:
    table = by_estimate(kgraph)
    assert table[iri("claim-F57")]["supersededBy"] == iri("claim-F56")
    assert table[iri("claim-F57")]["isCurrent"] == FALSE
    assert table[iri("claim-F56")]["isCurrent"] == TRUE


@pytest.mark.parametrize("side", list(SIDES))
def test_later_estimate_added_by_batch_alone_becomes_current(
    tmp_path: Path,
    project: Path,
    kgraph: Callable[..., Run],
    side: str,
) -> None:
    extra = " ;\n    kg:supersedes kgd:claim-F56" if side == "supersedes" else ""
    path = batch(
        tmp_path,
        f"later-{side}",
        LATER_REPORT + estimate("test-estimate-11000", SENT, 11000, extra) + SIDES[side],
    )
    before = {p.name: p.read_bytes() for p in (project / "data").glob("*.ttl")}
    added = kgraph("add", str(path))
    assert added.exit_code == ExitStatus.OK, added.stdout + added.stderr
    # Append-only: the earlier files are byte for byte what they were.
    assert {p.name: p.read_bytes() for p in (project / "data").glob("*.ttl")} == before

    table = by_estimate(kgraph)
    new = table[iri("test-estimate-11000")]
    assert (new["count"], new["isCurrent"], new["supersededBy"]) == (
        "11000",
        TRUE,
        "",
    )
    assert new["appearance"] == iri("test-later-report")
    old = table[iri("claim-F56")]
    assert (old["isCurrent"], old["supersededBy"]) == (FALSE, iri("test-estimate-11000"))
    assert table[iri("claim-F57")]["supersededBy"] == iri("claim-F56")

    assert (
        iri("claim-F56"),
        iri("test-estimate-11000"),
        '"different figures"',
        "10000",
        "11000",
    ) in disagreements(kgraph)
    # One source revising its own figure (F57 then F56, both the Pentagon's) is no
    # disagreement.
    assert not {
        d for d in disagreements(kgraph) if {d[0], d[1]} == {iri("claim-F56"), iri("claim-F57")}
    }

    for infer in ("none", "owlrl"):
        validated = kgraph("validate", "--infer", infer)
        assert validated.exit_code == ExitStatus.OK, validated.stdout + validated.stderr
    assert kgraph("check").exit_code == ExitStatus.OK


def test_later_estimate_without_supersession_is_still_the_current_one(
    tmp_path: Path, kgraph: Callable[..., Run]
) -> None:
    path = batch(tmp_path, "later", LATER_REPORT + estimate("test-estimate-11000", SENT, 11000))
    assert kgraph("add", str(path)).exit_code == ExitStatus.OK
    table = by_estimate(kgraph)
    assert table[iri("test-estimate-11000")]["isCurrent"] == TRUE
    assert (table[iri("claim-F56")]["isCurrent"], table[iri("claim-F56")]["supersededBy"]) == (
        FALSE,
        "",
    )
    # Nobody said which replaces which: the quality check asks for the link.
    checked = kgraph("check", "-f", "tsv")
    assert checked.exit_code == ExitStatus.FINDINGS
    assert "unlinked-estimates" in checked.stdout and "claim-F56" in checked.stdout


REJECTED = {
    # F57 is already superseded by F56; a second successor says so only from its side.
    "second-successor": (
        estimate("test-estimate-11000", SENT, 11000, " ;\n    kg:supersedes kgd:claim-F57"),
        "EstimateShape-supersededBy",
        "claim-F57",
    ),
    # An estimate of another quantity says it supersedes the troop estimate.
    "other-quantity": (
        estimate("test-estimate-11000", KILLED, 11000, " ;\n    kg:supersedes kgd:claim-F56"),
        "EstimateShape-sameQuantity",
        "claim-F56",
    ),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_supersession_stated_as_supersedes_is_checked_without_inference(
    tmp_path: Path,
    project: Path,
    kgraph: Callable[..., Run],
    snapshot: Callable[[Path], dict[str, bytes]],
    case: str,
) -> None:
    turtle, shape, focus = REJECTED[case]
    path = batch(tmp_path, case, LATER_REPORT + turtle)
    before = snapshot(project / "data")
    added = kgraph("add", str(path))
    assert added.exit_code == ExitStatus.FINDINGS, added.stdout + added.stderr
    assert shape in added.stdout and focus in added.stdout
    assert snapshot(project / "data") == before
    # The closure reads kg:supersedes as kg:supersededBy; it rejects the same batch.
    inferred = kgraph("validate", str(path), "--infer", "owlrl")
    assert inferred.exit_code == ExitStatus.FINDINGS, inferred.stdout


def test_second_article_goes_in_as_a_batch_alone(
    tmp_path: Path, project: Path, kgraph: Callable[..., Run]
) -> None:
    article2 = tmp_path / "article2.yaml"
    (project / "data" / "article2.yaml").rename(article2)
    before = kgraph("query", "troop-estimates-over-time", "-f", "tsv")
    assert iri("claim-B06") not in before.stdout
    added = kgraph("add", str(article2))
    assert added.exit_code == ExitStatus.OK, added.stdout + added.stderr

    table = by_estimate(kgraph)
    for claim in ("claim-B05", "claim-B06"):
        assert table[iri(claim)]["isCurrent"] == TRUE
        assert table[iri(claim)]["appearance"] == iri("article2")
    assert table[iri("claim-F56")]["isCurrent"] == TRUE
    assert (
        iri("claim-B05"),
        iri("claim-B06"),
        '"different figures"',
        "10000",
        "11000",
    ) in disagreements(kgraph)
    # The meeting's day reads as the second article's, though it sits in a batch file.
    visits = rows(kgraph("query", "about-entity", "-p", "entity", "kgd:ChoeSonHui", "-f", "tsv"))
    assert {r["appearance"] for r in visits if r["factId"] in ('"B01"', '"B04"')} == {
        iri("article2")
    }


def test_second_article_sentences_are_the_kept_text_word_for_word() -> None:
    from rdflib import Literal, URIRef

    text = (DATA / "article2.txt").read_text(encoding="utf-8")
    header = dict(re.findall(r"^# (\w+): (.+)$", text, flags=re.MULTILINE))
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    graph = shipped_graph("data/article2.yaml")
    document = URIRef(KGD + "article2")
    assert str(graph.value(document, URIRef("http://schema.org/url"))) == header["address"]
    assert graph.value(document, URIRef("http://purl.org/dc/terms/issued")) == Literal(
        header["date"], datatype=URIRef("http://www.w3.org/2001/XMLSchema#date")
    )
    sentences = list(
        graph.subjects(URIRef("https://w3id.org/kgraph/ontology#inDocument"), document)
    )
    assert len(sentences) == 11
    for sentence in sentences:
        words = str(graph.value(sentence, URIRef("http://schema.org/text")))
        assert words in body, words


def test_no_canned_query_names_a_data_file_graph() -> None:
    # The checks and the query about the background file itself may name that file's
    # graph (their headers say why); nothing may name a document's file.
    about_background = {"background-facts.rq", "background-without-source-violation.rq"}
    for path in sorted((ROOT / "queries").rglob("*.rq")):
        text = path.read_text(encoding="utf-8")
        named = set(re.findall(r"https://w3id\.org/kgraph/graph/(data/[^>\s]+)", text))
        if path.name in about_background:
            assert named == {"data/background.ttl"}, path.name
        else:
            assert not named, f"{path.name} names {sorted(named)}"
        assert "kgd:article " not in text and "kgd:article\n" not in text, path.name
