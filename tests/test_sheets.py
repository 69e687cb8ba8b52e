"""Claim sheets (issue 11, point 3) and the closed door (point 4), as library functions:
the template compiles and conforms to the shapes on the shipped graph, every sheet error
names its line, a sheet's facts come back through SPARQL, and each closed-door refusal
says what is wrong with the nearest known term."""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest

from conftest import ROOT
from kgraph import Project, closed, sheets
from kgraph.errors import InputError
from kgraph.formats import RdfSyntax
from kgraph.limits import Limits
from kgraph.names import NameIndex
from kgraph.namespaces import KG, KGD
from kgraph.shacl import engine as validation
from kgraph.shacl.locate import LineIndex
from kgraph.store import Dataset

DOC = KGD + "north-korean-troops-in-kursk-lavrov-2024-11-04"


@pytest.fixture
def dataset() -> Iterator[Dataset]:
    yield Project.open(ROOT, isolated=False).dataset()


def compile_text(dataset: Dataset, text: str) -> sheets.CompiledSheet:
    index = NameIndex.from_store(dataset.store)
    return sheets.compile_sheet(text.encode(), name="sheet.yaml", index=index, limits=Limits())


def vocabulary(dataset: Dataset) -> closed.Vocabulary:
    ontology = [s.graph for s in dataset.sources if s.relative.startswith("ontology/")]
    return closed.Vocabulary.from_store(dataset.store, ontology)


# -- the template -----------------------------------------------------------------------------


def test_template_is_at_most_25_lines_and_conforms_on_the_shipped_graph(dataset: Dataset) -> None:
    assert len(sheets.TEMPLATE.splitlines()) <= 25
    compiled = compile_text(dataset, sheets.TEMPLATE)
    assert closed.check_batch(compiled.quads, dataset.store, vocabulary(dataset)) == ()
    dataset.add_graph("https://w3id.org/kgraph/graph/input/0/sheet.yaml", compiled.quads)
    shapes = Project.open(ROOT, isolated=False).shapes()
    report = validation.validate(dataset, shapes, dataset.asserted_graphs())
    assert [f for f in report.findings if f.is_violation] == []
    assert report.focus_nodes > 0


def test_the_same_sheet_gives_the_same_iris(dataset: Dataset) -> None:
    first = compile_text(dataset, sheets.TEMPLATE)
    second = compile_text(dataset, sheets.TEMPLATE)
    assert first.quads == second.quads
    assert first.document == DOC
    assert first.claims == (DOC + "-claim-c01", DOC + "-claim-c02")
    assert KGD + "SergeyLavrov" in first.minted


def test_round_trip_sheet_to_triples_to_sparql_finds_both_facts(dataset: Dataset) -> None:
    compiled = compile_text(dataset, sheets.TEMPLATE)
    dataset.store.extend(
        ox.Quad(q.subject, q.predicate, q.object, ox.NamedNode(KGD + "g")) for q in compiled.quads
    )
    estimate = list(
        dataset.store.query(
            """SELECT ?count ?date ?org ?person ?said WHERE {
                 ?claim a kg:Estimate ; kg:estimateOf kgd:quantity-dprk-soldiers-sent-to-russia ;
                   kg:count ?count ; kg:estimateDate ?date ; kg:dateSurfaceForm ?said ;
                   kg:supersedes kgd:claim-F56 ; prov:wasAttributedTo ?org ;
                   prov:qualifiedAttribution/prov:agent ?person ;
                   kg:sourceSentence/kg:inDocument ?doc ; schema:appearance ?doc .
                 ?doc dcterms:publisher/skos:prefLabel "Example News"@en }""",
            prefixes=_prefixes(),
            use_default_graph_as_union=True,
        )
    )
    assert [
        tuple(r[v].value for v in ("count", "date", "org", "person", "said")) for r in estimate
    ] == [
        (
            "11000",
            "2024-11-04",
            KGD + "UkrainianDefenceIntelligence",
            KGD + "KyryloBudanov",
            "on Monday",
        )
    ]
    meeting = list(
        dataset.store.query(
            """SELECT ?place ?date ?source WHERE {
                 ?event a kg:Meeting ; kg:participant kgd:ChoeSonHui, ?lavrov ;
                   kg:location ?place ; kg:date ?date .
                 ?lavrov skos:prefLabel "Sergey Lavrov"@en .
                 ?claim kg:about ?event ; prov:wasAttributedTo ?source ; kg:stance kg:Stated }""",
            prefixes=_prefixes(),
            use_default_graph_as_union=True,
        )
    )
    assert [(r["place"].value, r["date"].value, r["source"].value) for r in meeting] == [
        (KGD + "Moscow", "2024-11-01", KGD + "ExampleNews")
    ]


def _prefixes() -> dict[str, str]:
    from kgraph.namespaces import PREFIXES

    return PREFIXES


# -- every error at its line --------------------------------------------------------------


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "source: Kyrylo Budanov",
            "source: Kyrylo Budanow",
            "no source is named 'Kyrylo Budanow'; nearest: kgd:KyryloBudanov (Kyrylo Budanov)",
        ),
        (
            "stance: stated ",
            "stance: specualted ",
            "no stance is named 'specualted'; nearest: kg:Speculated (speculated)",
        ),
        (
            "    date: 2024-11-04",
            "    date: 2024-13-04",
            "date '2024-13-04' is not a valid date: month must be in 1..12",
        ),
        ("  - sentence: 2", "  - sentence: 7", "there is no sentence 7; the sheet has 1, 2"),
        (
            "  - sentence: 2",
            "  - sentense: 2",
            "unknown key 'sentense' in a claim; did you mean 'sentence'?",
        ),
        (
            "  Sergey Lavrov: Person",
            "  Moscow: City",
            "'Moscow' is already in the graph (kgd:Moscow); use the name without declaring it new",
        ),
        (
            "  Sergey Lavrov: Person",
            "  Sergey Lavrov: Persn",
            "no class is named 'Persn'; nearest: kg:Person (Person)",
        ),
        (
            "participants: [Sergey Lavrov, Choe Son Hui]",
            "participants: [Sergey Lavrov, Choe Sun Hui]",
            "no participant is named 'Choe Sun Hui'; nearest: kgd:ChoeSonHui (Choe Son Hui); "
            "declare it under new: with its class",
        ),
        (
            "{count: 11000,",
            "{count: 11 thousand,",
            "count '11 thousand' is not a whole number such as 11000",
        ),
        ("type: Meeting", "type: Person", "'Person' is not a kind of event"),
    ],
)
def test_each_sheet_error_names_its_line(
    dataset: Dataset, old: str, new: str, message: str
) -> None:
    assert old in sheets.TEMPLATE
    text = sheets.TEMPLATE.replace(old, new, 1)
    with pytest.raises(InputError) as caught:
        compile_text(dataset, text)
    line = _line_of(text, new.strip())
    assert str(caught.value).startswith(f"sheet.yaml:{line}: ")
    assert message in caught.value.message
    assert caught.value.message.endswith("new: with its class") or "declare" not in message


def test_an_unknown_name_in_a_new_line_is_declared_away(dataset: Dataset) -> None:
    text = sheets.TEMPLATE.replace(
        "  Sergey Lavrov: Person", "  Sergey Lavrov: Person\n  Choe Sun Hui: Person"
    )
    text = text.replace("Choe Son Hui], place", "Choe Sun Hui], place")
    compiled = compile_text(dataset, text)
    assert KGD + "ChoeSunHui" in compiled.minted


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("document: &d {title: x}\nsentences: *d\n", 2, "aliases (*name) are not allowed"),
        ("document: {title: x\n", 1, "not valid YAML"),
        ("document:\n  title: a\n  title: b\n", 3, "'title' is given twice"),
        ("docment: {}\n", 1, "unknown key 'docment' in the sheet; did you mean 'document'?"),
        ("document: {title: x}\nsentences: {1: a}\n", 1, "the sheet needs a claims: section"),
    ],
)
def test_malformed_yaml_is_an_error_at_its_line(
    dataset: Dataset, text: str, line: int, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        compile_text(dataset, text)
    assert caught.value.line == line
    assert message in caught.value.message


CSV_SHEET = """\
document: {citation: "A wire report, no address", title: A wire report, publisher: Yonhap, date: 2024-11-02}
sentences:
  1: The Pentagon said 10,000 North Korean soldiers were in Russia.
  2: Kirby said "We are watching."
claims: |
  sentence,source,stance,date,count,of,speaker,quote
  1,Pentagon,reported,2024-11-01,"10,000",North Korean soldiers sent to Russia,,
  2,,,,,,John Kirby,We are watching.
"""


def test_claims_as_a_csv_block_compile_with_the_spokesperson_rule(dataset: Dataset) -> None:
    compiled = compile_text(dataset, CSV_SHEET)
    triples = {(q.subject.value, q.predicate.value, q.object.value) for q in compiled.quads}
    estimate, quote = compiled.claims
    assert (estimate, KG + "count", "10000") in triples
    assert (
        estimate,
        "http://www.w3.org/ns/prov#wasAttributedTo",
        KGD + "USDepartmentOfDefense",
    ) in triples
    # Kirby speaks for the White House NSC: the quote goes to it, with the graph's attribution.
    assert (quote, "http://www.w3.org/ns/prov#wasAttributedTo", KGD + "WhiteHouseNSC") in triples
    assert (
        quote,
        "http://www.w3.org/ns/prov#qualifiedAttribution",
        KGD + "attribution-kirby-for-white-house-nsc",
    ) in triples
    assert (quote, KG + "stance", KG + "Quoted") in triples
    assert compiled.lines.subjects[ox.NamedNode(quote)] == 8


def test_a_bad_csv_row_names_its_line(dataset: Dataset) -> None:
    text = CSV_SHEET.replace("2,,,,,,John Kirby", "2,,,,,,John Kirbi")
    with pytest.raises(InputError) as caught:
        compile_text(dataset, text)
    assert caught.value.line == 8
    assert "nearest: kgd:JohnKirby (John Kirby)" in caught.value.message


def test_a_statement_asserts_its_plain_triple_beside_the_claim(dataset: Dataset) -> None:
    text = CSV_SHEET.split("claims:")[0] + (
        "claims:\n  - sentence: 1\n    statement: {subject: Kursk region, property: located in, object: Russia}\n"
    )
    compiled = compile_text(dataset, text)
    triples = {(q.subject.value, q.predicate.value, q.object.value) for q in compiled.quads}
    assert (KGD + "KurskOblast", KG + "locatedIn", KGD + "Russia") in triples
    claim = compiled.claims[0]
    assert (
        claim,
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#predicate",
        KG + "locatedIn",
    ) in triples
    assert (claim, "http://www.w3.org/ns/prov#wasAttributedTo", KGD + "Yonhap") in triples


# -- the closed door ----------------------------------------------------------------------------

BATCH = b"""@prefix kg: <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix schema: <http://schema.org/> .
kgd:claim-F05 kg:stanse kg:Stated .
kgd:claim-F05 <https://w3id.org/kgraph/ontolgy#stance> kg:Stated .
kgd:claim-F05 kg:about kgd:deploymnet-dprk-troops-kursk .
kgd:x a kg:Persn ; schema:gender schema:Female .
kgd:x kg:date "2024-13-01"^^xsd:date ; kg:count "12a"^^xsd:integer .
kgd:x kg:month "2024-06"^^xsd:gYearMonth ; kg:startDate "2024-06-01"^^xsd:dat .
kgd:claim-F05 kg:about kgd:x .
"""


def test_each_closed_door_refusal_has_its_message_line_and_nearest_term(dataset: Dataset) -> None:
    quads = list(ox.parse(BATCH, format=ox.RdfFormat.TURTLE))
    lines = LineIndex.build(BATCH, RdfSyntax.TURTLE, base_iri=None, skolem=None)
    names = NameIndex.from_store(dataset.store)
    problems = closed.check_batch(
        quads, dataset.store, vocabulary(dataset), names=names, lines=lines, source="new.ttl"
    )
    shown = [str(p) for p in problems]
    assert shown == [
        "new.ttl:5: kg:stanse is not a term of the ontology; did you mean kg:stance?",
        "new.ttl:6: <https://w3id.org/kgraph/ontolgy#stance> is not a term of the ontology: its "
        "namespace is one edit away from <https://w3id.org/kgraph/ontology#>; did you mean kg:stance?",
        "new.ttl:7: kgd:deploymnet-dprk-troops-kursk (kg:about) is not described anywhere in the "
        "graph or the batch; did you mean kgd:deployment-dprk-troops-kursk?",
        "new.ttl:8: kg:Persn is not a term of the ontology; did you mean kg:Person?",
        'new.ttl:9: "2024-13-01" is not a valid xsd:date',
        'new.ttl:9: "12a" is not a valid xsd:integer',
        "new.ttl:10: xsd:dat is not an XSD datatype; did you mean xsd:date?",
    ]
    assert [p.kind for p in problems].count(closed.ILL_TYPED) == 3
    assert problems[0].suggestion == "kg:stance" and problems[0].term == "kg:stanse"
    assert len(problems) == len(shown)  # the count is what is shown


def test_the_shipped_data_passes_the_closed_door(dataset: Dataset) -> None:
    data = [s.graph for s in dataset.sources if s.relative.startswith("data/")]
    quads = list(dataset.quads(data))
    assert closed.check_batch(quads, dataset.store, vocabulary(dataset)) == ()


XSD = "http://www.w3.org/2001/XMLSchema#"


@pytest.mark.parametrize(
    ("datatype", "good", "bad"),
    [
        (
            "date",
            ["2024-02-29", "2024-10-28Z", "-0044-03-15"],
            ["2024-13-01", "2023-02-29", "2024-1-1", "28.10.2024"],
        ),
        (
            "dateTime",
            ["2024-10-28T09:30:00", "2024-10-28T24:00:00Z"],
            ["2024-10-28", "2024-10-28T25:00:00", "2024-10-28T10:61:00"],
        ),
        ("gYear", ["2024", "-0500"], ["24", "2024-06"]),
        ("gYearMonth", ["2024-06", "2024-06+09:00"], ["2024-13", "2024-6", "2024"]),
        ("integer", ["0", "-12", "+600000"], ["12a", "1.0", "1e3", ""]),
        ("positiveInteger", ["1"], ["0", "-1"]),
        ("nonNegativeInteger", ["0"], ["-1"]),
        ("byte", ["127", "-128"], ["128"]),
        ("unsignedInt", ["4294967295"], ["4294967296", "-1"]),
        ("decimal", ["1.5", "-.5", "10."], ["1e3", "NaN", "1.2.3"]),
        ("double", ["1e3", "-1.5E-2", "INF", "NaN"], ["1e", "e3", "infinity"]),
        ("boolean", ["true", "false", "1", "0"], ["yes", "True"]),
        ("duration", ["P42D", "PT1H30M", "-P1Y2M", "PT0.5S"], ["P", "PT", "42D", "P1H"]),
        ("language", ["en", "zh-Hant"], ["english language", "en_GB"]),
    ],
)
def test_ill_typed_literals_are_named_as_such(
    datatype: str, good: list[str], bad: list[str]
) -> None:
    for value in good:
        assert (
            closed.literal_problem(ox.Literal(value, datatype=ox.NamedNode(XSD + datatype))) is None
        ), value
    for value in bad:
        found = closed.literal_problem(ox.Literal(value, datatype=ox.NamedNode(XSD + datatype)))
        assert found is not None and found[0].endswith(f"is not a valid xsd:{datatype}"), value


@pytest.mark.parametrize(
    "tag", ["en", "zh-Latn-pinyin", "zh-Hans", "en-GB", "de-CH-1996", "x-private"]
)
def test_well_formed_language_tags_pass(tag: str) -> None:
    assert closed.valid_language_tag(tag)


@pytest.mark.parametrize("tag", ["e", "en_GB", "en--gb", "toolonglanguage", "en-"])
def test_malformed_language_tags_are_refused(tag: str) -> None:
    assert not closed.valid_language_tag(tag)
