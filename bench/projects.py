"""Benchmark projects in ``bench/cache/`` (git-ignored): copies of the repository's project
with a synthetic data file added.

``bench/cache/syn-<size>-s<seed>/`` holds ``ontology/`` and ``queries/`` copied from the
repository, the curated ``data/*.ttl`` (so the canned queries' examples find their
answers), and ``data/synthetic.nt``. The 100-triple batch, the claim sheet (the shipped
``data/article2.yaml``, see :func:`sheet`) and the generator's summary sit at the project
root, outside ``data/``, so they are not part of the graph. The synthetic
file is regenerated only when its size, seed or the generator version changes; everything
else is copied afresh on every run, so the project always follows the repository.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.generate import GENERATOR_VERSION, Summary, batch, generate, read_summary, write_summary
from kgraph.namespaces import graph_iri

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "bench" / "cache"


@dataclass(frozen=True)
class BenchProject:
    root: Path
    size: int
    summary: Summary

    @property
    def synthetic(self) -> Path:
        return self.root / "data" / "synthetic.nt"

    @property
    def batch(self) -> Path:
        return self.root / "batch.nt"

    @property
    def sheet(self) -> Path:
        return self.root / "sheet.yaml"

    @property
    def shapes(self) -> Path:
        return self.root / "ontology" / "shapes.ttl"

    def files(self) -> list[list[str]]:
        return data_files(self.root)

    def store_dir(self) -> Path:
        return self.root.parent / f"{self.root.name}.store"


def data_files(root: Path) -> list[list[str]]:
    """[path, named graph] of every file kgraph loads from a project (shapes.ttl is not
    data), in kgraph's order: the ontology first."""
    found = []
    for folder in ("ontology", "data"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".ttl", ".nt", ".nq", ".trig") and path.name != "shapes.ttl":
                found.append([str(path), graph_iri(path.relative_to(root).as_posix())])
    return found


def copy_project(source: Path, target: Path, *, curated: bool = True) -> None:
    """Copy ontology/ and queries/ (and the curated data files) from ``source``."""
    for name in ("ontology", "queries"):
        if (target / name).exists():
            shutil.rmtree(target / name)
        if (source / name).exists():
            shutil.copytree(
                source / name, target / name, ignore=shutil.ignore_patterns(".*", "__pycache__")
            )
        else:
            (target / name).mkdir(parents=True)
    data = target / "data"
    data.mkdir(parents=True, exist_ok=True)
    for old in data.iterdir():
        if old.name != "synthetic.nt":
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    if curated:
        for path in sorted((source / "data").glob("*.ttl")):
            shutil.copy2(path, data / path.name)


SHEET_NAMES = {
    "role: spokesperson": "role: kgd:role-spokesperson",
    "unit: soldier": "unit: kgd:unit-soldier",
}
"""Names of the shipped sheet that the synthetic world gives to a second thing too
(kgd:syn-role-spokesperson, a unit labelled "soldier"): written as the IRIs they name in
the shipped graph, as a user would be told to by the ambiguity error."""


def sheet(path: Path, source: Path) -> None:
    """The shipped second article's claim sheet (55 names to resolve, 195 triples), to add
    to the synthetic graph, which does not hold it (only ``data/*.ttl`` is copied)."""
    text = (source / "data" / "article2.yaml").read_text(encoding="utf-8")
    for name, iri in SHEET_NAMES.items():
        if name not in text:
            raise ValueError(f"data/article2.yaml no longer says {name!r}: update SHEET_NAMES")
        text = text.replace(name, iri)
    path.write_text(text, encoding="utf-8")


def build(size: int, seed: int, *, cache: Path = CACHE, source: Path = REPO) -> BenchProject:
    root = cache / f"syn-{size}-s{seed}"
    root.mkdir(parents=True, exist_ok=True)
    copy_project(source, root)
    synthetic = root / "data" / "synthetic.nt"
    summary = read_summary(root / "synthetic.json")
    fresh = (
        summary is not None
        and summary.version == GENERATOR_VERSION
        and summary.triples == size
        and summary.seed == seed
        and synthetic.exists()
    )
    if not fresh:
        summary = generate(synthetic, size, seed)
        write_summary(root / "synthetic.json", summary)
    assert summary is not None
    batch(root / "batch.nt", summary)
    sheet(root / "sheet.yaml", source)
    store = root.parent / f"{root.name}.store"
    if store.exists():
        shutil.rmtree(store)
    return BenchProject(root, size, summary)
