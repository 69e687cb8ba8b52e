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
import errno
import os
import select
import signal
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from kgraph.errors import ExitStatus, InternalError, KGraphError, LimitError, Setting

if TYPE_CHECKING:  # the sandbox (ctypes) loads with the first worker, not with every start
    from kgraph.sandbox import Access

T = TypeVar("T")
R = TypeVar("R")

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

    def phase_setting(self, phase: str) -> Setting:
        """The setting that raises the budget of ``phase``."""
        return Setting.TIMEOUT if phase == Phase.QUERY else Setting.WORK_TIMEOUT

    def budget(self, phase: str) -> float:
        return self.query_timeout if phase == Phase.QUERY else self.work_timeout


class Phase(StrEnum):
    """The steps of a command, each with its own deadline (see :meth:`Limits.budget`)."""

    LOAD = "load"
    PARSE = "parse"
    QUERY = "query"
    REASON = "reason"
    VALIDATE = "validate"
    EXPORT = "export"


# The pipe to the supervising parent, set only inside a bounded worker: phase() is then
# a message, and a no-op everywhere else (in process, in tests, in the debugger).
_channel: int | None = None


def phase(step: Phase) -> None:
    """Announce that ``step`` begins, so that the supervising parent applies its deadline."""
    if _channel is not None:
        _send(_channel, ("phase", step))


# What the bounded worker holds until it ends (hold_until_exit).
_held: list[Any] = []


def hold_until_exit(obj: Any) -> None:
    """In a bounded worker, keep ``obj`` alive until the worker ends. The worker ends with
    ``os._exit``, so the memory goes back with the process at once; freed when the work
    returns, before its result is sent, an in-memory store of 1M triples costs 0.6-1 s of
    the command. Outside a worker (in process, in tests, in ``kgraph serve``) nothing is
    held."""
    if _channel is not None:
        _held.append(obj)


# -- the one message protocol of every forked process: length-prefixed pickles on a pipe --

_HEADER = struct.Struct("!cQ")


def _preload() -> None:
    """What a forked child needs to report back, loaded before the fork: an import in the
    child, under its memory limit, could itself fail where it must report a failure."""
    import pickle  # noqa: F401  (kept out of a start that forks nothing, such as --help)


def _send(fd: int, message: tuple[Any, ...]) -> None:
    import pickle

    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    data = _HEADER.pack(b"m", len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class _Decoder:
    """Splits the bytes read from a pipe back into the messages :func:`_send` wrote."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[Any, ...]]:
        import pickle

        self._buffer += chunk
        messages = []
        while len(self._buffer) >= _HEADER.size:
            _, length = _HEADER.unpack_from(self._buffer)
            end = _HEADER.size + length
            if len(self._buffer) < end:
                break
            messages.append(pickle.loads(bytes(self._buffer[_HEADER.size : end])))
            del self._buffer[:end]
        return messages


def _failure(err: BaseException) -> KGraphError:
    """What a forked process reports for an exception: errors as they are, bugs as such."""
    if isinstance(err, KGraphError):
        return err
    if isinstance(err, MemoryError):
        return LimitError(
            f"ran out of memory; raise {Setting.MAX_MEMORY}", setting=Setting.MAX_MEMORY
        )
    return InternalError(f"internal error: {type(err).__name__}: {err}")


def _send_error(fd: int, err: KGraphError) -> None:  # pragma: no cover - child side
    try:
        _send(fd, ("error", err))
    except Exception:
        _send(fd, ("error", InternalError(str(err))))


def rocksdb_running() -> bool:
    """Whether this process has RocksDB's background threads (it has opened an on-disk
    store). They do not survive a fork: a forked process that opens a store for writing
    schedules its first flush on threads it does not have and waits for ever (reading a
    store read-only still works). Linux names the threads ``rocksdb:low``/``rocksdb:high``;
    where ``/proc`` is missing this answers False."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return False
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/comm", "rb") as comm:
                if comm.read().startswith(b"rocksdb"):
                    return True
        except OSError:  # the thread ended while we looked
            continue
    return False


def fork_map(fn: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[fn(item) for item in items]``, spread over ``workers`` forked processes.

    Each child takes every ``workers``-th item and sends its results back over the same
    protocol as the bounded worker; a child that fails makes the whole call fail with its
    error. Runs in this process when ``workers <= 1`` or where ``fork`` is missing.
    """
    if workers <= 1 or not hasattr(os, "fork"):
        return [fn(item) for item in items]
    _preload()
    children = []
    for index in range(workers):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            global _channel
            _channel = None  # phases belong to the bounded worker, not to its helpers
            from kgraph import sandbox

            sandbox.die_with_parent()  # the worker's group is killed on timeout; be sure
            os.close(read_fd)
            code = 0
            try:
                part = [(i, fn(items[i])) for i in range(index, len(items), workers)]
                _send(write_fd, ("ok", part))
            except BaseException as err:  # handed to the parent, whatever it is
                _send_error(write_fd, _failure(err))
                code = 1
            os._exit(code)
        os.close(write_fd)
        children.append((pid, read_fd))
    results: dict[int, R] = {}
    failure: BaseException | None = None
    try:
        for pid, read_fd in children:
            decoder = _Decoder()
            messages: list[tuple[Any, ...]] = []
            while chunk := os.read(read_fd, 1 << 20):
                messages += decoder.feed(chunk)
            os.close(read_fd)
            os.waitpid(pid, 0)
            if not messages:
                failure = failure or InternalError("a forked process ended without a result")
                continue
            kind, payload = messages[0]
            if kind == "ok":
                results.update(payload)
            else:
                failure = failure or payload
    finally:
        for pid, _ in children:
            with contextlib.suppress(ChildProcessError, ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    if failure is not None:
        raise failure
    return [results[i] for i in range(len(items))]


def run_bounded(
    fn: Callable[[], T],
    limits: Limits,
    *,
    first_phase: Phase = Phase.LOAD,
    access: Access | None = None,
) -> T:
    """Run ``fn`` in a forked worker under ``limits``; return its result or raise its error.

    The worker confines itself to ``access`` (see :mod:`kgraph.sandbox`; by default it may
    read only the interpreter's files) and has no network. Falls back to running in this
    process, unconfined, where ``fork`` is unavailable or when ``KGRAPH_INLINE=1`` (for
    debugging with a debugger).
    """
    if not hasattr(os, "fork") or os.environ.get("KGRAPH_INLINE") == "1":
        return fn()
    from kgraph import sandbox

    sandbox.prepare()  # once in this process, so that every worker inherits the answers
    _preload()
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child; its effects are asserted by tests
        os.close(read_fd)
        _child(fn, limits, write_fd, access or sandbox.Access())
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
    fn: Callable[[], Any], limits: Limits, fd: int, access: Access
) -> None:  # pragma: no cover
    global _channel
    _channel = fd
    status = 0
    try:
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        from kgraph import sandbox  # loaded by run_bounded before the fork

        sandbox.enter(access)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # Native code writes its own complaints (Rust's "memory allocation failed") to fd 2;
        # the user gets the parent's one-line error instead.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        _apply_memory_limit(limits.max_memory)
        result = fn()
        _send(fd, ("ok", result))
    except KGraphError as err:
        _send_error(fd, err)
    except (MemoryError, ImportError, OSError, SystemError) as err:
        if _out_of_memory(err):
            _send_error(fd, LimitError(_memory_message(limits), setting=Setting.MAX_MEMORY))
        else:
            _send_error(fd, _failure(err))
            status = int(ExitStatus.INTERNAL)
    except RecursionError:
        _send_error(
            fd,
            LimitError(
                f"input nested too deeply to process; raise {Setting.MAX_DEPTH} only if you "
                "trust it",
                setting=Setting.MAX_DEPTH,
            ),
        )
    except BaseException as err:
        _send_error(fd, _failure(err))
        status = int(ExitStatus.INTERNAL)
    finally:
        os._exit(status)


def _apply_memory_limit(limit: int) -> None:  # pragma: no cover - child side
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def _out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is the address-space limit rather than a bug: a MemoryError, or a
    mapping refused before any MemoryError could be raised (the dynamic loader cannot map a
    native library, pyoxigraph's, imported lazily; mmap fails with ENOMEM; the interpreter
    cannot grow its frame stack)."""
    if isinstance(err, MemoryError):
        return True
    if isinstance(err, ImportError):
        return "failed to map segment" in str(err) or "cannot allocate memory" in str(err).lower()
    if isinstance(err, SystemError):
        # CPython 3.11 fails to push a frame whose chunk of its data stack it cannot map
        # without setting MemoryError (deep recursion, as in our SPARQL parser, under a
        # small address space): the interpreter's "error return without exception set".
        return "without exception set" in str(err)
    return isinstance(err, OSError) and err.errno == errno.ENOMEM


def _memory_message(limits: Limits) -> str:
    return f"memory limit of {limits.max_memory // MB} MB hit; raise {Setting.MAX_MEMORY}"


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
    decoder = _Decoder()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            setting = limits.phase_setting(phase)
            raise LimitError(
                f"{_phase_title(phase)} took longer than {limits.budget(phase):g} s and was "
                f"stopped; raise {setting}",
                setting=setting,
            )
        ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return None, phase
        for message in decoder.feed(chunk):
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
            return LimitError(
                f"{_phase_title(phase)} ran out of memory: {_memory_message(limits)}",
                setting=Setting.MAX_MEMORY,
            )
        return LimitError(f"{_phase_title(phase)} was stopped by signal {sig}")
    return InternalError(
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
