"""The one table renderer (kgraph.cli.render) and QueryResult (kgraph.results): tables fit
the terminal's width (cells truncated, marked with …), a one-row answer too wide becomes a
record, control characters are escaped, piped output is whole; --columns picks and orders
the variables; a QueryResult carries the answer as the engine serialised it, losslessly."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kgraph import ExitStatus, Project
from kgraph.cli.render import display_width, table, terminal_width
from kgraph.results import Form, QueryResult, capture
from test_remote import pushed  # noqa: F401  (a server the project was pushed to)

ROWS = [
    ["kgd:ChoeSonHui", "Choe Son Hui", "Minister of Foreign Affairs of North Korea", "2022-06-11"],
    ["kgd:JoeBiden", "Joe Biden", "President of the United States", "2021-01-20"],
]
COLUMNS = ["person", "name", "post", "start"]
WIDE = ["?officials", "?posts", "?since"]
OFFICIALS = ("query", "officials-and-posts", "-p", "date", "2024-10-28")


def body(text: str) -> list[str]:
    """The lines of a table without its count line."""
    return text.splitlines()[:-1]


def test_no_width_draws_every_cell_whole() -> None:
    text = table(COLUMNS, ROWS)
    assert "…" not in text
    assert "Minister of Foreign Affairs of North Korea" in text
    assert text.splitlines()[-1] == "(2 rows)"


@pytest.mark.parametrize("width", [100, 80, 60, 40])
def test_every_line_fits_the_width_and_cuts_are_marked(width: int) -> None:
    text = table(COLUMNS, ROWS, width=width)
    natural = max(len(line) for line in body(table(COLUMNS, ROWS)))
    assert all(display_width(line) <= width for line in text.splitlines())
    assert ("…" in text) == (natural > width)
    assert len(body(text)) == 2 + len(ROWS)  # truncation, not wrapping: one line a row


def test_truncation_cuts_the_widest_column_and_keeps_narrow_ones_whole() -> None:
    lines = body(table(COLUMNS, ROWS, width=70))
    assert lines[0].split() == COLUMNS  # headings whole
    row = lines[2]
    assert row.startswith("kgd:ChoeSonHui  Choe Son Hui  Minister of Foreign")
    assert row.endswith("…  2022-06-11")


def test_wide_characters_count_twice() -> None:
    rows = [["金正恩" * 10, "x" * 40]]
    text = table(["a", "b"], [*rows, *rows], width=40)
    assert all(display_width(line) <= 40 for line in text.splitlines())
    assert "…" in text


def test_one_row_too_wide_is_a_record_with_whole_values() -> None:
    text = table(COLUMNS, ROWS[:1], width=50)
    assert text.splitlines() == [
        "person: kgd:ChoeSonHui",
        "name:   Choe Son Hui",
        "post:   Minister of Foreign Affairs of North Korea",
        "start:  2022-06-11",
        "(1 row)",
    ]
    assert "…" not in text
    # A row that fits stays a table; so does a table of several rows.
    assert table(COLUMNS, ROWS[:1], width=200).splitlines()[0].split() == COLUMNS
    assert table(COLUMNS, ROWS, width=50).splitlines()[0].startswith("person")


def test_control_characters_are_escaped_in_tables_and_records() -> None:
    hostile = "red\x1b[31m \u202eevil\nnext\x07"
    for text in (table(["v"], [[hostile]]), table(["v", "w"], [[hostile, "x" * 60]], width=30)):
        assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
        assert "\\x1b[31m" in text and "\\u202e" in text and "⏎" in text


def test_terminal_width_honours_columns_and_is_none_when_piped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert terminal_width() is None  # pytest's stdout is not a terminal
    monkeypatch.setenv("COLUMNS", "77")
    assert terminal_width() == 77


def test_piped_query_is_unchanged_when_columns_is_unset(kgraph, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    piped = kgraph(*OFFICIALS)
    assert piped.exit_code == 0, piped.stderr
    assert "…" not in piped.stdout
    assert max(len(line) for line in piped.stdout.splitlines()) > 150
    assert "Minister of Foreign Affairs of North Korea" in piped.stdout
    monkeypatch.setenv("COLUMNS", "100")
    fitted = kgraph(*OFFICIALS)
    assert all(display_width(line) <= 100 for line in fitted.stdout.splitlines())
    assert "…" in fitted.stdout
    assert len(fitted.stdout.splitlines()) == len(piped.stdout.splitlines())


def test_output_file_gets_the_whole_table(kgraph, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    piped = kgraph(*OFFICIALS).stdout
    monkeypatch.setenv("COLUMNS", "60")
    target = tmp_path / "table.txt"
    assert kgraph(*OFFICIALS, "-o", str(target)).exit_code == 0
    assert target.read_text(encoding="utf-8") == piped


def test_columns_choose_and_order_in_every_format(kgraph, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    picked = kgraph(*OFFICIALS, "--columns", "postName,personName")
    assert picked.exit_code == 0, picked.stderr
    lines = picked.stdout.splitlines()
    assert lines[0].split() == ["postName", "personName"]
    assert "Minister of Foreign Affairs of North Korea  Choe Son Hui" in picked.stdout
    full_csv = kgraph(*OFFICIALS, "-f", "csv").stdout.splitlines()
    csv = kgraph(*OFFICIALS, "-f", "csv", "--columns", "?postName,personName").stdout
    header = full_csv[0].split(",")
    want = [
        ",".join([cells[header.index("postName")], cells[header.index("personName")]])
        for cells in (line.split(",") for line in full_csv[1:])
    ]
    assert csv.splitlines() == ["postName,personName", *want]


def test_unknown_column_exits_2_naming_the_known_ones(kgraph) -> None:
    result = kgraph(*OFFICIALS, "--columns", "personName,salary")
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stdout == ""
    assert "salary" in result.stderr and "personName, relation, post" in result.stderr
    assert result.stderr.count("\n") == 1
    ask = kgraph("query", "-e", "ASK { ?s ?p ?o }", "--columns", "x")
    assert ask.exit_code == ExitStatus.BAD_INPUT and "SELECT" in ask.stderr


def test_a_wide_one_row_answer_is_a_record_on_the_command_line(kgraph, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    text = "SELECT ?label ?comment WHERE { kg:Claim rdfs:label ?label ; rdfs:comment ?comment }"
    result = kgraph("query", "-e", text)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("label:") and lines[1].startswith("comment:")
    assert "…" not in result.stdout and lines[-1] == "(1 row)"


# -- QueryResult ---------------------------------------------------------------------------

TERMS = ox.Store()
TERMS.add(
    ox.Quad(
        ox.NamedNode("http://example.org/s"),
        ox.NamedNode("http://example.org/p"),
        ox.Literal('tab\there\nnewline "quoted"', language="de"),
        ox.DefaultGraph(),
    )
)
TERMS.add(
    ox.Quad(
        ox.NamedNode("http://example.org/s"),
        ox.NamedNode("http://example.org/q"),
        ox.Literal("12.50", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")),
        ox.DefaultGraph(),
    )
)


def test_rows_are_the_terms_exactly() -> None:
    query = "SELECT ?o ?unbound WHERE { ?s ?p ?o } ORDER BY ?p"
    result = capture(TERMS.query(query))
    assert (result.form, result.variables, result.encoding) == (
        Form.SELECT,
        ("o", "unbound"),
        "tsv",
    )
    expected = [(s["o"], s["unbound"]) for s in TERMS.query(query)]
    assert result.rows() == expected and expected[0][1] is None


def test_serialize_is_oxigraphs_own_and_free_when_asked_up_front() -> None:
    query = "SELECT ?p ?o WHERE { ?s ?p ?o } ORDER BY ?p"
    native = capture(TERMS.query(query))
    for fmt in ("json", "xml", "csv", "tsv"):
        direct = TERMS.query(query).serialize(format=getattr(ox.QueryResultsFormat, fmt.upper()))
        assert native.serialize(fmt).rstrip(b"\n") == direct.rstrip(b"\n")
        asked = capture(TERMS.query(query), fmt)
        assert asked.encoding == fmt and asked.serialize(fmt) is asked.data


def test_select_keeps_rows_whose_cells_are_all_unbound() -> None:
    result = capture(TERMS.query("SELECT ?o ?x WHERE { ?s ?p ?o } ORDER BY ?p"))
    only = result.select(["x"])
    assert only.variables == ("x",) and only.rows() == [(None,), (None,)]
    swapped = result.select(["x", "o"])
    assert [r[1] for r in swapped.rows()] == [r[0] for r in result.rows()]


def test_ask_and_graph_results() -> None:
    yes = capture(TERMS.query("ASK { ?s ?p ?o }"))
    no = capture(TERMS.query("ASK { ?s ?p ?s }"))
    assert (yes.form, yes.boolean, no.boolean) == (Form.ASK, True, False)
    assert b'"boolean":false' in no.serialize("json")
    graph = capture(TERMS.query("CONSTRUCT WHERE { ?s ?p ?o }"))
    assert graph.form is Form.GRAPH and graph.encoding == "nt"
    assert sorted(map(str, graph.triples())) == sorted(str(q.triple) for q in TERMS)
    with pytest.raises(ValueError):
        graph.rows()


def test_project_query_gives_a_frozen_query_result(project: Path) -> None:
    opened = Project.open(project, isolated=False)
    result = opened.query("officials-and-posts", {"date": "2024-10-28"})
    assert isinstance(result, QueryResult) and result.form is Form.SELECT
    with pytest.raises(AttributeError):
        result.data = b""  # type: ignore[misc]
    csv = opened.query("officials-and-posts", {"date": "2024-10-28"}, fmt="csv")
    assert csv.encoding == "csv" and csv.data == result.serialize("csv")
    assert len(result.rows()) == 13


def test_remote_query_result_is_the_local_one(pushed) -> None:  # noqa: F811
    project, server = pushed
    opened = Project.open(project, isolated=False)
    for query, params in (
        ("officials-and-posts", {"date": "2024-10-28"}),
        ("troop-estimates-over-time", {}),
        ("remote-test-ask", {}),
    ):
        here = opened.query(query, params)
        there = opened.query(query, params, endpoint=server.base + "/query")
        assert there == here, query
