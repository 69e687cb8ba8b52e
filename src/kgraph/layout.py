"""The folder layout of a kgraph project: where its files are, which graph each becomes.

A project is a folder with ``ontology/`` (the OWL ontology and ``shapes.ttl``), ``data/``
(the curated files, and ``data/batches/`` written by ``kgraph add``) and ``queries/``.
Each RDF file is its own named graph, ``https://w3id.org/kgraph/graph/<relative path>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from kgraph.errors import Setting, UsageError
from kgraph.formats import RdfSyntax
from kgraph.fsutil import TMP_PREFIX, check_no_links
from kgraph.namespaces import graph_iri

SHAPES_FILE = "shapes.ttl"
BATCH_DIR = "batches"
SHEET_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class SourceFile:
    """One RDF file of the project and the named graph it is loaded into."""

    path: Path
    relative: str
    syntax: RdfSyntax

    @cached_property
    def graph(self) -> str:
        # Computed once per file (character by character): every query lists the graphs.
        return graph_iri(self.relative)

    @property
    def is_batch(self) -> bool:
        return self.relative.startswith(f"data/{BATCH_DIR}/")

    @property
    def is_sheet(self) -> bool:
        """A claim sheet in data/: compiled (kgraph.sheets), its triples its own graph."""
        return self.relative.lower().endswith(SHEET_SUFFIXES)


@dataclass(frozen=True)
class Layout:
    root: Path
    shipped: bool = False
    """True when this is the read-only graph shipped inside the installed package."""

    @property
    def ontology_dir(self) -> Path:
        return self.safe(self.root / "ontology")

    @property
    def data_dir(self) -> Path:
        return self.safe(self.root / "data")

    @property
    def batch_dir(self) -> Path:
        return self.safe(self.data_dir / BATCH_DIR)

    @property
    def queries_dir(self) -> Path:
        return self.safe(self.root / "queries")

    @property
    def shapes_path(self) -> Path:
        return self.safe(self.ontology_dir / SHAPES_FILE)

    @classmethod
    def locate(cls, directory: str | Path | None = None) -> Layout:
        """The project in ``directory``; by default the current directory when it is one,
        else the graph shipped with the package."""
        if directory is not None:
            root = Path(directory)
            if not _is_project(root):
                raise UsageError(f"{root} is not a kgraph project (it needs ontology/ and data/)")
            return cls(root)
        here = Path.cwd()
        if _is_project(here):
            return cls(here)
        return cls(shipped_root(), shipped=True)

    def safe(self, path: Path) -> Path:
        """``path``, refused (:class:`~kgraph.errors.RefusedError`) when a symbolic link
        on the way from the project folder leads elsewhere. The shipped graph is part of
        the installed package and trusted as such."""
        return path if self.shipped else check_no_links(path, self.root)

    def source_files(self) -> list[SourceFile]:
        """The ontology and data files, in a stable order: the ontology, the files of
        data/ in path order, then the batches. A claim sheet is compiled against the files
        before it in this order, never against the batches or the files after it: a source
        added later (named to sort later: article2.yaml, article3.yaml) cannot change what
        an earlier sheet compiles to, nor make one of its names ambiguous."""
        files: list[SourceFile] = []
        for folder in (self.ontology_dir, self.data_dir):
            sheets = folder == self.data_dir
            for path in sorted(_rdf_files(self.safe(folder), self, sheets=sheets)):
                if folder == self.ontology_dir and path.name == SHAPES_FILE:
                    continue
                relative = path.relative_to(self.root).as_posix()
                syntax = RdfSyntax.TURTLE if _is_sheet(path) else RdfSyntax.from_path(path)
                files.append(SourceFile(path, relative, syntax))
        # Stable: each group keeps its path order.
        return sorted(files, key=lambda s: (not s.relative.startswith("ontology/"), s.is_batch))

    def display(self, path: Path) -> str:
        """A path as the user should see it: relative to the project when inside it."""
        try:
            return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return str(path)


def _is_project(folder: Path) -> bool:
    return (folder / "ontology").is_dir() and (folder / "data").is_dir()


def _is_sheet(path: Path) -> bool:
    return path.name.lower().endswith(SHEET_SUFFIXES)


def _rdf_files(folder: Path, project: Layout, *, sheets: bool = False) -> list[Path]:
    """The RDF files under ``folder``; a symbolic link among them (file or folder) is
    refused rather than followed or skipped, so that nothing is silently left out."""
    found: list[Path] = []
    if not folder.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in dirnames:
            project.safe(Path(dirpath) / name)
        for name in filenames:
            if name.startswith(".") or name.startswith(TMP_PREFIX):
                continue
            if RdfSyntax.is_rdf_path(name) or (sheets and _is_sheet(Path(name))):
                found.append(project.safe(Path(dirpath) / name))
    return found


def shipped_root() -> Path:
    """The graph that ships with the package: inside the wheel, or the source checkout."""
    package = Path(__file__).resolve().parent
    inside = package / "_project"
    if _is_project(inside):
        return inside
    checkout = package.parent.parent
    if _is_project(checkout):
        return checkout
    raise UsageError(
        f"no kgraph project here and no shipped graph found; pass {Setting.PROJECT}",
        setting=Setting.PROJECT,
    )
