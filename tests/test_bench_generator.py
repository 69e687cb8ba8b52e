"""The benchmark's graph generator (bench/generate.py) at a tiny size: its graph conforms to
the shapes, its 100-triple batch is accepted by `kgraph add`, it hits the triple count and
it is deterministic from the seed. (The benchmark itself runs with `make bench`.)"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

# bench/ is a top-level package of the repository, not part of the installed kgraph.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.generate import KGD, batch, generate

SIZE = 4000
INSTANCES = "https://w3id.org/kgraph/id/"


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("generated")
    summary = generate(folder / "synthetic.nt", SIZE, seed=7)
    batch(folder / "batch.nt", summary)
    return folder / "synthetic.nt", folder / "batch.nt"


def triples(path: Path) -> list[ox.Triple]:
    return [q.triple for q in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES)]


def test_generated_graph_has_the_requested_triple_count_within_two_percent(
    graph: tuple[Path, Path],
) -> None:
    parsed = triples(graph[0])
    assert abs(len(parsed) - SIZE) <= SIZE * 0.02
    assert len(set(parsed)) == len(parsed)  # no duplicate lines: the store holds them all


def test_generator_is_deterministic_from_the_seed(tmp_path: Path, graph: tuple[Path, Path]) -> None:
    generate(tmp_path / "again.nt", SIZE, seed=7)
    generate(tmp_path / "other.nt", SIZE, seed=8)
    assert (tmp_path / "again.nt").read_bytes() == graph[0].read_bytes()
    assert (tmp_path / "other.nt").read_bytes() != graph[0].read_bytes()


def test_generated_instances_never_collide_with_curated_names(graph: tuple[Path, Path]) -> None:
    for path in graph:
        iris = set(re.findall(r"<([^>]+)>", path.read_text(encoding="utf-8")))
        ours = {i for i in iris if i.startswith(INSTANCES)}
        assert ours
        assert all(i.startswith(KGD) for i in ours), sorted(
            i for i in ours if not i.startswith(KGD)
        )[:5]


def test_generated_graph_validates_as_a_project_data_file(
    kgraph, project: Path, graph: tuple[Path, Path]
) -> None:
    (project / "data" / "synthetic.nt").write_bytes(graph[0].read_bytes())
    run = kgraph("validate")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.stdout.startswith("conforms: 0 violations")


def test_batch_of_100_triples_is_accepted_by_add_dry_run(
    kgraph, project: Path, graph: tuple[Path, Path]
) -> None:
    (project / "data" / "synthetic.nt").write_bytes(graph[0].read_bytes())
    assert len(triples(graph[1])) == 100
    run = kgraph("add", "--dry-run", str(graph[1]))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "dry run: would add batch" in run.stdout
    assert ": 100 new triples" in run.stdout
    assert not (project / "data" / "batches").exists() or not any(
        (project / "data" / "batches").iterdir()
    )


def test_post_labels_name_their_state_whole(tmp_path: Path) -> None:
    """Two-digit states were cut to "tate-10" by a fixed-width slice of the IRI."""
    generate(tmp_path / "big.nt", 70_000, seed=3)  # 11 states: two digits
    text = (tmp_path / "big.nt").read_text()
    labels = [line for line in text.splitlines() if "Deputy Foreign Minister" in line]
    assert labels
    assert all(re.search(r' of State \d+"@en', line) for line in labels), labels[:3]
    assert any(re.search(r' of State \d\d+"@en', line) for line in labels)
