"""What `kgraph serve` holds in memory: workers forked on demand up to --workers, spare
ones stopped after --idle-timeout, and a worker that a query grew retired for a fresh fork
(so no worker keeps the high-water mark of the largest query it ran)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from urllib.parse import urlencode

import pytest

from kgraph.server.pool import Pool
from serving import Served, request, start

pytestmark = pytest.mark.server

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
# Seconds of work in a worker, little memory: holds a worker busy until --timeout.
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
# The graph crossed with itself, each row kept for DISTINCT: hundreds of MB in the worker.
GROWS = (
    "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?a ?c ?d ?f WHERE { ?a ?b ?c . ?d ?e ?f } }"
)


def get(served: Served, query: str) -> object:
    return request(served.url("/sparql?" + urlencode({"query": query})))


def workers(served: Served) -> set[int]:
    """The zygote's children: the query workers."""
    zygote = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(served.process.pid)], capture_output=True, text=True
    ).stdout.split()[0]
    out = subprocess.run(
        ["ps", "-o", "pid=,stat=", "--ppid", zygote], capture_output=True, text=True
    )
    return {
        int(pid)
        for pid, stat in (line.split() for line in out.stdout.splitlines())
        if "Z" not in stat
    }


def wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_workers_are_forked_on_demand_and_spare_ones_stop_when_idle() -> None:
    served = start(["--workers", "3", "--timeout", "3", "--idle-timeout", "1"])
    try:
        assert "up to 3 workers" in served.announced
        # The overview's validation is a child of the zygote too, until it is done.
        assert wait_for(lambda: "Validation is running" not in request(served.url("/")).text, 90)
        assert wait_for(lambda: len(workers(served)) == 1, 10)  # one starts, not three
        busy = [threading.Thread(target=lambda: get(served, SLOW)) for _ in range(2)]
        for thread in busy:
            thread.start()
        time.sleep(0.5)
        assert get(served, COUNT).status == 200  # a third, forked for it, answers at once
        assert len(workers(served)) == 3
        for thread in busy:
            thread.join(30)
        # Idle for --idle-timeout: back to the one that always stays, which still answers.
        assert wait_for(lambda: len(workers(served)) == 1, 20)
        assert get(served, COUNT).status == 200
    finally:
        served.stop()


def _load() -> tuple[dict[str, list[bytearray]], dict[str, int]]:
    return {"kept": []}, {"graphs": 0}


def _handle(state: dict[str, list[bytearray]], request: str) -> int:
    if request == "grow":  # what a query leaves behind that the allocator cannot return
        state["kept"].append(bytearray(40 * 1024 * 1024))
    return os.getpid()


def test_a_worker_grown_by_a_query_is_retired_and_a_small_query_keeps_it() -> None:
    pool = Pool(_load, _handle, size=1, memory_limit=None, load_timeout=30)
    pool.start()
    pool.begin()
    try:
        first = pool.run("small", timeout=10, wait=10)
        assert pool.run("small", timeout=10, wait=10) == first  # kept: it did not grow
        assert pool.run("grow", timeout=10, wait=10) == first  # answered whole, then retired
        fresh = pool.run("small", timeout=10, wait=10)
        assert fresh != first and pool.retired == 1 and pool.replaced == 0
        assert pool.run("small", timeout=10, wait=10) == fresh
    finally:
        pool.close()
