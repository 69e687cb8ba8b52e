"""Bounds on the work outside the worker (issue 15: finding 11 and the Low findings).

Files that are not regular files (a FIFO, /dev/zero) in every place kgraph reads, remote
stores that trickle or flood their answers, option values that would switch a limit off,
query headers that broke the registry, and terminal escapes in output. A command that
could hang on the old code runs in a process of its own with a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Run
from kgraph.errors import ExitStatus
from servers import Loopback, QuietHandler

FIFO_HANG = 60  # seconds a subprocess may take before a hang fails the test


def run_process(project: Path, *args: str) -> Run:
    """The real `kgraph` in a process of its own: on the old code these hang."""
    proc = subprocess.run(
        [sys.executable, "-m", "kgraph", "--project", str(project), *args],
        capture_output=True,
        text=True,
        timeout=FIFO_HANG,
        stdin=subprocess.DEVNULL,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, proc.stdout.encode())


def assert_one_error(run: Run, status: ExitStatus, *words: str) -> None:
    assert run.exit_code == status, (run.exit_code, run.stdout[-2000:], run.stderr[-2000:])
    assert run.stderr.startswith("Error: "), run.stderr
    assert run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    for word in words:
        assert word in run.stderr, (word, run.stderr)


# -- files that are not regular files ----------------------------------------------------


def test_fifo_query_file_is_named_and_other_queries_still_list(project: Path) -> None:
    os.mkfifo(project / "queries" / "stuck.rq")
    listed = run_process(project, "queries")
    assert listed.exit_code == ExitStatus.BAD_INPUT, listed
    assert listed.stderr.count("\n") == 1, listed.stderr
    assert "stuck.rq" in listed.stderr and "FIFO" in listed.stderr, listed.stderr
    assert "claims-by-source" in listed.stdout
    named = run_process(project, "query", "stuck")
    assert_one_error(named, ExitStatus.BAD_INPUT, "stuck.rq", "FIFO")
    other = run_process(project, "query", "claims-by-source", "-f", "csv")
    assert other.exit_code == ExitStatus.OK, other.stderr


def test_fifo_batch_file_is_refused_by_batches_and_remove(project: Path) -> None:
    batches = project / "data" / "batches"
    batches.mkdir(parents=True, exist_ok=True)
    os.mkfifo(batches / "20240101T000000Z-0123456789ab.ttl")
    for args in (("batches",), ("remove", "0123456789ab")):
        result = run_process(project, *args)
        assert_one_error(result, ExitStatus.BAD_INPUT, "20240101T000000Z-0123456789ab.ttl", "FIFO")


def test_fifo_data_file_is_refused(project: Path) -> None:
    os.mkfifo(project / "data" / "stuck.ttl")
    result = run_process(project, "--work-timeout", "20", "stats")
    assert_one_error(result, ExitStatus.BAD_INPUT, "stuck.ttl", "FIFO")


def test_fifo_shapes_file_is_refused(project: Path) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    shapes.unlink()
    os.mkfifo(shapes)
    result = run_process(project, "--work-timeout", "20", "validate")
    assert_one_error(result, ExitStatus.BAD_INPUT, "shapes.ttl", "FIFO")


def test_fifo_input_file_is_refused_with_a_hint_to_use_stdin(project: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "input.nt"
    os.mkfifo(fifo)
    result = run_process(project, "--work-timeout", "20", "convert", str(fifo))
    assert_one_error(result, ExitStatus.BAD_INPUT, str(fifo), "FIFO", "give - to read")


def test_device_input_is_refused_not_read_past_max_input(project: Path) -> None:
    # The old code took the device's size (0) for its length and read /dev/zero until the
    # memory limit stopped it.
    result = run_process(
        project,
        "--max-memory",
        "300",
        "--max-input",
        "1",
        "convert",
        "--input-format",
        "nt",
        "/dev/zero",
    )
    assert_one_error(result, ExitStatus.BAD_INPUT, "/dev/zero", "character device")


def test_device_behind_a_query_name_is_refused(project: Path) -> None:
    # Refused at the link (the project's files are never links), before any read.
    (project / "queries" / "zero.rq").symlink_to("/dev/zero")
    result = run_process(project, "--max-memory", "300", "query", "zero")
    assert_one_error(result, ExitStatus.BAD_INPUT, "zero.rq", "symbolic link")


def test_device_as_a_query_file_is_refused(project: Path) -> None:
    result = run_process(project, "--max-memory", "300", "query", "/dev/zero")
    assert_one_error(result, ExitStatus.BAD_INPUT, "/dev/zero", "character device")


# -- query headers --------------------------------------------------------------------------


BAD_HEADERS = {
    "columns-not-a-list": ("#+ columns: 5", 3, "columns must be a list"),
    "questions-not-a-list": ("#+ questions: 7", 3, "questions must be a list"),
    "yaml-syntax": ("#+ summary: [a", 3, "bad #+ header"),
    "nested-too-deep": ("#+ summary: " + "[" * 5000, 2, "nested too deeply"),
    "params-a-list": ("#+ params: [a]", 3, "params must be a mapping"),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_bad_query_header_is_one_line_and_breaks_no_other_query(
    case: str, project: Path, kgraph: Callable[..., Run]
) -> None:
    entry, line, words = BAD_HEADERS[case]
    # a plain comment first: the error's line is the file's line, not the header's
    (project / "queries" / "broken.rq").write_text(
        f"# written by hand\n#+ description: a query\n{entry}\nSELECT * WHERE {{ ?s ?p ?o }}\n"
    )
    where = f"broken.rq:{line}:"
    listed = kgraph("queries")
    assert listed.exit_code == ExitStatus.BAD_INPUT
    assert listed.stderr.count("\n") == 1 and where in listed.stderr, listed.stderr
    assert words in listed.stderr
    assert "claims-by-source" in listed.stdout
    assert_one_error(kgraph("query", "broken"), ExitStatus.BAD_INPUT, where, words)
    assert kgraph("query", "claims-by-source", "-f", "csv").exit_code == ExitStatus.OK


# -- option values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("--timeout", "nan", "queries"),
        ("--work-timeout", "nan", "queries"),
        ("--timeout", "-1", "queries"),
        ("--max-memory", "-1", "queries"),
        ("--max-memory", "0", "queries"),
        ("--max-depth", "0", "queries"),
        ("add", "--wait", "nan", "missing.ttl"),
        ("remove", "--wait", "NaN", "someid"),
        ("push", "--http-timeout", "nan", "--dry-run", "http://127.0.0.1:9/store"),
    ],
    ids=lambda a: " ".join(a),
)
def test_bad_option_value_is_a_usage_error(
    args: tuple[str, ...], kgraph: Callable[..., Run]
) -> None:
    result = kgraph(*args)
    option = next(a for a in args if a.startswith("--"))
    assert result.exit_code == ExitStatus.BAD_INPUT, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"Invalid value for '{option}'" in errors[0], result.stderr
    assert "Traceback" not in result.stderr


# -- export -o ------------------------------------------------------------------------------


def test_export_into_a_missing_folder_is_refused_and_makes_no_folder(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    # As cp and curl -o: the folder must exist (it was made, and left behind on failure).
    target = tmp_path / "new" / "folder" / "all.nq"
    result = kgraph("export", "-o", str(target))
    assert_one_error(result, ExitStatus.BAD_INPUT, str(target), "does not exist")
    assert not (tmp_path / "new").exists()


def test_export_on_a_full_disk_exits_3_and_leaves_nothing(
    kgraph: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyoxigraph as ox

    real = ox.serialize

    def onto_full_device(items: Any, output: Any = None, *args: Any, **kwargs: Any) -> Any:
        if output is None:  # serialised into memory (the compiled-sheet cache's entry)
            return real(items, *args, **kwargs)
        # Oxigraph writes for real, into a device that is always full (ENOSPC)
        with open("/dev/full", "wb") as full:
            return real(items, full, *args, **kwargs)

    monkeypatch.setattr(ox, "serialize", onto_full_device)  # the forked worker inherits it
    monkeypatch.setenv("KGRAPH_SANDBOX", "0")  # the confined worker may not open /dev/full
    out = tmp_path / "out"
    out.mkdir()
    result = kgraph("export", "-o", str(out / "all.nq"))
    assert_one_error(result, ExitStatus.REMOTE_OR_IO, "no space left", "all.nq")
    assert list(out.iterdir()) == []


# -- a token too long for the parser -----------------------------------------------------


def test_turtle_token_over_16_mib_names_the_fixed_limit(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    big = tmp_path / "big.ttl"
    big.write_text('<http://e/a> <http://e/b> "' + "x" * (17 * 1024 * 1024) + '" .\n')
    result = kgraph("convert", str(big))
    assert_one_error(result, ExitStatus.LIMIT, "big.ttl", "16 MiB", "no option raises it")
    assert "--max-memory" not in result.stderr


# -- terminal escapes -------------------------------------------------------------------------

ESC = "\x1b]0;owned\x07\x1b[31m"


def test_error_line_escapes_control_characters(kgraph: Callable[..., Run], tmp_path: Path) -> None:
    result = kgraph("convert", str(tmp_path / f"{ESC}.ttl"))
    assert_one_error(result, ExitStatus.BAD_INPUT, "no such file", "\\x1b]0;owned\\x07")
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr


def test_table_cells_escape_control_characters(project: Path, kgraph: Callable[..., Run]) -> None:
    (project / "data" / "escapes.nt").write_text(
        '<http://example.org/a> <http://example.org/says> "red\\u001B[31malert\\u0007" .\n'
    )
    # a check whose finding quotes the value: the check report is a plain table too
    (project / "queries" / "checks" / "says-violation.rq").write_text(
        "#+ summary: Things that say something\n#+ level: WARN\n"
        "SELECT ?entity ?property ?value WHERE {\n"
        "  ?entity <http://example.org/says> ?value BIND(<http://example.org/says> AS ?property)\n"
        "}\n"
    )
    query = kgraph("query", "-e", "SELECT ?o WHERE { ?s <http://example.org/says> ?o }")
    assert query.exit_code == ExitStatus.OK, query.stderr
    check = kgraph("check")
    for out in (query.stdout, check.stdout):
        assert "red\\x1b[31malert\\x07" in out, out
        assert "\x1b" not in out and "\x07" not in out


# -- -f is checked before the query runs ---------------------------------------------------


def test_format_mismatch_is_refused_before_the_query_runs(kgraph: Callable[..., Run]) -> None:
    # Too slow to finish in 1 s: the old code ran it (and timed out) before looking at -f.
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    result = kgraph("--timeout", "1", "query", "-e", slow, "-f", "turtle")
    assert_one_error(result, ExitStatus.BAD_INPUT, "a SELECT result is a table")


# -- remote stores that trickle or flood -------------------------------------------------


class Stub:
    """An HTTP server on 127.0.0.1 in a thread; ``answer(handler, method, body)`` replies."""

    def __init__(self, answer: Callable[[Any, str, bytes], None]) -> None:
        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    answer(self, self.command, body)  # kgraph may give up, as it should
                self.close_connection = True

            do_GET = do_PUT = do_POST = _any

        self.loopback = Loopback(Handler)
        self.url = self.loopback.base

    def __enter__(self) -> Stub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.loopback.close()


def trickle(handler: Any, data: bytes, pause: float = 0.1) -> None:
    """Send ``data`` a byte at a time: every byte comes well within any socket timeout."""
    for byte in data:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(pause)


def http_answer(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


def test_query_endpoint_trickling_its_answer_is_stopped_at_timeout(
    kgraph: Callable[..., Run],
) -> None:
    answer = json.dumps({"head": {}, "boolean": True}).encode() + b" " * 60

    def slow(handler: Any, method: str, body: bytes) -> None:
        trickle(handler, http_answer("200 OK", answer, "application/sparql-results+json"))

    with Stub(slow) as stub:
        result = kgraph(
            "--timeout", "1", "query", "--endpoint", stub.url + "/query", "-e", "ASK { ?s ?p ?o }"
        )
    assert_one_error(result, ExitStatus.REMOTE_OR_IO, "within 1 s (--timeout)")


def _graph_of(body: bytes) -> str:
    from urllib.parse import parse_qs

    query = parse_qs(body.decode())["query"][0]
    found = re.search(r"GRAPH <([^>]+)>", query)
    assert found, query
    return found.group(1)


def test_push_to_a_store_trickling_its_replies_is_stopped_at_http_timeout(
    kgraph: Callable[..., Run],
) -> None:
    def slow(handler: Any, method: str, body: bytes) -> None:
        trickle(handler, http_answer("204 No Content", b""))

    with Stub(slow) as stub:
        result = kgraph("push", stub.url + "/store", "--http-timeout", "1")
    assert_one_error(result, ExitStatus.REMOTE_OR_IO, "within 1 s (--http-timeout)")


def test_push_count_answer_is_capped(kgraph: Callable[..., Run]) -> None:
    counts: dict[str, int] = {}

    def store(handler: Any, method: str, body: bytes) -> None:
        if method in ("PUT", "POST") and "graph=" in (handler.path or ""):
            from urllib.parse import parse_qs, urlsplit

            graph = parse_qs(urlsplit(handler.path).query)["graph"][0]
            counts[graph] = (0 if method == "PUT" else counts.get(graph, 0)) + body.count(b"\n")
            handler.wfile.write(http_answer("204 No Content", b""))
            return
        # the count query: the right number, padded with 4 MB of valid JSON whitespace
        n = counts.get(_graph_of(body), 0)
        count = {
            "head": {"vars": ["n"]},
            "results": {"bindings": [{"n": {"type": "literal", "value": str(n)}}]},
        }
        text = json.dumps(count).encode()
        handler.wfile.write(http_answer("200 OK", text[:-1] + b" " * (4 << 20) + text[-1:]))

    with Stub(store) as stub:
        result = kgraph("push", stub.url + "/store")
    assert_one_error(
        result, ExitStatus.REMOTE_OR_IO, "larger than 64 KB", "while counting the pushed graphs"
    )
    assert counts  # the graphs themselves were sent


def test_store_error_with_terminal_escapes_is_escaped(kgraph: Callable[..., Run]) -> None:
    def failing(handler: Any, method: str, body: bytes) -> None:
        handler.wfile.write(http_answer("500 Oops", f"{ESC} broken".encode(), "text/plain"))

    with Stub(failing) as stub:
        result = kgraph("query", "--endpoint", stub.url + "/query", "-e", "ASK { ?s ?p ?o }")
    assert_one_error(result, ExitStatus.REMOTE_OR_IO, "\\x1b]0;owned\\x07", "broken")
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr


@pytest.mark.parametrize("via", ["file", "stdin"])
def test_small_input_reads_within_a_modest_memory_limit(
    project: Path, tmp_path: Path, via: str
) -> None:
    """Reading a file or standard input must not allocate the whole --max-input (1 GB) up
    front: with --max-memory 300 a three-line file failed as 'memory limit hit'."""
    data = "<urn:a> <urn:b> <urn:c> .\n"
    path = tmp_path / "small.nt"
    path.write_text(data)
    args = ["convert", str(path)] if via == "file" else ["convert", "-", "--input-format", "nt"]
    proc = subprocess.run(
        [sys.executable, "-m", "kgraph", "--project", str(project), "--max-memory", "300", *args],
        input=data,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == ExitStatus.OK, proc.stderr
    assert proc.stdout == data


# -- a memory limit too small to load the engine ----------------------------------------


@pytest.mark.parametrize("megabytes", ["1", "20"])
def test_limit_too_small_for_the_engine_is_the_memory_limit(project: Path, megabytes: str) -> None:
    # Under so small an address space the loader cannot map pyoxigraph's library (an
    # ImportError, before any MemoryError could be raised): that is the limit, not a bug.
    result = run_process(project, "--max-memory", megabytes, "query", "-e", "ASK {}")
    assert_one_error(result, ExitStatus.LIMIT, f"memory limit of {megabytes} MB", "--max-memory")
    assert "internal error" not in result.stderr
