"""`kgraph serve` as a real process: the SPARQL 1.1 Protocol (each method, each format,
each refusal), the Graph Store GET, canned queries over HTTP, the limits, concurrency, and
independent clients (SPARQLWrapper, rdflib's SPARQLStore) against the endpoint."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import rdflib

from kgraph.cli.app import FLAGS
from kgraph.errors import Setting
from serving import KGRAPH, Served, request, start

pytestmark = pytest.mark.server

ARTICLE = "https://w3id.org/kgraph/graph/data/article.ttl"
BACKGROUND = "https://w3id.org/kgraph/graph/data/background.ttl"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
PEOPLE = (
    "SELECT ?person ?name WHERE { ?person a kg:Person ; skos:prefLabel ?name "
    'FILTER(LANG(?name) = "en") } ORDER BY ?person'
)
CONSTRUCT = (
    "CONSTRUCT { ?p a kg:Person ; skos:prefLabel ?n } WHERE { ?p a kg:Person ; skos:prefLabel ?n }"
)
# A cross product of the graph with itself twice: billions of rows, minutes of work.
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SPARQL_RESULTS = "{http://www.w3.org/2005/sparql-results#}"


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    served = start(["--workers", "2", "--timeout", "4", "--max-bytes", "1"])
    yield served
    served.stop()


def kgraph_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KGRAPH, *args], capture_output=True, text=True, timeout=120)


def get(server: Served, query: str, accept: str | None = None, **params: str) -> object:
    headers = {"Accept": accept} if accept else {}
    return request(server.url("/sparql?" + urlencode({"query": query, **params})), headers=headers)


def one_line_refusal(answer: object, status: int) -> str:
    assert answer.status == status, answer.text  # type: ignore[attr-defined]
    text = answer.text  # type: ignore[attr-defined]
    assert answer.headers["Content-Type"].startswith("text/plain")  # type: ignore[attr-defined]
    assert text.endswith("\n") and text.count("\n") == 1, text
    assert "Traceback" not in text
    return text.strip()


def people_rows_from_cli() -> list[tuple[str, str]]:
    out = kgraph_cli("query", "-e", PEOPLE, "-f", "json").stdout
    return [
        (b["person"]["value"], b["name"]["value"]) for b in json.loads(out)["results"]["bindings"]
    ]


# -- methods ------------------------------------------------------------------------------


def test_get_post_form_and_post_direct_give_the_same_json(server: Served) -> None:
    by_get = get(server, PEOPLE)
    by_form = request(
        server.url("/sparql"),
        method="POST",
        data=urlencode({"query": PEOPLE}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    by_body = request(
        server.url("/sparql"),
        method="POST",
        data=PEOPLE.encode(),
        headers={"Content-Type": "application/sparql-query"},
    )
    for answer in (by_get, by_form, by_body):
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "application/sparql-results+json"
    rows = [json.loads(a.body)["results"]["bindings"] for a in (by_get, by_form, by_body)]
    assert rows[0] == rows[1] == rows[2]
    assert [(b["person"]["value"], b["name"]["value"]) for b in rows[0]] == people_rows_from_cli()


def test_head_gives_headers_without_a_body(server: Served) -> None:
    answer = request(server.url("/sparql?" + urlencode({"query": PEOPLE})), method="HEAD")
    assert answer.status == 200
    assert answer.body == b""
    assert int(answer.headers["Content-Length"]) > 0


# -- formats ------------------------------------------------------------------------------


def test_select_in_each_result_format_parses_to_the_same_rows(server: Served) -> None:
    expected = people_rows_from_cli()
    assert len(expected) >= 5
    as_json = json.loads(get(server, PEOPLE, "application/sparql-results+json").body)
    from_json = [(b["person"]["value"], b["name"]["value"]) for b in as_json["results"]["bindings"]]

    xml_answer = get(server, PEOPLE, "application/sparql-results+xml")
    assert xml_answer.headers["Content-Type"] == "application/sparql-results+xml"
    root = ET.fromstring(xml_answer.body)
    from_xml = []
    for result in root.iter(SPARQL_RESULTS + "result"):
        values = {
            b.get("name"): "".join(b.itertext()).strip()
            for b in result.iter(SPARQL_RESULTS + "binding")
        }
        from_xml.append((values["person"], values["name"]))

    csv_answer = get(server, PEOPLE, "text/csv")
    assert csv_answer.headers["Content-Type"].startswith("text/csv")
    reader = list(csv.reader(io.StringIO(csv_answer.text)))
    assert reader[0] == ["person", "name"]
    from_csv = [tuple(r) for r in reader[1:]]

    tsv_answer = get(server, PEOPLE, "text/tab-separated-values")
    lines = tsv_answer.text.splitlines()
    assert lines[0] == "?person\t?name"
    from_tsv = [
        (p.strip("<>"), n.split('"')[1]) for p, n in (line.split("\t") for line in lines[1:])
    ]
    assert from_json == from_xml == from_csv == from_tsv == expected


def test_ask_in_json_and_xml(server: Served) -> None:
    ask = "ASK { kgd:ChoeSonHui a kg:Person }"
    assert json.loads(get(server, ask).body)["boolean"] is True
    root = ET.fromstring(get(server, ask, "application/sparql-results+xml").body)
    assert root.find(SPARQL_RESULTS + "boolean").text == "true"


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/n-quads", "nquads"),
        ("application/trig", "trig"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
    ],
)
def test_construct_in_each_rdf_format_is_the_same_graph(
    server: Served, accept: str, rdflib_format: str
) -> None:
    answer = get(server, CONSTRUCT, accept)
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith(accept)
    graph = rdflib.Dataset() if rdflib_format in ("nquads", "trig") else rdflib.Graph()
    graph.parse(data=answer.body, format=rdflib_format)
    triples = {
        (s, p, o) for s, p, o, *_ in (graph.quads() if isinstance(graph, rdflib.Dataset) else graph)
    }
    reference = rdflib.Graph().parse(
        data=get(server, CONSTRUCT, "application/n-triples").body, format="nt"
    )
    assert triples == set(reference)
    names = {str(o) for s, p, o in reference if str(p).endswith("prefLabel")}
    assert "Choe Son Hui" in names


def test_format_parameter_overrides_accept(server: Served) -> None:
    answer = get(server, PEOPLE, "application/sparql-results+json", format="csv")
    assert answer.headers["Content-Type"].startswith("text/csv")


def test_unacceptable_type_is_406(server: Served) -> None:
    reason = one_line_refusal(get(server, PEOPLE, "image/png"), 406)
    assert "application/sparql-results+json" in reason


# -- the dataset: union default graph, named graphs, protocol graphs ----------------------


def test_default_graph_is_the_union_and_named_graphs_are_addressable(server: Served) -> None:
    per_graph = json.loads(
        get(server, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g").body
    )
    sizes = {b["g"]["value"]: int(b["n"]["value"]) for b in per_graph["results"]["bindings"]}
    assert ARTICLE in sizes and BACKGROUND in sizes
    union = int(json.loads(get(server, COUNT).body)["results"]["bindings"][0]["n"]["value"])
    stats = kgraph_cli("stats").stdout
    assert f"{union} triples" in stats
    only_article = json.loads(get(server, COUNT, **{"default-graph-uri": ARTICLE}).body)
    assert int(only_article["results"]["bindings"][0]["n"]["value"]) == sizes[ARTICLE]


def test_named_graph_uri_limits_what_graph_sees(server: Served) -> None:
    answer = get(
        server,
        "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
        **{"named-graph-uri": BACKGROUND},
    )
    graphs = [b["g"]["value"] for b in json.loads(answer.body)["results"]["bindings"]]
    assert graphs == [BACKGROUND]


def test_graph_outside_the_dataset_is_refused(server: Served) -> None:
    reason = one_line_refusal(
        get(server, COUNT, **{"default-graph-uri": "http://example.org/elsewhere"}), 400
    )
    assert "not a graph of this dataset" in reason


def test_service_description_at_the_endpoint(server: Served) -> None:
    answer = request(server.url("/sparql"), headers={"Accept": "text/turtle"})
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=answer.body, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    endpoint = rdflib.URIRef(server.url("/sparql"))
    assert (endpoint, rdflib.RDF.type, sd.Service) in graph
    assert (endpoint, sd.supportedLanguage, sd.SPARQL11Query) in graph
    assert (endpoint, sd.feature, sd.UnionDefaultGraph) in graph
    names = {str(o) for o in graph.objects(None, sd.name)}
    assert {ARTICLE, BACKGROUND} <= names


# -- Graph Store Protocol (read) -----------------------------------------------------------


def test_graph_store_get_of_a_named_graph_and_of_the_default(server: Served) -> None:
    article = request(
        server.url("/rdf-graph-store?graph=" + quote(ARTICLE, safe="")),
        headers={"Accept": "application/n-triples"},
    )
    assert article.status == 200
    got = rdflib.Graph().parse(data=article.body, format="nt")
    sizes = json.loads(
        get(server, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{ARTICLE}> {{ ?s ?p ?o }} }}").body
    )
    assert len(got) == int(sizes["results"]["bindings"][0]["n"]["value"])
    default = request(server.url("/rdf-graph-store?default"))
    assert default.headers["Content-Type"].startswith("text/turtle")
    union = rdflib.Graph().parse(data=default.body, format="turtle")
    count = json.loads(get(server, COUNT).body)["results"]["bindings"][0]["n"]["value"]
    assert len(union) == int(count)


def test_graph_store_unknown_graph_is_404(server: Served) -> None:
    answer = request(server.url("/rdf-graph-store?graph=" + quote("http://example.org/g", safe="")))
    assert "no graph" in one_line_refusal(answer, 404)


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "text", "expected"),
    [
        ("update-param", "DROP ALL", "SPARQL Update (DROP) is refused"),
        ("update-body", "INSERT DATA { <http://a> <http://b> <http://c> }", "is refused"),
        ("query", "LOAD <http://example.org/data.ttl>", "is refused"),
        (
            "query",
            "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
            "SERVICE is refused",
        ),
        ("query", "SELECT * FROM <http://example.org/g> WHERE { ?s ?p ?o }", "FROM"),
        ("query", "SELECT * WHERE { ?s ?p }", "query:1:"),
        ("query", "SELECT * WHERE " + "{" * 100 + "}" * 100, "nest"),
    ],
)
def test_refused_requests_get_400_and_the_guards_reason(
    server: Served, how: str, text: str, expected: str
) -> None:
    if how == "update-param":
        answer = request(
            server.url("/sparql"),
            method="POST",
            data=urlencode({"update": text}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    elif how == "update-body":
        answer = request(
            server.url("/sparql"),
            method="POST",
            data=text.encode(),
            headers={"Content-Type": "application/sparql-update"},
        )
    else:
        answer = get(server, text)
    assert expected in one_line_refusal(answer, 400)


def test_the_reason_is_the_one_the_cli_gives(server: Served) -> None:
    query = "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"
    cli = kgraph_cli("query", "-e", query)
    assert cli.returncode == 2
    served = one_line_refusal(get(server, query), 400)
    # The same reason, but the server names the setting in words where the CLI names its flag.
    assert "--" not in served
    said = served.replace(str(Setting.ENDPOINT), FLAGS[Setting.ENDPOINT])
    assert cli.stderr.strip().removeprefix("Error: ").replace("-e:", "query:") == said


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/sparql", "/rdf-graph-store?default", "/"])
def test_write_methods_are_405(server: Served, method: str, path: str) -> None:
    answer = request(server.url(path), method=method, data=b"<a> <b> <c> .")
    assert "read-only" in one_line_refusal(answer, 405)
    assert "GET" in answer.headers["Allow"] and method not in answer.headers["Allow"]


def test_post_to_the_graph_store_is_405(server: Served) -> None:
    answer = request(
        server.url("/rdf-graph-store?default"),
        method="POST",
        data=b"<http://a> <http://b> <http://c> .",
        headers={"Content-Type": "application/n-triples"},
    )
    assert "read-only" in one_line_refusal(answer, 405)


def test_other_hosts_are_refused_on_loopback(server: Served) -> None:
    answer = request(
        server.url("/sparql?" + urlencode({"query": COUNT})), headers={"Host": "evil.example:80"}
    )
    assert "127.0.0.1" in one_line_refusal(answer, 403)


def test_query_that_is_not_utf8_is_one_line(server: Served) -> None:
    answer = request(
        server.url("/sparql"),
        method="POST",
        data=b'SELECT * WHERE { ?s ?p "\xff" }',
        headers={"Content-Type": "application/sparql-query"},
    )
    assert "UTF-8" in one_line_refusal(answer, 400)


# -- canned queries ----------------------------------------------------------------------


def test_queries_lists_the_same_queries_as_the_cli(server: Served) -> None:
    listed = json.loads(request(server.url("/queries")).body)
    cli = json.loads(kgraph_cli("queries", "-f", "json").stdout)
    assert [q["name"] for q in listed] == [q["name"] for q in cli]
    assert [q["params"] for q in listed] == [q["params"] for q in cli]


def test_canned_query_with_a_typed_parameter_gives_the_cli_bytes(server: Served) -> None:
    answer = request(
        server.url("/queries/officials-and-posts?date=2024-10-28"), headers={"Accept": "text/csv"}
    )
    cli = subprocess.run(
        [*KGRAPH, "query", "officials-and-posts", "-p", "date", "2024-10-28", "-f", "csv"],
        capture_output=True,
        timeout=120,
    )
    assert answer.status == 200
    assert answer.body == cli.stdout
    assert b"Choe Son Hui" in answer.body


def test_canned_query_iri_parameter_by_prefixed_name(server: Served) -> None:
    answer = request(server.url("/queries/about-entity?entity=kgd:ChoeSonHui"))
    rows = json.loads(answer.body)["results"]["bindings"]
    assert rows and {r["entity"]["value"] for r in rows} == {
        "https://w3id.org/kgraph/id/ChoeSonHui"
    }


def test_canned_query_bad_parameter_is_the_cli_message(server: Served) -> None:
    answer = request(server.url("/queries/officials-and-posts?date=28%20October"))
    cli = kgraph_cli("query", "officials-and-posts", "-p", "date", "28 October")
    assert cli.returncode == 2
    assert one_line_refusal(answer, 400) == cli.stderr.strip().removeprefix("Error: ")
    unknown = request(server.url("/queries/officials-and-posts?nosuch=1"))
    assert "has no parameter 'nosuch'" in one_line_refusal(unknown, 400)
    assert "no canned query" in one_line_refusal(request(server.url("/queries/nosuch")), 404)


# -- limits and concurrency ------------------------------------------------------------


def test_timeout_stops_a_slow_query_while_a_fast_one_answers(server: Served) -> None:
    slow: dict[str, object] = {}

    def run_slow() -> None:
        slow["answer"] = get(server, SLOW)
        slow["done"] = time.monotonic()

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.5)
    fast = get(server, PEOPLE)
    fast_done = time.monotonic()
    thread.join(60)
    assert fast.status == 200 and json.loads(fast.body)["results"]["bindings"]
    assert fast_done < slow["done"]  # type: ignore[operator]
    reason = one_line_refusal(slow["answer"], 503)
    # The server names its own limit, not a flag of the command that started it.
    assert "took longer than 4 s" in reason and "(the server's query timeout)" in reason
    assert "--" not in reason
    # The killed worker was replaced: both workers answer again.
    answers = [get(server, COUNT) for _ in range(4)]
    assert all(a.status == 200 for a in answers)


def test_result_larger_than_max_bytes_is_refused(server: Served) -> None:
    huge = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"
    reason = one_line_refusal(get(server, huge, "text/csv"), 422)
    assert "larger than 1 MB (the server's result limit)" in reason and "--" not in reason
    assert get(server, COUNT).status == 200


def test_select_with_more_rows_than_max_rows_is_refused_whole() -> None:
    # The canned timeline, its rows counted by the CLI; the server allows one row fewer.
    cli = kgraph_cli("query", "timeline", "-f", "json")
    rows = len(json.loads(cli.stdout)["results"]["bindings"])
    assert rows >= 3
    served = start(["--workers", "1", "--max-rows", str(rows - 1)])
    try:
        for accept in (
            "application/sparql-results+json",
            "application/sparql-results+xml",
            "text/csv",
            "text/tab-separated-values",
        ):
            answer = request(served.url("/queries/timeline"), headers={"Accept": accept})
            reason = one_line_refusal(answer, 422)
            assert f"more than {rows - 1:,} rows (the server's row limit)" in reason
            assert "--" not in reason
        # At the limit exactly: the whole answer, not refused.
        limited = f"SELECT ?s WHERE {{ ?s ?p ?o }} LIMIT {rows - 1}"
        answer = get(served, limited)
        assert answer.status == 200  # type: ignore[attr-defined]
        bindings = json.loads(answer.body)["results"]["bindings"]  # type: ignore[attr-defined]
        assert len(bindings) == rows - 1
    finally:
        served.stop()


def test_many_concurrent_clients_all_get_answers(server: Served) -> None:
    answers: list[object] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(5):
            answer = get(server, PEOPLE)
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=client) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(answers) == 60
    bodies = {a.body for a in answers}  # type: ignore[attr-defined]
    assert all(a.status == 200 for a in answers) and len(bodies) == 1  # type: ignore[attr-defined]


def test_excess_requests_wait_then_get_503_with_retry_after() -> None:
    served = start(["--workers", "1", "--timeout", "5", "--queue-wait", "0.5"])
    try:
        thread = threading.Thread(target=lambda: get(served, SLOW))
        thread.start()
        time.sleep(0.5)
        started = time.monotonic()
        busy = get(served, COUNT)
        waited = time.monotonic() - started
        assert "busy" in one_line_refusal(busy, 503)
        assert busy.headers["Retry-After"] == "1"
        assert waited >= 0.4  # it waited for a worker before giving up
        thread.join(30)
        assert get(served, COUNT).status == 200
    finally:
        served.stop()


def test_worker_out_of_memory_is_503_and_the_worker_is_replaced() -> None:
    served = start(["--workers", "1", "--timeout", "120"], memory_mb=700)
    try:
        # Sorting the graph crossed with itself (8 million rows) needs gigabytes.
        huge = "SELECT ?a ?b ?c ?d ?e ?f WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?a ?d ?c ?f"
        reason = one_line_refusal(get(served, huge, "text/csv"), 503)
        assert "worker crashed" in reason and "(the server's memory limit)" in reason
        assert "--" not in reason
        assert get(served, COUNT).status == 200
    finally:
        served.stop()


def test_without_its_zygote_the_server_says_so_once_no_worker_is_left() -> None:
    served = start(["--workers", "1", "--timeout", "2", "--queue-wait", "1"])
    try:
        zygote = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(served.process.pid)], capture_output=True, text=True
        ).stdout.split()[0]
        os.kill(int(zygote), signal.SIGKILL)
        assert get(served, COUNT).status == 200  # the worker outlives it
        assert one_line_refusal(get(served, SLOW), 503)  # and is killed: nothing replaces it
        assert "workers are gone" in one_line_refusal(get(served, COUNT), 503)
    finally:
        served.stop()


def test_serving_an_on_disk_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    served = start(["--workers", "1", "--timeout", "2"], store=store)
    try:
        assert (store / "kgraph-store.json").is_file()
        rows = json.loads(get(served, PEOPLE).body)["results"]["bindings"]
        assert [(b["person"]["value"], b["name"]["value"]) for b in rows] == people_rows_from_cli()
        assert "took longer than 2 s" in one_line_refusal(get(served, SLOW), 503)
        # The replacement worker opened the store afresh and answers.
        again = json.loads(get(served, PEOPLE).body)["results"]["bindings"]
        assert again == rows
    finally:
        served.stop()


# -- the process --------------------------------------------------------------------------


def test_other_host_is_warned_about_and_port_in_use_is_one_line(tmp_path: Path) -> None:
    served = start(["--host", "127.0.0.2"])
    try:
        assert "Warning: serving on 127.0.0.2" in served.announced
        port = served.base.rsplit(":", 1)[1]
        busy = subprocess.run(
            [*KGRAPH, "serve", "--host", "127.0.0.2", "--port", port],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert busy.returncode == 3
        assert busy.stderr.strip().splitlines()[-1].startswith("Error: cannot listen on 127.0.0.2")
        assert "Traceback" not in busy.stderr
    finally:
        served.stop()


def _busy_both_workers(served: Served) -> None:
    """Two queries at once: the second worker is forked on demand (one starts)."""
    slow = threading.Thread(target=lambda: get(served, SLOW))
    slow.start()
    time.sleep(0.5)
    assert get(served, COUNT).status == 200
    slow.join(30)


def test_stop_leaves_no_process_behind() -> None:
    served = start(["--workers", "2", "--threads", "1", "--timeout", "2"])
    _busy_both_workers(served)
    pid = served.process.pid
    children = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout.split()
    assert children  # the zygote
    workers = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", children[0]], capture_output=True, text=True
    ).stdout.split()
    assert len(workers) >= 2
    served.process.send_signal(signal.SIGTERM)  # as a service manager stops it
    log = served.stop()
    assert "stopped" in log
    time.sleep(0.5)
    for child in [*children, *workers]:
        state = subprocess.run(["ps", "-o", "stat=", "-p", child], capture_output=True, text=True)
        assert state.stdout.strip() in ("", "Z")


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(todo.pop())], capture_output=True, text=True
        ).stdout.split()
        todo += [int(p) for p in out]
        found |= {int(p) for p in out}
    return found


def _listening_inode(port: int) -> str:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
            return fields[9]
    raise AssertionError(f"nothing listens on {port}")


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                found.add(target[8:-1])
    return found


def _running(pid: int) -> bool:
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True)
    return state.stdout.strip() not in ("", "Z")


def test_killed_server_leaves_no_process_and_frees_its_port() -> None:
    served = start(["--workers", "2", "--threads", "1", "--timeout", "2"])
    try:
        host, port = served.base.removeprefix("http://").rsplit(":", 1)
        _busy_both_workers(served)
        children = _descendants(served.process.pid)  # zygote, workers, the validation
        assert len(children) >= 3
        listener = _listening_inode(int(port))
        assert listener in _socket_inodes(served.process.pid)
        for child in children:
            assert listener not in _socket_inodes(child), "a child holds the listening socket"
        served.process.kill()  # SIGKILL: nothing of ours runs on the way out
        served.process.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_running(p) for p in children):
            time.sleep(0.2)
        assert not [p for p in children if _running(p)]
        with socket.socket() as again:  # no child kept the listening socket
            # SO_REUSEADDR passes over connections in TIME_WAIT, never over a listener.
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind((host, int(port)))
            again.listen()
    finally:
        served.stop()


# -- clients from outside the project ----------------------------------------------------


def test_sparqlwrapper_gets_the_rows_kgraph_query_gives(server: Served) -> None:
    from SPARQLWrapper import JSON, POST, XML, SPARQLWrapper

    prefixes = "PREFIX kg: <https://w3id.org/kgraph/ontology#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
    for method in ("GET", POST):
        client = SPARQLWrapper(server.url("/sparql"))
        client.setMethod(method)
        client.setQuery(prefixes + PEOPLE)
        client.setReturnFormat(JSON)
        result = client.query().convert()
        rows = [(b["person"]["value"], b["name"]["value"]) for b in result["results"]["bindings"]]
        assert rows == people_rows_from_cli()
    client = SPARQLWrapper(server.url("/sparql"))
    client.setQuery(prefixes + "ASK { ?p a kg:Person }")
    client.setReturnFormat(JSON)
    assert client.query().convert()["boolean"] is True
    client.setQuery(prefixes + CONSTRUCT)
    client.setReturnFormat(XML)  # RDF/XML for a graph: SPARQLWrapper converts it to rdflib
    graph = client.queryAndConvert()
    assert isinstance(graph, rdflib.Graph) and len(graph) >= 10


def test_rdflib_sparqlstore_gets_the_rows_kgraph_query_gives(server: Served) -> None:
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    store = SPARQLStore(server.url("/sparql"), returnFormat="xml")
    graph = rdflib.Graph(store=store)
    prefixes = "PREFIX kg: <https://w3id.org/kgraph/ontology#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
    rows = [(str(r.person), str(r.name)) for r in graph.query(prefixes + PEOPLE)]
    assert rows == people_rows_from_cli()
    with pytest.raises(Exception, match="wrong formulating"):  # its wording of a 400
        list(graph.query("SELECT * WHERE { SERVICE <http://example.org/s> { ?s ?p ?o } }"))


def test_free_port_helper_really_listens_on_loopback_only(server: Served) -> None:
    host, port = server.base.removeprefix("http://").rsplit(":", 1)
    assert host == "127.0.0.1"
    with socket.create_connection((host, int(port)), timeout=5):
        pass


# -- the page is offline ---------------------------------------------------------------


def test_pages_load_only_from_this_server_under_a_strict_csp(server: Served) -> None:
    from html.parser import HTMLParser

    class Sources(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[str] = []
            self.inline_scripts = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = dict(attrs)
            if tag == "script":
                if values.get("src"):
                    self.found.append(values["src"] or "")
                else:
                    self.inline_scripts += 1
            if tag == "link" and values.get("href"):
                self.found.append(values["href"] or "")

    for path in (
        "/",
        "/q/officials-and-posts",
        "/entity?iri=kgd:ChoeSonHui",
        "/timeline",
        "/network?entity=kgd:ChoeSonHui",
        "/editor",
    ):
        page = request(server.url(path))
        assert page.status == 200, path
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp
        parser = Sources()
        parser.feed(page.text)
        assert parser.inline_scripts == 0
        assert parser.found and all(s.startswith("/static/") for s in parser.found), parser.found
        for source in parser.found:
            assert request(server.url(source)).status == 200, source
    vendor = Path(__file__).resolve().parent.parent / "src/kgraph/server/static/vendor"
    for package in vendor.iterdir():
        assert (package / "LICENSE").is_file(), package


# -- cases of the W3C SPARQL 1.1 Protocol test suite (https://w3c.github.io/rdf-tests/sparql/sparql11/protocol/)


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "headers", "status"),
    [
        ("bad_query_method", "PUT", "/sparql?query=ASK%7B%7D", None, {}, 405),
        (
            "bad_multiple_queries",
            "GET",
            "/sparql?query=ASK%7B%7D&query=SELECT%20*%7B%7D",
            None,
            {},
            400,
        ),
        (
            "bad_query_wrong_media_type",
            "POST",
            "/sparql",
            b"ASK {}",
            {"Content-Type": "text/plain"},
            415,
        ),
        (
            "bad_query_missing_form_type",
            "POST",
            "/sparql",
            b"query=ASK%20%7B%7D",
            {"Content-Type": ""},
            415,
        ),
        ("bad_query_syntax", "GET", "/sparql?query=ASK%20%7B", None, {}, 400),
        ("bad_update_get", "GET", "/sparql?update=CLEAR%20ALL", None, {}, 400),
        (
            "bad_multiple_updates",
            "POST",
            "/sparql",
            b"update=CLEAR%20ALL&update=CLEAR%20ALL",
            {"Content-Type": "application/x-www-form-urlencoded"},
            400,
        ),
        (
            "bad_update_dataset_conflict",
            "POST",
            "/sparql?using-graph-uri=http://x/",
            b"CLEAR ALL",
            {"Content-Type": "application/sparql-update"},
            400,
        ),
    ],
)
def test_w3c_protocol_negative_cases(
    server: Served,
    name: str,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    status: int,
) -> None:
    answer = request(server.url(path), method=method, data=body, headers=headers)
    assert one_line_refusal(answer, status), name


def test_w3c_query_dataset_full_and_multiple_dataset(server: Served) -> None:
    # query_dataset_full: FROM and FROM NAMED in the query; query_multiple_dataset: two
    # default-graph-uri, whose union is the default graph.
    full = get(
        server,
        f"SELECT (COUNT(*) AS ?n) FROM <{ARTICLE}> FROM NAMED <{BACKGROUND}> "
        f"WHERE {{ {{ ?s ?p ?o }} UNION {{ GRAPH <{BACKGROUND}> {{ ?s ?p ?o }} }} }}",
    )
    sizes = json.loads(
        get(server, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g").body
    )
    size = {b["g"]["value"]: int(b["n"]["value"]) for b in sizes["results"]["bindings"]}
    assert int(json.loads(full.body)["results"]["bindings"][0]["n"]["value"]) == (
        size[ARTICLE] + size[BACKGROUND]
    )
    url = server.url(
        "/sparql?"
        + urlencode(
            [("query", COUNT), ("default-graph-uri", ARTICLE), ("default-graph-uri", BACKGROUND)]
        )
    )
    both = int(json.loads(request(url).body)["results"]["bindings"][0]["n"]["value"])
    only = int(
        json.loads(get(server, COUNT, **{"default-graph-uri": ARTICLE}).body)["results"][
            "bindings"
        ][0]["n"]["value"]
    )
    assert only == size[ARTICLE] < both <= size[ARTICLE] + size[BACKGROUND]
