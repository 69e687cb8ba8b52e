"""`kgraph serve` runs several queries at once in one worker process, on threads sharing
one store; a query past its deadline drains its worker (no new query, the others in it
answered, then killed and replaced), a crash fails only the queries in the worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from kgraph.server.app import Settings
from kgraph.server.pool import Busy, Pool, Stopped
from serving import Served, request, start

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
PEOPLE = (
    "SELECT ?person ?name WHERE { ?person a kg:Person ; skos:prefLabel ?name "
    'FILTER(LANG(?name) = "en") } ORDER BY ?person'
)
# The graph crossed with itself twice: minutes of work, stopped at --timeout.
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


# -- the pool, with handlers whose timing the test controls --------------------------------


class Opened:
    """What a worker opens once (the store): its identity tells how many there are."""


def _load() -> tuple[dict[str, Any], dict[str, int]]:
    return {}, {"graphs": 0}


def _open(state: dict[str, Any]) -> dict[str, Any]:
    return {"opened": Opened(), "kept": []}


def _handle(state: dict[str, Any], request: tuple[str, float]) -> tuple[int, int]:
    kind, seconds = request
    if kind == "crash":
        time.sleep(seconds)
        os.kill(os.getpid(), signal.SIGKILL)  # as a segfault or the OOM killer would
    if kind == "grow":  # what a query leaves behind that the allocator cannot return
        state["kept"].append(bytearray(80 * 1024 * 1024))
    time.sleep(seconds)  # releases the GIL, as pyoxigraph's evaluation does
    return os.getpid(), id(state["opened"])


def _pool(size: int, threads: int, **options: Any) -> Pool:
    pool = Pool(
        _load,
        _handle,
        size=size,
        threads=threads,
        memory_limit=None,
        load_timeout=30,
        on_worker_start=_open,
        **options,
    )
    pool.start()
    pool.begin()
    assert _wait_for(lambda: len(pool.pids()) == 1, 10)  # the first worker, forked at start
    return pool


def _at_once(pool: Pool, requests: list[tuple[tuple[str, float], float]]) -> list[Any]:
    """Run each (request, timeout) on a thread of its own; each one's reply or exception."""
    results: list[Any] = [None] * len(requests)

    def one(n: int, req: tuple[str, float], timeout: float) -> None:
        try:
            results[n] = pool.run(req, timeout=timeout, wait=10)
        except (Stopped, Busy) as err:
            results[n] = err

    threads = [
        threading.Thread(target=one, args=(n, req, timeout))
        for n, (req, timeout) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _gone(pid: int, seconds: float = 10) -> bool:
    """Whether the process ended (the zygote reaps its workers)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_concurrent_queries_run_in_one_worker_on_one_opened_store() -> None:
    pool = _pool(size=4, threads=4)
    try:
        started = time.monotonic()
        replies = _at_once(pool, [(("sleep", 1.5), 30)] * 4)
        took = time.monotonic() - started
        assert len(set(replies)) == 1  # one process, one store it opened
        assert replies[0][0] in pool.pids() and len(pool.pids()) == 1
        assert took < 4  # at once, not one after the other (6 s)
    finally:
        pool.close()


def test_with_fewer_threads_than_queries_more_workers_are_forked() -> None:
    pool = _pool(size=4, threads=2)
    try:
        replies = _at_once(pool, [(("sleep", 1.5), 30)] * 4)
        pids = {pid for pid, _ in replies}
        assert len(pids) == 2 and all(replies.count(r) == 2 for r in replies)
    finally:
        pool.close()


def test_threads_per_worker_default_to_a_worker_per_cpu_and_never_exceed_them() -> None:
    assert Settings(workers=6).per_worker == -(-6 // (os.cpu_count() or 1))  # a worker per CPU
    assert Settings(workers=6, threads=2).per_worker == 2
    assert Settings(workers=2, threads=8).per_worker == 2


def test_a_query_past_its_deadline_drains_its_worker_and_kills_no_other() -> None:
    pool = _pool(size=4, threads=4)
    try:
        (worker,) = pool.pids()
        results: dict[str, Any] = {}

        def slow() -> None:
            try:
                results["slow"] = pool.run(("sleep", 30), timeout=1, wait=10)
            except Stopped as stop:
                results["slow"] = stop
                results["slow at"] = time.monotonic()

        def innocent() -> None:
            results["innocent"] = pool.run(("sleep", 5), timeout=30, wait=10)
            results["innocent at"] = time.monotonic()

        threads = [threading.Thread(target=slow), threading.Thread(target=innocent)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(2.5)
        # The slow one got its timeout at once; its worker takes no new query (a fresh one
        # does) but lives on while the innocent query runs in it.
        assert isinstance(results.get("slow"), Stopped) and str(results["slow"]) == "timeout"
        assert results["slow at"] - started < 2.5
        meanwhile = pool.run(("sleep", 0), timeout=10, wait=10)
        assert meanwhile[0] != worker
        assert not _gone(worker, 0.1)
        for thread in threads:
            thread.join(30)
        assert results["innocent"][0] == worker  # answered whole by the drained worker
        assert _gone(worker)  # then killed (its slow query still ran) and not replaced twice
        assert pool.pids() == [meanwhile[0]] and pool.replaced == 1
        assert pool.run(("sleep", 0), timeout=10, wait=10) == meanwhile
    finally:
        pool.close()


def test_a_crash_fails_the_queries_in_its_worker_at_once_and_the_next_is_answered() -> None:
    pool = _pool(size=4, threads=4)
    try:
        started = time.monotonic()
        results = _at_once(pool, [(("crash", 0.5), 30), (("sleep", 20), 30)])
        # Both fail as a crash when it happens, neither waits for its own deadline.
        assert [str(r) for r in results] == ["crash", "crash"]
        assert all(isinstance(r, Stopped) for r in results)
        assert time.monotonic() - started < 10
        assert pool.run(("sleep", 0), timeout=10, wait=10)[0] in pool.pids()
    finally:
        pool.close()


def test_queries_at_once_stay_bounded_by_the_pool_size() -> None:
    pool = _pool(size=2, threads=2)
    try:
        busy = threading.Thread(target=lambda: _at_once(pool, [(("sleep", 2), 30)] * 2))
        busy.start()
        time.sleep(0.5)
        with pytest.raises(Busy):
            pool.run(("sleep", 0), timeout=10, wait=0.3)
        busy.join(30)
        assert len(pool.pids()) == 1  # and no second process was forked for the third
    finally:
        pool.close()


def test_a_grown_worker_retires_after_the_queries_it_runs() -> None:
    pool = _pool(size=2, threads=2)
    try:
        grown, other = _at_once(pool, [(("grow", 0.2), 30), (("sleep", 2), 30)])
        assert grown == other  # both answered, by the same worker
        assert pool.retired == 1 and pool.replaced == 0
        assert _gone(grown[0])
        assert pool.run(("sleep", 0), timeout=10, wait=10)[0] != grown[0]
    finally:
        pool.close()


# -- the server: one worker, one store, a drained worker that ends -------------------------


def _get(served: Served, query: str) -> Any:
    return request(served.url("/sparql?" + urlencode({"query": query})))


def _zygote_children(served: Served) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(served.process.pid)], capture_output=True, text=True
    ).stdout.split()
    zygote = out[0]
    listed = subprocess.run(
        ["ps", "-o", "pid=,stat=", "--ppid", zygote], capture_output=True, text=True
    ).stdout.splitlines()
    return [int(pid) for pid, stat in (line.split() for line in listed) if "Z" not in stat]


def _holds_store(pid: int, store: Path) -> bool:
    """Whether the process has one of the store's files open (RocksDB keeps them open)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(str(store)):
                return True
        except OSError:
            continue
    return False


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def _wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.server
def test_serve_runs_slow_queries_at_once_in_one_worker_that_drains(tmp_path: Path) -> None:
    store = (tmp_path / "store").resolve()
    served = start(["--workers", "4", "--threads", "4", "--timeout", "5"], store=store)
    try:
        assert _wait_for(lambda: "Validation is running" not in request(served.url("/")).text, 90)
        assert _wait_for(lambda: len(_zygote_children(served)) == 1, 10)
        (worker,) = _zygote_children(served)
        answers: dict[str, Any] = {}

        def ask(name: str, query: str, after: float) -> None:
            time.sleep(after)
            answers[name] = _get(served, query)

        asked = [
            threading.Thread(target=ask, args=("first", SLOW, 0)),
            threading.Thread(target=ask, args=("second", SLOW, 0.3)),
            threading.Thread(target=ask, args=("late", SLOW, 3)),
        ]
        for thread in asked:
            thread.start()
        time.sleep(1)
        # Two slow queries and a fast one at once: one process, its threads, one store.
        fast = _get(served, PEOPLE)
        assert fast.status == 200 and json.loads(fast.body)["results"]["bindings"]
        assert _zygote_children(served) == [worker]
        assert _threads(worker) >= 3
        assert [p for p in _zygote_children(served) if _holds_store(p, store)] == [worker]
        # At 5 s the first two pass their deadline while the late one still runs in the
        # worker (till 8 s): it is drained, not killed, and a fresh worker answers meanwhile.
        time.sleep(5.8)
        assert "took longer than 5 s" in answers["first"].text
        assert "took longer than 5 s" in answers["second"].text
        assert "late" not in answers
        children = _zygote_children(served)
        assert worker in children and len(children) == 2
        assert _get(served, COUNT).status == 200
        for thread in asked:
            thread.join(30)
        # The late query got its own timeout at its own deadline (not a crash), then the
        # drained worker was killed; the next query is answered.
        assert "took longer than 5 s" in answers["late"].text
        assert _wait_for(lambda: worker not in _zygote_children(served), 10)
        assert len(_zygote_children(served)) == 1
        assert _get(served, COUNT).status == 200
        assert "up to 4 queries at once, 4 per worker process" in served.announced
    finally:
        served.stop()


# -- the row limit, counted without iterating the rows in Python ---------------------------


@pytest.mark.parametrize("fmt", ["json", "xml", "tsv", "csv"])
def test_rows_are_counted_in_each_format_with_line_breaks_in_literals(fmt: str) -> None:
    import pyoxigraph as ox

    from kgraph.server import work

    store = ox.Store()
    for n in range(50):  # each literal holds line breaks, tabs and quotes
        store.add(
            ox.Quad(
                ox.NamedNode(f"https://example.org/{n}"),
                ox.NamedNode("https://example.org/p"),
                ox.Literal(f'line\none\t"{n}"\r\n'),
                ox.DefaultGraph(),
            )
        )

    def answer() -> work.CappedBuffer:
        out = work.CappedBuffer(1 << 20)
        store.query("SELECT ?s ?o WHERE { ?s ?p ?o }").serialize(  # type: ignore[union-attr]
            out,  # type: ignore[arg-type]
            format=getattr(ox.QueryResultsFormat, fmt.upper()),
        )
        return out

    work._check_rows(answer(), fmt, 50)  # exactly at the limit: kept
    with pytest.raises(work.TooManyRows):
        work._check_rows(answer(), fmt, 49)


def test_a_burst_of_connections_waits_in_the_listen_queue() -> None:
    """Before the accept loop runs, 40 clients connecting at once all complete their TCP
    handshake: the listen backlog holds them (socketserver's default of 5 let the kernel drop
    the rest, which a burst of clients saw as resets)."""
    import socket

    from kgraph.server.http import Handler, Server

    server = Server(("127.0.0.1", 0), Handler, 4)
    clients: list[socket.socket] = []
    try:
        port = server.server_address[1]
        for _ in range(40):
            c = socket.socket()
            c.settimeout(2.0)
            c.connect(("127.0.0.1", port))  # times out once the accept queue is full
            clients.append(c)
        assert len(clients) == 40
    finally:
        for c in clients:
            c.close()
        server.server_close()
