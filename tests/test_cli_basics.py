"""The command line's contract: exit codes, one-line errors, atomic output."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from conftest import Run, invoke
from kgraph.errors import ExitStatus


def test_help_lists_every_command() -> None:
    result = invoke(["--help"])
    assert result.exit_code == 0
    for command in ("query", "queries", "validate", "reason", "export", "add", "remove", "batches"):
        assert f"  {command} " in result.stdout


def test_shipped_graph_validates_exits_0(kgraph) -> None:
    result: Run = kgraph("validate")
    assert result.exit_code == ExitStatus.OK, result.stdout + result.stderr
    assert result.stdout.startswith("conforms: 0 violations")


def test_validate_bad_date_exits_1_and_names_the_line(kgraph, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "@prefix kgd: <https://w3id.org/kgraph/id/> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        "\n"
        'kgd:visit-choe-russia-2024-10 <https://w3id.org/kgraph/ontology#date> "2204-10-28"^^xsd:date .\n'
    )
    result = kgraph("validate", str(bad))
    assert result.exit_code == ExitStatus.FINDINGS
    assert "kgd:visit-choe-russia-2024-10" in result.stdout
    assert f"{bad}:4" in result.stdout
    assert "between 1900-01-01 and 2100-12-31" in result.stdout


def test_malformed_turtle_reports_file_line_column_exits_2(kgraph, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text('<http://a> <http://b> <http://c> .\n<http://a> <http://b> "unterminated .\n')
    result = kgraph("validate", str(broken))
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {broken}:2:")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_missing_file_exits_2(kgraph, tmp_path: Path) -> None:
    result = kgraph("validate", str(tmp_path / "nope.ttl"))
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "no such file" in result.stderr


def test_unknown_query_exits_2(kgraph) -> None:
    result = kgraph("query", "no-such-query")
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr.startswith("Error: unknown query 'no-such-query'")


def test_query_csv_parses_back(kgraph) -> None:
    result = kgraph(
        "query",
        "-e",
        "SELECT ?s ?label WHERE { ?s a kg:Person ; skos:prefLabel ?label FILTER(lang(?label) = 'en') } ORDER BY ?label",
        "-f",
        "csv",
    )
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {"s", "label"} == set(rows[0])
    assert "Choe Son Hui" in {r["label"] for r in rows}


def test_query_json_parses_back(kgraph) -> None:
    result = kgraph("query", "-e", "ASK { ?s a kg:Visit }", "-f", "json")
    assert json.loads(result.stdout) == {"head": {}, "boolean": True}


def test_output_written_atomically_and_nothing_on_failure(kgraph, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("precious")
    failed = kgraph("query", "-e", "SELECT * WHERE { ?s ?p }", "-o", str(target))
    assert failed.exit_code == ExitStatus.BAD_INPUT
    assert target.read_text() == "precious"
    assert list(tmp_path.glob(".kgraph-tmp-*")) == []
    ok = kgraph(
        "query", "-e", "SELECT ?s WHERE { ?s a kg:Visit } LIMIT 1", "-f", "csv", "-o", str(target)
    )
    assert ok.exit_code == 0
    assert target.read_bytes().startswith(b"s\r\n")
