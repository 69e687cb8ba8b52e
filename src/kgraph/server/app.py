"""What the server's threads share: its settings, the pool, the graphs, the canned
queries, and the answers and labels the pages have already asked for."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kgraph.server import backend
from kgraph.server.backend import KGraphError
from kgraph.server.pool import Busy, Pool, Stopped


def default_workers() -> int:
    """``kgraph serve --workers`` unless given: two per CPU, at least 8 (at most 64).

    The most queries the server runs at once. What a low bound costs is that a fast
    query queues behind slow ones (each runs to its end or its timeout); more queries
    than CPUs lets the system share the CPUs among them as a threaded server does. They
    run on the threads of worker processes (``--threads`` each, by default all in one);
    each worker's memory is bounded by ``--max-memory``."""
    return min(64, max(8, 2 * (os.cpu_count() or 1)))


def default_threads(workers: int) -> int:
    """``kgraph serve --threads`` unless given: ``workers`` shared by one process per CPU.

    Pyoxigraph (0.5) holds the GIL while it evaluates and serialises a query: the threads
    of one worker take turns, they do not run at once (measured: two threads running
    canned queries in one process used 1.0 CPU of 2, each query twice as long). A worker
    per CPU lets the queries use every CPU, as Oxigraph's threads do; more would cost
    memory (an interpreter and a block cache each) and no speed."""
    return max(1, -(-workers // (os.cpu_count() or 1)))


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 7878
    workers: int = field(default_factory=default_workers)
    """Most queries at once, in all the worker processes."""
    threads: int | None = None
    """Most queries at once in one worker process, on threads sharing its store; None:
    ``workers`` shared by one process per CPU (:func:`default_threads`)."""
    idle_timeout: float = 30.0
    """Seconds a spare worker may stay idle before it stops (one always stays)."""

    @property
    def per_worker(self) -> int:
        """Queries one worker process runs at once."""
        return max(1, min(self.threads or default_threads(self.workers), self.workers))

    timeout: float = 30.0
    """Seconds one query may run before its client gets a 503 (and its worker, drained of
    the other queries it runs, is killed)."""
    max_bytes: int = 64 * 1024 * 1024
    """Largest answer (bytes, as serialised)."""
    max_rows: int = 100_000
    """Most rows in a SELECT answer; more gets a 422, never a cut answer."""
    queue_wait: float = 10.0
    """Seconds a request waits for a free query slot before a 503."""
    max_body: int = 1024 * 1024
    """Largest request body (a query sent by POST)."""
    max_connections: int = 256
    quiet: bool = False
    in_memory: bool = False
    """Hold the graph in the zygote's memory rather than in an on-disk store (the store in
    the user's cache folder, when no ``--store`` is given)."""


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())
        self.headers = dict(headers or {})


@dataclass
class App:
    """What the handler threads share: the pool, the graphs, the canned queries."""

    settings: Settings
    pool: Pool
    project: backend.Layout
    limits: backend.Limits
    graphs: dict[str, int]
    canned: dict[str, backend.CannedQuery]
    validation: backend.ValidationStatus | None = None
    labels: dict[str, str] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    """The pages' own queries, answered once: the graph does not change while served."""
    bound: dict[tuple[str, tuple[tuple[str, str], ...]], str] = field(default_factory=dict)
    """Canned queries' texts by their parameters, once resolved against the graph."""
    _labels_lock: threading.Lock = field(default_factory=threading.Lock)
    _cached_bytes: int = 0
    _held: int = 0
    """Bytes of answers being written to their clients."""

    def hold(self, size: int) -> int:
        """Count an answer of ``size`` bytes as held until :meth:`release`; a 503 when the
        answers held for clients still reading them would pass ``workers x max_bytes``
        (what the workers may hold at once): clients that never read cannot pin more."""
        with self._labels_lock:
            if self._held and self._held + size > self.settings.workers * self.settings.max_bytes:
                raise HttpError(
                    503,
                    "the server holds as many answers as it may for clients still reading "
                    "them; try again shortly",
                    {"Retry-After": "1"},
                )
            self._held += size
        return size

    def release(self, size: int) -> None:
        with self._labels_lock:
            self._held -= size

    def run(self, request: dict[str, Any]) -> bytes:
        request.setdefault("max_bytes", self.settings.max_bytes)
        request.setdefault("max_rows", self.settings.max_rows)
        try:
            reply = self.pool.run(
                request, timeout=self.settings.timeout, wait=self.settings.queue_wait
            )
        except Busy:
            if not self.pool.alive():
                raise HttpError(
                    503,
                    "the query workers are gone (killed from outside, or they end as they "
                    "start: the server's memory limit?); restart kgraph serve",
                ) from None
            raise HttpError(
                503,
                f"all {self.settings.workers} query slots are busy; try again shortly",
                {"Retry-After": "1"},
            ) from None
        except Stopped as stop:
            if str(stop) == "timeout":
                raise HttpError(
                    503,
                    # What the server sends names no flag of its command: a client
                    # cannot change them, the server's operator knows them.
                    f"the query took longer than {self.settings.timeout:g} s and was stopped "
                    "(the server's query timeout)",
                ) from None
            raise HttpError(
                503,
                # A worker runs several queries: another one in it may have crashed it.
                "the query's worker crashed (out of memory, or a query in it too deeply "
                "nested) and the query was stopped (the server's memory limit)",
            ) from None
        if reply[0] == "ok":
            data: bytes = reply[1]
            return data
        raise HttpError(int(reply[1]), str(reply[2]))

    def select(self, text: str) -> tuple[list[str], list[dict[str, Any]]]:
        """A SELECT run through the pool, as (variables, W3C JSON bindings)."""
        known = self.answers.get(text)
        if known is not None:
            return known  # type: ignore[no-any-return]
        raw = self.run({"op": "sparql", "text": text, "format": "json"})
        data = json.loads(raw)
        answer = list(data["head"].get("vars", [])), list(data["results"]["bindings"])
        with self._labels_lock:
            # Counted as received, kept parsed: JSON bindings as Python objects take 2 to 6
            # times their text, so 16 MB of answers is about 100 MB held at most.
            if self._cached_bytes + len(raw) > 16 * 1024 * 1024:
                self.answers.clear()
                self._cached_bytes = 0
            if len(raw) <= 2 * 1024 * 1024:
                self.answers[text] = answer
                self._cached_bytes += len(raw)
        return answer

    def canned_select(
        self, name: str, pairs: Sequence[tuple[str, str]] = ()
    ) -> tuple[list[str], list[dict[str, Any]]]:
        canned = self.canned.get(name)
        if canned is None:
            raise HttpError(404, f"no canned query {name!r} in this project")
        return self.select(self.bind(canned, pairs))

    def resolve(self, name: str) -> str:
        """The IRI a name gives in the graph, resolved by a worker (the HTTP process holds no
        graph); an unknown or ambiguous name is a 400 with the CLI's line."""
        key = ("", (("resolve", name),))
        known = self.bound.get(key)
        if known is not None:
            return known
        iri = self.run({"op": "resolve", "text": name}).decode()
        with self._labels_lock:
            if len(self.bound) >= 4096:  # names come from clients: keep it bounded
                self.bound.clear()
            self.bound[key] = iri
        return iri

    def bind(self, canned: backend.CannedQuery, pairs: Sequence[tuple[str, str]]) -> str:
        """The canned query's text with ``pairs`` bound as ``kgraph query -p`` binds them:
        a name or an IRI is resolved and checked against the graph by a worker (the HTTP
        process holds no graph); a wrong one is a 400 with the CLI's line."""
        key = (canned.name, tuple(pairs))
        known = self.bound.get(key)
        if known is not None:
            return known
        try:
            text = backend.bind_canned(canned, pairs)
        except KGraphError as err:
            raise HttpError(400, str(err)) from None
        if text is None:
            raw = self.run({"op": "bind", "query": canned, "pairs": list(pairs)})
            text = raw.decode()
        with self._labels_lock:
            if len(self.bound) >= 4096:  # parameters come from clients: keep it bounded
                self.bound.clear()
            self.bound[key] = text
        return text
