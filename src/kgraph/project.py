"""The front door of the library: one :class:`Project`, whose methods are the verbs.

    from kgraph import Project, Profile
    project = Project.open("path/to/project")
    report = project.validate(infer=Profile.RDFS)

Each verb runs its engine in the confined, bounded worker (:mod:`kgraph.limits`,
:mod:`kgraph.sandbox`) unless the project was opened with ``isolated=False`` (in process:
for tests and the debugger). Nothing here prints, exits or knows a command-line flag; the
verbs that write (``add``, ``remove``, ``export`` to a file) take the project lock, clean
what a crashed writer left and write atomically themselves.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kgraph.errors import KGraphError, Setting, StorageError, UsageError
from kgraph.formats import RdfSyntax, ResultFormat
from kgraph.layout import Layout
from kgraph.limits import Limits, rocksdb_running, run_bounded
from kgraph.reasoning import Profile
from kgraph.shacl.model import Engine
from kgraph.storekind import StoreKind

if TYPE_CHECKING:
    from kgraph.batches import AddResult, BatchInfo
    from kgraph.checks import CheckReport
    from kgraph.operations import ReasonResult
    from kgraph.queries import CannedQuery, Scan
    from kgraph.remote import GraphFile, PushOptions, PushPlan, PushReport
    from kgraph.results import QueryResult
    from kgraph.shacl.index import ShapeIndex
    from kgraph.shacl.model import Report
    from kgraph.stats import Stats
    from kgraph.store import Dataset

T = TypeVar("T")


class RemoveStatus(StrEnum):
    """What ``remove`` did with a batch."""

    REMOVED = "removed"
    DRY_RUN = "dry-run"
    """It would have been removed; nothing was."""
    REFUSED = "refused"
    """The graph without it would have violations (and ``force`` was not given)."""


@dataclass(frozen=True)
class RemoveResult:
    status: RemoveStatus
    batch: BatchInfo
    report: Report
    """The validation of the graph without the batch."""


_warned = False


def _ignore(n: int, total: int) -> None:
    """No progress to show."""


class Project:
    """A kgraph project (its :class:`~kgraph.layout.Layout`), an optional on-disk store and
    the limits every verb runs within. Open it with :meth:`open`."""

    def __init__(
        self,
        layout: Layout,
        *,
        store: Path | None = None,
        limits: Limits | None = None,
        isolated: bool = True,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self._layout = layout
        self._store = store
        self._limits = limits or Limits()
        self._isolated = isolated
        self._on_warning = on_warning

    @classmethod
    def open(
        cls,
        directory: str | Path | None = None,
        *,
        store: str | Path | None = None,
        limits: Limits | None = None,
        isolated: bool = True,
        on_warning: Callable[[str], None] | None = None,
    ) -> Project:
        """The project in ``directory``; by default the current directory when it is one,
        else the graph shipped with the package. ``store`` is an on-disk Oxigraph store
        kept up to date with the files; ``on_warning`` hears, once per process, that the
        kernel sandbox is not available."""
        return cls(
            Layout.locate(directory),
            store=Path(store) if store else None,
            limits=limits,
            isolated=isolated,
            on_warning=on_warning,
        )

    @property
    def layout(self) -> Layout:
        return self._layout

    @property
    def limits(self) -> Limits:
        return self._limits

    @property
    def store(self) -> Path | None:
        return self._store

    # -- reading -------------------------------------------------------------------------

    def queries(self) -> Scan:
        """The canned queries (``.queries``, by name) and the files that did not load
        (``.problems``, each an error with its file and line)."""
        from kgraph.queries import scan

        return scan(self._layout.queries_dir, limit=self._limits.max_input_bytes)

    def resolve(self, query: str | None, text: str | None = None) -> CannedQuery:
        """A canned query by name, a ``.rq`` file, or (``text``) SPARQL text."""
        from kgraph.queries import resolve

        return resolve(query, text, self._layout.queries_dir, limit=self._limits.max_input_bytes)

    def unknown_terms(self, query: CannedQuery) -> list[str]:
        """A warning for each term of the project's own vocabulary that ``query`` names and
        the ontology does not declare (a typo answers with no rows, silently)."""
        from kgraph.vocab import declared_terms, unknown_terms, warning

        def declared() -> frozenset[str]:
            return declared_terms(self._layout.ontology_dir, limit=self._limits.max_input_bytes)

        return [warning(query.source, u) for u in unknown_terms(query.text, declared)]

    def query(
        self,
        query: str | CannedQuery,
        params: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        *,
        infer: Profile = Profile.NONE,
        fmt: ResultFormat | RdfSyntax | str | None = None,
        endpoint: str | None = None,
    ) -> QueryResult:
        """Run a query (a name, a ``.rq`` path, SPARQL text, or a resolved query) with its
        parameters bound as typed terms. The answer comes serialised as ``fmt`` when given
        (where the query ran, so nothing is serialised twice), else in its lossless native
        encoding (SPARQL TSV, N-Triples). With ``endpoint``, the query runs at that SPARQL
        endpoint over the project's graphs, and gives the same QueryResult."""
        from kgraph.queries import CannedQuery, bind

        if isinstance(fmt, ResultFormat):
            fmt = fmt.value
        elif isinstance(fmt, RdfSyntax):
            fmt = fmt.cli_name
        if fmt == "table":
            fmt = None
        canned = query if isinstance(query, CannedQuery) else self._resolve_any(query)
        pairs = tuple(params.items()) if isinstance(params, Mapping) else tuple(params)
        bound = bind(canned, pairs)
        if endpoint:
            from kgraph.remote import remote_query

            return remote_query(
                endpoint,
                canned,
                bound,
                fmt=fmt,
                layout=self._layout,
                limits=self._limits,
                infer=infer,
            )
        from kgraph.operations import run_query

        return self._run(lambda: run_query(self, canned, bound, fmt=fmt, infer=infer))

    def _resolve_any(self, query: str) -> CannedQuery:
        # SPARQL text has whitespace or braces; a name or a path has neither.
        if "{" in query or query.split()[0].upper() in ("PREFIX", "BASE"):
            return self.resolve(None, query)
        return self.resolve(query)

    def validate(
        self,
        files: Sequence[str] = (),
        *,
        infer: Profile = Profile.NONE,
        syntax: RdfSyntax | None = None,
        base_iri: str | None = None,
        engine: Engine = Engine.COMPILED,
        endpoint: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Report:
        """SHACL validation of the graph (plus the new triples in ``files``), by the
        compiled engine or by pySHACL (``Engine.PYSHACL``, the reference).

        With ``endpoint``, the compiled queries run at that SPARQL endpoint over its default
        graph (which must be the union of the project's graphs: docs/stores.md), and no
        graph is loaded here; ``files``, ``infer`` and the pySHACL engine need the graph
        here and are refused. ``progress(done, total)`` follows the shapes evaluated."""
        from kgraph import operations

        if endpoint:
            if files or infer != Profile.NONE or Engine(engine) != Engine.COMPILED:
                raise UsageError(
                    f"validation at {Setting.ENDPOINT} reads the store's graph with the "
                    f"compiled engine: it takes no FILE, and neither {Setting.INFER} nor "
                    f"{Setting.ENGINE} can be set",
                    setting=(Setting.ENDPOINT, Setting.INFER, Setting.ENGINE),
                )
            return operations.validate_endpoint(self, endpoint, progress=progress)
        return self._run(
            lambda: operations.validate(
                self,
                files,
                infer=infer,
                syntax=syntax,
                base_iri=base_iri,
                engine=Engine(engine),
                progress=progress,
            ),
            reads=files,
        )

    def reason(
        self, profile: Profile = Profile.OWLRL, *, syntax: RdfSyntax = RdfSyntax.TURTLE
    ) -> ReasonResult:
        """The inferred triples alone (the closure minus what is asserted), serialised."""
        from kgraph import operations

        return self._run(
            lambda: operations.reason(self.dataset(infer=profile), profile=profile, syntax=syntax)
        )

    def export(
        self, fmt: str = "nq", *, infer: Profile = Profile.NONE, target: str | Path | None = None
    ) -> bytes | None:
        """The whole dataset as ``fmt``: returned, or written atomically to ``target``."""
        from kgraph import operations
        from kgraph.fsutil import check_output_folder, describe_os_error, fsync_dir, temp_path_for

        if target is None:
            data = self._run(lambda: operations.export(self.dataset(infer=infer), fmt=fmt))
            assert isinstance(data, bytes)
            return data
        name = str(target)
        target = Path(target)
        # Before the export runs: a missing folder is bad input, and is not made.
        check_output_folder(target, name)
        tmp = temp_path_for(target)
        try:
            try:
                # The confined worker writes into a private folder of its own, next to the target.
                tmp.mkdir()
                part = tmp / target.name
                self._run(
                    lambda: operations.export(
                        self.dataset(infer=infer), fmt=fmt, target=part, name=name
                    ),
                    writes=(str(tmp),),
                )
                part.replace(target)
                fsync_dir(target.parent)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError as err:
            raise StorageError(describe_os_error(err, target)) from err
        return None

    def convert(
        self,
        file: str,
        *,
        syntax: RdfSyntax | None = None,
        base_iri: str | None = None,
        to: RdfSyntax = RdfSyntax.NT,
    ) -> bytes:
        """``file`` read with the strict parser and the input guards, written as ``to``."""
        from kgraph import operations

        return self._run(
            lambda: operations.convert(self, file, syntax=syntax, base_iri=base_iri, target=to),
            reads=(file,),
        )

    def stats(self, *, infer: Profile = Profile.NONE) -> Stats:
        """Triples per graph, instances per class, properties used, shapes and targets."""
        from kgraph import stats

        return self._run(lambda: stats.collect(self.dataset(infer=infer), self.shapes()))

    def check(self, *, infer: Profile = Profile.NONE) -> CheckReport:
        """The quality checks (``queries/checks/*-violation.rq`` and ontology hygiene)."""
        from kgraph import checks

        return self._run(lambda: checks.run(self.dataset(infer=infer), self.shapes()))

    def overlay_validator(
        self,
        *,
        syntax: RdfSyntax | None = None,
        base_iri: str | None = None,
        engine: Engine = Engine.COMPILED,
    ) -> Callable[[Sequence[str]], Report]:
        """Load the graph and the shapes once, in this process, and return a function that
        validates files as an overlay on them: only the violations the files introduce,
        at the nodes they can affect (as :meth:`add` validates a batch); the loaded graph
        is left as it was. For checking many small inputs against one graph (the shape
        fixtures' tests); trusted input only, like :meth:`dataset`."""
        from kgraph.operations import overlay_validator

        return overlay_validator(self, syntax=syntax, base_iri=base_iri, engine=Engine(engine))

    # -- the loaded state, in this process (the verbs call these in their worker) --------

    def dataset(self, *, infer: Profile = Profile.NONE) -> Dataset:
        """The loaded graph (with the closure of ``infer`` in its own graph), in this
        process: for walking the triples or comparing engines, not for untrusted input."""
        from kgraph.limits import Phase, phase
        from kgraph.reasoning import materialise
        from kgraph.store import Dataset

        phase(Phase.LOAD)
        dataset = Dataset.open(self._layout, limits=self._limits, store_dir=self._store)
        if infer != Profile.NONE:
            phase(Phase.REASON)
            materialise(dataset, infer)
        return dataset

    def shapes(self) -> ShapeIndex:
        """The project's shapes file, read within the limits, parsed and analysed, in this
        process. With an on-disk store, rdflib's verdicts on the shapes' SPARQL are
        remembered in it (:mod:`kgraph.guardcache`), and so are the analysis and the
        compiler's survey of the file's bytes (:mod:`kgraph.shapecache`); without one, in
        the user's cache folder (:func:`kgraph.usercache.shapes_folder`)."""
        from kgraph import guardcache, shapecache
        from kgraph.fsutil import read_regular
        from kgraph.guardcache import RdflibVerdicts
        from kgraph.shacl.index import load_shapes
        from kgraph.shapecache import ShapesCache

        path = self._layout.shapes_path
        name = self._layout.display(path)
        data = read_regular(path, limit=self._limits.max_input_bytes, name=name)
        verdicts = RdflibVerdicts.beside_store(self._store)
        cache = ShapesCache.beside_store(self._store)
        folder = self._shapes_folder()
        if folder is not None:
            verdicts = RdflibVerdicts(folder / guardcache.CACHE_FILE)
            cache = ShapesCache(folder / shapecache.CACHE_FILE)
        return load_shapes(
            data, name=name, max_depth=self._limits.max_depth, verdicts=verdicts, cache=cache
        )

    def _shapes_folder(self) -> Path | None:
        """Without a store, the user's cache folder of this project's shapes
        (:func:`kgraph.usercache.shapes_folder`), made if need be (a worker finds it made by
        :meth:`_access`); None with a store (its own folder keeps them), or when it cannot
        be made or written (then nothing is remembered)."""
        from kgraph.usercache import prepare, shapes_folder

        if self._store is not None:
            return None
        folder = shapes_folder(self._layout.root)
        return folder if folder is not None and prepare(folder) else None

    # -- the write path ------------------------------------------------------------------

    def batches(self) -> list[BatchInfo]:
        """The batches added with :meth:`add`, oldest first."""
        from kgraph.batches import list_batches
        from kgraph.fsutil import clean_leftovers
        from kgraph.lock import project_lock

        if not self._layout.shipped:
            # A start after a crash cleans what the crashed writer left (only when no writer runs).
            try:
                with project_lock(self._layout.root, wait=0):
                    clean_leftovers(self._layout.data_dir)
            except StorageError:
                pass
        return list_batches(self._layout.root, limit=self._limits.max_input_bytes)

    def add(
        self,
        files: Sequence[str],
        *,
        source: str | None = None,
        dry_run: bool = False,
        infer: Profile = Profile.NONE,
        syntax: RdfSyntax | None = None,
        base_iri: str | None = None,
        wait: float = 60.0,
        on_wait: Callable[[str], None] | None = None,
        engine: Engine = Engine.COMPILED,
    ) -> AddResult:
        """Validate new triples with the graph and, if they conform, store them as a batch
        (``data/batches/<id>.ttl``); on any failure nothing is written."""
        from kgraph import batches
        from kgraph.batches import AddStatus
        from kgraph.fsutil import clean_leftovers, write_atomic
        from kgraph.lock import project_lock

        layout = self._layout
        if layout.shipped:
            raise KGraphError(
                f"the shipped graph is read-only; pass {Setting.PROJECT}", setting=Setting.PROJECT
            )
        with project_lock(layout.root, wait=wait, on_wait=on_wait):
            clean_leftovers(layout.data_dir)
            result = self._run(
                lambda: batches.add(
                    self,
                    files,
                    source=source,
                    syntax=syntax,
                    base_iri=base_iri,
                    infer=infer,
                    dry_run=dry_run,
                    engine=Engine(engine),
                ),
                reads=files,
            )
            if result.status == AddStatus.ADDED:
                assert result.batch is not None
                write_atomic(
                    layout.safe(layout.root / result.batch.path),
                    result.content,
                    exclusive=True,
                    make_parents=True,  # data/batches/ is the project's own folder
                )
        return result

    def remove(
        self,
        batch: str,
        *,
        force: bool = False,
        dry_run: bool = False,
        wait: float = 60.0,
        on_wait: Callable[[str], None] | None = None,
        engine: Engine = Engine.COMPILED,
    ) -> RemoveResult:
        """Take a batch out again (by id, or a unique prefix of it or of its SHA-256),
        unless the graph without it would have violations and ``force`` is not given."""
        from kgraph import batches
        from kgraph.fsutil import clean_leftovers, remove_durably
        from kgraph.lock import project_lock

        layout = self._layout
        if layout.shipped:
            raise KGraphError(
                f"the shipped graph is read-only; pass {Setting.PROJECT}", setting=Setting.PROJECT
            )
        with project_lock(layout.root, wait=wait, on_wait=on_wait):
            clean_leftovers(layout.data_dir)
            info = batches.find_batch(layout.root, batch)

            def without_batch() -> Report:
                shapes = self.shapes()  # a broken shapes file is found before the graph loads
                return batches.check_removal(self.dataset(), shapes, info, engine=Engine(engine))

            report = self._run(without_batch)
            if not report.conforms and not force:
                return RemoveResult(RemoveStatus.REFUSED, info, report)
            if dry_run:
                return RemoveResult(RemoveStatus.DRY_RUN, info, report)
            remove_durably(layout.safe(layout.root / info.path))
        return RemoveResult(RemoveStatus.REMOVED, info, report)

    def push(
        self,
        url: str,
        *,
        graphs: Sequence[str] = (),
        infer: Profile = Profile.NONE,
        options: PushOptions | None = None,
        query_endpoint: str | None = None,
        store_kind: StoreKind = StoreKind.AUTO,
        progress: Callable[[int, int], None] | None = None,
    ) -> PushReport:
        """Send the graphs (all, or ``graphs``; the closure too with ``infer``) to the Graph
        Store endpoint ``url`` and count each through the SPARQL endpoint (``query_endpoint``,
        or derived from ``url`` for ``store_kind``). The graphs are serialised by the worker
        into a temporary folder, sent from here; ``progress(triples, total)`` is told of each
        chunk sent. Raises :class:`RemoteError`; bad counts are
        in the report (:func:`kgraph.remote.check_counts` raises on them)."""
        from kgraph import remote

        with self._staged(url, graphs, infer, query_endpoint, store_kind) as (files, verify_at):
            total = sum(f.triples for f in files)
            tell = progress or _ignore

            def advance(n: int) -> None:
                tell(n, total)

            return remote.push(
                files, url, verify_at, options or remote.PushOptions(), progress=advance
            )

    def push_plan(
        self,
        url: str,
        *,
        graphs: Sequence[str] = (),
        infer: Profile = Profile.NONE,
        options: PushOptions | None = None,
        query_endpoint: str | None = None,
        store_kind: StoreKind = StoreKind.AUTO,
    ) -> PushPlan:
        """What :meth:`push` would send, sending nothing."""
        from kgraph import remote

        with self._staged(url, graphs, infer, query_endpoint, store_kind) as (files, verify_at):
            plans = remote.plan(files, options or remote.PushOptions())
        return remote.PushPlan(tuple(plans), url, verify_at)

    @contextmanager
    def _staged(
        self,
        url: str,
        graphs: Sequence[str],
        infer: Profile,
        query_endpoint: str | None,
        store_kind: StoreKind,
    ) -> Iterator[tuple[list[GraphFile], str]]:
        """The graphs to push, each serialised by the worker into a file of a temporary
        folder (removed afterwards), and the SPARQL endpoint that counts them."""
        import tempfile

        from kgraph import remote

        verify_at = remote.query_endpoint_for(url, store_kind, query_endpoint)
        with tempfile.TemporaryDirectory(prefix="kgraph-push-") as folder:
            files = self._run(
                lambda: remote.prepare(self.dataset(infer=infer), graphs=graphs, folder=folder),
                writes=(folder,),
            )
            yield files, verify_at

    # -- the bounded worker --------------------------------------------------------------

    def _run(
        self, work: Callable[[], T], *, reads: Sequence[str] = (), writes: Sequence[str] = ()
    ) -> T:
        """``work()`` in the confined worker (or here, when not isolated); it may read the
        project and ``reads``, and write the store and ``writes``. The worker is a fork of
        this process: ``work`` loads what it needs with :meth:`dataset` and :meth:`shapes`."""
        if not self._isolated:
            return work()
        if self._store is not None and rocksdb_running():
            # The worker would open the store for writing, and wait for ever on its first
            # flush (kgraph.limits.rocksdb_running); a project held in memory forks fine.
            raise UsageError(
                "this Python process has opened an on-disk Oxigraph store itself (RocksDB's "
                "threads are running), and a worker forked from it would wait for ever on "
                f"its first write to the store {self._store}: open stores through "
                "kgraph.Project only, or call kgraph from a new process"
            )
        access = self._access(tuple(reads), tuple(writes))
        return run_bounded(work, self._limits, access=access)

    def confinement(self) -> Any:
        """The :class:`kgraph.sandbox.Access` a worker of this project gets when it is
        forked outside :meth:`_run` (``kgraph serve``'s zygote and the workers it forks):
        read the project, write its store (or its sheet cache), nothing else."""
        return self._access((), ())

    def _access(self, reads: tuple[str, ...], writes: tuple[str, ...]) -> Any:
        from kgraph import sandbox

        global _warned
        warning = sandbox.support().warning()
        if warning and not _warned:
            _warned = True
            if self._on_warning is not None:
                self._on_warning(warning)
        layout = self._layout
        folders = [layout.ontology_dir, layout.data_dir, layout.queries_dir]
        store = [str(self._store)] if self._store else []
        if self._store and not self._store.exists():
            # The worker may write only beneath folders that exist when it starts.
            try:
                self._store.mkdir(parents=True)
            except OSError as err:
                raise StorageError(f"cannot create the store folder {self._store}: {err}") from err
        return sandbox.Access(
            read=tuple(str(f) for f in folders) + sandbox.readable(reads),
            write=(*store, *self._sheet_cache(), *self._shapes_cache(), *writes),
        )

    def _shapes_cache(self) -> tuple[str, ...]:
        """The user's cache folder of this project's shapes, made here (see
        :meth:`_sheet_cache`); none with a store, or when it cannot be made."""
        folder = self._shapes_folder()
        return (str(folder),) if folder is not None else ()

    def _sheet_cache(self) -> tuple[str, ...]:
        """The folder of the user's cache where a load without a store keeps the compiled
        sheets of data/, made here (the worker may write only beneath folders that exist
        when it starts); none when the project has no sheet or the folder cannot be made."""
        from kgraph.usercache import prepare, sheet_folder

        if self._store or not any(s.is_sheet for s in self._layout.source_files()):
            return ()
        folder = sheet_folder(self._layout.root)
        return (str(folder),) if folder is not None and prepare(folder) else ()
