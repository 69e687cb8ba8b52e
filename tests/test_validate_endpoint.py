"""`kgraph validate --endpoint URL`: the compiled queries run in a real store.

The shipped graph, and the shipped graph plus injected violations, are pushed to a real
`oxigraph serve --union-default-graph` (and to Virtuoso, whose default graph is the union
of its graphs) started on 127.0.0.1 by tests/stores.py; the remote report must be the
local one byte for byte (text, Turtle and JSON, exit code included). Then the failures:
a store that is not there, one that does not answer in time, an empty default graph,
shapes the compiler leaves to pySHACL. And the terminal progress line, through a pty.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT, Run, invoke
from kgraph.errors import ExitStatus
from stores import OxigraphServer, Virtuoso

BAD = """\
@prefix kg: <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

kgd:force-X a kg:ArmedForce ;
    kg:armedForceOf kgd:nowhere, kgd:elsewhere .
kgd:attribution-X a kg:Attribution ;
    prov:hadRole "spokesperson" .
kgd:batch-X a kg:Batch ;
    kg:sha256 "not a digest" ;
    kg:tripleCount "-3"^^xsd:integer .
"""

FORMATS = ("text", "turtle", "json")


def copy_project(target: Path, *, bad: bool) -> Path:
    for name in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("batches", ".*"))
    if bad:
        (target / "data" / "injected.ttl").write_text(BAD, encoding="utf-8")
    return target


def kg(project: Path, *args: str) -> Run:
    return invoke(["--project", str(project), *args])


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("validate-endpoint")
    return {
        "shipped": copy_project(base / "shipped", bad=False),
        "injected": copy_project(base / "injected", bad=True),
    }


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OxigraphServer]:
    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph") / "data", union_default_graph=True)
    yield server
    server.stop()


def push(project: Path, url: str, query_endpoint: str) -> Run:
    return kg(project, "-q", "push", url, "--query-endpoint", query_endpoint)


def clear(endpoint: str) -> None:
    import urllib.request

    update = endpoint.rsplit("/", 1)[0] + "/update"
    req = urllib.request.Request(
        update,
        data=b"CLEAR ALL",
        method="POST",
        headers={"Content-Type": "application/sparql-update"},
    )
    urllib.request.urlopen(req, timeout=30).close()


def same_reports(project: Path, endpoint: str) -> list[Run]:
    runs = []
    for fmt in FORMATS:
        local = kg(project, "validate", "-f", fmt)
        remote = kg(project, "validate", "-f", fmt, "--endpoint", endpoint)
        assert remote.stderr == ""
        assert remote.stdout == local.stdout, fmt
        assert remote.exit_code == local.exit_code
        runs.append(remote)
    return runs


@pytest.mark.parametrize("which", ["shipped", "injected"])
def test_oxigraph_report_is_the_local_one(
    which: str, projects: dict[str, Path], oxigraph: OxigraphServer
) -> None:
    project = projects[which]
    clear(oxigraph.query_endpoint)
    assert push(project, oxigraph.push_url, oxigraph.query_endpoint).exit_code == 0
    text, turtle, _ = same_reports(project, oxigraph.query_endpoint)
    if which == "shipped":
        assert text.exit_code == 0 and text.stdout.startswith("conforms: 0 violations")
    else:
        # every injected problem is found, located in the injected file
        assert text.exit_code == int(ExitStatus.FINDINGS)
        for node in ("kgd:force-X", "kgd:attribution-X", "kgd:batch-X"):
            assert f"\n{node}\n" in text.stdout
        assert "data/injected.ttl:" in text.stdout
        assert "sh:conforms false" in turtle.stdout


def test_virtuoso_report_is_the_local_one(
    projects: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    store = Virtuoso(tmp_path_factory.mktemp("virtuoso"), max_rows=1_000_000)
    try:
        project = projects["injected"]
        # Virtuoso rewrites the shipped xsd:duration, so push's content check exits 3;
        # the graphs are in the store all the same.
        pushed = push(project, store.push_url, store.query_endpoint)
        assert pushed.exit_code in (0, int(ExitStatus.REMOTE_OR_IO)), pushed.stderr
        text, _, _ = same_reports(project, store.query_endpoint)
        assert text.exit_code == int(ExitStatus.FINDINGS)
    finally:
        store.stop()


def test_unreachable_store_is_one_line_exit_3(projects: dict[str, Path]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    run = kg(projects["shipped"], "validate", "--endpoint", f"http://127.0.0.1:{port}/query")
    assert run.exit_code == int(ExitStatus.REMOTE_OR_IO)
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("Error: ")
    assert f"127.0.0.1:{port}" in run.stderr


def test_store_that_does_not_answer_in_time_is_one_line_exit_3(
    projects: dict[str, Path],
) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    held: list[socket.socket] = []

    def accept() -> None:  # accepts, reads nothing, answers nothing
        try:
            while True:
                held.append(server.accept()[0])
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    try:
        run = kg(
            projects["shipped"],
            "--timeout",
            "1",
            "validate",
            "--endpoint",
            f"http://127.0.0.1:{port}/query",
        )
    finally:
        server.close()
        for conn in held:
            conn.close()
    assert run.exit_code == int(ExitStatus.REMOTE_OR_IO)
    assert run.stderr.count("\n") == 1 and "--timeout" in run.stderr


def test_empty_default_graph_is_refused_not_a_verdict(
    projects: dict[str, Path], tmp_path: Path
) -> None:
    # Oxigraph without --union-default-graph: the pushed graphs are not in its default graph
    server = OxigraphServer(tmp_path / "plain")
    try:
        project = projects["shipped"]
        assert push(project, server.push_url, server.query_endpoint).exit_code == 0
        run = kg(project, "validate", "--endpoint", server.query_endpoint)
    finally:
        server.stop()
    assert run.exit_code == int(ExitStatus.REMOTE_OR_IO)
    assert "empty default graph" in run.stderr and "--union-default-graph" in run.stderr
    assert run.stdout == ""


def test_shapes_left_to_pyshacl_are_refused(tmp_path: Path, oxigraph: OxigraphServer) -> None:
    project = copy_project(tmp_path / "p", bad=False)
    shapes = project / "ontology" / "shapes.ttl"
    # a recursive shape: the compiler leaves it to pySHACL, which needs the graph here
    shapes.write_text(
        shapes.read_text(encoding="utf-8")
        + """
kgs:LoopShape a sh:NodeShape ;
    sh:targetClass kg:ArmedForce ;
    sh:property [ sh:path kg:armedForceOf ; sh:node kgs:LoopShape ] .
""",
        encoding="utf-8",
    )
    run = kg(project, "validate", "--endpoint", oxigraph.query_endpoint)
    assert run.exit_code == int(ExitStatus.BAD_INPUT)
    assert run.stderr.count("\n") == 1
    assert "kgs:LoopShape" in run.stderr and "pySHACL" in run.stderr
    assert run.stdout == ""


def test_endpoint_takes_no_files(projects: dict[str, Path], oxigraph: OxigraphServer) -> None:
    project = projects["shipped"]
    extra = project / "data" / "article2.ttl"
    run = kg(project, "validate", str(extra), "--endpoint", oxigraph.query_endpoint)
    assert run.exit_code == int(ExitStatus.BAD_INPUT)
    assert "--endpoint" in run.stderr and run.stderr.count("\n") == 1


# -- progress on a terminal ------------------------------------------------------------------


def run_in_pty(project: Path, *args: str) -> tuple[int, bytes, bytes]:
    """`kgraph --project P ARGS` with stderr on a pty (stdout a pipe): (code, out, err)."""
    leader, follower = pty.openpty()
    env = dict(os.environ)
    process = subprocess.Popen(
        [sys.executable, "-m", "kgraph", "--project", str(project), *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    err = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            process.kill()
            raise AssertionError("no output within 120 s")
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the other end closed (Linux: EIO)
            break
        if not chunk:
            break
        err += chunk
    out = process.stdout.read() if process.stdout else b""
    code = process.wait(timeout=60)
    os.close(leader)
    return code, out, err


@pytest.mark.parametrize("remote", [False, True])
def test_progress_line_on_a_terminal(
    remote: bool, projects: dict[str, Path], oxigraph: OxigraphServer
) -> None:
    project = projects["shipped"]
    extra: tuple[str, ...] = ()
    if remote:
        clear(oxigraph.query_endpoint)
        assert push(project, oxigraph.push_url, oxigraph.query_endpoint).exit_code == 0
        extra = ("--endpoint", oxigraph.query_endpoint)
    code, out, err = run_in_pty(project, "validate", *extra)
    assert code == 0 and out.startswith(b"conforms: 0 violations")
    text = err.decode()
    assert "\r" in text and "validating: " in text
    # the last state drawn is the total, and the line is erased at the end
    drawn = [part for part in text.split("\r") if part.startswith("validating: ")]
    done, total = drawn[-1].split()[1].split("/")
    assert done == total and int(total) > 10
    assert text.endswith("\r\x1b[K")
    # the report itself never carries the progress line
    assert b"validating" not in out


def test_no_progress_when_stderr_is_not_a_terminal(projects: dict[str, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kgraph", "--project", str(projects["shipped"]), "validate"],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0
    assert done.stderr == b""


def test_quiet_shows_no_progress_on_a_terminal(projects: dict[str, Path]) -> None:
    code, _, err = run_in_pty(projects["shipped"], "-q", "validate")
    assert code == 0 and b"validating" not in err
