"""`kgraph serve`'s worker count by default, and the overview's validation run in a pool
worker on the graph the zygote loaded (no second load of the project)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from kgraph.layout import Layout
from kgraph.limits import Limits
from kgraph.project import Project
from kgraph.server import work
from kgraph.server.app import Settings, default_workers
from kgraph.server.backend import ValidationStatus
from kgraph.server.pool import Pool
from kgraph.store import Dataset
from serving import request, start

ROOT = Path(__file__).resolve().parent.parent


def test_default_workers_let_fast_queries_past_slow_ones() -> None:
    # Two slow queries per CPU still leave workers for the fast ones.
    assert default_workers() >= 8
    assert Settings().workers == default_workers()


def test_validate_judges_the_loaded_graph_and_loads_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layout = Layout(ROOT)
    expected = Project(layout, limits=Limits()).validate()
    state, _ = work.load(layout, Limits(), None)

    def no_second_load(*args: object, **kwargs: object) -> Dataset:
        raise AssertionError("the project was loaded again")

    monkeypatch.setattr(Dataset, "open", no_second_load)
    status = work.validate(state)
    assert isinstance(status, ValidationStatus)
    assert status.error == ""
    assert status.conforms == expected.conforms
    assert status.findings == len(expected.findings)
    assert status.nodes == expected.focus_nodes > 0


def _children(pid: int) -> list[str]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return out.stdout.split()


@pytest.mark.server
def test_serve_uses_the_default_and_validates_in_a_fork_of_the_zygote() -> None:
    served = start([])
    try:
        assert f"up to {default_workers()} queries at once" in served.announced
        # While the validation runs, the HTTP process has one child, the zygote: no process
        # of its own that loads the project again.
        assert len(_children(served.process.pid)) == 1
        deadline = time.monotonic() + 90
        page = ""
        while time.monotonic() < deadline:
            page = request(served.url("/")).text
            assert len(_children(served.process.pid)) == 1
            if "Validation is running" not in page:
                break
            time.sleep(0.2)
        assert "Conforms to the shapes: 0 violations" in page
    finally:
        served.stop()


@pytest.mark.server
def test_validation_holds_no_query_worker() -> None:
    # With one worker, a query answers while the validation still runs: it is a fork of
    # the zygote beside the workers, not one of them.
    served = start(["--workers", "1", "--queue-wait", "0.5"])
    try:
        count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        assert request(served.url("/sparql?" + urlencode({"query": count}))).status == 200
        deadline = time.monotonic() + 90
        while "Validation is running" in request(served.url("/")).text:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert "Conforms to the shapes" in request(served.url("/")).text
    finally:
        served.stop()


def _load() -> tuple[dict[str, list[bytearray]], dict[str, int]]:
    return {"kept": []}, {"graphs": 0}


def _handle(state: dict[str, list[bytearray]], request: str) -> int:
    if request == "grow":  # memory the worker keeps: it retires after answering
        state["kept"].append(bytearray(40 * 1024 * 1024))
    return os.getpid()


def _zygote_children(zygote: int) -> list[str]:
    out = subprocess.run(
        ["ps", "-o", "pid=,stat=", "--ppid", str(zygote)], capture_output=True, text=True
    )
    return [line.split()[0] for line in out.stdout.splitlines() if "Z" not in line.split()[1]]


def test_the_last_worker_retiring_is_replaced_at_once() -> None:
    pool = Pool(_load, _handle, size=2, memory_limit=None, load_timeout=30)
    pool.start()
    pool.begin()
    try:
        first = pool.run("grow", timeout=10, wait=10)
        assert pool.retired == 1
        # One is forked without waiting for the next request: one worker always stays.
        assert pool.workers == 1
        deadline = time.monotonic() + 10
        while _zygote_children(pool._zygote) in ([], [str(first)]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert pool.run("small", timeout=10, wait=0.5) != first
    finally:
        pool.close()


def test_the_aside_job_runs_on_the_loaded_state_and_takes_no_worker() -> None:
    verdicts: list[object] = []
    pool = Pool(
        _load,
        _handle,
        size=1,
        memory_limit=None,
        load_timeout=30,
        aside=lambda state: ("aside", sorted(state), os.getpid()),
        on_aside=verdicts.append,
    )
    pool.start()
    pool.begin()
    try:
        worker = pool.run("small", timeout=10, wait=10)
        deadline = time.monotonic() + 10
        while not verdicts:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        kind, keys, pid = verdicts[0]  # type: ignore[misc]
        assert (kind, keys) == ("aside", ["kept"]) and pid != worker
        assert pool.workers == 1
    finally:
        pool.close()
