"""Issue 13: literals keep the lexical form and datatype the source files wrote, from the
files to what kgraph writes out (export in every format, convert, reason, push), although
Oxigraph's store canonicalises them (``"12"^^xsd:long`` -> xsd:integer, ``"1"^^xsd:boolean``
-> ``true``, ``"1.50"`` -> ``"1.5"``, ``0012`` -> ``12``); and blank nodes are blank nodes
for pySHACL too. Everything through the command line, on a private copy of the project.
"""

from __future__ import annotations

import gzip
import http.server
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from kgraph.errors import ExitStatus
from servers import Loopback, QuietHandler, relay
from stores import OxigraphServer

XSD = "http://www.w3.org/2001/XMLSchema#"
EX = "https://example.org/"
EXACT = f"""@prefix ex: <{EX}> .
@prefix xsd: <{XSD}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:count rdfs:subPropertyOf ex:amount .
ex:a ex:count "12"^^xsd:long ;
    ex:flag "1"^^xsd:boolean, true ;
    ex:padded 0012 ;
    ex:price 1.50 ;
    ex:plain 12 .
[] ex:count "5"^^xsd:int .
"""
LINES = (
    f'<{EX}b> <{EX}count> "07"^^<{XSD}short> .\n'
    f'<{EX}b> <{EX}label> "x\\"^^<{XSD}long>" .\n'
    f'<{EX}b> <{EX}plain> "3"^^<{XSD}integer> .\n'
)


def lit(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(XSD + datatype))


# Each as the files write it; none is what the store holds.
WRITTEN = [
    (EX + "a", EX + "count", lit("12", "long")),
    (EX + "a", EX + "flag", lit("1", "boolean")),
    (EX + "a", EX + "flag", lit("true", "boolean")),
    (EX + "a", EX + "padded", lit("0012", "integer")),
    (EX + "a", EX + "price", lit("1.50", "decimal")),
    (EX + "a", EX + "plain", lit("12", "integer")),
    (EX + "b", EX + "count", lit("07", "short")),
    (EX + "b", EX + "label", ox.Literal('x"^^<' + XSD + "long>")),
    (EX + "b", EX + "plain", lit("3", "integer")),
]


@pytest.fixture
def exact(project: Path) -> Path:
    (project / "data" / "exact.ttl").write_text(EXACT)
    (project / "data" / "lines.nt").write_text(LINES)
    return project


def ours(triples: list[ox.Triple] | list[ox.Quad]) -> set[tuple[str, str, ox.Literal]]:
    """The example's triples with a named subject, as (subject, predicate, literal)."""
    return {
        (t.subject.value, t.predicate.value, t.object)
        for t in triples
        if isinstance(t.subject, ox.NamedNode)
        and t.subject.value.startswith(EX)
        and isinstance(t.object, ox.Literal)
    }


def parsed(data: bytes, fmt: str) -> list[ox.Quad]:
    if fmt.endswith(".gz"):
        data, fmt = gzip.decompress(data), fmt.removesuffix(".gz")
    formats = {
        "nq": ox.RdfFormat.N_QUADS,
        "nt": ox.RdfFormat.N_TRIPLES,
        "turtle": ox.RdfFormat.TURTLE,
        "trig": ox.RdfFormat.TRIG,
        "jsonld": ox.RdfFormat.JSON_LD,
        "xml": ox.RdfFormat.RDF_XML,
    }
    return list(ox.parse(data, format=formats[fmt]))


def skolem_count(quads: list[ox.Quad]) -> set[ox.Literal]:
    """The objects of ex:count on the blank node (a skolem IRI in exports)."""
    return {
        q.object
        for q in quads
        if q.predicate.value == EX + "count" and not q.subject.value.startswith(EX)
    }


@pytest.mark.parametrize("fmt", ["nq", "nt", "turtle", "trig", "jsonld", "xml", "nq.gz", "nt.gz"])
def test_export_writes_literals_as_the_files_do(kgraph, exact: Path, fmt: str) -> None:
    result = kgraph("export", "-f", fmt)
    assert result.exit_code == 0, result.stderr
    quads = parsed(result.output_bytes, fmt)
    assert ours(quads) == set(WRITTEN)
    assert skolem_count(quads) == {lit("5", "int")}


def test_export_to_a_file_and_from_an_on_disk_store(kgraph, exact: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.nq"
    store = tmp_path / "store"
    for _ in range(2):  # built, then reused
        result = kgraph("--store", str(store), "export", "-f", "nq", "-o", str(target))
        assert result.exit_code == 0, result.stderr
        assert ours(parsed(target.read_bytes(), "nq")) == set(WRITTEN)
        target.unlink()


def test_export_keeps_the_rest_of_the_graph_as_it_was(kgraph, project: Path) -> None:
    """Nothing rewritten, nothing changes: the same N-Quads as the store's own."""
    before = kgraph("export", "-f", "nq")
    (project / "data" / "exact.ttl").write_text(EXACT)
    after = kgraph("export", "-f", "nq")
    lines = set(after.stdout.splitlines()) - set(before.stdout.splitlines())
    assert all("example.org" in line or "genid/data/exact.ttl" in line for line in lines)
    assert set(before.stdout.splitlines()) <= set(after.stdout.splitlines())


def test_export_infer_and_reason_copy_the_written_form(kgraph, exact: Path) -> None:
    """ex:count rdfs:subPropertyOf ex:amount copies "12"^^xsd:long, not the store's
    xsd:integer, nor the form of ex:plain 12 (the same value on another predicate)."""
    result = kgraph("reason", "--infer", "rdfs", "-f", "nt")
    assert result.exit_code == 0, result.stderr
    amounts = {
        t.object for t in parsed(result.output_bytes, "nt") if t.predicate.value == EX + "amount"
    }
    assert amounts == {lit("12", "long"), lit("07", "short"), lit("5", "int")}
    exported = kgraph("export", "-f", "nq", "--infer", "rdfs")
    assert exported.exit_code == 0, exported.stderr
    inferred = [
        q for q in parsed(exported.output_bytes, "nq") if q.predicate.value == EX + "amount"
    ]
    assert {q.object for q in inferred} == amounts


def test_convert_writes_literals_as_parsed(kgraph, project: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.ttl"
    source.write_text(EXACT)
    result = kgraph("convert", str(source), "-f", "nt")
    assert result.exit_code == 0, result.stderr
    assert ours(parsed(result.output_bytes, "nt")) == set(WRITTEN[:6])


# -- push: sent as written, verified by value -------------------------------------------------


class Recorder:
    """A proxy to an Oxigraph server that keeps the bodies of the Graph Store requests and
    can change one string in them on the way (a store that changes a value)."""

    def __init__(self, target: OxigraphServer, change: tuple[bytes, bytes] | None = None) -> None:
        self.sent: list[bytes] = []
        recorder = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                recorder.forward(self)

            do_PUT = do_POST

            def do_GET(self) -> None:
                recorder.forward(self)

        self.target, self.change = target, change
        self.loopback = Loopback(Handler)
        self.base = self.loopback.base

    def forward(self, h: http.server.BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        if h.path.startswith("/store"):
            self.sent.append(body)
            if self.change:
                body = body.replace(*self.change)
        relay(h, self.target.base, body or None)

    def close(self) -> None:
        self.loopback.close()


@pytest.fixture
def oxigraph(tmp_path: Path) -> Iterator[OxigraphServer]:
    server = OxigraphServer(tmp_path / "oxigraph-data")
    yield server
    server.stop()


def test_push_sends_literals_as_written_and_verifies_by_value(
    kgraph, exact: Path, oxigraph: OxigraphServer
) -> None:
    """Oxigraph server canonicalises what it is sent ("12"^^xsd:long -> xsd:integer, and
    true with "1"^^xsd:boolean into one triple): the push still verifies."""
    recorder = Recorder(oxigraph)
    try:
        pushed = kgraph("push", recorder.base + "/store")
    finally:
        recorder.close()
    assert pushed.exit_code == ExitStatus.OK, pushed.stderr
    assert "counts and content verified" in pushed.stderr
    sent = list(ox.parse(b"".join(recorder.sent), format=ox.RdfFormat.N_TRIPLES))
    assert ours(sent) == set(WRITTEN)
    row = next(r for r in pushed.stdout.splitlines() if "data/exact.ttl" in r).split()
    assert row[1:] == ["8", "7", "yes"]  # two forms of true sent, one triple held
    dumped = "\n".join(oxigraph.dump())
    assert f'"12"^^<{XSD}integer>' in dumped and f"<{EX}count>" in dumped


def test_push_still_catches_a_value_the_store_changed(
    kgraph, exact: Path, oxigraph: OxigraphServer
) -> None:
    recorder = Recorder(oxigraph, (f'"12"^^<{XSD}long>'.encode(), f'"13"^^<{XSD}long>'.encode()))
    try:
        pushed = kgraph("push", recorder.base + "/store")
    finally:
        recorder.close()
    assert pushed.exit_code == ExitStatus.REMOTE_OR_IO, pushed.stderr
    assert "graph <https://w3id.org/kgraph/graph/data/exact.ttl> in the store differs" in (
        pushed.stderr
    )
    assert f'"12"^^<{XSD}integer>' in pushed.stderr  # compared by value
    assert f'"13"^^<{XSD}integer>' in pushed.stderr


# -- pySHACL sees blank nodes as blank nodes ----------------------------------------------------

PREFIXES = """@prefix ex: <https://example.org/> .
@prefix kg: <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
"""


def test_pyshacl_reports_a_blank_node_that_must_be_an_iri(kgraph, project: Path) -> None:
    """kg:about has sh:nodeKind sh:IRI; pySHACL was given the skolem IRI of `[]`."""
    (project / "data" / "extra.ttl").write_text(PREFIXES + "kgd:claim-F01 kg:about [] .\n")
    result = kgraph("validate", "--engine", "pyshacl")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "A claim must say what it is about" in result.stdout
    assert "extra.ttl:" in result.stdout  # located in the file that wrote `[]`
    assert "genid" in result.stdout  # named by the IRI the store gave it, as elsewhere


def test_pyshacl_accepts_blank_nodes_where_blank_nodes_belong(
    kgraph, project: Path, tmp_path: Path
) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(
        shapes.read_text()
        + PREFIXES
        + "ex:BlankShape a sh:NodeShape ; sh:targetSubjectsOf ex:part ;\n"
        "  sh:property [ sh:path ex:part ; sh:nodeKind sh:BlankNode ] .\n"
    )
    good = tmp_path / "good.ttl"
    good.write_text(PREFIXES + "ex:s ex:part [ ex:size 1 ] .\n")
    bad = tmp_path / "bad.ttl"
    bad.write_text(PREFIXES + "ex:s ex:part ex:o .\n")
    assert kgraph("add", "--engine", "pyshacl", "--dry-run", str(good)).exit_code == 0
    assert kgraph("add", "--engine", "pyshacl", "--dry-run", str(bad)).exit_code == 1
    (project / "data" / "parts.ttl").write_text(PREFIXES + "ex:t ex:part [ ex:size 2 ] .\n")
    checked = kgraph("validate", "--engine", "pyshacl")
    assert "ex:BlankShape" not in checked.stdout and "BlankShape" not in checked.stdout
