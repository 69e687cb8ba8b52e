"""``python -m bench.serve``: `kgraph serve` against `oxigraph serve-read-only`, same data,
same queries, same clients, in the same run.

Each server gets the same fixed workload of the project's canned queries (parameters
unbound, the project's prefixes declared in the text, so both servers parse the same
bytes): those Oxigraph answers alone within ``--cap`` seconds, ``--rounds`` times each, in
an order drawn from ``--seed``, from 1, 4 and 16 concurrent clients over keep-alive
connections; we report throughput (answers over the makespan), p50 and p99 latency,
errors, the CPU the server used, each query's time alone, and the servers' memory (proportional set size of the whole process
tree: kgraph's HTTP process, zygote and workers). Oxigraph is loaded from `kgraph export -f nq` and run
with --union-default-graph, which is what kgraph's default graph is.

Sizes: ``shipped`` (the repository's graph) and synthetic projects from bench.projects
(``--sizes shipped,100000,1000000``, the default). Results go to bench/out/serve.json and
docs/benchmarks-serve.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

from bench.probe import tree
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
    """Requests in the window's fixed workload (the same list for every server)."""
    errors: int
    seconds: float
    """Makespan: from the first request sent to the last answer received."""
    throughput: float
    """Answers (HTTP 200) per second of makespan."""
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
    cpu_s: float = 0.0
    """CPU seconds the server's tree used in the window (user and system, all its threads)."""


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
    pss = rss = count = 0
    for current in tree(pid):
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
    return [text for _, text in canned_queries(root)]


def canned_queries(root: Path) -> list[tuple[str, str]]:
    """(name, text) of each canned query, the project's prefixes declared in the text."""
    sys.path.insert(0, str(REPO / "src"))
    from kgraph.namespaces import PREFIXES
    from kgraph.queries import registry

    header = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
    return [(q.name, header + q.text) for q in registry(root / "queries").values()]


def ask(server: str, conn: http.client.HTTPConnection, text: str) -> tuple[int, bytes]:
    """One POSTed query on ``conn``: (status, body)."""
    conn.request(
        "POST",
        "/query" if server == "oxigraph" else "/sparql",
        body=urlencode({"query": text}),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/sparql-results+json",
        },
    )
    response = conn.getresponse()
    return response.status, response.read()


def load(
    server: str,
    port: int,
    requests: list[str],
    clients: int,
    client_timeout: float,
) -> tuple[int, int, list[float], float]:
    """Hand ``requests`` out, in their order, to ``clients`` threads (each takes the next
    one when its last is answered) until none is left: (answered, errors, latencies,
    makespan). A fixed list, not a time window: both servers get the same requests, and
    a slow query is waited for rather than cutting the window short or long."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    todo = iter(requests)

    def client() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=client_timeout)
        mine: list[float] = []
        failed = 0
        while True:
            with lock:
                text = next(todo, None)
            if text is None:
                break
            started = time.perf_counter()
            try:
                status, answer = ask(server, conn, text)
                if status != 200:
                    failed += 1
                    print(f"{server}: HTTP {status}: {answer[:200]!r}", file=sys.stderr)
            except (OSError, http.client.HTTPException) as err:
                failed += 1
                print(f"{server}: {type(err).__name__}: {err}", file=sys.stderr)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=client_timeout)
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += failed

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) - errors, errors, latencies, time.monotonic() - started


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its descendants (Linux /proc)."""
    total = 0
    for current in tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, and those of its children it has reaped (a worker the zygote
        # replaced, the validation at start): CPU a window used stays counted.
        total += sum(int(f) for f in fields[11:15])
    return total / TICK


def wait_idle(pid: int, *, limit: float = 600, step: float = 1.0) -> float:
    """Wait until the server's tree uses under 5% of a CPU for ``step`` seconds; return how
    long that took. Nothing is measured while a server still works on something of its own
    (kgraph's validation at start, a query a client gave up on): it would slow the window's
    queries, and which server it hit would change with the timing."""
    started = time.monotonic()
    last = tree_cpu(pid)
    while time.monotonic() - started < limit:
        time.sleep(step)
        now = tree_cpu(pid)
        if now - last < 0.05 * step:
            break
        last = now
    return time.monotonic() - started


@dataclass(frozen=True)
class Solo:
    """One canned query answered alone (1 client, idle server) by one server."""

    size: str
    query: str
    server: str
    seconds: float
    status: str
    """200, another HTTP status, "over cap" (the client stopped waiting) or "no answer"."""
    cpu_s: float = 0.0
    """CPU seconds the server's processes used meanwhile."""


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
    location = work / "oxigraph"
    if not location.exists():  # loaded once per size; a restart reads the same store
        dump = work / "dataset.nq"
        export = [str(BIN / "kgraph"), "-q", "--project", str(root), "export", "-f", "nq"]
        subprocess.run([*export, "-o", str(dump)], check=True)
        subprocess.run(
            [str(BIN / "oxigraph"), "load", "--location", str(location), "--file", str(dump)],
            check=True,
            capture_output=True,
        )
        dump.unlink()
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


class Servers:
    """The servers of one size, each started once (and again after a request it was
    left to finish on its own), all kept running while the others are measured: they sit
    idle then (each window waits for the measured one to be idle)."""

    def __init__(self, root: Path, work: Path, workers: int | None, timeout: float) -> None:
        self.root, self.work, self.workers, self.timeout = root, work, workers, timeout
        self.process: dict[str, subprocess.Popen[bytes]] = {}
        self.port: dict[str, int] = {}

    def start(self, server: str) -> None:
        port = free_port()
        root, work, workers, timeout = self.root, self.work, self.workers, self.timeout
        if server == "kgraph":
            process = start_kgraph(root, port, workers, timeout, work)
        elif server == "kgraph --in-memory":
            process = start_kgraph(root, port, workers, timeout, work, in_memory=True)
        elif server == "kgraph --store":
            process = start_kgraph(root, port, workers, timeout, work, store=work / "store")
        else:
            process = start_oxigraph(root, port, work, timeout)
        self.process[server], self.port[server] = process, port
        wait_http(port, "/query" if server == "oxigraph" else "/sparql")

    def restart(self, server: str) -> None:
        stop(self.process.pop(server))
        self.start(server)
        wait_idle(self.process[server].pid)

    def close(self) -> None:
        for process in self.process.values():
            stop(process)


def solo(
    servers: Servers,
    size: str,
    server: str,
    queries: list[tuple[str, str]],
    cap: float | None,
    client_timeout: float,
) -> list[Solo]:
    """Each query once, alone, on an idle server: its wall time and the CPU the server
    spent on it. With ``cap``, the client gives up once the server has spent ``cap`` CPU
    seconds on the query (CPU, not wall time: on a shared machine which queries pass
    would otherwise change with the load), and the server, which may still run it
    (Oxigraph does not stop every query at its --timeout-s), is restarted so that it
    cannot slow the next one."""
    found = []
    for name, text in queries:
        process = servers.process[server]
        wait_idle(process.pid)
        conn = http.client.HTTPConnection("127.0.0.1", servers.port[server], timeout=client_timeout)
        outcome: list[str] = []

        def send(
            conn: http.client.HTTPConnection = conn, text: str = text, outcome: list[str] = outcome
        ) -> None:
            try:
                outcome.append(str(ask(server, conn, text)[0]))
            except (OSError, http.client.HTTPException):
                outcome.append("no answer")

        cpu = tree_cpu(process.pid)
        started = time.perf_counter()
        asking = threading.Thread(target=send)
        asking.start()
        while asking.is_alive():
            asking.join(0.1)
            if cap is not None and asking.is_alive() and tree_cpu(process.pid) - cpu > cap:
                outcome.append("over cap")
                with contextlib.suppress(OSError):
                    if conn.sock is not None:
                        conn.sock.shutdown(socket.SHUT_RDWR)
                asking.join()
                break
        elapsed = time.perf_counter() - started
        used = tree_cpu(process.pid) - cpu
        conn.close()
        status = outcome[-1] if "over cap" not in outcome else "over cap"
        found.append(Solo(size, name, server, round(elapsed, 3), status, round(used, 2)))
        print(json.dumps(asdict(found[-1])), file=sys.stderr, flush=True)
        if status in ("over cap", "no answer"):
            servers.restart(server)
    return found


def run(
    sizes: list[str],
    clients: list[int],
    rounds: int,
    cap: float,
    workers: int | None,
    seed: int,
    *,
    servers: tuple[str, ...] = SERVERS,
    cache: Path | None = None,
    timeout: float = 60,
) -> tuple[list[Result], list[Solo]]:
    """Per size: the reference server (Oxigraph, if measured) answers each canned query
    alone; those it answers within ``cap`` seconds make the workload, ``rounds`` times each
    in an order drawn from ``seed``; every other server answers each of them alone too
    (its warm-up, and the per-query comparison); then each server gets the whole workload
    from 1, 4, 16... clients."""
    results: list[Result] = []
    solos: list[Solo] = []
    reference = "oxigraph" if "oxigraph" in servers else servers[0]
    # Each server's client gives up only after the server's own timeout has answered
    # (kgraph's queue wait comes on top of it).
    client_timeout = timeout + 150
    for size in sizes:
        root, triples = project_for(size, seed, cache)
        named = canned_queries(root)
        with tempfile.TemporaryDirectory(prefix="kgraph-bench-serve-") as tmp:
            running = Servers(root, Path(tmp), workers, timeout)
            try:
                for server in servers:
                    running.start(server)
                for server in servers:
                    wait_idle(running.process[server].pid)
                alone = solo(running, size, reference, named, cap, client_timeout)
                solos += alone
                kept = {s.query for s in alone if s.status == "200"}
                chosen = [(name, text) for name, text in named if name in kept]
                for server in servers:
                    if server != reference:
                        solos += solo(running, size, server, chosen, None, client_timeout)
                workload = [text for _, text in chosen] * rounds
                random.Random(f"{seed}-{size}").shuffle(workload)
                for turn, n in enumerate(clients):
                    # Alternate which server goes first: a machine whose load drifts
                    # during the run then favours neither.
                    order = servers if turn % 2 == 0 else tuple(reversed(servers))
                    for server in order:
                        process = running.process[server]
                        wait_idle(process.pid)
                        idle, _, _ = tree_memory(process.pid)
                        cpu = tree_cpu(process.pid)
                        with PeakMemory(process.pid) as peak:
                            answered, errors, latencies, elapsed = load(
                                server, running.port[server], workload, n, client_timeout
                            )
                        used = tree_cpu(process.pid) - cpu
                        result = Result(
                            size,
                            triples,
                            server,
                            n,
                            len(workload),
                            errors,
                            round(elapsed, 2),
                            round(answered / elapsed, 3) if elapsed else 0.0,
                            round(statistics.median(latencies) * 1000, 2) if latencies else 0.0,
                            round(percentile(latencies, 0.99) * 1000, 2),
                            round(idle, 1),
                            round(peak.pss, 1),
                            round(peak.rss, 1),
                            peak.processes,
                            round(used, 2),
                        )
                        results.append(result)
                        print(json.dumps(asdict(result)), file=sys.stderr, flush=True)
            finally:
                running.close()
    return results, solos


def report(results: list[Result], meta: dict[str, object], solos: Sequence[Solo] = ()) -> str:
    cap = meta.get("cap", "?")
    lines = [
        "# `kgraph serve` against `oxigraph serve-read-only`",
        "",
        "Written by `python -m bench.serve` (part of `make bench`); do not edit by hand.",
        "",
        f"Command: `{meta['command']}` at commit {meta['commit']}; {meta['cpus']} CPUs "
        f"(shared; load average {meta['load']} when the run started); "
        f"{meta['queries']} canned queries per size, parameters unbound; kgraph with "
        f"--workers {meta['workers']}; each server stops a query after "
        f"{meta.get('timeout', 300)} s (its --timeout, Oxigraph's --timeout-s).",
        "",
        "The workload of a size: the canned queries Oxigraph answers alone within "
        f"{cap} CPU seconds, each {meta.get('rounds', '?')} times, in an order drawn from the seed: "
        "the same list of requests for every server and every number of clients. The "
        "clients take the next request as each answer comes, until the list is done; "
        "throughput is the answers (HTTP 200) over that makespan. Each window starts on an "
        "idle server (its processes under 5% of a CPU for a second).",
        "",
        "| graph | triples | clients | server | requests | answers/s | p50 ms | p99 ms "
        "| errors | CPU s | PSS MB before | PSS MB peak | RSS MB peak | processes "
        "| kgraph/oxigraph throughput | kgraph/oxigraph peak PSS |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: | ---: |",
    ]
    by_key = {(r.size, r.clients, r.server): r for r in results}

    def rate(r: Result) -> float:
        # Successful answers per second of makespan, unrounded.
        return (r.requests - r.errors) / r.seconds if r.seconds else 0.0

    for r in results:
        other = by_key.get((r.size, r.clients, "oxigraph"))
        compared = r.server != "oxigraph" and other is not None
        ratio = f"{rate(r) / rate(other):.2f}x" if compared and other and rate(other) else ""
        memory = f"{r.pss_mb / other.pss_mb:.2f}x" if compared and other and other.pss_mb else ""
        lines.append(
            f"| {r.size} | {r.triples} | {r.clients} | {r.server} | {r.requests} | "
            f"{rate(r):.3f} | {r.p50_ms} | {r.p99_ms} | {r.errors} | {r.cpu_s} | "
            f"{r.idle_pss_mb} | {r.pss_mb} | {r.rss_mb} | {r.processes} | {ratio} | {memory} |"
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
    if solos:
        servers = list(dict.fromkeys(s.server for s in solos))
        lines += [
            "",
            "Each canned query alone (1 client, idle server, warm): seconds to the whole "
            "answer, and the CPU seconds the server used for it; *over cap*: Oxigraph used "
            f"more than {cap} CPU seconds, the query is left out of the workload and not "
            "sent to the others:",
            "",
            "| graph | query | "
            + " | ".join(f"{s} s | {s} CPU s" for s in servers)
            + " | kgraph/oxigraph CPU |",
            "| --- | --- | " + " | ".join("---: | ---:" for _ in servers) + " | ---: |",
        ]
        table: dict[tuple[str, str], dict[str, Solo]] = {}
        for one in solos:
            table.setdefault((one.size, one.query), {})[one.server] = one
        for (size, query), found in table.items():
            cells = []
            for server in servers:
                got = found.get(server)
                if got is None:
                    cells += ["", ""]
                elif got.status == "200":
                    cells += [f"{got.seconds:.3f}", f"{got.cpu_s:.2f}"]
                else:
                    cells += [f"{got.status} ({got.seconds:.1f})", f"{got.cpu_s:.2f}"]
            mine, theirs = found.get("kgraph"), found.get("oxigraph")
            cells.append(
                f"{mine.cpu_s / theirs.cpu_s:.2f}x"
                if mine and theirs and mine.status == theirs.status == "200" and theirs.cpu_s
                else ""
            )
            lines.append(f"| {size} | {query} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Reading the figures. kgraph's default (no --store) serves from an on-disk store",
        "(RocksDB) it builds in its cache folder (here in the run's temporary folder, before",
        "the server answers, as Oxigraph's store is loaded before its server starts);",
        "`kgraph --in-memory` holds the graph in the zygote's memory;",
        "`kgraph --store` reads a store the user names. Oxigraph's server reads the same",
        "engine's RocksDB store, so the default and Oxigraph compare the servers. A request",
        "that fails (kgraph's 503 for a query past --timeout or a queue wait past 120 s, a",
        "client giving up after the timeout plus 150 s) is an error, not an answer, and",
        "still counts in the makespan. *CPU s* is what the server's processes used during",
        "the window (all threads, user and system): on 2 CPUs under load from 16 clients it",
        "is what bounds the throughput, so CPU s per answer is the cost to compare. Both",
        "servers run the same engine (Oxigraph 0.5 on RocksDB); kgraph runs at most",
        "--workers queries at once and queues the rest, in worker processes (by default one",
        "per CPU, each running --threads queries on threads that take turns: pyoxigraph holds",
        "the GIL while it evaluates); Oxigraph runs every request at once in threads.",
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
        "(the HTTP process, the zygote, a worker per CPU while queries run at once, each",
        "with its RocksDB instance and block cache; one more while one drains after a",
        "timeout); each answer held whole",
        "in the worker and in the HTTP process before it is sent (a query's answer is refused",
        "whole past --max-bytes or --max-rows, never cut; Oxigraph streams it); with",
        "--in-memory, the graph in the zygote's memory. The peak is mostly the queries' working",
        "memory (a sort, a join's hash table, the answer), the same engine's in both servers.",
        "A worker hands a query's memory back to the system after it and is replaced by a fresh",
        "fork if it still grew (its warm block cache not counted); the overview page's",
        "validation runs once at start in one more fork of the zygote, before any window",
        "(each waits for an idle server). Figures on a shared machine (2 CPUs, other",
        "developers' jobs running) move with its load: compare the servers within one run.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.serve", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", default="shipped,100000,1000000")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument(
        "--rounds", type=int, default=2, help="times each query is in a size's workload"
    )
    parser.add_argument(
        "--cap",
        type=float,
        default=2.5,
        help="CPU seconds: a query Oxigraph needs more for alone is left out of the workload "
        "(at 100k, about-entity and took-part-together took 3.0 of them: a cap at 3 let them in "
        "or not from run to run)",
    )
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
        default=60,
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
            report(
                [Result(**r) for r in saved["results"]],
                saved["meta"],
                [Solo(**s) for s in saved.get("solos", [])],
            ),
            encoding="utf-8",
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
    results, solos = run(
        sizes,
        clients,
        args.rounds,
        args.cap,
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
        "rounds": args.rounds,
        "cap": args.cap,
        "workers": args.workers if args.workers is not None else default_workers(),
        "timeout": args.timeout,
    }
    text = report(results, meta, solos)
    print(text)
    if not args.no_docs:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(
            json.dumps(
                {
                    "meta": meta,
                    "results": [asdict(r) for r in results],
                    "solos": [asdict(s) for s in solos],
                },
                indent=2,
            )
        )
        DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
