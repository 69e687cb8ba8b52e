"""Running the measurements: each in a fresh process (:mod:`bench.probe`), each figure the
median of several runs, within a time budget.

* A measurement whose single run is predicted (linearly, from the same measurement at the
  previous size) to take longer than the cap is skipped and recorded with its prediction;
  so are the baselines ENGINE-NOTES measured as taking more than 10 minutes or failing.
* The slow optional baselines (rdflib + pySHACL, owlrl, rdflib + reasonable, rdflib export)
  are also skipped when the prediction exceeds the time left in the budget; kgraph's own
  figures and the raw pyoxigraph and reasonable ones are never skipped for the budget.
* A run that takes more than ``cheap`` seconds is made once instead of ``runs`` times.
* Every probe runs under an address-space limit (half the RAM), so that a runaway engine
  fails instead of making the kernel kill other processes on a shared machine.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.projects import REPO, BenchProject, data_files

KNOWN = {
    ("owlrl", 1_000_000): "skipped (over 10 min at 1M in ENGINE-NOTES)",
    (
        "reasonable",
        1_000_000,
    ): "skipped (fails for memory at 1M: quadratic in owl:disjointWith, ENGINE-NOTES, and in owl:FunctionalProperty, a 12 GB allocation measured)",
}
OPTIONAL = {"pyshacl", "owlrl", "reasonable", "rdflib-export"}
SAME_STORE = "same store, same process"
"""Raw pyoxigraph on kgraph's own in-memory store, timed in the same process as kgraph."""

PROFILED = "CLI, timed phases"
"""The variant of a command's row that tells where its time goes (bench.probe.cli_profile)."""

QUERY_VARIANTS = [
    ("kgraph", "in-process"),
    ("pyoxigraph", "in-process"),
    ("kgraph", "in-process --store"),
]


@dataclass
class Row:
    table: str
    item: str
    size: int | None
    who: str
    how: str
    seconds: float | None
    runs: int = 0
    rss_mb: float | None = None
    note: str = ""
    predicted: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Config:
    sizes: list[int]
    seed: int = 42
    runs: int = 3
    cold_runs: int = 10
    guard_runs: int = 15
    profile_runs: int = 3
    budget: float = 20 * 60
    cap: float = 240.0
    cheap: float = 5.0
    query_cap: float = 10.0
    query_cheap: float = 2.0
    no_cap: bool = False


@dataclass
class Query:
    """A query as the probes run it: ``text`` with its parameters bound the way kgraph's
    ``run_query`` binds them (an inline VALUES block), or, for a kgraph without
    ``with_values``, as Oxigraph substitutions (``bindings``, N-Triples terms)."""

    name: str
    text: str
    form: str
    bindings: dict[str, str]
    params: list[tuple[str, str]]
    canned: bool

    def payload(self, runs: int, timeout: float, cheap: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "text": self.text,
            "form": self.form,
            "bindings": self.bindings,
            "runs": runs,
            "timeout": timeout,
            "cheap": cheap,
        }

    def cli_args(self) -> list[str]:
        if self.canned:
            args = ["query", self.name]
        else:
            args = ["query", str(REPO / "bench" / "queries" / f"{self.name.split(':', 1)[1]}.rq")]
        for name, value in self.params:
            args += ["-p", name, value]
        return args


class Bench:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.rows: list[Row] = []
        self.start = time.monotonic()
        self.cost: dict[str, tuple[int, float]] = {}
        self.python = sys.executable
        self.tmp = Path(tempfile.mkdtemp(prefix="kgraph-bench-"))
        self.env = {**os.environ, "RUST_BACKTRACE": "0"}
        # kgraph's cache (the compiled sheets of data/) in the bench's own folder: the
        # user's is left alone, and every run starts from the same empty one.
        self.env["KGRAPH_CACHE_DIR"] = str(self.tmp / "kgraph-cache")

    # -- plumbing -----------------------------------------------------------------------

    def compile_bytecode(self) -> None:
        """kgraph's modules compiled to bytecode, as `pip install` of a wheel does (an
        editable install in a shell with PYTHONDONTWRITEBYTECODE would compile them again in
        every command, and the confined worker can never write them): what is measured is
        kgraph, not that shell. The files go to ``__pycache__`` beside the sources."""
        import compileall

        import kgraph

        compileall.compile_dir(Path(kgraph.__file__).parent, quiet=1)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def log(self, message: str) -> None:
        print(f"[{self.elapsed():6.0f} s] {message}", file=sys.stderr, flush=True)

    def probe(self, task: str, timeout: float | None = None, **kwargs: Any) -> dict[str, Any]:
        start = time.monotonic()
        try:
            proc = subprocess.run(
                [self.python, "-m", "bench.probe", task],
                input=json.dumps(kwargs).encode(),
                capture_output=True,
                cwd=REPO,
                env=self.env,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"stopped after {timeout:.0f} s"}
        try:
            return dict(json.loads(proc.stdout.decode().strip().splitlines()[-1]))
        except (ValueError, IndexError):
            lines = [
                line for line in proc.stderr.decode(errors="replace").splitlines() if line.strip()
            ]
            why = next(
                (line for line in lines if "memory allocation" in line), lines[-1] if lines else ""
            )
            return {"error": f"died after {time.monotonic() - start:.0f} s: {why.strip()[:300]}"}

    def kgraph(self, *args: str) -> list[str]:
        """``python -m kgraph`` with the worker's memory limit set to the probes' limit."""
        return [self.python, "-m", "kgraph", *self.kgraph_args(*args)]

    def kgraph_args(self, *args: str) -> list[str]:
        from bench.probe import memory_limit

        return ["--max-memory", str(memory_limit() // 2**20), *args]

    def plan(
        self, key: str, size: int | None, *, cap: float | None = None, cheap: float | None = None
    ) -> tuple[int, str | None, float | None]:
        """How many runs to make, or why to skip, and the predicted seconds of one run."""
        cap = self.config.cap if cap is None else cap
        cheap = self.config.cheap if cheap is None else cheap
        family = key.split(":")[0]
        if size is not None and (family, size) in KNOWN:
            return 0, KNOWN[(family, size)], None
        predicted = None
        if key in self.cost and size:
            prev_size, prev_seconds = self.cost[key]
            predicted = prev_seconds * size / prev_size
            where = f"{prev_size // 1000}k"
            if not self.config.no_cap and predicted > cap:
                return (
                    0,
                    f"skipped (predicted {_duration(predicted)} from the {where} run)",
                    predicted,
                )
            left = self.config.budget - self.elapsed()
            if not self.config.no_cap and family in OPTIONAL and predicted > left:
                return (
                    0,
                    f"skipped (predicted {_duration(predicted)}; {_duration(max(left, 0))} of the budget left)",
                    predicted,
                )
        runs = self.config.runs
        if predicted is not None and predicted > cheap:
            runs = 1
        return runs, None, predicted

    def measure(
        self,
        table: str,
        item: str,
        size: int | None,
        who: str,
        how: str,
        task: str,
        key: str | None = None,
        runs: int | None = None,
        note: str = "",
        warmup: bool = False,
        **kwargs: Any,
    ) -> Row:
        """``runs`` fresh processes of ``task``; the median time and the highest peak.
        ``warmup``: one run first, not counted (its time is kept as ``first_s``)."""
        key = key or f"{table}:{item}:{who}:{how}"
        planned, skip, predicted = self.plan(key, size)
        if skip:
            row = Row(table, item, size, who, how, None, 0, None, skip, predicted)
            self.log(f"{table} / {item} / {who} ({how}) @ {size}: {skip}")
            self.rows.append(row)
            return row
        timeout = None if self.config.no_cap else max(self.config.cap * 2, 120.0)
        results: list[dict[str, Any]] = []
        first = self.probe(task, timeout=timeout, **kwargs) if warmup else {}
        if "error" in first:
            results.append(first)
        for _ in range(0 if "error" in first else runs or planned):
            results.append(self.probe(task, timeout=timeout, **kwargs))
            if "error" in results[-1] or (
                runs is None and results[-1].get("seconds", 0.0) > self.config.cheap
            ):
                break  # a failed or slow run is made once
        errors = [r["error"] for r in results if "error" in r]
        good = [r for r in results if "error" not in r]
        seconds = statistics.median(r["seconds"] for r in good) if good else None
        rss = max(r["rss_mb"] for r in good) if good else None
        extra = {
            k: v for k, v in (good[-1] if good else {}).items() if k not in ("seconds", "rss_mb")
        }
        if warmup and "seconds" in first:
            extra["first_s"] = first["seconds"]
        if errors:
            note = f"failed: {errors[0]}"
        row = Row(table, item, size, who, how, seconds, len(good), rss, note, predicted, extra)
        if seconds is not None and size:
            self.cost[key] = (size, seconds)
        self.log(
            f"{table} / {item} / {who} ({how}) @ {size}: {_fmt(seconds)} s, {_fmt(rss)} MB, {len(good)} run(s) {note}"
        )
        self.rows.append(row)
        return row

    def command(
        self, table: str, item: str, size: int | None, who: str, argv: Sequence[str], **kw: Any
    ) -> Row:
        expect = kw.pop("expect", [0])
        cwd = kw.pop("cwd", None)
        how = kw.pop("how", "CLI")
        # the process tree's memory, where it matters (validation forks one worker per core)
        sample = table in ("add", "validate", "reason", "export")
        return self.measure(
            table,
            item,
            size,
            who,
            how,
            "command",
            argv=list(argv),
            cwd=cwd,
            expect=expect,
            sample=sample,
            **kw,
        )

    def profile(
        self, table: str, item: str, size: int | None, args: list[str], cwd: str | None = None
    ) -> Row:
        """Where the time of ``kgraph ARGS`` goes (bench.probe.cli_profile: its phases and
        its imports), measured beside the command's own figure, for the report's account
        of a goal it misses."""
        return self.measure(
            table,
            item,
            size,
            "kgraph",
            PROFILED,
            "cli_profile",
            runs=1,
            args=args,
            cwd=cwd,
            repeat=self.config.profile_runs,
        )

    def failed(self, row: Row) -> bool:
        return row.seconds is None

    # -- the measurements ----------------------------------------------------------------

    def queries(self, root: Path) -> list[Query]:
        """The canned queries of ``root/queries`` and the bench's probe queries, with
        their required parameters bound to the header's examples."""
        from kgraph import queries as kq
        from kgraph.guards import check_query

        inline = getattr(kq, "with_values", None)
        found: list[Query] = []
        for canned, folder in ((True, root / "queries"), (False, REPO / "bench" / "queries")):
            for name, q in kq.registry(folder).items():
                params = [
                    (p.name, p.example) for p in q.params if p.required and p.example is not None
                ]
                bound = kq.bind(q, params)
                form = check_query(
                    q.text, max_depth=64, allowed_graph_prefix="https://w3id.org/kgraph/graph/"
                ).form
                text, bindings = q.text, {k: str(v) for k, v in bound.items()}
                if inline is not None and bound:
                    text, bindings = inline(q.text, bound), {}
                found.append(
                    Query(
                        name if canned else f"probe:{name}",
                        text,
                        "GRAPH" if form in ("CONSTRUCT", "DESCRIBE") else form,
                        bindings,
                        [(k, str(v)) for k, v in params],
                        canned,
                    )
                )
        return found

    def cold_start(self) -> None:
        from kgraph.layout import shipped_root
        from kgraph.namespaces import PREFIXES

        n = self.config.cold_runs
        cwd = str(self.tmp)
        script = Path(self.python).with_name("kgraph")
        cli = [str(script)] if script.exists() else [self.python, "-m", "kgraph"]
        # A first start (not counted) writes the bytecode and kgraph's cache, as any user's
        # first start does: the figures are those of every start after it.
        self.command(
            "cold", "--help", None, "kgraph", [*cli, "--help"], cwd=cwd, runs=n, warmup=True
        )
        self.profile("cold", "--help", None, ["--help"], cwd=cwd)
        self.command(
            "cold",
            "--help",
            None,
            "python -c pass",
            [self.python, "-c", "pass"],
            cwd=cwd,
            runs=n,
            how="interpreter",
        )
        shipped = shipped_root()
        queries = self.queries(shipped)
        if not queries:
            return
        # the query `make demo` shows first, else the first canned one
        q = next((q for q in queries if q.name == "officials-and-posts"), queries[0])
        args = [*cli, *q.cli_args()]
        self.command("cold", f"query {q.name}", None, "kgraph", args, cwd=cwd, runs=n, warmup=True)
        self.profile("cold", f"query {q.name}", None, q.cli_args(), cwd=cwd)
        raw = _raw_query_script(data_files(shipped), q, PREFIXES)
        self.command(
            "cold",
            f"query {q.name}",
            None,
            "pyoxigraph",
            [self.python, "-c", raw],
            cwd=cwd,
            runs=n,
            how="script",
            warmup=True,
        )

    def guards(self) -> None:
        from kgraph.layout import shipped_root

        shipped = shipped_root()
        queries = self.queries(shipped)
        if not queries:
            return
        q = next((q for q in queries if q.name == "officials-and-posts"), queries[0])
        self.log(
            "guards: the shipped graph's query, validate and convert, with and without the guards"
        )
        result = self.probe(
            "guards",
            root=str(shipped),
            query=q.payload(1, 0.0, 0.0),
            convert=str(shipped / "data" / "article.ttl"),
            runs=self.config.guard_runs,
            validate_runs=max(3, self.config.guard_runs // 3),
        )
        note = result.get("error", "")
        self.rows.append(
            Row(
                "guards",
                q.name,
                None,
                "kgraph",
                "in-process",
                None,
                1,
                result.get("rss_mb"),
                note,
                None,
                result,
            )
        )

    def store_build(self, project: BenchProject) -> None:
        """The on-disk store built from scratch (what the rows on the store start from)."""
        size, root, store = project.size, str(project.root), str(project.store_dir())
        ask = ["query", "-e", "ASK {}"]
        self.command(
            "store",
            "build",
            size,
            "kgraph",
            self.kgraph("--store", store, "--project", root, *ask),
            runs=1,
            how="CLI --store",
            note="first use: bulk load",
        )

    def add_rows(self, project: BenchProject, *, last: bool) -> None:
        """Adding 100 triples and a claim sheet (dry runs), on the store and in memory."""
        size, root = project.size, str(project.root)
        on_store = ("--store", str(project.store_dir()), "--project", root)
        # Adding 100 triples, validation included (the baseline validates the merged graph);
        # adding a claim sheet, its names resolved through the names kept beside the store,
        # read once after the store is built: the sheet's first run, not counted, pays for it.
        for item, given, warmup in (
            ("add 100 triples", project.batch, False),
            ("add a claim sheet", project.sheet, True),
        ):
            args = [*on_store, "add", "--dry-run", str(given)]
            self.command(
                "add", item, size, "kgraph", self.kgraph(*args), how="CLI --store", warmup=warmup
            )
            if last:  # where the goals are judged
                self.profile("add", item, size, self.kgraph_args(*args))
        dry = ["add", "--dry-run", str(project.batch)]
        self.command(
            "add",
            "add 100 triples",
            size,
            "kgraph",
            self.kgraph("--project", root, *dry),
            how="CLI",
        )

    def only_add(self, project: BenchProject) -> None:
        """``--only add``: the store built, then the add rows alone."""
        self.log(f"== {project.size} triples: {project.root} (add rows only)")
        self.store_build(project)
        self.add_rows(project, last=True)

    def size(self, project: BenchProject, *, last: bool) -> None:
        size, root, files = project.size, str(project.root), project.files()
        store = str(project.store_dir())
        queries = self.queries(project.root)
        self.log(f"== {size} triples: {project.root} ({len(files)} files, {len(queries)} queries)")

        # load, and memory
        self.measure("load", "load", size, "kgraph", "in-process", "load_kgraph", root=root)
        self.measure("load", "load", size, "pyoxigraph", "in-process", "load_raw", files=files)
        ask = ["query", "-e", "ASK {}"]
        self.command(
            "load",
            "load",
            size,
            "kgraph",
            self.kgraph("--project", root, *ask),
            note="`query -e 'ASK {}'`",
        )
        self.command(
            "load",
            "load",
            size,
            "pyoxigraph",
            [self.python, "-c", _raw_load_script(files)],
            how="script",
        )

        # the on-disk store, then the queries in memory and on it
        self.store_build(project)
        self.command(
            "store",
            "open",
            size,
            "kgraph",
            self.kgraph("--store", store, "--project", root, *ask),
            how="CLI --store",
            note="up to date: opened read-only",
        )
        self.query_figures(queries, project, last=last)

        self.add_rows(project, last=last)
        batch = str(project.batch)
        merged = [*files, [batch, "https://w3id.org/kgraph/graph/batch.nt"]]
        self.measure(
            "shacl",
            "graph + batch",
            size,
            "rdflib + pySHACL",
            "in-process",
            "shacl_pyshacl",
            key="pyshacl",
            files=merged,
            shapes=str(project.shapes),
        )
        # The goal is validate ÷ the load, both whole commands: the load measured again here,
        # in the same minutes as validate, so that a changing machine load weighs on both.
        self.command(
            "validate",
            "load (beside validate)",
            size,
            "kgraph",
            self.kgraph("--project", root, *ask),
            note="`query -e 'ASK {}'`",
        )
        self.command(
            "validate",
            "validate",
            size,
            "kgraph",
            self.kgraph("--project", root, "validate"),
            key="validate",
        )
        # the compiled engine's goals: ratios to the load measured in one process
        self.measure(
            "validate",
            "compiled engine",
            size,
            "kgraph",
            "in-process",
            "validate_compiled",
            runs=1,
            root=root,
            batch=batch,
        )

        # reasoning
        ours = self.measure(
            "reason",
            "OWL 2 RL",
            size,
            "kgraph",
            "in-process",
            "reason_kgraph",
            root=root,
            note="load + closure",
        )
        self.measure(
            "reason",
            "OWL 2 RL",
            size,
            "reasonable (same input)",
            "in-process",
            "reason_engine",
            files=files,
            note="engine only, on kgraph's input; prepared untimed",
        )
        self.measure(
            "reason",
            "OWL 2 RL",
            size,
            "rdflib + reasonable",
            "in-process",
            "reason_reasonable",
            key="reasonable",
            files=files,
            note="parse + closure, every axiom given",
        )
        self.measure(
            "reason",
            "OWL 2 RL",
            size,
            "rdflib + owlrl",
            "in-process",
            "reason_owlrl",
            key="owlrl",
            files=files,
            note="parse + closure",
        )
        if self.failed(ours):
            self.rows.append(
                Row(
                    "reason",
                    "OWL 2 RL",
                    size,
                    "kgraph",
                    "CLI",
                    None,
                    0,
                    None,
                    "skipped (failed in process)",
                )
            )
        else:
            self.command(
                "reason",
                "OWL 2 RL",
                size,
                "kgraph",
                self.kgraph(
                    "--project", root, "reason", "-f", "nt", "-o", str(self.tmp / "inferred.nt")
                ),
            )

        # export
        target = str(self.tmp / "export.nq")
        self.measure(
            "export",
            "N-Quads",
            size,
            "kgraph",
            "in-process",
            "export_kgraph",
            root=root,
            target=target,
            note="load + write",
        )
        self.measure(
            "export",
            "N-Quads",
            size,
            "pyoxigraph",
            "in-process",
            "export_raw",
            files=files,
            target=target,
            note="load + dump",
        )
        self.measure(
            "export",
            "N-Quads",
            size,
            "rdflib",
            "in-process",
            "export_rdflib",
            key="rdflib-export",
            files=files,
            target=target,
            note="parse + serialize",
        )
        self.command(
            "export",
            "N-Quads",
            size,
            "kgraph",
            self.kgraph("--project", root, "export", "-f", "nq", "-o", target),
        )
        for leftover in self.tmp.iterdir():
            if leftover.is_file():
                leftover.unlink()

    def query_figures(self, queries: list[Query], project: BenchProject, *, last: bool) -> None:
        """Every query in the three variants (each variant planned on its own predictions),
        and at the largest size the whole `kgraph --store DIR query` command."""
        from kgraph.namespaces import PREFIXES

        size, root, store = project.size, str(project.root), str(project.store_dir())
        cap, cheap = self.config.query_cap, self.config.query_cheap
        payloads: list[list[dict[str, Any]]] = []
        for who, how in QUERY_VARIANTS:
            payload = []
            for q in queries:
                runs, skip, predicted = self.plan(
                    f"query:{q.name}:{who}:{how}", size, cap=cap, cheap=cheap
                )
                if skip:
                    self.rows.append(
                        Row("query", q.name, size, who, how, None, 0, None, skip, predicted)
                    )
                else:
                    payload.append(q.payload(runs, cap, cheap))
            payloads.append(payload)
        ours = self.probe("queries_kgraph", root=root, queries=payloads[0], same_store=True)
        raw = self.probe(
            "queries_raw", files=project.files(), queries=payloads[1], prefixes=PREFIXES
        )
        disk = self.probe("queries_kgraph", root=root, queries=payloads[2], store_dir=store)
        for (who, how), result, payload in zip(
            QUERY_VARIANTS, (ours, raw, disk), payloads, strict=True
        ):
            for entry in payload:
                q = next(q for q in queries if q.name == entry["name"])
                self.cost[f"query:{q.name}:{who}:{how}"] = (
                    size,
                    self._query_row(q, size, who, how, result),
                )
        same = {**ours, "queries": ours.get("same_store", {})}
        for q in queries:
            if q.name in same["queries"]:
                self._query_row(q, size, "pyoxigraph", SAME_STORE, same)
        if not last:
            return
        # The engine's own cost of the disk: raw pyoxigraph on the same store, for the
        # queries kgraph answered there (a timeout would only repeat kgraph's).
        on_disk = [
            entry
            for entry in payloads[2]
            if (row := self.rows_for("query", entry["name"], size, "kgraph", "in-process --store"))
            and row.seconds is not None
        ]
        raw_disk = self.probe(
            "queries_raw",
            files=project.files(),
            queries=on_disk,
            prefixes=PREFIXES,
            store_dir=store,
        )
        for entry in on_disk:
            q = next(q for q in queries if q.name == entry["name"])
            self._query_row(q, size, "pyoxigraph", "in-process --store", raw_disk)
        for q in queries:
            row = self.rows_for("query", q.name, size, "kgraph", "in-process --store")
            if row is None or row.seconds is None:
                self.rows.append(
                    Row(
                        "store",
                        q.name,
                        size,
                        "kgraph",
                        "CLI --store",
                        None,
                        0,
                        None,
                        "skipped (no in-process figure on the store)",
                    )
                )
                continue
            runs = 1 if row.seconds > cheap else self.config.runs
            argv = self.kgraph(
                "--store", store, "--project", root, "--timeout", str(cap * 3), *q.cli_args()
            )
            self.command(
                "store",
                q.name,
                size,
                "kgraph",
                argv,
                how="CLI --store",
                runs=runs,
                key=f"cli:{q.name}",
            )

    def rows_for(self, table: str, item: str, size: int, who: str, how: str) -> Row | None:
        return next(
            (
                r
                for r in self.rows
                if (r.table, r.item, r.size, r.who, r.how) == (table, item, size, who, how)
            ),
            None,
        )

    def _query_row(self, q: Query, size: int, who: str, how: str, result: dict[str, Any]) -> float:
        """Record one query's figure; return the time it cost (a timeout costs the cap)."""
        entry = result.get("queries", {}).get(q.name)
        if entry is None:
            self.rows.append(
                Row(
                    "query",
                    q.name,
                    size,
                    who,
                    how,
                    None,
                    0,
                    result.get("rss_mb"),
                    f"failed: {result.get('error', 'no result')}",
                )
            )
            return self.config.query_cap
        times, error = entry["times"], entry.get("error")
        seconds = statistics.median(times) if times and not error else None
        extra = {"rows": entry["rows"], "load_s": result.get("seconds"), "canned": q.canned}
        self.rows.append(
            Row(
                "query",
                q.name,
                size,
                who,
                how,
                seconds,
                len(times),
                result.get("rss_mb"),
                error or "",
                None,
                extra,
            )
        )
        self.log(
            f"query / {q.name} / {who} ({how}) @ {size}: {_fmt(seconds)} s, {entry['rows']} rows {error or ''}"
        )
        return self.config.query_cap if seconds is None else seconds


def _raw_load_script(files: list[list[str]]) -> str:
    return (
        "import pyoxigraph as ox\n"
        f"files = {files!r}\n"
        "s = ox.Store()\n"
        "for p, g in files:\n"
        "    s.load(path=p, format=ox.RdfFormat.from_extension(p.rsplit('.', 1)[1]), base_iri=g, to_graph=ox.NamedNode(g))\n"
        "s.query('ASK {}')\n"
    )


def _raw_query_script(files: list[list[str]], q: Query, prefixes: dict[str, str]) -> str:
    return (
        "import sys, pyoxigraph as ox\n"
        f"files = {files!r}\n"
        "s = ox.Store()\n"
        "for p, g in files:\n"
        "    s.load(path=p, format=ox.RdfFormat.from_extension(p.rsplit('.', 1)[1]), base_iri=g, to_graph=ox.NamedNode(g))\n"
        "subs = {ox.Variable(k): next(iter(ox.parse(f'<urn:x:s> <urn:x:p> {v} .'.encode(), format=ox.RdfFormat.N_TRIPLES))).object\n"
        f"        for k, v in {q.bindings!r}.items()}}\n"
        f"r = s.query({q.text!r}, use_default_graph_as_union=True, prefixes={prefixes!r}, substitutions=subs)\n"
        "sys.stdout.buffer.write(r.serialize(format=ox.QueryResultsFormat.CSV) if hasattr(r, 'serialize') else b'')\n"
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def machine() -> dict[str, Any]:
    import platform

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["ram_gb"] = round(pages * size / 1024**3, 1)
    except (ValueError, OSError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    for name in ("kgraph", "pyoxigraph", "rdflib", "pyshacl", "owlrl", "reasonable"):
        try:
            info[name] = version(name)
        except PackageNotFoundError:
            info[name] = "not installed"
    info["load"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            check=True,
        )
        info["commit"] = commit.stdout.decode().strip()
    except (OSError, subprocess.CalledProcessError):
        info["commit"] = "unknown"
    return info
