"""Shared test fixtures: a private copy of the project, and a CLI runner."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from kgraph.cli import cli
from kgraph.errors import ExitStatus

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Run:
    """The outcome of one `kgraph` invocation."""

    exit_code: int
    stdout: str
    stderr: str
    output_bytes: bytes


@pytest.fixture(autouse=True, scope="session")
def serve_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`kgraph serve` without --store builds its store in the user's cache folder: in the
    tests, one of the session's (stores shared by the tests, never the user's ~/.cache)."""
    import os

    folder = tmp_path_factory.mktemp("kgraph-cache")
    before = os.environ.get("KGRAPH_CACHE_DIR")
    os.environ["KGRAPH_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("KGRAPH_CACHE_DIR", None)
    else:
        os.environ["KGRAPH_CACHE_DIR"] = before


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """The body of a test marked ``in_fork`` runs in a fork of this process, its fixtures
    set up here (a fixture's objects are the child's copies); its traceback, if it fails,
    fails the test. What it changes in the process (an on-disk store's RocksDB threads, a
    monkeypatch made in the body) ends with the child."""
    if pyfuncitem.get_closest_marker("in_fork") is None:
        return None
    import os
    import traceback

    names = pyfuncitem._fixtureinfo.argnames
    arguments = {name: pyfuncitem.funcargs[name] for name in names}
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the body, say how it went, leave without cleaning up
        os.close(reader)
        status = 0
        try:
            pyfuncitem.obj(**arguments)
            message = b""
        except BaseException:
            message = traceback.format_exc().encode()
            status = 1
        view = memoryview(message)
        while view:
            view = view[os.write(writer, view) :]
        os._exit(status)
    os.close(writer)
    chunks = []
    while chunk := os.read(reader, 1 << 16):
        chunks.append(chunk)
    os.close(reader)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        told = b"".join(chunks).decode(errors="replace") or f"the fork ended with {status:#x}"
        pytest.fail(f"in a fork of the test process:\n{told}", pytrace=False)
    return True


@pytest.fixture(autouse=True)
def no_store_in_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that opens an on-disk store in the pytest process fails, by name: RocksDB's
    threads would stay in this xdist worker, and every later test in it whose CLI call
    forks a worker that writes a store would be refused (kgraph.limits.rocksdb_running).
    Such a test is marked ``pytest.mark.in_fork`` (its body then runs in a fork of this
    process, which has none of the threads yet) or runs its store part with
    :func:`in_fresh_interpreter`."""
    from kgraph.limits import rocksdb_running

    if request.node.get_closest_marker("in_fork") is not None:
        yield  # its body ran in a fork (pytest_pyfunc_call below): the threads died there
        return
    before = rocksdb_running()
    yield
    if not before and rocksdb_running():
        pytest.fail(
            f"{request.node.nodeid} opened an on-disk store in the pytest process; "
            "mark it pytest.mark.in_fork or run that part with conftest.in_fresh_interpreter",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def no_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands under test see no terminal width: output must not depend on who runs the
    tests (pytest-xdist's workers set COLUMNS=80). A test of the width sets it itself."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


def copy_shipped(target: Path) -> Path:
    """``target`` made a copy of the shipped project (ontology, data, queries; no batches)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("ontology", "data", "queries"):
        if (ROOT / name).exists():
            shutil.copytree(
                ROOT / name, target / name, ignore=shutil.ignore_patterns("batches", ".*")
            )
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shipped project (ontology, data, queries) that tests may change."""
    return copy_shipped(tmp_path / "project")


@pytest.fixture
def store(project: Path, tmp_path: Path) -> Path:
    """An on-disk store of ``project``, built by the CLI (its worker opens it, never the
    pytest process: see :func:`no_store_in_process`); a module may define its own."""
    folder = tmp_path / "store"
    result = invoke(["--store", str(folder), "--project", str(project), "query", "-e", "ASK {}"])
    assert result.exit_code == ExitStatus.OK, result.stderr
    return folder


@pytest.fixture
def kgraph(project: Path) -> Callable[..., Run]:
    """Run `kgraph --project <copy> ARGS...` in process with Click's CliRunner."""

    def run(*args: str, input: bytes | str | None = None, project_dir: Path | None = None) -> Run:
        return invoke(["--project", str(project_dir or project), *args], input=input)

    return run


def invoke(args: Sequence[str], *, input: bytes | str | None = None) -> Run:
    runner = CliRunner()
    result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr, result.stdout_bytes)


def memo_runner(project: Path) -> Callable[..., Run]:
    """Run kgraph on ``project`` (a read-only copy), each command line once: a module whose
    tests share the answers of the same commands."""
    done: dict[tuple[str, ...], Run] = {}

    def run(*args: str) -> Run:
        if args not in done:
            done[args] = invoke(["--project", str(project), *args])
        return done[args]

    return run


def count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file names of the claim sheets compiled from now on (kgraph.store's compiler)."""
    import kgraph.store as kstore

    compiled: list[str] = []
    real = kstore.compile_project_sheet

    def counting(data: bytes, name: str, *args: object) -> object:
        compiled.append(Path(name).name)
        return real(data, name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(kstore, "compile_project_sheet", counting)
    return compiled


@pytest.fixture
def snapshot() -> Callable[[Path], dict[str, bytes]]:
    """Every file under a folder with its bytes (to prove nothing changed)."""

    def take(folder: Path) -> dict[str, bytes]:
        return {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }

    return take


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    yield folder


def interruptible() -> None:
    """``preexec_fn`` for a child that a test will Ctrl-C: a shell running the tests in the
    background (``make test &``) starts them with SIGINT ignored, the child would inherit
    that, and Python keeps an ignored SIGINT ignored, as it should."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def in_fresh_interpreter(module: str, function: str, *args: str) -> None:
    """``module.function(*args)`` in a new Python process (this folder on its path); its
    traceback, if it fails, fails the calling test. For a test that opens an on-disk store
    in process: RocksDB's background threads start in the process that opens one, and a
    process forked later (any CLI test's confined worker) inherits none of them."""
    import subprocess
    import sys

    code = (
        "import importlib, sys; sys.path.insert(0, sys.argv[1]); "
        "getattr(importlib.import_module(sys.argv[2]), sys.argv[3])(*sys.argv[4:])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), module, function, *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
