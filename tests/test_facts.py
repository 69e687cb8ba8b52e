"""Every fact of the article (domain.md §2, F01-F66) can be found in the graph.

tests/data/facts.tsv maps each fact id to a SPARQL ASK over the triples that encode it
(the claim carrying that kg:factId, its stance and attribution, and the fact's own triples).
"""

from __future__ import annotations

import csv
from functools import cache

import pytest

from conftest import DATA, ROOT
from kgraph import Project
from kgraph.namespaces import PREFIXES
from kgraph.store import Dataset

FACT_IDS = [f"F{n:02d}" for n in range(1, 67)]
HEADER = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())


def facts() -> dict[str, str]:
    with open(DATA / "facts.tsv", newline="") as handle:
        return {row["fact"]: row["ask"] for row in csv.DictReader(handle, delimiter="\t")}


@cache
def dataset() -> Dataset:
    return Project.open(ROOT, isolated=False).dataset()


def ask(query: str) -> bool:
    return bool(dataset().query(HEADER + query))


def test_the_list_holds_all_66_facts() -> None:
    assert sorted(facts()) == FACT_IDS


@pytest.mark.parametrize("fact", FACT_IDS)
def test_fact_is_encoded(fact: str) -> None:
    query = facts()[fact]
    assert f'"{fact}"' in query, "the ASK must pin the claim by its fact id"
    assert ask(query), f"{fact}: {query}"


@pytest.mark.parametrize("fact", FACT_IDS)
def test_fact_claim_traces_to_its_sentence(fact: str) -> None:
    assert ask(
        f"""ASK {{ ?claim kg:factId "{fact}" ; kg:sourceSentence ?s ; schema:appearance ?doc ;
                   kg:stance ?stance ; prov:wasAttributedTo ?who .
                   ?s kg:inDocument ?doc ; schema:text ?text .
                   GRAPH <https://w3id.org/kgraph/graph/data/article.ttl> {{ ?claim kg:factId "{fact}" }} }}"""
    )


def test_no_fact_id_is_used_twice_in_the_article() -> None:
    rows = dataset().query(
        """SELECT ?id (COUNT(?c) AS ?n) WHERE {
             GRAPH <https://w3id.org/kgraph/graph/data/article.ttl> { ?c kg:factId ?id } }
           GROUP BY ?id HAVING (COUNT(?c) > 1)"""
    )
    assert [r["id"].value for r in rows] == []


def test_sentences_are_the_article_verbatim() -> None:
    article = (ROOT / "tests" / "data" / "article.txt").read_text()
    rows = dataset().query(
        "SELECT ?n ?text WHERE { ?s a kg:Sentence ; kg:inDocument kgd:article ; kg:sentenceNumber ?n ; schema:text ?text } ORDER BY ?n"
    )
    sentences = [r["text"].value for r in rows]
    assert len(sentences) == 20
    for sentence in sentences:
        assert sentence in article
