"""Review of the add-a-new-article route (claim sheets, Turtle, the canned queries that
should then answer across the documents): each test fails on the code before its fix."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from conftest import Run
from kgraph.errors import ExitStatus
from kgraph.sheets import TEMPLATE

KGD = "https://w3id.org/kgraph/id/"


def tsv(run: Run) -> list[dict[str, str]]:
    assert run.exit_code == ExitStatus.OK, run.stderr
    reader = csv.DictReader(io.StringIO(run.stdout), delimiter="\t", quoting=csv.QUOTE_NONE)
    return [{k.lstrip("?"): v for k, v in row.items()} for row in reader]


# -- an estimate that names only its quantity is listed with the state's troops ---------


def test_the_templates_estimate_is_listed_beside_the_one_it_supersedes(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # The template's estimate says `of: North Korean soldiers sent to Russia` and
    # `supersedes: kgd:claim-F56` but no `about:`: the query read the state only from the
    # estimate's own kg:about, so F56 showed as superseded by an estimate it did not list.
    path = project / "report.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    added = kgraph("add", str(path))
    assert added.exit_code == ExitStatus.OK, added.stderr
    for args in ((), ("-p", "state", "North Korea")):
        table = tsv(kgraph("query", "troop-estimates-over-time", "-f", "tsv", *args))
        by_fact = {row["factId"].strip('"'): row for row in table}
        new = by_fact["C01"]
        assert new["state"] == f"<{KGD}DPRK>"
        assert new["count"] == "11000"
        assert new["isCurrent"] == "true"
        assert by_fact["F56"]["supersededBy"] == new["estimate"]
        assert by_fact["F56"]["isCurrent"] == "false"
    # The state comes from the estimates of the same quantity, not from any state's troops.
    assert (
        tsv(kgraph("query", "troop-estimates-over-time", "-f", "tsv", "-p", "state", "Russia"))
        == []
    )


# -- sheet errors that pointed the user the wrong way -------------------------------------


def test_an_empty_sheet_names_the_command_that_prints_one(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # It named `kgraph sheet`, which does not exist.
    path = project / "empty.yaml"
    path.write_text("", encoding="utf-8")
    run = kgraph("add", str(path))
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr == f"Error: {path}: the sheet is empty; `kgraph template` prints one\n"
    assert kgraph("template").exit_code == ExitStatus.OK


def test_a_day_that_does_not_exist_is_not_told_to_be_written_as_yyyy_mm_dd(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # '2024-11-31' is written as YYYY-MM-DD; the line said to write it so.
    text = TEMPLATE.replace("date: 2024-11-04\nsentences", "date: 2024-11-31\nsentences", 1)
    assert text != TEMPLATE
    path = project / "report.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  date: 2024-11-31") + 1
    run = kgraph("add", str(path))
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr == (
        f"Error: {path}:{line}: date '2024-11-31' is not a valid date: day is out of range for month\n"
    )
    assert not (project / "data" / "batches").exists()


def test_a_quote_never_closed_is_reported_where_it_opens(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # PyYAML finds it at the end of the file; the line given was the file's last.
    text = TEMPLATE.replace("  2: Lavrov met", '  2: "Lavrov met', 1)
    assert text != TEMPLATE
    path = project / "report.yaml"
    path.write_text(text, encoding="utf-8")
    opened = text.splitlines().index(next(ln for ln in text.splitlines() if '"Lavrov' in ln)) + 1
    run = kgraph("add", str(path))
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stdout == ""
    assert run.stderr == (
        f"Error: {path}:{opened}: not valid YAML: found unexpected end of stream while "
        "scanning a quoted scalar that starts here (it is never closed)\n"
    )


# -- a batch's violation on a node of an earlier file points at the batch ----------------

TURTLE_PREFIXES = """\
@prefix kg: <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def test_a_sheet_superseding_the_wrong_estimate_is_pointed_at_in_the_sheet(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # B05 counts the troops in Kursk, the template's estimate those sent to Russia: the
    # violation's focus is B05, and the report sent the user to data/article2.yaml, a file
    # that is never to be edited, instead of the sheet's line that says `supersedes:`.
    old = "supersedes: kgd:claim-F56"
    text = TEMPLATE.replace(old, "supersedes: kgd:claim-B05", 1)
    assert text != TEMPLATE
    path = project / "report.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "kgd:claim-B05" in ln)
    run = kgraph("add", str(path))
    assert run.exit_code == ExitStatus.FINDINGS
    assert "kgs:EstimateShape-sameQuantity" in run.stdout
    assert f"({path}:{line})" in run.stdout
    assert "data/article2.yaml" not in run.stdout
    assert not (project / "data" / "batches").exists()


def test_adding_turtle_points_at_its_own_line_for_an_earlier_node(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # The new estimate is dated before F56, which it supersedes: the finding is F56's
    # (notAfterSuccessor), and it pointed at data/article.ttl.
    path = project / "late.ttl"
    path.write_text(
        TURTLE_PREFIXES
        + "kgd:estimate-late a kg:Estimate ;\n"
        + "    kg:estimateOf kgd:quantity-dprk-soldiers-sent-to-russia ;\n"
        + '    kg:count 12000 ; kg:estimateDate "2024-10-01"^^xsd:date ;\n'
        + "    kg:supersedes kgd:claim-F56 .\n",
        encoding="utf-8",
    )
    run = kgraph("add", str(path), "--source", "https://example.org/late")
    assert run.exit_code == ExitStatus.FINDINGS
    finding = next(ln for ln in run.stdout.splitlines() if '= "2024-10-28"^^xsd:date' in ln)
    assert finding.endswith(f"({path}:7)")
    assert not (project / "data" / "batches").exists()


# -- --source with a claim sheet ---------------------------------------------------------


def test_a_source_other_than_the_sheets_document_is_refused(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # It replaced the sheet's document as the batch's dcterms:source, so the batch record
    # named one document and every claim of the batch another.
    path = project / "report.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    run = kgraph("add", str(path), "--source", "https://example.org/another-report")
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stdout == ""
    assert run.stderr == (
        "Error: --source 'https://example.org/another-report' is not the document the sheet "
        "names (kgd:north-korean-troops-in-kursk-lavrov-2024-11-04); leave it out: a sheet's "
        "batch records its own document\n"
    )
    assert not (project / "data" / "batches").exists()
    # The sheet's own address names the same document: accepted, and the document recorded.
    same = kgraph(
        "add", str(path), "--source", "https://example.org/news/2024-11-04-kursk", "-f", "turtle"
    )
    assert same.exit_code == ExitStatus.OK, same.stderr
    assert "dcterms:source kgd:north-korean-troops-in-kursk-lavrov-2024-11-04 ." in same.stdout


def test_a_known_name_of_the_wrong_kind_is_not_to_be_declared_new(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # Moscow is a city, not a participant: the line said to declare it under new:, which
    # is then refused as "already in the graph": a loop with no way out.
    old = "participants: [Sergey Lavrov, Choe Son Hui]"
    assert old in TEMPLATE
    text = TEMPLATE.replace(old, "participants: [Sergey Lavrov, Moscow]", 1)
    path = project / "report.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "Lavrov, Moscow]" in ln)
    run = kgraph("add", str(path))
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr.startswith(
        f"Error: {path}:{line}: no participant is named 'Moscow' "
        "(it names kgd:Moscow (Moscow), a city)"
    )
    assert "declare it under new:" not in run.stderr
    assert run.stderr.count("\n") == 1
    # What the old line advised is refused:
    declared = text.replace("  Sergey Lavrov: Person", "  Sergey Lavrov: Person\n  Moscow: City")
    path.write_text(declared, encoding="utf-8")
    again = kgraph("add", str(path))
    assert again.exit_code == ExitStatus.BAD_INPUT
    assert "'Moscow' is already in the graph (kgd:Moscow)" in again.stderr


# -- a later source that disputes an earlier one, through a sheet ------------------------

DISPUTE = """\
document: {url: https://example.org/wire/2024-11-15, title: Wire correction of 15 November 2024, publisher: Example Corrections, date: 2024-11-15}
sentences:
  1: Putin met Choe Son Hui on Tuesday, 5 November 2024, not on Monday.
new:
  Example Corrections: News agency
claims:
  - sentence: 1
    text: Putin met Choe Son Hui on 5 November 2024
    conflicts with: kgd:claim-B03
    statement:
      subject: kgd:meeting-putin-choe-2024-11-04
      property: date
      object: 2024-11-05
"""


def test_a_sheet_can_dispute_an_earlier_date_without_editing_its_file(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # A statement: asserts its triple, so another date for the meeting was refused (an
    # event has one kg:date) and a sheet could not record the disagreement at all.
    before = (project / "data" / "article2.yaml").read_bytes()
    path = project / "dispute.yaml"
    path.write_text(DISPUTE, encoding="utf-8")
    added = kgraph("add", str(path))
    assert added.exit_code == ExitStatus.OK, added.stdout + added.stderr
    conflicts = tsv(kgraph("query", "conflicting-claims", "-f", "tsv"))
    pairs = {(r["factId"], r["otherFactId"], r["disagreement"]) for r in conflicts}
    assert ('"B03"', '"C01"', '"conflictsWith"') in pairs
    dates = tsv(
        kgraph(
            "query",
            "-f",
            "tsv",
            "-e",
            "SELECT ?date WHERE { kgd:meeting-putin-choe-2024-11-04 kg:date ?date }",
        )
    )
    assert [r["date"] for r in dates] == ['"2024-11-04"^^<http://www.w3.org/2001/XMLSchema#date>']
    stated = tsv(
        kgraph(
            "query",
            "-f",
            "tsv",
            "-e",
            "SELECT ?o WHERE { ?c kg:conflictsWith kgd:claim-B03 ; rdf:object ?o }",
        )
    )
    assert [r["o"] for r in stated] == ['"2024-11-05"^^<http://www.w3.org/2001/XMLSchema#date>']
    assert (project / "data" / "article2.yaml").read_bytes() == before


def test_conflicts_with_names_a_claim(kgraph: Callable[..., Run], project: Path) -> None:
    path = project / "dispute.yaml"
    path.write_text(DISPUTE.replace("kgd:claim-B03", "kgd:Russia"), encoding="utf-8")
    run = kgraph("add", str(path))
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr == f"Error: {path}:9: kgd:Russia (Russia) is not a claim (it is a state)\n"


# -- validate and convert given a claim sheet --------------------------------------------


def test_validate_and_convert_of_a_sheet_name_the_command_that_reads_it(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # They said to pass --input-format, and no input format reads a sheet.
    path = project / "report.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    for command in ("validate", "convert"):
        run = kgraph(command, str(path))
        assert run.exit_code == ExitStatus.BAD_INPUT
        assert run.stdout == ""
        assert run.stderr == (
            f"Error: {str(path)!r} is a claim sheet, not RDF: `kgraph add` with --dry-run "
            "compiles and validates it (-f turtle prints its triples)\n"
        )


# -- a sheet of data/ that names what only a later file gives ----------------------------


def test_a_sheet_in_data_that_sorts_before_background_says_why_a_name_is_unknown(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # README: "name it to sort later, article3.yaml". The template, kept so, could not use
    # Moscow (background.ttl, which sorts after it), and the line said to declare it new.
    sheet = project / "data" / "article3.yaml"
    sheet.write_text(TEMPLATE, encoding="utf-8")
    line = next(i for i, ln in enumerate(TEMPLATE.splitlines(), 1) if "place: Moscow" in ln)
    run = kgraph("validate")
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert run.stderr.startswith(f"Error: {sheet}:{line}: no place is named 'Moscow'")
    assert run.stderr.endswith(
        "; data/background.ttl names it, but a sheet of data/ sees only the files before it "
        "in path order: rename the sheet to sort after background.ttl, or add it with "
        "`kgraph add`\n"
    )
    assert "declare it under new:" not in run.stderr
    # Renamed to sort after it, the same sheet compiles.
    sheet.rename(project / "data" / "z-article3.yaml")
    assert kgraph("validate").exit_code == ExitStatus.OK
