"""A bounded pool of query workers: forked processes that hold the loaded graph and run
several queries at once, each on a thread of its own.

The HTTP process never touches the store: a *zygote* process, forked before the server
starts any thread, loads the graph once and forks the workers from itself (copy-on-write:
the workers share one copy of an in-memory store). Each worker's socket is handed to the
HTTP process with SCM_RIGHTS, so requests and answers go straight between the two.

Threads in a worker. A worker runs up to ``threads`` queries at once, on threads that
share its ONE store: the on-disk store it opened read-only once (so RocksDB's block cache
is shared and stays warm) or the zygote's in-memory graph. Pyoxigraph 0.5 holds the GIL
while it evaluates a query and serialises the answer (two query threads in one process
used 1.0 CPU of 2), so the threads of a worker take turns; queries run in parallel only
in different workers, and a request goes to an idle worker first (one is forked when none
is idle), to the least busy one else.
Each request goes out tagged with a number, each answer comes back with it, in the order
the queries finish; one reader thread per worker in the HTTP process hands them to their
callers. At most ``size`` queries run at once in all workers (``kgraph serve --workers``),
at most ``threads`` in one (``--threads``); by default one worker per CPU
(``kgraph.server.app.default_threads``).

What the process boundary is kept for. Oxigraph cannot interrupt a query from Python. A
query past its deadline gets its answer (Stopped "timeout") at once, and its worker is
*drained*: it takes no new query, the others in it finish normally (each bounded by its
own deadline), then it is killed (with the query that overran) and the zygote forks a
fresh one, in milliseconds and without reloading; the replacement is forked as soon as the
drain starts, so a second worker exists only while one drains. No innocent query is
killed. A worker that crashes (a segfault, a stack overflow in a deeply nested query, the
memory limit) takes every query in it down: each gets Stopped "crash" at once (none waits
for its deadline). They are not re-run: the query that crashed the worker cannot be told
from the others, and re-running it would crash the next worker too. A worker that dies
before it is up (its store will not open under the memory limit) answered nothing: after
three of those in a row no more are forked, and every request is told the workers are gone.

Memory: a worker is a fork, so what it costs is what it writes, not the graph it reads;
with threads, N queries at once cost one interpreter and one store (one block cache), not
N. The zygote freezes its Python objects before forking (``gc.freeze``: a collection in a
worker would otherwise write to every object's header and copy the page it sits on). One
worker starts with the server; with ``threads < size`` more are forked when every thread
is taken, up to ``size / threads``, and one left idle for ``idle_timeout`` seconds stops
(never the last). A query's working memory (sorts, joins, the answer) is handed back to
the system after the query (``malloc_trim``); a worker whose private memory still grew by
more than ``recycle_bytes`` per query it runs at once (over its start) retires: it takes no
new query and ends once it has answered those it runs, and the next request gets a fresh
fork: otherwise each worker would keep the high-water mark of the largest query it ran.

A one-off ``aside`` job (the overview's validation) runs in one more fork of the zygote,
beside the workers: it reads the loaded graph, holds no query's place, and its result comes
back on the control socket; killed past ``load_timeout`` (the work timeout), or dead without
a result, it is reported as ``Stopped("timeout")`` or ``Stopped("crash")`` instead.

The zygote is single-threaded: forking a process with threads (the HTTP server's, or a
worker's) would copy locks held by threads that do not exist in the child. A worker never
forks.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import itertools
import os
import pickle
import re
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from kgraph.server.backend import KGraphError, LimitError, Setting, die_with_parent


class Busy(Exception):
    """Every query slot stayed taken for longer than the queue wait."""


class Stopped(Exception):
    """The query passed its deadline ("timeout": its worker is drained and replaced) or
    its worker crashed ("crash": every query in it gets this)."""


@dataclass
class Bulk:
    """A handler's reply whose last item is a large byte string (an answer): the worker
    sends ``head`` pickled and ``data`` as raw bytes after it, which the HTTP process
    receives as one bytes object: the reply ``(*head, data)``. Pickling it whole would
    copy the answer once more on each side."""

    head: tuple[Any, ...]
    data: Any
    """A bytes-like object (a memoryview of the worker's buffer)."""


_BULK = "kgraph-bulk"


@dataclass
class _Call:
    """One query sent to a worker, as its caller waits for it."""

    done: threading.Event = field(default_factory=threading.Event)
    reply: Any = None
    crashed: bool = False
    abandoned: bool = False
    """Its caller got the timeout answer; the query may still run in the (drained) worker."""


@dataclass
class _Worker:
    pid: int
    conn: Connection
    send: threading.Lock = field(default_factory=threading.Lock)
    calls: dict[int, _Call] = field(default_factory=dict)
    """The queries sent to it and not yet answered (abandoned ones too)."""
    live: int = 0
    """Queries in it whose caller still waits (each holds one of the pool's slots)."""
    draining: bool = False
    """Takes no new query; killed once ``live`` is 0 (after a timeout, or retired)."""
    ended: bool = False
    free_since: float = 0.0
    up: bool = False
    """It said it started (``on_worker_start`` done): a death before that is no query's."""


Loader = Callable[[], Any]
"""Runs in the zygote: loads the graph, returns the state the workers share."""
Handler = Callable[[Any, Any], Any]
"""Runs in a worker, on one of its threads: (state, request) -> a picklable reply."""


class Pool:
    def __init__(
        self,
        loader: Loader,
        handler: Handler,
        *,
        size: int,
        memory_limit: int | None,
        load_timeout: float,
        threads: int = 1,
        on_worker_start: Callable[[Any], Any] | None = None,
        close_in_children: Sequence[int] = (),
        idle_timeout: float = 30.0,
        recycle_bytes: int = 16 * 1024 * 1024,
        aside: Callable[[Any], Any] | None = None,
        on_aside: Callable[[Any], None] | None = None,
        confine: Callable[[], None] | None = None,
    ) -> None:
        self.size = size
        """Most queries at once, in all workers."""
        self.threads = max(1, min(threads, size))
        """Most queries at once in one worker (its threads)."""
        self.processes = -(-size // self.threads)
        """Most workers taking queries (drained ones come on top, until they end)."""
        self.idle_timeout = idle_timeout
        self._recycle = recycle_bytes
        self._loader = loader
        self._handler = handler
        self._memory = memory_limit
        self._load_timeout = load_timeout
        self._on_worker_start = on_worker_start
        self._close_in_children = tuple(close_in_children)
        self._aside = aside
        self._confine = confine
        self._on_aside = on_aside
        # Guards everything below (and each worker's calls and counts).
        self._changed = threading.Condition()
        self._running: list[_Worker] = []
        """Workers started and not ended, in the order they came (draining ones too)."""
        self._forking = 0
        """Workers asked of the zygote and not yet handed over."""
        self._busy = 0
        """Queries whose caller waits: at most ``size``."""
        self._ids = itertools.count()
        self._control: socket.socket | None = None
        self._zygote = 0
        self._lock = threading.Lock()
        self._closed = False
        self.info: Any = None
        self.replaced = 0
        """Workers drained after a timeout, or lost to a crash while taking queries (each
        once: a drained worker that then crashes was counted, and replaced, already)."""
        self.retired = 0
        """Workers drained because a query left them grown past ``recycle_bytes``."""
        self._failed_starts = 0
        """Workers in a row that died before they were up: at ``_GIVE_UP`` none is forked
        again (each would die the same way: forking them at once was a storm of forks)."""

    # -- parent side ----------------------------------------------------------------------

    def start(self) -> Any:
        """Fork the zygote, wait for the graph to load; return what the loader reported.

        Call it before this process starts any thread, and :meth:`begin` after the last
        fork of this process."""
        # Records, not a stream: each message (and the socket it carries) arrives whole.
        parent_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the zygote; its effects are asserted by tests
            parent_end.close()
            _close(self._close_in_children)  # e.g. the listening socket: not the zygote's
            _zygote(
                zygote_end,
                self._loader,
                self._handler,
                _WorkerSettings(self._memory, self._recycle, self.threads),
                self._on_worker_start,
                self._aside,
                self._load_timeout,
                self._confine,
            )
        zygote_end.close()
        self._forking = 1  # the zygote forks the first worker once the graph is loaded
        self._zygote = pid
        self._control = parent_end
        kind, payload = self._receive(timeout=self._load_timeout)
        if kind == "error":
            self.close()
            raise payload if isinstance(payload, KGraphError) else KGraphError(str(payload))
        self.info = payload
        return payload

    def begin(self) -> None:
        """Start taking the workers the zygote hands over (their sockets wait till then)."""
        threading.Thread(target=self._receive_workers, name="kgraph-pool", daemon=True).start()
        threading.Thread(target=self._reap_idle, name="kgraph-pool-reaper", daemon=True).start()

    @property
    def workers(self) -> int:
        """Worker processes running now (draining ones too) or being forked."""
        with self._changed:
            return len(self._running) + self._forking

    def pids(self) -> list[int]:
        """The running workers' process ids (draining ones too)."""
        with self._changed:
            return [w.pid for w in self._running]

    def _receive(self, timeout: float | None) -> tuple[str, Any]:
        assert self._control is not None
        self._control.settimeout(timeout)
        try:
            message, fds, _, _ = socket.recv_fds(self._control, 1 << 20, 1)
        except TimeoutError:
            # Past its deadline: the zygote, still in the loader, would not see close().
            if self._zygote:  # never 0: that would signal this whole process group
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._zygote, signal.SIGKILL)
            self.close()
            raise LimitError(
                f"loading the graph took longer than {timeout:g} s; raise {Setting.WORK_TIMEOUT}",
                setting=Setting.WORK_TIMEOUT,
            ) from None
        if not message:
            return "error", KGraphError("the graph loader ended without a result")
        kind, payload = pickle.loads(message)
        if kind == "worker":
            return kind, _Worker(payload, Connection(fds[0]))
        return kind, payload

    def _receive_workers(self) -> None:
        answered = False
        while not self._closed:
            try:
                kind, payload = self._receive(timeout=None)
            except (OSError, KGraphError, EOFError, pickle.UnpicklingError):
                return
            if kind == "worker":
                self._arrived(payload)
            elif kind == "aside":
                answered = True
                if self._on_aside is not None:
                    self._on_aside(payload)
            elif kind == "aside-ended":  # sent by the zygote once it reaped the aside
                if not answered and self._on_aside is not None:
                    self._on_aside(Stopped(payload))
            elif kind == "error":
                return

    def _arrived(self, worker: _Worker) -> None:
        worker.free_since = time.monotonic()
        with self._changed:
            self._forking = max(0, self._forking - 1)
            self._running.append(worker)
            self._changed.notify_all()
        threading.Thread(
            target=self._read, args=(worker,), name=f"kgraph-pool-{worker.pid}", daemon=True
        ).start()

    def _accepting(self) -> list[_Worker]:
        return [w for w in self._running if not w.draining]

    def _fork_if_none(self) -> None:
        """Keep one worker ready (guarded by ``_changed``): when the last one taking
        queries drains, its replacement is forked at once, not at the next request."""
        if (
            not self._closed
            and self._failed_starts < _GIVE_UP
            and not self._accepting()
            and not self._forking
        ):
            self._forking += 1
            self._ask_zygote(b"s")

    def _take(self, wait: float) -> _Worker:
        """A worker with a free thread, its slot taken; Busy after ``wait`` seconds."""
        deadline = time.monotonic() + wait
        with self._changed:
            while True:
                if self._closed or self._failed_starts >= _GIVE_UP:
                    raise Busy
                if self._busy < self.size:
                    room = [w for w in self._accepting() if w.live < self.threads]
                    idle = [w for w in room if not w.live]
                    more = len(self._accepting()) + self._forking < self.processes
                    if not idle and more and not self._forking:
                        # Every worker runs a query: fork one more (milliseconds). The
                        # engine holds the GIL, so a query shares a CPU with those in its
                        # worker: a worker of its own runs it on another CPU.
                        self._forking += 1
                        self._ask_zygote(b"s")
                    if room:
                        # An idle worker, else the least busy one: the fork above serves
                        # the next request. A worker left idle is stopped by the reaper.
                        worker = idle[-1] if idle else min(room, key=lambda w: w.live)
                        worker.live += 1
                        self._busy += 1
                        return worker
                    if more:
                        # Every worker's threads are taken: fork one more.
                        self._forking += 1
                        self._ask_zygote(b"s")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Busy
                self._changed.wait(left)

    def _ask_zygote(self, message: bytes) -> None:
        with self._lock:
            if self._control is not None and not self._closed:
                with contextlib.suppress(OSError):
                    self._control.sendall(message)

    def _reap_idle(self) -> None:
        """Stop workers left idle for ``idle_timeout`` seconds, keeping one."""
        while not self._closed:
            time.sleep(min(5.0, max(self.idle_timeout / 4, 0.05)))
            now = time.monotonic()
            with self._changed:
                for worker in self._accepting()[:-1]:  # the newest stays
                    if (
                        not worker.live
                        and not worker.calls
                        and now - worker.free_since >= self.idle_timeout
                        and len(self._accepting()) > 1
                    ):
                        self._end(worker)

    def _end(self, worker: _Worker) -> None:
        """Stop a worker (guarded by ``_changed``): nothing in it has a caller any more."""
        worker.ended = True
        if worker in self._running:
            self._running.remove(worker)
        # Killed, not asked: a query past its deadline cannot be interrupted. Its reader
        # thread then reads the end of the socket and closes it.
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker.pid, signal.SIGKILL)  # the zygote reaps it
        self._changed.notify_all()

    def _read(self, worker: _Worker) -> None:
        """The worker's answers, handed to their callers as they come (any order)."""
        while True:
            try:
                number, retire, reply = worker.conn.recv()
                if isinstance(reply, tuple) and reply[:1] == (_BULK,):
                    reply = (*reply[1], worker.conn.recv_bytes())
            except (EOFError, OSError, pickle.UnpicklingError):
                break
            if number < 0:  # it is up
                with self._changed:
                    worker.up = True
                    self._failed_starts = 0
                continue
            with self._changed:
                call = worker.calls.pop(number, None)
                if retire and not worker.draining:
                    # It grew: it takes no new query and ends after those it runs.
                    worker.draining = True
                    self.retired += 1
                    self._fork_if_none()
                if call is not None and not call.abandoned:
                    worker.live -= 1
                    self._busy -= 1
                    call.reply = reply
                    call.done.set()
                if not worker.live:
                    worker.free_since = time.monotonic()
                    if worker.draining:
                        self._end(worker)
                self._changed.notify_all()
        with self._changed:
            if not worker.ended:  # it crashed (or was killed from outside)
                self._end(worker)
                if not worker.draining:  # else counted, and replaced, when its drain began
                    self.replaced += 1
                if not worker.up:
                    self._failed_starts += 1
            for call in worker.calls.values():
                if not call.abandoned:
                    worker.live -= 1
                    self._busy -= 1
                    call.crashed = True
                    call.done.set()
            worker.calls.clear()
            self._fork_if_none()
            self._changed.notify_all()
        worker.conn.close()

    def run(self, request: Any, *, timeout: float, wait: float) -> Any:
        """The worker's reply to ``request``; Busy when no slot frees up within ``wait``
        seconds, Stopped when the query takes longer than ``timeout`` (its worker takes no
        new query and is killed and replaced once its other queries are answered) or its
        worker crashed."""
        worker = self._take(wait)
        call = _Call()
        number = next(self._ids)
        with self._changed:
            worker.calls[number] = call
        try:
            with worker.send:
                worker.conn.send((number, request))
        except (OSError, ValueError):
            # It ended meanwhile (a crash): its reader fails the call, if it has not yet.
            with self._changed:
                if worker.calls.pop(number, None) is not None and not call.done.is_set():
                    worker.live -= 1
                    self._busy -= 1
                    call.crashed = True
                    call.done.set()
                    self._changed.notify_all()
        except BaseException:
            # Never sent (it would not pickle; nothing is written before that): its slot
            # is given back, or it would stay taken for ever.
            with self._changed:
                if worker.calls.pop(number, None) is not None:
                    worker.live -= 1
                    self._busy -= 1
                    self._changed.notify_all()
            raise
        if not call.done.wait(timeout):
            with self._changed:
                if not call.done.is_set():
                    call.abandoned = True
                    worker.live -= 1
                    self._busy -= 1
                    if not worker.draining:
                        worker.draining = True
                        self.replaced += 1
                        self._fork_if_none()
                    if not worker.live:
                        self._end(worker)
                    self._changed.notify_all()
                    raise Stopped("timeout")
        if call.crashed:
            raise Stopped("crash")
        return call.reply

    def alive(self) -> bool:
        """Whether the zygote still runs (without it, no worker can be replaced) and its
        workers do not die as they start."""
        if not self._zygote or self._failed_starts >= _GIVE_UP:
            return False
        try:
            done, _ = os.waitpid(self._zygote, os.WNOHANG)
        except ChildProcessError:
            done = self._zygote
        if done:
            self._zygote = 0
        return not done

    def close(self) -> None:
        """Stop the zygote (which stops its workers)."""
        self._closed = True
        with self._lock:
            if self._control is not None:
                # Shut down first: a close() alone leaves the socket open while the
                # receiving thread sits in recv on it, and the zygote would never see
                # the end (it would be SIGKILLed below, leaving its children running).
                with contextlib.suppress(OSError):
                    self._control.shutdown(socket.SHUT_RDWR)
                self._control.close()
                self._control = None
        with self._changed:
            self._changed.notify_all()
        if self._zygote:
            deadline = time.monotonic() + 5
            with contextlib.suppress(ChildProcessError):
                while time.monotonic() < deadline:
                    done, _ = os.waitpid(self._zygote, os.WNOHANG)
                    if done:
                        break
                    time.sleep(0.05)
                else:
                    os.kill(self._zygote, signal.SIGKILL)
                    os.waitpid(self._zygote, 0)
            self._zygote = 0


_GIVE_UP = 3
"""Workers in a row dying before they are up after which the pool forks no more."""


def _close(fds: Sequence[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


# -- the zygote and its workers ----------------------------------------------------------


def _zygote(  # pragma: no cover - child process
    control: socket.socket,
    loader: Loader,
    handler: Handler,
    settings: _WorkerSettings,
    on_worker_start: Callable[[Any], Any] | None,
    aside: Callable[[Any], Any] | None,
    aside_timeout: float,
    confine: Callable[[], None] | None = None,
) -> None:
    status = 0
    children: set[int] = set()
    helper, helper_deadline, stopped = 0, 0.0, "crash"
    try:
        # Killed with the HTTP process, even while it loads (it reads no socket then);
        # its helpers (the store's builder, the aside) die with it in turn.
        die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the HTTP process
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            if confine is not None:  # before any input is read; every fork inherits it
                confine()
            state, info = loader()
        except KGraphError as err:
            control.sendall(pickle.dumps(("error", err)))
            return
        except MemoryError:
            control.sendall(pickle.dumps(("error", KGraphError("out of memory loading the graph"))))
            return
        # What the loader left behind is collected now, and everything alive is moved out of
        # the collector's sight: a worker's collections then never write to (and copy) the
        # pages of objects it shares with this process.
        gc.collect()
        gc.freeze()
        control.sendall(pickle.dumps(("ready", info)))
        children.add(_spawn(control, state, handler, settings, on_worker_start))
        if aside is not None:
            helper = _run_aside(control, state, aside, settings.memory, on_worker_start)
            children.add(helper)
            # Bounded as `kgraph validate` is, by the work timeout.
            helper_deadline = time.monotonic() + aside_timeout
        while True:
            ready, _, _ = select.select([control], [], [], 1.0)
            _reap(children)
            if helper and helper not in children:
                # Ended: its result, if it sent one, is already on the socket before this.
                control.sendall(pickle.dumps(("aside-ended", stopped)))
                helper = 0
            elif helper and time.monotonic() > helper_deadline:
                stopped = "timeout"
                with contextlib.suppress(ProcessLookupError):
                    os.kill(helper, signal.SIGKILL)  # reaped and reported on the next round
            if not ready:
                continue
            data = control.recv(64)
            if not data:
                break  # the HTTP process is gone
            for _ in range(data.count(b"s")):
                children.add(_spawn(control, state, handler, settings, on_worker_start))
    except BaseException:
        status = 70
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _reap(children, block=True)
        os._exit(status)


def _reap(children: set[int], *, block: bool = False) -> None:  # pragma: no cover - zygote
    for pid in list(children):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)


def _spawn(  # pragma: no cover - zygote
    control: socket.socket,
    state: Any,
    handler: Handler,
    settings: _WorkerSettings,
    on_worker_start: Callable[[Any], Any] | None,
) -> int:
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        control.close()
        theirs.close()
        _worker(mine, state, handler, settings, on_worker_start)
    mine.close()
    socket.send_fds(control, [pickle.dumps(("worker", pid))], [theirs.fileno()])
    theirs.close()
    return pid


def _run_aside(  # pragma: no cover - zygote
    control: socket.socket,
    state: Any,
    aside: Callable[[Any], Any],
    memory: int | None,
    on_worker_start: Callable[[Any], Any] | None,
) -> int:
    """Fork a one-off child that runs ``aside(state)`` on the loaded graph and sends its
    (small, picklable) result to the HTTP process as an ("aside", result) record. It counts
    as no worker: a long job (the overview's validation) never holds a query's place."""
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:
        die_with_parent()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # As in a worker: native code's own complaints ("terminate called ...") stay off
        # the server's log; the overview says the validation could not run.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        _limit_memory(memory)
        if on_worker_start is not None:
            state = on_worker_start(state)
        control.sendall(pickle.dumps(("aside", aside(state))))
    except BaseException:
        status = 70
    finally:
        os._exit(status)


def _limit_memory(memory: int | None) -> None:  # pragma: no cover - child processes
    if memory:
        import resource

        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


@dataclass(frozen=True)
class _WorkerSettings:
    memory: int | None
    """The address-space limit of each worker (RLIMIT_AS), or none."""
    recycle: int
    """Private bytes a worker may grow by, per query it runs at once, before it retires."""
    threads: int
    """Queries one worker runs at once, each on a thread of its own."""


def _worker(  # pragma: no cover - worker process
    sock: socket.socket,
    state: Any,
    handler: Handler,
    settings: _WorkerSettings,
    on_worker_start: Callable[[Any], Any] | None,
) -> None:
    """Answer the queries the HTTP process sends, several at once on threads sharing
    ``state`` (one store, one block cache); each answer goes back tagged with its
    request's number, in the order they finish."""
    status = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # Native code writes its own complaints (Rust's "memory allocation failed") to fd 2;
        # the client gets the server's one-line error instead.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        _limit_memory(settings.memory)
        if on_worker_start is not None:
            state = on_worker_start(state)  # once: every thread shares what it opened
        # A query thread comes back from Oxigraph's evaluation (no GIL) for each chunk of
        # its answer it writes; while another thread runs Python, it waits for the GIL up to
        # the switch interval each time (5 ms by default: seconds over a large answer).
        sys.setswitchinterval(0.0005)
        conn = Connection(sock.detach())
        conn.send((-1, False, None))  # up: what dies from now on dies with its queries
        trim = malloc_trimmer()
        start = _private_bytes()
        sending = threading.Lock()
        counting = threading.Lock()
        running = [0]

        def answer(number: int, request: Any) -> None:
            try:
                try:
                    reply = handler(state, request)
                except MemoryError:
                    reply = (
                        "error",
                        503,
                        "the query ran out of memory (the server's memory limit)",
                    )
                trim()
                with counting:
                    running[0] -= 1
                    others = running[0]
                # Each query still running may hold its working memory: one allowance each.
                allowed = settings.recycle * (1 + others) + _size(reply)
                retire = _private_bytes() - start > allowed
                with sending:  # a Bulk reply is two records, which must stay together
                    if isinstance(reply, Bulk):
                        conn.send((number, retire, (_BULK, reply.head)))
                        conn.send_bytes(reply.data)
                    else:
                        conn.send((number, retire, reply))
            except BaseException:
                # What the handler did not turn into an answer (or a reply that cannot be
                # sent) ends the worker, as it did with one query per worker: the HTTP
                # process answers each query in it "crashed", none waits for its timeout.
                os._exit(70)

        # The HTTP process sends at most ``threads`` queries at once: none waits here.
        with ThreadPoolExecutor(settings.threads, thread_name_prefix="kgraph-query") as threads:
            while True:
                try:
                    number, request = conn.recv()
                except (EOFError, OSError):
                    break
                with counting:
                    running[0] += 1
                threads.submit(answer, number, request)
            os._exit(0)  # the HTTP process is gone: nobody waits for what still runs
    except BaseException:
        status = 70
    finally:
        os._exit(status)


def _size(reply: Any) -> int:  # pragma: no cover - worker
    """Bytes of the answer a reply holds (not counted as growth: it is freed once sent)."""
    return int(memoryview(reply.data).nbytes) if isinstance(reply, Bulk) else 0


def _private_bytes() -> int:  # pragma: no cover - worker
    """This process's private memory (pages no other process shares), from Linux /proc; 0
    where there is none to read (the worker is then never retired for its memory)."""
    try:
        with open("/proc/self/smaps_rollup") as rollup:
            text = rollup.read()
    except OSError:
        return 0
    return 1024 * sum(int(kb) for kb in re.findall(r"^Private_\w+:\s+(\d+) kB", text, re.M))


def tune_malloc() -> None:
    """Make glibc's malloc give memory back (call it before forking the zygote, whose
    processes inherit it). By default a freed large block raises the threshold above which
    blocks are mapped on their own, so after one big answer every later one is carved from
    the heap and stays there; and each thread gets an arena of its own, which the HTTP
    process's thread per connection multiplies. A fixed threshold returns each large
    block when freed; two arenas bound the rest. A no-op where there is no glibc."""
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return
    m_mmap_threshold, m_arena_max = -3, -8  # glibc's <malloc.h>
    mallopt(m_mmap_threshold, 256 * 1024)
    mallopt(m_arena_max, 2)


def malloc_trimmer() -> Callable[[], object]:
    """glibc's malloc_trim(0), which returns the freed heap to the system (freeing alone
    keeps it in the process); a no-op elsewhere."""
    function = _libc_function("malloc_trim")
    if function is None:
        return lambda: None
    return lambda: function(0)


def _libc_function(name: str) -> Any:
    """``name`` from the C library this process already has loaded, or None. Not through
    ``ctypes.util.find_library``: it runs ldconfig or a C compiler in a child process and
    writes a temporary file, which a confined worker may not (nor should it need to)."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
