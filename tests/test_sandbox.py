"""The worker's kernel sandbox (kgraph.sandbox) and the process group it leads (kgraph.limits).

The guards refuse what they recognise; these tests prove that what slips past them is
contained by the kernel: the worker cannot reach the network or files outside what its
command needs, and a stopped worker takes its validation processes with it.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import Run, interruptible
from kgraph import operations, sandbox, store
from kgraph.limits import Limits, run_bounded
from kgraph.sandbox import Access, Support
from servers import Loopback, QuietHandler

SUPPORT = sandbox.support()
needs_landlock = pytest.mark.skipif(
    not (SUPPORT.landlock_abi >= 4 and SUPPORT.seccomp),
    reason="needs Linux with Landlock ABI >= 4 and seccomp",
)
DENIED = (errno.EACCES, errno.EPERM)


def _bounded(fn: Callable[[], object], access: Access | None = None) -> object:
    return run_bounded(fn, Limits(), access=access)


# -- network ---------------------------------------------------------------------------------


@needs_landlock
def test_worker_cannot_connect_to_a_local_listener() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def connect() -> object:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
            except OSError as err:
                return err.errno
            return "connected"

        assert _bounded(connect) in DENIED
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing ever arrived


@needs_landlock
def test_worker_cannot_send_udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        port = receiver.getsockname()[1]

        def send() -> object:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
                    out.sendto(b"leak", ("127.0.0.1", port))
            except OSError as err:
                return err.errno
            return "sent"

        assert _bounded(send) in DENIED
        receiver.settimeout(0.2)
        with pytest.raises(TimeoutError):
            receiver.recvfrom(16)


@needs_landlock
def test_worker_keeps_unix_socket_pairs() -> None:
    def pair() -> object:
        left, right = socket.socketpair()
        with left, right:
            left.sendall(b"ok")
            return right.recv(2)

    assert _bounded(pair) == b"ok"


# -- files ---------------------------------------------------------------------------------


@needs_landlock
def test_worker_reads_allowed_file_but_not_the_canary(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed" / "input.ttl"
    allowed.parent.mkdir()
    allowed.write_text("<urn:a> <urn:b> <urn:c> .\n")
    canary = tmp_path / "canary.txt"
    canary.write_text("secret\n")

    def read() -> object:
        outcome: list[object] = [allowed.read_text()]
        for path in (canary, Path("/etc/hostname"), Path.home() / ".netrc"):
            try:
                outcome.append(path.read_text())
            except OSError as err:
                outcome.append(err.errno)
        return outcome

    found = _bounded(read, Access(read=(str(allowed),)))
    assert isinstance(found, list)
    assert found[0] == "<urn:a> <urn:b> <urn:c> .\n"
    assert found[1] in DENIED
    assert all(code in (*DENIED, errno.ENOENT) for code in found[2:])


@needs_landlock
def test_worker_writes_only_beneath_its_write_folders(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()

    def write() -> object:
        (store / "sub").mkdir()
        (store / "sub" / "ok").write_text("fine")
        try:
            (tmp_path / "outside").write_text("no")
        except OSError as err:
            return err.errno
        return "written"

    assert _bounded(write, Access(write=(str(store),))) in DENIED
    assert (store / "sub" / "ok").read_text() == "fine"
    assert not (tmp_path / "outside").exists()


@needs_landlock
def test_sandbox_env_zero_turns_it_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("secret\n")
    monkeypatch.setenv("KGRAPH_SANDBOX", "0")
    assert _bounded(lambda: canary.read_text()) == "secret\n"


def test_warning_names_the_missing_mechanism() -> None:
    assert Support(True, 7, True).warning() is None
    assert Support(False, 0, False).warning() is None
    no_landlock = Support(True, 0, True).warning()
    assert no_landlock is not None and "file access is not kernel-restricted" in no_landlock
    nothing = Support(True, 0, False).warning()
    assert nothing is not None and "network and file access" in nothing


def test_cli_warns_once_without_landlock(
    kgraph: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "_probe", lambda: (0, SUPPORT.seccomp))
    monkeypatch.setattr("kgraph.project._warned", False)
    first = kgraph("query", "officials-and-posts", "-f", "csv")
    second = kgraph("query", "officials-and-posts", "-f", "csv")
    assert first.exit_code == second.exit_code == 0
    assert first.stderr.count("Warning: Landlock is not available") == 1
    assert "Warning" not in second.stderr  # one process, one warning


# -- the seccomp program, run by a small interpreter of the instructions it uses --------------


def _run_bpf(program: bytes, *, arch: int, nr: int, arg0: int) -> int:
    data = struct.pack("=iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    code = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    pc, acc = 0, 0
    while True:
        op, jt, jf, k = code[pc]
        if op == 0x20:
            (acc,) = struct.unpack_from("=I", data, k)
        elif op == 0x06:
            return k
        elif op in (0x15, 0x35):
            taken = acc == k if op == 0x15 else acc >= k
            pc += jt if taken else jf
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")
        pc += 1


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_seccomp_filter_closes_sockets_but_unix_on_both_architectures(machine: str) -> None:
    arch = sandbox._ARCHES[machine]
    program = sandbox._filter(arch)
    allow, deny = 0x7FFF0000, 0x00050000 | errno.EACCES

    def verdict(nr: int, arg0: int = 0, audit: int = arch.audit) -> int:
        return _run_bpf(program, arch=audit, nr=nr, arg0=arg0)

    assert verdict(arch.socket, socket.AF_INET) == deny
    assert verdict(arch.socket, socket.AF_INET6) == deny
    assert verdict(arch.socket, socket.AF_NETLINK) == deny
    assert verdict(arch.socket, socket.AF_UNIX) == allow
    assert verdict(arch.io_uring_setup) == deny
    assert verdict(0) == allow  # read (x86_64) / io_setup (aarch64)
    assert verdict(arch.socket, socket.AF_UNIX, audit=0x40000003) == deny  # i386 entry
    if arch.x32:
        assert verdict(arch.socket | 0x40000000, socket.AF_UNIX) == deny


# -- end to end: a SERVICE that slips past the guard ----------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.hits = 0
        owner = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                self.send_response(500)
                self.end_headers()

            do_POST = do_GET

        def connected() -> None:
            owner.hits += 1

        self.loopback = Loopback(Handler, on_connect=connected)
        self.port = self.loopback.port


@pytest.fixture
def counter() -> Iterator[_Counter]:
    found = _Counter()
    yield found
    found.loopback.close()


def _break_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand in for the next guard bypass: every place that checks a query lets it pass."""
    from kgraph.guards import QueryShape

    for module in (operations, store):
        monkeypatch.setattr(module, "check_query", lambda *args, **kwargs: QueryShape("SELECT", ()))


def _service_query(port: int) -> str:
    return f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"


@needs_landlock
def test_service_past_a_broken_guard_reaches_no_server(
    kgraph: Callable[..., Run], counter: _Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_the_guard(monkeypatch)
    run = kgraph("query", "-e", _service_query(counter.port))
    assert run.exit_code != 0
    assert counter.hits == 0


def test_service_past_a_broken_guard_does_reach_the_server_unconfined(
    kgraph: Callable[..., Run], counter: _Counter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: without the sandbox the same bypass calls out (so zero means something)."""
    _break_the_guard(monkeypatch)
    monkeypatch.setenv("KGRAPH_SANDBOX", "0")
    kgraph("query", "-e", _service_query(counter.port))
    assert counter.hits > 0


# -- finding 12: a stopped validation leaves no process behind ------------------------------


def _marked(marker: str) -> list[int]:
    """The processes whose environment carries ``marker`` (forks inherit it)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as env:
                if marker.encode() in env.read():
                    with open(f"/proc/{entry}/stat", "rb") as stat:
                        if stat.read().rsplit(b")", 1)[1].split()[0] != b"Z":
                            found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def big_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project big enough that `validate` forks one validation process per core."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.generate import generate

    from conftest import ROOT

    root = tmp_path_factory.mktemp("big")
    for name in ("ontology", "queries"):  # copies: kgraph refuses links inside a project
        shutil.copytree(ROOT / name, root / name)
    (root / "data").mkdir()
    generate(root / "data" / "big.nt", 60_000, 1)
    return root


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="validation forks only on 2+ cores")
@pytest.mark.parametrize("stop", ["timeout", "sigterm"])
def test_stopped_validate_returns_promptly_and_leaves_no_process(
    big_project: Path, stop: str
) -> None:
    marker = f"KGRAPH_TEST_MARK={uuid.uuid4().hex}"
    name, value = marker.split("=")
    timeout = ["--work-timeout", "4"] if stop == "timeout" else []
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kgraph",
            "--project",
            str(big_project),
            "-q",
            *timeout,
            # pySHACL forks one validation process per core (the compiled engine does not)
            "validate",
            "--engine",
            "pyshacl",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, name: value},
        preexec_fn=interruptible,
    )
    try:
        # Wait for the validation processes: the parent, the worker and one per core.
        deadline = time.monotonic() + 60
        while len(_marked(marker)) < 4:
            assert process.poll() is None, "validate ended before it forked"
            assert time.monotonic() < deadline, "validate never forked its processes"
            time.sleep(0.05)
        if stop == "sigterm":
            process.send_signal(signal.SIGTERM)
        # The pipes close once every process holding them is gone: the old code waited
        # here for the orphaned validation processes to finish their chunks.
        _, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
        process.wait()
    expected = (4, b"validation took longer") if stop == "timeout" else (130, b"interrupted")
    assert process.returncode == expected[0], stderr
    assert expected[1] in stderr
    deadline = time.monotonic() + 2  # SIGKILL is delivered, not yet acted on, at worst
    while _marked(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _marked(marker) == []
