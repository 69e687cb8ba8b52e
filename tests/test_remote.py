"""`kgraph push` and `kgraph query --endpoint` against a real Oxigraph server, and stubs.

The Oxigraph server (the `oxigraph` package ships the binary) runs on 127.0.0.1 on a free
port with a fresh data folder; stubs built on http.server play the stores that refuse
credentials, reject large bodies, fail, or cut their answers off.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import json
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import ROOT, Run, interruptible, invoke
from kgraph.errors import ExitStatus
from kgraph.queries import registry
from servers import Loopback, QuietHandler, free_port
from stores import OXIGRAPH, OxigraphServer

pytestmark = pytest.mark.server

RERUN = "re-running `kgraph push` is safe (each graph is replaced)"
SHIPPED_GRAPHS = [
    "https://w3id.org/kgraph/graph/ontology/kgraph.ttl",
    "https://w3id.org/kgraph/graph/data/article.ttl",
    "https://w3id.org/kgraph/graph/data/article2.yaml",
    "https://w3id.org/kgraph/graph/data/background.ttl",
]

# Queries of this test module, added to the project copy next to the canned ones, so the
# local/remote comparison covers SELECT with typed parameters, ASK, CONSTRUCT, prefixes
# used without a declaration, and one declared in the query.
TEST_QUERIES = {
    "remote-test-labels": """#+ summary: Labelled things of a class (tests/test_remote.py)
#+ params:
#+   cls: {type: iri, required: false, example: "owl:Class", description: the class}
#+ columns: [thing, cls, label]
SELECT ?thing ?cls ?label WHERE { ?thing a ?cls ; rdfs:label ?label } ORDER BY ?thing ?cls ?label
""",
    "remote-test-dates": """#+ summary: Dated statements (tests/test_remote.py)
#+ params:
#+   day: {type: date, required: false, example: "2024-10-28", description: the date}
#+ columns: [s, p, day]
SELECT ?s ?p ?day WHERE {
  ?s ?p ?day . FILTER (isLiteral(?day) && datatype(?day) = xsd:date)
} ORDER BY ?s ?p ?day
""",
    "remote-test-ask": """#+ summary: Is there a visit? (tests/test_remote.py)
ASK { ?visit a kg:Visit }
""",
    "remote-test-construct": """#+ summary: Class labels as a graph (tests/test_remote.py)
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
CONSTRUCT { ?class rdfs:label ?label } WHERE { ?class a owl:Class ; rdfs:label ?label }
""",
}
QUERY_NAMES = sorted({*registry(ROOT / "queries"), *TEST_QUERIES})


# -- helpers: servers -------------------------------------------------------------------------


@pytest.fixture
def oxigraph(tmp_path: Path) -> Iterator[OxigraphServer]:
    server = OxigraphServer(tmp_path / "oxigraph-data")
    yield server
    server.stop()


class FakeStore:
    """A tiny in-memory Graph Store + count endpoint with switchable faults.

    ``fault``: None, "500", "cutoff" (a 200 whose body stops short), "redirect" or "hang".
    """

    def __init__(
        self,
        *,
        auth: str | None = None,
        max_body: int | None = None,
        fault: str | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.graphs: dict[str, set[bytes]] = {}
        self.requests: list[dict[str, Any]] = []
        self.auth, self.max_body, self.fault = auth, max_body, fault
        store = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                store.handle(self)

            do_PUT = do_POST = do_GET

        # Quiet errors: kgraph hangs up on the cut and the hanging answers, on purpose.
        self.loopback = Loopback(Handler, tls=tls, quiet_errors=True)

    @property
    def base(self) -> str:
        return self.loopback.base

    def close(self) -> None:
        self.loopback.close()

    def handle(self, h: http.server.BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length)
        parts = urlsplit(h.path)
        self.requests.append(
            {
                "method": h.command,
                "path": parts.path,
                "query": parts.query,
                "headers": dict(h.headers),
                "size": length,
            }
        )
        if self.auth and h.headers.get("Authorization") != self.auth:
            return self.reply(
                h, 401, b"who are you?\n", extra={"WWW-Authenticate": 'Basic realm="test"'}
            )
        if self.fault == "500":
            return self.reply(h, 500, b"boom: the store exploded\n  at line two of the trace\n")
        if self.fault == "cutoff":
            h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\n")
            h.wfile.write(b'Content-Length: 1000\r\n\r\n{"head": {"vars"')
            h.wfile.flush()
            h.close_connection = True
            return None
        if self.fault == "redirect":
            return self.reply(h, 308, b"", extra={"Location": "https://elsewhere.example/store"})
        if self.fault == "hang":
            time.sleep(3)
            return self.reply(h, 204, b"")
        if self.max_body is not None and length > self.max_body:
            return self.reply(h, 413, b"payload too large\n")
        if parts.path == "/store" and h.command in ("PUT", "POST"):
            graph = parse_qs(parts.query)["graph"][0]
            lines = {line for line in body.splitlines() if line.strip()}
            if h.command == "PUT":
                self.graphs[graph] = lines
            else:
                self.graphs.setdefault(graph, set()).update(lines)
            return self.reply(h, 204, b"")
        if parts.path == "/query":
            query = parse_qs(body.decode())["query"][0]
            found = re.search(r"GRAPH <([^>]+)>", query)
            if query.startswith("SELECT ?s ?p ?o") and found:
                return self.read_back(h, found.group(1), query)
            count = len(self.graphs.get(found.group(1), ())) if found else 0
            answer = {
                "head": {"vars": ["n"]},
                "results": {"bindings": [{"n": {"type": "literal", "value": str(count)}}]},
            }
            return self.reply(
                h, 200, json.dumps(answer).encode(), ctype="application/sparql-results+json"
            )
        return self.reply(h, 404, b"not here\n")

    def read_back(self, h: http.server.BaseHTTPRequestHandler, graph: str, query: str) -> None:
        """A push's read-back of one bucket (kgraph.verify), as a real store answers it."""
        import pyoxigraph as ox

        prefix = re.search(r'STRSTARTS\(MD5\(STR\(\?s\)\), "([0-9a-f]+)"\)', query)
        data = b"\n".join(self.graphs.get(graph, ()))
        rows = []
        for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES):
            subject = t.subject.value
            if prefix and not hashlib.md5(subject.encode()).hexdigest().startswith(prefix[1]):
                continue
            rows.append(
                {
                    v: _json_term(getattr(t, n))
                    for v, n in zip("spo", ("subject", "predicate", "object"), strict=True)
                }
            )
        answer = {"head": {"vars": ["s", "p", "o"]}, "results": {"bindings": rows}}
        self.reply(h, 200, json.dumps(answer).encode(), ctype="application/sparql-results+json")

    @staticmethod
    def reply(
        h: http.server.BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        *,
        ctype: str = "text/plain",
        extra: dict[str, str] | None = None,
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(body)


def _json_term(term: Any) -> dict[str, str]:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if term.language:
        return {"type": "literal", "value": term.value, "xml:lang": term.language}
    return {"type": "literal", "value": term.value, "datatype": term.datatype.value}


@pytest.fixture
def fake_store() -> Iterator[Callable[..., FakeStore]]:
    made: list[FakeStore] = []

    def make(**options: Any) -> FakeStore:
        made.append(FakeStore(**options))
        return made[-1]

    yield make
    for store in made:
        store.close()


class KillingRelay:
    """A TCP relay to the Oxigraph server that SIGKILLs it in the middle of the n-th request
    (one connection per request): the first bytes of that request reach the server, then
    the server dies and the connection drops."""

    def __init__(self, server: OxigraphServer, kill_on: int) -> None:
        self.target, self.kill_on, self.connections = server, kill_on, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(
                target=self.relay, args=(client, self.connections), daemon=True
            ).start()

    def relay(self, client: socket.socket, number: int) -> None:
        with client:
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target.port), timeout=10)
            except OSError:
                return
            with upstream:
                if number >= self.kill_on:
                    upstream.sendall(client.recv(16384))
                    self.target.kill()
                    return
                sockets = [client, upstream]
                while True:
                    ready, _, _ = select.select(sockets, [], [], 10)
                    if not ready:
                        return
                    for sock in ready:
                        data = sock.recv(65536)
                        if not data:
                            return
                        (upstream if sock is client else client).sendall(data)

    def close(self) -> None:
        self.listener.close()


# -- helpers: runs ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials unless a test sets them (the developer's ~/.netrc must not leak in)."""
    for name in (
        "KGRAPH_STORE_TOKEN",
        "KGRAPH_STORE_USER",
        "KGRAPH_STORE_PASSWORD",
        "KGRAPH_STORE_HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


def counts(run: Run) -> dict[str, tuple[int, int, str]]:
    """The counts table of `kgraph push`: graph -> (local, remote, ok)."""
    rows = {}
    for line in run.stdout.splitlines()[2:]:
        graph, local, remote, ok = line.split()
        rows[graph] = (int(local), int(remote), ok)
    return rows


def local_nquads(kgraph: Callable[..., Run], *extra: str) -> list[str]:
    result = kgraph("export", "-f", "nq", *extra)
    assert result.exit_code == 0, result.stderr
    return sorted(result.stdout.splitlines())


def add_big_file(project: Path, triples: int = 50_000) -> None:
    lines = (
        f'<https://w3id.org/kgraph/id/generated/{i}> <https://w3id.org/kgraph/ontology#generatedValue> "{i}" .\n'
        for i in range(triples)
    )
    (project / "data" / "generated.nt").write_text("".join(lines))


# -- push: the happy paths ------------------------------------------------------------------


def test_push_then_verify_prints_counts_and_exits_0(kgraph, oxigraph: OxigraphServer) -> None:
    result = kgraph("push", oxigraph.base + "/store")
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert result.stdout.splitlines()[0].split() == ["graph", "local", "remote", "ok"]
    table = counts(result)
    assert list(table) == SHIPPED_GRAPHS
    assert all(local == remote > 0 and ok == "yes" for local, remote, ok in table.values())
    assert f"counts and content verified at {oxigraph.base}/query" in result.stderr
    assert oxigraph.dump() == local_nquads(kgraph)


def test_push_twice_leaves_the_same_store(kgraph, oxigraph: OxigraphServer) -> None:
    first = kgraph("push", oxigraph.base + "/store", "--chunk-size", "500")
    before = oxigraph.dump()
    second = kgraph("push", oxigraph.base + "/store", "--chunk-size", "500")
    assert first.exit_code == second.exit_code == ExitStatus.OK
    assert counts(first) == counts(second)
    assert oxigraph.dump() == before == local_nquads(kgraph)


def test_push_replaces_extra_triples_and_merge_keeps_them(kgraph, oxigraph: OxigraphServer) -> None:
    graph = SHIPPED_GRAPHS[1]
    stray = "<https://example.org/stray> <https://example.org/p> <https://example.org/o> .\n"
    assert kgraph("push", oxigraph.base + "/store").exit_code == 0
    oxigraph.add(graph, stray)
    merged = kgraph("push", oxigraph.base + "/store", "--merge", "--chunk-size", "400")
    assert merged.exit_code == ExitStatus.OK, merged.stderr
    local, remote, ok = counts(merged)[graph]
    assert (remote, ok) == (local + 1, "yes")
    replaced = kgraph("push", oxigraph.base + "/store")
    assert replaced.exit_code == ExitStatus.OK
    assert counts(replaced)[graph] == (local, local, "yes")
    assert oxigraph.dump() == local_nquads(kgraph)


def test_push_graph_sends_only_that_graph(kgraph, oxigraph: OxigraphServer) -> None:
    result = kgraph("push", oxigraph.base + "/store", "--graph", SHIPPED_GRAPHS[2])
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert list(counts(result)) == [SHIPPED_GRAPHS[2]]
    assert {line.rsplit(" ", 2)[-2] for line in oxigraph.dump()} == {f"<{SHIPPED_GRAPHS[2]}>"}
    by_path = kgraph("push", oxigraph.base + "/store", "--graph", "data/article.ttl")
    assert list(counts(by_path)) == [SHIPPED_GRAPHS[1]]


def test_push_unknown_graph_exits_2_and_lists_the_graphs(kgraph, oxigraph: OxigraphServer) -> None:
    result = kgraph("push", oxigraph.base + "/store", "--graph", "https://example.org/none")
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "no graph 'https://example.org/none' in this project" in result.stderr
    assert SHIPPED_GRAPHS[0] in result.stderr
    assert oxigraph.dump() == []


def test_dry_run_prints_the_plan_and_sends_nothing(kgraph, fake_store) -> None:
    store = fake_store()
    result = kgraph("push", store.base + "/store", "--dry-run", "--chunk-size", "1000")
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert store.requests == []
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["graph", "triples", "chunks", "requests"]
    article = next(line for line in lines if SHIPPED_GRAPHS[1] in line)
    triples = int(article.split()[1])
    chunks = -(-triples // 1000)
    assert article.split()[2:] == [str(chunks), "1", "PUT", "+", str(chunks - 1), "POST"]
    assert lines[-1].startswith("dry run: would send ")
    assert lines[-1].endswith(f"verify the counts through {store.base}/query; nothing sent")


def test_push_inferred_owlrl_pushes_the_closure_graph(kgraph, oxigraph: OxigraphServer) -> None:
    inferred = "https://w3id.org/kgraph/graph/inferred/owlrl"
    result = kgraph("push", oxigraph.base + "/store", "--inferred", "owlrl")
    assert result.exit_code == ExitStatus.OK, result.stderr
    local, remote, ok = counts(result)[inferred]
    assert local == remote > 0 and ok == "yes"
    assert oxigraph.dump() == local_nquads(kgraph, "--inferred", "owlrl")
    query = [
        "query",
        "-e",
        "SELECT ?x ?c WHERE { ?x a ?c } ORDER BY ?x ?c",
        "-f",
        "tsv",
        "--infer",
        "owlrl",
    ]
    here = kgraph(*query)
    there = kgraph(*query, "--endpoint", oxigraph.base + "/query")
    assert there.exit_code == 0, there.stderr
    assert there.stdout == here.stdout
    assert len(here.stdout.splitlines()) > len(kgraph(*query[:-2]).stdout.splitlines())


def test_query_infer_without_the_pushed_closure_exits_2(kgraph, oxigraph: OxigraphServer) -> None:
    assert kgraph("push", oxigraph.base + "/store").exit_code == 0
    result = kgraph(
        "query", "-e", "ASK { ?s ?p ?o }", "--infer", "rdfs", "--endpoint", oxigraph.base + "/query"
    )
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert (
        "the store has no inferred graph <https://w3id.org/kgraph/graph/inferred/rdfs>"
        in result.stderr
    )
    assert "push it first with --infer rdfs, or query without it" in result.stderr


# -- canned queries: locally and through --endpoint -------------------------------------------


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, OxigraphServer]]:
    """A project copy with the test queries, pushed once to a server for the module."""
    root = tmp_path_factory.mktemp("remote-queries")
    project = root / "project"
    for name in ("ontology", "data", "queries"):
        if (ROOT / name).exists():
            shutil.copytree(
                ROOT / name, project / name, ignore=shutil.ignore_patterns("batches", ".*")
            )
    (project / "queries").mkdir(exist_ok=True)
    for name, text in TEST_QUERIES.items():
        (project / "queries" / f"{name}.rq").write_text(text)
    server = OxigraphServer(root / "oxigraph-data")
    result = invoke(["--project", str(project), "push", server.base + "/store"])
    assert result.exit_code == 0, result.stderr
    yield project, server
    server.stop()


def _variants(project: Path, name: str) -> list[list[str]]:
    listed = invoke(["--project", str(project), "queries", "-f", "json"])
    query = next(q for q in json.loads(listed.stdout) if q["name"] == name)
    variants = []
    if not any(p["required"] for p in query["params"]):
        variants.append([])
    examples = [
        ["-p", p["name"], p["example"]] for p in query["params"] if p["example"] is not None
    ]
    if examples:
        variants.append([arg for pair in examples for arg in pair])
    return variants


def test_queries_lists_every_query_compared(pushed) -> None:
    project, _ = pushed
    listed = invoke(["--project", str(project), "queries", "-f", "json"])
    assert sorted(q["name"] for q in json.loads(listed.stdout)) == QUERY_NAMES


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_canned_query_gives_the_same_output_locally_and_remotely(pushed, name: str) -> None:
    project, server = pushed
    text = (project / "queries" / f"{name}.rq").read_text()
    graph_form = (
        re.search(r"^\s*(CONSTRUCT|DESCRIBE)\b", text, re.MULTILINE | re.IGNORECASE) is not None
    )
    formats = ["nt", "turtle"] if graph_form else ["tsv", "json"]
    variants = _variants(project, name)
    assert variants, f"{name}: needs an example for each required parameter"
    for params in variants:
        for fmt in formats:
            args = ["--project", str(project), "query", name, *params, "-f", fmt]
            here = invoke(args)
            there = invoke([*args, "--endpoint", server.base + "/query"])
            assert here.exit_code == 0, f"{name} {params} -f {fmt} locally: {here.stderr}"
            assert there.exit_code == 0, f"{name} {params} -f {fmt} remotely: {there.stderr}"
            if graph_form:  # a CONSTRUCT result is a set of triples: no order to keep
                assert _graph(there.output_bytes, fmt) == _graph(here.output_bytes, fmt), (
                    name,
                    params,
                    fmt,
                )
            else:
                assert there.stdout == here.stdout, (name, params, fmt)


def _graph(data: bytes, fmt: str) -> list[str]:
    import pyoxigraph as ox

    syntax = ox.RdfFormat.N_TRIPLES if fmt == "nt" else ox.RdfFormat.TURTLE
    return sorted(str(q.triple) for q in ox.parse(data, format=syntax))


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "xml"])
def test_every_result_format_is_the_same_remotely(pushed, fmt: str) -> None:
    project, server = pushed
    for name, params in (
        ("remote-test-labels", ["-p", "cls", "owl:Class"]),
        ("remote-test-ask", []),
    ):
        args = ["--project", str(project), "query", name, *params]
        here = invoke([*args, "-f", fmt])
        there = invoke([*args, "-f", fmt, "--endpoint", server.base + "/query"])
        assert here.exit_code == there.exit_code == 0, there.stderr
        assert there.output_bytes == here.output_bytes


def test_remote_query_with_expression_and_file(pushed, tmp_path: Path) -> None:
    project, server = pushed
    query = "SELECT ?v WHERE { ?v a kg:Visit } ORDER BY ?v"
    file = tmp_path / "visits.rq"
    file.write_text(query + "\n")
    for spec in (["-e", query], [str(file)]):
        here = invoke(["--project", str(project), "query", *spec, "-f", "csv"])
        there = invoke(
            [
                "--project",
                str(project),
                "query",
                *spec,
                "-f",
                "csv",
                "--endpoint",
                server.base + "/query",
            ]
        )
        assert there.exit_code == 0, there.stderr
        assert there.stdout == here.stdout and here.stdout.count("\n") > 1


def test_remote_query_refuses_updates_like_locally(pushed) -> None:
    project, server = pushed
    result = invoke(
        [
            "--project",
            str(project),
            "query",
            "-e",
            "DELETE WHERE { ?s ?p ?o }",
            "--endpoint",
            server.base + "/query",
        ]
    )
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "SPARQL Update (DELETE) is refused" in result.stderr
    assert len(server.dump()) > 0


def test_remote_query_rejected_by_the_endpoint_exits_3(pushed) -> None:
    project, server = pushed
    result = invoke(
        [
            "--project",
            str(project),
            "query",
            "-e",
            # Syntax the guard accepts, refused by Oxigraph's variable scoping (a text that
            # does not parse is refused locally, exit 2, before any endpoint is asked).
            "SELECT ?x WHERE { BIND(1 AS ?x) BIND(2 AS ?x) }",
            "--endpoint",
            server.base + "/query",
        ]
    )
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    assert "rejected the request (HTTP 400 Bad Request)" in result.stderr
    assert result.stderr.count("\n") == 1


def test_parameter_outside_the_projection_works_locally(pushed) -> None:
    project, server = pushed
    query = "SELECT ?label WHERE { ?thing a ?cls ; rdfs:label ?label } ORDER BY ?label"
    args = ["--project", str(project), "query", "-e", query, "-p", "cls", "kg:Visit", "-f", "tsv"]
    there = invoke([*args, "--endpoint", server.base + "/query"])
    assert there.exit_code == 0
    here = invoke(args)
    assert here.exit_code == 0, here.stderr
    assert here.stdout == there.stdout


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_server_killed_mid_push_then_push_again_repairs(
    kgraph, project: Path, oxigraph: OxigraphServer
) -> None:
    add_big_file(project)
    relay = KillingRelay(oxigraph, kill_on=4)
    try:
        broken = kgraph("push", f"http://127.0.0.1:{relay.port}/store", "--chunk-size", "1000")
    finally:
        relay.close()
    assert broken.exit_code == ExitStatus.REMOTE_OR_IO
    assert oxigraph.process is not None and oxigraph.process.returncode == -signal.SIGKILL
    assert RERUN in broken.stderr
    assert broken.stderr.startswith("Error: ") and broken.stderr.count("\n") == 1
    oxigraph.start()
    repaired = kgraph("push", oxigraph.base + "/store", "--chunk-size", "1000")
    assert repaired.exit_code == ExitStatus.OK, repaired.stderr
    table = counts(repaired)
    assert table["https://w3id.org/kgraph/graph/data/generated.nt"] == (50_000, 50_000, "yes")
    assert oxigraph.dump() == local_nquads(kgraph)


def test_nothing_listening_exits_3_connection_refused(kgraph) -> None:
    port = free_port()
    result = kgraph("push", f"http://127.0.0.1:{port}/store")
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    assert result.stderr == (
        f"Error: connection refused by 127.0.0.1:{port}: is the store running there? "
        f"(while sending graph <{SHIPPED_GRAPHS[0]}>)\n"
    )
    query = kgraph(
        "query", "-e", "ASK { ?s ?p ?o }", "--endpoint", f"http://127.0.0.1:{port}/query"
    )
    assert query.exit_code == ExitStatus.REMOTE_OR_IO
    assert f"connection refused by 127.0.0.1:{port}" in query.stderr


def test_401_without_credentials_exits_3_with_the_hint(kgraph, fake_store) -> None:
    store = fake_store(auth=_basic("alice", "s3cret"))
    result = kgraph("push", store.base + "/store")
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    assert "refused access (HTTP 401 Unauthorized; no credentials were sent)" in result.stderr
    assert "check KGRAPH_STORE_TOKEN / ~/.netrc" in result.stderr
    assert RERUN not in result.stderr
    assert len(store.requests) == 1


def test_basic_auth_from_netrc_is_sent_and_never_printed(
    kgraph, fake_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = fake_store(auth=_basic("alice", "s3cret"))
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password s3cret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    result = kgraph("push", store.base + "/store")
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert {r["headers"]["Authorization"] for r in store.requests} == {_basic("alice", "s3cret")}
    assert "s3cret" not in result.stdout + result.stderr
    netrc.write_text("machine 127.0.0.1 login alice password wrong\n")
    refused = kgraph("push", store.base + "/store")
    assert refused.exit_code == ExitStatus.REMOTE_OR_IO
    assert f"credentials from {netrc} (127.0.0.1)" in refused.stderr
    assert "wrong" not in refused.stderr


def test_bearer_token_from_the_environment_is_sent(
    kgraph, fake_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = fake_store(auth="Bearer t0ken")
    monkeypatch.setenv("KGRAPH_STORE_TOKEN", "t0ken")
    result = kgraph("push", store.base + "/store")
    assert result.exit_code == ExitStatus.OK, result.stderr
    monkeypatch.setenv("KGRAPH_STORE_HOST", "127.0.0.1")  # --endpoint gets it only if told
    query = kgraph(
        "query", "-e", "ASK { ?s ?p ?o }", "--endpoint", store.base + "/query", "-f", "json"
    )
    assert query.exit_code == ExitStatus.REMOTE_OR_IO  # the stub answers every query with a count
    assert "answered the ASK query with a SELECT result" in query.stderr
    assert {r["headers"]["Authorization"] for r in store.requests} == {"Bearer t0ken"}
    assert "t0ken" not in result.stdout + result.stderr + query.stderr


def test_user_and_password_from_the_environment_are_sent(
    kgraph, fake_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = fake_store(auth=_basic("bob", "pw"))
    monkeypatch.setenv("KGRAPH_STORE_USER", "bob")
    monkeypatch.setenv("KGRAPH_STORE_PASSWORD", "pw")
    assert kgraph("push", store.base + "/store").exit_code == ExitStatus.OK
    monkeypatch.delenv("KGRAPH_STORE_PASSWORD")
    half = kgraph("push", store.base + "/store")
    assert half.exit_code == ExitStatus.BAD_INPUT
    assert "set both KGRAPH_STORE_USER and KGRAPH_STORE_PASSWORD" in half.stderr


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_413_halves_the_chunks_until_the_store_takes_them(kgraph, fake_store) -> None:
    limit = 64 * 1024
    store = fake_store(max_body=limit)
    result = kgraph("push", store.base + "/store")
    assert result.exit_code == ExitStatus.OK, result.stderr
    sizes = [r["size"] for r in store.requests if r["path"] == "/store"]
    assert max(sizes) > limit  # refused at first ...
    accepted = [r for r in store.requests if r["path"] == "/store" and r["size"] <= limit]
    assert len(accepted) > len(SHIPPED_GRAPHS)  # ... then sent in smaller chunks
    for graph in SHIPPED_GRAPHS:  # each graph restarted from its start: PUT first
        methods = [
            r["method"]
            for r in accepted
            if graph.replace(":", "%3A").replace("/", "%2F") in r["query"]
        ]
        assert methods[0] == "PUT" and set(methods[1:]) <= {"POST"}
    nquads = local_nquads(kgraph)
    for graph in SHIPPED_GRAPHS:
        expected = {
            line.rsplit(" ", 2)[0] + " ." for line in nquads if line.endswith(f"<{graph}> .")
        }
        assert {line.decode() for line in store.graphs[graph]} == expected
    assert all(ok == "yes" for _, _, ok in counts(result).values())


def test_413_at_the_smallest_chunk_exits_3(kgraph, fake_store) -> None:
    store = fake_store(max_body=100)
    result = kgraph("push", store.base + "/store")
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    assert (
        "the store refused the graph as too large (HTTP 413); even at 100 triples a request"
        in result.stderr
    )
    assert RERUN not in result.stderr  # nothing was accepted


def test_500_exits_3_with_status_first_line_and_rerun_note(kgraph, fake_store) -> None:
    store = fake_store(fault="500")
    result = kgraph("push", store.base + "/store")
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    assert "failed (HTTP 500 Internal Server Error): boom: the store exploded" in result.stderr
    assert "line two" not in result.stderr
    assert result.stderr.rstrip().endswith(RERUN)
    query = kgraph("query", "-e", "ASK { ?s ?p ?o }", "--endpoint", store.base + "/query")
    assert query.exit_code == ExitStatus.REMOTE_OR_IO
    assert "HTTP 500 Internal Server Error" in query.stderr


def test_answer_cut_off_mid_body_exits_3(kgraph, fake_store) -> None:
    store = fake_store(fault="cutoff")
    result = kgraph("push", store.base + "/store")
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    assert "was cut off mid-body" in result.stderr
    assert RERUN in result.stderr
    query = kgraph(
        "query", "-e", "SELECT * WHERE { ?s ?p ?o }", "--endpoint", store.base + "/query"
    )
    assert query.exit_code == ExitStatus.REMOTE_OR_IO
    assert "was cut off mid-body" in query.stderr


def test_no_answer_within_the_timeout_exits_3(kgraph, fake_store) -> None:
    store = fake_store(fault="hang")
    result = kgraph("push", store.base + "/store", "--http-timeout", "0.5")
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    assert "within 0.5 s (--http-timeout)" in result.stderr
    assert RERUN in result.stderr


def test_redirect_exits_3_naming_the_target(kgraph, fake_store) -> None:
    store = fake_store(fault="redirect")
    result = kgraph("push", store.base + "/store")
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    assert (
        "redirects (HTTP 308 Permanent Redirect) to https://elsewhere.example/store"
        in result.stderr
    )
    assert len(store.requests) == 1


def test_blank_node_graph_goes_in_one_request(fake_store, tmp_path: Path) -> None:
    from kgraph import remote

    lines = [f"_:b{i} <https://example.org/p> _:b{i + 1} .\n" for i in range(300)]
    path = tmp_path / "blank.nt"
    path.write_text("".join(lines))
    item = remote.GraphFile("https://example.org/g", str(path), len(lines), blank_nodes=True)
    options = remote.PushOptions(chunk_size=10)
    assert remote.plan([item], options)[0].methods == ("PUT",)
    store = fake_store()
    report = remote.push([item], store.base + "/store", store.base + "/query", options)
    assert report.requests == 1 and report.counts[0].ok
    small = fake_store(max_body=1000)
    with pytest.raises(
        remote.RemoteError, match="it has blank nodes, so it must go in one request"
    ):
        remote.push([item], small.base + "/store", small.base + "/query", options)
    assert len(small.requests) == 1


def test_empty_graph_is_replaced_by_an_empty_one(
    kgraph, project: Path, oxigraph: OxigraphServer
) -> None:
    graph = "https://w3id.org/kgraph/graph/data/empty.ttl"
    (project / "data" / "empty.ttl").write_text("# nothing yet\n")
    oxigraph.add(
        graph, "<https://example.org/old> <https://example.org/p> <https://example.org/o> .\n"
    )
    result = kgraph("push", oxigraph.base + "/store", "--graph", graph)
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert counts(result)[graph] == (0, 0, "yes")
    assert oxigraph.dump() == []


def test_tls_certificate_is_verified(kgraph, fake_store, tmp_path: Path, monkeypatch) -> None:
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    store = fake_store(tls=(cert, key))
    untrusted = kgraph("push", store.base + "/store")
    assert untrusted.exit_code == ExitStatus.REMOTE_OR_IO
    assert (
        f"the TLS certificate of 127.0.0.1:{store.loopback.port} is not trusted" in untrusted.stderr
    )
    assert store.graphs == {}
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # a private CA, trusted the OpenSSL way
    trusted = kgraph("push", store.base + "/store")
    assert trusted.exit_code == ExitStatus.OK, trusted.stderr
    assert set(store.graphs) == set(SHIPPED_GRAPHS)


def test_interrupted_push_says_rerunning_is_safe(fake_store, project: Path) -> None:
    store = fake_store(fault="hang")
    command = [
        sys.executable,
        "-m",
        "kgraph",
        "--project",
        str(project),
        "push",
        store.base + "/store",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=interruptible
    ) as process:
        deadline = time.monotonic() + 60
        while not store.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    expected = f"Error: interrupted; the store may hold part of the push; {RERUN}\n"
    assert stderr.decode() == expected


def test_count_mismatch_exits_3_naming_the_graph(kgraph, fake_store, monkeypatch) -> None:
    store = fake_store()
    original = FakeStore.handle

    def lose_a_line(self: FakeStore, h: Any) -> None:
        original(self, h)
        if h.command in ("PUT", "POST") and SHIPPED_GRAPHS[2] in self.graphs:
            self.graphs[SHIPPED_GRAPHS[2]].discard(min(self.graphs[SHIPPED_GRAPHS[2]], default=b""))

    monkeypatch.setattr(FakeStore, "handle", lose_a_line)
    result = kgraph("push", store.base + "/store", "--graph", SHIPPED_GRAPHS[2])
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    local, remote, ok = counts(result)[SHIPPED_GRAPHS[2]]
    assert (remote, ok) == (local - 1, "NO")
    assert (
        f"graph <{SHIPPED_GRAPHS[2]}> has {remote} triples in the store, expected {local}"
        in result.stderr
    )


# -- URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "expected"),
    [
        ("http://h:7878/store", "auto", "http://h:7878/query"),
        ("http://h:3030/ds/data", "auto", "http://h:3030/ds/sparql"),
        (
            "http://h:7200/repositories/kg/rdf-graphs/service",
            "auto",
            "http://h:7200/repositories/kg",
        ),
        ("http://h:8890/sparql-graph-crud", "auto", "http://h:8890/sparql"),
        ("http://h:8890/sparql-graph-crud-auth", "auto", "http://h:8890/sparql"),
        (
            "https://c.neptune.amazonaws.com:8182/sparql/gsp/",
            "auto",
            "https://c.neptune.amazonaws.com:8182/sparql",
        ),
        ("http://h:5820/kg", "stardog", "http://h:5820/kg/query"),
        ("http://h:7878/store", "oxigraph", "http://h:7878/query"),
        ("http://h:7001/", "qlever", "http://h:7001/"),
        ("http://h:7001/?access-token=x", "qlever", "http://h:7001/"),
    ],
)
def test_query_endpoint_is_derived_from_the_store_url(url: str, kind: str, expected: str) -> None:
    from kgraph.remote import query_endpoint_for

    assert query_endpoint_for(url, kind, None) == expected


def test_store_kinds_of_the_cli_match_the_library() -> None:
    from kgraph.cli.remote import STORE_KINDS as cli_kinds
    from kgraph.remote import STORE_KINDS

    assert tuple(cli_kinds) == STORE_KINDS


def test_unknown_store_url_needs_query_endpoint_exits_2(kgraph, fake_store) -> None:
    result = kgraph("push", "http://127.0.0.1:9/somewhere")
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "pass --query-endpoint URL" in result.stderr
    wrong = kgraph("push", "http://127.0.0.1:9/somewhere", "--store-kind", "fuseki")
    assert wrong.exit_code == ExitStatus.BAD_INPUT
    assert "does not look like a fuseki Graph Store URL" in wrong.stderr
    store = fake_store()
    explicit = kgraph(
        "push",
        store.base + "/store",
        "--store-kind",
        "generic",
        "--query-endpoint",
        store.base + "/query",
    )
    assert explicit.exit_code == ExitStatus.OK, explicit.stderr


def test_credentials_in_the_url_are_refused_exit_2(kgraph) -> None:
    result = kgraph("push", "http://alice:s3cret@127.0.0.1:9/store")
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "must not hold credentials" in result.stderr
    assert "s3cret" not in result.stderr


def test_push_the_shipped_graph_from_outside_a_project(
    oxigraph: OxigraphServer, workdir: Path
) -> None:
    result = invoke(["push", oxigraph.base + "/store"])
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert list(counts(result)) == SHIPPED_GRAPHS


# -- bulk export ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["nq.gz", "nt.gz"])
def test_export_gzip_loads_with_oxigraph_load(kgraph, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"dump.{fmt}"
    result = kgraph("export", "-f", fmt, "-o", str(target))
    assert result.exit_code == 0, result.stderr
    plain = kgraph("export", "-f", fmt.removesuffix(".gz")).stdout
    assert gzip.decompress(target.read_bytes()).decode() == plain
    location = tmp_path / "loaded"
    subprocess.run(
        [str(OXIGRAPH), "load", "--location", str(location), "--file", str(target)],
        check=True,
        capture_output=True,
    )
    dumped = subprocess.run(
        [str(OXIGRAPH), "dump", "--location", str(location), "--format", "nq"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    assert len(dumped.splitlines()) == len(plain.splitlines()) > 1000
