"""Real triple stores for the tests: Oxigraph's server, Virtuoso and Jena TDB2.

Each runs on 127.0.0.1 on a free port with a fresh folder and is stopped after. A store
that is not installed makes its tests skip with the reason, except under CI (the ``CI``
environment variable set), where ``.ci/run`` installs them and a missing one fails.

* Oxigraph: the ``oxigraph`` binary the ``oxigraph`` package puts next to Python.
* Virtuoso 7.2: Debian's ``virtuoso-opensource`` (``virtuoso-t``, ``isql-vt``), configured
  by a virtuoso.ini written here (ports, ``DirsAllowed`` for the bulk loader,
  ``ResultSetMaxRows``), then ``GRANT SPARQL_UPDATE TO "SPARQL"`` through isql so that
  ``/sparql-graph-crud`` takes writes (``/sparql-graph-crud-auth`` takes them from ``dba``
  with HTTP Digest without any grant).
* Jena 4.5: Debian's ``libapache-jena-java`` jars, which come without Fuseki and without
  wrapper scripts; every command fails first in ``xerces.impl.dv.SchemaDVFactory``
  ("internal error") because the jars moved Xerces' classes to ``xerces.*`` but left its
  message bundles under ``org/apache/jena/ext/xerces/``. The work-around is a class-path
  folder holding those bundles under ``xerces/impl/...`` (:func:`jena_classpath`). Data goes
  in with ``tdb2.tdbloader``; queries through ``JenaQueryServer.java`` (next to this file).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from servers import free_port, stop, wait_http

HERE = Path(__file__).resolve().parent
OXIGRAPH = Path(sys.executable).parent / "oxigraph"
JAVA_DIR = Path("/usr/share/java")
JENA_VERSION = "4.5.0"
# Jena's jars and the Debian jars they need at run time (libapache-jena-java's Depends).
JENA_DEPENDENCIES = [
    "commons-cli",
    "commons-codec",
    "commons-compress",
    "commons-csv",
    "commons-io",
    "commons-lang3",
    "gson",
    "guava",
    "httpclient",
    "httpcore",
    "jackson-core",
    "jackson-databind",
    "jsonld-java",
    "slf4j-api",
    "slf4j-nop",
    "titanium-json-ld",
    "dexx.collection",
    "jakarta.json-api",
    "thrift",
    "protobuf",
]


def missing(what: str) -> None:
    """Skip the test for lack of ``what``; under CI it fails instead (CI installs it)."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not installed, and CI is set (.ci/run installs it)")
    pytest.skip(f"{what} is not installed (.ci/run installs it)")


class Store:
    """What the tests need of a store: where to push and where to query."""

    name = "store"
    push_url = ""
    query_endpoint = ""

    def stop(self) -> None:
        raise NotImplementedError


class OxigraphServer(Store):
    name = "oxigraph"

    def __init__(self, folder: Path, *, union_default_graph: bool = False) -> None:
        if not OXIGRAPH.exists():
            missing(f"the oxigraph server ({OXIGRAPH})")
        self.folder = folder
        self.union = union_default_graph
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [OXIGRAPH, "serve", "--location", self.folder, "--bind", f"127.0.0.1:{self.port}"]
            + (["--union-default-graph"] if self.union else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(self.base + "/", self.process, "oxigraph serve", None)
        self.push_url, self.query_endpoint = self.base + "/store", self.base + "/query"

    def stop(self) -> None:
        stop(self.process)

    def kill(self) -> None:
        """SIGKILL, as a crash: no chance to flush or answer."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def dump(self) -> list[str]:
        """The whole store as sorted N-Quads lines."""
        req = urllib.request.Request(
            self.base + "/store", headers={"Accept": "application/n-quads"}
        )
        with urllib.request.urlopen(req, timeout=30) as answer:
            return sorted(answer.read().decode().splitlines())

    def add(self, graph: str, ntriples: str) -> None:
        """POST N-Triples into ``graph`` through the Graph Store protocol."""
        req = urllib.request.Request(
            f"{self.base}/store?graph={graph}",
            data=ntriples.encode(),
            method="POST",
            headers={"Content-Type": "application/n-triples"},
        )
        urllib.request.urlopen(req, timeout=30).close()

    def bulk_load(self, nquads: Path) -> float:
        """Seconds for the offline loader (the server is stopped meanwhile)."""
        self.stop()
        started = time.perf_counter()
        subprocess.run(
            [OXIGRAPH, "load", "--location", self.folder, "--file", nquads],
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - started
        self.start()
        return seconds


VIRTUOSO_INI = """\
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{sql}
DisableUnixSocket = 1
; the bulk loader (ld_dir) reads only from these folders
DirsAllowed = ., {d}/load
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
ThreadsPerQuery = 2
VADInstallDir = /usr/share/virtuoso-opensource-7/vad/

[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = /var/lib/virtuoso-opensource-7/vsp
ServerThreads = 4
MaxClientConnections = 4

[SPARQL]
; Debian's default is 10000: a larger answer is cut, signalled only by X-SPARQL-MaxRows
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 120
"""

VIRTUOSO_GRANTS = (
    # /sparql-graph-crud and SPARQL updates run as the SQL user "SPARQL"
    'GRANT SPARQL_UPDATE TO "SPARQL";',
    # the bulk loader's bookkeeping (load_list) and rdf_loader_run run as dba: no grant
)


class Virtuoso(Store):
    name = "virtuoso"

    def __init__(self, folder: Path, *, max_rows: int = 10000) -> None:
        if not shutil.which("virtuoso-t") or not shutil.which("isql-vt"):
            missing("Virtuoso (apt-get install virtuoso-opensource)")
        self.folder = folder
        (folder / "load").mkdir(parents=True, exist_ok=True)
        self.sql_port, self.http_port = free_port(), free_port()
        self.max_rows = max_rows
        ini = folder / "virtuoso.ini"
        ini.write_text(
            VIRTUOSO_INI.format(d=folder, sql=self.sql_port, http=self.http_port, max_rows=max_rows)
        )
        self.log = folder / "stdout.log"
        with open(self.log, "wb") as out:
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                ["virtuoso-t", "+foreground", "+configfile", str(ini)],
                cwd=folder,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{self.http_port}"
        wait_http(base + "/sparql", self.process, "virtuoso-t", self.log)
        for grant in VIRTUOSO_GRANTS:
            self.isql(grant)
        self.push_url = base + "/sparql-graph-crud"
        self.auth_push_url = base + "/sparql-graph-crud-auth"
        self.query_endpoint = base + "/sparql"

    def isql(self, *statements: str) -> str:
        """Run SQL as dba (the password of a fresh database is dba)."""
        script = "\n".join(statements) + "\n"
        done = subprocess.run(
            ["isql-vt", f"127.0.0.1:{self.sql_port}", "dba", "dba"],
            input=script.encode(),
            capture_output=True,
            timeout=600,
        )
        text = done.stdout.decode(errors="replace")
        if done.returncode or "*** Error" in text:
            raise AssertionError(f"isql failed: {text[-800:]} {done.stderr.decode()[-400:]}")
        return text

    def bulk_load(self, nquads: Path) -> float:
        """Seconds for ld_dir + rdf_loader_run + checkpoint on a (gzipped) N-Quads file."""
        shutil.copy(nquads, self.folder / "load" / nquads.name)
        started = time.perf_counter()
        self.isql(
            f"ld_dir('{self.folder / 'load'}', '{nquads.name}', 'https://w3id.org/kgraph/graph/');",
            "rdf_loader_run();",
            "checkpoint;",
        )
        return time.perf_counter() - started

    def stop(self) -> None:
        stop(self.process)


def jena_classpath(folder: Path) -> str:
    """Jena's class path with the work-around for the Debian jars' misplaced resources:
    the Xerces message bundles copied from ``org/apache/jena/ext/xerces/`` to ``xerces/``,
    where the relocated classes look for them."""
    jars = [JAVA_DIR / f"jena-{part}-{JENA_VERSION}.jar" for part in _JENA_PARTS]
    jars += [JAVA_DIR / f"{name}.jar" for name in JENA_DEPENDENCIES]
    absent = [j.name for j in jars if not j.exists()]
    if absent:
        missing(f"Jena (apt-get install libapache-jena-java; no {', '.join(absent[:3])})")
    if not shutil.which("java"):
        missing("java")
    resources = folder / "jena-resources"
    prefix = "org/apache/jena/ext/xerces/"
    with zipfile.ZipFile(JAVA_DIR / f"jena-core-{JENA_VERSION}.jar") as jar:
        for entry in jar.namelist():
            if entry.startswith(prefix) and entry.endswith(".properties"):
                target = resources / "xerces" / entry[len(prefix) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(jar.read(entry))
    return os.pathsep.join([str(resources), *map(str, jars)])


_JENA_PARTS = [
    "arq",
    "base",
    "cmds",
    "core",
    "dboe-base",
    "dboe-index",
    "dboe-storage",
    "dboe-trans-data",
    "dboe-transaction",
    "iri",
    "rdfconnection",
    "shacl",
    "shex",
    "tdb",
    "tdb2",
]


class Jena(Store):
    """A TDB2 database loaded with ``tdb2.tdbloader``, queried through JenaQueryServer."""

    name = "jena"

    def __init__(self, folder: Path) -> None:
        if not shutil.which("javac"):
            missing("a JDK (javac), to run tests/JenaQueryServer.java")
        self.folder = folder
        self.classpath = jena_classpath(folder)
        self.database = folder / "tdb2"
        self.process: subprocess.Popen[bytes] | None = None

    def bulk_load(self, nquads: Path) -> float:
        started = time.perf_counter()
        subprocess.run(
            ["java", "-cp", self.classpath, "tdb2.tdbloader", "--loc", self.database, nquads],
            check=True,
            capture_output=True,
            timeout=900,
        )
        return time.perf_counter() - started

    def start(self) -> None:
        port = free_port()
        self.log = self.folder / "jena.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [
                    "java",
                    "-Xmx1g",
                    "-cp",
                    self.classpath,
                    str(HERE / "JenaQueryServer.java"),
                    str(self.database),
                    str(port),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.query_endpoint = f"http://127.0.0.1:{port}/sparql"
        wait_http(self.query_endpoint, self.process, "JenaQueryServer", self.log)

    def stop(self) -> None:
        stop(self.process)


@contextmanager
def pushed_virtuoso(folder: Path, kgraph: Callable[..., Any]) -> Iterator[str]:
    """A Virtuoso in ``folder`` holding the project ``kgraph`` runs on (pushed with it), for
    the duration: its query endpoint. Virtuoso rewrites the shipped graph's one xsd:duration
    (test_stores.py), which push reports; anything else is a failed push."""
    import pytest

    store = Virtuoso(folder)
    try:
        pushed = kgraph("push", store.push_url)
        if pushed.exit_code != 0 and '"3.6288e+06"^^' not in pushed.stderr:
            pytest.fail(f"push to Virtuoso failed: {pushed.stderr}")
        yield store.query_endpoint
    finally:
        store.stop()
