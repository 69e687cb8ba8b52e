"""``python -m bench``: run the benchmark and write docs/benchmarks.md and docs/benchmarks.svg.

Options: ``--sizes 10000,100000`` (default 10k, 100k and 1M triples), ``--quick`` (10k only,
one run per figure: for development), ``--seed``, ``--runs``, ``--budget MIN`` (20),
``--cap S`` (the longest single run to attempt, predicted from the previous size),
``--no-cap`` (run everything however long), ``--out DIR`` (docs/), ``--report-only
bench/out/results.json`` (rewrite the docs from the saved results of the last run),
``--only cold-start,add`` (just those goals' rows, printed, saved to bench/out/only.json;
the docs are not rewritten: for checking a change to one goal; ``add`` at ``--sizes``,
default 1M, the size of its goal).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import chart
from bench.measure import Bench, Config, Row, machine
from bench.projects import REPO, build
from bench.report import Report

DEFAULT_SIZES = "10000,100000,1000000"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated triple counts")
    parser.add_argument("--quick", action="store_true", help="10k only, one run per figure")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--budget", type=float, default=20.0, help="minutes for the whole run")
    parser.add_argument(
        "--cap", type=float, default=240.0, help="longest predicted single run to attempt (s)"
    )
    parser.add_argument("--no-cap", action="store_true", help="attempt every measurement")
    parser.add_argument(
        "--out", default=str(REPO / "docs"), help="where to write benchmarks.md and .svg"
    )
    parser.add_argument(
        "--report-only", metavar="RESULTS", help="only rewrite the docs from a saved results.json"
    )
    parser.add_argument(
        "--only",
        metavar="GOALS",
        help=f"comma-separated, of {', '.join(ONLY)}: just their rows, printed (docs untouched)",
    )
    return parser.parse_args(argv)


ONLY = ("cold-start", "add")
"""The goals ``--only`` can measure on their own."""


RESULTS = REPO / "bench" / "out" / "results.json"
TITLE = "kgraph against the plain way: time (log) against graph size (log)"


def write_docs(rows: list[Row], meta: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report = Report(rows, meta["machine"], meta["command"], meta["total"], meta["when"])
    (out / "benchmarks.md").write_text(report.render(), encoding="utf-8")
    (out / "benchmarks.svg").write_text(chart.render(rows, TITLE), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    out = Path(args.out)
    if args.report_only:
        saved = json.loads(Path(args.report_only).read_text(encoding="utf-8"))
        write_docs([Row(**r) for r in saved["rows"]], saved["meta"], out)
        print(
            f"wrote {out / 'benchmarks.md'} and {out / 'benchmarks.svg'} from {args.report_only}",
            file=sys.stderr,
        )
        return 0
    sizes = (
        [10_000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    )
    only = [g.strip() for g in args.only.split(",") if g.strip()] if args.only else []
    unknown = [g for g in only if g not in ONLY]
    if unknown:
        print(
            f"--only: unknown goal {unknown[0]!r}; choose from {', '.join(ONLY)}", file=sys.stderr
        )
        return 2
    if only and args.sizes == DEFAULT_SIZES:
        sizes = [1_000_000]  # the size the add goal is judged at
    config = Config(
        sizes=sorted(sizes),
        seed=args.seed,
        runs=1 if args.quick else args.runs,
        cold_runs=3 if args.quick else 10,
        guard_runs=5 if args.quick else 15,
        profile_runs=1 if args.quick else 3,
        budget=args.budget * 60,
        cap=args.cap,
        no_cap=args.no_cap,
    )
    from kgraph.layout import shipped_root

    source = shipped_root()  # the ontology, data and queries of the kgraph that is measured
    info = machine()
    info["source"] = str(source)
    bench = Bench(config)
    bench.compile_bytecode()
    bench.log(
        f"kgraph benchmark: sizes {config.sizes}, seed {config.seed}, {info['cpus']} CPUs, load {info['load']:.1f}"
    )
    meta: dict[str, Any] = {
        "machine": info,
        "command": " ".join(["python -m bench", *map(shlex.quote, argv)]),
    }
    if only:
        return run_only(bench, only, config.sizes, config.seed, source, meta)
    try:
        bench.cold_start()
        bench.guards()
        for size in config.sizes:
            start = time.monotonic()
            project = build(size, config.seed, source=source)
            bench.log(
                f"generated/copied the {size}-triple project in {time.monotonic() - start:.1f} s"
            )
            bench.size(project, last=size == config.sizes[-1])
    finally:
        shutil.rmtree(bench.tmp, ignore_errors=True)
        meta["total"] = bench.elapsed()
        meta["when"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            json.dumps({"meta": meta, "rows": [asdict(r) for r in bench.rows]}, indent=1) + "\n"
        )
    write_docs(bench.rows, meta, out)
    bench.log(
        f"wrote {out / 'benchmarks.md'} and {out / 'benchmarks.svg'}; total {meta['total'] / 60:.1f} min"
    )
    return 0


def run_only(
    bench: Bench, only: list[str], sizes: list[int], seed: int, source: Path, meta: dict[str, Any]
) -> int:
    """The rows of the goals in ``only``, logged as they are measured, then saved."""
    try:
        if "cold-start" in only:
            bench.cold_start()
        if "add" in only:
            for size in sizes:
                bench.only_add(build(size, seed, source=source))
    finally:
        shutil.rmtree(bench.tmp, ignore_errors=True)
    meta["total"] = bench.elapsed()
    meta["load_after"] = machine()["load"]
    out = RESULTS.with_name("only.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"meta": meta, "rows": [asdict(r) for r in bench.rows]}, indent=1) + "\n"
    )
    for row in bench.rows:
        first = row.extra.get("first_s")
        print(
            f"{row.table} / {row.item} / {row.who} ({row.how}) @ {row.size}: "
            f"{'-' if row.seconds is None else f'{row.seconds:.3f} s'} median of {row.runs}"
            + (f" (first run {first:.3f} s)" if first is not None else "")
            + (f"; {row.note}" if row.note else "")
        )
    print(f"load {meta['machine']['load']:.2f} before, {meta['load_after']:.2f} after; {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
