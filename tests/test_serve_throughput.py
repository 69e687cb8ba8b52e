"""What `kgraph serve` does for the throughput of its queries (issue 12).

The store it reads is compacted before the first query: a store kgraph built holds one
set of table files per bulk load and the small runs of its transactional writes, which
every read merges (see kgraph.server.backend.compact_store for what was measured)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from serving import KGRAPH, request, start, wait_for, workers

pytestmark = pytest.mark.server

QUADS = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


def tables(store: Path) -> set[str]:
    """The store's RocksDB table files: a compaction replaces them by new ones."""
    return {path.name for path in store.glob("*.sst")}


def quads(project: Path, store: Path) -> str:
    return subprocess.run(
        [*KGRAPH, "-q", "--project", str(project), "--store", str(store), "query", "-e", QUADS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_serve_compacts_the_store_it_reads_once_and_the_answers_stay(
    project: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    quads(project, store)  # the CLI builds the store as every command does
    # A new file: the refresh writes it as a run of its own beside the others.
    (project / "data" / "extra.ttl").write_text(
        '@prefix ex: <http://example.org/> .\nex:a ex:b "c" .\n', encoding="utf-8"
    )
    before = quads(project, store)
    built = tables(store)
    assert built
    served = start(["--timeout", "30"], project=project, store=store)
    try:
        assert request(served.url("/sparql?query=ASK%7B%7D")).status == 200
    finally:
        served.stop()
    compacted = tables(store)
    assert compacted != built  # rewritten: the old code opened it read-only, as it was
    assert quads(project, store) == before
    # A compacted store is not rewritten at the next start.
    served = start(["--timeout", "30"], project=project, store=store)
    served.stop()
    assert tables(store) == compacted


def test_a_second_server_on_a_store_being_served_starts_without_waiting(
    project: Path, tmp_path: Path
) -> None:
    # The compaction at start took the store's exclusive lock every time and waited for
    # it: a second server on a store another one serves (its shared lock held for its
    # whole life) did not start within its minute (the full test run: seven serve tests
    # in a row, each starting beside a server still up on the session's cached store).
    store = tmp_path / "store"
    quads(project, store)
    (project / "data" / "extra.ttl").write_text(
        '@prefix ex: <http://example.org/> .\nex:a ex:b "c" .\n', encoding="utf-8"
    )
    first = start(["--timeout", "30"], project=project, store=store)
    try:
        assert request(first.url("/sparql?query=ASK%7B%7D")).status == 200
        marker = store / "kgraph-compacted.json"
        assert marker.is_file()  # compacted for these files, by the first server
        marker.unlink()  # as if it had not been: the second would compact it
        started = time.monotonic()
        second = start(["--timeout", "30"], project=project, store=store, timeout=30)
        try:
            assert time.monotonic() - started < 25
            assert request(second.url("/sparql?query=ASK%7B%7D")).status == 200
            assert not marker.exists()  # not compacted: the first server reads it
        finally:
            second.stop()
    finally:
        first.stop()


# Seconds of work in the engine on the shipped graph, little memory: the graph with itself.
PAIRS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one CPU: one worker is the default")
def test_queries_at_once_run_in_a_worker_per_cpu_by_default() -> None:
    """The engine holds the GIL: two queries in the threads of one worker take turns on
    one CPU. By default a second query gets a worker of its own (the old default put every
    query in the threads of one worker)."""
    served = start(["--workers", "4", "--timeout", "60"])
    try:
        per_worker = -(-4 // (os.cpu_count() or 1))
        assert f"up to 4 queries at once, {per_worker} per worker" in served.announced
        assert wait_for(lambda: "Validation is running" not in request(served.url("/")).text, 90)
        assert wait_for(lambda: len(workers(served)) == 1, 10)
        answers: list[int] = []
        url = served.url("/sparql?" + urlencode({"query": PAIRS}))
        both = [threading.Thread(target=lambda: answers.append(request(url).status))]
        both.append(threading.Thread(target=lambda: answers.append(request(url).status)))
        for thread in both:
            thread.start()
        assert wait_for(lambda: len(workers(served)) == 2, 5)
        for thread in both:
            thread.join(60)
        assert answers == [200, 200]
    finally:
        served.stop()
