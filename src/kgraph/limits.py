"""Resource limits, and the worker process that enforces them.

The engines kgraph drives (Oxigraph, pySHACL, reasonable) run native code that Python
cannot interrupt, and some of them crash rather than fail on hostile input. So the work of
a command runs in a forked worker: the parent process keeps the deadline of each phase
(parse, query, reasoning, validation), kills the worker when one passes, and turns a
crash or an exhausted memory limit into a :class:`~kgraph.errors.LimitError` (exit 4).
Nothing is written by the worker itself; the parent writes the result, atomically.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kgraph import sandbox
from kgraph.errors import KGraphError, LimitError
from kgraph.sandbox import Access

T = TypeVar("T")

MB = 1024 * 1024


def _default_memory() -> int:
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        return int(pages * size * 0.8)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 1024 * MB


@dataclass(frozen=True)
class Limits:
    """Bounds on the work one command may do; every field has a CLI option to raise it."""

    max_input_bytes: int = 1024 * MB
    """Largest input file read (bytes)."""
    max_triples: int = 50_000_000
    """Most triples read from the files given on the command line."""
    max_depth: int = 64
    """Deepest nesting of brackets in a SPARQL query or a JSON-LD document."""
    query_timeout: float = 120.0
    """Seconds a query may run."""
    work_timeout: float = 900.0
    """Seconds loading, reasoning or validation may run."""
    max_memory: int = _default_memory()
    """Address-space limit of the worker process (bytes)."""

    def describe_phase(self, phase: str) -> str:
        return {
            "query": "--timeout",
            "reason": "--work-timeout",
            "validate": "--work-timeout",
            "load": "--work-timeout",
        }.get(phase, "--work-timeout")

    def budget(self, phase: str) -> float:
        return self.query_timeout if phase == "query" else self.work_timeout


class Worker:
    """What the work function sees: it announces phases so the parent applies their budgets."""

    def __init__(self, limits: Limits, channel: int | None) -> None:
        self.limits = limits
        self._channel = channel

    def phase(self, name: str) -> None:
        if self._channel is not None:
            _send(self._channel, ("phase", name))


_HEADER = struct.Struct("!cQ")


def _send(fd: int, message: tuple[Any, ...]) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    data = _HEADER.pack(b"m", len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def run_bounded(
    fn: Callable[[Worker], T],
    limits: Limits,
    *,
    first_phase: str = "load",
    access: Access | None = None,
) -> T:
    """Run ``fn`` in a forked worker under ``limits``; return its result or raise its error.

    The worker confines itself to ``access`` (see :mod:`kgraph.sandbox`; by default it may
    read only the interpreter's files) and has no network. Falls back to running in this
    process, unconfined, where ``fork`` is unavailable or when ``KGRAPH_INLINE=1`` (for
    debugging with a debugger).
    """
    if not hasattr(os, "fork") or os.environ.get("KGRAPH_INLINE") == "1":
        return fn(Worker(limits, None))
    sandbox.prepare()  # once in this process, so that every worker inherits the answers
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child; its effects are asserted by tests
        os.close(read_fd)
        _child(fn, limits, write_fd, access or Access())
    # The worker leads its own process group, so that a timeout or an interrupt kills the
    # validation processes it forked too (they would hold the caller's pipes). Both sides
    # set it: whichever runs first wins the race with a kill.
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    os.close(write_fd)
    try:
        result: T = _supervise(pid, read_fd, limits, first_phase)
        return result
    finally:
        os.close(read_fd)


def _child(
    fn: Callable[[Worker], Any], limits: Limits, fd: int, access: Access
) -> None:  # pragma: no cover
    status = 0
    try:
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        sandbox.enter(access)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # Native code writes its own complaints (Rust's "memory allocation failed") to fd 2;
        # the user gets the parent's one-line error instead.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        _apply_memory_limit(limits.max_memory)
        result = fn(Worker(limits, fd))
        _send(fd, ("ok", result))
    except KGraphError as err:
        _send_error(fd, err)
    except MemoryError:
        _send_error(fd, LimitError(_memory_message(limits)))
    except RecursionError:
        _send_error(
            fd,
            LimitError(
                "input nested too deeply to process; raise --max-depth only if you trust it"
            ),
        )
    except BaseException as err:
        _send_error(fd, KGraphError(f"internal error: {type(err).__name__}: {err}"))
        status = 70
    finally:
        os._exit(status)


def _send_error(fd: int, err: KGraphError) -> None:  # pragma: no cover - child side
    try:
        _send(fd, ("error", err))
    except Exception:
        _send(fd, ("error", KGraphError(str(err))))


def _apply_memory_limit(limit: int) -> None:  # pragma: no cover - child side
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def _memory_message(limits: Limits) -> str:
    return f"memory limit of {limits.max_memory // MB} MB hit; raise it with --max-memory"


def _supervise(pid: int, fd: int, limits: Limits, phase: str) -> Any:  # the worker's result
    try:
        outcome, phase = _collect(fd, limits, phase)
    except BaseException:
        _kill(pid)  # interrupted (Ctrl-C, SIGTERM) or out of time: the worker must not outlive us
        raise
    # Reap the worker only after its group is gone: until then its pid (the group's id)
    # cannot be reused, so the kill reaches only what the worker left behind.
    with contextlib.suppress(ChildProcessError):
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    _kill_group(pid)
    _, status = os.waitpid(pid, 0)
    if outcome is None:
        raise _crash_error(status, limits, phase)
    kind, payload = outcome
    if kind == "ok":
        return payload
    raise payload


def _collect(fd: int, limits: Limits, phase: str) -> tuple[tuple[Any, ...] | None, str]:
    """Read the worker's messages until its result, its end, or a phase's deadline."""
    deadline = time.monotonic() + limits.budget(phase)
    buffer = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LimitError(
                f"{_phase_title(phase)} took longer than {limits.budget(phase):g} s and was "
                f"stopped; raise the limit with {limits.describe_phase(phase)}"
            )
        ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return None, phase
        buffer += chunk
        while len(buffer) >= _HEADER.size:
            _, length = _HEADER.unpack_from(buffer)
            if len(buffer) < _HEADER.size + length:
                break
            message = pickle.loads(bytes(buffer[_HEADER.size : _HEADER.size + length]))
            del buffer[: _HEADER.size + length]
            if message[0] != "phase":
                return message, phase
            phase = message[1]
            deadline = time.monotonic() + limits.budget(phase)


def _phase_title(phase: str) -> str:
    return {
        "load": "loading the graph",
        "query": "the query",
        "reason": "reasoning",
        "validate": "validation",
        "parse": "parsing the input",
    }.get(phase, phase)


def _crash_error(status: int, limits: Limits, phase: str) -> KGraphError:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig in (signal.SIGSEGV, signal.SIGBUS):
            return LimitError(
                f"{_phase_title(phase)} exhausted the engine's stack (signal {sig}); the input is "
                "nested too deeply"
            )
        if sig in (signal.SIGKILL, signal.SIGABRT):
            return LimitError(f"{_phase_title(phase)} ran out of memory: {_memory_message(limits)}")
        return LimitError(f"{_phase_title(phase)} was stopped by signal {sig}")
    return KGraphError(
        f"{_phase_title(phase)} ended without a result (exit {os.WEXITSTATUS(status)})"
    )


def _kill(pid: int) -> None:
    _kill_group(pid)
    try:
        os.kill(pid, signal.SIGKILL)  # in case it had not yet become a group leader
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
