"""Review 6: where a missing dot is reported, prefixed names in SHACL messages, the
sources of took-part-together, superseded figures in conflicting-claims. Each test fails
on the code before its fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Run
from kgraph.dotless import statement_end
from kgraph.errors import ExitStatus

# -- a missing dot is reported where the statement lacking it ends -------------------------

TTL_PREFIX = "@prefix kgd: <https://w3id.org/kgraph/id/> .\n@prefix kg: <https://w3id.org/kgraph/ontology#> .\n"

# (file name, text, line:column expected, message). The statement lacking its dot ends on
# line 3 (after the prefixes); blank lines, comments, a '#' inside a string and an IRI
# and a comment holding a quote come before the token where Oxigraph notices.
MISSING_DOTS = [
    (
        "eof.ttl",
        TTL_PREFIX + "kgd:a kg:note kgd:b\n\n# trailing comment\n",
        "3:20",
        "Unexpected end",
    ),
    (
        "between.ttl",
        TTL_PREFIX
        + 'kgd:a kg:note "x # not a comment" , <https://e.org/p#q> # no dot "here\n'
        + "\n# kgd:b kg:note kgd:c .\n\n"
        + "kgd:d kg:note kgd:e .\n",
        "3:56",
        "A dot is expected at the end of statements",
    ),
    (
        "final.ttl",
        TTL_PREFIX + 'kgd:a kg:note """two\nlines""" # the end\n\n# trailing comment\n',
        "4:9",
        "Triples should be followed by a dot",
    ),
    (
        "crlf.ttl",
        TTL_PREFIX.replace("\n", "\r\n")
        + 'kgd:a kg:note "Ümlaut ñ"\r\n\r\nkgd:d kg:note kgd:e .\r\n',
        "3:25",
        "A dot is expected at the end of statements",
    ),
    (
        "graph.trig",
        TTL_PREFIX + "kgd:g {\n  kgd:a kg:note kgd:b\n\n  kgd:d kg:note kgd:e\n}\n",
        "4:22",
        "A '}' or a '.' is expected at the end of a graph block",
    ),
    (
        "lines.nt",
        "<https://e.org/a> <https://e.org/p> <https://e.org/b>\n\n",
        "1:54",
        "Quads must be followed by a dot",
    ),
]


@pytest.mark.parametrize("command", ["validate", "add"])
@pytest.mark.parametrize(
    ("name", "text", "where", "message"), MISSING_DOTS, ids=lambda v: str(v)[:12]
)
def test_missing_dot_names_the_line_where_the_statement_ends(
    kgraph: Callable[..., Run],
    project: Path,
    tmp_path: Path,
    snapshot: Callable[[Path], dict[str, bytes]],
    command: str,
    name: str,
    text: str,
    where: str,
    message: str,
) -> None:
    bad = tmp_path / name
    bad.write_bytes(text.encode())
    before = snapshot(project / "data")
    run = kgraph(command, str(bad))
    assert run.exit_code == ExitStatus.BAD_INPUT, (run.stdout, run.stderr)
    assert run.stderr == f"Error: {bad}:{where}: {message}\n"
    assert snapshot(project / "data") == before


def test_an_unexpected_token_on_the_statements_own_line_keeps_its_place(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    # A forgotten comma rather than a dot: Oxigraph's place (the extra token) says more.
    bad = tmp_path / "comma.ttl"
    bad.write_text(TTL_PREFIX + "kgd:a kg:note kgd:b kgd:c .\n")
    run = kgraph("validate", str(bad))
    assert run.stderr == f"Error: {bad}:3:21: A dot is expected at the end of statements\n"


def test_statement_end_gives_up_inside_an_open_string() -> None:
    assert statement_end(b'<a> <b> "open\n\n', 3, 1) is None
    assert statement_end(b"\n\n", 3, 1) is None
    assert statement_end(b"<a> <b> <c>\r\r<d>", 3, 1) == (1, 12)


# -- the text report names the IRIs filled into a message by their prefixed names ---------

SHAPES = Path(__file__).resolve().parent / "data" / "shapes"
QUANTITIES = (
    "https://w3id.org/kgraph/id/quantity-dprk-soldiers-sent-to-russia",
    "https://w3id.org/kgraph/id/fixture-estimate-2",
    "https://w3id.org/kgraph/id/quantity-russian-soldiers-killed-or-injured",
)


@pytest.mark.parametrize("engine", ["compiled", "pyshacl"])
def test_text_report_shows_filled_in_iris_as_prefixed_names(
    kgraph: Callable[..., Run], engine: str
) -> None:
    fixture = str(SHAPES / "EstimateShape-sameQuantity-1.ttl")
    run = kgraph("validate", "--engine", engine, fixture)
    assert run.exit_code == ExitStatus.FINDINGS, run.stderr
    assert (
        "    The estimate is of kgd:quantity-dprk-soldiers-sent-to-russia but is superseded by "
        "kgd:fixture-estimate-2, an estimate of kgd:quantity-russian-soldiers-killed-or-injured:"
        " only an estimate of the same quantity can supersede it.  [kgs:EstimateShape-sameQuantity]"
    ) in run.stdout.splitlines()
    assert "https://" not in run.stdout
    # The machine formats keep the message as pySHACL fills it in: full IRIs.
    as_json = json.loads(kgraph("validate", "--engine", engine, "-f", "json", fixture).stdout)
    (message,) = {r["message"] for r in as_json["results"]}
    assert message == (
        f"The estimate is of {QUANTITIES[0]} but is superseded by {QUANTITIES[1]}, an estimate"
        f" of {QUANTITIES[2]}: only an estimate of the same quantity can supersede it."
    )
    as_turtle = kgraph("validate", "--engine", engine, "-f", "turtle", fixture).stdout
    assert f'sh:resultMessage "{message}"' in as_turtle


@pytest.mark.parametrize("engine", ["compiled", "pyshacl"])
def test_text_report_shows_an_alternative_path_with_prefixed_names(
    kgraph: Callable[..., Run], engine: str
) -> None:
    fixture = str(SHAPES / "EstimateShape-supersededBy-1.ttl")
    run = kgraph("validate", "--engine", engine, fixture)
    assert "  Violation: (kg:supersededBy|^kg:supersedes)  (" in run.stdout
    as_json = json.loads(kgraph("validate", "--engine", engine, "-f", "json", fixture).stdout)
    assert {r["path"] for r in as_json["results"]} == {
        "(<https://w3id.org/kgraph/ontology#supersededBy>"
        "|^<https://w3id.org/kgraph/ontology#supersedes>)"
    }


def test_text_report_keeps_an_iri_no_prefix_applies_to_whole_and_the_template_as_written(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    text = (SHAPES / "ClaimShape-sentenceInDocument-1.ttl").read_text()
    other = "https://example.org/sentence-1"
    text = text.replace("kgd:source-reuters-20241028-excerpt", f"<{other}>") + (
        f"<{other}> a kg:Sentence ; kg:inDocument kgd:source-reuters-20241028-excerpt ;\n"
        '    skos:prefLabel "Sentence 1"@en .\n'
    )
    bad = tmp_path / "sentence.ttl"
    bad.write_text(text)
    run = kgraph("validate", str(bad))
    assert (
        f"    The claim's source sentence <{other}> belongs to another document than the one "
        "the claim appears in.  [kgs:ClaimShape-sentenceInDocument]"
    ) in run.stdout.splitlines(), run.stdout + run.stderr
    # A message without placeholders is shown as its shape writes it, IRIs and all.
    wikidata = kgraph("validate", str(SHAPES / "ExactMatchShape-1.ttl")).stdout
    assert "of the form http://www.wikidata.org/entity/Q123." in wikidata


# -- took-part-together's sources: each agent once, sorted, the same under --infer --------


def test_took_part_together_sources_are_distinct_sorted_and_the_same_under_inference(
    kgraph: Callable[..., Run],
) -> None:
    plain = kgraph("query", "took-part-together", "-f", "tsv")
    assert plain.exit_code == ExitStatus.OK, plain.stderr
    for profile in ("rdfs", "owlrl"):
        inferred = kgraph("query", "took-part-together", "--infer", profile, "-f", "tsv")
        assert inferred.stdout == plain.stdout, profile
    header, *rows = [line.split("\t") for line in plain.stdout.splitlines()]
    column = header.index("?sources")
    lists = [row[column] for row in rows if row[column]]
    assert lists, "no row lists sources"
    for cell in lists:
        names = cell.removesuffix("@en").strip('"').split(" | ")
        assert names == sorted(set(names)), cell
    # F61 is John Kirby's quotation, attributed to the White House NSC he speaks for: the
    # speaker is a source without the closure too (kg:speaker is a sub-property of
    # prov:wasAttributedTo).
    hypothetical = [row for row in rows if "F61" in row[header.index("?factIds")]]
    assert hypothetical and all(
        "John Kirby" in row[column] and "White House National Security Council" in row[column]
        for row in hypothetical
    )


# -- conflicting-claims: a superseded figure is not compared, and is marked ---------------


def tsv_rows(run: Run) -> list[dict[str, str]]:
    assert run.exit_code == ExitStatus.OK, run.stderr
    header, *rows = [line.split("\t") for line in run.stdout.splitlines()]
    return [dict(zip((h.lstrip("?") for h in header), row, strict=True)) for row in rows]


def test_conflicting_claims_marks_the_side_a_later_estimate_superseded(
    kgraph: Callable[..., Run],
) -> None:
    # F57 (the Pentagon's 3,000) is superseded by its own 10,000 (F56); X05 disputes who
    # gave the 3,000, a disagreement the later figure does not settle: listed, and marked.
    rows = tsv_rows(kgraph("query", "conflicting-claims", "-f", "tsv"))
    marked = {
        (r["factId"], r["otherFactId"], r["supersededBy"], r["otherSupersededBy"]) for r in rows
    }
    assert ('"F57"', '"X05"', "<https://w3id.org/kgraph/id/claim-F56>", "") in marked
    assert all(not r["supersededBy"] for r in rows if r["factId"] != '"F57"'), marked


REVISED = """@prefix kg: <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

kgd:claim-R6a a kg:Estimate ; kg:factId "R6a" ; kg:stance kg:Reported ;
    prov:wasAttributedTo kgd:NATO ; kg:estimateOf kgd:quantity-review6 ; kg:count 5000 ;
    kg:estimateDate "2024-10-30"^^xsd:date .
kgd:claim-R6b a kg:Estimate ; kg:factId "R6b" ; kg:stance kg:Reported ;
    prov:wasAttributedTo kgd:NATO ; kg:estimateOf kgd:quantity-review6 ; kg:count 8000 ;
    kg:estimateDate "2024-10-30"^^xsd:date .
kgd:claim-R6c a kg:Estimate ; kg:factId "R6c" ; kg:stance kg:Reported ;
    prov:wasAttributedTo kgd:Russia ; kg:estimateOf kgd:quantity-review6 ; kg:count 6000 ;
    kg:estimateDate "2024-10-30"^^xsd:date .
kgd:claim-R6d a kg:Estimate ; kg:factId "R6d" ; kg:stance kg:Reported ;
    prov:wasAttributedTo kgd:Ukraine ; kg:count 11000 ; kg:estimateDate "2024-11-04"^^xsd:date ;
    kg:estimateOf kgd:quantity-dprk-soldiers-sent-to-russia .
"""


@pytest.mark.parametrize(
    "link",
    [
        "kgd:claim-R6a kg:supersededBy kgd:claim-R6b .",
        "kgd:claim-R6b kg:supersedes kgd:claim-R6a .",
    ],
    ids=["supersededBy", "supersedes"],
)
def test_a_figure_its_own_source_revised_is_no_disagreement(
    kgraph: Callable[..., Run], project: Path, link: str
) -> None:
    # NATO says 5,000, then 8,000 the same day, superseding its 5,000; Russia says 6,000:
    # the disagreement is 8,000 against 6,000, NATO's revision and its old 5,000 are none.
    # Ukraine's 11,000 disagrees with the Pentagon's 10,000 (F56), not with the 3,000
    # (F57) the Pentagon itself replaced by that 10,000.
    (project / "data" / "zz-review6.ttl").write_text(REVISED + link + "\n", encoding="utf-8")
    rows = tsv_rows(kgraph("query", "conflicting-claims", "-f", "tsv"))
    figures = {
        (r["factId"], r["otherFactId"], r["figure"], r["otherFigure"])
        for r in rows
        if r["disagreement"] == '"different figures"' and '"R6' in r["factId"] + r["otherFactId"]
    }
    assert figures == {('"R6b"', '"R6c"', "8000", "6000"), ('"F56"', '"R6d"', "10000", "11000")}


# -- bench: the add rows, one loop (a refactor: the same rows as before) -----------------


@pytest.mark.parametrize("last", [False, True])
def test_bench_add_rows_measures_each_add_on_the_store_and_the_batch_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, last: bool
) -> None:
    import sys
    from types import SimpleNamespace
    from typing import Any

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.measure import PROFILED, Bench
    from bench.projects import BenchProject

    bench = Bench.__new__(Bench)
    bench.python, bench.config = "python", SimpleNamespace(profile_runs=3)
    monkeypatch.setattr("bench.probe.memory_limit", lambda: 2**30)
    seen: list[tuple[Any, ...]] = []

    def measure(table: str, item: str, size: int, who: str, how: str, task: str, **kw: Any) -> None:
        argv = kw.get("argv") or kw.get("args")
        seen.append((item, how, task, tuple(argv), kw.get("warmup", False)))

    monkeypatch.setattr(bench, "measure", measure)
    project = BenchProject(tmp_path / "p", 1000, None)
    bench.add_rows(project, last=last)
    root, store = str(project.root), str(project.store_dir())
    limit = ("--max-memory", "1024")
    on_store = (*limit, "--store", store, "--project", root, "add", "--dry-run")
    batch, sheet = str(project.batch), str(project.sheet)
    expected = {
        (
            "add 100 triples",
            "CLI --store",
            "command",
            ("python", "-m", "kgraph", *on_store, batch),
            False,
        ),
        (
            "add a claim sheet",
            "CLI --store",
            "command",
            ("python", "-m", "kgraph", *on_store, sheet),
            True,
        ),
        (
            "add 100 triples",
            "CLI",
            "command",
            ("python", "-m", "kgraph", *limit, "--project", root, "add", "--dry-run", batch),
            False,
        ),
    }
    if last:
        expected |= {
            ("add 100 triples", PROFILED, "cli_profile", (*on_store, batch), False),
            ("add a claim sheet", PROFILED, "cli_profile", (*on_store, sheet), False),
        }
    assert len(seen) == len(expected) and set(seen) == expected
