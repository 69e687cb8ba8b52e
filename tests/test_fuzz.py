"""Property-based tests: mutated Turtle, JSON-LD and SPARQL end in a result or one of our
errors, never another exception, and never reach the network (docs/security.md).

The inputs are real ones (excerpts of data/article.ttl, a JSON-LD document, canned query
texts) with bytes flipped, brackets, quotes, backslashes, escapes, prefixes and SERVICE
clauses pointing at a counting 127.0.0.1 server inserted, and tails cut off. The library is
driven directly (``read_input`` + ``parse``; ``check_query`` + ``Dataset.query`` in a bounded
worker), and the CLI through Click for a smaller sample.

The examples are derandomised, so CI sees the same ones on every run; set
``KGRAPH_FUZZ=explore`` to draw new ones (and more of them).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, invoke
from kgraph import Project
from kgraph.errors import ExitStatus, KGraphError
from kgraph.formats import RdfSyntax
from kgraph.guards import check_query
from kgraph.limits import Limits, Phase, run_bounded
from kgraph.namespaces import GRAPH
from kgraph.store import Dataset, parse, read_input
from test_security import CountingServer

EXPLORE = os.environ.get("KGRAPH_FUZZ") == "explore"


def fuzz_settings(examples: int) -> Any:
    return settings(
        max_examples=examples * (10 if EXPLORE else 1),
        deadline=None,
        derandomize=not EXPLORE,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


LIMITS = Limits(query_timeout=10.0, work_timeout=10.0)
PORT = b"{PORT}"  # replaced by the counting server's port


# -- seeds ----------------------------------------------------------------------------------


def _turtle_excerpts() -> list[bytes]:
    """A few statements of data/article.ttl each, with its prefixes."""
    text = (ROOT / "data" / "article.ttl").read_text(encoding="utf-8")
    prefixes = "".join(line + "\n" for line in text.splitlines() if line.startswith("@prefix"))
    blocks = [
        b
        for b in re.split(r"\n\s*\n", text)
        if b.strip() and not b.lstrip().startswith(("#", "@prefix"))
    ]
    step = max(1, len(blocks) // 6)
    return [
        (prefixes + "\n" + "\n\n".join(blocks[i : i + 3]) + "\n").encode()
        for i in range(0, len(blocks), step)
    ][:6]


JSONLD = b"""{
  "@context": {
    "kg": "https://w3id.org/kgraph/ontology#",
    "kgd": "https://w3id.org/kgraph/id/",
    "label": {"@id": "http://www.w3.org/2000/01/rdf-schema#label", "@language": "en"},
    "knows": {"@id": "kg:knows", "@type": "@id"}
  },
  "@graph": [
    {"@id": "kgd:a", "@type": "kg:Person", "label": "A \\"quoted\\" name", "knows": ["kgd:b", "kgd:c"]},
    {"@id": "kgd:b", "kg:values": {"@list": [1, 2.5, true, null]}, "kg:date": {"@value": "2024-10-28", "@type": "http://www.w3.org/2001/XMLSchema#date"}}
  ]
}
"""

OWN_QUERIES = [
    'PREFIX kg: <https://w3id.org/kgraph/ontology#>\nSELECT ?s ?label WHERE {\n  ?s a kg:Sentence ;\n     skos:prefLabel ?label .\n  FILTER (CONTAINS(STR(?label), "1"))\n} ORDER BY ?s LIMIT 5\n',
    "#+ summary: Claims by stance\n#+ columns: [stance, n]\nSELECT ?stance (COUNT(?c) AS ?n) WHERE { ?c a kg:Claim ; kg:stance ?stance } GROUP BY ?stance\n",
    'ASK { ?s rdfs:label "x"@en . OPTIONAL { ?s <http://example.org/p> ?o } }',
    "CONSTRUCT { ?s a ?t } WHERE { GRAPH ?g { ?s a ?t } VALUES ?t { kg:Person kg:Claim } }",
    "SELECT * FROM <https://w3id.org/kgraph/graph/data/article.ttl> WHERE { ?s ?p 'text' } LIMIT 3",
    "DESCRIBE kgd:article",
]


def _query_seeds() -> list[bytes]:
    shipped = sorted((ROOT / "queries").glob("*.rq"))[:8] if (ROOT / "queries").is_dir() else []
    return [q.encode() for q in OWN_QUERIES] + [p.read_bytes() for p in shipped]


TURTLE_SEEDS = _turtle_excerpts()
QUERY_SEEDS = _query_seeds()

TOKENS = [
    b"[",
    b"]",
    b"(",
    b")",
    b"{",
    b"}",
    b"<",
    b">",
    b'"',
    b"'",
    b'"""',
    b"'''",
    b"\\",
    b"\\u0053",
    b"\\u0022",
    b"\\U0010FFFF",
    b"#",
    b"\n",
    b".",
    b";",
    b",",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"@",
    b"@prefix x: <http://127.0.0.1:{PORT}/> .\n",
    b"x:y",
    b"_:b",
    b"^^",
    b"@base <file:///etc/> .\n",
    b" SERVICE <http://127.0.0.1:{PORT}/sparql> { ?s ?p ?o } ",
    b" service ?s { } ",
    b" FROM <http://127.0.0.1:{PORT}/g> ",
    b" FROM NAMED x:g ",
    b" LOAD <http://127.0.0.1:{PORT}/d> ",
    b'"@context": "http://127.0.0.1:{PORT}/ctx", ',
    b'"@context": ["file:///etc/hostname"], ',
    b'{"@import": "http://127.0.0.1:{PORT}/ctx"}',
    b'"@id": ',
    b"<http://127.0.0.1:{PORT}/x>",
    b'<!DOCTYPE r [<!ENTITY a SYSTEM "http://127.0.0.1:{PORT}/e">]>',
]

_operation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.sampled_from(TOKENS)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 20), st.integers(1, 64)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 20), st.just(0)),
)


def mutate(data: bytes, operations: list[tuple[str, int, Any]], port: int) -> bytes:
    out = bytearray(data)
    for kind, where, arg in operations:
        at = where % (len(out) + 1)
        if kind == "flip" and out:
            out[at % len(out)] = arg
        elif kind == "insert":
            out[at:at] = arg.replace(PORT, str(port).encode())
        elif kind == "delete":
            del out[at : at + arg]
        elif kind == "truncate":
            del out[at:]
    return bytes(out)


mutations = st.lists(_operation, min_size=1, max_size=6)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[CountingServer]:
    with CountingServer() as running:
        yield running
    assert running.hits == [], "a fuzzed input made kgraph reach the network"


@pytest.fixture(scope="module")
def small_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ontology and shapes with one excerpt of the article as data: quick to validate."""
    root = tmp_path_factory.mktemp("fuzz") / "project"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    (root / "data").mkdir()
    (root / "data" / "excerpt.ttl").write_bytes(TURTLE_SEEDS[0])
    return root


@pytest.fixture(scope="module")
def dataset(small_project: Path) -> Dataset:
    return Project.open(small_project, limits=LIMITS, isolated=False).dataset()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inputs")


def assert_ours(err: BaseException) -> None:
    assert isinstance(err, KGraphError), f"{type(err).__name__} escaped: {err}"
    assert not err.message.startswith("internal error"), err.message


# -- the library -------------------------------------------------------------------------------


def _read_and_parse(path: Path) -> None:
    try:
        source = read_input(str(path), None, LIMITS)
        parse(source, base_iri=GRAPH + "input/0/" + path.name, limits=LIMITS)
    except KGraphError as err:
        assert_ours(err)


@fuzz_settings(150)
@given(seed=st.sampled_from(TURTLE_SEEDS), operations=mutations)
def test_mutated_turtle_parses_or_fails_with_our_error(
    server, inputs: Path, seed: bytes, operations
) -> None:
    path = inputs / "input.ttl"
    path.write_bytes(mutate(seed, operations, server.port))
    _read_and_parse(path)
    assert server.hits == []


@fuzz_settings(150)
@given(operations=mutations, suffix=st.sampled_from([".jsonld", ".rdf", ".trig", ".nt"]))
def test_mutated_jsonld_parses_or_fails_with_our_error(
    server, inputs: Path, operations, suffix: str
) -> None:
    # The same bytes also go to the other parsers: a JSON-LD document is junk to them.
    path = inputs / f"input{suffix}"
    path.write_bytes(mutate(JSONLD, operations, server.port))
    _read_and_parse(path)
    assert server.hits == []


def _evaluate(dataset: Dataset, text: str) -> int:
    """Guard, then run and consume the query in a bounded worker: the number of answers."""

    def work() -> int:
        check_query(text, max_depth=LIMITS.max_depth, allowed_graph_prefix=GRAPH, source="fuzz")
        result = dataset.query(text, source="fuzz")
        if isinstance(result, bool) or not hasattr(result, "__iter__"):
            return int(bool(result))
        return sum(1 for _ in result)

    return run_bounded(work, LIMITS, first_phase=Phase.QUERY)


@fuzz_settings(150)
@given(seed=st.sampled_from(QUERY_SEEDS), operations=mutations)
def test_mutated_query_runs_or_fails_with_our_error(
    server, dataset: Dataset, seed: bytes, operations
) -> None:
    # Bytes that are not UTF-8 reach kgraph as a command-line argument does: surrogateescape.
    text = mutate(seed, operations, server.port).decode("utf-8", "surrogateescape")
    try:
        _evaluate(dataset, text)
    except KGraphError as err:
        assert_ours(err)
    assert server.hits == []


# -- the command line -----------------------------------------------------------------------------


def assert_cli_outcome(result: Any, *, one_line: bool = True) -> None:
    assert result.exit_code in (
        ExitStatus.OK,
        ExitStatus.FINDINGS,
        ExitStatus.BAD_INPUT,
        ExitStatus.LIMIT,
    ), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code in (ExitStatus.BAD_INPUT, ExitStatus.LIMIT):
        assert result.stderr.startswith("Error: "), result.stderr
        assert "internal error" not in result.stderr, result.stderr
        if one_line:
            assert result.stderr.count("\n") == 1, result.stderr


@fuzz_settings(25)
@given(
    seed=st.sampled_from([(s, ".ttl") for s in TURTLE_SEEDS[:3]] + [(JSONLD, ".jsonld")]),
    operations=mutations,
)
def test_cli_validate_of_mutated_input_exits_cleanly(
    server, small_project: Path, inputs: Path, seed, operations
) -> None:
    data, suffix = seed
    path = inputs / f"cli-input{suffix}"
    path.write_bytes(mutate(data, operations, server.port))
    assert_cli_outcome(invoke(["--project", str(small_project), "validate", str(path)]))
    assert server.hits == []


@fuzz_settings(25)
@given(seed=st.sampled_from(QUERY_SEEDS), operations=mutations)
def test_cli_query_of_mutated_text_exits_cleanly(
    server, small_project: Path, seed: bytes, operations
) -> None:
    result = _cli_query(small_project, mutate(seed, operations, server.port))
    assert_cli_outcome(result)
    assert server.hits == []


def _cli_query(project: Path, data: bytes) -> Any:
    text = data.decode("utf-8", "surrogateescape")
    text = text.replace("\x00", "")  # no command-line argument can hold a NUL
    return invoke(["--project", str(project), "--timeout", "10", "query", "-e", text])


def test_mutate_inserts_the_server_port() -> None:
    assert (
        mutate(b"ab", [("insert", 1, b"<http://127.0.0.1:{PORT}/x>")], 8123)
        == b"a<http://127.0.0.1:8123/x>b"
    )
    assert mutate(b"abcdef", [("truncate", 3, 0), ("flip", 0, ord("z"))], 1) == b"zbc"


def test_seeds_are_valid_before_mutation(dataset: Dataset, inputs: Path) -> None:
    for i, seed in enumerate(TURTLE_SEEDS):
        path = inputs / f"seed{i}.ttl"
        path.write_bytes(seed)
        assert parse(read_input(str(path), RdfSyntax.TURTLE, LIMITS), base_iri=None, limits=LIMITS)
    path = inputs / "seed.jsonld"
    path.write_bytes(JSONLD)
    assert parse(read_input(str(path), None, LIMITS), base_iri=None, limits=LIMITS)
    for seed in OWN_QUERIES:
        assert _evaluate(dataset, seed) >= 0
