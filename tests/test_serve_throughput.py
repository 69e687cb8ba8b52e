"""What `kgraph serve` does for the throughput of its queries (issue 12).

The store it reads is compacted before the first query: a store kgraph built holds one
set of table files per bulk load and the small runs of its transactional writes, which
every read merges (see kgraph.server.backend.compact_store for what was measured)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from serving import KGRAPH, request, start

pytestmark = pytest.mark.server

QUADS = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


def tables(store: Path) -> set[str]:
    """The store's RocksDB table files: a compaction replaces them by new ones."""
    return {path.name for path in store.glob("*.sst")}


def quads(project: Path, store: Path) -> str:
    return subprocess.run(
        [*KGRAPH, "-q", "--project", str(project), "--store", str(store), "query", "-e", QUADS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_serve_compacts_the_store_it_reads_once_and_the_answers_stay(
    project: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    quads(project, store)  # the CLI builds the store as every command does
    # A new file: the refresh writes it as a run of its own beside the others.
    (project / "data" / "extra.ttl").write_text(
        '@prefix ex: <http://example.org/> .\nex:a ex:b "c" .\n', encoding="utf-8"
    )
    before = quads(project, store)
    built = tables(store)
    assert built
    served = start(["--timeout", "30"], project=project, store=store)
    try:
        assert request(served.url("/sparql?query=ASK%7B%7D")).status == 200
    finally:
        served.stop()
    compacted = tables(store)
    assert compacted != built  # rewritten: the old code opened it read-only, as it was
    assert quads(project, store) == before
    # A compacted store is not rewritten at the next start.
    served = start(["--timeout", "30"], project=project, store=store)
    served.stop()
    assert tables(store) == compacted
