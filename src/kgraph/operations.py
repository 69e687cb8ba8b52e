"""The worker's half of :class:`~kgraph.project.Project`: what its verbs run in the
bounded worker.

Each function takes the loaded graph (a :class:`~kgraph.store.Dataset`) or, when it has
work to do before loading (reading and checking its input), the project, which loads
(:meth:`~kgraph.project.Project.dataset`, :meth:`~kgraph.project.Project.shapes`). Each
announces its phases with :func:`kgraph.limits.phase` (so the right time budget applies)
and returns a plain, picklable result.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from kgraph.errors import StorageError
from kgraph.formats import RdfSyntax
from kgraph.fsutil import describe_os_error, read_regular
from kgraph.guards import check_query
from kgraph.limits import Limits, Phase, phase
from kgraph.namespaces import GRAPH, KGD, PREFIXES, file_skolem, input_graph, input_skolem
from kgraph.queries import CannedQuery, resolve_names, with_values
from kgraph.reasoning import materialise
from kgraph.results import (
    QueryResult,
    capture,
    check_format,
    prefixes_for,
    serialize,
    serialize_triples,
)
from kgraph.store import Dataset, parse, read_input

if TYPE_CHECKING:
    from kgraph.layout import Layout
    from kgraph.project import Project
    from kgraph.reasoning import Profile
    from kgraph.shacl.model import Report


def run_query(
    project: Project,
    query: CannedQuery,
    bound: dict[str, Any],
    *,
    fmt: str | None,
    infer: Profile,
) -> QueryResult:
    shape = check_query(
        query.text,
        max_depth=project.limits.max_depth,
        allowed_graph_prefix=GRAPH,
        source=query.source,
    )
    # Before the query runs: a wrong -f is a usage error, not a reason to run it for nothing.
    if shape.form and fmt:
        check_format("GRAPH" if shape.form in ("CONSTRUCT", "DESCRIBE") else shape.form, fmt)
    dataset = project.dataset(infer=infer)
    if bound:  # the name index (and its module) only when there is a parameter to resolve
        from kgraph.names import NameIndex

        bound = resolve_names(
            bound, dataset.store, query, names=lambda: NameIndex.for_dataset(dataset)
        )
    phase(Phase.QUERY)
    result = dataset.query(with_values(query.text, bound), source=query.source)
    return capture(result, fmt)


# -- reading files given on the command line ----------------------------------------------


@dataclass(frozen=True)
class LoadedInput:
    name: str
    graph: str
    data: bytes
    syntax: RdfSyntax
    base_iri: str
    skolem: str
    triples: int
    quads: tuple[Any, ...] = ()
    """Its triples whose literal the store may rewrite, as parsed (``validate`` judges them)."""


def admit_inputs(
    dataset: Dataset, read: Sequence[tuple[LoadedInput, list[Any]]]
) -> list[LoadedInput]:
    """Refuse inputs already read (:func:`read_inputs`) at the closed door
    (:mod:`kgraph.closed`), then add each as a graph of its own."""
    parts = [
        closed_part(item.name, quads, item.data, item.syntax, item.base_iri, item.skolem)
        for item, quads in read
    ]
    refuse_closed(dataset, parts)
    for item, quads in read:
        dataset.add_graph(item.graph, quads)
    return [item for item, _ in read]


def read_inputs(
    files: Sequence[str],
    limits: Limits,
    *,
    syntax: RdfSyntax | None = None,
    base_iri: str | None = None,
) -> list[tuple[LoadedInput, list[Any]]]:
    """Each file read within the limits and parsed strictly, its blank nodes skolemised, as
    the graph of input ``i``: what was read, and its quads."""
    import pyoxigraph as ox

    from kgraph.shacl.literals import may_be_rewritten
    from kgraph.store import skolemise

    read = []
    for i, path in enumerate(files):
        source = read_input(path, syntax, limits)
        graph = input_graph(i, source.name)
        base = base_iri or graph
        skolem = input_skolem(i)
        quads = skolemise(parse(source, base_iri=base, limits=limits), skolem)
        literals = tuple(
            q for q in quads if isinstance(q.object, ox.Literal) and may_be_rewritten(q.object)
        )
        item = LoadedInput(
            source.name, graph, source.data, source.syntax, base, skolem, len(quads), literals
        )
        read.append((item, quads))
    return read


def closed_part(
    name: str,
    quads: Sequence[Any],
    data: bytes,
    syntax: RdfSyntax,
    base_iri: str | None,
    skolem: str | None,
) -> Any:
    """One input for :func:`refuse_closed`, with the line of each of its triples, worked
    out (by parsing ``data`` again, line by line) only if a problem needs one."""
    from kgraph.closed import Part
    from kgraph.shacl.locate import LineIndex

    built: list[LineIndex] = []

    def lines() -> LineIndex:
        if not built:  # once, though a refusal checks the batch twice
            built.append(LineIndex.build(data, syntax, base_iri=base_iri, skolem=skolem))
        return built[0]

    return Part(name, quads, lines)


def refuse_closed(dataset: Dataset, parts: Sequence[Any]) -> None:
    """The closed door (:func:`kgraph.closed.refuse`) against the loaded graph."""
    from kgraph.closed import refuse
    from kgraph.names import NameIndex

    ontology = [s.graph for s in dataset.sources if s.relative.startswith("ontology/")]
    refuse(parts, dataset.store, ontology, names=lambda: NameIndex.for_dataset(dataset))


# -- validation -----------------------------------------------------------------------------


def graph_sources(dataset: Dataset, inputs: Sequence[LoadedInput] = ()) -> dict[str, Any]:
    """Where each graph was read from (inputs first: they are what the user is checking)."""
    from kgraph.shacl.report import GraphSource

    sources: dict[str, GraphSource] = {}
    for item in inputs:
        sources[item.graph] = GraphSource(
            item.name, _constant(item.data), item.syntax, item.base_iri, item.skolem
        )
    sources.update(
        file_sources(dataset.project, dataset.limits, dataset.sources, store=dataset.store)
    )
    return sources


def file_sources(
    layout: Layout, limits: Limits, files: Sequence[Any], *, store: Any = None
) -> dict[str, Any]:
    """Where each project file's graph was read from (``Layout.source_files``).
    ``store``: a local store holding those files' graphs, that a sheet's lines are compiled
    against again (else the files before the sheet are read once more)."""
    from kgraph.shacl.report import GraphSource

    sources: dict[str, GraphSource] = {}
    for src in files:
        if src.is_sheet:
            sources[src.graph] = GraphSource(
                layout.display(src.path),
                partial(read_regular, src.path, limit=limits.max_input_bytes),
                src.syntax,
                src.graph,
                lines_of=partial(_sheet_lines, layout, limits, files, src, store),
            )
            continue
        sources[src.graph] = GraphSource(
            layout.display(src.path),
            partial(read_regular, src.path, limit=limits.max_input_bytes),
            src.syntax,
            src.graph,
            file_skolem(src.relative),
        )
    return sources


def _sheet_lines(
    layout: Layout, limits: Limits, files: Sequence[Any], src: Any, store: Any = None
) -> Any:
    """The lines of a project sheet's triples: it is compiled again, as the project did."""
    from kgraph.store import compile_project_sheet, sheet_base, sheet_base_copy

    base = (
        sheet_base_copy(files, src, layout, limits)
        if store is None
        else sheet_base(store, files, src)
    )
    data = read_regular(src.path, limit=limits.max_input_bytes)
    return compile_project_sheet(data, layout.display(src.path), base, limits).lines


def _constant(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def validate(
    project: Project,
    files: Sequence[str] = (),
    *,
    infer: str = "none",
    syntax: RdfSyntax | None = None,
    base_iri: str | None = None,
    engine: str = "compiled",
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Validate the graph plus the given files against the project's shapes."""
    from kgraph.shacl import report as reporting

    shapes = project.shapes()
    phase(Phase.LOAD)
    # The files are read and parsed before the graph is loaded: a malformed file is refused
    # at once, not after a load that may take minutes.
    read = read_inputs(files, project.limits, syntax=syntax, base_iri=base_iri)
    # The files join the graph as graphs of their own: in memory, never in an on-disk store.
    dataset = Dataset.open(
        project.layout, limits=project.limits, store_dir=None if files else project.store
    )
    inputs = admit_inputs(dataset, read)
    if infer != "none":
        phase(Phase.REASON)
        materialise(dataset, infer)
    phase(Phase.VALIDATE)
    report = judge(dataset, shapes, inputs, engine=engine, progress=progress)
    return reporting.locate(report, [dataset.store], graph_sources(dataset, inputs))


def judge(
    dataset: Dataset,
    shapes: Any,
    inputs: Sequence[LoadedInput] = (),
    *,
    engine: str = "compiled",
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """The shapes' verdict on a dataset already open (its findings not yet located in the
    files): what :func:`validate` does once the graph is loaded, and what ``kgraph serve``
    runs in a worker that inherited the loaded graph."""
    from kgraph.shacl import run
    from kgraph.shacl.engine import validate as run_pyshacl

    graphs = dataset.asserted_graphs() + dataset.inferred_graphs
    if engine == "pyshacl":
        return run_pyshacl(dataset, shapes, graphs)
    from kgraph.shacl.literals import exact_literals

    # The store rewrote "12"^^xsd:long to xsd:integer: literals are judged as the
    # project's files (and the files given) write them.
    exact = exact_literals([*dataset.source_literals(), *(q for i in inputs for q in i.quads)])
    return run.validate(dataset, shapes, graphs, exact, progress=progress)


def validate_endpoint(
    project: Project, endpoint: str, *, progress: Callable[[int, int], None] | None = None
) -> Report:
    """Validate the graph a remote store holds (its default graph, the union of the
    project's graphs) with the compiled queries; findings located in the project's files.

    Runs in the calling process (the worker has no network), as ``query --endpoint`` does;
    only the shapes file and, for the report's locations, the files named by findings are
    read here."""
    from kgraph.shacl import report as reporting
    from kgraph.shacl import run
    from kgraph.shacl.endpoint import EndpointStore

    shapes = project.shapes()
    limits = project.limits
    store = EndpointStore(endpoint, timeout=limits.query_timeout, max_body=limits.max_input_bytes)
    report = run.validate_endpoint(store, shapes, progress=progress)
    return reporting.locate(
        report, [store], file_sources(project.layout, limits, project.layout.source_files())
    )


def overlay_validator(
    project: Project,
    *,
    syntax: RdfSyntax | None = None,
    base_iri: str | None = None,
    engine: str = "compiled",
) -> Callable[[Sequence[str]], Report]:
    """Load the graph and the shapes once; return a function that validates files as an
    overlay on them (as ``add`` validates a batch: only the violations the files introduce,
    at the nodes they can affect), leaving the loaded graph as it was."""
    import pyoxigraph as ox

    from kgraph.shacl import engine as reference
    from kgraph.shacl import report as reporting
    from kgraph.shacl import run

    validate_batch = reference.validate_batch if engine == "pyshacl" else run.validate_batch
    limits = project.limits
    shapes = project.shapes()
    dataset = Dataset.open(project.layout, limits=limits)
    base = dataset.asserted_graphs()

    def check(files: Sequence[str]) -> Report:
        overlay = ox.Store()
        read = read_inputs(files, limits, syntax=syntax, base_iri=base_iri)
        for item, quads in read:
            target = ox.NamedNode(item.graph)
            overlay.extend(ox.Quad(q.subject, q.predicate, q.object, target) for q in quads)
        inputs = [item for item, _ in read]
        report = validate_batch(dataset, shapes, base, overlay, [i.graph for i in inputs])
        sources = graph_sources(dataset, inputs)
        checked = [i.graph for i in inputs]
        return reporting.locate(report, [overlay, dataset.store], sources, checked=checked)

    return check


# -- reasoning and export -------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonResult:
    """The inferred triples alone (the closure minus what is asserted), serialised."""

    profile: str
    graph: str | None
    """The named graph the closure goes in (None for no closure)."""
    data: bytes
    syntax: RdfSyntax
    triples: int


def reason(dataset: Dataset, *, profile: str, syntax: RdfSyntax) -> ReasonResult:
    """``dataset`` holds the closure of ``profile`` (it was opened with it)."""
    graph = dataset.inferred_graphs[0] if dataset.inferred_graphs else None
    # Literals as the files write them: a "12"^^xsd:long that rdfs:subPropertyOf copies
    # stays an xsd:long (kgraph.exact), not the store's xsd:integer.
    triples = [q.triple for q in dataset.exact_quads([graph])] if graph else []
    if syntax.quads and graph:
        import pyoxigraph as ox

        quads = [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph)) for t in triples]
        data = serialize(quads, syntax, prefixes=prefixes_for(triples, syntax))
    else:
        data = serialize_triples(triples, syntax)
    return ReasonResult(profile, graph, data, syntax, len(triples))


def _prefixes(syntax: RdfSyntax) -> dict[str, str] | None:
    return PREFIXES if syntax in (RdfSyntax.TURTLE, RdfSyntax.TRIG) else None


def export(
    dataset: Dataset, *, fmt: str, target: Path | None = None, name: str | None = None
) -> bytes | int:
    """The whole dataset (its closure too, if it was opened with one) in ``fmt``; written to
    ``target`` (a temporary path the caller renames into place, ``name`` in messages) when
    given, else returned."""
    import pyoxigraph as ox

    compress = fmt.endswith(".gz")
    syntax = RdfSyntax.from_name(fmt.removesuffix(".gz"))
    graphs = dataset.asserted_graphs() + dataset.inferred_graphs
    phase(Phase.EXPORT)
    # Each literal as the project's files write it, not in the store's canonical form.
    quads = dataset.exact_quads(graphs)
    items: Any = quads if syntax.quads else (q.triple for q in quads)
    if target is None:
        data = serialize(items, syntax, prefixes=_prefixes(syntax))
        return gzip.compress(data, mtime=0) if compress else data
    import os

    try:
        with open(target, "xb") as raw:
            if compress:
                with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped:
                    ox.serialize(
                        items,
                        cast(IO[bytes], zipped),
                        format=syntax.oxigraph(),
                        prefixes=_prefixes(syntax),
                    )
            else:
                ox.serialize(items, raw, format=syntax.oxigraph(), prefixes=_prefixes(syntax))
            raw.flush()
            os.fsync(raw.fileno())
        return target.stat().st_size
    except OSError as err:  # a full disk is the disk's failure (exit 3), not an internal error
        raise StorageError(describe_os_error(err, name or target)) from err


def convert(
    project: Project,
    path: str,
    *,
    syntax: RdfSyntax | None,
    base_iri: str | None,
    target: RdfSyntax,
) -> bytes:
    """Strictly parse one file (guards included) and serialise it in ``target``."""
    import pyoxigraph as ox

    phase(Phase.PARSE)
    source = read_input(path, syntax, project.limits)
    quads = parse(source, base_iri=base_iri, limits=project.limits)
    # A file checked with convert before `add` meets the same closed door as `add`. Only
    # objects in the data namespace need the data to be judged (is the entity described?);
    # for the rest the ontology suffices, which keeps convert fast on files of any origin.
    phase(Phase.LOAD)
    names_data = any(
        isinstance(q.object, ox.NamedNode) and q.object.value.startswith(KGD) for q in quads
    )
    dataset = Dataset.open(
        project.layout, limits=project.limits, store_dir=project.store, ontology_only=not names_data
    )
    part = closed_part(source.name, quads, source.data, source.syntax, base_iri, None)
    refuse_closed(dataset, [part])
    if target.quads:
        return serialize(quads, target, prefixes=prefixes_for(quads, target))
    return serialize_triples([q.triple for q in quads], target)
