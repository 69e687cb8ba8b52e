"""A process that opened an on-disk store itself gets one clear refusal, not a hang.

RocksDB's background threads start in the process that opens an on-disk store and stay
there; a process forked from it has none of them, and the first flush of a store it opens
for writing waits for ever. kgraph's confined worker is such a fork, so
``Project`` refuses to fork one that would open a store from a process with those threads
(a project held in memory forks as before). Each case
runs in a new interpreter (the test process must stay free of them: conftest checks it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox

from conftest import copy_shipped


def run_fresh(function: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``function(*args)`` of this module in a new interpreter, bounded: on the old code
    the call never returned."""
    code = (
        "import importlib, sys; sys.path.insert(0, sys.argv[1]); "
        "getattr(importlib.import_module('test_fork_guard'), sys.argv[2])(*sys.argv[3:])"
    )
    try:
        return subprocess.run(
            [sys.executable, "-c", code, str(Path(__file__).parent), function, *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired as hung:
        raise AssertionError(
            f"{function} did not return in 120 s: the forked worker hung"
        ) from hung


def open_store_then_query(folder: str) -> None:
    from kgraph import Project
    from kgraph.errors import ExitStatus, UsageError

    root = Path(folder)
    project = copy_shipped(root / "project")
    mine = ox.Store(str(root / "mine"))  # the user's own store, opened in this process
    mine.flush()
    try:
        Project.open(project, store=root / "store").query("officials-and-posts")
    except UsageError as err:
        message = str(err)
        assert "\n" not in message, message
        assert "on-disk Oxigraph store" in message, message
        assert err.status == ExitStatus.BAD_INPUT
        print("refused:", message)
        return
    raise AssertionError("the worker was forked from a process with RocksDB's threads")


def query_without_a_store_of_mine(folder: str) -> None:
    from kgraph import Project

    root = Path(folder)
    project = copy_shipped(root / "project")
    rows = Project.open(project, store=root / "store").query("officials-and-posts")
    assert rows, "the canned query answered nothing"
    print("answered")


def open_store_then_query_in_memory(folder: str) -> None:
    from kgraph import Project

    root = Path(folder)
    project = copy_shipped(root / "project")
    mine = ox.Store(str(root / "mine"))
    mine.flush()
    rows = Project.open(project).query("officials-and-posts")  # no store: nothing to flush
    assert rows, "the canned query answered nothing"
    print("answered")


def test_a_process_with_its_own_store_open_still_queries_a_project_in_memory(
    tmp_path: Path,
) -> None:
    done = run_fresh("open_store_then_query_in_memory", str(tmp_path))
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip() == "answered"


def test_a_process_with_its_own_store_open_is_refused_in_one_line(tmp_path: Path) -> None:
    done = run_fresh("open_store_then_query", str(tmp_path))
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.startswith("refused: this Python process has opened"), done.stdout
    store = tmp_path / "store"  # the folder the worker would have been allowed to write
    assert not store.exists() or not any(store.iterdir()), "the refused call wrote a store"


def test_the_same_call_without_a_store_of_its_own_answers(tmp_path: Path) -> None:
    done = run_fresh("query_without_a_store_of_mine", str(tmp_path))
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip() == "answered"


def test_the_check_sees_the_threads_only_once_a_store_is_opened(tmp_path: Path) -> None:
    code = (
        "import sys, pyoxigraph as ox; from kgraph.limits import rocksdb_running as r; "
        "before = r(); ox.Store(sys.argv[1]).flush(); print(before, r())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.split() == ["False", "True"]
