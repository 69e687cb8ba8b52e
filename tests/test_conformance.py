"""The W3C RDF 1.1 Turtle test suite, run through the `kgraph` CLI.

Driven by the vendored manifest (tests/data/w3c-turtle/manifest.ttl, see SOURCE.md there):
one case per manifest entry. Negative tests must be refused by `validate` and `add` with a
positioned one-line error and no change to the project; positive syntax tests must be
accepted by `convert` and `validate`; evaluation tests must convert to a graph isomorphic to
the expected N-Triples (https://www.w3.org/TR/turtle/; the suite's README says how).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic

from conftest import Run
from kgraph.errors import ExitStatus

SUITE = Path(__file__).resolve().parent / "data" / "w3c-turtle"
MANIFEST = SUITE / "manifest.ttl"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
RDFT = Namespace("http://www.w3.org/ns/rdftest#")

NEGATIVE = (RDFT.TestTurtleNegativeSyntax, RDFT.TestTurtleNegativeEval)
POSITIVE_SYNTAX = RDFT.TestTurtlePositiveSyntax
EVAL = RDFT.TestTurtleEval


@dataclass(frozen=True)
class Case:
    """One manifest entry: its test type, input file, base IRI and expected result."""

    id: str
    kind: URIRef
    path: Path
    base: str
    result: Path | None


def _local(iri: URIRef, base: str) -> Path:
    assert str(iri).startswith(base), f"{iri} is outside the suite's base {base}"
    return SUITE / str(iri)[len(base) :]


def load_manifest() -> tuple[str, list[Case]]:
    """The suite's base IRI and its entries, in manifest order.

    The manifest has no @base: it names its home with mf:assumedTestBase, and the suite's
    README says each file's base IRI is its retrieval IRI there. So the manifest is read
    once to find that IRI and again with it as the base; each action IRI is then the base
    for its own file.
    """
    first = Graph().parse(MANIFEST, format="turtle")
    bases = list(first.objects(None, MF.assumedTestBase))
    assert len(bases) == 1, bases
    base = str(bases[0])
    graph = Graph().parse(MANIFEST, format="turtle", publicID=base)
    manifest = graph.value(predicate=RDF.type, object=MF.Manifest, any=False)
    entries = list(Collection(graph, graph.value(manifest, MF.entries, any=False)))
    names = Counter(str(graph.value(e, MF.name, any=False)) for e in entries)
    cases = []
    for entry in entries:
        name = str(graph.value(entry, MF.name, any=False))
        # Upstream gives two entries the name "turtle-syntax-bad-num-05": tell them apart by
        # the entry's own IRI fragment so that every case keeps a stable, unique id.
        ident = name if names[name] == 1 else str(entry).rpartition("#")[2]
        action = graph.value(entry, MF.action, any=False)
        result = graph.value(entry, MF.result, any=False)
        cases.append(
            Case(
                id=ident,
                kind=graph.value(entry, RDF.type, any=False),
                path=_local(action, base),
                base=str(action),
                result=_local(result, base) if result is not None else None,
            )
        )
    return base, cases


BASE, CASES = load_manifest()

# Cases that fail because of a kgraph bug: {case id: reason}. Each is marked
# xfail(strict=True), so fixing the bug makes the suite say so.
KNOWN_BUGS: dict[str, str] = {}


def _params(kinds: tuple[URIRef, ...]) -> list[object]:
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case.id])]
            if case.id in KNOWN_BUGS
            else [],
        )
        for case in CASES
        if case.kind in kinds
    ]


def _position_error(path: Path) -> re.Pattern[str]:
    return re.compile(rf"Error: {re.escape(str(path))}:(\d+):(\d+): \S")


def assert_positioned_error(run: Run, path: Path) -> None:
    """Exit 2, nothing on stdout, one line on stderr naming file, line and column."""
    assert run.exit_code == ExitStatus.BAD_INPUT, (run.exit_code, run.stdout, run.stderr)
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    match = _position_error(path).match(lines[0])
    assert match, lines[0]
    line, column = int(match[1]), int(match[2])
    # A position inside the file (or just past its last line, for a truncated statement).
    assert 1 <= line <= path.read_bytes().count(b"\n") + 1, lines[0]
    assert column >= 1, lines[0]


def convert_to_nt(kgraph: Callable[..., Run], case: Case) -> Run:
    return kgraph("convert", str(case.path), "--base", case.base, "-f", "nt")


def parse_expected(path: Path) -> Graph:
    return lower_language_tags(Graph().parse(path, format="nt"))


def parse_output(data: bytes) -> Graph:
    """kgraph's N-Triples as an rdflib graph, checked to be N-Triples 1.1 on the way.

    rdflib's N-Triples parser only knows ASCII blank-node labels, but N-Triples 1.1 allows
    the PN_CHARS of Turtle (https://www.w3.org/TR/n-triples/#grammar-production-BLANK_NODE_LABEL)
    and kgraph keeps the labels it read. So a strict N-Triples parser reads the output first
    and its blank nodes are renamed b0, b1, ... (a renaming never changes isomorphism) before
    rdflib's nt parser reads it.
    """
    import pyoxigraph as ox

    labels: dict[str, ox.BlankNode] = {}

    def relabel(term: Any) -> Any:
        if isinstance(term, ox.BlankNode):
            return labels.setdefault(term.value, ox.BlankNode(f"b{len(labels)}"))
        return term

    quads = list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
    triples = [ox.Triple(relabel(q.subject), q.predicate, relabel(q.object)) for q in quads]
    ascii_nt = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    return lower_language_tags(Graph().parse(data=ascii_nt, format="nt"))


def lower_language_tags(graph: Graph) -> Graph:
    """The graph with its language tags in lower case.

    RDF 1.1 Concepts, 3.3: "Lexical representations of language tags MAY be converted to
    lower case. The value space of language tags is always in lower case."
    (https://www.w3.org/TR/rdf11-concepts/#section-Graph-Literal). Oxigraph does so when it
    parses (`"Cheers"@en-UK` is written back as `@en-uk`); the expected results keep the
    case of the input. Applied to both sides, it compares what the spec says is the same.
    """
    lowered = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.language:
            o = Literal(str(o), lang=o.language.lower())
        lowered.add((s, p, o))
    return lowered


# -- the cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(NEGATIVE))
def test_negative_is_refused_with_position_and_changes_nothing(
    case: Case, kgraph: Callable[..., Run], project: Path, snapshot: Callable[[Path], dict]
) -> None:
    # --base as the suite defines it, so that a refusal is about the syntax, not a missing base.
    assert_positioned_error(kgraph("validate", str(case.path), "--base", case.base), case.path)

    before = snapshot(project / "data")
    assert_positioned_error(kgraph("add", str(case.path), "--base", case.base), case.path)
    assert snapshot(project / "data") == before


@pytest.mark.parametrize("case", _params((POSITIVE_SYNTAX,)))
def test_positive_syntax_is_accepted(case: Case, kgraph: Callable[..., Run], project: Path) -> None:
    converted = convert_to_nt(kgraph, case)
    assert converted.exit_code == ExitStatus.OK, converted.stderr
    parse_output(converted.output_bytes)  # what convert wrote is N-Triples

    # Only the reading of FILE is under test here: an empty data/ keeps the SHACL run (which
    # would otherwise check the whole shipped graph for each case) out of the way.
    shutil.rmtree(project / "data")
    (project / "data").mkdir()
    checked = kgraph("validate", str(case.path), "--base", case.base)
    assert checked.exit_code in (ExitStatus.OK, ExitStatus.FINDINGS), checked.stderr
    assert "Traceback" not in checked.stderr


@pytest.mark.parametrize("case", _params((EVAL,)))
def test_eval_converts_to_the_expected_graph(case: Case, kgraph: Callable[..., Run]) -> None:
    assert case.result is not None
    converted = convert_to_nt(kgraph, case)
    assert converted.exit_code == ExitStatus.OK, converted.stderr
    got = parse_output(converted.output_bytes)
    expected = parse_expected(case.result)
    assert isomorphic(got, expected), converted.stdout


# -- the suite as a whole -------------------------------------------------------------------


def test_manifest_is_read_whole() -> None:
    assert BASE == "https://w3c.github.io/rdf-tests/rdf/rdf11/rdf-turtle/"
    kinds = Counter(case.kind for case in CASES)
    # The vendored copy is unmodified: these are its counts (its README gives older ones).
    assert kinds == {
        RDFT.TestTurtleNegativeSyntax: 94,
        RDFT.TestTurtlePositiveSyntax: 74,
        RDFT.TestTurtleEval: 145,
    }
    assert len({case.id for case in CASES}) == len(CASES)
    assert all(case.path.is_file() for case in CASES)
    assert all(
        case.result is not None and case.result.is_file() for case in CASES if case.kind == EVAL
    )
    assert set(KNOWN_BUGS) <= {case.id for case in CASES}
    # Every entry in the manifest's mf:entries list, nothing else.
    text = MANIFEST.read_text(encoding="utf-8")
    assert len(CASES) == text.count("mf:action")


def test_every_manifest_case_is_decided(kgraph: Callable[..., Run]) -> None:
    """Counts, independent of which cases pytest selected: every negative test is refused,
    every positive and eval test accepted (bar the known bugs, listed by name)."""
    refused: list[str] = []
    accepted: list[str] = []
    matched: list[str] = []
    for case in CASES:
        run = convert_to_nt(kgraph, case)
        if run.exit_code == ExitStatus.BAD_INPUT and _position_error(case.path).match(run.stderr):
            refused.append(case.id)
        elif run.exit_code == ExitStatus.OK:
            accepted.append(case.id)
            expected = parse_expected(case.result) if case.result is not None else None
            if expected is not None and isomorphic(parse_output(run.output_bytes), expected):
                matched.append(case.id)

    negatives = {c.id for c in CASES if c.kind in NEGATIVE}
    positives = {c.id for c in CASES if c.kind == POSITIVE_SYNTAX}
    evals = {c.id for c in CASES if c.kind == EVAL}
    assert len(negatives) + len(positives) + len(evals) == len(CASES)
    # Known bugs are decided (xfail, strict) by their own cases; all the others are here.
    known = set(KNOWN_BUGS)
    assert len(set(refused) - known) == len(negatives - known), sorted(negatives - set(refused))
    assert set(refused) - known == negatives - known, sorted(set(refused) - negatives)
    assert set(accepted) - known == (positives | evals) - known
    assert set(matched) - known == evals - known, sorted(evals - set(matched))
