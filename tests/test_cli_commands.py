"""Every command and option through Click's CliRunner: exit codes, and output that an
independent parser reads back (csv, json, xml.etree, rdflib)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic

from conftest import copy_shipped, interruptible, invoke
from kgraph.errors import ExitStatus

SELECT = "SELECT ?v ?label WHERE { ?v a kg:Visit ; skos:prefLabel ?label FILTER(lang(?label) = 'en') } ORDER BY ?v"
CONSTRUCT = "CONSTRUCT { ?v a kg:Visit ; kg:visitor ?p } WHERE { ?v a kg:Visit ; kg:visitor ?p }"
RDFLIB_FORMATS = {
    "turtle": "turtle",
    "nt": "nt",
    "nq": "nquads",
    "trig": "trig",
    "jsonld": "json-ld",
    "xml": "xml",
}


def rdf(data: bytes, fmt: str) -> rdflib.Dataset:
    dataset = rdflib.Dataset()
    dataset.parse(data=data, format=RDFLIB_FORMATS[fmt])
    return dataset


def flat(dataset: rdflib.Dataset) -> rdflib.Graph:
    """Every triple of every graph, as one graph."""
    graph = rdflib.Graph()
    for s, p, o, _ in dataset.quads():
        graph.add((s, p, o))
    return graph


# -- queries, query ---------------------------------------------------------------------------


def test_queries_lists_every_rq_file(kgraph, project: Path) -> None:
    listed = json.loads(kgraph("queries", "-f", "json").stdout)
    assert sorted(q["name"] for q in listed) == sorted(
        p.stem for p in (project / "queries").glob("*.rq")
    )
    assert all(q["summary"] for q in listed)
    table = kgraph("queries")
    assert table.exit_code == 0 and "timeline" in table.stdout


def test_select_in_every_result_format_parses_back(kgraph) -> None:
    rows = {
        "csv": lambda out: list(csv.DictReader(io.StringIO(out))),
        "tsv": lambda out: list(csv.DictReader(io.StringIO(out), delimiter="\t")),
        "json": lambda out: json.loads(out)["results"]["bindings"],
        "xml": lambda out: ET.fromstring(out).findall(
            ".//{http://www.w3.org/2005/sparql-results#}result"
        ),
    }
    counts = {
        fmt: len(parse(kgraph("query", "-e", SELECT, "-f", fmt).stdout))
        for fmt, parse in rows.items()
    }
    table = kgraph("query", "-e", SELECT)
    assert table.stdout.rstrip().endswith(f"({counts['csv']} rows)")
    assert set(counts.values()) == {counts["csv"]} and counts["csv"] >= 3


def test_ask_formats(kgraph) -> None:
    assert kgraph("query", "-e", "ASK { ?s a kg:Visit }").stdout == "true\n"
    root = ET.fromstring(kgraph("query", "-e", "ASK { ?s a kg:Nothing }", "-f", "xml").stdout)
    assert root.find("{http://www.w3.org/2005/sparql-results#}boolean").text == "false"


@pytest.mark.parametrize("fmt", ["turtle", "nt", "nq", "trig", "jsonld", "xml"])
def test_construct_in_every_rdf_format_parses_back(kgraph, fmt: str) -> None:
    result = kgraph("query", "-e", CONSTRUCT, "-f", fmt)
    assert result.exit_code == 0, result.stderr
    reference = flat(rdf(kgraph("query", "-e", CONSTRUCT, "-f", "nt").output_bytes, "nt"))
    assert isomorphic(flat(rdf(result.output_bytes, fmt)), reference)
    assert len(reference) > 3


def test_format_that_does_not_fit_the_query_form_exits_2(kgraph) -> None:
    assert kgraph("query", "-e", CONSTRUCT, "-f", "csv").exit_code == ExitStatus.BAD_INPUT
    assert kgraph("query", "-e", SELECT, "-f", "turtle").exit_code == ExitStatus.BAD_INPUT


def test_query_file_and_parameters(kgraph, tmp_path: Path) -> None:
    query = tmp_path / "visits-by.rq"
    query.write_text(
        "#+ summary: visits by a person\n#+ params:\n#+   who: {type: iri, required: true}\n"
        "PREFIX kg: <https://w3id.org/kgraph/ontology#>\nSELECT ?v WHERE { ?v kg:visitor ?who } ORDER BY ?v\n"
    )
    ok = kgraph("query", str(query), "-p", "who", "kgd:ChoeSonHui", "-f", "csv")
    assert ok.exit_code == 0 and "visit-choe-russia-2024-10" in ok.stdout
    missing = kgraph("query", str(query))
    assert missing.exit_code == ExitStatus.BAD_INPUT and "needs parameter(s): who" in missing.stderr
    unknown = kgraph("query", str(query), "-p", "nobody", "x")
    assert unknown.exit_code == ExitStatus.BAD_INPUT and "no parameter 'nobody'" in unknown.stderr
    # an iri parameter that is not an IRI is a name, looked up in the graph (issue 11)
    bad_iri = kgraph("query", str(query), "-p", "who", "not an iri")
    assert bad_iri.exit_code == ExitStatus.BAD_INPUT
    assert bad_iri.stderr == "Error: no who is named 'not an iri'\n"


def test_bad_date_parameter_exits_2(kgraph) -> None:
    result = kgraph("query", "officials-and-posts", "-p", "date", "2024-02-30")
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "not a valid date" in result.stderr


def test_parameter_value_is_bound_not_pasted(kgraph) -> None:
    # A string that would break out of a quoted literal if it were pasted into the text.
    sneaky = 'x" } UNION { ?s ?p ?o } #'
    result = kgraph(
        "query",
        "-e",
        "SELECT ?s WHERE { ?s skos:prefLabel ?name }",
        "-p",
        "name",
        sneaky,
        "-f",
        "csv",
    )
    assert result.exit_code == 0
    assert result.stdout.strip() == "s"


def test_query_with_inference_and_output_file(kgraph, tmp_path: Path) -> None:
    target = tmp_path / "officials.json"
    result = kgraph(
        "query",
        "-e",
        "SELECT ?o WHERE { ?o a kg:Official } ORDER BY ?o",
        "--infer",
        "owlrl",
        "-f",
        "json",
        "-o",
        str(target),
    )
    assert result.exit_code == 0 and result.stdout == ""
    names = [b["o"]["value"] for b in json.loads(target.read_text())["results"]["bindings"]]
    assert "https://w3id.org/kgraph/id/ChoeSonHui" in names


def test_syntax_error_in_query_names_line_and_column(kgraph) -> None:
    result = kgraph("query", "-e", "SELECT * WHERE {\n  ?s ?p\n}")
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr.startswith("Error: -e:3:")


# -- validate, reason, export, convert --------------------------------------------------------


def test_validate_report_formats(kgraph, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        "@prefix kg: <https://w3id.org/kgraph/ontology#> .\n<https://w3id.org/kgraph/id/x> a kg:Claim .\n"
    )
    report = json.loads(kgraph("validate", str(bad), "-f", "json").stdout)
    assert report["conforms"] is False and report["results"]
    assert all(r["focusNode"] == "<https://w3id.org/kgraph/id/x>" for r in report["results"])
    graph = rdflib.Graph().parse(
        data=kgraph("validate", str(bad), "-f", "turtle").stdout, format="turtle"
    )
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    assert (None, sh.conforms, rdflib.Literal(False)) in graph
    assert len(list(graph.objects(None, sh.result))) == len(report["results"])
    target = tmp_path / "report.txt"
    written = kgraph("validate", str(bad), "-o", str(target))
    assert written.exit_code == ExitStatus.FINDINGS and "kgd:x" in target.read_text()


def test_validate_input_format_base_and_stdin(kgraph) -> None:
    nt = '<https://w3id.org/kgraph/id/ChoeSonHui> <http://www.w3.org/2004/02/skos/core#altLabel> "Choe (stdin)"@en .\n'
    assert kgraph("validate", "-", "--input-format", "nt", input=nt).exit_code == ExitStatus.OK
    relative = '@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n<ChoeSonHui> skos:altLabel "Choe (base)"@en .\n'
    assert (
        kgraph(
            "validate",
            "-",
            "--input-format",
            "turtle",
            "--base",
            "https://w3id.org/kgraph/id/",
            input=relative,
        ).exit_code
        == ExitStatus.OK
    )


@pytest.mark.parametrize("fmt", ["turtle", "nt", "nq", "trig", "jsonld", "xml"])
def test_reason_formats(kgraph, fmt: str) -> None:
    result = kgraph("reason", "--profile", "rdfs", "-f", fmt)
    assert result.exit_code == 0
    assert len(flat(rdf(result.output_bytes, fmt))) > 500


@pytest.mark.parametrize("fmt", ["turtle", "nt", "nq", "trig", "jsonld", "xml"])
def test_export_round_trips_in_every_format(kgraph, fmt: str) -> None:
    reference = rdf(kgraph("export", "-f", "nq").output_bytes, "nq")
    exported = rdf(kgraph("export", "-f", fmt).output_bytes, fmt)
    if fmt in ("nq", "trig", "jsonld"):
        assert {str(g.identifier) for g in exported.graphs() if len(g)} == {
            str(g.identifier) for g in reference.graphs() if len(g)
        }
        for graph in reference.graphs():
            assert isomorphic(
                rdflib.Graph() + graph, rdflib.Graph() + exported.graph(graph.identifier)
            )
    else:
        assert isomorphic(flat(exported), flat(reference))


@pytest.mark.parametrize("fmt", ["nq.gz", "nt.gz"])
def test_export_gzip(kgraph, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"dump.{fmt}"
    assert kgraph("export", "-f", fmt, "-o", str(target)).exit_code == 0
    plain = kgraph("export", "-f", fmt.removesuffix(".gz")).output_bytes
    assert gzip.decompress(target.read_bytes()) == plain


def test_convert(kgraph, tmp_path: Path) -> None:
    source = tmp_path / "in.ttl"
    source.write_text("@prefix e: <http://example.org/> .\ne:a e:b [ e:c 1 ] .\n")
    out = kgraph("convert", str(source), "-f", "jsonld")
    assert len(flat(rdf(out.output_bytes, "jsonld"))) == 2


# -- stats, check -----------------------------------------------------------------------------


def test_stats_formats(kgraph) -> None:
    data = json.loads(kgraph("stats", "-f", "json").stdout)
    assert data["triples"] == sum(n for _, _, n in data["graphs"])
    assert dict(data["classes"])["https://w3id.org/kgraph/ontology#Claim"] >= 66
    void = rdflib.Graph().parse(data=kgraph("stats", "-f", "turtle").stdout, format="turtle")
    v = rdflib.Namespace("http://rdfs.org/ns/void#")
    [(dataset, triples)] = [
        (s, o) for s, o in void.subject_objects(v.triples) if (s, v.subset, None) in void
    ]
    assert int(triples) == data["triples"]
    assert len(list(void.objects(dataset, v.subset))) == len(data["graphs"])
    assert "instances" in kgraph("stats").stdout


def test_check_formats_and_failure(kgraph, project: Path) -> None:
    clean = kgraph("check", "-f", "tsv")
    assert clean.exit_code == 0, clean.stdout
    assert clean.stdout.splitlines()[0] == "Level\tRule Name\tSubject\tProperty\tValue"
    (project / "data" / "untyped.ttl").write_text(
        '<https://w3id.org/kgraph/id/loose-end> <http://www.w3.org/2004/02/skos/core#prefLabel> "Loose end"@en .\n'
    )
    failing = kgraph("check", "-f", "json")
    assert failing.exit_code == ExitStatus.FINDINGS
    findings = json.loads(failing.stdout)["findings"]
    assert any(
        f["Rule Name"] == "untyped-instance" and "loose-end" in f["Subject"] for f in findings
    )


# -- global options ---------------------------------------------------------------------------


def test_project_option_and_shipped_graph(tmp_path: Path, workdir: Path) -> None:
    shipped = invoke(["query", "-e", "ASK { kgd:ChoeSonHui a kg:Person }"])
    assert shipped.stdout == "true\n"
    not_a_project = invoke(["--project", str(tmp_path), "validate"])
    assert not_a_project.exit_code == ExitStatus.BAD_INPUT
    assert "not a kgraph project" in not_a_project.stderr


def test_store_option_gives_the_same_answers(kgraph, tmp_path: Path) -> None:
    store = tmp_path / "store"
    memory = kgraph("query", "timeline", "-f", "tsv").stdout
    assert kgraph("--store", str(store), "query", "timeline", "-f", "tsv").stdout == memory
    assert kgraph("--store", str(store), "query", "timeline", "-f", "tsv").stdout == memory
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "precious.txt").write_text("x")
    refused = kgraph("--store", str(tmp_path / "other"), "query", "timeline")
    assert refused.exit_code == ExitStatus.REMOTE_OR_IO and "not a kgraph store" in refused.stderr


def test_limits_options(kgraph, tmp_path: Path) -> None:
    big = tmp_path / "big.nt"
    big.write_text(
        "".join(f'<http://example.org/s{i}> <http://example.org/p> "{i}" .\n' for i in range(20))
    )
    assert kgraph("--max-triples", "10", "validate", str(big)).exit_code == ExitStatus.LIMIT
    assert kgraph("--max-input", "0", "validate", str(big)).exit_code == ExitStatus.LIMIT
    deep = "SELECT * WHERE " + "{ " * 70 + "?s ?p ?o " + "} " * 70
    assert kgraph("query", "-e", deep).exit_code == ExitStatus.LIMIT
    assert kgraph("--max-depth", "100", "query", "-e", deep, "-f", "csv").exit_code == 0
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    stopped = kgraph("--timeout", "1", "query", "-e", slow)
    assert stopped.exit_code == ExitStatus.LIMIT and "--timeout" in stopped.stderr


def test_version() -> None:
    from kgraph import __version__

    assert invoke(["--version"]).stdout.strip() == f"kgraph, version {__version__}"


# -- interrupted output --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_output_write_leaves_no_file(tmp_path: Path, sig: signal.Signals) -> None:
    project = tmp_path / "project"
    copy_shipped(project)
    # Enough data that the export is still running when the signal comes.
    with open(project / "data" / "bulk.nt", "w") as out:
        for i in range(300_000):
            out.write(
                f'<https://w3id.org/kgraph/id/bulk-{i}> <http://www.w3.org/2004/02/skos/core#note> "note {i}" .\n'
            )
    target = tmp_path / "out" / "dump.nq"
    target.parent.mkdir()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kgraph",
            "--project",
            str(project),
            "export",
            "-f",
            "nq",
            "-o",
            str(target),
        ],
        stderr=subprocess.PIPE,
        preexec_fn=interruptible,
    )
    # Signal while the output is being written: once its temporary file exists.
    deadline = time.monotonic() + 60
    while not list(target.parent.glob(".kgraph-tmp-*")) and process.poll() is None:
        assert time.monotonic() < deadline, "the export never started writing"
        time.sleep(0.005)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert b"interrupted; nothing was written" in stderr
    assert list(target.parent.iterdir()) == []


def test_from_names_the_dataset_of_the_query(kgraph) -> None:
    """A query's own FROM is its default graph: the union of every graph (kgraph's default)
    must not override it (it counted 3,098 triples instead of the article's 1,296)."""
    article = "https://w3id.org/kgraph/graph/data/article.ttl"
    counts = {}
    for clause in (f"FROM <{article}>", ""):
        run = kgraph(
            "query", "-f", "csv", "-e", f"SELECT (COUNT(*) AS ?n) {clause} WHERE {{ ?s ?p ?o }}"
        )
        assert run.exit_code == 0, run.stderr
        counts[clause] = int(run.stdout.splitlines()[1])
    graph = kgraph(
        "query",
        "-f",
        "csv",
        "-e",
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{article}> {{ ?s ?p ?o }} }}",
    )
    assert counts[f"FROM <{article}>"] == int(graph.stdout.splitlines()[1])
    assert counts[f"FROM <{article}>"] < counts[""]
