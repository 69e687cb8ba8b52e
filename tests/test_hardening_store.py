"""Issue 15, the store and write-path findings: batch provenance, batch names, the on-disk
store's refresh and lock, credentials, remote answers, temporary files and file names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgraph.errors import ExitStatus
from test_batches import PREFIXES, batch_files, visit, write
from test_remote import FakeStore, _basic

# -- finding 8: a batch records everything its input states ----------------------------------


def test_removing_a_batch_keeps_triples_a_later_batch_also_stated(
    kgraph, project: Path, tmp_path: Path
) -> None:
    t = visit("shared")
    u = PREFIXES + 'kgd:visit-test-shared skos:altLabel "the shared visit"@en .\n'
    a = write(tmp_path, "a.ttl", t)
    b = write(tmp_path, "b.ttl", t + u.removeprefix(PREFIXES))
    assert kgraph("add", str(a)).exit_code == ExitStatus.OK
    added = kgraph("add", str(b), "-f", "json")
    assert added.exit_code == ExitStatus.OK, added.stdout + added.stderr
    report = json.loads(added.stdout)
    assert report["batch"]["triples"] == 6  # everything B states
    assert report["newTriples"] == 1  # of which only U was new
    listed = json.loads(kgraph("batches", "-f", "json").stdout)
    [first] = [info["id"] for info in listed if info["sources"] == [a.name]]
    assert kgraph("remove", first).exit_code == ExitStatus.OK
    ask = kgraph(
        "query", "-e", "ASK { kgd:visit-test-shared kg:visitor kgd:ChoeSonHui }", "-f", "json"
    )
    assert json.loads(ask.stdout)["boolean"] is True


# -- finding 10: which batch a name picks ------------------------------------------------------


@pytest.fixture
def one_batch(kgraph, tmp_path: Path) -> dict[str, str]:
    assert kgraph("add", str(write(tmp_path, "n.ttl", visit("named")))).exit_code == 0
    [info] = json.loads(kgraph("batches", "-f", "json").stdout)
    return info


@pytest.mark.parametrize("spec", ["", " ", "last", "short"])
def test_remove_refuses_empty_suffix_and_short_names(
    kgraph, project: Path, one_batch: dict[str, str], spec: str
) -> None:
    name = {"last": one_batch["id"][-1], "short": one_batch["id"][:4]}.get(spec, spec)
    result = kgraph("remove", name)
    assert result.exit_code == ExitStatus.BAD_INPUT, result.stdout + result.stderr
    assert len(batch_files(project)) == 1


def test_remove_refuses_a_long_suffix(kgraph, project: Path, one_batch: dict[str, str]) -> None:
    # the id ends in the SHA-256's first 12 digits: a suffix of those is no prefix of either
    assert kgraph("remove", one_batch["id"][-9:]).exit_code == ExitStatus.BAD_INPUT
    assert len(batch_files(project)) == 1


@pytest.mark.parametrize("how", ["id", "prefix", "sha", "path", "absolute"])
def test_remove_accepts_id_prefix_sha_and_path(
    kgraph, project: Path, one_batch: dict[str, str], how: str
) -> None:
    spec = {
        "id": one_batch["id"],
        "prefix": one_batch["id"][:10],
        "sha": one_batch["sha256"][:8],
        "path": one_batch["path"],
        "absolute": str(project / one_batch["path"]),
    }[how]
    result = kgraph("remove", "--dry-run", spec)
    assert result.exit_code == ExitStatus.OK, result.stdout + result.stderr
    assert one_batch["id"] in result.stdout


# -- finding 9: a refresh of the on-disk store that dies part-way -----------------------------

CRASHING_REFRESH = """
import os, sys
from pathlib import Path
import pyoxigraph
from kgraph import store
from kgraph.limits import Limits
from kgraph.layout import Layout

root, folder, after = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
steps = {"n": 0}

def step(original):
    def wrapped(*args, **kwargs):
        if steps["n"] == after:
            os._exit(9)  # like kill -9: no cleanup, no exception handler runs
        steps["n"] += 1
        return original(*args, **kwargs)
    return wrapped

class Crashing:
    # every call that changes the store or its metadata is a point to die at
    def __init__(self, inner):
        self._inner = inner
    def __getattr__(self, name):
        found = getattr(self._inner, name)
        if name in ("clear", "clear_graph", "remove_graph", "load", "bulk_load", "extend", "flush"):
            return step(found)
        return found

real = pyoxigraph.Store
def opened(*args, **kwargs):
    return Crashing(real(*args, **kwargs))
opened.read_only = real.read_only
pyoxigraph.Store = opened
store.write_store_meta = step(store.write_store_meta)
store.Dataset.open(Layout(root), limits=Limits(), store_dir=folder)
print(steps["n"])
"""

ALL_TRIPLES = "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g ?s ?p ?o"


def _answers(kgraph, *store: str) -> str:
    result = kgraph(*store, "query", "-e", ALL_TRIPLES, "-f", "tsv")
    assert result.exit_code == ExitStatus.OK, result.stderr
    return result.stdout


def test_refresh_killed_at_any_step_is_repaired_by_the_next_run(
    kgraph, project: Path, tmp_path: Path
) -> None:
    """Kill the refresh at every step that changes the store (simulated kill -9): the next
    run answers exactly as a fresh in-memory load does."""
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "store"
    shrinking = write(project / "data", "extra-1.ttl", visit("one") + visit("two"))
    _answers(kgraph, "--store", str(folder))  # build it
    # Three files change: one loses triples (they must vanish), two are new.
    shrinking.write_text(visit("one"))
    write(project / "data", "extra-2.ttl", visit("three"))
    write(project / "data", "extra-3.ttl", visit("four"))
    expected = _answers(kgraph)
    pristine = tmp_path / "pristine"
    shutil.copytree(folder, pristine)

    def refresh(after: int) -> subprocess.CompletedProcess[str]:
        shutil.rmtree(folder)
        shutil.copytree(pristine, folder)
        return subprocess.run(
            [sys.executable, "-c", CRASHING_REFRESH, str(project), str(folder), str(after)],
            capture_output=True,
            text=True,
        )

    whole = refresh(-1)
    assert whole.returncode == 0, whole.stderr
    steps = int(whole.stdout)
    assert steps >= 6  # the metadata twice, a clear, three loads, a flush
    for after in range(steps):
        assert refresh(after).returncode == 9
        assert _answers(kgraph, "--store", str(folder)) == expected, f"killed at step {after}"


# -- the store lock: concurrent commands after a change wait for the refresh ------------------


def test_concurrent_commands_after_a_change_all_get_the_fresh_store(
    kgraph, project: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    folder = tmp_path / "store"
    _answers(kgraph, "--store", str(folder))
    write(project / "data", "late.ttl", visit("late"))
    ask = "ASK { kgd:visit-test-late a kg:Visit }"
    command = [sys.executable, "-m", "kgraph", "--project", str(project), "--store", str(folder)]
    running = [
        subprocess.Popen(
            [*command, "query", "-e", ask], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(8)
    ]
    outcomes = [(p.wait(timeout=300), *p.communicate()) for p in running]
    assert [(code, out) for code, out, _ in outcomes] == [(0, b"true\n")] * 8, outcomes


def test_store_lock_wait_is_bounded_and_names_the_option(tmp_path: Path) -> None:
    """A command that cannot get the store's lock gives up with exit 3 after its bound."""
    import fcntl
    import os

    from kgraph.errors import Setting, StorageError
    from kgraph.store import STORE_LOCK, store_lock

    folder = tmp_path / "store"
    folder.mkdir()
    fd = os.open(folder / STORE_LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        # The library names the setting; the CLI names its flag (--work-timeout).
        with pytest.raises(StorageError, match="raise the work timeout") as caught:
            store_lock(folder, exclusive=False, wait=0.2)
        assert caught.value.status == ExitStatus.REMOTE_OR_IO
        assert caught.value.setting is Setting.WORK_TIMEOUT
    finally:
        os.close(fd)


# -- a --store whose creation failed (a full disk) is not refused for ever ---------------------


FAILING_CREATION = """
import errno, sys
from pathlib import Path
from kgraph import store
from kgraph.errors import StorageError
from kgraph.limits import Limits
from kgraph.layout import Layout

def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")

# the disk fills up while the store is loaded, or already when its metadata is written
if sys.argv[3] == "load":
    store._load_file = disk_full
else:
    store.write_store_meta = disk_full
try:
    store.Dataset.open(Layout(Path(sys.argv[1])), limits=Limits(), store_dir=Path(sys.argv[2]))
except (StorageError, OSError):
    sys.exit(3)
"""


@pytest.mark.parametrize("where", ["load", "meta"])
def test_store_creation_failing_is_retried_by_the_next_run(
    kgraph, project: Path, tmp_path: Path, where: str
) -> None:
    import subprocess
    import sys

    folder = tmp_path / "store"
    failed = subprocess.run(
        [sys.executable, "-c", FAILING_CREATION, str(project), str(folder), where],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 3, failed.stderr
    assert _answers(kgraph, "--store", str(folder)) == _answers(kgraph)


# -- finding 13: transitive chains are bounded at the gate -------------------------------------


def chain(
    length: int, *, tag: str = "p", top: str = "kgd:Russia", prop: str = "kg:locatedIn"
) -> str:
    """Places p0 in p1 in ... in p<length-1> in ``top``."""
    lines = [PREFIXES]
    for i in range(length):
        up = f"kgd:{tag}{i + 1}" if i + 1 < length else top
        lines.append(
            f'kgd:{tag}{i} a kg:Region ; skos:prefLabel "Place {tag}{i}"@en ; {prop} {up} .\n'
        )
    return "".join(lines)


def test_add_refuses_a_long_located_in_chain_quickly(
    kgraph, project: Path, tmp_path: Path, snapshot
) -> None:
    import time

    from kgraph.chains import MAX_REACH

    before = snapshot(project / "data")
    started = time.monotonic()
    result = kgraph("add", str(write(tmp_path, "chain.ttl", chain(1000))))
    assert result.exit_code == ExitStatus.LIMIT, result.stdout + result.stderr
    assert f"longer than {MAX_REACH}" in result.stderr and "kg:locatedIn" in result.stderr
    assert result.stderr.count("\n") == 1
    assert time.monotonic() - started < 60  # the old code went on to validate (and reason)
    assert snapshot(project / "data") == before


def test_add_accepts_a_shallow_place_hierarchy(kgraph, project: Path, tmp_path: Path) -> None:
    result = kgraph("add", str(write(tmp_path, "shallow.ttl", chain(8))))
    assert result.exit_code == ExitStatus.OK, result.stdout + result.stderr


def test_a_chain_grown_batch_by_batch_is_refused_at_the_bound(
    kgraph, project: Path, tmp_path: Path
) -> None:
    """Each batch alone is short: the bound applies to the graph plus the batch, at both ends."""
    from kgraph.chains import MAX_REACH

    half = MAX_REACH // 2
    assert kgraph("add", str(write(tmp_path, "a.ttl", chain(half, tag="a")))).exit_code == 0
    # above the first chain's top: kgd:a0 would now reach both chains
    # (the top is described: the closed door refuses a place nothing describes first)
    upper = (
        chain(half + 2, tag="b", top="kgd:Asia")
        + 'kgd:Asia a kg:Region ; skos:prefLabel "Asia"@en .\n'
        + "kgd:Russia kg:locatedIn kgd:b0 .\n"
    )
    refused = kgraph("add", str(write(tmp_path, "b.ttl", upper)))
    assert refused.exit_code == ExitStatus.LIMIT, refused.stdout + refused.stderr
    # below the first chain's bottom
    lower = chain(half + 2, tag="c", top="kgd:a0")
    refused = kgraph("add", str(write(tmp_path, "c.ttl", lower)))
    assert refused.exit_code == ExitStatus.LIMIT, refused.stdout + refused.stderr


@pytest.mark.parametrize("how", ["sub-property", "own transitive property", "sameAs"])
def test_chains_of_other_transitive_properties_are_bounded_too(
    kgraph, tmp_path: Path, how: str
) -> None:
    if how == "sub-property":
        text = chain(200, prop="kgd:inside") + "kgd:inside rdfs:subPropertyOf kg:locatedIn .\n"
    elif how == "own transitive property":
        text = chain(200, prop="kgd:inside") + "kgd:inside a owl:TransitiveProperty .\n"
    else:
        text = chain(200, prop="owl:sameAs")
    text = (
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n" + text
    )
    result = kgraph("add", str(write(tmp_path, "other.ttl", text)))
    assert result.exit_code == ExitStatus.LIMIT, result.stdout + result.stderr


# -- finding 7 and the remote Low findings: credentials, URLs, answers --------------------------


@pytest.fixture
def store_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("KGRAPH_STORE_TOKEN", "KGRAPH_STORE_USER", "KGRAPH_STORE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("KGRAPH_STORE_HOST", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    return monkeypatch


@pytest.fixture
def stores():
    """Make fake Graph Stores (tests/test_remote.py), closed at the end."""
    made: list[FakeStore] = []

    def make(**options):  # type: ignore[no-untyped-def]
        made.append(FakeStore(**options))
        return made[-1]

    yield make
    for store in made:
        store.close()


@pytest.fixture
def two_stores():
    made = [FakeStore(), FakeStore()]
    yield made
    for store in made:
        store.close()


def _sent_auth(store: FakeStore) -> set[str | None]:
    return {r["headers"].get("Authorization") for r in store.requests}


def test_token_goes_to_the_push_host_only(kgraph, store_env, two_stores) -> None:
    push_to, elsewhere = two_stores
    store_env.setenv("KGRAPH_STORE_TOKEN", "t0ken")
    # elsewhere: another port of the same host is another origin
    pushed = kgraph("push", push_to.base + "/store", "--query-endpoint", elsewhere.base + "/query")
    assert push_to.requests and elsewhere.requests
    assert _sent_auth(push_to) == {"Bearer t0ken"}
    assert _sent_auth(elsewhere) == {None}
    assert "t0ken" not in pushed.stdout + pushed.stderr
    queried = kgraph("query", "-e", "ASK { ?s ?p ?o }", "--endpoint", elsewhere.base + "/query")
    assert _sent_auth(elsewhere) == {None}, queried.stderr
    # unless the user names that host
    store_env.setenv("KGRAPH_STORE_HOST", elsewhere.base)
    kgraph("query", "-e", "ASK { ?s ?p ?o }", "--endpoint", elsewhere.base + "/query")
    assert _sent_auth(elsewhere) == {None, "Bearer t0ken"}


def test_derived_query_endpoint_on_the_same_origin_gets_the_token(
    kgraph, store_env, two_stores
) -> None:
    push_to, _ = two_stores
    store_env.setenv("KGRAPH_STORE_USER", "bob")
    store_env.setenv("KGRAPH_STORE_PASSWORD", "pw")
    assert kgraph("push", push_to.base + "/store").exit_code == ExitStatus.OK
    assert {r["path"] for r in push_to.requests} == {"/store", "/query"}
    assert _sent_auth(push_to) == {_basic("bob", "pw")}


def test_a_withheld_token_is_explained_on_401(kgraph, store_env, stores) -> None:
    guarded = stores(auth="Bearer t0ken")
    store_env.setenv("KGRAPH_STORE_TOKEN", "t0ken")
    result = kgraph("query", "-e", "ASK { ?s ?p ?o }", "--endpoint", guarded.base + "/query")
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    assert "KGRAPH_STORE_HOST" in result.stderr and "t0ken" not in result.stderr


@pytest.mark.parametrize(
    "netrc_text",
    [
        "machine 127.0.0.1 login alice s3cretpw\n",
        "machine 127.0.0.1 login alice passwd s3cretpw\n",
        "machine 127.0.0.1 s3cretpw\n",
    ],
)
def test_broken_netrc_never_prints_the_password(
    kgraph, store_env, stores, tmp_path: Path, netrc_text: str
) -> None:
    store = stores()
    netrc = tmp_path / "netrc"
    netrc.write_text(netrc_text)
    store_env.setenv("NETRC", str(netrc))
    result = kgraph("push", store.base + "/store")
    assert "s3cretpw" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if result.exit_code != ExitStatus.OK:
        assert result.exit_code == ExitStatus.BAD_INPUT
        assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("variable", ["KGRAPH_STORE_TOKEN", "KGRAPH_STORE_PASSWORD"])
@pytest.mark.parametrize("tail", ["\r", "\n", "\r\nX-Injected: 1"])
def test_credential_with_a_line_break_is_refused_without_echo(
    kgraph, store_env, stores, variable: str, tail: str
) -> None:
    store = stores()
    store_env.setenv("KGRAPH_STORE_USER", "bob")
    store_env.setenv(variable, "s3cretpw" + tail)
    if variable == "KGRAPH_STORE_TOKEN":
        store_env.delenv("KGRAPH_STORE_USER")
    result = kgraph("push", store.base + "/store")
    assert result.exit_code == ExitStatus.BAD_INPUT, result.stderr
    assert variable in result.stderr and "s3cretpw" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert store.requests == []


@pytest.mark.parametrize("bad", ["\r\nX-Injected: 1", "\n", "\t", " x", "\x7f", "é"])
@pytest.mark.parametrize("command", ["push", "query"])
def test_endpoint_url_with_control_characters_is_refused(
    kgraph, store_env, stores, bad: str, command: str
) -> None:
    store = stores()
    url = store.base + "/store" + bad
    if command == "push":
        result = kgraph("push", url)
    else:
        result = kgraph("query", "-e", "ASK { ?s ?p ?o }", "--endpoint", url)
    assert result.exit_code == ExitStatus.BAD_INPUT, result.stderr
    assert result.stderr.count("\n") == 1 and "X-Injected" not in result.stderr
    assert store.requests == []


class Answering(FakeStore):
    """A SPARQL endpoint that gives one fixed answer to every query."""

    def __init__(self, body: bytes, ctype: str = "application/sparql-results+json") -> None:
        self.body, self.ctype = body, ctype
        super().__init__()

    def handle(self, h) -> None:  # type: ignore[no-untyped-def]
        length = int(h.headers.get("Content-Length") or 0)
        h.rfile.read(length)
        self.requests.append({"path": h.path, "headers": dict(h.headers)})
        self.reply(h, 200, self.body, ctype=self.ctype)


def test_boolean_false_as_a_string_is_not_true(kgraph, store_env) -> None:
    endpoint = Answering(b'{"head": {}, "boolean": "false"}')
    try:
        result = kgraph("query", "timeline", "--infer", "owlrl", "--endpoint", endpoint.base + "/q")
    finally:
        endpoint.close()
    assert result.exit_code == ExitStatus.REMOTE_OR_IO, result.stdout + result.stderr
    assert "not SPARQL JSON" in result.stderr
    assert len(endpoint.requests) == 1  # the query itself was never sent


SELECT_HEAD = b'{"head": {"vars": ["s"]}, "results": {"bindings": ['


@pytest.mark.parametrize(
    "body",
    [
        SELECT_HEAD
        + b'{"s": {"type": "uri", "value": "urn:a"}}, {"s": {"type": "bogus", "value": "x"}}]}}',
        SELECT_HEAD + b'{"s": {"type": "uri", "value": "urn:a"}}',
        b"[" * 200_000,
        b"\xff\xfe\x00",
    ],
    ids=["bad-second-row", "cut-short", "deep", "not-utf8"],
)
@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_malformed_results_are_one_line_exit_3(kgraph, store_env, body: bytes, fmt: str) -> None:
    endpoint = Answering(body)
    try:
        result = kgraph(
            "query",
            "-e",
            "SELECT ?s WHERE { ?s ?p ?o }",
            "--endpoint",
            endpoint.base + "/q",
            "-f",
            fmt,
        )
    finally:
        endpoint.close()
    assert result.exit_code == ExitStatus.REMOTE_OR_IO, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert result.stdout == ""


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 50_000,  # deep nesting, under the 64 KB cap on answers kgraph inspects
        b'{"results": {"bindings": [{"n": {"value": true}}]}}',
        b'{"results": {"bindings": [{"n": {"value": "-3"}}]}}',
        b'{"results": {"bindings": "many"}}',
    ],
)
def test_malformed_count_answers_are_one_line_exit_3(
    kgraph, store_env, stores, body: bytes
) -> None:
    gsp = stores()
    counter = Answering(body)
    try:
        result = kgraph("push", gsp.base + "/store", "--query-endpoint", counter.base + "/q")
    finally:
        counter.close()
    assert result.exit_code == ExitStatus.REMOTE_OR_IO, result.stdout + result.stderr
    assert "not" in result.stderr and result.stderr.count("\n") == 1


# -- temporaries: only a gone writer's are cleaned ---------------------------------------------


def test_batches_keeps_a_live_writers_temporary_and_removes_a_dead_ones(
    kgraph, project: Path
) -> None:
    import subprocess
    import sys

    from kgraph.fsutil import TMP_PREFIX, temp_path_for

    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    finished = subprocess.run([sys.executable, "-c", "pass"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert finished.returncode == 0
    try:
        own = temp_path_for(project / "data" / "export.nq")  # this process: still writing
        live = project / "data" / f"{TMP_PREFIX}p{writer.pid}-0123456789ab-export.nq"
        dead = project / "data" / f"{TMP_PREFIX}p{gone.pid}-0123456789ab-export.nq"
        for path in (own, live, dead):
            path.write_bytes(b"<urn:a> <urn:b> <urn:c> .\n")
        assert kgraph("batches").exit_code == ExitStatus.OK
        assert own.exists() and live.exists()
        assert not dead.exists()
    finally:
        writer.kill()
        writer.wait()
    assert kgraph("batches").exit_code == ExitStatus.OK
    assert not live.exists()


# -- file names that are not IRI characters; a bad --source ------------------------------------


@pytest.mark.parametrize(
    "name", ["my file.ttl", "50%.ttl", "50%41.ttl", "a#b.ttl", "q?.ttl", "[x].ttl"]
)
def test_data_file_names_are_percent_encoded_in_graph_iris(
    kgraph, project: Path, name: str
) -> None:
    from urllib.parse import unquote

    from kgraph.namespaces import GRAPH

    write(project / "data", name, visit("named-file"))
    stats = kgraph("stats", "-f", "json")
    assert stats.exit_code == ExitStatus.OK, stats.stderr
    graphs = {g: f for g, f, _ in json.loads(stats.stdout)["graphs"]}
    [graph] = [g for g, f in graphs.items() if f == f"data/{name}"]
    assert unquote(graph.removeprefix(GRAPH)) == f"data/{name}"  # one file, one graph, reversible
    void = kgraph("stats", "-f", "turtle")
    assert void.exit_code == ExitStatus.OK, void.stderr
    import pyoxigraph as ox

    described = {
        q.object.value
        for q in ox.parse(void.output_bytes, format=ox.RdfFormat.TURTLE)
        if q.predicate.value.endswith("sparql-service-description#name")
    }
    assert graph in described
    for command in (("validate",), ("export", "-f", "nq"), ("check",)):
        result = kgraph(*command)
        assert "internal error" not in result.stderr, result.stderr
        assert result.exit_code in (ExitStatus.OK, ExitStatus.FINDINGS), result.stderr
    pushed = kgraph("push", "http://127.0.0.1:9/store", "--graph", f"data/{name}", "--dry-run")
    assert pushed.exit_code == ExitStatus.OK, pushed.stderr
    assert graph in pushed.stdout


def test_blank_nodes_of_an_oddly_named_file_get_valid_skolem_iris(kgraph, project: Path) -> None:
    write(
        project / "data",
        "with blank 100%.ttl",
        visit("b") + "kgd:visit-test-b kg:note [ a kg:Note ] .\n",
    )
    result = kgraph("export", "-f", "nq")
    assert "internal error" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    "source", ["http://[::1", "a:b%zz", "urn:x y", "http://ok.example/%", "title: the report"]
)
def test_odd_sources_are_recorded_as_text(kgraph, tmp_path: Path, source: str) -> None:
    result = kgraph("add", str(write(tmp_path, "s.ttl", visit("s"))), "--source", source)
    assert result.exit_code == ExitStatus.OK, result.stderr
    [info] = json.loads(kgraph("batches", "-f", "json").stdout)
    assert info["source"] == source


@pytest.mark.parametrize("source", ["line\nbreak", "\x1b[2J", " ", "bad \udcff utf-8"])
def test_unprintable_sources_are_refused_with_one_line(
    kgraph, project: Path, tmp_path: Path, source: str
) -> None:
    result = kgraph("add", str(write(tmp_path, "s.ttl", visit("s"))), "--source", source)
    assert result.exit_code == ExitStatus.BAD_INPUT, result.stderr
    assert "--source" in result.stderr and result.stderr.count("\n") == 1
    assert batch_files(project) == []
