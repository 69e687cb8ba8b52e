"""The canned-query set on real stores, and push / bulk-load times: the table of docs/stores.md.

``python -m bench.stores [--size 100000] [--write]`` starts each store of tests/stores.py
(Oxigraph's server, Virtuoso, Jena TDB2) on a fresh folder, loads the shipped graph or the
bench's synthetic project of ``--size`` triples (``kgraph push`` for the servers, timed;
the store's bulk loader, timed, into a second fresh folder), runs every canned query with
and without its example parameters through ``kgraph query --endpoint`` and compares the
rows with the local answer (as multisets of TSV lines: the terms are already normalised
by kgraph). ``--write`` puts the table between the markers in docs/stores.md.
Not part of ``make bench``: it needs the stores installed (.ci/run installs them).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.projects import REPO, build

sys.path.insert(0, str(REPO / "tests"))

from stores import Jena, OxigraphServer, Store, Virtuoso

KGRAPH = [sys.executable, "-m", "kgraph"]
MARK = ("<!-- BEGIN stores table -->", "<!-- END stores table -->")


def kgraph(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KGRAPH, "--project", str(project), *args], capture_output=True, text=True, check=False
    )


EXAMPLES = True
QUERY_TIMEOUT = "120"


def cases(project: Path) -> list[tuple[str, list[str]]]:
    from kgraph.queries import load_query

    found: list[tuple[str, list[str]]] = []
    for path in sorted((project / "queries").glob("*.rq")):
        query = load_query(path)
        found.append((path.stem, []))
        if query.params and EXAMPLES:
            args: list[str] = []
            for param in query.params:
                args += ["-p", param.name, str(param.example)]
            found.append((path.stem, args))
    return found


def rows(output: str) -> Counter[str]:
    return Counter(output.splitlines())


def compare(project: Path, store: Store, local: dict[str, str]) -> dict[str, str]:
    """Case name -> "same", "different" or the first line of the error."""
    verdicts = {}
    for name, args in cases(project):
        key = name + (" (example)" if args else "")
        there = kgraph(
            project,
            "--timeout",
            QUERY_TIMEOUT,
            "query",
            name,
            *args,
            "-f",
            "tsv",
            "--endpoint",
            store.query_endpoint,
        )
        if there.returncode:
            verdicts[key] = "error: " + there.stderr.strip().splitlines()[0][:160]
        else:
            verdicts[key] = "same" if rows(there.stdout) == rows(local[key]) else "different"
    return verdicts


def timed_push(project: Path, store: Store) -> tuple[float, str]:
    started = time.perf_counter()
    pushed = kgraph(project, "push", store.push_url, "--http-timeout", "600")
    seconds = time.perf_counter() - started
    return seconds, "ok" if pushed.returncode == 0 else pushed.stderr.strip()[:300]


def run(size: int, max_rows: int, kinds: list[str], out: Path) -> dict[str, object]:
    project = REPO if size == 0 else build(size, 1).root
    local = {}
    for name, args in cases(project):
        key = name + (" (example)" if args else "")
        answer = kgraph(project, "query", name, *args, "-f", "tsv")
        local[key] = answer.stdout
    results: dict[str, object] = {"size": size, "cases": len(local)}
    with tempfile.TemporaryDirectory(prefix="kgraph-stores-") as tmp:
        folder = Path(tmp)
        dump = folder / "graph.nq"
        kgraph(project, "export", "-f", "nq", "-o", str(dump))
        for kind in kinds:
            entry: dict[str, object] = {}
            work = folder / kind
            (work / "push").mkdir(parents=True)
            (work / "bulk").mkdir()
            if kind == "jena":
                jena = Jena(work / "bulk")
                entry["bulk_load_s"] = round(jena.bulk_load(dump), 2)
                jena.start()
                try:
                    entry["queries"] = compare(project, jena, local)
                finally:
                    jena.stop()
            else:
                store: Store = (
                    OxigraphServer(work / "push")
                    if kind == "oxigraph"
                    else Virtuoso(work / "push", max_rows=max_rows)
                )
                try:
                    entry["push_s"], entry["push"] = timed_push(project, store)
                    entry["push_s"] = round(float(entry["push_s"]), 2)  # type: ignore[arg-type]
                    entry["queries"] = compare(project, store, local)
                finally:
                    store.stop()
                bulk: Store = (
                    OxigraphServer(work / "bulk")
                    if kind == "oxigraph"
                    else Virtuoso(work / "bulk", max_rows=max_rows)
                )
                try:
                    entry["bulk_load_s"] = round(bulk.bulk_load(dump), 2)
                finally:
                    bulk.stop()
            results[kind] = entry
            print(kind, json.dumps(entry)[:400], file=sys.stderr, flush=True)
            out.write_text(json.dumps(results, indent=1))
    return results


def _why(verdict: str) -> str:
    if verdict == "different":
        return ""
    return " (timeout)" if "no complete answer" in verdict else " (error)"


def table(runs: list[dict[str, object]]) -> str:
    lines = [
        "| store | graph | queries identical | push (send + verify) | bulk load | differing or failing |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for result in runs:
        size = int(str(result["size"]))
        graph = f"{size // 1000}k" if size else "shipped"
        for kind in ("oxigraph", "virtuoso", "jena"):
            entry = result.get(kind)
            if not isinstance(entry, dict):
                continue
            verdicts = entry["queries"]
            same = sum(v == "same" for v in verdicts.values())
            bad = ", ".join(f"{k}{_why(v)}" for k, v in verdicts.items() if v != "same")
            push = f"{entry['push_s']} s" if "push_s" in entry else "–"
            if entry.get("push", "ok") != "ok":
                push += " (content check: the duration differs)"
            lines.append(
                f"| {kind} | {graph} | {same}/{len(verdicts)} | {push} | "
                f"{entry['bulk_load_s']} s | {bad or '–'} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, action="append", help="0 = the shipped graph")
    parser.add_argument("--max-rows", type=int, default=1_000_000, help="Virtuoso ResultSetMaxRows")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--stores", default="oxigraph,virtuoso,jena")
    parser.add_argument("--no-examples", action="store_true", help="skip the example runs")
    parser.add_argument("--query-timeout", default="120", help="seconds per remote query")
    parser.add_argument(
        "--from-json", type=Path, action="append", help="only render the table from these"
    )
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "cache" / "stores.json")
    args = parser.parse_args()
    global EXAMPLES, QUERY_TIMEOUT
    EXAMPLES, QUERY_TIMEOUT = not args.no_examples, args.query_timeout
    args.json.parent.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        runs = [json.loads(p.read_text()) for p in args.from_json]
    else:
        kinds = args.stores.split(",")
        runs = [run(size, args.max_rows, kinds, args.json) for size in (args.size or [0, 100_000])]
    text = table(runs)
    print(text)
    if args.write:
        doc = REPO / "docs" / "stores.md"
        content = doc.read_text()
        start, end = content.index(MARK[0]) + len(MARK[0]), content.index(MARK[1])
        doc.write_text(content[:start] + "\n" + text + content[end:])


if __name__ == "__main__":
    main()
