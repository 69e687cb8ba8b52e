"""The names of an on-disk store, kept beside it: normal form -> IRIs, graph by graph.

Looking a name up in the store itself means a pass over every label (120k at 1M triples:
about a second on an on-disk store, the whole of `kgraph add`'s budget). So an on-disk
store keeps, in ``kgraph-names.sqlite`` in its folder, the normal form of every label of
each of its graphs, with the stamp the store's metadata gives that graph. When the store
changes only the graphs whose stamp changed are read again: after `kgraph add`, the new
batch's graph alone. Anything wrong with the file (unreadable, read-only, corrupt) makes
the caller fall back to asking the store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kgraph.namespaces import KG, KGD

FILE = "kgraph-names.sqlite"
_VERSION = 1  # the normal form or the table layout changed: every graph is read again
_SCHEMA = """
CREATE TABLE IF NOT EXISTS graphs (graph TEXT PRIMARY KEY, stamp TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS names (graph TEXT NOT NULL, key TEXT NOT NULL, iri TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS names_key ON names (key);
CREATE INDEX IF NOT EXISTS names_graph ON names (graph);
"""


class NameCache:
    """The names of one store as of the stamps given (see the module docstring)."""

    def __init__(self, path: Path, store: Any, stamps: dict[str, str]) -> None:
        self.path = path
        self.store = store
        self.stamps = stamps
        self._db: sqlite3.Connection | None = None

    @classmethod
    def for_store(cls, store_dir: Path, store: Any, sources: Iterable[Any]) -> NameCache | None:
        """The cache of the store in ``store_dir`` as opened with ``sources``, or None when
        the store's metadata does not match them (another kgraph updated it meanwhile)."""
        from kgraph.namespaces import inferred_graph
        from kgraph.store import file_stamp, read_store_meta

        meta = read_store_meta(store_dir)
        if meta is None:
            return None
        files = meta.get("files")
        try:
            opened = {s.graph: file_stamp(s) for s in sources}
        except OSError:
            return None
        if not isinstance(files, dict) or files != opened:
            return None
        everything = json.dumps(files, sort_keys=True)
        stamps: dict[str, str] = {}
        for graph, stamp in files.items():
            # A sheet's graph depends on the files before it, not only on its own bytes.
            sheet = graph.lower().endswith((".yaml", ".yml"))
            stamps[graph] = everything if sheet else json.dumps(stamp)
        for profile, done in (meta.get("inferred") or {}).items():
            if done:
                stamps[inferred_graph(profile)] = everything
        return cls(store_dir / FILE, store, stamps)

    def iris(self, keys: Iterable[str]) -> dict[str, set[str]]:
        """IRIs by normal form, for ``keys``."""
        wanted = sorted(set(keys))
        found: dict[str, set[str]] = {k: set() for k in wanted}
        db = self._open()
        for start in range(0, len(wanted), 500):  # SQLite's limit on parameters
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, iri in db.execute(f"SELECT key, iri FROM names WHERE key IN ({marks})", chunk):
                found[key].add(iri)
        return found

    def everything(self) -> dict[str, set[str]]:
        """Every normal form with its IRIs (for the nearest names of an unknown one)."""
        found: dict[str, set[str]] = {}
        for key, iri in self._open().execute("SELECT key, iri FROM names"):
            found.setdefault(key, set()).add(iri)
        return found

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                self._refresh(db)
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def _refresh(self, db: sqlite3.Connection) -> None:
        if db.execute("PRAGMA user_version").fetchone()[0] != _VERSION:
            db.executescript(
                "BEGIN IMMEDIATE; DROP TABLE IF EXISTS graphs; DROP TABLE IF EXISTS names; "
                f"{_SCHEMA} PRAGMA user_version = {_VERSION}; COMMIT;"
            )
        if self._current(db):
            return
        # Another kgraph may be refreshing too: the write lock first, then look again.
        db.execute("BEGIN IMMEDIATE")
        try:
            known = dict(db.execute("SELECT graph, stamp FROM graphs").fetchall())
            for graph in known.keys() - self.stamps.keys():
                db.execute("DELETE FROM names WHERE graph = ?", (graph,))
                db.execute("DELETE FROM graphs WHERE graph = ?", (graph,))
            for graph, stamp in self.stamps.items():
                if known.get(graph) == stamp:
                    continue
                db.execute("DELETE FROM names WHERE graph = ?", (graph,))
                db.executemany(
                    "INSERT INTO names (graph, key, iri) VALUES (?, ?, ?)",
                    ((graph, key, iri) for key, iri in _labels(self.store, graph)),
                )
                db.execute("INSERT OR REPLACE INTO graphs VALUES (?, ?)", (graph, stamp))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _current(self, db: sqlite3.Connection) -> bool:
        return dict(db.execute("SELECT graph, stamp FROM graphs").fetchall()) == self.stamps

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _labels(store: Any, graph: str) -> set[tuple[str, str]]:
    """(normal form, IRI) of every label of a subject in our namespaces in ``graph``."""
    import pyoxigraph as ox

    from kgraph.names import LABELS, normal

    found: set[tuple[str, str]] = set()
    g = ox.NamedNode(graph)
    for predicate in LABELS:
        for quad in store.quads_for_pattern(None, ox.NamedNode(predicate), None, g):
            subject, label = quad.subject, quad.object
            if (
                isinstance(subject, ox.NamedNode)
                and isinstance(label, ox.Literal)
                and subject.value.startswith((KGD, KG))
            ):
                key = normal(label.value)
                if key:
                    found.add((key, subject.value))
    return found
