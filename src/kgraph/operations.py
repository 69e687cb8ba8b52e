"""The library's entry points: one function per thing a user asks kgraph to do.

Each takes a :class:`Context`, announces its phases with :func:`kgraph.limits.phase` (so
the right time budget applies) and returns a plain, picklable result. The CLI
runs them through :func:`kgraph.limits.run_bounded` and only formats and writes.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any, cast

from kgraph.errors import StorageError, UsageError
from kgraph.formats import RdfSyntax
from kgraph.fsutil import describe_os_error, read_regular
from kgraph.guards import check_query
from kgraph.layout import Layout
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


@dataclass(frozen=True)
class Context:
    """Which project, which store, and within which limits."""

    project: Layout
    limits: Limits
    store_dir: Path | None = None


def open_dataset(ctx: Context, *, infer: str = "none") -> Dataset:
    phase(Phase.LOAD)
    dataset = Dataset.open(ctx.project, limits=ctx.limits, store_dir=ctx.store_dir)
    if infer != "none":
        phase(Phase.REASON)
        materialise(dataset, infer)
    return dataset


def run_query(
    ctx: Context, query: CannedQuery, bound: dict[str, Any], *, fmt: str | None, infer: str
) -> QueryResult:
    shape = check_query(
        query.text, max_depth=ctx.limits.max_depth, allowed_graph_prefix=GRAPH, source=query.source
    )
    # Before the query runs: a wrong -f is a usage error, not a reason to run it for nothing.
    if shape.form and fmt:
        check_format("GRAPH" if shape.form in ("CONSTRUCT", "DESCRIBE") else shape.form, fmt)
    dataset = open_dataset(ctx, infer=infer)
    from kgraph.names import NameIndex

    bound = resolve_names(bound, dataset.store, query, index=NameIndex.for_dataset(dataset))
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


def load_inputs(
    dataset: Dataset,
    files: Sequence[str],
    limits: Limits,
    *,
    syntax: RdfSyntax | None = None,
    base_iri: str | None = None,
) -> list[LoadedInput]:
    """Parse files strictly (skolemising blank nodes), refuse them at the closed door
    (:mod:`kgraph.closed`), and add each as a graph of its own."""
    from kgraph.store import skolemise

    loaded = []
    parsed = []
    for i, path in enumerate(files):
        source = read_input(path, syntax, limits)
        graph = input_graph(i, source.name)
        base = base_iri or graph
        skolem = input_skolem(i)
        quads = skolemise(parse(source, base_iri=base, limits=limits), skolem)
        parsed.append(quads)
        loaded.append(
            LoadedInput(source.name, graph, source.data, source.syntax, base, skolem, len(quads))
        )
    parts = [
        closed_part(item.name, quads, item.data, item.syntax, item.base_iri, item.skolem)
        for item, quads in zip(loaded, parsed, strict=True)
    ]
    refuse_closed(dataset, parts)
    for item, quads in zip(loaded, parsed, strict=True):
        dataset.add_graph(item.graph, quads)
    return loaded


def closed_part(
    name: str,
    quads: Sequence[Any],
    data: bytes,
    syntax: RdfSyntax,
    base_iri: str | None,
    skolem: str | None,
) -> Any:
    """One input for :func:`refuse_closed`, with the line of each of its triples."""
    from kgraph.closed import Part
    from kgraph.shacl.locate import LineIndex

    return Part(name, quads, LineIndex.build(data, syntax, base_iri=base_iri, skolem=skolem))


def refuse_closed(dataset: Dataset, parts: Sequence[Any]) -> None:
    """The closed door (:func:`kgraph.closed.refuse`) against the loaded graph."""
    from kgraph.closed import refuse
    from kgraph.names import NameIndex

    ontology = [s.graph for s in dataset.sources if s.relative.startswith("ontology/")]
    refuse(parts, dataset.store, ontology, names=lambda: NameIndex.for_dataset(dataset))


# -- validation -----------------------------------------------------------------------------


def load_shape_index(ctx: Context) -> Any:
    from kgraph.shacl.index import load_shapes

    path = ctx.project.shapes_path
    data = read_regular(path, limit=ctx.limits.max_input_bytes, name=ctx.project.display(path))
    return load_shapes(data, name=ctx.project.display(path), max_depth=ctx.limits.max_depth)


def graph_sources(
    ctx: Context, dataset: Dataset, inputs: Sequence[LoadedInput] = ()
) -> dict[str, Any]:
    """Where each graph was read from (inputs first: they are what the user is checking)."""
    from kgraph.shacl.report import GraphSource

    sources: dict[str, GraphSource] = {}
    for item in inputs:
        sources[item.graph] = GraphSource(
            item.name, _constant(item.data), item.syntax, item.base_iri, item.skolem
        )
    for src in dataset.sources:
        if src.is_sheet:
            sources[src.graph] = GraphSource(
                ctx.project.display(src.path),
                partial(read_regular, src.path, limit=ctx.limits.max_input_bytes),
                src.syntax,
                src.graph,
                lines_of=partial(_sheet_lines, ctx, dataset, src),
            )
            continue
        sources[src.graph] = GraphSource(
            ctx.project.display(src.path),
            partial(read_regular, src.path, limit=ctx.limits.max_input_bytes),
            src.syntax,
            src.graph,
            file_skolem(src.relative),
        )
    return sources


def _sheet_lines(ctx: Context, dataset: Dataset, src: Any) -> Any:
    """The lines of a project sheet's triples: it is compiled again, as the project did."""
    from kgraph.store import compile_project_sheet, sheet_base

    base = sheet_base(dataset.sources, src, ctx.project, ctx.limits)
    data = read_regular(src.path, limit=ctx.limits.max_input_bytes)
    return compile_project_sheet(data, ctx.project.display(src.path), base, ctx.limits).lines


def _constant(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def validate(
    ctx: Context,
    files: Sequence[str] = (),
    *,
    infer: str = "none",
    syntax: RdfSyntax | None = None,
    base_iri: str | None = None,
    engine: str = "compiled",
) -> Any:
    """Validate the graph plus the given files against the project's shapes."""
    from kgraph.shacl import report as reporting
    from kgraph.shacl import run
    from kgraph.shacl.engine import validate as run_pyshacl

    shapes = load_shape_index(ctx)
    phase(Phase.LOAD)
    dataset = Dataset.open(
        ctx.project, limits=ctx.limits, store_dir=None if files else ctx.store_dir
    )
    inputs = load_inputs(dataset, files, ctx.limits, syntax=syntax, base_iri=base_iri)
    if infer != "none":
        phase(Phase.REASON)
        materialise(dataset, infer)
    phase(Phase.VALIDATE)
    graphs = dataset.asserted_graphs() + dataset.inferred_graphs
    if engine == "pyshacl":
        report = run_pyshacl(dataset, shapes, graphs)
    else:
        report = run.validate(dataset, shapes, graphs)
    return reporting.locate(report, [dataset.store], graph_sources(ctx, dataset, inputs))


def overlay_validator(
    ctx: Context,
    *,
    syntax: RdfSyntax | None = None,
    base_iri: str | None = None,
    engine: str = "compiled",
) -> Callable[[Sequence[str]], Any]:
    """Load the graph and the shapes once; return a function that validates files as an
    overlay on them (as ``add`` validates a batch: only the violations the files introduce,
    at the nodes they can affect), leaving the loaded graph as it was."""
    import pyoxigraph as ox

    from kgraph.shacl import engine as reference
    from kgraph.shacl import report as reporting
    from kgraph.shacl import run
    from kgraph.store import skolemise

    validate_batch = reference.validate_batch if engine == "pyshacl" else run.validate_batch
    shapes = load_shape_index(ctx)
    dataset = Dataset.open(ctx.project, limits=ctx.limits)
    base = dataset.asserted_graphs()

    def check(files: Sequence[str]) -> Any:
        overlay = ox.Store()
        inputs = []
        for i, path in enumerate(files):
            source = read_input(path, syntax, ctx.limits)
            graph = input_graph(i, source.name)
            base_of = base_iri or graph
            skolem = input_skolem(i)
            quads = skolemise(parse(source, base_iri=base_of, limits=ctx.limits), skolem)
            target = ox.NamedNode(graph)
            overlay.extend(ox.Quad(q.subject, q.predicate, q.object, target) for q in quads)
            inputs.append(
                LoadedInput(
                    source.name, graph, source.data, source.syntax, base_of, skolem, len(quads)
                )
            )
        report = validate_batch(dataset, shapes, base, overlay, [i.graph for i in inputs])
        sources = graph_sources(ctx, dataset, inputs)
        return reporting.locate(report, [overlay, dataset.store], sources)

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


def reason(ctx: Context, *, profile: str, syntax: RdfSyntax) -> ReasonResult:
    dataset = open_dataset(ctx, infer=profile)
    graph = dataset.inferred_graphs[0] if dataset.inferred_graphs else None
    triples = [q.triple for q in dataset.quads([graph])] if graph else []
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
    ctx: Context,
    *,
    fmt: str,
    inferred: str,
    target: Path | None,
    name: str | None = None,
) -> bytes | int:
    """The whole dataset in ``fmt``; written to ``target`` (a temporary path the caller
    renames into place, ``name`` in messages) when given, else returned."""
    import pyoxigraph as ox

    compress = fmt.endswith(".gz")
    syntax = RdfSyntax.from_name(fmt.removesuffix(".gz"))
    dataset = open_dataset(ctx, infer=inferred)
    graphs = dataset.asserted_graphs() + dataset.inferred_graphs
    phase(Phase.EXPORT)
    if syntax.quads:
        items: Any = dataset.quads(graphs)
    else:
        items = (q.triple for q in dataset.quads(graphs))
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
    ctx: Context,
    path: str,
    *,
    syntax: RdfSyntax | None,
    base_iri: str | None,
    target: RdfSyntax,
) -> bytes:
    """Strictly parse one file (guards included) and serialise it in ``target``."""
    import pyoxigraph as ox

    phase(Phase.PARSE)
    source = read_input(path, syntax, ctx.limits)
    quads = parse(source, base_iri=base_iri, limits=ctx.limits)
    # A file checked with convert before `add` meets the same closed door as `add`. Only
    # objects in the data namespace need the data to be judged (is the entity described?);
    # for the rest the ontology suffices, which keeps convert fast on files of any origin.
    phase(Phase.LOAD)
    names_data = any(
        isinstance(q.object, ox.NamedNode) and q.object.value.startswith(KGD) for q in quads
    )
    dataset = Dataset.open(
        ctx.project, limits=ctx.limits, store_dir=ctx.store_dir, ontology_only=not names_data
    )
    part = closed_part(source.name, quads, source.data, source.syntax, base_iri, None)
    refuse_closed(dataset, [part])
    if target.quads:
        return serialize(quads, target, prefixes=prefixes_for(quads, target))
    return serialize_triples([q.triple for q in quads], target)


def check_profile(name: str) -> str:
    from kgraph.reasoning import PROFILES

    if name not in PROFILES:
        raise UsageError(f"unknown inference {name!r}; use {', '.join(PROFILES)}")
    return name
