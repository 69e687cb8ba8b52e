"""Hostile input: kgraph never reaches the network or the disk because of what it reads,
and every runaway parse, query or closure is stopped (threat model: docs/security.md).

Every test runs against a counting HTTP server on 127.0.0.1 that the input points at, and
a canary file that the input tries to read: the server must see no connection at all, and
the canary's secret must never appear in any output.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Run
from kgraph.errors import ExitStatus, KGraphError
from servers import Loopback, QuietHandler

SECRET = "CANARY-SECRET-7f3a9c"
EX = "http://example.org/"


# -- the counting server and the canary ----------------------------------------------------


class CountingServer:
    """An HTTP server on 127.0.0.1 that records every connection and request it gets."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[str] = []
        owner = self

        class Handler(QuietHandler):
            def _answer(self) -> None:
                owner.requests.append(f"{self.command} {self.path}")
                body = (
                    b'{"@context": {"leak": "http://example.org/LEAKED"}}'
                    if "ctx" in self.path
                    else b'<!ENTITY leak "LEAKED">'
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer

        def connected() -> None:
            owner.connections += 1

        self._loopback = Loopback(Handler, on_connect=connected)
        self.port = self._loopback.port
        self.url = self._loopback.base

    @property
    def hits(self) -> list[str]:
        return self.requests + ([f"{self.connections} connection(s)"] if self.connections else [])

    def reset(self) -> None:
        self.connections = 0
        self.requests.clear()

    def __enter__(self) -> CountingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._loopback.close()


@pytest.fixture(scope="module")
def _server() -> Iterator[CountingServer]:
    with CountingServer() as server:
        yield server


@pytest.fixture
def server(_server: CountingServer) -> Iterator[CountingServer]:
    """The counting server, with no hits yet; the test fails if any arrive during it."""
    _server.reset()
    yield _server
    assert _server.hits == [], "the input made kgraph reach the network"


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A folder of local files that hostile input tries to read: each holds the secret."""
    folder = tmp_path / "canary"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET + "\n")
    (folder / "context.jsonld").write_text(
        f'{{"@context": {{"leak": "http://example.org/{SECRET}"}}}}'
    )
    (folder / "secret.dtd").write_text(f'<!ENTITY leak "{SECRET}">\n')
    return folder


def assert_error(run: Run, status: ExitStatus, *words: str) -> None:
    """One line on stderr, `Error: ...` with the words, the exit status, no traceback."""
    assert run.exit_code == status, (run.exit_code, run.stdout[-2000:], run.stderr[-2000:])
    assert run.stderr.startswith("Error: "), run.stderr
    assert run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    for word in words:
        assert word in run.stderr, (word, run.stderr)


def assert_no_leak(run: Run | subprocess.CompletedProcess[str]) -> None:
    out = run.stdout + run.stderr
    assert SECRET not in out
    assert "LEAKED" not in out


def cli_subprocess(
    project: Path, *args: str, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """The real `kgraph` in a process of its own (a hang fails the test instead of hanging it)."""
    return subprocess.run(
        [sys.executable, "-m", "kgraph", "--project", str(project), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def as_run(proc: subprocess.CompletedProcess[str]) -> Run:
    return Run(proc.returncode, proc.stdout, proc.stderr, proc.stdout.encode())


# -- SPARQL: SERVICE, FROM, updates ----------------------------------------------------------

SERVICE_QUERIES = {
    "plain": "SELECT * WHERE { SERVICE <{url}/sparql> { ?s ?p ?o } }",
    "lower-case": "select * where { service <{url}/sparql> { ?s ?p ?o } }",
    "silent": "SELECT * WHERE { SERVICE SILENT <{url}/sparql> { ?s ?p ?o } }",
    "variable": "SELECT * WHERE { VALUES ?e { <{url}/sparql> } SERVICE ?e { ?s ?p ?o } }",
    "after-a-triple": "SELECT * WHERE { BIND(1 AS ?one) ?s ?p ?o SERVICE <{url}/sparql> { ?s ?p ?o } }",
    "nested-groups": "SELECT * WHERE { { { { { OPTIONAL { SERVICE <{url}/sparql> { ?s ?p ?o } } } } } } }",
    "strings-and-comments-around": (
        "# a comment with } and \" and ' and <\n"
        "SELECT * WHERE { BIND(\"}#'\" AS ?a) BIND('''\"\"\" {''' AS ?b) # SERVICE in a comment\n"
        "  BIND(<http://example.org/#x> AS ?c) SERVICE <{url}/sparql> { ?s ?p ?o } }"
    ),
    # Holes the first guard had: each hid the SERVICE from the token scan.
    "escaped-iri-before-hash": "SELECT * WHERE { BIND(<http://x\\u0041#> AS ?x) SERVICE <{url}/sparql> { BIND(1 AS ?y) } }",
    "escaped-hash-in-local-name": "SELECT * WHERE { BIND(kgd:a\\#b AS ?x) SERVICE <{url}/sparql> { BIND(1 AS ?y) } }",
    "codepoint-escape": "SELECT * WHERE { \\u0053ERVICE <{url}/sparql> { ?s ?p ?o } }",
}


@pytest.mark.parametrize("name", sorted(SERVICE_QUERIES))
def test_query_expression_with_service_is_refused_exits_2(kgraph, server, name: str) -> None:
    text = SERVICE_QUERIES[name].replace("{url}", server.url)
    result = kgraph("query", "-e", text)
    assert_error(result, ExitStatus.BAD_INPUT, "SERVICE is refused", "--endpoint")
    assert result.stderr.startswith("Error: -e:"), result.stderr
    assert result.stdout == ""


def test_service_position_is_line_and_column(kgraph, server) -> None:
    result = kgraph(
        "query", "-e", f"SELECT *\nWHERE {{\n  SERVICE <{server.url}/> {{ ?s ?p ?o }} }}"
    )
    assert_error(result, ExitStatus.BAD_INPUT, "Error: -e:3:3: SERVICE is refused")


def test_service_in_a_query_file_is_refused_exits_2(kgraph, server, tmp_path: Path) -> None:
    path = tmp_path / "federated.rq"
    path.write_text(
        f"SELECT * WHERE {{\n  ?s ?p ?o .\n  SERVICE <{server.url}/sparql> {{ ?s ?p ?o }}\n}}\n"
    )
    result = kgraph("query", str(path))
    assert_error(result, ExitStatus.BAD_INPUT, f"{path}:3:3: SERVICE is refused")


def test_service_in_a_canned_query_with_header_is_refused_exits_2(
    kgraph, server, project: Path
) -> None:
    (project / "queries").mkdir(exist_ok=True)
    (project / "queries" / "innocent-looking.rq").write_text(
        "#+ summary: Every article, nothing else\n"
        "#+ columns: [s]\n"
        "PREFIX kg: <https://w3id.org/kgraph/ontology#>\n"
        "SELECT ?s WHERE {\n"
        "  ?s a kg:NewsArticle .\n"
        f"  SeRvIcE <{server.url}/sparql> {{ ?s ?p ?o }}\n"
        "}\n"
    )
    result = kgraph("query", "innocent-looking")
    assert_error(result, ExitStatus.BAD_INPUT, "innocent-looking.rq:6:3: SERVICE is refused")


def test_service_reading_a_local_file_is_refused(kgraph, server, canary: Path) -> None:
    result = kgraph(
        "query", "-e", f"SELECT * WHERE {{ SERVICE <file://{canary}/secret.txt> {{ ?s ?p ?o }} }}"
    )
    assert_error(result, ExitStatus.BAD_INPUT, "SERVICE is refused")
    assert_no_leak(result)


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * FROM <{url}/g> WHERE { ?s ?p ?o }",
        "SELECT * FROM NAMED <{url}/g> WHERE { GRAPH ?g { ?s ?p ?o } }",
        "PREFIX remote: <{url}/> SELECT * FROM remote:g WHERE { ?s ?p ?o }",
        "SELECT * FROM <\\u0068ttp://127.0.0.1:{port}/g> WHERE { ?s ?p ?o }",
        "ASK FROM # a comment\n <{url}/g> { ?s ?p ?o }",
    ],
    ids=["from", "from-named", "from-prefixed-name", "from-escaped-iri", "from-after-comment"],
)
def test_from_a_foreign_graph_is_refused_exits_2(kgraph, server, template: str) -> None:
    text = template.replace("{url}", server.url).replace("{port}", str(server.port))
    result = kgraph("query", "-e", text)
    assert_error(
        result, ExitStatus.BAD_INPUT, "is refused", f"127.0.0.1:{server.port}/g>", "never fetches"
    )


def test_from_a_local_file_is_refused(kgraph, server, canary: Path) -> None:
    result = kgraph(
        "query", "-e", f"SELECT * FROM <file://{canary}/secret.txt> WHERE {{ ?s ?p ?o }}"
    )
    assert_error(result, ExitStatus.BAD_INPUT, "FROM <file://", "is refused")
    assert_no_leak(result)


def test_from_a_graph_of_the_dataset_runs(kgraph, server) -> None:
    result = kgraph(
        "query",
        "-e",
        "ASK FROM <https://w3id.org/kgraph/graph/data/article.ttl> { ?s a kg:NewsArticle }",
    )
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert result.stdout.strip().splitlines()[-1] in ("true", "yes")


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("LOAD <{url}/data.ttl>", "LOAD"),
        ("LOAD <{url}/data.ttl> INTO GRAPH <http://example.org/g>", "LOAD"),
        ("INSERT DATA { <http://example.org/a> <http://example.org/b> 1 }", "INSERT"),
        ("DELETE WHERE { ?s ?p ?o }", "DELETE"),
        (
            "PREFIX ex: <http://example.org/> DELETE { ?s ?p ?o } INSERT { ?s ex:q ?o } WHERE { ?s ?p ?o }",
            "DELETE",
        ),
        ("CLEAR ALL", "CLEAR"),
        ("DROP GRAPH <https://w3id.org/kgraph/graph/data/article.ttl>", "DROP"),
        ("clear default", "CLEAR"),
    ],
)
def test_updates_are_refused_exits_2(
    kgraph, server, project: Path, snapshot, text: str, word: str
) -> None:
    before = snapshot(project)
    result = kgraph("query", "-e", text.replace("{url}", server.url))
    assert_error(result, ExitStatus.BAD_INPUT, f"SPARQL Update ({word}) is refused", "kgraph add")
    assert snapshot(project) == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'SELECT ?x WHERE { BIND("SERVICE <http://example.org/> { }" AS ?x) }',
            "SERVICE <http://example.org/> { }",
        ),
        (
            "SELECT ?x WHERE { BIND('''FROM <http://example.org/> LOAD DROP''' AS ?x) }",
            "FROM <http://example.org/> LOAD DROP",
        ),
        (
            "SELECT ?x WHERE { BIND(<http://example.org/SERVICE/FROM> AS ?x) }",
            "http://example.org/SERVICE/FROM",
        ),
        ("SELECT ?x WHERE { BIND(kgd:SERVICE AS ?x) }", "kgd:SERVICE"),
        ("SELECT ?service WHERE { BIND(1 AS ?service) } # SERVICE <http://example.org/> { }", "1"),
        ('SELECT ?x WHERE { BIND("Lidzonka"@add AS ?x) }', "Lidzonka"),
        ('SELECT ?x WHERE { BIND("x"@en-service AS ?x) }', "x"),
        ('SELECT ?x WHERE { BIND("\\u0053ERVICE" AS ?x) }', "SERVICE"),
    ],
    ids=[
        "string",
        "long-string",
        "iri",
        "prefixed-name",
        "variable-and-comment",
        "language-add",
        "language-subtag",
        "escaped-in-string",
    ],
)
def test_the_word_service_in_data_is_no_false_positive(
    kgraph, server, text: str, expected: str
) -> None:
    result = kgraph("query", "-e", text)
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert expected in result.stdout


# -- SHACL shapes: their SPARQL runs in rdflib, which would follow SERVICE and FROM ----------


def _shape_with(select: str) -> str:
    return f'''
kgs:HostileShape
    a sh:NodeShape ;
    sh:targetClass kg:NewsArticle ;
    sh:sparql [
        a sh:SPARQLConstraint ;
        kg:reads rdf:type ;
        sh:message "hostile" ;
        sh:select """{select}""" ] .
'''


@pytest.mark.parametrize(
    "select",
    [
        "SELECT $this WHERE { $this a ?c . SERVICE <{url}/sparql> { $this ?p ?o } }",
        "SELECT $this WHERE { $this a ?c . \\\\u0053ERVICE <{url}/sparql> { $this ?p ?o } }",
        "SELECT $this FROM <{url}/g> WHERE { $this a ?c }",
        "LOAD <{url}/data.ttl>",
    ],
    ids=["service", "service-codepoint-escape", "from", "load"],
)
def test_hostile_sparql_in_shapes_is_refused_naming_the_shapes_file(
    kgraph, server, project: Path, select: str
) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + _shape_with(select.replace("{url}", server.url)))
    result = kgraph("validate")
    assert_error(result, ExitStatus.BAD_INPUT, "ontology/shapes.ttl (sh:select)", "is refused")


def test_service_in_a_sparql_target_is_refused(kgraph, server, project: Path) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(
        shapes.read_text()
        + f'''
kgs:HostileTargetShape
    a sh:NodeShape ;
    sh:target [ a sh:SPARQLTarget ;
        sh:select """SELECT ?this WHERE {{ SERVICE <{server.url}/sparql> {{ ?this ?p ?o }} }}""" ] ;
    sh:nodeKind sh:IRI .
'''
    )
    result = kgraph("validate")
    assert_error(result, ExitStatus.BAD_INPUT, "shapes.ttl (sh:select)", "SERVICE is refused")


INJECTED_PREFIX = '''
kgs:InjectedShape a sh:NodeShape ; sh:targetClass kg:NewsArticle ; sh:sparql kgs:InjectedConstraint .
kgs:InjectedConstraint a sh:SPARQLConstraint ;
    kg:reads rdf:type ;
    sh:prefixes kgs:InjectedPrefixes ;
    sh:select """SELECT $this WHERE { $this ?p ?o } #\\"\\"\\") }""" .
kgs:InjectedPrefixes sh:declare [ sh:prefix "x" ;
    sh:namespace "http://a/> SELECT ?this WHERE { ?this ?p ?o SERVICE <{url}/injected> { ?this ?p ?o } FILTER(?this != \\"\\"\\"" ] .
'''


def test_sparql_injected_through_a_prefix_declaration_is_refused(
    kgraph, _server: CountingServer, project: Path
) -> None:
    _server.reset()
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + INJECTED_PREFIX.replace("{url}", _server.url))
    try:
        result = kgraph("validate")
        assert _server.hits == [], "the shapes' prefix declaration made kgraph reach the network"
        assert_error(result, ExitStatus.BAD_INPUT, "shapes.ttl", "is refused")
    finally:
        _server.reset()


@pytest.mark.parametrize(
    ("prefix", "namespace"),
    [
        ("x", "http://a/> SELECT ?this WHERE { SERVICE <http://127.0.0.1/> {} } #"),
        ("x", "http://a/ }"),
        ("x", "relative/"),
        ("x> <http://a/", "http://b/"),
        ("1x", "http://a/"),
    ],
)
def test_prefix_declaration_that_could_inject_sparql_is_refused(
    prefix: str, namespace: str
) -> None:
    from kgraph.errors import RefusedError
    from kgraph.guards import check_prefix_declaration

    with pytest.raises(RefusedError, match="is not"):
        check_prefix_declaration(prefix, namespace, source="ontology/shapes.ttl")


@pytest.mark.parametrize(
    ("prefix", "namespace"),
    [
        ("kg", "https://w3id.org/kgraph/ontology#"),
        ("", "http://example.org/"),
        ("dc-terms", "http://purl.org/dc/terms/"),
    ],
)
def test_prefix_declaration_of_a_real_iri_is_accepted(prefix: str, namespace: str) -> None:
    from kgraph.guards import check_prefix_declaration

    check_prefix_declaration(prefix, namespace, source="ontology/shapes.ttl")


def test_owl_imports_in_shapes_and_data_are_not_followed(
    kgraph, server, project: Path, tmp_path: Path
) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(
        shapes.read_text()
        + f"\n<https://w3id.org/kgraph/shapes> owl:imports <{server.url}/shapes.ttl> .\n"
    )
    data = tmp_path / "imports.ttl"
    data.write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        f"<{EX}onto> a owl:Ontology ; owl:imports <{server.url}/onto.ttl> ;\n"
        f"    sh:shapesGraph <{server.url}/more-shapes.ttl> .\n"
    )
    for args in (
        ["validate", str(data)],
        ["validate", "--infer", "owlrl", str(data)],
        ["add", "--dry-run", str(data)],
    ):
        result = kgraph(*args)
        assert result.exit_code in (ExitStatus.OK, ExitStatus.FINDINGS), (args, result.stderr)
    (project / "data" / "imports.ttl").write_bytes(data.read_bytes())
    result = kgraph("query", "--infer", "owlrl", "-e", "ASK { ?s ?p ?o }")
    assert result.exit_code == ExitStatus.OK, result.stderr


def test_broken_shape_is_a_shapes_error_exits_2(kgraph, server, project: Path) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    text = shapes.read_text()
    assert "sh:minCount 1 ;" in text
    shapes.write_text(text.replace("sh:minCount 1 ;", 'sh:minCount "x" ;', 1))
    result = kgraph("validate")
    assert result.exit_code == ExitStatus.BAD_INPUT, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ontology/shapes.ttl: the shapes cannot be used")
    assert "minCount" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_broken_shape_error_is_one_line(kgraph, project: Path) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text().replace("sh:minCount 1 ;", 'sh:minCount "x" ;', 1))
    assert_error(kgraph("validate"), ExitStatus.BAD_INPUT, "shapes")


def test_sparql_constraint_pyshacl_refuses_is_a_shapes_error(kgraph, project: Path) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(
        shapes.read_text()
        + _shape_with("SELECT $this WHERE { $this a ?c MINUS { $this a kg:Nothing } }").replace(
            "kg:NewsArticle", "kg:Claim"
        )
    )
    result = kgraph("validate")
    assert_error(result, ExitStatus.BAD_INPUT, "shapes")
    assert "internal error" not in result.stderr


# -- JSON-LD contexts ------------------------------------------------------------------------


def _jsonld_documents(url: str, canary: Path) -> dict[str, str]:
    node = f'"@id": "{EX}a", "{EX}p": "x"'
    return {
        "remote": f'{{"@context": "{url}/ctx", {node}}}',
        "file-url": f'{{"@context": "file://{canary}/context.jsonld", {node}}}',
        "absolute-path": f'{{"@context": "{canary}/context.jsonld", {node}}}',
        "relative-path": f'{{"@context": "context.jsonld", {node}}}',
        "list-with-url": f'{{"@context": [{{"ex": "{EX}"}}, "{url}/ctx"], {node}}}',
        "scoped-in-term": f'{{"@context": {{"t": {{"@id": "{EX}t", "@context": "{url}/ctx"}}}}, {node}, "t": {{"{EX}q": "y"}}}}',
        "import": f'{{"@context": {{"@import": "{url}/ctx", "ex": "{EX}"}}, {node}}}',
        "nested-in-graph": f'{{"@graph": [{{"@context": "{url}/ctx", {node}}}]}}',
        "duplicate-key": f'{{"@context": "{url}/ctx", "@context": {{"ex": "{EX}"}}, {node}}}',
        "escaped-key": f'{{"@cont\\u0065xt": "{url}/ctx", {node}}}',
    }


@pytest.mark.parametrize("command", ["validate", "add"])
@pytest.mark.parametrize(
    "case",
    [
        "remote",
        "file-url",
        "absolute-path",
        "relative-path",
        "list-with-url",
        "scoped-in-term",
        "import",
        "nested-in-graph",
        "duplicate-key",
        "escaped-key",
    ],
)
def test_jsonld_context_reference_is_refused_exits_2(
    kgraph, server, canary: Path, project: Path, snapshot, command: str, case: str
) -> None:
    path = canary / f"{case}.jsonld"
    path.write_text(_jsonld_documents(server.url, canary)[case])
    before = snapshot(project / "data")
    result = kgraph(command, str(path))
    assert_error(result, ExitStatus.BAD_INPUT, f"{path}:", "is refused", "inline the context")
    assert_no_leak(result)
    assert snapshot(project / "data") == before


def test_jsonld_inline_context_is_accepted(kgraph, server, tmp_path: Path) -> None:
    path = tmp_path / "inline.jsonld"
    path.write_text(
        f'{{"@context": {{"ex": "{EX}", "p": {{"@id": "ex:p"}}}}, "@id": "ex:a", "p": "x"}}'
    )
    for command in ("validate", "convert"):
        result = kgraph(command, str(path))
        assert result.exit_code in (ExitStatus.OK, ExitStatus.FINDINGS), result.stderr
    assert f'<{EX}a> <{EX}p> "x" .' in kgraph("convert", str(path)).stdout


def test_jsonld_with_a_huge_number_is_no_false_positive(kgraph, server, tmp_path: Path) -> None:
    # Python's json refuses to turn more than 4,300 digits into an int; the guard must not.
    path = tmp_path / "number.jsonld"
    path.write_text(f'{{"@id": "{EX}a", "{EX}p": {"9" * 5000}}}')
    result = kgraph("convert", str(path))
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert result.stdout.startswith(f"<{EX}a> <{EX}p> ")


# -- RDF/XML entities and DTDs ----------------------------------------------------------------

RDF_OPEN = f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="{EX}">'


def _billion_laughs(levels: int = 10) -> str:
    entities = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, levels)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n'
        + "\n".join(entities)
        + f'\n]>\n{RDF_OPEN}<rdf:Description rdf:about="{EX}a"><ex:p>&l{levels - 1};</ex:p>'
        "</rdf:Description></rdf:RDF>\n"
    )


def _xml_documents(url: str, canary: Path) -> dict[str, bytes]:
    body = f'{RDF_OPEN}<rdf:Description rdf:about="{EX}a"><ex:p>&leak;</ex:p></rdf:Description></rdf:RDF>\n'
    laughs = _billion_laughs()
    return {
        "billion-laughs": laughs.encode(),
        "billion-laughs-utf16": laughs.replace(
            'version="1.0"', 'version="1.0" encoding="UTF-16"'
        ).encode("utf-16"),
        "external-dtd": f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF SYSTEM "{url}/rdf.dtd">\n{body}'.encode(),
        "external-dtd-public": f'<!DOCTYPE rdf:RDF PUBLIC "-//X//Y" "{url}/rdf.dtd">\n{body}'.encode(),
        "external-dtd-far": f'<!DOCTYPE rdf:RDF{" " * 5000}SYSTEM "{url}/rdf.dtd">\n{body}'.encode(),
        "system-entity-url": f'<!DOCTYPE rdf:RDF [<!ENTITY leak SYSTEM "{url}/leak.txt">]>\n{body}'.encode(),
        "system-entity-file": f'<!DOCTYPE rdf:RDF [<!ENTITY leak SYSTEM "file://{canary}/secret.txt">]>\n{body}'.encode(),
        "parameter-entity": f'<!DOCTYPE rdf:RDF [<!ENTITY % dtd SYSTEM "{url}/rdf.dtd"> %dtd;]>\n{body}'.encode(),
    }


XML_CASES = [
    "billion-laughs",
    "billion-laughs-utf16",
    "external-dtd",
    "external-dtd-public",
    "external-dtd-far",
    "system-entity-url",
    "system-entity-file",
    "parameter-entity",
]


@pytest.mark.parametrize("case", XML_CASES)
def test_rdfxml_doctype_is_refused_fast_exits_2(
    server, canary: Path, project: Path, case: str
) -> None:
    data = _xml_documents(server.url, canary)[case]
    assert len(data) < 12_000
    path = canary / f"{case}.rdf"
    path.write_bytes(data)
    result = as_run(cli_subprocess(project, "validate", str(path), timeout=30))
    assert_error(result, ExitStatus.BAD_INPUT, f"{path}:", "DOCTYPE", "is refused")
    assert_no_leak(result)


def test_rdfxml_add_with_entities_writes_nothing(
    kgraph, server, canary: Path, project: Path, snapshot
) -> None:
    path = canary / "laughs.rdf"
    path.write_text(_billion_laughs())
    before = snapshot(project / "data")
    result = kgraph("add", str(path))
    assert_error(result, ExitStatus.BAD_INPUT, "declares entities", "billion laughs")
    assert snapshot(project / "data") == before


def test_plain_rdfxml_is_accepted(kgraph, server, tmp_path: Path) -> None:
    path = tmp_path / "plain.rdf"
    path.write_text(
        f'<?xml version="1.0"?>\n{RDF_OPEN}<rdf:Description rdf:about="{EX}a"><ex:p>x &amp; y</ex:p>'
        "</rdf:Description></rdf:RDF>\n"
    )
    assert kgraph("validate", str(path)).exit_code == ExitStatus.OK
    assert f'<{EX}a> <{EX}p> "x & y" .' in kgraph("convert", str(path)).stdout


# -- deep nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("open_", "close"),
    [("[ <http://example.org/p> ", " ]"), ("( ", " )")],
    ids=["blank-nodes", "lists"],
)
def test_deeply_nested_turtle_is_read_without_crashing(
    kgraph, server, project: Path, tmp_path: Path, open_: str, close: str
) -> None:
    path = tmp_path / "deep.ttl"
    path.write_text(f"<{EX}a> <{EX}p> " + open_ * 5000 + '"x"' + close * 5000 + " .\n")
    for args in (["convert", str(path)], ["validate", str(path)], ["add", str(path)]):
        result = kgraph(*args)
        assert result.exit_code in (ExitStatus.OK, ExitStatus.FINDINGS), (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_deeply_nested_query_is_a_limit_with_position_exits_4(
    kgraph, server, tmp_path: Path
) -> None:
    path = tmp_path / "deep.rq"
    path.write_text("SELECT * WHERE " + "{ " * 10_000 + "?s ?p ?o" + " }" * 10_000)
    result = kgraph("query", str(path))
    # The 65th '{' follows "SELECT * WHERE " (15 characters) and 64 "{ ": column 144.
    assert_error(result, ExitStatus.LIMIT, f"{path}:1:144:", "deeper than 64", "--max-depth")


def test_deeply_nested_jsonld_is_a_limit_with_position_exits_4(
    kgraph, server, tmp_path: Path
) -> None:
    path = tmp_path / "deep.jsonld"
    path.write_text(f'{{"@id": "{EX}a", "{EX}p": ' + "[" * 10_000 + '"x"' + "]" * 10_000 + "}")
    for command in ("validate", "add", "convert"):
        assert_error(
            kgraph(command, str(path)),
            ExitStatus.LIMIT,
            f"{path}:1:",
            "deeper than 64",
            "--max-depth",
        )


def test_max_depth_raises_the_nesting_limit(kgraph, server, tmp_path: Path) -> None:
    path = tmp_path / "hundred.rq"
    path.write_text(
        "SELECT (COUNT(*) AS ?n) WHERE " + "{ " * 100 + "?s a kg:NewsArticle" + " }" * 100
    )
    assert_error(kgraph("query", str(path)), ExitStatus.LIMIT, "--max-depth")
    result = kgraph("--max-depth", "200", "query", str(path))
    assert result.exit_code == ExitStatus.OK, result.stderr


def test_nesting_without_brackets_crashing_the_engine_is_a_limit_exits_4(
    server, project: Path
) -> None:
    # 20,000 unary '!' are no bracket nesting for the guard, but overflow Oxigraph's parser:
    # the worker dies of it and the parent reports a limit. (A real process: pytest's
    # faulthandler would print the worker's crash.)
    result = cli_subprocess(project, "query", "-e", "ASK { FILTER(" + "!" * 20_000 + "true) }")
    assert_error(as_run(result), ExitStatus.LIMIT, "nested too deeply")


# -- limits -------------------------------------------------------------------------------------


def _triples(n: int) -> str:
    return "".join(
        f'<{EX}s{i}> <http://www.w3.org/2000/01/rdf-schema#label> "label {i}" .\n' for i in range(n)
    )


def test_max_input_stops_add_and_writes_nothing(
    kgraph, server, project: Path, tmp_path: Path, snapshot
) -> None:
    path = tmp_path / "big.nt"
    lines = _triples(20_000)
    path.write_text(lines * (2 * 1024 * 1024 // len(lines) + 1))
    assert path.stat().st_size > 2 * 1024 * 1024
    before = snapshot(project / "data")
    result = kgraph("--max-input", "1", "add", str(path))
    assert_error(result, ExitStatus.LIMIT, f"{path}:", "input limit of 1 MB", "--max-input")
    assert snapshot(project / "data") == before


def test_max_triples_stops_add_and_writes_nothing(
    kgraph, server, project: Path, tmp_path: Path, snapshot
) -> None:
    path = tmp_path / "eleven.nt"
    path.write_text(_triples(11))
    before = snapshot(project / "data")
    result = kgraph("--max-triples", "10", "add", str(path))
    assert_error(result, ExitStatus.LIMIT, f"{path}:", "more than 10 triples", "--max-triples")
    assert snapshot(project / "data") == before
    assert kgraph("--max-triples", "10", "validate", str(path)).exit_code == ExitStatus.LIMIT


def test_work_timeout_stops_add_and_writes_nothing(
    kgraph, server, project: Path, tmp_path: Path, snapshot
) -> None:
    path = tmp_path / "some.nt"
    path.write_text(_triples(100))
    before = snapshot(project / "data")
    result = kgraph("--work-timeout", "0.01", "add", str(path))
    assert_error(result, ExitStatus.LIMIT, "was stopped", "--work-timeout")
    assert snapshot(project / "data") == before
    assert not list((project / "data").rglob(".kgraph-tmp-*"))


@pytest.mark.parametrize(
    "text",
    [
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }",
        "SELECT (COUNT(*) AS ?n) WHERE { ?a (<http://example.org/nothing>|!<http://example.org/x>)* ?b . ?c ?d ?e . ?f ?g ?h }",
    ],
    ids=["cross-product", "property-path"],
)
def test_query_timeout_stops_a_runaway_query_exits_4(kgraph, server, text: str) -> None:
    result = kgraph("--timeout", "2", "query", "-e", text)
    assert_error(result, ExitStatus.LIMIT, "the query took longer than 2 s", "--timeout")
    assert result.stdout == ""


# Each BIND doubles a string: 32 bytes * 2**26 = 2 GB on the first solution.
BOMB = (
    'SELECT (STRLEN(?x26) AS ?n) WHERE { BIND("0123456789abcdef0123456789abcdef" AS ?x0) '
    + " ".join(f"BIND(CONCAT(?x{i}, ?x{i}) AS ?x{i + 1})" for i in range(26))
    + " }"
)


def test_memory_bomb_query_is_stopped_by_max_memory_exits_4(server, project: Path) -> None:
    # A real process: the limit is on the worker's address space, which in pytest's own
    # process starts far larger than in a command's.
    cheap = cli_subprocess(
        project, "--max-memory", "300", "query", "-e", "ASK { ?s ?p ?o }", timeout=60
    )
    assert cheap.returncode == ExitStatus.OK, cheap.stderr
    bomb = cli_subprocess(project, "--max-memory", "300", "query", "-e", BOMB, timeout=60)
    assert bomb.returncode == ExitStatus.LIMIT, bomb.stderr
    last = bomb.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: the query ran out of memory"), bomb.stderr
    assert "--max-memory" in last
    assert "Traceback" not in bomb.stderr


def test_memory_bomb_error_is_one_line(server, project: Path) -> None:
    bomb = cli_subprocess(project, "--max-memory", "300", "query", "-e", BOMB, timeout=60)
    assert_error(as_run(bomb), ExitStatus.LIMIT, "--max-memory")


def _same_as_chain(n: int) -> str:
    lines = ["@prefix owl: <http://www.w3.org/2002/07/owl#> .", f"@prefix ex: <{EX}> ."]
    lines += [
        f'ex:n{i} owl:sameAs ex:n{i + 1} ; ex:p{i % 3} "v{i}" ; ex:q ex:m{i} ; a ex:C{i % 5} .'
        for i in range(n)
    ]
    return "\n".join(lines) + "\n"


def test_same_as_chain_of_100_reasons_within_default_limits(kgraph, server, project: Path) -> None:
    (project / "data" / "chain.ttl").write_text(_same_as_chain(100))
    result = kgraph("query", "--infer", "owlrl", "-e", f'ASK {{ <{EX}n0> <{EX}p2> "v98" }}')
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert "true" in result.stdout


def test_work_timeout_stops_reasoning_exits_4(kgraph, server, project: Path) -> None:
    (project / "data" / "chain.ttl").write_text(_same_as_chain(400))
    result = kgraph("--work-timeout", "0.5", "query", "--infer", "owlrl", "-e", "ASK { ?s ?p ?o }")
    assert_error(result, ExitStatus.LIMIT, "took longer than 0.5 s", "--work-timeout")


# -- encodings, binary, bad IRIs -------------------------------------------------------------


def test_invalid_utf8_turtle_names_line_and_column_exits_2(kgraph, server, tmp_path: Path) -> None:
    path = tmp_path / "latin1.ttl"
    path.write_bytes(f'<{EX}a> <{EX}p> "ok" .\n\n<{EX}b> <{EX}p> "caf'.encode() + b'\xe9" .\n')
    assert_error(kgraph("validate", str(path)), ExitStatus.BAD_INPUT, f"{path}:3:", "UTF-8")


@pytest.mark.parametrize("suffix", [".ttl", ".nt", ".trig", ".jsonld", ".rdf"])
def test_utf16_file_exits_2(kgraph, server, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"utf16{suffix}"
    text = {
        ".jsonld": f'{{"@id": "{EX}a", "{EX}p": "x"}}',
        ".rdf": f'<?xml version="1.0" encoding="UTF-16"?>{RDF_OPEN}<rdf:Description rdf:about="{EX}a"><ex:p>x</ex:p></rdf:Description></rdf:RDF>',
    }.get(suffix, f'<{EX}a> <{EX}p> "x" .\n')
    path.write_bytes(text.encode("utf-16"))
    assert_error(kgraph("validate", str(path)), ExitStatus.BAD_INPUT, f"{path}")


@pytest.mark.parametrize("suffix", [".ttl", ".nt", ".nq", ".trig", ".jsonld", ".rdf"])
def test_random_binary_exits_2(kgraph, server, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(random.Random(suffix).randbytes(4096))
    for command in ("validate", "add", "convert"):
        assert_error(kgraph(command, str(path)), ExitStatus.BAD_INPUT, f"{path}")


def test_query_file_with_invalid_utf8_exits_2(kgraph, server, tmp_path: Path) -> None:
    path = tmp_path / "latin1.rq"
    path.write_bytes(b'SELECT ?x WHERE { BIND("caf\xe9" AS ?x) }')
    assert_error(kgraph("query", str(path)), ExitStatus.BAD_INPUT, f"{path}:1: not valid UTF-8")


def test_query_argument_with_invalid_utf8_exits_2(kgraph, server) -> None:
    # How Python hands a command-line argument with non-UTF-8 bytes to Click.
    text = b'SELECT ?x WHERE { BIND("caf\xe9" AS ?x) }'.decode("utf-8", "surrogateescape")
    result = kgraph("query", "-e", text)
    assert_error(result, ExitStatus.BAD_INPUT, "-e:1:28: the query is not valid UTF-8")
    assert "UnicodeEncodeError" not in result.stderr


@pytest.mark.parametrize(
    ("line", "column"),
    [(f'<http://a b> <{EX}p> "x" .', 1), (f"<{EX}s> <{EX}p> <http://a\\u0020b> .", 47)],
    ids=["space", "escaped-space"],
)
def test_iri_with_a_space_is_refused_with_position_exits_2(
    kgraph, server, tmp_path: Path, line: str, column: int
) -> None:
    path = tmp_path / "bad-iri.ttl"
    path.write_text(f"# a bad IRI\n{line}\n")
    assert_error(kgraph("validate", str(path)), ExitStatus.BAD_INPUT, f"{path}:2:{column}:", "IRI")


# -- query headers -----------------------------------------------------------------------------


def _yaml_bomb(levels: int) -> str:
    lines = ["#+ summary: bomb", "#+ a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"#+ a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(
        [*lines, f"#+ columns: [*a{levels - 1}]", "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1", ""]
    )


def test_yaml_alias_bomb_in_a_query_header_is_refused() -> None:
    from kgraph.queries import from_text

    with pytest.raises(KGraphError):
        from_text(_yaml_bomb(6), name="bomb")


def test_bad_query_header_error_is_one_line(kgraph) -> None:
    result = kgraph("query", "-e", "#+\x01 summary: x\nSELECT * WHERE { ?s ?p ?o }")
    assert_error(result, ExitStatus.BAD_INPUT, "bad #+ header")


def test_query_syntax_error_is_one_line(kgraph) -> None:
    assert_error(kgraph("query", "-e", "SELECT ?"), ExitStatus.BAD_INPUT, "-e:1:")


def test_turtle_error_quoting_a_newline_is_one_line(kgraph, tmp_path: Path) -> None:
    path = tmp_path / "newline-iri.ttl"
    path.write_text(f"<{EX}a\nb> <{EX}p> <{EX}o> .\n")
    assert_error(kgraph("validate", str(path)), ExitStatus.BAD_INPUT, f"{path}:1:")


def test_helpers_see_a_hit(server) -> None:
    """The counting server does count (so zero hits elsewhere means something)."""
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/probe", timeout=5) as answer:
        assert answer.status == 200
    assert server.requests == ["GET /probe"]
    assert server.connections == 1
    server.reset()


def test_helpers_assert_error_rejects_a_traceback() -> None:
    with pytest.raises(AssertionError):
        assert_error(
            Run(2, "", "Error: x\nTraceback (most recent call last):\n", b""), ExitStatus.BAD_INPUT
        )
