"""One measurement in a fresh process: ``python -m bench.probe TASK`` reads its arguments
as JSON on standard input and prints one JSON object on standard output.

Every task reports ``seconds`` (wall clock, ``time.perf_counter``, imports excluded) and
``rss_mb``: the peak resident set of this process (in-process tasks) or of the largest
process of the command's tree (``command``: ``RUSAGE_CHILDREN`` after the command is
reaped; kgraph's CLI forks a worker and reaps it, so the worker's peak is included).
A fresh process per measurement keeps one measurement's memory out of the next one's.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

Task = Callable[..., dict[str, Any]]
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
TASKS: dict[str, Task] = {}


def task(fn: Task) -> Task:
    TASKS[fn.__name__] = fn
    return fn


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


# -- commands (the CLI, plain scripts) ----------------------------------------------------


def tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _tree_pss_kb(root: int) -> int:
    """Proportional set size of the process tree: shared pages (a forked worker's copy of
    the store) are counted once, split between the processes that share them."""
    total = 0
    for pid in tree(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total


@task
def command(
    argv: list[str], cwd: str | None = None, expect: list[int] | None = None, sample: bool = False
) -> dict[str, Any]:
    """Run a command to completion; its output goes to /dev/null. Besides the largest
    process's peak (``rss_mb``), with ``sample`` the process tree's memory is sampled every
    0.1 s (``tree_mb``: the highest sum of PSS seen), for commands that fork parallel
    workers; not for the short commands, whose time the sampling would disturb."""
    sampling = sample and Path("/proc/self/smaps_rollup").exists()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree_kb = 0
    if sampling:
        while proc.poll() is None:
            tree_kb = max(tree_kb, _tree_pss_kb(proc.pid))
            time.sleep(0.1)
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    result: dict[str, Any] = {
        "seconds": seconds,
        "rss_mb": peak_mb(resource.RUSAGE_CHILDREN),
        "exit": proc.returncode,
    }
    if sampling:
        result["tree_mb"] = tree_kb / 1024
    if expect is not None and proc.returncode not in expect:
        result["error"] = f"exit {proc.returncode}: {stderr.decode(errors='replace')[-500:]}"
    return result


# -- where a command's time goes: its phases and its imports ---------------------------------

# ``python -m kgraph ARGS`` with a mark on standard error when the interpreter reaches the
# script, at each phase the command announces (kgraph.limits.phase, which the worker calls
# as each step begins, for the deadlines) and at the parent's exit. The marks are wall
# clock (time.time), so the worker's and the parent's are on one clock with the spawn.
# They go to a copy of fd 2 made first: the worker points fd 2 at /dev/null.
_MARK = "kgraph-bench-mark"
TIMED_CLI = f"""
import atexit, os, sys, time
_fd = os.dup(2)
def _mark(what):
    os.write(_fd, ("\\n{_MARK} %s %.6f\\n" % (what, time.time())).encode())
_mark("script")
import kgraph.limits as _limits
_phase = _limits.phase
def _timed(step):
    _mark("phase:" + str(step))
    _phase(step)
_limits.phase = _timed
for _m in list(sys.modules.values()):
    if getattr(_m, "phase", None) is _phase:
        _m.phase = _timed
atexit.register(_mark, "exit")
sys.argv = ["kgraph", *sys.argv[1:]]
import runpy
runpy.run_module("kgraph", run_name="__main__", alter_sys=True)
"""


def _marks(stderr: str) -> list[tuple[str, float]]:
    out = []
    for line in stderr.splitlines():
        if line.startswith(_MARK + " "):
            _, what, when = line.split()
            out.append((what, float(when)))
    return out


def timeline(argv: list[str], spawned: float, ended: float, stderr: str) -> dict[str, float]:
    """Seconds per segment of one timed run: ``start`` (spawn to the script: the
    interpreter), ``setup`` (the script to the first phase: imports, options, the worker's
    fork), then each phase to the next, the last one to the parent's exit (its mark, or
    the process's end where a command leaves without running atexit)."""
    marks = _marks(stderr)
    if not marks or marks[0][0] != "script":
        raise RuntimeError(f"no timeline from {argv[:3]}: {stderr[-300:]}")
    if marks[-1][0] != "exit":
        marks.append(("exit", ended))
    segments: dict[str, float] = {}
    previous, when = "start", spawned
    for what, at in marks:
        name = "setup" if previous == "script" else previous
        segments[name] = segments.get(name, 0.0) + max(at - when, 0.0)
        previous, when = what.removeprefix("phase:"), at
    return segments


def import_times(stderr: str) -> dict[str, float]:
    """``-X importtime``'s report as seconds per top-level package: the sum of each
    module's own time (not the cumulative, so that a package is charged for its own
    modules only, not for what they import); the values add up to the whole import time."""
    out: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        if not own.strip().isdigit():
            continue  # the header
        top = name.strip().split(".")[0]
        out[top] = out.get(top, 0.0) + int(own) / 1e6
    return out


@task
def cli_profile(
    args: list[str], cwd: str | None = None, repeat: int = 3, expect: list[int] | None = None
) -> dict[str, Any]:
    """Where ``python -m kgraph ARGS`` spends its time: ``repeat`` timed runs (the median of
    each segment, see :func:`timeline`), then as many under ``-X importtime`` (the median
    of the import total, with the heaviest packages) and ``python -X importtime -c pass``
    (the interpreter's own imports, taken off). ``-X importtime`` slows each import a
    little, so the import figure is an upper bound."""
    import statistics

    expect = [0] if expect is None else expect

    def run(argv: list[str], *, inline: bool = False) -> tuple[float, float, str]:
        env = {**os.environ, "KGRAPH_INLINE": "1"} if inline else None
        spawned = time.time()
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, check=False, env=env)
        seconds = time.perf_counter() - start
        stderr = proc.stderr.decode(errors="replace")
        if proc.returncode not in expect:
            raise RuntimeError(f"exit {proc.returncode}: {stderr[-300:]}")
        return seconds, spawned, stderr

    py = sys.executable
    walls, segments = [], []
    for _ in range(repeat):
        seconds, spawned, stderr = run([py, "-c", TIMED_CLI, *args])
        walls.append(seconds)
        segments.append(timeline(args, spawned, spawned + seconds, stderr))
    names = list(dict.fromkeys(n for s in segments for n in s))
    runs: list[dict[str, float]] = []
    for _ in range(repeat):
        # In one process (KGRAPH_INLINE=1): the worker would write its report to
        # /dev/null; it is a fork, so the same modules are imported either way.
        report = run([py, "-X", "importtime", "-m", "kgraph", *args], inline=True)[2]
        floor = import_times(run([py, "-X", "importtime", "-c", "pass"])[2])
        # The interpreter's own imports (site, encodings) are not the command's.
        runs.append({k: v - floor.get(k, 0.0) for k, v in import_times(report).items()})
    totals = [sum(r.values()) for r in runs]
    middle = runs[totals.index(statistics.median_low(totals))]
    return {
        "seconds": statistics.median(walls),
        "rss_mb": peak_mb(resource.RUSAGE_CHILDREN),
        "segments": {n: statistics.median(s.get(n, 0.0) for s in segments) for n in names},
        "imports_s": statistics.median(totals),
        "timed_runs": repeat,
        "top_imports": sorted(((k, v) for k, v in middle.items() if v > 0), key=lambda kv: -kv[1])[
            :4
        ],
    }


# -- helpers --------------------------------------------------------------------------------


def _raw_store(files: list[list[str]]) -> Any:
    """The files loaded the plain way: each into its named graph, streamed by Oxigraph."""
    import pyoxigraph as ox

    store = ox.Store()
    for path, graph in files:
        store.load(
            path=path,
            format=ox.RdfFormat.from_extension(Path(path).suffix[1:]),
            base_iri=graph,
            to_graph=ox.NamedNode(graph),
        )
    return store


def _term(nt: str) -> Any:
    import pyoxigraph as ox

    return next(
        iter(ox.parse(f"<urn:x:s> <urn:x:p> {nt} .".encode(), format=ox.RdfFormat.N_TRIPLES))
    ).object


def _substitutions(bindings: dict[str, str]) -> dict[Any, Any] | None:
    import pyoxigraph as ox

    return {ox.Variable(name): _term(value) for name, value in bindings.items()} or None


def _rows(data: bytes, form: str) -> int:
    if form == "GRAPH":
        return data.count(b"\n")
    document = json.loads(data)
    return (
        len(document["results"]["bindings"]) if "results" in document else int(document["boolean"])
    )


def _project(root: str) -> Any:
    """The project in ``root``, its verbs run in this process (the probes time the work,
    not the worker's fork)."""
    from kgraph import Project

    return Project.open(Path(root), isolated=False)


# -- load -------------------------------------------------------------------------------------


@task
def load_kgraph(root: str) -> dict[str, Any]:
    project = _project(root)
    start = time.perf_counter()
    dataset = project.dataset()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_mb": peak_mb(), "quads": len(dataset.store)}


@task
def load_raw(files: list[list[str]]) -> dict[str, Any]:
    import pyoxigraph  # noqa: F401 - imported before the clock starts

    start = time.perf_counter()
    store = _raw_store(files)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_mb": peak_mb(), "quads": len(store)}


# -- queries ----------------------------------------------------------------------------------


def _forked(
    fn: Callable[[], bytes], count: Callable[[bytes], int], runs: int, timeout: float, cheap: float
) -> dict[str, Any]:
    """A pilot run of ``fn`` (the query and its rendering, returning the bytes; ``count``
    gives the number of results, outside the timed region) in a forked child of this process
    (the loaded store is shared copy-on-write), killed after ``timeout`` seconds: a native
    query cannot be interrupted from Python, a child can. If the pilot took at most
    ``cheap`` seconds, ``runs`` timed runs follow here, warm (more for a fast query, up to
    15, for about half a second of runs); else the pilot is the figure."""
    read, write = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # the child: time the work, report, leave without cleanup
        os.close(read)
        try:
            start = time.perf_counter()
            data = fn()
            elapsed = time.perf_counter() - start
            report: dict[str, Any] = {"t": elapsed, "rows": count(data)}
        except BaseException as err:  # reported to the parent
            report = {"error": f"{type(err).__name__}: {err}"[:500]}
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    ready, _, _ = select.select([read], [], [], timeout)
    if not ready:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read)
        return {"times": [], "rows": -1, "error": f"timed out (> {timeout:.0f} s)"}
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    try:
        report = json.loads(b"".join(chunks))
    except ValueError:
        return {"times": [], "rows": -1, "error": "the run died without a result"}
    if "error" in report:
        return {"times": [], "rows": -1, "error": report["error"]}
    if report["t"] > cheap:
        return {"times": [report["t"]], "rows": report["rows"], "pilot": report["t"]}
    # Fast queries are noisy: repeat them for about half a second (at most 15 times).
    repeats = max(runs, min(15, int(0.5 / max(report["t"], 1e-4))))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        data = fn()
        times.append(time.perf_counter() - start)
        del data
    return {"times": times, "rows": report["rows"], "pilot": report["t"]}


def _raw_query(
    store: Any, q: dict[str, Any], subs: dict[Any, Any] | None, prefixes: dict[str, str]
) -> bytes:
    """A query the plain way: ``Store.query`` over the union of the named graphs, then
    Oxigraph's own serialiser (JSON for tables, N-Triples for graphs)."""
    import pyoxigraph as ox

    result = store.query(
        q["text"], use_default_graph_as_union=True, prefixes=prefixes, substitutions=subs
    )
    if q["form"] == "GRAPH":
        return ox.serialize(result, format=ox.RdfFormat.N_TRIPLES) or b""
    return bytes(result.serialize(format=ox.QueryResultsFormat.JSON))


@task
def queries_kgraph(
    root: str,
    queries: list[dict[str, Any]],
    store_dir: str | None = None,
    same_store: bool = False,
) -> dict[str, Any]:
    """Each query on one loaded dataset: the guard, the query, the rendering (JSON for
    tables, N-Triples for graphs): what ``kgraph query`` does after loading. Then the
    same query by raw pyoxigraph on the same store, if ``same_store``."""
    from kgraph.guards import check_query
    from kgraph.limits import Limits
    from kgraph.namespaces import GRAPH, PREFIXES
    from kgraph.results import capture

    limits = Limits()
    start = time.perf_counter()
    from kgraph import Project

    project = Project.open(Path(root), store=store_dir or None, limits=limits, isolated=False)
    dataset = project.dataset()
    load = time.perf_counter() - start
    # Warm the code path here, once: every timed run is a fresh fork of this process.
    capture(dataset.query("SELECT * WHERE { ?s ?p ?o } LIMIT 1"), "json")
    capture(dataset.query("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1"), "nt")
    check_query("ASK {}", max_depth=limits.max_depth, allowed_graph_prefix=GRAPH)
    out: dict[str, Any] = {}
    raw_here: dict[str, Any] = {}
    for q in queries:
        subs = _substitutions(q["bindings"])
        rows = functools.partial(_rows, form=q["form"])

        def run(q: dict[str, Any] = q, subs: dict[Any, Any] | None = subs) -> bytes:
            check_query(
                q["text"], max_depth=limits.max_depth, allowed_graph_prefix=GRAPH, source=q["name"]
            )
            result = dataset.query(q["text"], substitutions=subs, source=q["name"])
            return capture(result, "nt" if q["form"] == "GRAPH" else "json").data

        out[q["name"]] = _forked(run, rows, q["runs"], q["timeout"], q["cheap"])
        if not same_store or out[q["name"]].get("error"):
            continue

        # The same query through pyoxigraph's own API on this very store, in this process:
        # kgraph's overhead without the noise of a second store in another process.
        raw = functools.partial(_raw_query, dataset.store, q, subs, PREFIXES)
        raw_here[q["name"]] = _forked(raw, rows, q["runs"], q["timeout"], q["cheap"])
    return {"seconds": load, "rss_mb": peak_mb(), "queries": out, "same_store": raw_here}


@task
def queries_raw(
    files: list[list[str]],
    queries: list[dict[str, Any]],
    prefixes: dict[str, str],
    store_dir: str | None = None,
) -> dict[str, Any]:
    """The same query text on the same files in a plain Oxigraph store, the union of its
    named graphs as the default graph, serialised with Oxigraph's own serialisers.

    With ``store_dir``: kgraph's on-disk store opened read-only by pyoxigraph itself (the
    same quads in the same named graphs), so the cost of RocksDB is seen without kgraph."""
    import pyoxigraph as ox

    start = time.perf_counter()
    store = ox.Store.read_only(store_dir) if store_dir else _raw_store(files)
    load = time.perf_counter() - start
    store.query("SELECT * WHERE { ?s ?p ?o } LIMIT 1", use_default_graph_as_union=True).serialize(
        format=ox.QueryResultsFormat.JSON
    )
    ox.serialize(
        store.query("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", use_default_graph_as_union=True),
        format=ox.RdfFormat.N_TRIPLES,
    )
    out: dict[str, Any] = {}
    for q in queries:
        run = functools.partial(_raw_query, store, q, _substitutions(q["bindings"]), prefixes)
        out[q["name"]] = _forked(
            run, functools.partial(_rows, form=q["form"]), q["runs"], q["timeout"], q["cheap"]
        )
    return {"seconds": load, "rss_mb": peak_mb(), "queries": out}


# -- reasoning --------------------------------------------------------------------------------


class _TimedReasoner:
    """reasonable's PyReasoner with its own calls timed (``from_graph``, ``reason``), put
    in place of the class for kgraph's run, so that the run tells the reasoner's own time
    from kgraph's work around it."""

    spent: dict[str, float] = {}  # noqa: RUF012 - seconds per method, one run per process
    first_call: float | None = None  # perf_counter when kgraph first called the reasoner

    def __init__(self, real: Any) -> None:
        self._real = real()

    def _timed(self, name: str, *args: Any) -> Any:
        start = time.perf_counter()
        if _TimedReasoner.first_call is None:
            _TimedReasoner.first_call = start
        try:
            return getattr(self._real, name)(*args)
        finally:
            self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - start

    def from_graph(self, graph: Any) -> Any:
        return self._timed("from_graph", graph)

    def reason(self) -> Any:
        return self._timed("reason")


@task
def reason_kgraph(root: str) -> dict[str, Any]:
    """Load, then the OWL 2 RL closure into its graph (what ``kgraph reason`` does before
    writing its output). Besides the total: the load, the reasoner's own calls
    (``engine_s``: ``from_graph`` + ``reason``, timed around reasonable's own methods) and
    what kgraph does before them (``prepare_s``: the input collected and converted)."""
    import reasonable

    from kgraph.reasoning import materialise

    real = reasonable.PyReasoner
    reasonable.PyReasoner = functools.partial(_TimedReasoner, real)
    try:
        start = time.perf_counter()
        dataset = _project(root).dataset()
        loaded = time.perf_counter()
        graph = materialise(dataset, "owlrl")
        seconds = time.perf_counter() - start
    finally:
        reasonable.PyReasoner = real
    spent = _TimedReasoner.spent
    inferred = dataset.graph_sizes([graph])[graph] if graph else 0
    return {
        "seconds": seconds,
        "load_s": loaded - start,
        "engine_s": spent.get("from_graph", 0.0) + spent.get("reason", 0.0),
        "prepare_s": (_TimedReasoner.first_call or loaded) - loaded,
        "rss_mb": peak_mb(),
        "inferred": inferred,
    }


def _rdflib_triples(
    files: list[list[str]], *, skip_predicates: Iterable[str] = (), skip_types: Iterable[str] = ()
) -> list[tuple[Any, Any, Any]]:
    """The files as rdflib-term triples, read with Oxigraph (fast), for reasonable, without
    the triples with a predicate in ``skip_predicates`` or an rdf:type in ``skip_types``."""
    import pyoxigraph as ox
    from rdflib import BNode, Literal, URIRef

    def conv(t: Any) -> Any:
        if isinstance(t, ox.NamedNode):
            return URIRef(t.value)
        if isinstance(t, ox.BlankNode):
            return BNode(t.value)
        if t.language:
            return Literal(t.value, lang=t.language)
        return Literal(t.value, datatype=URIRef(t.datatype.value))

    predicates, types = set(skip_predicates), set(skip_types)
    triples = set()
    for path, graph in files:
        for q in ox.parse(
            path=path, format=ox.RdfFormat.from_extension(Path(path).suffix[1:]), base_iri=graph
        ):
            if q.predicate.value in predicates or (
                q.predicate.value == RDF_TYPE
                and isinstance(q.object, ox.NamedNode)
                and q.object.value in types
            ):
                continue
            triples.add((conv(q.subject), conv(q.predicate), conv(q.object)))
    return list(triples)


def _withheld() -> tuple[set[str], set[str]]:
    """The predicates and rdf:type objects kgraph withholds from reasonable (read from
    kgraph.reasoning, so that the baseline gets exactly kgraph's input)."""
    from kgraph import reasoning

    predicates = {getattr(reasoning, "_DISJOINT", "http://www.w3.org/2002/07/owl#disjointWith")}
    return predicates, set(getattr(reasoning, "_WITHHELD_TYPES", set()))


@task
def reason_engine(files: list[list[str]]) -> dict[str, Any]:
    """reasonable alone on the triples kgraph gives it (the axioms kgraph withholds are
    withheld here too); preparing that list is not timed."""
    import reasonable

    predicates, types = _withheld()
    triples = _rdflib_triples(files, skip_predicates=predicates, skip_types=types)
    start = time.perf_counter()
    reasoner = reasonable.PyReasoner()
    reasoner.from_graph(triples)
    out = reasoner.reason()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss_mb": peak_mb(),
        "closure": len(out),
        "given": len(triples),
        "withheld": sorted(predicates | types),
    }


def _rdflib_graph(files: list[list[str]]) -> Any:
    import rdflib

    graph = rdflib.Graph()
    for path, _ in files:
        graph.parse(path)
    return graph


@task
def reason_reasonable(files: list[list[str]]) -> dict[str, Any]:
    """reasonable as its README shows it: an rdflib graph of the files, ``from_graph``, ``reason``."""
    import rdflib  # noqa: F401
    import reasonable

    start = time.perf_counter()
    graph = _rdflib_graph(files)
    parsed = time.perf_counter()
    reasoner = reasonable.PyReasoner()
    reasoner.from_graph(graph)
    out = reasoner.reason()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "parse_s": parsed - start, "rss_mb": peak_mb(), "closure": len(out)}


@task
def reason_owlrl(files: list[list[str]]) -> dict[str, Any]:
    import owlrl

    start = time.perf_counter()
    graph = _rdflib_graph(files)
    parsed = time.perf_counter()
    before = len(graph)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "parse_s": parsed - start,
        "rss_mb": peak_mb(),
        "added": len(graph) - before,
    }


# -- SHACL ------------------------------------------------------------------------------------


@task
def shacl_pyshacl(files: list[list[str]], shapes: str) -> dict[str, Any]:
    """pySHACL as a user calls it: one rdflib graph of ontology + data, the shapes, no inference."""
    import pyshacl
    import rdflib

    start = time.perf_counter()
    graph = _rdflib_graph(files)
    shapes_graph = rdflib.Graph().parse(shapes)
    parsed = time.perf_counter()
    conforms, _, _ = pyshacl.validate(graph, shacl_graph=shapes_graph, inference="none")
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "parse_s": parsed - start,
        "validate_s": seconds - (parsed - start),
        "rss_mb": peak_mb(),
        "conforms": bool(conforms),
    }


# -- export -----------------------------------------------------------------------------------


@task
def validate_compiled(root: str, batch: str) -> dict[str, Any]:
    """The compiled engine against the load, in one process: load the project (time, peak
    RSS), validate every target node as the command does (``operations.judge``: time, peak
    RSS; shown beside the whole commands' ratios, which the goals judge), then the
    validation work alone of the 100-triple batch as ``add`` does it (the nodes it
    affects, with and without it), the batch parsed untimed."""
    import pyoxigraph as ox

    from kgraph.operations import judge
    from kgraph.shacl import run
    from kgraph.store import parse, read_input

    project = _project(root)
    shapes = project.shapes()
    start = time.perf_counter()
    dataset = project.dataset()
    load_s = time.perf_counter() - start
    load_mb = peak_mb()
    graphs = dataset.asserted_graphs()
    start = time.perf_counter()
    # As `kgraph validate` judges: the files' literals as written, then the compiled engine.
    report = judge(dataset, shapes)
    validate_s = time.perf_counter() - start
    validate_mb = peak_mb()
    overlay = ox.Store()
    target = ox.NamedNode("https://w3id.org/kgraph/graph/batch.nt")
    quads = parse(read_input(batch, None, project.limits), base_iri=None, limits=project.limits)
    overlay.extend(ox.Quad(q.subject, q.predicate, q.object, target) for q in quads)
    start = time.perf_counter()
    added = run.validate_batch(dataset, shapes, graphs, overlay, [target.value])
    batch_s = time.perf_counter() - start
    return {
        "seconds": validate_s,
        "rss_mb": validate_mb,
        "load_s": load_s,
        "load_mb": load_mb,
        "conforms": report.conforms,
        "findings": len(report.findings),
        "focus_nodes": report.focus_nodes,
        "batch_s": batch_s,
        "batch_focus_nodes": added.focus_nodes,
        "batch_conforms": added.conforms,
    }


@task
def export_kgraph(root: str, target: str) -> dict[str, Any]:
    project = _project(root)
    Path(target).unlink(missing_ok=True)
    start = time.perf_counter()
    project.export("nq", target=Path(target))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_mb": peak_mb(), "bytes": Path(target).stat().st_size}


@task
def export_raw(files: list[list[str]], target: str) -> dict[str, Any]:
    import pyoxigraph as ox

    start = time.perf_counter()
    store = _raw_store(files)
    store.dump(target, format=ox.RdfFormat.N_QUADS)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_mb": peak_mb(), "bytes": Path(target).stat().st_size}


@task
def export_rdflib(files: list[list[str]], target: str) -> dict[str, Any]:
    import rdflib

    start = time.perf_counter()
    dataset = rdflib.Dataset()
    for path, graph in files:
        dataset.graph(rdflib.URIRef(graph)).parse(path)
    parsed = time.perf_counter()
    dataset.serialize(destination=target, format="nquads")
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "parse_s": parsed - start,
        "rss_mb": peak_mb(),
        "bytes": Path(target).stat().st_size,
    }


def _drawn(result: Any) -> str:
    """The table ``kgraph query`` draws from a result (the worker sends TSV; the command
    line parses the rows and draws them), so the command's cost includes the table's as
    it did when the worker drew it."""
    from kgraph.cli.render import table

    return table(result.variables, result.rows())


# -- the input guards -------------------------------------------------------------------------


@task
def guards(
    root: str, query: dict[str, Any], convert: str, runs: int, validate_runs: int
) -> dict[str, Any]:
    """The shipped graph's commands in process (no worker fork), each run with the guards
    as they are and with every guard function replaced by a no-op, alternately; and the
    time spent inside the guard functions, measured by wrapping them."""
    import kgraph.guards
    from kgraph.operations import run_query
    from kgraph.queries import from_text
    from kgraph.reasoning import Profile

    project = _project(root)
    # The query's bindings are N-Triples terms already: the engine function behind
    # Project.query takes them as they are.
    canned = from_text(query["text"], name=query["name"])
    bound = {name: _term(value) for name, value in query["bindings"].items()}
    commands: dict[str, tuple[Callable[[], Any], int]] = {
        "query": (
            lambda: _drawn(run_query(project, canned, bound, fmt=None, infer=Profile.NONE)),
            runs,
        ),
        "validate": (project.validate, validate_runs),
        "convert": (lambda: project.convert(convert), runs),
    }
    originals = {name: getattr(kgraph.guards, name) for name in ("check_query", "check_rdf")}
    spent = [0.0]
    # What each guard call answered with the guards on: without them, the same call gets
    # that answer back at no cost (the engine reads the query's shape from check_query, so
    # a guard that returned None would break the command instead of skipping the check).
    answers: dict[tuple[str, Any], Any] = {}

    def key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Any] | None:
        try:
            found = (name, (args, tuple(sorted(kwargs.items()))))
            hash(found)
        except TypeError:
            return None
        return found

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                answer = fn(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - start
            k = key(name, args, kwargs)
            if k is not None:
                answers[k] = answer
            return answer

        return wrapper

    def skipped(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            k = key(name, args, kwargs)
            if k is not None and k in answers:
                return answers[k]
            return None if name == "check_rdf" else fn(*args, **kwargs)

        return wrapper

    def install(replacements: dict[str, Any]) -> None:
        # The guards are imported by name into other modules: replace every binding.
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("kgraph"):
                for name, fn in replacements.items():
                    if getattr(module, name, None) is not None and name in vars(module):
                        setattr(module, name, fn)

    out: dict[str, Any] = {}
    for name, (fn, n) in commands.items():
        fn()  # warm-up: imports and caches
        with_guards, without, inside = [], [], []
        for _ in range(n):
            install({k: timed(k, v) for k, v in originals.items()})
            spent[0] = 0.0
            start = time.perf_counter()
            fn()
            with_guards.append(time.perf_counter() - start)
            inside.append(spent[0])
            install({k: skipped(k, v) for k, v in originals.items()})
            start = time.perf_counter()
            fn()
            without.append(time.perf_counter() - start)
            install(originals)
        out[name] = {"with": with_guards, "without": without, "inside": inside}
    return {"seconds": 0.0, "rss_mb": peak_mb(), "commands": out}


def memory_limit() -> int:
    """The address-space limit of a probe (bytes): ``KGRAPH_BENCH_MAX_MEMORY``, else half the
    RAM, so that a runaway measurement fails with MemoryError instead of making the kernel
    kill other processes of a shared machine."""
    value = os.environ.get("KGRAPH_BENCH_MAX_MEMORY")
    if value:
        return int(value)
    return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * 0.5)


def main() -> None:
    limit = memory_limit()
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    name = sys.argv[1]
    kwargs = json.loads(sys.stdin.read() or "{}")
    try:
        result = TASKS[name](**kwargs)
    except MemoryError:
        result = {
            "error": f"out of memory (limit {limit // 2**20} MB of address space)",
            "rss_mb": peak_mb(),
        }
    except Exception as err:  # reported to the parent, which records it
        result = {"error": f"{type(err).__name__}: {err}"[:1000], "rss_mb": peak_mb()}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
