"""`kgraph serve` confines its processes as a CLI command's worker is confined.

The HTTP process keeps the network; the zygote (which loads the graph) and every process
it forks (the query workers, the overview's validation) confine themselves right after
their fork (kgraph.server.backend.confine): no socket but AF_UNIX, read only the project
and the interpreter, write only the store. Before, nothing in the server entered the
sandbox: its workers showed ``Seccomp: 0`` and ``NoNewPrivs: 0``.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import copy_shipped
from kgraph import sandbox
from kgraph.layout import Layout
from kgraph.limits import Limits
from kgraph.server import backend
from kgraph.server.pool import Pool
from serving import request, start

SUPPORT = sandbox.support()
needs_landlock = pytest.mark.skipif(
    not (SUPPORT.landlock_abi >= 4 and SUPPORT.seccomp),
    reason="needs Landlock ABI 4+ and seccomp (Linux 6.7+)",
)


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            children = (task / "children").read_text().split()
            found += [int(c) for c in children]
            todo += [int(c) for c in children]
    return found


def _wait_for_children(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = _descendants(pid)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    return _descendants(pid)


@pytest.mark.server
@needs_landlock
@pytest.mark.parametrize("mode", [[], ["--in-memory"]], ids=["store", "in-memory"])
def test_every_process_but_the_http_one_is_confined(tmp_path: Path, mode: list[str]) -> None:
    project = copy_shipped(tmp_path / "project")
    served = start(mode, project=project)
    try:
        answer = request(served.url("/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D"))
        assert answer.status == 200, answer.body
        assert b"true" in answer.body
        http = served.process.pid
        children = _wait_for_children(http, 2)  # the zygote and a query worker at least
        assert len(children) >= 2, children
        assert _status(http)["Seccomp"] == "0"  # it listens: it is not confined
        for pid in children:
            status = _status(pid)
            assert (status["Seccomp"], status["NoNewPrivs"]) == ("2", "1"), (pid, status)
    finally:
        served.stop()


# The pool with the server's own confinement, and a handler that tries what a query that
# slipped past the guards might: the answers come from inside a confined worker.


def _load() -> tuple[dict[str, Any], dict[str, int]]:
    return {}, {"graphs": 0}


def _attempt(state: dict[str, Any], request: tuple[str, str]) -> str:
    kind, target = request
    try:
        if kind == "read":
            with open(target, "rb") as handle:
                handle.read(1)
        elif kind == "write":
            with open(target, "wb") as handle:
                handle.write(b"x")
        elif kind == "connect":
            socket.create_connection(("127.0.0.1", int(target)), timeout=5).close()
        elif kind == "udp":
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
    except PermissionError:
        return "denied"
    except OSError as err:
        return f"failed: {err}"
    return "allowed"


@needs_landlock
def test_a_worker_reads_only_the_project_and_reaches_no_network(tmp_path: Path) -> None:
    project = copy_shipped(tmp_path / "project")
    store = tmp_path / "store"
    secret = tmp_path / "secret.txt"
    secret.write_text("not for queries")
    zygote, worker = backend.confine(Layout(project), Limits(), store)
    listener = socket.create_server(("127.0.0.1", 0))
    port = str(listener.getsockname()[1])

    def confined_start(state: dict[str, Any]) -> dict[str, Any]:
        worker()
        return state

    pool = Pool(
        _load,
        _attempt,
        size=1,
        memory_limit=None,
        load_timeout=30,
        confine=zygote,
        on_worker_start=confined_start,
    )
    pool.start()
    pool.begin()
    try:

        def run(kind: str, target: str) -> str:
            result = pool.run((kind, target), timeout=30, wait=30)
            assert isinstance(result, str)
            return result

        assert run("read", str(project / "data" / "article.ttl")) == "allowed"
        assert run("read", "/proc/self/status") == "allowed"
        assert run("read", str(secret)) == "denied"
        assert run("read", f"/proc/{os.getpid()}/environ") == "denied"  # the HTTP process's
        assert run("write", str(project / "data" / "new.ttl")) == "denied"
        assert run("write", str(store / "x")) == "allowed"  # the store is its to write
        assert run("connect", port) == "denied"
        assert run("udp", "") == "denied"
    finally:
        pool.close()
        listener.close()
    assert not (project / "data" / "new.ttl").exists()
