"""Issue 15, the store and write-path findings: batch provenance, batch names, the on-disk
store's refresh and lock, credentials, remote answers, temporary files and file names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgraph.errors import ExitStatus
from test_batches import PREFIXES, batch_files, visit, write

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
    [first] = [info["id"] for info in listed if info["sources"] == [str(a)]]
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
