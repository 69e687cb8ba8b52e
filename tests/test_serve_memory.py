"""What `kgraph serve` holds in memory: workers forked on demand up to --workers, spare
ones stopped after --idle-timeout, and a worker that a query grew retired for a fresh fork
(so no worker keeps the high-water mark of the largest query it ran)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from kgraph.errors import ExitStatus
from kgraph.server.pool import Pool
from serving import KGRAPH, Served, request, start, wait_for, workers

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


def test_workers_are_forked_on_demand_and_spare_ones_stop_when_idle() -> None:
    served = start(["--workers", "3", "--threads", "1", "--timeout", "3", "--idle-timeout", "1"])
    try:
        assert "up to 3 queries at once, 1 per worker process" in served.announced
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


# -- where the graph is held: the default store in the cache folder -----------------------

TRIPLE = '\n<https://example.org/added> <https://example.org/p> "added" .\n'
STORE_LINE = re.compile(r"from the store in (\S+),")


def count(served: Served) -> int:
    answer = request(
        served.url("/sparql?" + urlencode({"query": COUNT})),
        headers={"Accept": "application/sparql-results+json"},
    )
    assert answer.status == 200, answer.text
    return int(json.loads(answer.body)["results"]["bindings"][0]["n"]["value"])


def rows(served: Served, query: str) -> list[dict[str, object]]:
    answer = request(
        served.url("/sparql?" + urlencode({"query": query})),
        headers={"Accept": "application/sparql-results+json"},
    )
    assert answer.status == 200, answer.text
    return sorted(json.loads(answer.body)["results"]["bindings"], key=json.dumps)


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``: its bytes and modification time."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def store_of(served: Served) -> Path:
    found = STORE_LINE.search(served.announced)
    assert found, served.announced
    return Path(found.group(1))


ALL = "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
UNION = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"


def test_without_store_the_graph_is_served_from_a_cached_store_rebuilt_when_a_file_changes(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(cache))
    before = tree(project)
    served = start([], project=project)
    try:
        first = store_of(served)
        assert first.parent == cache / "serve" and (first / "kgraph-store.json").is_file()
        counted = count(served)
        from_store = rows(served, ALL), rows(served, UNION)
    finally:
        served.stop()
    memory = start(["--in-memory"], project=project)
    try:
        assert "in memory" in memory.announced
        # The same answers whichever way the graph is held.
        assert (rows(memory, ALL), rows(memory, UNION)) == from_store
        assert count(memory) == counted
    finally:
        memory.stop()
    assert tree(project) == before  # nothing written in the project

    served = start([], project=project)  # the files did not change: the same store
    try:
        assert store_of(served) == first and count(served) == counted
    finally:
        served.stop()

    with (project / "data" / "background.ttl").open("a", encoding="utf-8") as out:
        out.write(TRIPLE)
    served = start([], project=project)
    try:
        fresh = store_of(served)
        assert fresh != first and fresh.parent == first.parent
        assert count(served) == counted + 1  # the stale store never answers
        assert not first.exists()  # pruned: no process held it any more
    finally:
        served.stop()


@pytest.mark.parametrize("explicit", [True, False], ids=["--store", "cached store"])
def test_a_worker_forked_after_a_file_changed_answers_from_the_graph_being_served(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, explicit: bool
) -> None:
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    store = tmp_path / "store" if explicit else None
    served = start(["--workers", "1", "--timeout", "2"], project=project, store=store)
    try:
        counted = count(served)
        with (project / "data" / "background.ttl").open("a", encoding="utf-8") as out:
            out.write(TRIPLE)
        assert get(served, SLOW).status == 503  # killed at --timeout: a new worker forks
        # It opens the store as the server found it at start (it used to refresh it with
        # the changed file while the other workers still answered from the old graph).
        assert count(served) == counted
    finally:
        served.stop()
    served = start([], project=project, store=store)  # a new server reads the new file
    try:
        assert count(served) == counted + 1
    finally:
        served.stop()


def test_in_memory_and_store_together_are_refused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = subprocess.run(
        [*KGRAPH, "--store", str(store), "serve", "--in-memory", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == ExitStatus.BAD_INPUT
    assert done.stderr.count("\n") == 1 and "--in-memory" in done.stderr
    assert "Traceback" not in done.stderr and not store.exists()
