"""What got in the way of a new user following README.md from a fresh clone: each test
holds one of the findings fixed (a link that did not answer, a name refused where the
command line takes one, an error that did not say what to write instead)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from conftest import Run, copy_shipped
from kgraph.errors import ExitStatus
from serving import Served, request, start

# -- kgraph serve: links and names -----------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    project = copy_shipped(tmp_path_factory.mktemp("newuser-serve") / "project")
    server = start(["--workers", "1", "--in-memory"], project=project)
    yield server
    server.stop()


@pytest.mark.server
def test_a_query_link_with_parameters_shows_the_answer(served: Served) -> None:
    # The README's /q/NAME "a canned query as a form ... and its answer": a link naming a
    # parameter (as copied from the page) showed the form only, without the answer.
    page = request(served.url("/q/officials-and-posts?date=2024-10-28"))
    assert page.status == 200
    answer = page.text.split('<section id="answer">', 1)[1]
    assert "<table" in answer and "Choe Son Hui" in answer
    # The bare page is still the form alone, with nothing run.
    bare = request(served.url("/q/officials-and-posts")).text
    assert bare.split('<section id="answer">', 1)[1].startswith("</section>")


@pytest.mark.server
def test_a_wrong_parameter_in_a_query_link_is_said_on_the_page(served: Served) -> None:
    page = request(served.url("/q/officials-and-posts?date=28/10/2024"))
    assert page.status == 200
    assert 'class="error"' in page.text and "28/10/2024" in page.text


@pytest.mark.server
def test_the_entity_page_takes_a_name(served: Served) -> None:
    by_name = request(served.url("/entity?" + urlencode({"iri": "choe son hui"})))
    by_iri = request(served.url("/entity?iri=kgd:ChoeSonHui"))
    assert by_name.status == 200, by_name.text
    assert by_name.text == by_iri.text


@pytest.mark.server
def test_the_network_page_takes_a_name(served: Served) -> None:
    page = request(served.url("/network?" + urlencode({"entity": "Choe Son Hui"})))
    assert page.status == 200, page.text
    assert 'data-entity="https://w3id.org/kgraph/id/ChoeSonHui"' in page.text


@pytest.mark.server
def test_an_unknown_name_on_the_entity_page_names_the_nearest(served: Served) -> None:
    page = request(served.url("/entity?" + urlencode({"iri": "Choe Son Hu"})))
    assert page.status == 400
    assert page.text.strip().startswith("no entity is named 'Choe Son Hu'; nearest: kgd:ChoeSonHui")
    assert "\n" not in page.text.strip()


@pytest.mark.server
def test_the_entity_page_without_an_entity_says_what_to_give(served: Served) -> None:
    page = request(served.url("/entity"))
    assert page.status == 400
    assert "/entity?iri=kgd:ChoeSonHui" in page.text and "not an IRI" not in page.text


@pytest.mark.server
def test_the_graph_store_takes_a_project_file_path(served: Served) -> None:
    # `kgraph push --graph` takes "an IRI or a project file path"; the server's Graph Store
    # answered a path with only "no graph <data/article2.yaml> in this dataset".
    iri = "https://w3id.org/kgraph/graph/data/article2.yaml"
    by_path = request(served.url("/rdf-graph-store?graph=data/article2.yaml"))
    by_iri = request(served.url("/rdf-graph-store?" + urlencode({"graph": iri})))
    assert by_path.status == by_iri.status == 200
    assert by_path.body == by_iri.body and by_path.body
    wrong = request(served.url("/rdf-graph-store?graph=data/article3.yaml"))
    assert wrong.status == 404
    assert wrong.text.startswith(
        "no graph <data/article3.yaml> in this dataset; its graphs are "
        "<https://w3id.org/kgraph/graph/PATH> for the project files "
        "data/article.ttl, data/article2.yaml, data/background.ttl, ontology/kgraph.ttl"
    )


# -- kgraph query: parameter values -----------------------------------------------------------


def test_a_date_in_another_form_says_how_to_write_it(kgraph: Callable[..., Run]) -> None:
    run = kgraph("query", "officials-and-posts", "-p", "date", "28/10/2024")
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr == (
        "Error: parameter date: '28/10/2024' is not a valid date: write it as YYYY-MM-DD "
        "(e.g. 2024-10-28)\n"
    )
    # A date of the right form that does not exist still says why.
    wrong = kgraph("query", "officials-and-posts", "-p", "date", "2024-02-30")
    assert wrong.exit_code == ExitStatus.BAD_INPUT
    assert "day is out of range for month" in wrong.stderr


@pytest.mark.parametrize(
    ("value", "ptype", "said"),
    [
        ("ten", "integer", "write a whole number in digits"),
        ("10,000", "integer", "write a whole number in digits"),
        ("1e5", "decimal", "with a point for decimals"),
        ("nan", "decimal", "with a point for decimals"),
    ],
)
def test_a_number_not_in_digits_says_how_to_write_it(value: str, ptype: str, said: str) -> None:
    from kgraph.errors import UsageError
    from kgraph.queries import term

    with pytest.raises(UsageError) as caught:
        term(value, ptype, name="n")
    assert said in str(caught.value) and "int()" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "ptype"), [("-12", "integer"), ("2.5", "decimal"), (".5", "decimal")]
)
def test_numbers_in_digits_are_still_taken(value: str, ptype: str) -> None:
    from kgraph.queries import term

    assert term(value, ptype, name="n").value == value


# -- claim sheets ----------------------------------------------------------------------------

SHEET = """\
document:
  url: https://example.org/test/2024-10-29-followup
  title: "Test only: Washington reacts"
  publisher: Example Test Wire
  date: 2024-10-29
sentences:
  1: U.S. President Biden called the situation "very dangerous."
new:
  Example Test Wire: News agency
claims:
  - sentence: 1
    source: Joe Biden
    date: 2024-10-28
    quote: very dangerous
"""


def test_a_quote_written_as_text_names_the_keys_it_takes(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    sheet = tmp_path / "followup.yaml"
    sheet.write_text(SHEET, encoding="utf-8")
    run = kgraph("add", "--dry-run", str(sheet))
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr == (
        f"Error: {sheet}:14: a quote must be a mapping (key: value lines); "
        "a quote takes speaker, text\n"
    )
    fixed = SHEET.replace(
        "quote: very dangerous", "quote: {speaker: Joe Biden, text: very dangerous}"
    )
    sheet.write_text(fixed, encoding="utf-8")
    assert kgraph("add", "--dry-run", str(sheet)).exit_code == ExitStatus.OK


# -- Turtle batches: the closed door ---------------------------------------------------------

BATCH = """\
@prefix kg: <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix schema: <http://schema.org/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

kgd:testwire-2024-10-29
    a kg:NewsArticle ;
    skos:prefLabel "Test-only wire report of 29 October 2024"@en ;
    schema:url <https://example.org/test/wire> ;
    dcterms:date "2024-10-29"^^xsd:date .
"""


def test_a_borrowed_term_the_ontology_lacks_lists_the_ones_it_has(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    # dcterms:date is no typo of a term the ontology uses (it dates documents with
    # dcterms:issued): the refusal said only "dcterms:date is not a term of the ontology".
    batch = tmp_path / "wire.ttl"
    batch.write_text(BATCH, encoding="utf-8")
    run = kgraph("add", "--dry-run", str(batch))
    assert run.exit_code == ExitStatus.BAD_INPUT
    line = run.stderr.strip()
    assert "\n" not in line
    assert line.startswith(f"Error: {batch}:12: dcterms:date is not a term of the ontology; ")
    listed = line.split("the ontology's dcterms: terms are ", 1)[1].split(", ")
    assert "issued" in listed and "publisher" in listed
    # What it lists is what works: the same batch with dcterms:issued is taken.
    batch.write_text(BATCH.replace("dcterms:date", "dcterms:issued"), encoding="utf-8")
    assert kgraph("add", "--dry-run", str(batch)).exit_code == ExitStatus.OK


def test_a_typo_of_a_borrowed_term_still_gets_its_nearest(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    batch = tmp_path / "wire.ttl"
    batch.write_text(BATCH.replace("dcterms:date", "dcterms:isued"), encoding="utf-8")
    run = kgraph("add", "--dry-run", str(batch))
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr.strip().endswith(
        "is not a term of the ontology; did you mean dcterms:issued?"
    )


# -- kgraph add: the project's own files -----------------------------------------------------


@pytest.mark.parametrize("name", ["data/article.ttl", "data/article2.yaml", "ontology/kgraph.ttl"])
def test_adding_a_file_of_the_project_is_refused(
    kgraph: Callable[..., Run],
    project: Path,
    snapshot: Callable[[Path], dict[str, bytes]],
    name: str,
) -> None:
    # data/article.ttl was taken as a new batch of "0 new triples (1296 stated)", a second
    # copy of the file; data/article2.yaml was refused with "'Al Jazeera' is already in the
    # graph", as if the sheet were wrong.
    before = snapshot(project / "data")
    run = kgraph("add", str(project / name))
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr == (
        f"Error: {project / name} is one of the project's own files ({name}): the graph holds "
        "it already, in a named graph of its own; there is nothing to add (`kgraph add` takes "
        "a file from outside data/ and ontology/)\n"
    )
    assert snapshot(project / "data") == before


def test_adding_a_batch_file_again_is_refused(
    kgraph: Callable[..., Run], project: Path, tmp_path: Path
) -> None:
    batch = tmp_path / "wire.ttl"
    batch.write_text(BATCH.replace("dcterms:date", "dcterms:issued"), encoding="utf-8")
    assert kgraph("add", str(batch)).exit_code == ExitStatus.OK
    (added,) = (project / "data" / "batches").glob("*.ttl")
    run = kgraph("add", str(added))
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr == (
        f"Error: {added} is batch {added.stem}, already in the graph: there is nothing to add "
        "(`kgraph batches` lists them)\n"
    )
    assert [p.name for p in (project / "data" / "batches").glob("*.ttl")] == [added.name]


# -- tables on a terminal --------------------------------------------------------------------


def test_a_wide_answer_on_a_terminal_is_read_by_its_names(
    kgraph: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `make demo` in a 120-column terminal drew troop-estimates-over-time as 16 columns of
    # five-letter stubs: "kgd:D…  North…  North…  2024-…  10000".
    monkeypatch.setenv("COLUMNS", "120")
    run = kgraph("query", "troop-estimates-over-time")
    assert run.exit_code == ExitStatus.OK
    lines = run.stdout.splitlines()
    assert all(len(line) <= 120 for line in lines)
    heads = lines[0].split()
    assert "state" not in heads and "source" not in heads  # their labels are shown
    assert {"stateName", "estimateDate", "count", "sourceName"} <= set(heads)
    assert "2024-10-28" in run.stdout and "2024-…" not in run.stdout
    hidden = lines[-1].removeprefix("(4 rows; not shown: ").removesuffix("; --columns picks them)")
    assert hidden != lines[-1]
    names = hidden.split(", ")
    assert "state" in names and "source" in names
    # Every column is in the table or named as left out, each once.
    full = kgraph("query", "troop-estimates-over-time", "-f", "tsv").stdout.splitlines()[0]
    every = [c.removeprefix("?") for c in full.split("\t")]
    assert sorted(heads + names) == sorted(every)


def test_a_short_value_stays_whole_while_long_ones_are_cut() -> None:
    from kgraph.cli.render import table

    rows = [["2024-10-28", "N" * 40, "P" * 40], ["2024-11-04", "M" * 40, "Q" * 40]]
    text = table(["date", "name", "post"], rows, width=30)
    body = text.splitlines()[2:4]
    assert [line.split()[0] for line in body] == ["2024-10-28", "2024-11-04"]
    assert all(len(line) <= 30 and "…" in line for line in body)


def test_a_table_that_fits_is_drawn_whole() -> None:
    from kgraph.cli.render import table

    rows = [["kgd:JoeBiden", "Joe Biden"]]
    rows = [*rows, *rows]
    assert table(["person", "personName"], rows, width=80) == table(["person", "personName"], rows)


# -- the batch file, as a person reads it ----------------------------------------------------


def test_the_batch_file_gives_each_thing_its_type_first(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    # `kgraph add -f turtle` prints the batch file; its blocks began with
    # "schema:appearance" (http://schema.org/ sorts before rdf:type's namespace), and a
    # document came after its own sentences and claims.
    sheet = tmp_path / "followup.yaml"
    sheet.write_text(
        SHEET.replace("quote: very dangerous", "quote: {speaker: Joe Biden, text: very dangerous}"),
        encoding="utf-8",
    )
    run = kgraph("add", "--dry-run", "-f", "turtle", str(sheet))
    assert run.exit_code == ExitStatus.OK, run.stderr
    blocks = [
        line
        for line in run.stdout.splitlines()
        if line and not line.startswith(("#", "@prefix", "\t", " "))
    ]
    assert len(blocks) >= 4
    assert all(" a " in line.split(";")[0] for line in blocks), blocks
    subjects = [line.split(" ", 1)[0] for line in blocks]
    document = "kgd:test-only-washington-reacts-2024-10-29"
    assert subjects.index(document) < subjects.index(document + "-claim-c01")


# -- kgraph check --infer owlrl ----------------------------------------------------------------


def test_the_checks_on_the_owl_rl_closure_of_the_shipped_graph_find_nothing(
    kgraph: Callable[..., Run],
) -> None:
    # 332 ERRORs "undeclared-property" for rdfs:subClassOf, rdfs:domain ... : the closure's
    # graph holds the ontology's entailed axioms, and the check read it as data.
    run = kgraph("check", "--infer", "owlrl", "-f", "tsv")
    assert run.exit_code == ExitStatus.OK, run.stdout[:2000]
    assert run.stdout.splitlines()[1:] == []


def test_an_undeclared_property_is_still_found_with_the_closure(
    kgraph: Callable[..., Run], project: Path
) -> None:
    (project / "data" / "capital.ttl").write_text(
        "@prefix kg: <https://w3id.org/kgraph/ontology#> .\n"
        "@prefix kgd: <https://w3id.org/kgraph/id/> .\n"
        "kgd:Russia kg:capital kgd:Moscow .\n",
        encoding="utf-8",
    )
    for infer in ("none", "owlrl"):
        run = kgraph("check", "--infer", infer, "-f", "tsv")
        assert run.exit_code == ExitStatus.FINDINGS
        rows = [line.split("\t") for line in run.stdout.splitlines()[1:]]
        assert [r[1:] for r in rows] == [
            ["undeclared-property", "kgd:Russia", "kg:capital", "kgd:Moscow"]
        ], (infer, rows)


def test_a_push_of_one_graph_says_one_request(kgraph: Callable[..., Run]) -> None:
    run = kgraph("push", "http://127.0.0.1:9/store", "--graph", "data/article.ttl", "--dry-run")
    assert run.exit_code == ExitStatus.OK, run.stderr
    assert "dry run: would send 1 request to http://127.0.0.1:9/store " in run.stdout + run.stderr


def test_a_corrected_sheet_is_told_to_replace_its_first_version(
    kgraph: Callable[..., Run], project: Path, tmp_path: Path
) -> None:
    # A sheet added, then corrected (a stance), was refused for the names its first
    # version introduced, with advice ("use the name without declaring it new", then
    # "give this one another id") that led away from the way out: remove the batch.
    first = SHEET.replace(
        "quote: very dangerous", "quote: {speaker: Joe Biden, text: very dangerous}"
    )
    sheet = tmp_path / "followup.yaml"
    sheet.write_text(first, encoding="utf-8")
    assert kgraph("add", str(sheet)).exit_code == ExitStatus.OK
    (batch,) = [p.stem for p in (project / "data" / "batches").glob("*.ttl")]
    sheet.write_text(first.replace("date: 2024-10-28", "stance: quoted\n    date: 2024-10-28"))
    run = kgraph("add", str(sheet))
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr == (
        f"Error: {sheet}:9: 'Example Test Wire' is already in the graph (kgd:ExampleTestWire, "
        f"from batch {batch}); use the name without declaring it new, or, if this sheet "
        f"replaces that batch, `kgraph remove {batch}` first\n"
    )
    without_new = sheet.read_text().replace("new:\n  Example Test Wire: News agency\n", "")
    sheet.write_text(without_new)
    run = kgraph("add", str(sheet))
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert f"(from batch {batch}: if this sheet replaces it, `kgraph remove {batch}` first)" in (
        run.stderr
    )
    # The advice works: the first version out, the corrected one in.
    assert kgraph("remove", batch).exit_code == ExitStatus.OK
    sheet.write_text(first.replace("date: 2024-10-28", "stance: quoted\n    date: 2024-10-28"))
    assert kgraph("add", str(sheet)).exit_code == ExitStatus.OK


# -- the text report -------------------------------------------------------------------------

ELSEWHERE = """\
@prefix kg: <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix schema: <http://schema.org/> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

kgd:testwire-2024-10-29 a kg:NewsArticle ;
    skos:prefLabel "Test-only wire report of 29 October 2024"@en ;
    schema:url <https://example.org/test/wire> ;
    dcterms:issued "2024-10-29"^^xsd:date .

kgd:claim-testwire-01 a kg:Claim ;
    skos:prefLabel "Biden called the situation very dangerous"@en ;
    kg:stance kg:Stated ;
    prov:wasAttributedTo kgd:JoeBiden ;
    kg:sourceSentence kgd:article-s17 ;
    schema:appearance kgd:testwire-2024-10-29 ;
    kg:about kgd:JoeBiden .
"""


def test_the_text_report_names_the_terms_of_a_message_as_curies(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    # A message's placeholders were filled in with whole IRIs, beside CURIEs everywhere
    # else in the report: "source sentence https://w3id.org/kgraph/id/article-s17 ...".
    batch = tmp_path / "elsewhere.ttl"
    batch.write_text(ELSEWHERE, encoding="utf-8")
    run = kgraph("add", "--dry-run", str(batch))
    assert run.exit_code == ExitStatus.FINDINGS, run.stderr
    text = run.stdout + run.stderr
    assert (
        "The claim's source sentence kgd:article-s17 belongs to another document than the one "
        "the claim appears in." in text
    )
    assert "https://w3id.org/kgraph/id/article-s17" not in text
    # The machine-readable report keeps the message as the engines made it.
    report = kgraph("validate", str(batch), "-f", "json")
    assert "The claim's source sentence https://w3id.org/kgraph/id/article-s17 " in report.stdout
