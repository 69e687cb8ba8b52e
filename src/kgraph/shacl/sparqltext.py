"""SPARQL text for shapes: terms, property paths, and SHACL-SPARQL queries with ``$this``.

Nothing from the shapes file is pasted into a query as text: every IRI and literal goes
through an Oxigraph term (which checks an IRI's syntax and escapes a literal), and the
SPARQL of a SHACL-SPARQL constraint has passed ``guards.check_query`` when the shapes were
loaded (``shapes.load_shapes``).
"""

from __future__ import annotations

from typing import Any

from kgraph.guards import _SPARQL_TOKEN
from kgraph.namespaces import RDF, SH

RDF_FIRST = RDF + "first"


class Uncompilable(Exception):
    """A construct the compiler does not translate exactly: the shape goes to pySHACL."""


def term(node: Any) -> str:
    """An rdflib term (from the shapes graph) as SPARQL text; blank nodes are refused."""
    from rdflib import BNode

    from kgraph.convert import from_rdflib

    if isinstance(node, BNode):
        raise Uncompilable(f"a blank node {node.n3()} used as a constant")
    try:
        return str(from_rdflib(node))
    except (TypeError, ValueError) as err:
        raise Uncompilable(f"{node!r}: {err}") from err


def ox_term(node: Any) -> Any:
    from kgraph.convert import from_rdflib

    try:
        return from_rdflib(node)
    except (TypeError, ValueError) as err:
        raise Uncompilable(f"{node!r}: {err}") from err


def path(graph: Any, node: Any, depth: int = 0) -> str:
    """A SHACL property path (SHACL 1.0 §2.3.1) as a SPARQL property path."""
    from rdflib import BNode, URIRef

    if depth > 20:
        raise Uncompilable("path nested too deeply")
    if isinstance(node, URIRef):
        return term(node)
    if not isinstance(node, BNode):
        raise Uncompilable(f"malformed sh:path {node!r}")

    def one(local: str) -> Any:
        return graph.value(node, URIRef(SH + local))

    if graph.value(node, URIRef(RDF_FIRST)) is not None:  # a list wins (path-strange-001)
        members = [path(graph, m, depth + 1) for m in graph.items(node)]
        if len(members) < 2:
            raise Uncompilable(f"malformed sh:path {node!r}")
        return "(" + "/".join(members) + ")"

    for local, op in (
        ("inversePath", "^"),
        ("zeroOrMorePath", "*"),
        ("oneOrMorePath", "+"),
        ("zeroOrOnePath", "?"),
    ):
        inner = one(local)
        if inner is not None:
            text = path(graph, inner, depth + 1)
            return f"^({text})" if op == "^" else f"({text}){op}"
    alternatives = one("alternativePath")
    if alternatives is not None:
        members = [path(graph, m, depth + 1) for m in graph.items(alternatives)]
        if not members:
            raise Uncompilable("empty sh:alternativePath")
        return "(" + "|".join(members) + ")"
    members = [path(graph, m, depth + 1) for m in graph.items(node)]
    if len(members) < 2:
        raise Uncompilable(f"malformed sh:path {node!r}")
    return "(" + "/".join(members) + ")"


_FALLBACK_VARS = {"currentShape", "shapesGraph"}


def prebound_select(select: str, path_text: str | None) -> str:
    """A SHACL-SPARQL SELECT with ``$this`` as the variable ``?this`` (projected), ``$PATH``
    replaced by the shape's path, and a ``FOCUS_MARK`` line first in its WHERE clause where
    the caller puts the pattern that binds ``?this``: the pre-binding of SHACL 1.0 §5.3.1
    done as a join. Where a join differs from pre-binding (``$this`` inside a sub-select,
    ``$currentShape``, ``$shapesGraph``) :class:`Uncompilable` is raised."""
    out: list[str] = []
    last = 0
    selects = 0
    in_projection = False
    projected = False
    for match in _SPARQL_TOKEN.finditer(select):
        token, kind = match.group(), match.lastgroup
        if kind == "word" and token.upper() == "SELECT":
            selects += 1
            in_projection = selects == 1
        elif (kind == "word" and token.upper() == "WHERE") or (kind == "open" and token == "{"):
            in_projection = False
        elif kind == "other" and token == "*" and in_projection:
            projected = True
        elif kind == "var":
            name = token[1:]
            if name in _FALLBACK_VARS:
                raise Uncompilable(f"SPARQL uses {token}")
            if name == "PATH":
                if path_text is None:
                    raise Uncompilable("$PATH in a node shape")
                out.append(select[last : match.start()] + path_text)
                last = match.end()
            elif name == "this":
                if selects > 1:
                    raise Uncompilable("$this inside a sub-select")
                projected = projected or in_projection
                out.append(select[last : match.start()] + "?this")
                last = match.end()
    out.append(select[last:])
    return _insert("".join(out), projected)


FOCUS_MARK = "#KGRAPH-FOCUS#\n"


def _insert(text: str, projected: bool) -> str:
    depth = 0
    selects = 0
    insert_at: int | None = None
    for match in _SPARQL_TOKEN.finditer(text):
        token, kind = match.group(), match.lastgroup
        if kind == "word" and token.upper() == "SELECT" and selects == 0:
            selects = 1
            insert_at = match.end()
        elif kind == "word" and token.upper() in ("DISTINCT", "REDUCED") and insert_at is not None:
            if text[insert_at : match.start()].strip() == "":
                insert_at = match.end()
        elif kind == "open":
            if token == "{" and depth == 0:
                assert insert_at is not None
                head = text[: match.end()] + " " + FOCUS_MARK + text[match.end() :]
                if projected:
                    return head
                return head[:insert_at] + " ?this" + head[insert_at:]
            depth += 1
        elif kind == "close":
            depth -= 1
    raise Uncompilable("no WHERE clause")


def path_text(graph: Any, node: Any) -> str | None:
    """A result path as ``validation._path_text`` writes it (``<iri>``, ``^p``, ``(a|b)``,
    ``a/b``), extended to ``(p)*``, ``(p)+`` and ``(p)?``, which it would give as a blank
    node's label (a different one on every run)."""
    from rdflib import BNode, URIRef

    if node is None:
        return None
    if isinstance(node, URIRef):
        return f"<{node}>"
    if not isinstance(node, BNode):
        return str(node)
    if graph.value(node, URIRef(RDF_FIRST)) is not None:
        return "/".join(path_text(graph, m) or "" for m in graph.items(node))
    inverse = graph.value(node, URIRef(SH + "inversePath"))
    if inverse is not None:
        return f"^{path_text(graph, inverse)}"
    alternatives = graph.value(node, URIRef(SH + "alternativePath"))
    if alternatives is not None:
        return "(" + "|".join(path_text(graph, m) or "" for m in graph.items(alternatives)) + ")"
    for local, op in (("zeroOrMorePath", "*"), ("oneOrMorePath", "+"), ("zeroOrOnePath", "?")):
        inner = graph.value(node, URIRef(SH + local))
        if inner is not None:
            return f"({path_text(graph, inner)}){op}"
    members = list(graph.items(node))
    if members:
        return "/".join(path_text(graph, m) or "" for m in members)
    return str(node)
