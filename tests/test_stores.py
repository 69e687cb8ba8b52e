"""The same answers on real stores: Oxigraph's server, Virtuoso 7.2 and Jena TDB2.

Every canned query (with and without its example parameters, as tests/test_queries.py
runs them) goes to each store through ``kgraph query --endpoint`` over the shipped graph,
and its rows must equal the local rows. The stores come from tests/stores.py; a store that
is not installed skips (fails under CI).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import ROOT, Run, invoke
from kgraph.queries import CannedQuery, load_query
from stores import Jena, OxigraphServer, Store, Virtuoso

pytestmark = pytest.mark.server

QUERY_FILES = sorted((ROOT / "queries").glob("*.rq"))
CASES = [(p.stem, False) for p in QUERY_FILES] + [
    (p.stem, True) for p in QUERY_FILES if load_query(p).params
]
CASE_IDS = [f"{name}{'-example' if example else ''}" for name, example in CASES]
STORE_KINDS = ("oxigraph", "virtuoso", "jena")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("stores") / "project"
    for name in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("batches", ".*"))
    return target


@pytest.fixture(scope="module")
def kg(shipped: Path) -> Callable[..., Run]:
    def run(*args: str) -> Run:
        return invoke(["--project", str(shipped), *args])

    return run


@pytest.fixture(scope="module")
def local(kg: Callable[..., Run]) -> Callable[..., Run]:
    done: dict[tuple[str, ...], Run] = {}

    def run(*args: str) -> Run:
        if args not in done:
            done[args] = kg(*args)
        return done[args]

    return run


def example_args(query: CannedQuery) -> list[str]:
    args: list[str] = []
    for param in query.params:
        args += ["-p", param.name, str(param.example)]
    return args


def start_store(kind: str, folder: Path, kg: Callable[..., Run], shipped: Path) -> Store:
    if kind == "oxigraph":
        store: Store = OxigraphServer(folder)
    elif kind == "virtuoso":
        store = Virtuoso(folder)
    else:
        jena = Jena(folder)
        dump = folder / "shipped.nq"
        exported = kg("export", "-f", "nq", "-o", str(dump))
        assert exported.exit_code == 0, exported.stderr
        jena.bulk_load(dump)
        jena.start()
        return jena
    pushed = kg("push", store.push_url)
    if pushed.exit_code != 0:
        store.stop()
        pytest.fail(f"push to {kind} failed: {pushed.stderr}")
    return store


@pytest.fixture(scope="module", params=STORE_KINDS)
def store(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    kg: Callable[..., Run],
    shipped: Path,
) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp(request.param)
    server = start_store(request.param, folder, kg, shipped)
    yield server
    server.stop()


def rows(output: str) -> tuple[str, list[str]]:
    lines = output.splitlines()
    return (lines[0] if lines else ""), sorted(lines[1:])


@pytest.mark.parametrize(("name", "example"), CASES, ids=CASE_IDS)
def test_canned_query_gives_the_local_rows(
    store: Store, local: Callable[..., Run], kg: Callable[..., Run], name: str, example: bool
) -> None:
    query = load_query(ROOT / "queries" / f"{name}.rq")
    args = ["query", name, *(example_args(query) if example else []), "-f", "tsv"]
    here = local(*args)
    assert here.exit_code == 0, here.stderr
    there = kg(*args, "--endpoint", store.query_endpoint)
    assert there.exit_code == 0, f"{store.name}: {there.stderr}"
    assert_same_rows(store.name, there.stdout, here.stdout)


def assert_same_rows(where: str, there: str, here: str) -> None:
    """The same header and the same rows (as multisets); the message names the first
    rows that differ."""
    (head_there, got), (head_here, want) = rows(there), rows(here)
    assert head_there == head_here, f"{where}: columns {head_there!r}, locally {head_here!r}"
    if got != want:
        missing = [r for r in want if r not in got][:3]
        extra = [r for r in got if r not in want][:3]
        pytest.fail(
            f"{where}: {len(got)} rows, locally {len(want)}; missing {missing}; extra {extra}",
            pytrace=False,
        )
