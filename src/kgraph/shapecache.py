"""The analysis of the shapes file remembered in the on-disk store, by the file's bytes.

Every command that validates reads ``ontology/shapes.ttl`` again: the parse into an rdflib
graph, the guards on its SPARQL, then the analysis (``index.analyse``: targets, read paths,
the SPARQL constraints kgraph runs itself) and the compiler's survey
(``compiled.compile_shapes``: which shapes it compiles, which it leaves to pySHACL). The
last two are a fixed cost of a fifth of adding 100 triples to a 1M-triple store, and
depend only on the shapes' bytes and on the code that computes them. So they are kept in
the store folder with ``--store``, else in the user's cache folder
(:func:`kgraph.usercache.shapes_folder`; as the rdflib verdicts are, :mod:`kgraph.guardcache`)
under the SHA-256 of: the versions of kgraph, rdflib and pyoxigraph, the source of the
modules that compute them, and the shapes file's exact bytes. Any edit to the shapes (or
to that code, or an upgrade) is another key: analysed again.

What is *not* taken from the cache, so that it cannot change a verdict's input:

- the shapes graph itself: the file is parsed on every command, and the analysis is
  attached to that graph (its nodes found in it by their N-Triples form);
- the guards on the shapes' SPARQL and the check that Oxigraph parses it
  (``index.load_shapes``): they run on every command, hit or miss;
- a shapes file the analysis or the compiler refused: never stored (the error is raised
  again every time).

A blank node's label is not the same in two parses of the same bytes (Oxigraph draws them
at random), so a blank node is stored as its place in the order of first appearance in
the parse, the same for the same bytes. The document is plain JSON (no pickle: nothing in
it is code); one that is unreadable, malformed, of another format or too big is ignored as
a whole and rewritten. Failing to write it is no error: the next command analyses again.
Both folders are the user's own (as for the guard cache, never the project's, which may
come from anyone): an entry is trusted as the store's data is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgraph import __version__
from kgraph.errors import KGraphError

if TYPE_CHECKING:
    from kgraph.shacl.compiled import CompiledShapes
    from kgraph.shacl.index import ShapeIndex

CACHE_FILE = "kgraph-shapes-cache.json"
"""The cache's name in the store folder."""
FORMAT = 1
MAX_BYTES = 4 * 1024 * 1024
"""A bigger file is not a cache kgraph wrote: ignored."""
_CODE = (
    "shacl/index.py",
    "shacl/compiled.py",
    "shacl/sparql.py",
    "shacl/sparqltext.py",
    "sparql.py",
    "namespaces.py",
    "convert.py",
    "shapecache.py",
)
"""The modules whose code decides the analysis (read by path, as the sheet cache does)."""


class _NotStorable(Exception):
    """The analysis names something that could not be found again in another parse."""


def _salt() -> bytes:
    import pyoxigraph
    import rdflib

    # The modules' own version attributes: importlib.metadata scans sys.path (milliseconds).
    sha = hashlib.sha256(f"kgraph {__version__}\nformat {FORMAT}\n".encode())
    for package in (rdflib, pyoxigraph):
        sha.update(f"{package.__name__} {getattr(package, '__version__', '?')}\n".encode())
    here = Path(__file__).parent
    for module in _CODE:
        sha.update((here / module).read_bytes())
    return sha.digest()


class ShapesCache:
    """The analysis of one shapes file (the last one analysed), beside a store."""

    def __init__(self, path: Path | None) -> None:
        self._path = path

    @classmethod
    def beside_store(cls, store_dir: Path | None) -> ShapesCache:
        """The cache of the kgraph store in ``store_dir``; one that remembers nothing when
        there is no store, or the folder is not (yet) a kgraph store."""
        from kgraph.store import read_store_meta

        if store_dir is None or read_store_meta(store_dir) is None:
            return cls(None)
        return cls(store_dir / CACHE_FILE)

    @property
    def active(self) -> bool:
        return self._path is not None

    def key(self, data: bytes) -> str | None:
        """The entry's key for shapes of these bytes; None when it cannot be made (kgraph
        installed without its .py sources): no cache."""
        try:
            sha = hashlib.sha256(_salt())
        except OSError:
            return None
        sha.update(data)
        return sha.hexdigest()

    def get(self, key: str, graph: Any, blanks: Sequence[str]) -> ShapeIndex | None:
        """The analysis stored under ``key``, attached to ``graph`` (the fresh parse, whose
        blank node labels in order of first appearance are ``blanks``), with its compiled
        survey; None if there is none or it does not fit this graph."""
        from kgraph.fsutil import read_regular

        if self._path is None:
            return None
        try:
            document = json.loads(read_regular(self._path, limit=MAX_BYTES))
        except (OSError, ValueError, KGraphError):
            return None  # missing, unreadable, not JSON, too big, not a regular file
        if (
            not isinstance(document, dict)
            or document.get("format") != FORMAT
            or document.get("key") != key
        ):
            return None
        try:
            return _decode(document, graph, list(blanks))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, _NotStorable):
            return None  # not what kgraph writes: analysed again, and rewritten

    def put(
        self, key: str, index: ShapeIndex, compiled: CompiledShapes, blanks: Sequence[str]
    ) -> None:
        from kgraph.fsutil import write_atomic

        if self._path is None:
            return
        try:
            document = _encode(index, compiled, list(blanks))
        except _NotStorable:
            return
        document = {"format": FORMAT, "key": key, **document}
        try:
            write_atomic(self._path, json.dumps(document).encode(), make_parents=True)
        except (OSError, KGraphError):
            return  # a read-only or full disk: the next command analyses again


# -- the document --------------------------------------------------------------------------
# A term's string (str() of an rdflib term: an IRI, or a blank node's bare label) is stored
# as it is, or as ["b", place] for a blank node; a term's N-Triples form likewise, with
# "_:" before the label.


def _place(text: str, places: dict[str, int], prefix: str) -> Any:
    if prefix == "" or text.startswith(prefix):
        place = places.get(text[len(prefix) :])
        if place is not None:
            return ["b", place]
    if "_:" in text and prefix:
        raise _NotStorable  # a blank node not of this parse
    return text


def _unplace(value: Any, blanks: list[str], prefix: str) -> str:
    if isinstance(value, str):
        return value
    kind, place = value
    if kind != "b" or not isinstance(place, int) or place < 0:
        raise ValueError("not a stored term")
    return prefix + blanks[place]


def _encode(index: ShapeIndex, compiled: CompiledShapes, blanks: list[str]) -> dict[str, Any]:
    places = {label: n for n, label in enumerate(blanks)}

    def term(text: str) -> Any:
        return _place(text, places, "")

    def n3(text: str) -> Any:
        return _place(text, places, "_:")

    for why in compiled.left.values():
        if "_:" in why:
            raise _NotStorable  # names a blank node by this parse's label
    return {
        "blanks": len(blanks),
        "index": {
            "reads": sorted([list(edge) for edge in path] for path in index.reads),
            "global_shapes": sorted(map(term, index.global_shapes), key=str),
            "target_classes": sorted(map(term, index.target_classes), key=str),
            "target_nodes": sorted((n3(n.n3()) for n in index.target_nodes), key=str),
            "subjects_of": sorted(map(term, index.subjects_of), key=str),
            "objects_of": sorted(map(term, index.objects_of), key=str),
            "shape_count": index.shape_count,
            "targets_by_shape": [
                [term(shape), [term(t) for t in targets]]
                for shape, targets in index.targets_by_shape.items()
            ],
            "sparql": [
                [
                    c.shape,
                    c.constraint,
                    c.query,
                    list(c.messages),
                    c.severity,
                    list(c.target_classes),
                ]
                for c in index.sparql
            ],
            "handled": sorted([str(s), str(c)] for s, c in index.handled),
        },
        "compiled": {
            "top": [n3(shape.node.n3()) for shape in compiled.top],
            "left": [[n3(name), why] for name, why in compiled.left.items()],
        },
    }


def _decode(document: dict[str, Any], graph: Any, blanks: list[str]) -> ShapeIndex:
    from rdflib import BNode, URIRef

    from kgraph.convert import from_rdflib
    from kgraph.namespaces import SH
    from kgraph.shacl.compiled import CompiledShapes
    from kgraph.shacl.index import ShapeIndex
    from kgraph.shacl.sparql import SparqlConstraint

    if document["blanks"] != len(blanks):
        raise ValueError("another parse")
    stored = document["index"]

    def term(value: Any) -> str:
        return _unplace(value, blanks, "")

    def n3(value: Any) -> str:
        return _unplace(value, blanks, "_:")

    def strings(values: Any) -> list[str]:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise TypeError("not a list of strings")
        return values

    def shape_node(value: Any) -> Any:
        """A shape's node (an IRI or a blank node of this parse) from its N-Triples form."""
        text = n3(value)
        if text.startswith("_:"):
            return BNode(text[2:])
        if not (text.startswith("<") and text.endswith(">")):
            raise ValueError("not a shape's node")
        return URIRef(text[1:-1])

    target_node = URIRef(SH + "targetNode")
    targets = {node.n3(): node for node in graph.objects(None, target_node)}

    index = ShapeIndex(graph)
    index.reads = {
        tuple((str(p), bool(inverse)) for p, inverse in path) for path in stored["reads"]
    }
    index.global_shapes = {term(v) for v in stored["global_shapes"]}
    index.target_classes = {term(v) for v in stored["target_classes"]}
    index.target_nodes = {targets[n3(v)] for v in stored["target_nodes"]}
    index.subjects_of = {term(v) for v in stored["subjects_of"]}
    index.objects_of = {term(v) for v in stored["objects_of"]}
    index.shape_count = int(stored["shape_count"])
    index.targets_by_shape = {
        term(shape): [term(t) for t in listed] for shape, listed in stored["targets_by_shape"]
    }
    index.sparql = [
        SparqlConstraint(
            shape=str(shape),
            constraint=str(constraint),
            query=str(query),
            messages=tuple(strings(messages)),
            severity=str(severity),
            target_classes=tuple(strings(classes)),
            # As sparql.extract finds them: the shape's sh:targetNode values, as Oxigraph terms.
            target_nodes=tuple(
                from_rdflib(n) for n in graph.objects(URIRef(str(shape)), target_node)
            ),
        )
        for shape, constraint, query, messages, severity, classes in stored["sparql"]
    ]
    index.handled = {(URIRef(str(s)), URIRef(str(c))) for s, c in stored["handled"]}

    kept = document["compiled"]
    compiled = CompiledShapes(graph, [])
    compiled.top = [compiled.shape(shape_node(v)) for v in kept["top"]]
    compiled.left = {n3(name): str(why) for name, why in kept["left"]}
    index.compiled = compiled
    return index
