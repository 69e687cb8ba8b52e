"""The user's cache folder: what kgraph keeps between runs without writing into a project.

``$KGRAPH_CACHE_DIR``, else ``$XDG_CACHE_HOME/kgraph``, else ``~/.cache/kgraph``. ``kgraph
serve`` keeps its on-disk store there (:mod:`kgraph.server.storecache`); a load without
``--store`` keeps the compiled claim sheets of the project's ``data/`` there
(:func:`sheet_folder`), so that a start does not compile them again, and a command that
reads the shapes without ``--store`` their analysis and rdflib's verdicts on their SPARQL
(:func:`shapes_folder`), as a store's folder keeps them. Everything in it can
be deleted at any time: it is rebuilt.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ENV = "KGRAPH_CACHE_DIR"


def cache_root() -> Path:
    explicit = os.environ.get(ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "kgraph"


def project_key(root: Path) -> str:
    """A project's folder name in the cache: by its resolved path (two projects never share
    entries, so pruning one project's stale entries cannot touch another's)."""
    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]


def sheet_folder(root: Path) -> Path | None:
    """Where the compiled sheets of the project at ``root`` are kept, or None when that
    folder would lie inside the project (its .nt files would be read back as the project's
    data, and the user's folder written)."""
    return _project_folder("sheets", root)


def shapes_folder(root: Path) -> Path | None:
    """Where, without ``--store``, the analysis of the project's shapes file
    (:mod:`kgraph.shapecache`) and rdflib's verdicts on its SPARQL
    (:mod:`kgraph.guardcache`) are kept, as they are in a store's folder; None when that
    folder would lie inside the project (a project may come from anyone: what is trusted
    must not be in it)."""
    return _project_folder("shapes", root)


def _project_folder(kind: str, root: Path) -> Path | None:
    try:
        folder = cache_root() / kind / project_key(root)
        if folder.resolve().is_relative_to(root.resolve()):
            return None
    except (OSError, RuntimeError):  # no home folder, a symlink loop
        return None
    return folder


def prepare(folder: Path) -> bool:
    """Make ``folder`` (before the confined worker starts: it may write only beneath folders
    that exist); False when it cannot be made or written, which is not an error (the sheets
    are then compiled on every load, as without a cache)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)
