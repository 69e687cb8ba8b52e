"""The canned queries in queries/*.rq: headers, parameters, columns and checked-in answers.

Each query's answer on the shipped graph is checked in under tests/data/expected/ (and, for
a query with parameters, its answer with every parameter set to its ``example``). The
answers were read against the competency questions of the domain notes, so a change in a
query or in the data that changes an answer shows up here as a byte-level difference.

To refresh an expected file after a deliberate change, run from the repository root:
``kgraph query NAME -f tsv > tests/data/expected/NAME.tsv`` (and with ``-p`` for each
example parameter into NAME.example.tsv), then read the difference before committing it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest

from conftest import ROOT, Run, copy_shipped, memo_runner
from kgraph.queries import CannedQuery, bind, load_query

QUERIES = ROOT / "queries"
EXPECTED = Path(__file__).resolve().parent / "data" / "expected"
QUERY_FILES = sorted(QUERIES.glob("*.rq"))
QUERY_IDS = [p.stem for p in QUERY_FILES]

# The competency questions of domain.md §6 that the canned queries must answer.
COMPETENCY_QUESTIONS = (
    "CQ01", "CQ02", "CQ03", "CQ06", "CQ07", "CQ09", "CQ10", "CQ11", "CQ12", "CQ14",
    "CQ15", "CQ16", "CQ17", "CQ18", "CQ19", "CQ21", "CQ22", "CQ24", "CQ26", "CQ27",
    "CQ29", "CQ30", "CQ31", "CQ34", "CQ37",
    # Questions that need both articles (queries/README.md, "Across documents").
    "CQ38", "CQ39", "CQ40",
)  # fmt: skip

_PROJECTION = re.compile(r"^\s*SELECT\s+(?:DISTINCT\s+|REDUCED\s+)?(.*?)\s*\bWHERE\b", re.I | re.S)
_AS_VARIABLE = re.compile(r"\bAS\s+[?$](\w+)\s*\)", re.I)
_PLAIN_VARIABLE = re.compile(r"(?<![\w)])[?$](\w+)")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One read-only copy of the project for every query of this module."""
    target = tmp_path_factory.mktemp("queries") / "project"
    copy_shipped(target)
    return target


@pytest.fixture(scope="module")
def run_in(shipped: Path) -> Callable[..., Run]:
    """Run kgraph on the copy; each command line runs once per module (the graph is read-only)."""
    return memo_runner(shipped)


def body(query: CannedQuery) -> str:
    """The query text without comment lines (the header mentions variables too)."""
    return "\n".join(line for line in query.text.splitlines() if not line.lstrip().startswith("#"))


def projected(query: CannedQuery) -> list[str]:
    """The variables of the top-level SELECT clause, in order."""
    text = re.sub(r"^\s*PREFIX\s+\S*\s*<[^>]*>\s*$", "", body(query), flags=re.I | re.M)
    match = _PROJECTION.search(text)
    assert match, f"{query.name}: no SELECT ... WHERE"
    clause = match.group(1)
    names = []
    for part in re.split(r"(\((?:[^()]|\([^()]*\))*\))", clause):
        if part.startswith("("):
            names += _AS_VARIABLE.findall(part)
        else:
            names += _PLAIN_VARIABLE.findall(part)
    return names


def tsv_header(output: str) -> list[str]:
    return [name.lstrip("?") for name in output.split("\n", 1)[0].split("\t")]


def example_args(query: CannedQuery) -> list[str]:
    args: list[str] = []
    for param in query.params:
        args += ["-p", param.name, str(param.example)]
    return args


@pytest.fixture(params=QUERY_FILES, ids=QUERY_IDS)
def query(request: pytest.FixtureRequest) -> CannedQuery:
    return load_query(request.param)


def test_there_are_at_least_22_canned_queries() -> None:
    assert len(QUERY_FILES) >= 22


def test_header_parses_with_summary_description_and_columns(query: CannedQuery) -> None:
    assert query.summary, f"{query.name}: no summary"
    assert query.description, f"{query.name}: no description"
    assert query.columns, f"{query.name}: no columns"
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", query.name), "file names are kebab-case"
    assert set(query.extra) == set(), f"{query.name}: unknown header keys {sorted(query.extra)}"
    for cq in query.questions:
        assert cq in COMPETENCY_QUESTIONS, f"{query.name}: unknown competency question {cq}"


def test_every_param_is_a_variable_of_the_query_with_a_valid_example(query: CannedQuery) -> None:
    text = body(query)
    for param in query.params:
        assert re.search(rf"[?$]{param.name}\b", text), f"?{param.name} is not in the query"
        assert param.example, f"{query.name}: parameter {param.name} has no example"
        assert not param.required, "every query must run with its parameters unbound"
    # Every example value is valid for its type (an invalid one raises UsageError).
    bind(query, [(p.name, str(p.example)) for p in query.params])


def test_columns_equal_the_projection(query: CannedQuery, run_in: Callable[..., Run]) -> None:
    assert list(query.columns) == projected(query)
    result = run_in("query", query.name, "-f", "tsv")
    assert result.exit_code == 0, result.stderr
    assert tsv_header(result.stdout) == list(query.columns)


def test_query_declares_its_prefixes_and_runs_on_a_bare_store(query: CannedQuery) -> None:
    # No default prefixes, no kgraph: the text must stand on its own as SPARQL 1.1.
    result = ox.Store().query(query.text)
    assert isinstance(result, ox.QuerySolutions)
    assert [v.value for v in result.variables] == list(query.columns)


def test_query_parses_with_a_second_sparql_engine(query: CannedQuery) -> None:
    # rdflib's parser, independent of Oxigraph's: no engine-specific syntax slips in.
    from rdflib.plugins.sparql import prepareQuery

    assert prepareQuery(query.text).algebra.name == "SelectQuery"


def test_query_reads_only_and_uses_no_service(query: CannedQuery) -> None:
    text = body(query).upper()
    for word in ("INSERT", "DELETE", "SERVICE", "LOAD", "CLEAR", "DROP"):
        assert not re.search(rf"\b{word}\b", text), f"{query.name} uses {word}"
    assert " LIMIT " not in f" {text} ", "answers must not depend on LIMIT"
    assert re.search(r"\bORDER\s+BY\b", text), f"{query.name} has no ORDER BY"


def test_answer_equals_checked_in_tsv(query: CannedQuery, run_in: Callable[..., Run]) -> None:
    result = run_in("query", query.name, "-f", "tsv")
    assert result.exit_code == 0, result.stderr
    expected = (EXPECTED / f"{query.name}.tsv").read_bytes()
    assert result.output_bytes == expected


def test_example_answer_equals_checked_in_tsv(
    query: CannedQuery, run_in: Callable[..., Run]
) -> None:
    example = EXPECTED / f"{query.name}.example.tsv"
    if not query.params:
        assert not example.exists(), f"{example.name} belongs to no parameter"
        return
    result = run_in("query", query.name, *example_args(query), "-f", "tsv")
    assert result.exit_code == 0, result.stderr
    assert result.output_bytes == example.read_bytes()


def test_expected_files_all_belong_to_a_query() -> None:
    names = {p.name for p in EXPECTED.glob("*.tsv")}
    wanted = {f"{n}.tsv" for n in QUERY_IDS}
    wanted |= {f"{p.stem}.example.tsv" for p in QUERY_FILES if load_query(p).params}
    assert names == wanted


def test_every_competency_question_is_answered_by_some_query() -> None:
    answered = {cq for p in QUERY_FILES for cq in load_query(p).questions}
    assert sorted(set(COMPETENCY_QUESTIONS) - answered) == []


def test_issue_names_the_required_queries_and_params() -> None:
    required = {
        "officials-and-posts": {"date"},
        "timeline": set(),
        "claims-by-stance": {"stance"},
        "troop-estimates-over-time": set(),
        "supply-flows": set(),
        "quotations": set(),
        "conflicting-claims": set(),
        "about-entity": {"entity"},
        "events-on-date": {"date"},
        "events-in-range": {"from", "to"},
    }
    for name, params in required.items():
        declared = {p.name for p in load_query(QUERIES / f"{name}.rq").params}
        assert params <= declared, f"{name} lacks {params - declared}"


def test_timeline_leaves_out_hypothetical_events(run_in: Callable[..., Run]) -> None:
    timeline = run_in("query", "timeline", "-f", "tsv").stdout
    hypothetical = run_in("query", "hypothetical-events", "-f", "tsv").stdout
    assert "reelection-trump-possible" in hypothetical
    assert "reelection-trump-possible" not in timeline
    assert "visit-kim-russia-potential" not in run_in("query", "visits", "-f", "tsv").stdout


def test_unknown_stance_is_exit_2_with_the_nearest_not_an_empty_answer(
    run_in: Callable[..., Run],
) -> None:
    # Issue 11: a misspelled IRI used to give 0 rows and exit 0.
    result = run_in("query", "claims-by-stance", "-p", "stance", "kg:NoSuchStance", "-f", "tsv")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        "Error: parameter stance takes a stance (kg:Stance); "
        "kg:NoSuchStance is not a known stance; e.g. "
    )


def test_bad_date_param_is_refused_with_exit_2(run_in: Callable[..., Run]) -> None:
    result = run_in("query", "events-on-date", "-p", "date", "28/10/2024")
    assert result.exit_code == 2
    assert "parameter date" in result.stderr
