"""``python -m bench.serve``: `kgraph serve` against `oxigraph serve-read-only`, same data,
same queries, same clients, in the same run.

Each server gets the project's canned queries (parameters unbound, the project's prefixes
declared in the text, so both servers parse the same bytes) from 1, 4 and 16 concurrent
clients for ``--seconds`` each, over keep-alive connections; we report throughput, p50 and
p99 latency, errors, and the servers' memory (proportional set size of the whole process
tree: kgraph's HTTP process, zygote and workers). Oxigraph is loaded from `kgraph export -f nq` and run
with --union-default-graph, which is what kgraph's default graph is.

Sizes: ``shipped`` (the repository's graph) and synthetic projects from bench.projects
(``--sizes shipped,100000,1000000``, the default). Results go to bench/out/serve.json and
docs/benchmarks-serve.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

from kgraph.server.app import default_workers

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out" / "serve.json"
DOC = REPO / "docs" / "benchmarks-serve.md"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Result:
    size: str
    triples: int
    server: str
    clients: int
    requests: int
    errors: int
    seconds: float
    throughput: float
    p50_ms: float
    p99_ms: float
    idle_pss_mb: float
    """PSS of the tree just before the window (after start-up and the windows before)."""
    pss_mb: float
    """Peak proportional set size of the server's process tree during the window."""
    rss_mb: float
    """Peak resident set size of the tree (a page shared by N processes counted N times)."""
    processes: int
    """Most processes in the tree during the window."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, path: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no server on port {port}")


def tree_memory(pid: int) -> tuple[float, float, int]:
    """(PSS MB, RSS MB, processes) of ``pid`` and all its descendants (Linux /proc).

    PSS is the honest figure for a tree of forked processes: a page shared by N processes
    (the store the workers inherit from the zygote, copy-on-write) counts 1/N in each, so
    the tree's sum counts it once. RSS counts it once per process, shown beside it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry.name))
            except OSError:
                continue
    pss = rss = count = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
        except OSError:  # gone meanwhile
            continue
        count += 1
        for name, found in re.findall(r"^(Pss|Rss):\s+(\d+) kB", rollup, re.MULTILINE):
            if name == "Pss":
                pss += int(found)
            else:
                rss += int(found)
    return pss / 1024, rss / 1024, count


class PeakMemory:
    """Samples :func:`tree_memory` every ``interval`` seconds in a thread; keeps the peaks.

    The memory after a window is not what the window needed: a worker that grew for a
    query and was recycled, or memory handed back after the query, would be missed."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self._pid = pid
        self._interval = interval
        self._done = threading.Event()
        self.pss = self.rss = 0.0
        self.processes = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            pss, rss, count = tree_memory(self._pid)
            self.pss, self.rss = max(self.pss, pss), max(self.rss, rss)
            self.processes = max(self.processes, count)
            if self._done.wait(self._interval):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def canned_texts(root: Path) -> list[str]:
    sys.path.insert(0, str(REPO / "src"))
    from kgraph.namespaces import PREFIXES
    from kgraph.queries import registry

    header = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
    return [header + q.text for q in registry(root / "queries").values()]


def load(
    server: str,
    port: int,
    requests: list[str],
    clients: int,
    seconds: float,
    query_timeout: float = 300,
) -> tuple[int, int, list[float], float]:
    """Run ``clients`` threads, each cycling through ``requests`` for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=query_timeout + 150)
        i = offset
        mine: list[float] = []
        failed = 0
        while time.monotonic() < stop:
            body = urlencode({"query": requests[i % len(requests)]})
            i += 1
            started = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    "/query" if server == "oxigraph" else "/sparql",
                    body=body,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Accept": "application/sparql-results+json",
                    },
                )
                response = conn.getresponse()
                answer = response.read()
                if response.status != 200:
                    failed += 1
                    if failed <= 2:
                        print(
                            f"{server}: HTTP {response.status}: {answer[:200]!r}", file=sys.stderr
                        )
            except (OSError, http.client.HTTPException) as err:
                failed += 1
                if failed <= 2:
                    print(f"{server}: {type(err).__name__}: {err}", file=sys.stderr)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=query_timeout + 150)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors += failed

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), errors, latencies, time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_kgraph(
    root: Path,
    port: int,
    workers: int | None,
    timeout: float,
    work: Path,
    *,
    store: Path | None = None,
    in_memory: bool = False,
) -> subprocess.Popen[bytes]:
    command = [str(BIN / "kgraph"), "-q", "--project", str(root)]
    if store is not None:
        command += ["--store", str(store)]
    command += ["serve", "--port", str(port)]
    if in_memory:
        command += ["--in-memory"]
    if workers is not None:  # else kgraph's own default: what a user gets
        command += ["--workers", str(workers)]
    command += ["--queue-wait", "120", "--timeout", f"{timeout:g}"]
    # Without --store kgraph builds its store in the user's cache folder: here one of this
    # run's, built before the server answers and removed after it, as Oxigraph's store is.
    env = dict(os.environ, KGRAPH_CACHE_DIR=str(work / "kgraph-cache"))
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def start_oxigraph(root: Path, port: int, work: Path, timeout: float) -> subprocess.Popen[bytes]:
    dump = work / "dataset.nq"
    subprocess.run(
        [str(BIN / "kgraph"), "-q", "--project", str(root), "export", "-f", "nq", "-o", str(dump)],
        check=True,
    )
    location = work / "oxigraph"
    subprocess.run(
        [str(BIN / "oxigraph"), "load", "--location", str(location), "--file", str(dump)],
        check=True,
        capture_output=True,
    )
    command = [str(BIN / "oxigraph"), "serve-read-only", "--location", str(location)]
    command += ["--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    command += ["--timeout-s", f"{timeout:g}"]  # both servers stop a query at the same bound
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def project_for(size: str, seed: int, cache: Path | None) -> tuple[Path, int]:
    if size == "shipped":
        root = REPO
    else:
        from bench.projects import build

        number = int(size.replace("_", ""))
        root = (build(number, seed, cache=cache) if cache else build(number, seed)).root
    count = subprocess.run(
        [str(BIN / "kgraph"), "-q", "--project", str(root), "stats"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"(\d+) triples", count)
    return root, int(found.group(1)) if found else 0


SERVERS = ("kgraph", "kgraph --in-memory", "kgraph --store", "oxigraph")


def run(
    sizes: list[str],
    clients: list[int],
    seconds: float,
    workers: int | None,
    seed: int,
    *,
    servers: tuple[str, ...] = SERVERS,
    cache: Path | None = None,
    timeout: float = 300,
) -> list[Result]:
    results: list[Result] = []
    for size in sizes:
        root, triples = project_for(size, seed, cache)
        queries = canned_texts(root)
        with tempfile.TemporaryDirectory(prefix="kgraph-bench-serve-") as tmp:
            # kgraph (its default: an on-disk store, RocksDB, built in its cache folder, as
            # Oxigraph's server reads one), kgraph holding the graph in memory, kgraph on a
            # --store, and Oxigraph.
            for server in servers:
                port = free_port()
                if server == "kgraph":
                    process = start_kgraph(root, port, workers, timeout, Path(tmp))
                elif server == "kgraph --in-memory":
                    process = start_kgraph(root, port, workers, timeout, Path(tmp), in_memory=True)
                elif server == "kgraph --store":
                    store = Path(tmp) / "kgraph-store"
                    process = start_kgraph(root, port, workers, timeout, Path(tmp), store=store)
                else:
                    process = start_oxigraph(root, port, Path(tmp), timeout)
                try:
                    wait_http(port, "/query" if server == "oxigraph" else "/sparql")
                    load(server, port, queries, 1, min(seconds, 2.0), timeout)  # warm up
                    for n in clients:
                        idle, _, _ = tree_memory(process.pid)
                        with PeakMemory(process.pid) as peak:
                            count, errors, latencies, elapsed = load(
                                server, port, queries, n, seconds, timeout
                            )
                        result = Result(
                            size,
                            triples,
                            server,
                            n,
                            count,
                            errors,
                            round(elapsed, 2),
                            round(count / elapsed, 1),
                            round(statistics.median(latencies) * 1000, 2) if latencies else 0.0,
                            round(percentile(latencies, 0.99) * 1000, 2),
                            round(idle, 1),
                            round(peak.pss, 1),
                            round(peak.rss, 1),
                            peak.processes,
                        )
                        results.append(result)
                        print(json.dumps(asdict(result)), file=sys.stderr, flush=True)
                finally:
                    stop(process)
    return results


def report(results: list[Result], meta: dict[str, object]) -> str:
    lines = [
        "# `kgraph serve` against `oxigraph serve-read-only`",
        "",
        "Written by `python -m bench.serve` (part of `make bench`); do not edit by hand.",
        "",
        f"Command: `{meta['command']}` at commit {meta['commit']}; {meta['cpus']} CPUs "
        f"(shared; load average {meta['load']} when the run started); "
        f"{meta['queries']} canned queries "
        f"per size, parameters unbound; {meta['seconds']} s per figure; kgraph with "
        f"--workers {meta['workers']}; each server stops a query after "
        f"{meta.get('timeout', 300)} s (an error in the table).",
        "",
        "| graph | triples | clients | server | answers/s | p50 ms | p99 ms | errors "
        "| PSS MB before | PSS MB peak | RSS MB peak | processes "
        "| kgraph/oxigraph throughput | kgraph/oxigraph peak PSS |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: |",
    ]
    by_key = {(r.size, r.clients, r.server): r for r in results}

    def rate(r: Result) -> float:
        # Successful answers per second, unrounded: a 503 or a timeout is not throughput.
        return (r.requests - r.errors) / r.seconds if r.seconds else 0.0

    for r in results:
        other = by_key.get((r.size, r.clients, "oxigraph"))
        compared = r.server != "oxigraph" and other is not None
        ratio = f"{rate(r) / rate(other):.2f}x" if compared and other and rate(other) else ""
        memory = f"{r.pss_mb / other.pss_mb:.2f}x" if compared and other.pss_mb else ""
        lines.append(
            f"| {r.size} | {r.triples} | {r.clients} | {r.server} | {rate(r):.3f} | {r.p50_ms} | "
            f"{r.p99_ms} | {r.errors} | {r.idle_pss_mb} | {r.pss_mb} | {r.rss_mb} | "
            f"{r.processes} | {ratio} | {memory} |"
        )
    goals = []
    for r in results:
        other = by_key.get((r.size, r.clients, "oxigraph"))
        if r.clients == 16 and r.server != "oxigraph" and other and rate(other):
            goals.append(
                f"{r.server} on {r.size}: {rate(r) / rate(other):.2f}x Oxigraph's "
                f"throughput (goal at least 0.8x), {r.pss_mb / other.pss_mb:.2f}x its peak PSS "
                "(goal at most 1.5x)"
            )
    if goals:
        lines += ["", "Goals at 16 clients (issue 12): " + "; ".join(goals) + "."]
    lines += [
        "",
        "Reading the figures. kgraph's default (no --store) serves from an on-disk store",
        "(RocksDB) it builds in its cache folder (here in the run's temporary folder, before",
        "the server answers, as Oxigraph's store is loaded before its server starts);",
        "`kgraph --in-memory` holds the graph in the zygote's memory (the default before);",
        "`kgraph --store` reads a store the user names. Oxigraph's server reads the same",
        "engine's RocksDB store, so the default and Oxigraph compare the servers. Each figure is",
        "the requests that *started* within the window and were answered (errors are the",
        "others: kgraph's 503 for a query past --timeout or a queue wait past 120 s, a client",
        "giving up after the timeout plus 150 s); a request in flight when the window closes",
        "is waited for, so a window with slow queries runs long (see `seconds` in",
        "bench/out/serve.json). Oxigraph 0.5.13 is given `--timeout-s` but does not stop every",
        "query at it (read its p99). What bounds both servers is the query engine (the same one):",
        "on the synthetic graphs a few canned queries with their parameters unbound take tens",
        "of seconds on RocksDB (several times less in memory), so each figure counts only a few",
        "requests and the ratios move a lot with which queries the clients happened to draw.",
        "Then the CPUs: kgraph runs at most --workers queries at once (by default 2 per CPU,",
        "at least 8), on the threads of one worker process (--threads, by default all of",
        "them; a second worker only while one that ran a query past --timeout drains), and",
        "queues the rest; Oxigraph runs every request at once in threads.",
        "",
        "Memory: the tree of each server is sampled every 0.2 s during the window; *peak* is",
        "the most it held at once, *before* what it held when the window began. PSS",
        "(proportional set size, /proc/PID/smaps_rollup) counts a page shared by N processes",
        "1/N in each, so the pages kgraph's workers share with the zygote they are forked from",
        "count once; RSS counts them once per process. Both servers are counted the same way:",
        "every process of the server (kgraph: the HTTP process, the zygote, the workers and",
        "the one-off validation; Oxigraph: its one process), their anonymous memory and the",
        "files they map (binaries, libraries); for neither is the page cache counted (RocksDB",
        "reads its files with read(), it does not map them), which is where either server's",
        "store sits. What kgraph holds that Oxigraph does not: a Python interpreter per process",
        "(the HTTP process, the zygote, one worker whose query threads share one RocksDB",
        "instance and its block cache, as Oxigraph's threads do; a second worker while one",
        "drains after a timeout, or with --threads below --workers); each answer held whole",
        "in the worker and in the HTTP process before it is sent (a query's answer is refused",
        "whole past --max-bytes or --max-rows, never cut; Oxigraph streams it); with",
        "--in-memory, the graph in the zygote's memory. The peak is mostly the queries' working",
        "memory (a sort, a join's hash table, the answer), the same engine's in both servers: a",
        "window whose clients drew the heaviest canned query peaks at hundreds of MB in either.",
        "A worker hands a query's memory back to the system after it and is replaced by a fresh",
        "fork if it still grew (its warm block cache not counted); the overview page's",
        "validation runs once at start in one more",
        "fork of the zygote. Figures on a shared machine (2 CPUs, other developers' jobs",
        "running) vary from run to run by tens of percent.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.serve", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", default="shipped,100000,1000000")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="kgraph serve --workers [default: kgraph's own default, as a user gets it]",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--timeout",
        type=float,
        default=300,
        help="seconds either server lets one query run (kgraph --timeout, oxigraph --timeout-s)",
    )
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="which of them, comma-separated"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="where the synthetic projects are built"
    )
    parser.add_argument("--no-docs", action="store_true", help="print only, write nothing")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help=f"rewrite {DOC.name} from the last run's {OUT.name}, measuring nothing",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.report_only:
        saved = json.loads(OUT.read_text())
        DOC.write_text(
            report([Result(**r) for r in saved["results"]], saved["meta"]), encoding="utf-8"
        )
        return 0
    if shutil.which("oxigraph", path=str(BIN)) is None:
        print("bench.serve needs the oxigraph server (pip install -e '.[test]')", file=sys.stderr)
        return 2
    sizes = [s for s in args.sizes.split(",") if s]
    clients = [int(c) for c in args.clients.split(",") if c]
    load_at_start = os.getloadavg()  # the machine is shared: say how busy it was
    commit = subprocess.run(  # before the run: what was measured, not what was edited since
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    servers = tuple(s for s in args.servers.split(",") if s)
    unknown = set(servers) - set(SERVERS)
    if unknown:
        print(f"bench.serve: unknown server {sorted(unknown)[0]!r}", file=sys.stderr)
        return 2
    results = run(
        sizes,
        clients,
        args.seconds,
        args.workers,
        args.seed,
        servers=servers,
        cache=args.cache,
        timeout=args.timeout,
    )
    meta = {
        "command": "python -m bench.serve " + " ".join(sys.argv[1:] if argv is None else argv),
        "commit": commit,
        "load": " ".join(f"{x:.1f}" for x in load_at_start),
        "cpus": os.cpu_count(),
        "queries": len(canned_texts(REPO)),
        "seconds": args.seconds,
        "workers": args.workers if args.workers is not None else default_workers(),
        "timeout": args.timeout,
    }
    text = report(results, meta)
    print(text)
    if not args.no_docs:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(
            json.dumps({"meta": meta, "results": [asdict(r) for r in results]}, indent=2)
        )
        DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
