"""The server's one door to the rest of kgraph.

Everything ``kgraph serve`` needs from the library goes through the functions here, so
that a change of the library's shape (a ``Project`` front door, a ``cli/`` package) means
re-pointing this module, not the server. Nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kgraph.errors import KGraphError, LimitError, Setting, StorageError
from kgraph.formats import RdfSyntax
from kgraph.fsutil import write_atomic
from kgraph.guards import check_query
from kgraph.layout import Layout, SourceFile
from kgraph.limits import Limits
from kgraph.namespaces import GRAPH, PREFIXES, expand, shorten
from kgraph.queries import CannedQuery, Name, bind, registry, resolve_names, with_values
from kgraph.sandbox import die_with_parent
from kgraph.sandbox import enter as enter_sandbox
from kgraph.store import (
    STORE_COMPACTED,
    STORE_FORMAT,
    STORE_LOCK,
    Dataset,
    file_stamp,
    lock_wait,
    read_store_meta,
    store_lock,
    syntax_error,
)
from kgraph.store import read_only as read_only_store
from kgraph.usercache import ENV as CACHE_ENV
from kgraph.usercache import cache_root

__all__ = [
    "CACHE_ENV",
    "GRAPH",
    "PREFIXES",
    "STORE_FORMAT",
    "STORE_LOCK",
    "CannedQuery",
    "Dataset",
    "KGraphError",
    "Layout",
    "LimitError",
    "Limits",
    "RdfSyntax",
    "Setting",
    "StorageError",
    "ValidationStatus",
    "bind_canned",
    "bind_in_graph",
    "cache_root",
    "canned_queries",
    "check",
    "compact_store",
    "confine",
    "die_with_parent",
    "expand",
    "file_stamp",
    "hold_store",
    "locate_project",
    "open_dataset",
    "open_read_only",
    "query",
    "resolve_in_graph",
    "serialize_graph",
    "shorten",
    "validation_status",
]


def locate_project(directory: str | None) -> Layout:
    return Layout.locate(directory)


def confine(
    project: Layout, limits: Limits, store_dir: Path | None
) -> tuple[Callable[[], None], Callable[[], None]]:
    """How the server's processes confine themselves (:mod:`kgraph.sandbox`), as a CLI
    command's worker does: no network, read only the project and the interpreter, write
    only the store (or the sheet cache). Two calls: the zygote's, right after its fork and
    before it reads any input, and each query worker's (and the validation's), right after
    theirs. Landlock rules only add up, and a rule for ``/proc/self`` names the process
    that made it: so the zygote may read all of ``/proc`` (its children must reach their
    own entries), and each child then narrows that to its own. Worked out here, in the
    HTTP process, so that neither needs to read anything to know it."""
    from dataclasses import replace

    from kgraph.project import Project

    access = Project(project, store=store_dir, limits=limits).confinement()
    zygote = replace(access, read=(*access.read, "/proc"))
    return (lambda: enter_sandbox(zygote)), (lambda: enter_sandbox(access))


def open_dataset(project: Layout, limits: Limits, store_dir: Path | None) -> Dataset:
    return Dataset.open(project, limits=limits, store_dir=store_dir)


def compact_store(store_dir: Path, limits: Limits) -> None:
    """Compact the on-disk store (Oxigraph's ``optimize``: RocksDB's compaction), alone on it.

    A store kgraph built holds one set of table files per bulk load (one per source file)
    and the small runs its transactional writes left (files with blank nodes, sheets,
    every refresh after ``kgraph add``); a read merges all of them. Measured at 100k
    triples (CPU per canned query, one process, the same quads): the same data loaded
    by four bulk loads took 1.4 to 2 times the CPU of one bulk load, and the same again
    after ``optimize`` (casualty-estimates 0.13 s, 0.07 s; counts-by-document 1.7 s,
    1.2 s). On the store ``serve`` builds from the synthetic project it closes only part
    of the gap to Oxigraph's own store (docs/benchmarks-serve.md). Oxigraph advises the
    same before a read-heavy workload (``oxigraph optimize``). The answers are unchanged
    (the same quads).

    Once per state of the store: ``kgraph-compacted.json`` beside it names the files'
    stamps it was compacted for, and a start that finds them unchanged does nothing (nor
    takes any lock). Taken under the exclusive lock, as a refresh is, but never waited for:
    while another kgraph reads the store (a second server on it, a query), compacting would
    make this start wait for it to end, so the store is served as it is (slower reads, the
    same answers) and compacted at a later start."""
    import json

    import pyoxigraph as ox

    meta = read_store_meta(store_dir)
    stamp = json.dumps((meta or {}).get("files"), sort_keys=True)
    marker = store_dir / STORE_COMPACTED
    try:
        if marker.read_text(encoding="utf-8") == stamp:
            return
    except (OSError, UnicodeDecodeError):
        pass  # never compacted, or the marker is unreadable: compact
    try:
        store_lock(store_dir, exclusive=True, wait=0)
    except StorageError:
        # Another kgraph reads it now. A failed conversion of flock(2) may have dropped
        # the shared lock this process held: take it again before serving.
        store_lock(store_dir, exclusive=False, wait=lock_wait(limits))
        return
    try:
        try:
            store = ox.Store(str(store_dir))
            store.optimize()
        except OSError as err:
            raise StorageError(f"cannot compact the store in {store_dir}: {err}") from err
        del store  # closed before anyone reopens the folder read-only
        write_atomic(marker, stamp.encode())
    finally:
        store_lock(store_dir, exclusive=False, wait=lock_wait(limits))


def hold_store(store_dir: Path, limits: Limits, sources: Sequence[SourceFile]) -> None:
    """Share the on-disk store's lock for as long as this process (and its forks) live,
    and check that the store still holds exactly ``sources`` as they were stamped."""
    store_lock(store_dir, exclusive=False, wait=lock_wait(limits))
    meta = read_store_meta(store_dir)
    if meta is None or meta.get("files") != {s.graph: file_stamp(s) for s in sources}:
        raise StorageError(
            f"the store in {store_dir} was changed by another kgraph while the server "
            "started, or a file changed meanwhile; start it again"
        )


def open_read_only(
    project: Layout, limits: Limits, store_dir: Path, sources: Sequence[SourceFile]
) -> Dataset:
    """The on-disk store as :func:`hold_store` found it, read-only, never refreshed."""
    return Dataset(read_only_store(store_dir), project, list(sources), store_dir, limits=limits)


def canned_queries(project: Layout) -> dict[str, CannedQuery]:
    return registry(project.queries_dir)


def bind_canned(canned: CannedQuery, pairs: Sequence[tuple[str, str]]) -> str | None:
    """The canned query's text with its parameters bound, typed as ``kgraph query -p``; None
    when an ``iri`` parameter is given, which only the graph can resolve or check (a name,
    an IRI of a declared kind): then :func:`bind_in_graph`, in a worker."""
    import pyoxigraph as ox

    bound = bind(canned, pairs)
    if any(isinstance(v, Name | ox.NamedNode) for v in bound.values()):
        return None
    return with_values(canned.text, bound)


def bind_in_graph(dataset: Dataset, canned: CannedQuery, pairs: Sequence[tuple[str, str]]) -> str:
    """The canned query's text with its parameters bound as ``kgraph query -p`` binds them:
    names resolved to IRIs and IRIs checked against the graph, with the CLI's errors."""
    from kgraph.names import NameIndex

    bound = bind(canned, pairs)
    resolved = resolve_names(
        bound, dataset.store, canned, names=lambda: NameIndex.for_dataset(dataset)
    )
    return with_values(canned.text, resolved)


def resolve_in_graph(dataset: Dataset, text: str, what: str = "entity") -> str:
    """The IRI that the name ``text`` ("Choe Son Hui", "not denied") gives in the graph, as
    an ``iri`` parameter of ``kgraph query`` resolves it: an unknown or ambiguous name is an
    error naming the nearest names or the candidates (the pages' /entity and /network)."""
    from kgraph.names import NameIndex

    bound = resolve_names(
        {what: Name(text.strip(), what)},
        dataset.store,
        names=lambda: NameIndex.for_dataset(dataset),
    )
    return str(bound[what].value)


def check(text: str, limits: Limits, *, source: str = "query") -> str:
    """Run the guard; return the query form (SELECT, ASK, CONSTRUCT, DESCRIBE)."""
    shape = check_query(text, max_depth=limits.max_depth, allowed_graph_prefix=GRAPH, source=source)
    return shape.form


def query(
    dataset: Dataset,
    text: str,
    *,
    default_graphs: Sequence[str] = (),
    named_graphs: Sequence[str] = (),
) -> Any:
    """Run a read query. Without protocol graphs: the union of the dataset's graphs as the
    default graph (Dataset.query); with them: exactly those graphs (SPARQL 1.1 Protocol
    §2.1.4), each of which must be one of the dataset's."""
    import pyoxigraph as ox

    shape = check_query(text, max_depth=dataset.limits.max_depth, allowed_graph_prefix=GRAPH)
    if not default_graphs and not named_graphs:
        if not shape.from_graphs:
            return dataset.query(text)
        # FROM / FROM NAMED define the dataset (SPARQL 1.1 §13.2); Dataset.query's union
        # default graph would override them.
        try:
            return dataset.store.query(text, prefixes=PREFIXES)
        except SyntaxError as err:
            raise syntax_error(err, "query") from err
    # An empty list means "none given": the protocol leaves the other part to the service.
    default = [ox.NamedNode(g) for g in default_graphs] if default_graphs else None
    named = [ox.NamedNode(g) for g in named_graphs] if named_graphs else None
    options: dict[str, Any] = {}
    if default is None:
        options["use_default_graph_as_union"] = True
    else:
        options["default_graph"] = default
    if named is not None:
        options["named_graphs"] = named
    try:
        return dataset.store.query(text, prefixes=PREFIXES, **options)
    except SyntaxError as err:
        raise syntax_error(err, "query") from err


def graphs(dataset: Dataset) -> list[str]:
    return dataset.asserted_graphs() + dataset.inferred_graphs


def serialize_graph(items: Any, syntax: RdfSyntax, output: IO[bytes]) -> None:
    """Triples or quads streamed into ``output`` (which may refuse to grow)."""
    import pyoxigraph as ox

    prefixes = PREFIXES if syntax in (RdfSyntax.TURTLE, RdfSyntax.TRIG) else None
    ox.serialize(items, output, format=syntax.oxigraph(), prefixes=prefixes)


@dataclass(frozen=True)
class ValidationStatus:
    conforms: bool
    violations: int
    findings: int
    nodes: int
    error: str = ""


def validation_status(
    dataset: Dataset, project: Layout, limits: Limits, store_dir: Path | None
) -> ValidationStatus:
    """What ``kgraph validate`` says about the graph, judged on ``dataset`` (run once, in a
    worker forked from the zygote that loaded it: no second load of the project)."""
    from kgraph.operations import judge
    from kgraph.project import Project

    try:
        shapes = Project(project, store=store_dir, limits=limits).shapes()
        report = judge(dataset, shapes)
    except KGraphError as err:
        return ValidationStatus(False, 0, 0, 0, error=str(err))
    violations = sum(1 for f in report.findings if f.is_violation)
    return ValidationStatus(report.conforms, violations, len(report.findings), report.focus_nodes)
