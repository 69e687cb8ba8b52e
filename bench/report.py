"""``docs/benchmarks.md``: every figure written by the bench, none by hand."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from bench.measure import PROFILED, SAME_STORE, Row

OK, NO, NA = "✓", "✗", "–"
GOAL_SIZE = 1_000_000


class MissingExplanation(RuntimeError):
    """A goal is not met and the report has nothing measured to say about what limits it:
    the report is not written (a placeholder in a shipped report is a defect)."""


class Rows:
    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows = list(rows)

    def get(
        self, table: str, item: str | None, size: int | None, who: str, how: str | None = None
    ) -> Row | None:
        for r in self.rows:
            if (
                r.table == table
                and (item is None or r.item == item)
                and r.size == size
                and r.who == who
            ) and (how is None or r.how == how):
                return r
        return None

    def sizes(self) -> list[int]:
        return sorted({r.size for r in self.rows if r.size})

    def items(self, table: str) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.rows:
            if r.table == table:
                seen.setdefault(r.item, None)
        return list(seen)


def seconds_text(value: float) -> str:
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    if value < 1:
        return f"{value:.3f} s"
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def secs(row: Row | None) -> str:
    if row is None:
        return NA
    if row.seconds is None:
        return row.note or NA
    return seconds_text(row.seconds)


def mb(row: Row | None) -> str:
    return NA if row is None or row.rss_mb is None else f"{row.rss_mb:.0f} MB"


def ratio(ours: Row | None, base: Row | None, *, invert: bool = False) -> float | None:
    if (
        ours is None
        or base is None
        or ours.seconds is None
        or base.seconds is None
        or not ours.seconds
        or not base.seconds
    ):
        return None
    return base.seconds / ours.seconds if invert else ours.seconds / base.seconds


def rtext(value: float | None, suffix: str = "x") -> str:
    return NA if value is None else f"{value:.2f}{suffix}" if value < 10 else f"{value:.0f}{suffix}"


def mark(ok: bool | None) -> str:
    return NA if ok is None else OK if ok else NO


def label(size: int | None) -> str:
    if size is None:
        return "shipped"
    return (
        f"{size // 1_000_000}M"
        if size >= 1_000_000 and size % 1_000_000 == 0
        else f"{size // 1000}k"
    )


def table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines) + "\n"


class Report:
    def __init__(
        self, rows: Iterable[Row], machine: dict[str, Any], command: str, total: float, when: str
    ) -> None:
        self.r = Rows(rows)
        self.machine = machine
        self.command = command
        self.total = total
        self.when = when
        sizes = self.r.sizes()
        self.goal_size = GOAL_SIZE if GOAL_SIZE in sizes else (sizes[-1] if sizes else None)
        self.summary: list[list[str]] = []
        self.unmet: list[str] = []

    def goal(
        self,
        name: str,
        figure: str,
        target: str,
        ok: bool | None,
        limits: str = "",
        *,
        sized: bool = True,
    ) -> None:
        where = (
            ""
            if self.goal_size == GOAL_SIZE or not sized
            else f" (at {label(self.goal_size)}; 1M not run)"
        )
        self.summary.append([name, figure + where, target, mark(ok)])
        if ok is False:
            if not limits.strip():
                raise MissingExplanation(
                    f"goal {name!r} is not met ({figure}; goal {target}) and bench/report.py "
                    "has no account of what limits it, from the run's measurements: write "
                    "one, then rewrite the report from the saved results with "
                    "`python -m bench --report-only bench/out/results.json`"
                )
            self.unmet.append(f"- **{name}** ({figure}; goal {target}). {limits}")

    # -- sections ---------------------------------------------------------------------------

    def load(self) -> str:
        body = []
        for size in self.r.sizes():
            ours, raw = (
                self.r.get("load", "load", size, "kgraph", "in-process"),
                self.r.get("load", "load", size, "pyoxigraph", "in-process"),
            )
            cli, script = (
                self.r.get("load", "load", size, "kgraph", "CLI"),
                self.r.get("load", "load", size, "pyoxigraph", "script"),
            )
            quads = (ours.extra.get("quads") if ours else None) or (
                raw.extra.get("quads") if raw else None
            )
            body.append(
                [
                    label(size),
                    str(quads or NA),
                    secs(ours),
                    mb(ours),
                    secs(raw),
                    mb(raw),
                    rtext(ratio(ours, raw)),
                    secs(cli),
                    secs(script),
                    rtext(ratio(cli, script)),
                ]
            )
        ours = self.r.get("load", "load", self.goal_size, "kgraph", "in-process")
        raw = self.r.get("load", "load", self.goal_size, "pyoxigraph", "in-process")
        value = ratio(ours, raw)
        self.goal(
            "Load",
            f"{rtext(value)} raw pyoxigraph",
            "≤ 1.2x",
            None if value is None else value <= 1.2,
        )
        if ours and raw and ours.rss_mb and raw.rss_mb:
            mem = ours.rss_mb / raw.rss_mb
            self.goal(
                "Memory, graph in memory",
                f"{ours.rss_mb:.0f} MB = {mem:.2f}x raw pyoxigraph's {raw.rss_mb:.0f} MB",
                "≤ 1.5x",
                mem <= 1.5,
            )
        return (
            "## Load and memory\n\n"
            + (
                "In process: `Dataset.open(project)` against `pyoxigraph.Store().load(path=...)` of the same files "
                "into the same named graphs. CLI: `kgraph --project DIR query -e 'ASK {}'` against a `python -c` "
                "script doing the plain load (both include interpreter start). Peak = peak RSS of the process "
                "(for the CLI, its largest process: the forked worker).\n\n"
            )
            + table(
                [
                    "size",
                    "quads loaded",
                    "kgraph",
                    "peak",
                    "pyoxigraph",
                    "peak",
                    "ratio",
                    "kgraph CLI",
                    "pyoxigraph script",
                    "ratio",
                ],
                body,
            )
        )

    def queries(self) -> str:
        body, worst, worst_name = [], None, ""
        names = self.r.items("query")
        canned = [n for n in names if not n.startswith("probe:")]
        sizes = self.r.sizes()
        for name in names:
            cells, ratios = [], []
            for size in sizes:
                ours = self.r.get("query", name, size, "kgraph", "in-process")
                raw = self.r.get("query", name, size, "pyoxigraph", "in-process")
                cells.append(secs(ours))
                value = ratio(ours, raw)
                if (
                    value is None
                    and ours is not None
                    and "timed out" in ours.note
                    and raw is not None
                    and raw.seconds
                ):
                    value = float("inf")  # kgraph hit the cap where pyoxigraph finished
                ratios.append(value)
            top = self.r.get("query", name, self.goal_size, "kgraph", "in-process")
            raw_top = self.r.get("query", name, self.goal_size, "pyoxigraph", "in-process")
            rows_ours = top.extra.get("rows") if top and top.seconds is not None else None
            rows_raw = (
                raw_top.extra.get("rows") if raw_top and raw_top.seconds is not None else None
            )
            rows_ours = rows_raw if rows_ours is None else rows_ours
            same = (
                NA
                if rows_ours is None
                else str(rows_ours)
                if rows_ours == rows_raw
                else f"{rows_ours} ≠ {rows_raw}"
            )
            value = ratios[sizes.index(self.goal_size)] if self.goal_size in sizes else None
            here = self.r.get("query", name, self.goal_size, "pyoxigraph", SAME_STORE)
            body.append(
                [
                    name,
                    same,
                    *cells,
                    secs(raw_top),
                    *(rtext(v) if v != float("inf") else "over the cap" for v in ratios),
                    rtext(ratio(top, here)),
                    mark(None if value is None else value <= 1.2),
                ]
            )
            if value is not None and name in canned and (worst is None or value > worst):
                worst, worst_name = value, name
        if canned:
            self.goal(
                "Every canned query",
                f"worst {rtext(worst) if worst != float('inf') else 'over the cap'} raw pyoxigraph ({worst_name})",
                "≤ 1.2x",
                None if worst is None else worst <= 1.2,
                self._query_limits(canned),
            )
        else:
            self.goal("Every canned query", "no canned queries in queries/", "≤ 1.2x", None)
        intro = (
            "## Queries\n\n"
            "Each query on one loaded dataset: a first run in a forked child of the loaded process "
            "(stopped after the cap), then the timed runs, warm, in the process itself; the figure is "
            "their median (3 runs, up to 15 for a fast query, 1 for a slow one): kgraph's guard + `Dataset.query` + rendering (JSON "
            "for tables, N-Triples for graphs), against `Store.query(text, use_default_graph_as_union=True)` "
            "+ Oxigraph's serialiser on the same files. Required parameters are bound to the header's "
            "example; the others are left unbound (the whole answer). `probe:` queries are the bench's own "
            "(bench/queries/): common query forms, measured beside the canned ones. Rows: the number of "
            f"results at {label(self.goal_size)}, the same for both engines unless marked ≠. "
            "The ratio, same store: kgraph against raw pyoxigraph's `Store.query` + serialiser on "
            "kgraph's own store, timed in the same process right after kgraph (the goal is judged "
            "on the separate store; this column tells kgraph's overhead from the spread between "
            "two stores in two processes).\n\n"
        )
        header = [
            "query",
            f"rows ({label(self.goal_size)})",
            *(f"kgraph {label(z)}" for z in sizes),
            f"pyoxigraph {label(self.goal_size)}",
            *(f"ratio {label(z)}" for z in sizes),
            f"ratio, same store {label(self.goal_size)}",
            "≤ 1.2x",
        ]
        return intro + table(header, body)

    def _query_limits(self, canned: list[str]) -> str:
        """Why some canned queries miss 1.2x, in the run's own numbers: kgraph's overhead
        (seen against raw pyoxigraph on kgraph's own store, in the same process) or the
        difference between two stores in two processes."""
        g = self.goal_size
        slow_ok, overhead, noise, capped, once = 0, [], [], [], []
        for name in canned:
            ours = self.r.get("query", name, g, "kgraph", "in-process")
            raw = self.r.get("query", name, g, "pyoxigraph", "in-process")
            value = ratio(ours, raw)
            if ours is not None and ours.seconds is None and raw is not None and raw.seconds:
                if "timed out" in ours.note:  # the goal counts it as over the cap
                    capped.append(f"{name} ({ours.note}; raw pyoxigraph {secs(raw)})")
                continue
            if value is None or ours is None or not ours.seconds:
                continue
            if value <= 1.2:
                slow_ok += ours.seconds >= 0.002
                continue
            here = self.r.get("query", name, g, "pyoxigraph", SAME_STORE)
            same = ratio(ours, here)
            if same is not None and same <= 1.2:
                noise.append(f"{name} ({rtext(value)}; {rtext(same)} on the same store)")
            elif ours.runs <= 1 or (here is not None and here.runs <= 1):
                once.append(f"{name} ({rtext(same) if same else rtext(value)} on the same store)")
            else:
                gap = (ours.seconds - here.seconds) * 1000 if here and here.seconds else None
                overhead.append((name, ours.seconds * 1000, gap))
        if not overhead and not noise and not capped and not once:
            return ""
        parts = ["What limits it:"]
        if capped:
            parts.append(
                f"{len(capped)} {'query' if len(capped) == 1 else 'queries'} hit the bench's cap "
                f"at {label(g)} where raw pyoxigraph finished: {', '.join(capped)}; the engine's "
                "own time is at or near the cap, so the first run is stopped before it ends."
            )
        if overhead:
            guard = next((r for r in self.r.rows if r.table == "guards"), None)
            query_guard = guard.extra.get("commands", {}).get("query") if guard else None
            inside = (
                statistics.median(query_guard["inside"]) * 1000
                if query_guard and query_guard.get("inside")
                else None
            )
            gaps = [gap for _, _, gap in overhead if gap is not None]
            gap_text = (
                f"kgraph's extra time on them, against raw pyoxigraph on the same store in the "
                f"same process, is {min(gaps):.2f}-{max(gaps):.2f} ms"
                if gaps
                else "kgraph's extra time on them is a few tenths of a millisecond"
            )
            guard_text = f" (the guard alone measured {inside:.2f} ms, below)" if inside else ""
            parts.append(
                f"{len(overhead)} queries ({', '.join(n for n, _, _ in overhead)}) answer in "
                f"{max(t for _, t, _ in overhead):.2f} ms or less at {label(g)}, and {gap_text}: a "
                f"fixed cost per query, not per row, of the guard's scan of the query text{guard_text}, "
                "binding and the choice of graphs."
            )
        if once:
            parts.append(
                f"{len(once)} {'query' if len(once) == 1 else 'queries'} over the cap "
                f"{'was' if len(once) == 1 else 'were'} timed once each way, as the bench times a "
                f"slow query: {', '.join(once)}; one run's spread, not a "
                "measured overhead (kgraph's answer is Oxigraph's own serialiser's, as raw "
                "pyoxigraph's is)."
            )
        if noise:
            parts.append(
                f"{len(noise)} {'query misses' if len(noise) == 1 else 'queries miss'} only against "
                "the separate store in another process, within 1.2x of raw pyoxigraph on kgraph's "
                f"own store: {', '.join(noise)}; the gap is the "
                "spread between two stores and two processes, not kgraph's work."
            )
        parts.append(f"{slow_ok} canned queries that take 2 ms or more are within 1.2x.")
        return " ".join(parts)

    def _query_ratios(self, a: tuple[str, str], b: tuple[str, str]) -> list[float]:
        """Per query at the goal size, variant ``a``'s time over variant ``b``'s (who, how),
        where both were measured."""
        g = self.goal_size
        values = (
            ratio(self.r.get("query", name, g, *a), self.r.get("query", name, g, *b))
            for name in self.r.items("query")
        )
        return [v for v in values if v is not None]

    def _store_limits(self) -> str:
        """Why the on-disk store is slower per query, and what it buys, in the run's numbers."""
        g = self.goal_size
        load = self.r.get("load", "load", g, "kgraph", "CLI")
        faster, compared = 0, 0
        for name in self.r.items("query"):
            mem = self.r.get("query", name, g, "kgraph", "in-process")
            cli = self.r.get("store", name, g, "kgraph", "CLI --store")
            if load and load.seconds and mem and mem.seconds is not None and cli and cli.seconds:
                compared += 1
                faster += cli.seconds < load.seconds + mem.seconds
        whole = (
            f" What the store buys is the load: at {label(g)} a whole `kgraph --store DIR query` command "
            f"beat the in-memory command (load {secs(load)} + query) for {faster} of {compared} queries."
            if compared
            else ""
        )
        engine = self._query_ratios(
            ("pyoxigraph", "in-process --store"), ("pyoxigraph", "in-process")
        )
        ours = self._query_ratios(
            ("kgraph", "in-process --store"), ("pyoxigraph", "in-process --store")
        )
        measured = (
            f" Raw pyoxigraph on the same store is {min(engine):.1f}-{max(engine):.1f}x "
            f"(median {statistics.median(engine):.1f}x) its in-memory time on these queries, and "
            f"kgraph on the store is {statistics.median(ours):.2f}x raw pyoxigraph on it (median; "
            f"worst {max(ours):.2f}x): the gap is the engine's, not kgraph's."
            if engine and ours
            else ""
        )
        return (
            "What limits it: Oxigraph's on-disk store answers each triple pattern with a RocksDB seek and "
            "decodes every result term from RocksDB's string table, where the in-memory store probes hash "
            "maps; the canned queries are label lookups in OPTIONALs with thousands of result rows, the "
            "worst case for that (ENGINE-NOTES measured 2-3x on joins and aggregates). pyoxigraph exposes no "
            "cache settings to tune it." + measured + whole
        )

    def store(self) -> str:
        sizes = self.r.sizes()
        head = [
            [
                label(z),
                secs(self.r.get("store", "build", z, "kgraph")),
                secs(self.r.get("store", "open", z, "kgraph")),
            ]
            for z in sizes
        ]
        body, worst, worst_name = [], None, ""
        unfinished: list[str] = []
        g = self.goal_size
        for name in self.r.items("query"):
            mem = self.r.get("query", name, g, "kgraph", "in-process")
            disk = self.r.get("query", name, g, "kgraph", "in-process --store")
            cli = self.r.get("store", name, g, "kgraph", "CLI --store")
            raw_mem = self.r.get("query", name, g, "pyoxigraph", "in-process")
            raw_disk = self.r.get("query", name, g, "pyoxigraph", "in-process --store")
            value = ratio(disk, mem)
            if (
                value is None
                and mem is not None
                and mem.seconds is not None
                and disk is not None
                and disk.seconds is None
            ):
                value = float("inf")  # in memory it ran; on disk it hit the cap or was skipped
            body.append(
                [
                    name,
                    secs(mem),
                    secs(disk),
                    rtext(value) if value != float("inf") else _over(disk, mem),
                    secs(raw_disk),
                    rtext(ratio(raw_disk, raw_mem)),
                    rtext(ratio(disk, raw_disk)),
                    secs(cli),
                    mark(None if value is None else value <= 1.5),
                ]
            )
            if value == float("inf"):
                unfinished.append(name)
            elif value is not None and (worst is None or value > worst):
                worst, worst_name = value, name
        figure = (
            f"worst measured {rtext(worst)} in memory ({worst_name})"
            if worst is not None
            else "not measured"
        )
        if unfinished:
            figure += f"; not finished or skipped on disk: {', '.join(unfinished)}"
        met = (
            None
            if worst is None and not unfinished
            else (not unfinished and worst is not None and worst <= 1.5)
        )
        self.goal("Queries on the on-disk store", figure, "≤ 1.5x", met, self._store_limits())
        return (
            "## Persistent store (`--store DIR`)\n\n"
            "The store is built once (the first `kgraph --store DIR ...` bulk-loads it), then opened "
            "read-only while its files are unchanged (`query -e 'ASK {}'`, the whole command):\n\n"
            + table(["size", "build", "open when up to date"], head)
            + f"\nQueries at {label(g)}: the in-process work of the query table on `Dataset.open(project, "
            "store_dir=DIR)` against the same in memory; raw pyoxigraph on the same store "
            "(`Store.read_only(DIR)`, the query table's raw work), its ratio to raw pyoxigraph in "
            "memory (the engine's own cost of the disk) and kgraph's ratio to it; and the whole "
            "`kgraph --store DIR query NAME` command (interpreter start included).\n\n"
            + table(
                [
                    "query",
                    "in memory",
                    "on disk",
                    "ratio",
                    "pyoxigraph on disk",
                    "pyoxigraph disk / memory",
                    "kgraph / pyoxigraph on disk",
                    "CLI --store",
                    "≤ 1.5x",
                ],
                body,
            )
        )

    def add(self) -> str:
        body = []
        sizes = self.r.sizes()
        for size in sizes:
            store = self.r.get("add", "add 100 triples", size, "kgraph", "CLI --store")
            mem = self.r.get("add", "add 100 triples", size, "kgraph", "CLI")
            sheet = self.r.get("add", "add a claim sheet", size, "kgraph", "CLI --store")
            shacl = self.r.get("shacl", "graph + batch", size, "rdflib + pySHACL")
            full = self._validate_only(shacl)
            speed = (
                None if full is None or store is None or not store.seconds else full / store.seconds
            )
            pre = "~" if shacl is not None and shacl.seconds is None and shacl.predicted else ""
            body.append(
                [
                    label(size),
                    secs(store),
                    secs(mem),
                    _sheet_text(sheet),
                    _full_text(shacl),
                    pre + rtext(speed) if speed else NA,
                ]
            )
        goal_store = self.r.get("add", "add 100 triples", self.goal_size, "kgraph", "CLI --store")
        small = self.r.get(
            "add", "add 100 triples", sizes[0] if sizes else None, "kgraph", "CLI --store"
        )
        if goal_store and goal_store.seconds is not None:
            self.goal(
                "Add 100 triples (validated), on the store",
                secs(goal_store),
                "≤ 1 s",
                goal_store.seconds <= 1.0,
                self._add_limits(goal_store),
            )
            if small and small.seconds and small is not goal_store:
                growth = goal_store.seconds / small.seconds
                self.goal(
                    f"Add: flat from {label(small.size)}",
                    f"{growth:.2f}x the {label(small.size)} time",
                    "nearly flat (≤ 2x)",
                    growth <= 2.0,
                )
            full = self._validate_only(
                self.r.get("shacl", "graph + batch", self.goal_size, "rdflib + pySHACL")
            )
            if full:
                speed = full / goal_store.seconds
                self.goal(
                    "Add vs pySHACL on the merged graph",
                    f"{speed:.0f}x faster"
                    + (" (baseline predicted)" if self._predicted_shacl() else ""),
                    "≥ 50x",
                    speed >= 50,
                )
        else:
            self.goal("Add 100 triples (validated), on the store", secs(goal_store), "≤ 1 s", None)
        goal_sheet = self.r.get("add", "add a claim sheet", self.goal_size, "kgraph", "CLI --store")
        if goal_sheet is not None:
            self.goal(
                "Add a claim sheet (names resolved, validated), on the store",
                secs(goal_sheet),
                "≤ 1 s",
                None if goal_sheet.seconds is None else goal_sheet.seconds <= 1.0,
                self._add_limits(goal_sheet, "add a claim sheet", with_batch_work=False),
            )
        return (
            "## Adding 100 triples, validation included\n\n"
            + (
                "`kgraph add --dry-run batch.nt` (100 new triples that link into the graph: claims attributed to existing "
                "agents, an estimate superseded by an existing one, a tenure, a town in an existing region): the whole "
                "command, validation and report included, nothing written. With `--store` the graph is read from the "
                "on-disk store (built above); without, it is loaded in memory first. Baseline: pySHACL validating the "
                "whole merged graph (graph + batch, already parsed into rdflib; the parse time is in brackets). "
                "The claim sheet: `kgraph --store DIR add --dry-run sheet.yaml`, the second article's sheet "
                "(data/article2.yaml: 55 names resolved, 195 triples), compiled, checked and validated; the "
                "first run after the store is built reads the store's names once (in brackets), the figure "
                "is of the runs after it.\n\n"
            )
            + table(
                [
                    "size",
                    "kgraph CLI --store",
                    "kgraph CLI (in memory)",
                    "claim sheet, --store",
                    "pySHACL, merged graph",
                    "speed-up (--store)",
                ],
                body,
            )
        )

    def _add_limits(
        self, command: Row, item: str = "add 100 triples", *, with_batch_work: bool = True
    ) -> str:
        """An add command's timeline; for the 100-triple batch, with the validation work of
        the same batch measured alone (validate_compiled's ``batch_s``) beside it."""
        profile = self.r.get("add", item, command.size, "kgraph", PROFILED)
        text = self._command_limits(command, profile, 1.0)
        compiled = self.r.get("validate", "compiled engine", command.size, "kgraph")
        work = compiled.extra.get("batch_s") if compiled and with_batch_work else None
        if text and isinstance(work, int | float):
            text += (
                f" The validation work of the batch alone, measured in one process, is "
                f"{seconds_text(float(work))}."
            )
        return text

    def _validate_only(self, row: Row | None) -> float | None:
        """pySHACL's validation time without the parse; for a skipped size, the largest
        measured size's, scaled linearly."""
        if row is None:
            return None
        if row.seconds is not None:
            return float(row.extra.get("validate_s") or row.seconds)
        measured = [
            r for r in self.r.rows if r.table == "shacl" and r.seconds is not None and r.size
        ]
        if not measured or not row.size:
            return None
        last = max(measured, key=lambda r: r.size or 0)
        return (
            float(last.extra.get("validate_s") or last.seconds or 0) * row.size / (last.size or 1)
        )

    def _predicted_shacl(self) -> bool:
        row = self.r.get("shacl", "graph + batch", self.goal_size, "rdflib + pySHACL")
        return bool(row and row.seconds is None)

    def validate(self) -> str:
        body = []
        for size in self.r.sizes():
            ours = self.r.get("validate", "validate", size, "kgraph")
            shacl = self.r.get("shacl", "graph + batch", size, "rdflib + pySHACL")
            tree = f"{ours.extra['tree_mb']:.0f} MB" if ours and ours.extra.get("tree_mb") else NA
            body.append(
                [
                    label(size),
                    secs(ours),
                    mb(ours),
                    tree,
                    secs(shacl),
                    mb(shacl),
                    rtext(ratio(ours, shacl)),
                ]
            )
        ours = self.r.get("validate", "validate", self.goal_size, "kgraph")
        if ours is not None and ours.seconds is not None and ours.rss_mb is not None:
            memory = max(ours.rss_mb, float(ours.extra.get("tree_mb") or 0))
            self.goal(
                "Full validation within 2 GB",
                f"{secs(ours)}; memory {float(ours.extra.get('tree_mb') or 0):.0f} MB all processes, "
                f"{ours.rss_mb:.0f} MB the largest",
                "≤ 2 GB",
                memory <= 2048,
            )
        else:
            self.goal("Full validation within 2 GB", secs(ours), "≤ 2 GB", None)
        return (
            "## Full validation\n\n"
            + (
                "`kgraph --project DIR validate`: the whole command (load, the compiled engine over every "
                "target node, report); its goal is judged against the load command (`kgraph --project DIR "
                "query -e 'ASK {}'`) measured just before it. Memory: the peak of its largest process, and the highest total of all its "
                "processes (proportional set size, sampled every 0.1 s: kgraph forks a worker per core, which "
                "share the loaded store). Baseline: rdflib parse of ontology + data (+ the batch: the same run "
                "as the add baseline) and `pyshacl.validate(graph, shacl_graph=shapes, inference='none')`, parse "
                "included.\n\n"
            )
            + table(
                [
                    "size",
                    "kgraph CLI",
                    "largest process",
                    "all processes",
                    "rdflib + pySHACL",
                    "peak",
                    "ratio",
                ],
                body,
            )
            + self.compiled()
        )

    def compiled(self) -> str:
        """The compiled engine against the load, measured in one process (validate_compiled)."""
        rows = [
            r
            for size in self.r.sizes()
            if (r := self.r.get("validate", "compiled engine", size, "kgraph")) is not None
            and r.seconds is not None
            and r.extra.get("load_s")
        ]
        if not rows:
            return ""
        body = []
        for r in rows:
            body.append(
                [
                    label(r.size),
                    seconds_text(float(r.extra["load_s"])),
                    f"{float(r.extra['load_mb']):.0f} MB",
                    seconds_text(r.seconds or 0.0),
                    f"{(r.seconds or 0.0) / float(r.extra['load_s']):.2f}x",
                    f"{(r.rss_mb or 0.0) / float(r.extra['load_mb']):.2f}x",
                    seconds_text(float(r.extra["batch_s"])),
                ]
            )
        last = rows[-1]
        if last.size == self.goal_size:
            load_s, load_mb = float(last.extra["load_s"]), float(last.extra["load_mb"])
            in_process_x = (last.seconds or 0.0) / load_s
            in_process_mem = (last.rss_mb or 0.0) / load_mb
            self.whole_command_goals(in_process_x, in_process_mem)
            batch_s = float(last.extra["batch_s"])
            self.goal(
                "Validation work of 100 triples", seconds_text(batch_s), "≤ 0.3 s", batch_s <= 0.3
            )
        prediction = self.predicted_10m()
        return (
            "\nThe compiled engine (the default) in one process, so that the ratios are within one run "
            "(`bench.probe validate_compiled`): the load (`Project.dataset()`), its peak memory, then "
            "`operations.judge` (the source literals read again, then `shacl.run.validate` over every target "
            "node, as the command runs them) and the process's peak after it, then the "
            "validation work alone of the 100-triple batch (`shacl.run.validate_batch`, as `add` runs it; "
            "the batch parsed untimed).\n\n"
            + table(
                [
                    "size",
                    "load",
                    "loaded store",
                    "full validation",
                    "vs load",
                    "memory vs loaded",
                    "100-triple batch, validation work",
                ],
                body,
            )
            + prediction
        )

    def load_beside_validate(self, size: int | None) -> Row | None:
        """The load command measured just before ``validate`` (the same minutes), else the
        load command of the load section."""
        for row in (
            self.r.get("validate", "load (beside validate)", size, "kgraph"),
            self.r.get("load", "load", size, "kgraph", "CLI"),
        ):
            if row is not None and row.seconds:
                return row
        return None

    def whole_command_goals(self, in_process_x: float, in_process_mem: float) -> None:
        """Issue 13's goals on the whole commands: ``kgraph --project P validate`` against
        ``kgraph --project P query -e 'ASK {}'`` (the load), time and peak memory, with the
        in-process ratios of ``validate_compiled`` beside them."""
        ours = self.r.get("validate", "validate", self.goal_size, "kgraph")
        load = self.load_beside_validate(self.goal_size)
        if ours is None or load is None or not ours.seconds or not load.seconds:
            self.goal("Full validation vs load", NA, "≤ 3x", None)
            return
        time_x = ours.seconds / load.seconds
        self.goal(
            "Full validation vs load",
            f"{time_x:.2f}x whole commands ({secs(ours)} ÷ {secs(load)}); "
            f"{in_process_x:.2f}x in one process",
            "≤ 3x",
            time_x <= 3,
            "What limits it: the compiled SELECTs themselves (the in-process ratio), then the "
            "command's own costs (shapes, the source literals, the report).",
        )
        if ours.rss_mb is None or not load.rss_mb:
            return
        # The largest process, or all of them together where the validation forked.
        peak = max(ours.rss_mb, float(ours.extra.get("tree_mb") or 0))
        mem_x = peak / load.rss_mb
        self.goal(
            "Full validation memory vs loaded store",
            f"{mem_x:.2f}x whole commands ({peak:.0f} MB ÷ {load.rss_mb:.0f} MB); "
            f"{in_process_mem:.2f}x in one process",
            "≤ 1.5x",
            mem_x <= 1.5,
        )

    def predicted_10m(self) -> str:
        """10M from the curve of the whole commands, validate and the load: the growth
        between the two largest sizes measured (below them the fixed costs, imports and
        the shapes, flatten the curve and a fit through them would predict too little),
        and the ratio it predicts."""
        import math

        validate, load = [], []
        for size in self.r.sizes():
            ours = self.r.get("validate", "validate", size, "kgraph")
            base = self.load_beside_validate(size)
            if size and ours and base and ours.seconds and base.seconds:
                validate.append((size, ours.seconds))
                load.append((size, base.seconds))
        if len(validate) < 2:
            return ""

        def extrapolate(rows: list[tuple[int, float]]) -> tuple[float, float]:
            (a, ta), (b, tb) = rows[-2], rows[-1]
            slope = math.log(tb / ta) / math.log(b / a)
            return slope, tb * (10_000_000 / b) ** slope

        v, lo = extrapolate(validate), extrapolate(load)
        sizes = "/".join(label(size) for size, _ in validate)
        return (
            f"\n**10M, predicted** from the {sizes} curve of the whole commands (the growth "
            f"from {label(validate[-2][0])} to {label(validate[-1][0])}): `validate` ∝ "
            f"size^{v[0]:.2f}, {seconds_text(v[1])}; the load ∝ size^{lo[0]:.2f}, "
            f"{seconds_text(lo[1])}: **{v[1] / lo[1]:.2f}x** the load.\n"
        )

    def reason(self) -> str:
        body = []
        for size in self.r.sizes():
            ours = self.r.get("reason", "OWL 2 RL", size, "kgraph", "in-process")
            engine = self.r.get("reason", "OWL 2 RL", size, "reasonable (same input)")
            user = self.r.get("reason", "OWL 2 RL", size, "rdflib + reasonable")
            owl = self.r.get("reason", "OWL 2 RL", size, "rdflib + owlrl")
            cli = self.r.get("reason", "OWL 2 RL", size, "kgraph", "CLI")
            inferred = ours.extra.get("inferred") if ours else None
            load = ours.extra.get("load_s") if ours else None
            body.append(
                [
                    label(size),
                    secs(ours) + (f" (load {load:.2f} s)" if load else ""),
                    mb(ours),
                    str(inferred or NA),
                    secs(engine),
                    mb(engine),
                    rtext(ratio(ours, engine)),
                    secs(user),
                    secs(owl),
                    secs(cli),
                ]
            )
        ours = self.r.get("reason", "OWL 2 RL", self.goal_size, "kgraph", "in-process")
        engine = self.r.get("reason", "OWL 2 RL", self.goal_size, "reasonable (same input)")
        value = ratio(ours, engine)
        if ours is not None and ours.seconds is None and ours.note.startswith("failed"):
            smaller = [z for z in self.r.sizes() if z < (self.goal_size or 0)]
            below = ""
            if smaller:
                z = smaller[-1]
                done = ratio(
                    self.r.get("reason", "OWL 2 RL", z, "kgraph", "in-process"),
                    self.r.get("reason", "OWL 2 RL", z, "reasonable (same input)"),
                )
                below = f"; {rtext(done)} reasonable at {label(z)}"
            self.goal(
                "OWL 2 RL materialisation",
                f"{ours.note}{below}",
                "≤ 1.5x reasonable",
                False,
                f"What limits it: kgraph's run did not finish at {label(self.goal_size)} "
                f"({ours.note}, peak {mb(ours)}); reasonable alone on the same input took "
                f"{secs(engine)}, peak {mb(engine)}.",
            )
            return self._reason_section(body)
        self.goal(
            "OWL 2 RL materialisation",
            f"{rtext(value)} reasonable",
            "≤ 1.5x reasonable",
            None if value is None else value <= 1.5,
            self._reason_limits(ours, engine),
        )
        return self._reason_section(body)

    def _reason_limits(self, ours: Row | None, engine: Row | None) -> str:
        """kgraph's reasoning time split, from its own run: the load, reasonable's own
        calls (timed around them inside that run), kgraph's work before and after them;
        against reasonable alone on the same input, and what the 1.5x goal leaves."""
        if ours is None or engine is None or not ours.seconds or not engine.seconds:
            return ""
        total, alone = ours.seconds, engine.seconds
        load = float(ours.extra.get("load_s") or 0.0)
        inside = ours.extra.get("engine_s")
        if inside is None:  # a run before the bench timed the reasoner's calls
            return (
                f"What limits it: of kgraph's {seconds_text(total)} at {label(ours.size)}, the load "
                f"is {seconds_text(load)}; the closure, reasonable's and kgraph's work around it, "
                f"is {seconds_text(total - load)}, {(total - load) / alone:.2f}x reasonable alone "
                f"on the same input ({seconds_text(alone)})."
            )
        inside = float(inside)
        before = float(ours.extra.get("prepare_s") or 0.0)
        after = max(total - load - before - inside, 0.0)
        left = 1.5 * alone - inside
        return (
            f"What limits it: of kgraph's {seconds_text(total)} at {label(ours.size)}, "
            f"reasonable's own calls (`from_graph` + `reason`, timed inside kgraph's run) take "
            f"{seconds_text(inside)}, {inside / alone:.2f}x its {seconds_text(alone)} alone on "
            f"the same input in a process of its own; the rest is kgraph's: the load "
            f"{seconds_text(load)}, the input collected and handed over as rdflib terms "
            f"{seconds_text(before)}, the closure mapped back to Oxigraph terms, filtered, the "
            f"schema rules and the store {seconds_text(after)}. Together that is "
            f"{seconds_text(total - inside)}, where the goal leaves "
            f"{seconds_text(max(left, 0.0))} (1.5x reasonable alone, less its time in kgraph's "
            f"run); without the load the ratio would be {(total - load) / alone:.2f}x."
        )

    def _reason_section(self, body: list[list[str]]) -> str:
        return (
            "## OWL 2 RL materialisation\n\n"
            + (
                "kgraph (in process): load + `materialise(dataset, 'owlrl')` (reasonable inside, given the data without the axioms kgraph withholds from it: owl:disjointWith and the functional-property types; "
                "the closure filtered and stored in its own graph). reasonable (same input): the engine alone on the "
                "same triples, `PyReasoner.from_graph` + `reason`, the input list prepared untimed. rdflib + reasonable: "
                "as its README shows (rdflib parse of the files, every axiom given). rdflib + owlrl: parse + "
                "`DeductiveClosure(OWLRL_Semantics).expand`. CLI: `kgraph reason -f nt -o FILE`. "
                "kgraph's run also times reasonable's own calls within it (`from_graph` + "
                "`reason`), for the account of its time in the goals above.\n\n"
            )
            + table(
                [
                    "size",
                    "kgraph",
                    "peak",
                    "inferred",
                    "reasonable (same input)",
                    "peak",
                    "ratio",
                    "rdflib + reasonable",
                    "rdflib + owlrl",
                    "kgraph CLI",
                ],
                body,
            )
        )

    def export(self) -> str:
        body = []
        for size in self.r.sizes():
            ours = self.r.get("export", "N-Quads", size, "kgraph", "in-process")
            raw = self.r.get("export", "N-Quads", size, "pyoxigraph")
            rdf = self.r.get("export", "N-Quads", size, "rdflib")
            cli = self.r.get("export", "N-Quads", size, "kgraph", "CLI")
            body.append(
                [
                    label(size),
                    secs(ours),
                    mb(ours),
                    secs(raw),
                    mb(raw),
                    rtext(ratio(ours, raw)),
                    secs(rdf),
                    mb(rdf),
                    secs(cli),
                ]
            )
        return (
            "## Export to N-Quads\n\n"
            + (
                "Load + write every graph as N-Quads to a file. kgraph: `operations.export` in process, and "
                "`kgraph export -f nq -o FILE`; pyoxigraph: `Store.load` + `Store.dump`; rdflib: `Dataset` parse + "
                "`serialize(format='nquads')`.\n\n"
            )
            + table(
                [
                    "size",
                    "kgraph",
                    "peak",
                    "pyoxigraph",
                    "peak",
                    "ratio",
                    "rdflib",
                    "peak",
                    "kgraph CLI",
                ],
                body,
            )
        )

    def cold(self) -> str:
        helprow = self.r.get("cold", "--help", None, "kgraph", "CLI")
        floor = self.r.get("cold", "--help", None, "python -c pass")
        qname = next((i for i in self.r.items("cold") if i.startswith("query")), None)
        query = self.r.get("cold", qname, None, "kgraph", "CLI") if qname else None
        raw = self.r.get("cold", qname, None, "pyoxigraph") if qname else None
        self.goal(
            "Cold start: kgraph --help",
            secs(helprow),
            "≤ 0.15 s",
            None if helprow is None or helprow.seconds is None else helprow.seconds <= 0.15,
            self._command_limits(
                helprow, self.r.get("cold", "--help", None, "kgraph", PROFILED), 0.15, floor
            ),
            sized=False,
        )
        self.goal(
            f"Cold start: kgraph {qname or 'query'} (shipped graph)",
            secs(query),
            "≤ 0.4 s",
            None if query is None or query.seconds is None else query.seconds <= 0.4,
            self._command_limits(
                query,
                self.r.get("cold", qname, None, "kgraph", PROFILED) if qname else None,
                0.4,
                floor,
            ),
            sized=False,
        )
        body = [
            [
                "kgraph --help",
                secs(helprow),
                mb(helprow),
                "python -c pass",
                secs(floor),
                rtext(ratio(helprow, floor)),
            ],
            [
                f"kgraph {qname}",
                secs(query),
                mb(query),
                "pyoxigraph script (load + same query)",
                secs(raw),
                rtext(ratio(query, raw)),
            ],
        ]
        runs = helprow.runs if helprow else 0
        return (
            "## Cold start\n\n"
            + (
                f"Wall clock of the whole process from a temporary working directory (so the shipped graph is used), "
                f"median of {runs} runs after one uncounted first run, which writes what any first start writes "
                "(kgraph's cache of the compiled sheets of data/, in the bench's own cache folder); kgraph's modules "
                "are compiled to bytecode before the bench starts, as `pip install` does. Beside each command, the "
                "bench times it again in parts (`bench.probe.cli_profile`, for the goals' account of where the time "
                "goes): the interpreter's start and each phase kgraph announces (`kgraph.limits.phase`), marked on "
                "the wall clock, and its imports under `-X importtime`.\n\n"
            )
            + table(["command", "time", "peak", "plain way", "time", "ratio"], body)
        )

    def _command_limits(
        self, command: Row | None, profile: Row | None, goal: float, floor: Row | None = None
    ) -> str:
        """Where a command's time goes, from its timed runs in the same bench run
        (bench.probe.cli_profile): the interpreter's start, each phase the command
        announces, and the imports (``-X importtime``) wherever they fall."""
        if command is None or not command.seconds or profile is None or not profile.seconds:
            return ""
        segments = {k: float(v) for k, v in (profile.extra.get("segments") or {}).items()}
        imports = float(profile.extra.get("imports_s") or 0.0)
        tops = profile.extra.get("top_imports") or []
        if not segments:
            return ""
        names = list(segments)
        spans = []
        for i, name in enumerate(names):
            last = i == len(names) - 1
            what = SEGMENTS.get(name, f"the {name} phase")
            if name == "setup":
                what = SETUP_TO_EXIT if last else SETUP
            elif last and name in SEGMENTS and name != "start":
                what += " until the exit"
            spans.append(f"{what} {seconds_text(segments[name])}")
            if name == "start" and floor and floor.seconds:
                spans[-1] += f" (`python -c pass` takes {secs(floor)})"
        start = segments.get("start", 0.0)
        fixed = start + imports
        heavy = ", ".join(
            f"{'its own modules' if n == 'kgraph' else n} {seconds_text(float(t))}" for n, t in tops
        )
        where = f" at {label(command.size)}" if command.size else ""
        return (
            f"What limits it: in {profile.extra.get('timed_runs', 'its')} timed runs of the same "
            f"command{where} beside it ({seconds_text(profile.seconds)}, median): "
            + "; ".join(spans)
            + f". Its imports, wherever they fall, take {seconds_text(imports)} "
            f"(`-X importtime`, the interpreter's own taken off; an upper bound, as it slows "
            f"each import a little){': ' + heavy if heavy else ''}. The interpreter's start "
            f"and the imports alone are {seconds_text(fixed)}, {fixed / goal:.1f}x the goal of "
            f"{seconds_text(goal)}; "
            + (
                f"the command's work besides them is {seconds_text(profile.seconds - fixed)}."
                if profile.seconds - fixed >= 0.001
                else "they account for the whole of the timed runs (the import figure is "
                "inflated by `-X importtime`'s own cost)."
            )
        )

    def guards(self) -> str:
        row = next((r for r in self.r.rows if r.table == "guards"), None)
        if row is None or "commands" not in row.extra:
            self.goal(
                "Input guards",
                "not measured" + (f" ({row.note})" if row and row.note else ""),
                "< 5%",
                None,
                sized=False,
            )
            return "## Input guards\n\nNot measured.\n"
        body, worst = [], 0.0
        for name, data in row.extra["commands"].items():
            with_g, without, inside = (
                statistics.median(data[k]) for k in ("with", "without", "inside")
            )
            share = statistics.median(
                i / w for i, w in zip(data["inside"], data["with"], strict=True) if w
            )
            ab = (with_g - without) / without if without else 0.0
            worst = max(worst, share)
            body.append(
                [
                    name,
                    f"{with_g * 1000:.1f} ms",
                    f"{without * 1000:.1f} ms",
                    f"{ab * 100:+.1f}%",
                    f"{inside * 1000:.3f} ms",
                    f"{share * 100:.2f}%",
                ]
            )
        self.goal(
            "Input guards' cost",
            f"at most {worst * 100:.2f}% of a command",
            "< 5%",
            worst < 0.05,
            sized=False,
        )
        return (
            "## Input guards\n\n"
            + (
                f"The shipped graph's commands in process (`operations.run_query` for `{row.item}`, `operations.validate`, "
                "`operations.convert` of data/article.ttl), run alternately with the guards and with every guard function "
                "(`check_query`, `check_rdf`, wherever imported) replaced by a no-op. The A/B difference is within the "
                "noise of the runs, so the figure that decides is the time measured inside the guard functions, as a "
                "share of the command.\n\n"
            )
            + table(
                [
                    "command",
                    "with guards",
                    "without",
                    "A/B difference",
                    "inside the guards",
                    "share",
                ],
                body,
            )
        )

    def render(self) -> str:
        sections = [
            self.load(),
            self.queries(),
            self.store(),
            self.add(),
            self.validate(),
            self.reason(),
            self.export(),
            self.cold(),
            self.guards(),
        ]
        m = self.machine
        versions = ", ".join(
            f"{k} {m.get(k)}"
            for k in ("kgraph", "pyoxigraph", "rdflib", "pyshacl", "owlrl", "reasonable")
        )
        head = (
            "# Benchmarks\n\n"
            "<!-- Generated by `python -m bench` (bench/report.py); do not edit by hand: run `make bench`. -->\n\n"
            f"- Command: `{self.command}`, {self.when}; total {self.total / 60:.1f} min.\n"
            f"- Machine: {m.get('cpus')} CPUs ({m.get('cpu', '?')}), {m.get('ram_gb', '?')} GB RAM, {m.get('platform')}, "
            f"load average {m.get('load', 0):.1f} at the start; Python {m.get('python')}; {versions}; "
            f"repository at {m.get('commit', '?')}.\n"
            "- Graphs: synthetic data shaped like the article (bench/generate.py), N-Triples, at the sizes below "
            "(triples of data/synthetic.nt), plus the ontology and the curated data files (the quads-loaded column "
            "gives the total). Deterministic from the seed.\n"
            "- Each figure: the median of several runs, each in a fresh process (one run when a run takes, or is "
            "predicted to take, over 5 s); peak = peak resident memory. A measurement predicted (linearly from the "
            "previous size) to take longer than the cap, or known from ENGINE-NOTES to take over 10 minutes, is "
            "skipped and says so.\n\n"
            "![Time against graph size, log-log: kgraph and the plain way for load, queries, add, "
            "validation, reasoning and export](benchmarks.svg)\n\n"
        )
        summary = "## Goals\n\n" + table(["goal", "figure", "target", ""], self.summary) + "\n"
        unmet = ""
        if self.unmet:
            unmet = "## What limits the goals not met\n\n" + "\n".join(self.unmet) + "\n\n"
        return head + summary + unmet + "\n".join(sections)


# What each segment of a command's timeline is (bench.probe.timeline): the start, then
# the phases kgraph announces (kgraph.limits.Phase), each until the next one.
SEGMENTS = {
    "start": "the interpreter's start",
    "parse": "the input read and parsed, the shapes read",
    "load": "the graph opened, then the work before the next phase",
    "query": "the query and its output",
    "reason": "the closure",
    "validate": "validation and the report",
    "export": "the export",
}
SETUP = "imports, options and the worker's fork, until the first phase"
SETUP_TO_EXIT = "from the script to the exit (imports, options, the command's own work)"


def _over(disk: Row | None, mem: Row | None) -> str:
    """The ratio of a query that did not finish on disk: from its prediction, or the least
    one its timeout implies ("timed out (> 10 s)")."""
    import re

    if mem is None or not mem.seconds or disk is None:
        return NA
    if disk.predicted:
        return f"~{rtext(disk.predicted / mem.seconds)} (predicted)"
    found = re.search(r"> (\d+) s", disk.note)
    return f"> {rtext(float(found.group(1)) / mem.seconds)}" if found else NA


def _sheet_text(row: Row | None) -> str:
    if row is None:
        return NA
    first = row.extra.get("first_s")
    return secs(row) + (f" (first {first:.2f} s)" if isinstance(first, int | float) else "")


def _full_text(row: Row | None) -> str:
    if row is None:
        return NA
    if row.seconds is None:
        return row.note or NA
    return f"{row.extra.get('validate_s', row.seconds):.2f} s (+ parse {row.extra.get('parse_s', 0):.2f} s)"
