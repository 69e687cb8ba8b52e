"""Reading RDF strictly, and the dataset: every source file in its own named graph.

All parsing goes through Oxigraph's strict parsers (they reject every invalid file of the
W3C Turtle suite) after the guards of :mod:`kgraph.guards`; errors carry the file, line and
column. The dataset lives in an in-memory Oxigraph store, or in an on-disk one
(``--store DIR``) that is rebuilt only when a source file changes.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgraph.dotless import lacks_dot, statement_end
from kgraph.errors import InputError, KGraphError, LimitError, Setting, StorageError
from kgraph.formats import RdfSyntax
from kgraph.fsutil import read_regular, too_big
from kgraph.guards import check_query, check_rdf
from kgraph.layout import SHEET_SUFFIXES, Layout, SourceFile
from kgraph.limits import Limits, hold_until_exit
from kgraph.namespaces import GRAPH, OWL, PREFIXES, RDFS, file_skolem, inferred_graph
from kgraph.usercache import sheet_folder

if TYPE_CHECKING:
    import pyoxigraph as ox

STORE_META = "kgraph-store.json"
STORE_COMPACTED = "kgraph-compacted.json"
"""What ``kgraph serve`` last compacted the store for (its files' stamps), beside it."""
STORE_FORMAT = 1

_QUERY_POSITION = re.compile(r"error at (\d+):(\d+): ?")
_PARSE_POSITION = re.compile(r"^Parser error (?:at|between) [^:]*: ?")


@dataclass(frozen=True)
class Input:
    """RDF read from a file or standard input, checked by the guards, not yet parsed."""

    name: str
    data: bytes
    syntax: RdfSyntax


def read_input(
    path: str, syntax: RdfSyntax | None, limits: Limits, *, name: str | None = None
) -> Input:
    """Read ``path`` (``-`` for standard input) within the size limit and run the guards."""
    name = name or ("<stdin>" if path == "-" else path)
    if syntax is None:
        if path == "-":
            raise InputError(
                f"reading standard input needs {Setting.INPUT_FORMAT}",
                path=name,
                setting=Setting.INPUT_FORMAT,
            )
        syntax = RdfSyntax.from_path(path)
    if path == "-":
        try:
            data = _read_stream(sys.stdin.buffer, limits.max_input_bytes + 1)
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror or err}", path=name) from err
        if len(data) > limits.max_input_bytes:
            raise too_big(name, limits.max_input_bytes)
    else:
        data = read_regular(path, limit=limits.max_input_bytes, name=name)
    check_rdf(data, syntax, name=name, max_depth=limits.max_depth)
    return Input(name, data, syntax)


def _read_stream(stream: Any, most: int) -> bytes:
    """At most ``most`` bytes of a stream, in bounded reads: read(n) allocates n bytes
    first, and the default limit (1 GB) is past a modest --max-memory."""
    parts: list[bytes] = []
    got = 0
    while got < most and (chunk := stream.read1(min(most - got, 1 << 20))):
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def syntax_error(err: SyntaxError, name: str, data: bytes | None = None) -> InputError:
    """An Oxigraph parse error as an :class:`InputError` at its line and column.

    ``data``: the RDF text that was parsed (Turtle, TriG, N-Triples, N-Quads); a missing
    dot is then placed where the statement lacking it ends, not at the next token."""
    message = str(err.msg if err.msg else err)
    line, column = err.lineno, err.offset
    found = _QUERY_POSITION.search(message)
    if found and line is None:
        line, column = int(found.group(1)), int(found.group(2))
        message = message[found.end() :]
    message = _PARSE_POSITION.sub("", message)
    if data is not None and line is not None and column is not None and lacks_dot(message):
        end = statement_end(data, line, column)
        if end is not None and end[0] < line:
            line, column = end
    return InputError(message or "syntax error", path=name, line=line, column=column)


def _dotted(syntax: RdfSyntax, data: bytes) -> bytes | None:
    """The text, for :func:`syntax_error`, of a syntax whose statements end with a dot."""
    return None if syntax in (RdfSyntax.JSONLD, RdfSyntax.XML) else data


def parse(
    source: Input, *, base_iri: str | None, limits: Limits, bounded: bool = True
) -> list[ox.Quad]:
    """Parse strictly into quads (named graphs are flattened by the callers).

    ``bounded``: apply ``--max-triples`` (to files given on the command line; the
    project's own files are bounded by the input size and memory limits).
    """
    import pyoxigraph as ox

    quads: list[ox.Quad] = []
    cap = limits.max_triples if bounded else None
    try:
        for quad in ox.parse(source.data, format=source.syntax.oxigraph(), base_iri=base_iri):
            quads.append(quad)
            if cap is not None and len(quads) > cap:
                raise LimitError(
                    f"more than {limits.max_triples} triples; raise {Setting.MAX_TRIPLES}",
                    path=source.name,
                    setting=Setting.MAX_TRIPLES,
                )
    except SyntaxError as err:
        raise syntax_error(err, source.name, _dotted(source.syntax, source.data)) from err
    except (ValueError, OSError) as err:
        raise InputError(str(err), path=source.name) from err
    except MemoryError as err:
        too_long = token_limit(err, source.name)
        if too_long is None:
            raise
        raise too_long from err
    return quads


_TOKEN_BUFFER = re.compile(r"buffer maximal size of (\d+)")


def token_limit(err: MemoryError, name: str) -> LimitError | None:
    """Oxigraph's parsers refuse a single token (a literal, an IRI) over a fixed buffer size
    (16 MiB) with a MemoryError: no memory limit is at fault, so --max-memory cannot help."""
    found = _TOKEN_BUFFER.search(str(err))
    if not found:
        return None
    size = int(found.group(1)) // (1024 * 1024)
    return LimitError(
        f"a single literal or IRI is longer than {size} MiB, the most the RDF parser accepts "
        "(a fixed limit, no option raises it); split the value or store it outside the graph",
        path=name,
    )


@dataclass
class Dataset:
    """The project's files loaded into an Oxigraph store, one named graph per file."""

    store: ox.Store
    project: Layout
    sources: list[SourceFile]
    store_dir: Path | None = None
    extra_graphs: list[str] = field(default_factory=list)
    inferred_graphs: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    _union_choice: tuple[_UnionKey, bool] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """The last answer of :meth:`_is_whole_store`, with what it was computed from."""

    @classmethod
    def open(
        cls,
        project: Layout,
        *,
        limits: Limits,
        store_dir: Path | None = None,
        ontology_only: bool = False,
    ) -> Dataset:
        """Load the project in memory, or open (and refresh if stale) an on-disk store.

        ``ontology_only``: just the ontology's files, in memory (what a check of terms
        needs, without the cost of the data)."""
        import pyoxigraph as ox

        sources = project.source_files()
        if ontology_only:
            sources = [s for s in sources if s.relative.startswith("ontology/")]
            store_dir = None
        if store_dir is None:
            store = ox.Store()
            # The compiled sheets are kept in the user's cache folder: a start would
            # otherwise compile every sheet of data/ again (most of a cold start's time).
            folder = None if ontology_only else sheet_folder(project.root)
            caches: list[SheetCache] = []
            for source in sources:
                cache = None
                if source.is_sheet and folder is not None:
                    cache = sheet_cache(folder, sources, source)
                    folder = folder if cache is not None else None
                    caches += [cache] if cache is not None else []
                _load_file(store, source, project, limits, cache=cache)
            if folder is not None:  # every sheet went through the cache
                prune_sheet_caches(caches, sources, keep={})
            hold_until_exit(store)  # not freed triple by triple when the worker's work returns
            return cls(store, project, sources, limits=limits)
        return cls(
            _open_persistent(store_dir, project, sources, limits),
            project,
            sources,
            store_dir,
            limits=limits,
        )

    def present_graphs(self) -> set[str]:
        """The named graphs the store holds (an on-disk store keeps cached closures)."""
        present = set(self.asserted_graphs()) | set(self.inferred_graphs)
        meta = read_store_meta(self.store_dir) if self.store_dir else None
        if meta:
            present |= {inferred_graph(p) for p, done in meta.get("inferred", {}).items() if done}
        return present

    def cached_inference(self, profile: str) -> bool:
        """Whether an on-disk store already holds the closure of its current files."""
        meta = read_store_meta(self.store_dir) if self.store_dir else None
        return bool(meta and meta.get("inferred", {}).get(profile))

    def writable(self) -> ox.Store:
        """The store, reopened for writing if it was opened read-only (on-disk stores),
        holding the store's lock alone until :meth:`remember_inference`."""
        import pyoxigraph as ox

        if self.store_dir is not None and not getattr(self, "_writable", False):
            del self.store
            store_lock(self.store_dir, exclusive=True, wait=lock_wait(self.limits))
            meta = read_store_meta(self.store_dir)
            opened = {s.graph: file_stamp(s) for s in self.sources}
            if meta is None or meta.get("files") != opened:
                store_lock(self.store_dir, exclusive=False, wait=lock_wait(self.limits))
                raise StorageError(
                    f"the store in {self.store_dir} was updated by another kgraph while this "
                    "command ran; run it again"
                )
            try:
                self.store = ox.Store(str(self.store_dir))
            except OSError as err:
                raise StorageError(
                    f"cannot open the store in {self.store_dir} for update: {err}"
                ) from err
            self._writable = True
        return self.store

    def remember_inference(self, profile: str) -> None:
        if self.store_dir is None:
            return
        meta = read_store_meta(self.store_dir) or {}
        meta.setdefault("inferred", {})[profile] = True
        self.store.flush()
        write_store_meta(self.store_dir, meta)
        if getattr(self, "_writable", False):
            del self.store
            self.store = _refreshed(self.store_dir, lock_wait(self.limits))
            self._writable = False

    # -- graphs -------------------------------------------------------------------------

    def asserted_graphs(self) -> list[str]:
        return [s.graph for s in self.sources] + self.extra_graphs

    def add_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        """Add triples (e.g. files given to ``validate``) as a graph of their own."""
        import pyoxigraph as ox

        if self.store_dir is not None:
            raise StorageError(
                "files cannot be added to an on-disk store's dataset; use an overlay"
            )
        target = ox.NamedNode(graph)
        self.store.extend(ox.Quad(q.subject, q.predicate, q.object, target) for q in quads)
        self.extra_graphs.append(graph)

    def graph_sizes(self, graphs: Sequence[str] | None = None) -> dict[str, int]:
        import pyoxigraph as ox

        sizes: dict[str, int] = {}
        for graph in (
            graphs if graphs is not None else self.asserted_graphs() + self.inferred_graphs
        ):
            sizes[graph] = sum(
                1 for _ in self.store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
            )
        return sizes

    def quads(self, graphs: Sequence[str]) -> Iterator[ox.Quad]:
        import pyoxigraph as ox

        for graph in graphs:
            yield from self.store.quads_for_pattern(None, None, None, ox.NamedNode(graph))

    def source_literals(self) -> Iterator[ox.Quad]:
        """The project files' triples with a literal the store may have rewritten, as the
        files write them (``"12"^^xsd:long``, which the store holds as an xsd:integer), in
        their file's graph, with the subjects the store holds (the same skolem IRIs): what
        validation judges literals on (:mod:`kgraph.shacl.literals`) and what exports write
        (:mod:`kgraph.exact`). Costs a read of the files, no store."""
        for source in self.sources:
            if source.is_sheet:  # compiled by kgraph, in the forms the store keeps
                continue
            yield from file_literals(source, self.project, self.limits)

    def source_forms(self) -> Any:
        """The :class:`kgraph.exact.SourceForms` of the project's files (their literals as
        written, for what is serialised out of the store)."""
        from kgraph.exact import SourceForms

        return SourceForms.of(self.source_literals())

    def exact_quads(
        self,
        graphs: Sequence[str],
        forms: Any = None,
        *,
        quads: Callable[[str], Iterable[ox.Quad]] | None = None,
    ) -> Iterator[ox.Quad]:
        """:meth:`quads`, with each literal the store rewrote as the project's files write
        it (``forms``: a :meth:`source_forms`, computed here when not given; ``quads``: a
        graph's quads as the store holds them, by default :meth:`quads`)."""
        import pyoxigraph as ox

        forms = self.source_forms() if forms is None else forms
        asserted = set(self.asserted_graphs())

        sub = ox.NamedNode(RDFS + "subPropertyOf")
        same = ox.NamedNode(OWL + "equivalentProperty")

        def copies(p: Any, q: Any) -> bool:
            """Whether a triple over ``p`` entails one over ``q`` with the same subject and
            object (the closure holds the transitive steps)."""
            return p == q or any(
                True
                for pattern in ((p, sub, q), (p, same, q), (q, same, p))
                for _ in self.store.quads_for_pattern(*pattern, None)
            )

        def derived_from(subject: Any, predicate: Any, obj: Any) -> Iterator[ox.Quad]:
            for quad in self.store.quads_for_pattern(subject, None, obj, None):
                graph = quad.graph_name
                if (
                    isinstance(graph, ox.NamedNode)
                    and graph.value in asserted
                    and copies(quad.predicate, predicate)
                ):
                    yield quad

        for graph in graphs:
            yield from forms.restore(
                graph,
                self.quads([graph]) if quads is None else quads(graph),
                asserted=derived_from if graph in self.inferred_graphs else None,
            )

    def source_for_graph(self, graph: str) -> SourceFile | None:
        return next((s for s in self.sources if s.graph == graph), None)

    # -- querying ------------------------------------------------------------------------

    def query(
        self,
        text: str,
        *,
        substitutions: dict[Any, Any] | None = None,
        graphs: Sequence[str] | None = None,
        source: str = "query",
    ) -> Any:
        """Run a read query over the asserted graphs (plus inferred ones if loaded) as one
        default graph; ``GRAPH ?g`` still sees each file's graph.

        Every text passes the guard here, whoever built it (canned queries, checks, the
        reasoner's rules): the one door to the engine has the one lock.
        """
        import pyoxigraph as ox

        shape = check_query(
            text, max_depth=self.limits.max_depth, allowed_graph_prefix=GRAPH, source=source
        )

        loaded = self.asserted_graphs() + self.inferred_graphs
        wanted = list(graphs) if graphs else loaded
        options: dict[str, Any] = {}
        if shape.from_graphs:
            # The query names its own dataset (FROM / FROM NAMED, graphs of this dataset:
            # the guard checked them); a default graph set here would override it.
            pass
        elif self._is_whole_store(wanted, loaded):
            # The common case, and Oxigraph's fast path: an explicit list of default
            # graphs makes it about twice as slow as the union of all graphs.
            options["use_default_graph_as_union"] = True
        else:
            names: list[Any] = [ox.NamedNode(g) for g in wanted]
            options["default_graph"] = names
            options["named_graphs"] = names
        try:
            return self.store.query(text, substitutions=substitutions, prefixes=PREFIXES, **options)
        except SyntaxError as err:
            raise syntax_error(err, source) from err
        except OSError as err:
            raise StorageError(f"store error while querying: {err}") from err

    def _is_whole_store(self, wanted: list[str], loaded: list[str]) -> bool:
        """Whether ``wanted`` are exactly the graphs the store holds (:meth:`present_graphs`).

        Remembered between queries: that set changes only with the dataset's own lists of
        graphs (``loaded``, compared in full each time) and, for an on-disk store, with its
        record of the closures it holds (the metadata file, known unchanged by its stamp:
        every writer replaces it whole, so a new version is a new file). Reading and
        parsing that file on every query cost more than a small query's answer."""
        asked = tuple(loaded)
        key: _UnionKey = (
            asked if wanted is loaded else tuple(wanted),
            asked,
            _meta_stamp(self.store_dir) if self.store_dir is not None else None,
        )
        if self._union_choice is not None and self._union_choice[0] == key:
            return self._union_choice[1]
        whole = set(wanted) == self.present_graphs()
        self._union_choice = (key, whole)
        return whole


def file_literals(source: SourceFile, project: Layout, limits: Limits) -> list[ox.Quad]:
    """One project file's triples whose literal the store may rewrite (``may_be_rewritten``,
    with the literals beside them: ``with_neighbours``), as parsed, in the file's graph,
    their blank nodes skolemised as :func:`_load_file` does.

    A line-based file without blank nodes (the bulk of a large project, N-Triples) is not
    parsed whole: only its lines with a typed literal that may be rewritten are (a parse
    of every triple into Python objects costs about as much as loading the file). So there
    a canonical literal beside a rewritten one on the same subject and predicate (``true``
    and ``"1"^^xsd:boolean`` both stated) is not seen: the store's one triple is written
    in the rewritten form alone."""
    import pyoxigraph as ox

    from kgraph.shacl.literals import with_neighbours

    name = project.display(source.path)
    data = read_input(str(source.path), source.syntax, limits, name=name)
    graph = ox.NamedNode(source.graph)
    if source.syntax in (RdfSyntax.NT, RdfSyntax.NQ) and not _has_blank_label(data.data):
        data = Input(name, _candidate_lines(data.data), source.syntax)
        blank = False
    else:
        blank = _may_have_blank_nodes(data.data, source.syntax)
    quads = parse(data, base_iri=source.graph, limits=limits, bounded=False)
    # With the literals beside them (kgraph.shacl.literals.with_neighbours), before
    # skolemisation (a parse's blank-node labels are its own, consistently).
    wanted = set(with_neighbours(quads))
    if not wanted:
        return []
    if not blank:
        return [ox.Quad(q.subject, q.predicate, q.object, graph) for q in quads if q in wanted]
    return skolemise(quads, file_skolem(source.relative), keep=wanted.__contains__, graph=graph)


def _candidate_lines(data: bytes) -> bytes:
    """The lines of an N-Triples or N-Quads document with a typed literal the store may
    rewrite, judged on the raw text.

    A line holds one triple, so its first ``"`` opens its one literal, and the typed
    literal ends at the line's last ``"^^<``; every ``"^^<`` is looked at (one inside a
    string makes a line a candidate too, as an escape does: a line too many costs its
    parse, never a wrong answer). Found with ``bytes.find``, not a regular expression:
    ten times faster on a file of many strings."""
    from kgraph.shacl.literals import may_be_rewritten_text

    lines: dict[int, int] = {}
    # The verdict on each literal text (its lexical form's length; lexical form, '"^^<',
    # datatype): a large file repeats its dates and numbers, decoded and matched once.
    verdicts: dict[tuple[int, bytes], bool] = {}
    find, size = data.find, len(data)
    at = find(b'"^^<')
    while at >= 0:
        start = data.rfind(b"\n", 0, at) + 1
        end = find(b"\n", at)
        end = size if end < 0 else end
        close = find(b">", at, end)
        if close < 0:
            lines[start] = end
        else:
            opening = find(b'"', start, at)
            cut, text = at - opening - 1, data[opening + 1 : close]
            verdict = verdicts.get((cut, text))
            if verdict is None:
                try:
                    verdict = may_be_rewritten_text(text[:cut].decode(), text[cut + 4 :].decode())
                except UnicodeDecodeError:  # the guards let only UTF-8 through; be safe anyway
                    verdict = True
                verdicts[cut, text] = verdict
            if verdict:
                lines[start] = end
        at = find(b'"^^<', at + 4)
    return b"\n".join(data[start:end] for start, end in lines.items()) + b"\n"


def _load_file(
    store: ox.Store,
    source: SourceFile,
    project: Layout,
    limits: Limits,
    *,
    bulk: bool = False,
    base: Any = None,
    cache: SheetCache | None = None,
) -> None:
    """Load one file into its graph. Blank nodes are skolemised (deterministically, in
    the file's own namespace) so that exports and pushes never duplicate them. A claim
    sheet is compiled against ``base`` (by default ``store``, which then holds just what
    comes before it in :meth:`Layout.source_files`' order)."""
    import pyoxigraph as ox

    name = project.display(source.path)
    data = read_input(str(source.path), source.syntax, limits, name=name)
    graph = ox.NamedNode(source.graph)
    if source.is_sheet:
        cached = cache.get(data.data) if cache is not None else None
        if cached is None:
            from kgraph.sheets import UnknownSheetName

            try:
                compiled = compile_project_sheet(
                    data.data, name, store if base is None else base, limits
                )
            except UnknownSheetName as err:
                raise _named_later(err, source, project, limits) from err
            cached = [ox.Triple(q.subject, q.predicate, q.object) for q in compiled.quads]
            if cache is not None:
                cache.put(data.data, cached)
        store.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in cached)
        return
    try:
        if source.syntax.quads or _may_have_blank_nodes(data.data, source.syntax):
            quads = parse(
                Input(name, data.data, source.syntax),
                base_iri=source.graph,
                limits=limits,
                bounded=False,
            )
            store.extend(
                ox.Quad(q.subject, q.predicate, q.object, graph)
                for q in skolemise(quads, file_skolem(source.relative))
            )
        elif bulk:
            store.bulk_load(
                data.data, source.syntax.oxigraph(), base_iri=source.graph, to_graph=graph
            )
        else:
            store.load(data.data, source.syntax.oxigraph(), base_iri=source.graph, to_graph=graph)
    except SyntaxError as err:
        raise syntax_error(err, name, _dotted(source.syntax, data.data)) from err
    except MemoryError as err:
        too_long = token_limit(err, name)
        if too_long is None:
            raise
        raise too_long from err


def _named_later(err: Any, sheet: SourceFile, project: Layout, limits: Limits) -> InputError:
    """``err`` (a name the sheet's base does not know), saying so when a file of data/
    that sorts after the sheet, which the sheet does not see, gives that name as a label:
    background.ttl sorts after article3.yaml."""
    sources = [s for s in project.source_files() if not s.is_batch]
    later = sources[[s.graph for s in sources].index(sheet.graph) + 1 :]
    quoted = re.compile(r'"' + re.escape(err.unknown) + r'"(@|\^\^|\s|$)', re.IGNORECASE)
    for source in later:
        if source.is_sheet:
            continue
        try:
            text = read_regular(source.path, limit=limits.max_input_bytes).decode("utf-8")
        except (OSError, UnicodeDecodeError, KGraphError):
            continue  # a hint only: the file's own load reports what is wrong with it
        if quoted.search(text):
            message = err.message.removesuffix(err.declare)
            return InputError(
                f"{message}; {source.relative} names it, but a sheet of data/ sees only the "
                f"files before it in path order: rename the sheet to sort after "
                f"{source.path.name}, or add it with `kgraph add`",
                path=err.path,
                line=err.line,
            )
    return err  # type: ignore[no-any-return]


def compile_project_sheet(data: bytes, name: str, base: Any, limits: Limits) -> Any:
    """A claim sheet of data/ compiled against ``base`` (the ontology, the curated files
    and the sheets before it): the same files always give the same triples."""
    from kgraph.names import NameIndex
    from kgraph.sheets import compile_sheet

    return compile_sheet(data, name=name, index=NameIndex.from_store(base), limits=limits)


def earlier_graphs(sources: Sequence[SourceFile], sheet: SourceFile) -> list[str]:
    """The graphs a sheet of data/ is compiled against: the sources before it in
    :meth:`Layout.source_files`' order, batches excluded (they must not change it)."""
    graphs: list[str] = []
    for source in sources:
        if source.graph == sheet.graph or source.is_batch:
            break
        graphs.append(source.graph)
    return graphs


class GraphView:
    """The union of some named graphs of a store, read in place: what a sheet resolves its
    names against. Copying those graphs into a store of their own per sheet cost a reload
    of the graph per sheet (O(sheets x graph) at every refresh); the view costs the sheet's
    targeted look-ups. It has the two reading methods the name index and the compiler use."""

    def __init__(self, store: ox.Store, graphs: Sequence[str]) -> None:
        import pyoxigraph as ox

        self.store = store
        self.graphs = [ox.NamedNode(g) for g in graphs]

    def quads_for_pattern(
        self, subject: Any, predicate: Any, obj: Any, graph_name: Any = None
    ) -> Iterator[ox.Quad]:
        for graph in self.graphs:
            if graph_name is None or graph_name == graph:
                yield from self.store.quads_for_pattern(subject, predicate, obj, graph)

    def query(self, query: str, *, use_default_graph_as_union: bool = False, **kw: Any) -> Any:
        # Only the union of the graphs is read (a store of the copies held nothing in its
        # default graph): refuse anything else rather than read the whole store.
        if not use_default_graph_as_union or "default_graph" in kw or "named_graphs" in kw:
            raise ValueError("a GraphView answers queries over the union of its graphs only")
        return self.store.query(query, default_graph=list(self.graphs), named_graphs=[], **kw)


def sheet_base(store: ox.Store, sources: Sequence[SourceFile], sheet: SourceFile) -> GraphView:
    """What a sheet of data/ is compiled against: the graphs of the sources before it, in
    ``store``, which must hold them (an on-disk store also holds the batches and the later
    files, which must not change the sheet: the view leaves them out)."""
    return GraphView(store, earlier_graphs(sources, sheet))


def sheet_base_copy(
    sources: Sequence[SourceFile], sheet: SourceFile, project: Layout, limits: Limits
) -> ox.Store:
    """The sources before a sheet loaded into a store of their own: for when no local store
    holds them (a report on a remote endpoint's graph). Costs a load of those files."""
    import pyoxigraph as ox

    base = ox.Store()
    before = set(earlier_graphs(sources, sheet))
    for source in sources:
        if source.graph in before:
            _load_file(base, source, project, limits)
    return base


SHEET_CACHE = "kgraph-sheets"
_ENTRY_HEAD = b"# kgraph compiled sheet, sha256 "


class SheetCache:
    """Compiled sheets kept beside an on-disk store (or, without one, in the user's cache
    folder: :func:`kgraph.usercache.sheet_folder`), one N-Triples file per sheet whose first
    line is the SHA-256 of the rest, named by the SHA-256 of kgraph's version, the sheet's
    bytes, the compiler's own source and what the sheet resolved against (the earlier
    files' paths, sizes and modification times: the same stamps that tell the store a file
    changed). A refresh that must recompile every sheet (a new sheet,
    an edited file) then compiles only those whose key changed: adding the 101st article
    compiles one sheet, not 101. A missing, unreadable or corrupt entry is compiled again;
    one that cannot be written is not kept (a read-only folder)."""

    def __init__(self, folder: Path, against: Sequence[SourceFile]) -> None:
        import hashlib

        from kgraph import __version__

        self.folder = folder
        self.used: set[str] = set()
        prefix = hashlib.sha256(f"kgraph {__version__}\n".encode())
        # A changed compiler may give other triples. Read by path, not imported: a load that
        # finds every sheet cached never imports the compiler (nor PyYAML).
        here = Path(__file__).parent
        for module in ("sheets.py", "names.py", "namespaces.py"):
            prefix.update((here / module).read_bytes())
        for source in against:
            prefix.update(json.dumps([source.relative, file_stamp(source)]).encode() + b"\n")
        self.prefix = prefix

    def _path(self, data: bytes) -> Path:
        key = self.prefix.copy()
        key.update(b"sheet\n" + data)
        name = key.hexdigest() + ".nt"
        self.used.add(name)
        return self.folder / name

    def get(self, data: bytes) -> list[ox.Triple] | None:
        import hashlib

        import pyoxigraph as ox

        path = self._path(data)
        try:
            text = path.read_bytes()
        except OSError:
            return None
        # The first line holds the SHA-256 of the rest: an entry cut short at a line's end
        # (a full disk, a crash of a copy) is still valid N-Triples, but says less.
        head, _, body = text.partition(b"\n")
        if head != _ENTRY_HEAD + hashlib.sha256(body).hexdigest().encode():
            return None
        try:
            triples = [q.triple for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
        except (SyntaxError, ValueError):
            return None
        # A sheet always says something (its document): an empty entry is a damaged one.
        return triples or None

    def put(self, data: bytes, triples: Sequence[ox.Triple]) -> None:
        import contextlib
        import hashlib

        import pyoxigraph as ox

        from kgraph.fsutil import write_atomic

        body = ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES) or b""
        head = _ENTRY_HEAD + hashlib.sha256(body).hexdigest().encode()
        # Never a half-written entry under the key; one that cannot be written is not kept
        # (the sheet is compiled again next time).
        with contextlib.suppress(StorageError):
            write_atomic(self._path(data), head + b"\n" + body, make_parents=True)

    def prune(self) -> None:
        """Drop the entries no sheet of this refresh used (edited or deleted sheets)."""
        try:
            for entry in self.folder.iterdir():
                if entry.name not in self.used:
                    entry.unlink()
        except OSError:
            pass


def sheet_cache(
    folder: Path, sources: Sequence[SourceFile], sheet: SourceFile
) -> SheetCache | None:
    """The cache of ``sheet``'s compiled triples, keyed by what it compiles against; None
    when the key cannot be made (kgraph installed without its .py sources): no cache."""
    before = set(earlier_graphs(sources, sheet))
    try:
        return SheetCache(folder, [s for s in sources if s.graph in before])
    except OSError:
        return None


def prune_sheet_caches(
    caches: Sequence[SheetCache], sources: Sequence[SourceFile], keep: dict[str, Any]
) -> None:
    """Once every sheet went through the cache (none was kept in a store, ``keep``), drop
    the entries none of them used: the other states of edited or deleted sheets."""
    if caches and all(s.graph not in keep for s in sources if s.is_sheet):
        used = set().union(*(c.used for c in caches))
        caches[-1].used = used
        caches[-1].prune()


def _may_have_blank_nodes(data: bytes, syntax: RdfSyntax) -> bool:
    """A cheap over-approximation: the fast loader is used only when there are none."""
    if syntax in (RdfSyntax.NT, RdfSyntax.NQ):
        return _has_blank_label(data)
    if syntax in (RdfSyntax.TURTLE, RdfSyntax.TRIG):
        return _has_blank_label(data) or b"[" in data or b"(" in data
    return True


_BLANK_LABEL = re.compile(rb"_:")


def _has_blank_label(data: bytes) -> bool:
    """``b"_:" in data``, faster: a file without ``_`` at all is answered by one memchr,
    and the regular expression's search for the two bytes is about twice as fast as the
    ``in`` test's on a file of many ``:`` (0.3 s at 1M triples)."""
    return b"_" in data and _BLANK_LABEL.search(data) is not None


STORE_LOCK = "kgraph-store.lock"
_LOCK_FDS: dict[str, int] = {}
"""One lock file descriptor per store and process: flock() locks belong to an open file,
so two descriptors of one process would block each other."""


def store_lock(store_dir: Path, *, exclusive: bool, wait: float) -> None:
    """Hold the on-disk store's lock, shared (reading) or exclusive (updating), for as long
    as this process lives or until the next call; wait at most ``wait`` seconds for it.

    Readers share it; a command that must refresh the store (a file changed) or cache a
    closure in it takes it alone, so the others wait for it and then read the fresh store
    instead of failing on Oxigraph's own lock. The kernel drops the lock with the process.
    """
    import fcntl
    import os
    import time

    key = str(store_dir.resolve())
    fd = _LOCK_FDS.get(key)
    if fd is None:
        try:
            fd = os.open(
                store_dir / STORE_LOCK,
                os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0),
                0o644,
            )
        except OSError as err:
            raise StorageError(
                f"cannot create the store's lock file in {store_dir}: {err.strerror or err}"
            ) from err
        _LOCK_FDS[key] = fd
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise StorageError(
                    f"the store in {store_dir} is being updated by another kgraph; gave up after "
                    f"{wait:g} s (raise {Setting.WORK_TIMEOUT}, or try again)",
                    setting=Setting.WORK_TIMEOUT,
                ) from None
            time.sleep(0.05)


def lock_wait(limits: Limits) -> float:
    """How long to wait for the store's lock: most of the load phase's budget, so that the
    wait ends with its own message before the parent's deadline stops the worker."""
    return max(limits.work_timeout * 0.9, 0.0)


def _open_persistent(
    store_dir: Path, project: Layout, sources: list[SourceFile], limits: Limits
) -> ox.Store:
    """Open the on-disk store, bringing it up to date file by file.

    The store remembers each file's size and modification time; a new file is loaded into
    its graph, a changed one reloaded, a deleted one's graph dropped. So adding a batch to
    a graph of millions of triples costs the batch, not a reload.

    Crash safety (a ``kill -9`` at any point): the metadata only ever lists graphs whose
    content is exactly their file's. Before anything is changed it is rewritten to list just
    the graphs this refresh leaves alone; every other graph is cleared before it is loaded.
    A refresh that dies part-way therefore leaves metadata that makes the next one reload
    (after clearing) everything it may have touched.
    """
    import pyoxigraph as ox

    wait = lock_wait(limits)
    _refuse_foreign(store_dir)  # before the lock file is created in it
    try:
        store_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(
            f"cannot create the store folder {store_dir}: {err.strerror or err}"
        ) from err
    store_lock(store_dir, exclusive=False, wait=wait)
    wanted = {s.graph: file_stamp(s) for s in sources}
    meta = read_store_meta(store_dir)
    if meta is not None and meta.get("files") == wanted:
        return read_only(store_dir)
    store_lock(store_dir, exclusive=True, wait=wait)
    try:
        # Another command may have refreshed it while this one waited.
        meta = read_store_meta(store_dir)
        if meta is not None and meta.get("files") == wanted:
            return _refreshed(store_dir, wait)
        _refuse_foreign(store_dir)
        have = dict(meta.get("files", {})) if meta else {}
        keep = {g: stamp for g, stamp in have.items() if wanted.get(g) == stamp}
        if any(s.graph not in keep for s in sources if not s.is_batch):
            # A sheet compiles against the files before it: when one of them changed, so
            # may the sheet's triples.
            keep = {g: st for g, st in keep.items() if not g.lower().endswith(SHEET_SUFFIXES)}
        # Written before the store is even created: a failure from here on (a full disk
        # included) leaves a folder that the next run recognises and rebuilds.
        write_store_meta(store_dir, {"format": STORE_FORMAT, "files": keep, "inferred": {}})
        try:
            store = ox.Store(str(store_dir))
        except OSError as err:
            raise StorageError(f"cannot open the store in {store_dir} for update: {err}") from err
        try:
            # Only a store that holds something is cleared: RocksDB's clear of a new, empty
            # store leaves deletions that every later read still consults, and that
            # Oxigraph's optimize does not drop (1.3 to 1.5 times the CPU per canned query
            # at 100k triples, measured for kgraph serve).
            if meta is None and next(store.quads_for_pattern(None, None, None), None):
                store.clear()
            for stale in [g for g in store.named_graphs() if g.value not in keep]:
                store.remove_graph(stale)  # changed, deleted, half-loaded, inferred
            fresh = [s for s in sources if s.graph not in keep]
            caches: list[SheetCache | None] = []
            for source in fresh:
                if source.is_sheet:
                    caches.append(sheet_cache(store_dir / SHEET_CACHE, sources, source))
                # Every earlier graph is in ``store`` by now: kept, or loaded above. The
                # view is not kept in a variable: it holds the store, which must be closed
                # (``del store`` below) before the folder is reopened read-only.
                _load_file(
                    store,
                    source,
                    project,
                    limits,
                    bulk=len(fresh) > 1 or meta is None,
                    base=sheet_base(store, sources, source) if source.is_sheet else None,
                    cache=caches[-1] if source.is_sheet else None,
                )
            if all(c is not None for c in caches):
                prune_sheet_caches([c for c in caches if c is not None], sources, keep)
            store.flush()
        except OSError as err:
            raise StorageError(f"cannot update the store in {store_dir}: {err}") from err
        write_store_meta(store_dir, {"format": STORE_FORMAT, "files": wanted, "inferred": {}})
        del store  # Oxigraph: no reader may open the folder while a writer has it open
        return _refreshed(store_dir, wait)
    except BaseException:
        store_lock(store_dir, exclusive=False, wait=wait)
        raise


def _refuse_foreign(store_dir: Path) -> None:
    """A folder with files in it but without kgraph's metadata is someone else's."""
    if not store_dir.is_dir() or read_store_meta(store_dir) is not None:
        return
    from kgraph.guardcache import CACHE_FILE

    if any(
        p.name not in (STORE_LOCK, STORE_META, STORE_COMPACTED, CACHE_FILE, SHEET_CACHE)
        for p in store_dir.iterdir()
    ):
        raise StorageError(
            f"{store_dir} is not empty and is not a kgraph store; refusing to touch it"
        )


def _refreshed(store_dir: Path, wait: float) -> ox.Store:
    """Go back to sharing the lock (the caller closed its writable store) and read like the
    others."""
    store_lock(store_dir, exclusive=False, wait=wait)
    return read_only(store_dir)


def read_only(store_dir: Path) -> ox.Store:
    """The on-disk store opened read-only (no lock taken: the caller holds it)."""
    import pyoxigraph as ox

    try:
        return ox.Store.read_only(str(store_dir))
    except OSError as err:
        raise StorageError(f"cannot open the store in {store_dir}: {err}") from err


def file_stamp(source: SourceFile) -> list[int]:
    """What a store compares to know a source file unchanged: its size and modification time."""
    stat = source.path.stat()
    return [stat.st_size, stat.st_mtime_ns]


_UnionKey = tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...] | None]


def _meta_stamp(store_dir: Path) -> tuple[int, ...]:
    """What tells the store's metadata file unchanged without reading it: its inode (it is
    replaced whole, :func:`write_store_meta`), size and times; () when there is none."""
    try:
        # os.stat on a joined string: a pathlib join costs more than the system call
        stat = os.stat(os.path.join(store_dir, STORE_META))
    except OSError:
        return ()
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def read_store_meta(store_dir: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((store_dir / STORE_META).read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("format") == STORE_FORMAT else None


def write_store_meta(store_dir: Path, meta: dict[str, Any]) -> None:
    from kgraph.fsutil import write_atomic

    write_atomic(store_dir / STORE_META, json.dumps(meta, indent=2).encode(), make_parents=True)


def skolemise(
    quads: Iterable[Any],
    namespace: str,
    *,
    keep: Callable[[Any], bool] | None = None,
    graph: Any = None,
) -> list[Any]:
    """Replace blank nodes by IRIs ``namespace + b<n>``, numbered by first appearance.

    Parse order is deterministic, so the same input always gets the same IRIs. ``keep``:
    only the quads it accepts are returned (numbered over all of them, as a load numbers
    them); ``graph``: the graph they are put in (by default their own).
    """
    import pyoxigraph as ox

    names: dict[str, Any] = {}

    def fix(term: Any) -> Any:
        if isinstance(term, ox.BlankNode):
            if term.value not in names:
                names[term.value] = ox.NamedNode(f"{namespace}b{len(names) + 1}")
            return names[term.value]
        return term

    out = []
    for q in quads:
        subject, obj = fix(q.subject), fix(q.object)
        if keep is None or keep(q):
            out.append(ox.Quad(subject, q.predicate, obj, q.graph_name if graph is None else graph))
    return out
