"""The write path: new triples enter the graph as batches, validated before they land.

A batch is one file under ``data/batches/`` (its own named graph) holding every triple its
input states (also those the graph already holds: the graph is what the source said) and a
provenance record about the graph itself: when it was added, from which files, its
source document, the SHA-256 of its input and its triple count. Blank nodes are skolemised
once, at add time, into the batch's own namespace (RDF 1.1 Concepts §3.5), so exporting
never duplicates them. Curated files are never rewritten; removing a batch deletes its file.

The worker process does the reading, validating and serialising; :class:`~kgraph.project.Project`
holds the project lock around it and writes the file atomically (:mod:`kgraph.fsutil`).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgraph.chains import check_chains
from kgraph.closed import Part
from kgraph.errors import InputError, Setting, UsageError
from kgraph.formats import RdfSyntax
from kgraph.fsutil import check_no_links, open_regular, read_regular
from kgraph.layout import BATCH_DIR, Layout
from kgraph.limits import Limits, Phase, phase
from kgraph.namespaces import (
    DCTERMS,
    KG,
    PROV,
    RDF,
    SCHEMA,
    SKOS,
    XSD,
    batch_skolem,
    graph_iri,
    inferred_graph,
    shorten,
)
from kgraph.operations import closed_part, graph_sources, refuse_closed
from kgraph.results import prefixes_for, serialize
from kgraph.shacl.model import Report, ValidationMode
from kgraph.store import Dataset, Input, parse, read_input, skolemise

if TYPE_CHECKING:
    from kgraph.project import Project
    from kgraph.shacl.index import ShapeIndex

_BATCH_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{12}$")


@dataclass(frozen=True)
class BatchInfo:
    id: str
    path: str
    graph: str
    added: str
    sources: tuple[str, ...]
    source: str | None
    sha256: str
    triples: int


class AddStatus(StrEnum):
    """What ``add`` did with a batch."""

    ADDED = "added"
    DRY_RUN = "dry-run"
    """It would have been added; nothing was written."""
    DUPLICATE = "duplicate"
    """The same input was added before."""
    EMPTY = "empty"
    """The input states no triples."""
    REJECTED = "rejected"
    """It would introduce violations; nothing was written."""


@dataclass(frozen=True)
class AddResult:
    status: AddStatus
    batch: BatchInfo | None
    report: Report
    content: bytes = b""
    duplicate_of: str | None = None
    input_triples: int = 0
    new_triples: int = 0
    """How many of the batch's triples the graph did not hold yet."""


def recorded_name(name: str, root: Path) -> str:
    """How a batch records the file it was read from (``kg:sourceFile``): the path relative
    to the project when the file is inside it, else its name only, ``-`` for standard input.

    Batch files are shared data: an absolute path would publish the user's home folder and
    differ on every machine. Batches written before recorded absolute paths; they stay as
    they are (a batch file is never rewritten) and stay valid, as any string is.
    """
    if name == "-":
        return name
    path = Path(name)
    with contextlib.suppress(OSError, RuntimeError, ValueError):
        return path.resolve().relative_to(root.resolve()).as_posix()
    return path.name or name


def _refuse_own_file(layout: Layout, name: str) -> None:
    """A UsageError when ``name`` is one of the project's own files (data/article.ttl,
    data/article2.yaml, a batch, the ontology): the graph holds it already, in its own
    named graph. Taken as input it became a second copy of it, a batch of "0 new triples"
    that removing the file later would not remove (a sheet was refused with "'Al Jazeera'
    is already in the graph", which reads as a fault of the sheet)."""
    if name == "-":
        return
    try:
        target = Path(name).resolve()
    except (OSError, RuntimeError):
        return  # reading it says what is wrong with the path
    for source in layout.source_files():
        if source.path.resolve() != target:
            continue
        if source.is_batch:
            raise UsageError(
                f"{name} is batch {Path(source.relative).stem}, already in the graph: "
                "there is nothing to add (`kgraph batches` lists them)"
            )
        said = "" if Path(name).as_posix() == source.relative else f" ({source.relative})"
        raise UsageError(
            f"{name} is one of the project's own files{said}: the graph holds it already, "
            "in a named graph of its own; there is nothing to add (`kgraph add` takes a "
            "file from outside data/ and ontology/)"
        )
    if target == layout.shapes_path.resolve():
        raise UsageError(f"{name} is the project's shapes file, not data to add")


def batch_relative(batch_id: str) -> str:
    return f"data/{BATCH_DIR}/{batch_id}.ttl"


def digest(inputs: Sequence[Input]) -> str:
    """SHA-256 over the inputs' bytes (each length-prefixed, in order)."""
    sha = hashlib.sha256()
    for item in inputs:
        sha.update(len(item.data).to_bytes(8, "big"))
        sha.update(item.data)
    return sha.hexdigest()


def add(
    project: Project,
    files: Sequence[str],
    *,
    source: str | None = None,
    syntax: RdfSyntax | None = None,
    base_iri: str | None = None,
    infer: str = "none",
    dry_run: bool = False,
    now: datetime | None = None,
    engine: str = "compiled",
) -> AddResult:
    import pyoxigraph as ox

    from kgraph.reasoning import closure
    from kgraph.shacl import engine as reference
    from kgraph.shacl import report as reporting
    from kgraph.shacl import run

    if project.layout.shipped:
        raise UsageError(
            f"the shipped graph is read-only; pass {Setting.PROJECT}", setting=Setting.PROJECT
        )
    if not files:
        raise UsageError("give at least one FILE to add (or - for standard input)")
    if source is not None:
        source = _check_source(source)
    sheet = len(files) == 1 and is_sheet(files[0])
    if not sheet and any(is_sheet(path) for path in files):
        raise UsageError("add a claim sheet on its own: one SHEET.yaml per `kgraph add`")
    for path in files:
        _refuse_own_file(project.layout, path)
    if sheet:
        # The sheet itself is the batch's input (its bytes, its SHA-256); the triples come
        # from compiling it against the loaded graph, below.
        inputs = [
            Input(
                files[0],
                read_regular(files[0], limit=project.limits.max_input_bytes, name=files[0]),
                RdfSyntax.TURTLE,
            )
        ]
    else:
        inputs = [read_input(path, syntax, project.limits) for path in files]
    sha = digest(inputs)
    stamp = (now or _source_date() or datetime.now(UTC)).astimezone(UTC)
    batch_id = f"{stamp:%Y%m%dT%H%M%SZ}-{sha[:12]}"
    relative = batch_relative(batch_id)
    graph = graph_iri(relative)

    phase(Phase.PARSE)
    skolem = batch_skolem(sha)
    quads: list[Any] = []
    counts = []
    if not sheet:
        for item in inputs:
            quads += parse(item, base_iri=base_iri or graph, limits=project.limits)
            counts.append(len(quads))
        quads = skolemise(quads, skolem)
    shapes = project.shapes()

    # Before compiling a sheet: the sheet refuses to mint IRIs the graph already holds, so
    # a sheet added before would otherwise be refused instead of reported as added.
    for existing in list_batches(project.layout.root):
        if existing.sha256 == sha:
            empty = Report((), 0, ValidationMode.INCREMENTAL)
            return AddResult(
                AddStatus.DUPLICATE,
                existing,
                empty,
                duplicate_of=existing.id,
                input_triples=len(quads),
            )
    dataset = project.dataset()
    lines = None
    if sheet:
        compiled = _compile_sheet(dataset, inputs[0], project.limits)
        quads, lines = list(compiled.quads), compiled.lines
        if source is not None and source not in _document_names(compiled):
            # The sheet names its document; a different --source would make the batch
            # record contradict every claim's schema:appearance.
            raise UsageError(
                f"{Setting.SOURCE} {source!r} is not the document the sheet names "
                f"({shorten(compiled.document)}); leave it out: a sheet's batch records "
                "its own document",
                setting=Setting.SOURCE,
            )
        source = compiled.document
        parts = [Part(inputs[0].name, quads, lines)]
    else:
        starts = [0, *counts]
        parts = [
            closed_part(
                item.name,
                quads[starts[i] : starts[i + 1]],
                item.data,
                item.syntax,
                base_iri or graph,
                skolem,
            )
            for i, item in enumerate(inputs)
        ]
    refuse_closed(dataset, parts)
    asserted = {ox.NamedNode(g) for g in dataset.asserted_graphs()}
    target = ox.NamedNode(graph)
    # The batch records every triple its input states (once each), not only the ones new to
    # the graph: its named graph is what its source said (provenance), and removing another
    # batch that said the same must not take the triple away from this one.
    stated: dict[Any, Any] = {}
    new = 0
    for quad in quads:
        key = (quad.subject, quad.predicate, quad.object)
        if key in stated:
            continue
        stated[key] = ox.Quad(*key, target)
        if not any(q.graph_name in asserted for q in dataset.store.quads_for_pattern(*key, None)):
            new += 1
    info = BatchInfo(
        id=batch_id,
        path=relative,
        graph=graph,
        added=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        sources=tuple(recorded_name(item.name, project.layout.root) for item in inputs),
        source=source,
        sha256=sha,
        triples=len(stated),
    )
    if not stated:
        return AddResult(
            AddStatus.EMPTY, info, Report((), 0, ValidationMode.INCREMENTAL), input_triples=0
        )

    overlay = ox.Store()
    overlay.extend(stated.values())
    # Before validation and reasoning: a long transitive chain is cheap to state and costs
    # every later closure its square (kgraph.chains).
    check_chains(dataset.store, overlay, source=", ".join(item.name for item in inputs))
    overlay.extend(_provenance(info))
    base = dataset.asserted_graphs()
    phase(Phase.VALIDATE)
    from kgraph.shacl.literals import exact_literals

    # The store rewrites "12"^^xsd:long to xsd:integer; the compiled engine judges the
    # batch's literals as its source wrote them.
    exact = exact_literals(stated.values())

    def validate_batch(
        dataset: Dataset, shapes: Any, base: Sequence[str], overlay: Any, graphs: list[str]
    ) -> Report:
        if engine == "pyshacl":
            return reference.validate_batch(dataset, shapes, base, overlay, graphs)
        return run.validate_batch(dataset, shapes, base, overlay, graphs, exact)

    if infer != "none":
        # The closure of graph + batch, minus the closure of the graph alone, joins the batch.
        phase(Phase.REASON)
        inferred_before = {(t.subject, t.predicate, t.object) for t in closure(dataset, infer)}
        batch_inferred = inferred_graph(infer, batch=graph)
        with_batch = Dataset(ox.Store(), dataset.project, dataset.sources, limits=dataset.limits)
        with_batch.store.extend(dataset.store.quads_for_pattern(None, None, None, None))
        with_batch.store.extend(overlay.quads_for_pattern(None, None, None, None))
        with_batch.extra_graphs.append(graph)
        for t in closure(with_batch, infer):
            if (t.subject, t.predicate, t.object) not in inferred_before:
                overlay.add(ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(batch_inferred)))
        phase(Phase.VALIDATE)
        report = validate_batch(dataset, shapes, base, overlay, [graph, batch_inferred])
    else:
        report = validate_batch(dataset, shapes, base, overlay, [graph])
    sources = {
        graph: _input_source(inputs, base_iri or graph, skolem, lines),
        **graph_sources(dataset),
    }
    report = reporting.locate(report, [overlay, dataset.store], sources, checked=[graph])
    if not report.conforms:
        return AddResult(AddStatus.REJECTED, info, report, input_triples=len(quads))
    # From the parsed quads, not from the store: it would write "12"^^xsd:long as an integer.
    content = serialise(info, list(dict.fromkeys([*_provenance(info), *stated.values()])))
    return AddResult(
        AddStatus.DRY_RUN if dry_run else AddStatus.ADDED,
        info,
        report,
        content,
        input_triples=len(quads),
        new_triples=new,
    )


def _source_date() -> datetime | None:
    """The reproducible-builds clock (SOURCE_DATE_EPOCH, seconds since 1970), when set: the
    README's transcript adds a batch and must come out the same each time."""
    import os

    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {value!r}")
    return datetime.fromtimestamp(int(value), UTC)


def _document_names(compiled: Any) -> set[str]:
    """The sheet's document: its IRI and its address (schema:url), either of which
    --source may repeat."""
    names = {compiled.document}
    for quad in compiled.quads:
        if quad.subject.value == compiled.document and quad.predicate.value == SCHEMA + "url":
            names.add(quad.object.value)
    return names


def _check_source(source: str) -> str:
    """``--source`` as it will be recorded: one line of valid text, never echoed raw."""
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"{Setting.SOURCE} is not valid UTF-8 text", setting=Setting.SOURCE
        ) from None
    if not source.strip() or any(not c.isprintable() for c in source):
        raise UsageError(
            f"{Setting.SOURCE} must be one line of printable text (an IRI or a title)",
            setting=Setting.SOURCE,
        )
    return source.strip()


SHEET_SUFFIXES = (".yaml", ".yml")


def is_sheet(path: str) -> bool:
    """A claim sheet (:mod:`kgraph.sheets`) rather than RDF, by its file name."""
    return path.lower().endswith(SHEET_SUFFIXES)


def _compile_sheet(dataset: Dataset, item: Input, limits: Limits) -> Any:
    from kgraph.names import NameIndex
    from kgraph.sheets import compile_sheet

    index = NameIndex.for_dataset(dataset)
    return compile_sheet(item.data, name=item.name, index=index, limits=limits)


def _input_source(inputs: Sequence[Input], base_iri: str, skolem: str, lines: Any = None) -> Any:
    from kgraph.shacl.report import GraphSource

    if len(inputs) == 1:
        item = inputs[0]
        return GraphSource(item.name, lambda: item.data, item.syntax, base_iri, skolem, lines)
    return GraphSource(
        ", ".join(i.name for i in inputs), lambda: b"", inputs[0].syntax, base_iri, skolem
    )


def _provenance(info: BatchInfo) -> list[Any]:
    import pyoxigraph as ox

    g = ox.NamedNode(info.graph)
    n = ox.NamedNode
    quads = [
        ox.Quad(g, n(RDF + "type"), n(KG + "Batch"), g),
        ox.Quad(
            g, n(PROV + "generatedAtTime"), ox.Literal(info.added, datatype=n(XSD + "dateTime")), g
        ),
        ox.Quad(g, n(KG + "sha256"), ox.Literal(info.sha256), g),
        ox.Quad(
            g, n(KG + "tripleCount"), ox.Literal(str(info.triples), datatype=n(XSD + "integer")), g
        ),
    ]
    quads += [ox.Quad(g, n(KG + "sourceFile"), ox.Literal(name), g) for name in info.sources]
    if info.source:
        value: Any = ox.Literal(info.source)
        if re.match(r"^[a-z][a-z0-9+.-]*:[^\s<>\"{}|\\^`]+$", info.source, re.I):
            # an IRI if Oxigraph agrees it is one (the pattern is only a first look)
            with contextlib.suppress(ValueError):
                value = n(info.source)
        quads.append(ox.Quad(g, n(DCTERMS + "source"), value, g))
    return quads


def serialise(info: BatchInfo, quads: Sequence[Any]) -> bytes:
    """The batch file: a comment header, the provenance record, then the triples."""
    import pyoxigraph as ox

    graph = ox.NamedNode(info.graph)
    record = [q.triple for q in quads if q.subject == graph]
    body = sorted((q.triple for q in quads if q.subject != graph), key=_reading_order)
    # Only kgraph's own values go into the comment: an input's name is the user's text (a
    # newline in it would end the comment and turn the rest into unvalidated Turtle), so it
    # appears only in the record, as a literal the serialiser escapes.
    header = (
        f"# kgraph batch {info.id}: {info.triples} triples added {info.added}.\n"
        f"# Written by `kgraph add`; take it out with `kgraph remove {info.id}`. Do not edit:\n"
        f"# its SHA-256 identifies the input it was read from.\n"
    )
    triples = record + body
    return header.encode() + serialize(
        triples, RdfSyntax.TURTLE, prefixes=prefixes_for(triples, RdfSyntax.TURTLE)
    )


def _reading_order(triple: Any) -> tuple[str, int, str, str]:
    """Subjects in IRI order, each with its type first and its label next, as a person
    writes Turtle: by the whole triple's text, ``schema:appearance`` (http://schema.org/)
    sorted before ``a`` (http://www.w3.org/...), so a claim's block began with where it
    appears and hid what it is."""
    rank = {RDF + "type": 0, SKOS + "prefLabel": 1}.get(triple.predicate.value, 2)
    # The subject's IRI, not its N-Triples form, whose closing ">" sorted a document
    # after its own sentences and claims (kgd:doc-s01 before kgd:doc).
    return triple.subject.value, rank, str(triple.predicate), str(triple.object)


def list_batches(root: Path, *, limit: int = Limits.max_input_bytes) -> list[BatchInfo]:
    """Every batch of the project, oldest first, from the records in their files."""
    import pyoxigraph as ox

    folder = check_no_links(root / "data" / BATCH_DIR, root)
    found = []
    for path in sorted(folder.glob("*.ttl")) if folder.is_dir() else []:
        if not _BATCH_ID.match(path.stem):
            continue
        check_no_links(path, root)
        relative = batch_relative(path.stem)
        graph = graph_iri(relative)
        fields: dict[str, list[str]] = {}
        try:
            # a FIFO or device in place of a batch file is refused, not waited on
            with open_regular(path, limit=limit, name=relative) as data:
                for quad in ox.parse(data, format=ox.RdfFormat.TURTLE, base_iri=graph):
                    if quad.subject.value == graph:
                        fields.setdefault(quad.predicate.value, []).append(quad.object.value)
                    elif fields:
                        break  # the record comes first in the file
        except (SyntaxError, OSError) as err:
            raise InputError(f"unreadable batch file: {err}", path=relative) from err
        found.append(
            BatchInfo(
                id=path.stem,
                path=relative,
                graph=graph,
                added=(fields.get(PROV + "generatedAtTime") or [""])[0],
                sources=tuple(fields.get(KG + "sourceFile", [])),
                source=next(iter(fields.get(DCTERMS + "source", [])), None),
                sha256=(fields.get(KG + "sha256") or [""])[0],
                triples=int((fields.get(KG + "tripleCount") or ["0"])[0]),
            )
        )
    return found


MIN_PREFIX = 8
"""Shortest id or SHA-256 prefix that names a batch: a shorter one (one character, or the
empty string) would pick a batch by accident, and ``remove`` deletes what it picks."""


def find_batch(root: Path, spec: str) -> BatchInfo:
    """A batch by exact id, exact path (``data/batches/<id>.ttl``), or a unique prefix of at
    least :data:`MIN_PREFIX` characters of its id or of its SHA-256 (hex digits)."""
    batches = list_batches(root)
    text = spec.strip()
    if not text:
        raise UsageError("give a batch id (`kgraph batches` lists them)")
    matches = [b for b in batches if text in (b.id, b.path) or _same_file(text, root / b.path)]
    if not matches and len(text) >= MIN_PREFIX:
        matches = [b for b in batches if b.id.startswith(text)]
        if not matches and re.fullmatch(r"[0-9a-fA-F]+", text):
            matches = [b for b in batches if b.sha256 and b.sha256.startswith(text.lower())]
    if not matches:
        short = (
            f" (a prefix needs at least {MIN_PREFIX} characters)"
            if 0 < len(text) < MIN_PREFIX
            else ""
        )
        raise UsageError(f"no batch {spec!r}{short}; `kgraph batches` lists them")
    if len(matches) > 1:
        raise UsageError(
            f"{spec!r} matches {len(matches)} batches ({', '.join(b.id for b in matches[:4])}); be more specific"
        )
    return matches[0]


def _same_file(spec: str, path: Path) -> bool:
    if not spec.endswith(".ttl"):
        return False
    try:
        return Path(spec).resolve() == path.resolve()
    except (OSError, RuntimeError):
        return False


def check_removal(
    dataset: Dataset, shapes: ShapeIndex, batch: BatchInfo, engine: str = "compiled"
) -> Report:
    """The violations that taking ``batch`` out would leave in the graph."""
    from kgraph.shacl import engine as reference
    from kgraph.shacl import run

    validate_removal = reference.validate_removal if engine == "pyshacl" else run.validate_removal

    phase(Phase.VALIDATE)
    report = validate_removal(dataset, shapes, batch.graph)
    from kgraph.shacl import report as reporting

    return reporting.locate(report, [dataset.store], graph_sources(dataset))
