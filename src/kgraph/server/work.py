"""What the pool's processes do: load the graph (zygote) and answer one query (worker).

Answers are rendered in the worker, into a buffer that refuses to grow past the byte
limit, so a huge result costs the worker its budget, never the HTTP process its memory.
"""

from __future__ import annotations

import csv
import gc
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from kgraph.server import backend
from kgraph.server.backend import KGraphError, LimitError
from kgraph.server.pool import Bulk

MB = 1024 * 1024

RECYCLE = 16 * MB
"""What a worker may keep of its queries' memory (after ``malloc_trim``) before it retires."""
BLOCK_CACHE = 32 * MB
"""What a worker's on-disk store keeps in its RocksDB block cache once warm, on top of
:data:`RECYCLE`: Oxigraph opens a store read-only with RocksDB's default cache (32 MB),
which the worker's threads share; measured at 100k triples, a worker that ran every
canned query twice grew by 26 MB and then no more. Counted as growth it would retire the
worker every few queries, and each fresh one would start with a cold cache."""


@dataclass
class Loaded:
    project: backend.Layout
    limits: backend.Limits
    store_dir: Path | None
    dataset: backend.Dataset | None
    forms: Any = None
    """The project files' literals as written (``kgraph.exact.SourceForms``), read once in
    the zygote: a Graph Store GET writes them, as ``export`` does, not the store's forms."""
    sources: Any = None
    """With an on-disk store: the files it was built from (the workers' dataset lists their
    graphs as the union default graph, as at start)."""


class TooBig(Exception):
    pass


class TooManyRows(Exception):
    pass


class CappedBuffer(io.RawIOBase):
    """A write-only byte buffer that raises :class:`TooBig` past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self._limit = limit
        self._buffer = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = len(data)
        if self._buffer.tell() + size > self._limit:
            raise TooBig
        self._buffer.write(data)
        return size

    def getvalue(self) -> bytes:
        return self._buffer.getvalue()

    def size(self) -> int:
        return self._buffer.getbuffer().nbytes

    def view(self) -> memoryview:
        """The bytes written, not copied (an answer of tens of MB is held once)."""
        return self._buffer.getbuffer()

    def reader(self) -> io.BytesIO:
        """The bytes written, to read from the start (no copy)."""
        self._buffer.seek(0)
        return self._buffer


def load(project: backend.Layout, limits: backend.Limits, store_dir: Path | None) -> Any:
    """In the zygote: load the dataset (in memory), or bring the on-disk store up to date;
    say which graphs it has."""
    if store_dir is not None:
        return _load_store(project, limits, store_dir)
    dataset = backend.open_dataset(project, limits, None)
    info = {"graphs": dataset.graph_sizes(backend.graphs(dataset))}
    return Loaded(project, limits, None, dataset, dataset.source_forms()), info


def _load_store(project: backend.Layout, limits: backend.Limits, store_dir: Path) -> Any:
    """Refresh the on-disk store in a child of the zygote, which then holds nothing of it,
    and compact it (:func:`backend.compact_store`: the queries read it many times).

    What building, counting and reading the files leave in a process's heap (tens of MB at
    100k triples, freed but not handed back) would otherwise stay in the zygote, and every
    worker forked from it would map it. The zygote keeps only the store's lock (shared:
    nobody may change the store while it is served; the workers inherit it) and the small
    snapshot the workers need: the files the store was built from, their literals' forms.
    """
    import pickle

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the builder child; its effects are asserted by tests
        os.close(reader)
        status = 0
        try:
            backend.die_with_parent()  # a zygote killed mid-load takes its build with it
            try:
                # Brought up to date, closed, compacted for the reads to come, reopened.
                dataset = backend.open_dataset(project, limits, store_dir)
                del dataset
                gc.collect()  # its read-only store closed before the writer opens
                backend.compact_store(store_dir, limits)
                dataset = backend.open_dataset(project, limits, store_dir)
                info = {"graphs": dataset.graph_sizes(backend.graphs(dataset))}
                reply: Any = ("ok", info, dataset.sources, dataset.source_forms())
            except KGraphError as err:
                reply = ("error", err)
            except MemoryError:
                reply = ("error", KGraphError("out of memory loading the graph"))
            with os.fdopen(writer, "wb") as out:
                pickle.dump(reply, out)
        except BaseException:
            status = 70
        finally:
            os._exit(status)
    os.close(writer)
    with os.fdopen(reader, "rb") as source:
        data = source.read()
    os.waitpid(pid, 0)
    if not data:
        raise KGraphError("loading the graph into the store failed (its process ended early)")
    reply = pickle.loads(data)
    if reply[0] == "error":
        raise reply[1]
    _, info, sources, forms = reply
    # Held from here to the end of the server (workers inherit it); then checked: another
    # kgraph may have refreshed the store between the child's end and this lock.
    backend.hold_store(store_dir, limits, sources)
    return Loaded(project, limits, store_dir, None, forms, sources), info


def reopen(state: Loaded) -> Loaded:
    """In a new worker: open the on-disk store read-only, as the zygote found it fresh.

    Never refreshed here: a file changed since the server started must not change what
    one worker answers while the others answer from the graph as it was (the in-memory
    server answers from the graph it loaded at start as well)."""
    if state.dataset is None:
        assert state.store_dir is not None
        state.dataset = backend.open_read_only(
            state.project, state.limits, state.store_dir, state.sources
        )
    return state


def validate(state: Loaded) -> backend.ValidationStatus:
    """In a fork of the zygote: the overview's validation, on the graph it loaded."""
    assert state.dataset is not None
    return backend.validation_status(state.dataset, state.project, state.limits, state.store_dir)


def verdict(result: Any, limits: backend.Limits) -> backend.ValidationStatus:
    """The validation's result as the overview shows it: its process killed at the work
    timeout, or dead without a result (out of memory), is a validation that could not run."""
    if isinstance(result, backend.ValidationStatus):
        return result
    if str(result) == "timeout":
        error = f"it took longer than {limits.work_timeout:g} s (the server's work timeout)"
    else:
        error = "its process ended early (out of memory?)"
    return backend.ValidationStatus(False, 0, 0, 0, error=error)


def handle(state: Loaded, request: dict[str, Any]) -> tuple[Any, ...] | Bulk:
    """One request, in a worker: ("ok", bytes) or ("error", HTTP status, one line)."""
    assert state.dataset is not None
    limit = int(request["max_bytes"])
    output = CappedBuffer(limit)
    try:
        if request["op"] == "graph":
            _graph(state.dataset, request, output, state.forms)
        elif request["op"] == "bind":
            # Names are resolved where the graph is (and its names file, if on disk).
            text = backend.bind_in_graph(state.dataset, request["query"], request["pairs"])
            output.write(text.encode())
        elif request["op"] == "resolve":
            output.write(backend.resolve_in_graph(state.dataset, request["text"]).encode())
        else:
            _sparql(state.dataset, request, output)
    except TooBig:
        return (
            "error",
            422,
            f"the result is larger than {_size(limit)} (the server's result limit); add a LIMIT",
        )
    except TooManyRows:
        # 422 as for the size limit: the query was understood, its answer passes a limit of
        # this server; refusing it whole, never cutting it, so no client reads a partial
        # answer as the complete one.
        return (
            "error",
            422,
            f"the result has more than {int(request['max_rows']):,} rows (the server's row "
            "limit); add a LIMIT",
        )
    except LimitError as err:
        return "error", 503, _one_line(err)
    except KGraphError as err:
        return "error", 400, _one_line(err)
    except (ValueError, OSError, TypeError) as err:
        return "error", 400, _one_line(err)
    except Exception as err:  # an engine failure we did not foresee: one line, not a crash
        return "error", 500, f"the engine failed: {type(err).__name__}: {_one_line(err)}"
    # Sent as raw bytes after the reply's head (pool.Bulk): a pickled reply would be one
    # more copy of the answer in the worker, and its unpickling one more in the HTTP process.
    return Bulk(("ok",), output.view())


def _sparql(dataset: backend.Dataset, request: dict[str, Any], output: CappedBuffer) -> None:
    import pyoxigraph as ox

    result = backend.query(
        dataset,
        request["text"],
        default_graphs=request.get("default", ()),
        named_graphs=request.get("named", ()),
    )
    fmt = request["format"]
    if isinstance(result, ox.QuerySolutions | ox.QueryBoolean):
        results_format = getattr(ox.QueryResultsFormat, fmt.upper())
        result.serialize(cast(IO[bytes], output), format=results_format)
        if isinstance(result, ox.QuerySolutions):
            _check_rows(output, fmt, int(request["max_rows"]))
        return
    syntax = backend.RdfSyntax.from_name(fmt)
    items: Any = result
    if syntax.quads:
        items = (ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in result)
    backend.serialize_graph(items, syntax, cast(IO[bytes], output))


def _graph(
    dataset: backend.Dataset, request: dict[str, Any], output: CappedBuffer, forms: Any = None
) -> None:
    """Graph Store Protocol GET: one named graph, or the default (union) graph, with each
    literal as the project's files write it (``"12"^^xsd:long``, not the store's
    ``xsd:integer``), as ``kgraph export`` writes them."""
    import pyoxigraph as ox

    syntax = backend.RdfSyntax.from_name(request["format"])
    graph = request.get("graph")
    forms = dataset.source_forms() if forms is None else forms
    if graph:
        triples: Any = (q.triple for q in dataset.exact_quads([graph], forms))
    else:  # the union, each triple once
        union = backend.query(dataset, "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
        triples = _exact_union(dataset, union, forms)
    items: Any = triples
    if syntax.quads:
        items = (ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    backend.serialize_graph(items, syntax, cast(IO[bytes], output))


def _exact_union(dataset: backend.Dataset, union: Any, forms: Any) -> Iterator[Any]:
    """The union's triples, each whose literal the store rewrote replaced by the forms the
    graphs holding it wrote (each form once): the stream of the union stays a stream, only
    a triple whose object some file wrote in another form is looked up."""
    import pyoxigraph as ox

    rewritten = forms.by_object
    default = set(dataset.asserted_graphs()) | set(dataset.inferred_graphs)
    for triple in union:
        if triple.object not in rewritten:
            yield triple
            continue
        holders = [
            q.graph_name.value
            for q in dataset.store.quads_for_pattern(
                triple.subject, triple.predicate, triple.object, None
            )
            if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value in default
        ]

        def one(graph: str, t: Any = triple) -> list[Any]:
            return [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph))]

        written = dict.fromkeys(q.triple for q in dataset.exact_quads(holders, forms, quads=one))
        yield from written or (triple,)


def _check_rows(output: CappedBuffer, fmt: str, limit: int) -> None:
    """Raise :class:`TooManyRows` if the serialised SELECT answer has more than ``limit`` rows.

    Pyoxigraph's solutions are a one-pass iterator with no constructor, so the rows are
    counted in the answer as serialised: as TSV lines, TSV read in place, JSON and XML
    turned into TSV by Oxigraph (iterating the rows in Python would hold the GIL for
    seconds, stalling the worker's other query threads). Every row takes at
    least one byte in every format, so an answer of at most ``limit`` bytes is within the
    limit without counting: small answers (nearly all) cost nothing.
    """
    import pyoxigraph as ox

    if output.size() <= limit:
        return
    if fmt == "csv":
        # Oxigraph will not parse CSV results (lossy); Python's reader handles the quoted
        # fields that hold line breaks. The first record is the header.
        text = io.TextIOWrapper(output.reader(), encoding="utf-8", newline="")
        try:
            rows = sum(1 for _ in csv.reader(text)) - 1
        finally:
            text.detach()  # the buffer stays open: it is the answer
    else:
        # TSV: one row a line (a literal's line breaks are escaped as \n).
        if fmt == "tsv":
            tsv: Any = output.view()
        else:
            parsed = ox.parse_query_results(
                output.reader(), format=getattr(ox.QueryResultsFormat, fmt.upper())
            )
            tsv = cast(ox.QuerySolutions, parsed).serialize(format=ox.QueryResultsFormat.TSV)
        rows = _lines(tsv) - 1  # the first line is the header
    if rows > limit:
        raise TooManyRows


def _lines(data: Any) -> int:
    """Line breaks in a bytes-like object, counted a MB at a time (never copied whole)."""
    view = memoryview(data)
    step = 1 << 20
    return sum(bytes(view[at : at + step]).count(b"\n") for at in range(0, view.nbytes, step))


def _size(limit: int) -> str:
    return f"{limit // MB} MB" if limit >= MB else f"{limit} bytes"


def _one_line(err: object) -> str:
    return " ".join(str(err).split())
