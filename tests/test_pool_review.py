"""A second reading of the server's query pool (src/kgraph/server/pool.py) and its callers:
each test reproduces a defect that reading found, against the pool directly or a real
`kgraph serve` on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kgraph.server.pool import Busy, Pool, Stopped
from serving import request, start

KGRAPH = [sys.executable, "-m", "kgraph"]
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


def _load() -> tuple[dict[str, Any], dict[str, int]]:
    return {}, {"graphs": 0}


def _handle(state: dict[str, Any], request: tuple[str, float]) -> int:
    if request[0] == "crash":
        os._exit(70)  # as a segfault in a query
    time.sleep(request[1])
    return os.getpid()


def _slow_aside(state: dict[str, Any]) -> str:
    time.sleep(120)  # a long validation
    return "done"


def _children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=,stat=", "--ppid", str(pid)], capture_output=True, text=True
    ).stdout
    return [int(p) for p, stat in (line.split() for line in out.splitlines()) if "Z" not in stat]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


@pytest.fixture
def leftovers() -> Iterator[list[int]]:
    """Process ids a test saw; any still alive at its end is killed (and fails no other)."""
    seen: list[int] = []
    yield seen
    for pid in seen:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_close_stops_the_zygote_and_all_its_children_at_once(leftovers: list[int]) -> None:
    # The pool's receiving thread sat in a blocking recv on the control socket: close()
    # then released the file descriptor but not the socket, so the zygote never saw the
    # end, close() waited its 5 s and SIGKILLed the zygote, whose workers and the aside
    # (the overview's validation) lived on.
    pool = Pool(_load, _handle, size=2, memory_limit=None, load_timeout=30, aside=_slow_aside)
    pool.start()
    pool.begin()
    assert pool.run(("sleep", 0), timeout=10, wait=10) in pool.pids()
    zygote = pool._zygote
    assert _wait_for(lambda: len(_children(zygote)) >= 2, 10)  # a worker and the aside
    children = _children(zygote)
    leftovers.extend(children)
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 3
    assert _wait_for(lambda: not any(_alive(pid) for pid in children), 5)


@pytest.mark.server
@pytest.mark.parametrize(
    ("option", "value"),
    [("--timeout", "nan"), ("--timeout", "1e300"), ("--queue-wait", "nan"), ("--queue-wait", "-1")],
)
def test_serve_refuses_a_deadline_that_is_no_deadline(option: str, value: str) -> None:
    # A plain float let these through: with --timeout nan every query was answered "took
    # longer than nan s" and its worker replaced; 1e300 overflowed the wait (a 500 and a
    # traceback per query); a nan or negative --queue-wait refused every request as busy.
    try:
        served = start([option, value, "--in-memory"])
    except RuntimeError as err:
        said = str(err)
    else:
        served.stop()
        pytest.fail(f"kgraph serve {option} {value} started")
    assert f"Invalid value for '{option}'" in said
    assert "Traceback" not in said


def _cannot_start(state: dict[str, Any]) -> dict[str, Any]:
    os._exit(70)  # as a worker whose store will not open under the memory limit


def test_workers_that_die_as_they_start_are_not_forked_again_and_again() -> None:
    # `kgraph --max-memory 150 serve` (an on-disk store): RocksDB cannot start its threads
    # under the limit, each worker died as it started, and its reader forked the next at
    # once: about 130 processes a second, for ever, each request answered "crashed".
    pool = Pool(
        _load, _handle, size=2, memory_limit=None, load_timeout=30, on_worker_start=_cannot_start
    )
    pool.start()
    pool.begin()
    try:
        time.sleep(2)
        with pytest.raises((Busy, Stopped)):
            pool.run(("sleep", 0), timeout=5, wait=1)
        forked = pool.replaced
        time.sleep(1)
        assert forked <= 5 and pool.replaced == forked
        assert not pool.alive()  # the server then says the workers are gone
    finally:
        pool.close()


def test_queries_that_crash_their_worker_again_and_again_never_stop_the_pool() -> None:
    # A worker that was up dies with its query: that is the query's doing, and the next
    # worker is forked (only workers dying before they are up make the pool give up).
    pool = Pool(_load, _handle, size=2, memory_limit=None, load_timeout=30)
    pool.start()
    pool.begin()
    try:
        for _ in range(5):
            with pytest.raises(Stopped, match="crash"):
                pool.run(("crash", 0), timeout=10, wait=10)
        assert pool.run(("sleep", 0), timeout=10, wait=10) in pool.pids()
        assert pool.alive()
    finally:
        pool.close()


def _dying_aside(state: dict[str, Any]) -> str:
    os._exit(70)  # as the validation's process out of memory (or a native abort)


def _aside_outcome(aside: Any, load_timeout: float) -> tuple[list[Any], float, Pool]:
    """What ``on_aside`` got within 20 s, after how long; the pool, still open."""
    got: list[Any] = []
    pool = Pool(
        _load,
        _handle,
        size=1,
        memory_limit=None,
        load_timeout=load_timeout,
        aside=aside,
        on_aside=got.append,
    )
    started = time.monotonic()
    pool.start()
    pool.begin()
    _wait_for(lambda: bool(got), 20)
    return got, time.monotonic() - started, pool


def test_an_aside_that_dies_is_reported_not_awaited_for_ever() -> None:
    # Its result never came, and the overview said "Validation is running…" for the
    # server's whole life.
    got, _, pool = _aside_outcome(_dying_aside, 30)
    try:
        assert len(got) == 1 and isinstance(got[0], Stopped) and str(got[0]) == "crash"
        assert pool.run(("sleep", 0), timeout=10, wait=10) in pool.pids()
    finally:
        pool.close()


def test_an_aside_past_the_work_timeout_is_stopped_and_reported(leftovers: list[int]) -> None:
    # The validation had no deadline in the server (`kgraph validate` has --work-timeout):
    # a heavy shapes file kept a CPU busy for as long as the server ran.
    got, took, pool = _aside_outcome(_slow_aside, 2)
    try:
        assert len(got) == 1 and isinstance(got[0], Stopped) and str(got[0]) == "timeout"
        assert took < 10
        assert _children(pool._zygote) == pool.pids()  # the aside is gone
    finally:
        leftovers.extend(c for c in _children(pool._zygote) if c not in pool.pids())
        pool.close()


def test_the_overview_says_a_stopped_validation_could_not_run() -> None:
    from kgraph.limits import Limits
    from kgraph.server import work
    from kgraph.server.backend import ValidationStatus

    limits = Limits(work_timeout=5)
    assert work.verdict(Stopped("timeout"), limits).error == (
        "it took longer than 5 s (the server's work timeout)"
    )
    assert "ended early" in work.verdict(Stopped("crash"), limits).error
    done = ValidationStatus(True, 0, 0, 3)
    assert work.verdict(done, limits) is done


def _mentioning(text: str) -> list[int]:
    """Processes whose command line holds ``text`` (a fork keeps its parent's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes() and _alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.server
def test_the_zygote_and_the_store_builder_die_with_the_server(
    project: Path, tmp_path: Path, leftovers: list[int]
) -> None:
    # Killed while it loads (SIGKILL, or close() giving up on the zygote after a load
    # timeout or Ctrl-C), the server left the zygote and the child building the store
    # running to the end of the build, holding the store's lock all along.
    with (project / "data" / "big.nt").open("w") as out:
        for n in range(60_000):
            out.write(f'<https://w3id.org/kgraph/data/x{n}> <{RDFS}comment> "number {n}" .\n')
    store = tmp_path / "review-store"
    server = subprocess.Popen(
        [*KGRAPH, "-q", "--project", str(project), "--store", str(store), "serve", "--port", "0"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The zygote (its child) has forked the builder (its grandchild): loading is under way.
        assert _wait_for(lambda: any(_children(z) for z in _children(server.pid)), 60)
        assert server.poll() is None
    finally:
        server.kill()
        server.wait()
    leftovers.extend(_mentioning(str(store)))
    assert _wait_for(lambda: not _mentioning(str(store)), 3), _mentioning(str(store))


def _slow_load() -> tuple[dict[str, Any], dict[str, int]]:
    time.sleep(60)
    return {}, {"graphs": 0}


def test_a_load_past_the_work_timeout_is_a_limit_and_stops_at_once() -> None:
    # It was a KGraphError (exit 2, bad input) and close() waited 5 s more for a zygote
    # that was still loading.
    from kgraph.errors import LimitError

    pool = Pool(_slow_load, _handle, size=1, memory_limit=None, load_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(LimitError, match=r"longer than 0\.5 s"):
        pool.start()
    assert time.monotonic() - started < 3


@pytest.mark.server
def test_serve_exits_4_when_loading_passes_the_work_timeout() -> None:
    done = subprocess.run(
        [*KGRAPH, "--work-timeout", "0.001", "serve", "--port", "0", "--in-memory"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 4, done.stderr
    assert done.stderr.splitlines() == [
        "Error: loading the graph took longer than 0.001 s; raise --work-timeout"
    ]


def test_a_request_that_cannot_be_sent_gives_its_slot_back() -> None:
    # It escaped run() between taking the slot and the wait: the slot (and the worker's
    # count) stayed taken for ever, and after `size` of them every request was Busy.
    pool = Pool(_load, _handle, size=2, memory_limit=None, load_timeout=30)
    pool.start()
    pool.begin()
    try:
        for _ in range(3):
            with pytest.raises(Exception, match="pickle"):
                pool.run(lambda: None, timeout=5, wait=1)  # no lambda pickles
        assert pool.run(("sleep", 0), timeout=5, wait=1) in pool.pids()
        assert pool._busy == 0
    finally:
        pool.close()


def _json_answer(state: dict[str, Any], request: dict[str, Any]) -> tuple[str, bytes]:
    """A SELECT answer in JSON of 3,000 rows (about 1.3 MB), distinct per query text."""
    rows = [
        {
            "s": {"type": "uri", "value": f"https://w3id.org/kgraph/data/e{n}"},
            "l": {"type": "literal", "value": f"{request['text']} {n}", "xml:lang": "en"},
        }
        for n in range(3_000)
    ]
    return "ok", json.dumps({"head": {"vars": ["s", "l"]}, "results": {"bindings": rows}}).encode()


def test_the_pages_answer_cache_holds_a_bounded_memory_once_parsed() -> None:
    # The budget counted the answers' bytes as received (64 MB), but what it keeps is
    # them parsed: about 6 times that (380 MB of Python objects in the HTTP process).
    import tracemalloc

    from kgraph.layout import Layout
    from kgraph.limits import Limits
    from kgraph.server.app import App, Settings

    pool = Pool(_load, _json_answer, size=2, memory_limit=None, load_timeout=30)
    pool.start()
    pool.begin()
    try:
        app = App(Settings(), pool, Layout(Path(".")), Limits(), {}, {})
        tracemalloc.start()
        one = app.select("first")
        parsed = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(one[1]) == 3_000
        for n in range(60):
            app.select(f"query {n}")
        held = len(app.answers) * parsed
        assert held < 128 * 1024 * 1024, f"{len(app.answers)} answers, {held >> 20} MB"
        assert app.answers  # and it still caches
    finally:
        pool.close()


def _raw_get(base: str, path: str, host: str) -> bytes:
    address, port = base.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=30) as conn:
        conn.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/turtle\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data


@pytest.mark.server
def test_a_malformed_host_header_is_bad_input_not_an_internal_error() -> None:
    # The service description made its endpoint IRI from the Host header as given: a
    # quote or a space in its port made NamedNode fail, a 500 and a traceback in the log
    # for each such request (the loopback check reads only the part before the colon).
    served = start(["--in-memory"])
    try:
        for host in ['127.0.0.1:1"', "127.0.0.1:80 x", "127.0.0.1:1>"]:
            answer = _raw_get(served.base, "/sparql", host)
            assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
            assert answer.endswith(b"\n") and b"Host" in answer.split(b"\r\n\r\n", 1)[1]
        assert _raw_get(served.base, "/sparql", served.base.removeprefix("http://")).startswith(
            b"HTTP/1.1 200 "
        )
    finally:
        log = served.stop()
    assert "Traceback" not in log


@pytest.mark.server
def test_an_asset_name_too_long_for_the_system_is_not_found() -> None:
    # resolve() raised ENAMETOOLONG: a 500 and a traceback in the log.
    served = start(["--in-memory"])
    try:
        answer = request(served.url("/static/" + "x" * 5000))
        assert answer.status == 404 and answer.text.count("\n") == 1
        assert len(answer.text) < 300
        assert request(served.url("/static/kgraph.css")).status == 200
    finally:
        log = served.stop()
    assert "Traceback" not in log


def _sleep_then(state: dict[str, Any], request: tuple[str, float]) -> int:
    time.sleep(request[1])
    if request[0] == "crash":
        os._exit(70)
    return os.getpid()


def test_a_drained_worker_that_then_crashes_is_replaced_once() -> None:
    # Drained by a timeout (counted, its replacement forked), it was counted again when
    # the overrunning query then crashed it: two replacements for one worker.
    pool = Pool(_load, _sleep_then, size=2, threads=2, memory_limit=None, load_timeout=30)
    pool.start()
    pool.begin()
    try:
        results: list[Any] = []

        def one(request: tuple[str, float], timeout: float) -> None:
            try:
                results.append(pool.run(request, timeout=timeout, wait=10))
            except Stopped as stop:
                results.append(str(stop))

        threads = [
            threading.Thread(target=one, args=(("crash", 1.5), 0.5)),
            threading.Thread(target=one, args=(("sleep", 4.0), 30)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(results) == ["crash", "timeout"]  # the other one went down with it
        assert pool.replaced == 1
        assert pool.run(("sleep", 0), timeout=10, wait=10) in pool.pids()
    finally:
        pool.close()


def _rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


@pytest.mark.server
def test_answers_held_for_clients_that_do_not_read_them_are_bounded() -> None:
    # A query's slot is free once its answer reaches the HTTP process, but the answer
    # stays there until its client has read it: clients that asked and never read pinned
    # one answer each (up to --max-connections x --max-bytes, 16 GB by default; 24 such
    # clients grew the process by 170 MB with answers of 14 MB).
    from urllib.parse import urlencode

    big = "SELECT * WHERE { ?a ?b ?c . ?d a ?f } LIMIT 60000 OFFSET "  # about 12 MB as CSV
    served = start(["--in-memory", "--workers", "2", "--max-bytes", "16", "--max-rows", "10000000"])
    address, port = served.base.removeprefix("http://").rsplit(":", 1)
    stalled: list[socket.socket] = []
    try:
        first = request(
            served.url("/sparql?" + urlencode({"query": big + "0"})), headers={"Accept": "text/csv"}
        )
        assert first.status == 200 and len(first.body) > 8 * 1024 * 1024
        before = _rss_mb(served.process.pid)
        statuses = []
        for n in range(8):
            conn = socket.create_connection((address, int(port)))
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            query = urlencode({"query": big + str(n + 1)})
            conn.sendall(
                f"GET /sparql?{query} HTTP/1.1\r\nHost: {address}\r\nAccept: text/csv\r\n\r\n".encode()
            )
            conn.settimeout(30)
            statuses.append(conn.recv(12))  # the status line's start; the rest stays unread
            stalled.append(conn)
        # Two answers' worth (--workers x --max-bytes) are held for them; the others wait.
        assert statuses.count(b"HTTP/1.1 200") <= 3, statuses
        assert b"HTTP/1.1 503" in statuses
        assert _rss_mb(served.process.pid) - before < 64
    finally:
        for conn in stalled:
            conn.close()
        served.stop()
