"""SPARQL text for shapes: terms, property paths, and SHACL-SPARQL queries with ``$this``.

Nothing from the shapes file is pasted into a query as text: every IRI and literal goes
through an Oxigraph term (which checks an IRI's syntax and escapes a literal), and the
SPARQL of a SHACL-SPARQL constraint has passed ``guards.check_query`` when the shapes were
loaded (``shapes.load_shapes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kgraph.namespaces import OWL, RDF, RDFS, SH, SKOLEM
from kgraph.sparql import TOKEN as _SPARQL_TOKEN

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


_PREBOUND = {"this", "currentShape", "shapesGraph"}

OWL_IMPORTS = OWL + "imports"
# pySHACL, the reference, declares these three before any sh:prefixes: a constraint that
# writes rdf:type undeclared runs there, so it is valid here too (and run the same).
_PREDECLARED = (("rdf", RDF), ("rdfs", RDFS), ("owl", OWL))


def constraint_prefixes(graph: Any, node: Any) -> str:
    """The PREFIX lines of :func:`declared_prefixes`."""
    from rdflib import URIRef

    # term(): the namespace passes as an IRI (guards.check_prefix_declaration checked it).
    declared = declared_prefixes(graph, node)
    return "".join(f"PREFIX {p}: {term(URIRef(n))}\n" for p, n in sorted(declared.items()))


def declared_prefixes(graph: Any, node: Any) -> dict[str, str]:
    """The prefixes of a SHACL-SPARQL query's node (SHACL 1.0 §5.2.1): pySHACL's
    predeclared prefixes, then the sh:declare of its sh:prefixes ontologies and of what they
    owl:import. The one place both engines and the check of the shapes file build them."""
    from rdflib import URIRef

    declared: dict[str, str] = {}
    ontologies = list(graph.objects(node, URIRef(SH + "prefixes")))
    for ontology in ontologies:
        for imported in graph.objects(ontology, URIRef(OWL_IMPORTS)):
            if imported not in ontologies:
                ontologies.append(imported)
    for ontology in ontologies:
        for declaration in graph.objects(ontology, URIRef(SH + "declare")):
            prefix = graph.value(declaration, URIRef(SH + "prefix"))
            namespace = graph.value(declaration, URIRef(SH + "namespace"))
            if prefix is not None and namespace is not None:
                declared.setdefault(str(prefix), str(namespace))
    for prefix, namespace in _PREDECLARED:
        declared.setdefault(prefix, namespace)
    return declared


def oxigraph_refusal(text: str) -> BaseException | None:
    """Why Oxigraph refuses to run the query ``text`` (its parse, with its checks of scope
    and grouping), or None. Only parsed: the solutions of the empty store are never read."""
    import pyoxigraph as ox

    try:
        ox.Store().query(text)
    except (SyntaxError, ValueError, RuntimeError, OSError) as err:
        return err
    return None


class Unsupported(Exception):
    """SPARQL that SHACL 1.0 §5.2.1 forbids with pre-bound variables: the shapes are broken."""


@dataclass(frozen=True)
class Prebound:
    text: str
    """The query, ``$this`` written ``?this`` and ``$PATH`` replaced."""
    join: bool
    """Binding ``?this`` by a join (a ``FOCUS_MARK`` first in the WHERE clause) gives the
    pre-binding's solutions; otherwise each focus node is substituted (SEP-0007)."""


def prebound_select(select: str, path_text: str | None, shape_text: str | None = None) -> Prebound:
    """A SHACL-SPARQL SELECT ready for ``$this`` (SHACL 1.0 §5.3.1).

    A join is used when every ``$this`` is in the WHERE group itself or in an ``EXISTS``,
    ``NOT EXISTS`` or ``OPTIONAL`` of it (where the bound value reaches it); otherwise the
    caller substitutes each focus node. ``$shapesGraph`` raises :class:`Uncompilable`;
    MINUS, SERVICE, VALUES, ``AS $this`` and a sub-select that does not return ``$this``
    raise :class:`Unsupported` (§5.2.1).
    """
    out: list[str] = []
    last = 0
    selects = 0
    in_projection = False
    projection: set[str] = set()
    groups: list[bool] = []  # for each open brace: does a bound ?this reach inside?
    parens = 0
    previous = ""
    join = True
    for match in _SPARQL_TOKEN.finditer(select):
        token, kind = match.group(), match.lastgroup
        if kind == "comment":
            continue
        if kind == "word":
            word = token.upper()
            if word in ("MINUS", "SERVICE", "VALUES"):
                raise Unsupported(f"{word} in a SPARQL constraint")
            if word == "SELECT":
                selects += 1
                in_projection = True
                projection = set()
            elif word == "WHERE":
                _check_sub_select(in_projection, selects, projection)
                in_projection = False
        elif kind == "open" and token == "{":
            _check_sub_select(in_projection, selects, projection)
            in_projection = False
            groups.append(not groups or previous in ("EXISTS", "OPTIONAL"))
        elif kind == "open":
            parens += 1
        elif kind == "close" and token == "}":
            groups.pop() if groups else None
        elif kind == "close":
            parens -= 1
        elif kind == "other" and token == "*" and in_projection:
            projection.add("*")
        elif kind == "var":
            name = token[1:]
            if previous == "AS" and name in _PREBOUND:
                raise Unsupported(f"AS {token} in a SPARQL constraint")
            if name == "shapesGraph":
                raise Uncompilable("SPARQL uses $shapesGraph")
            if in_projection:
                projection.add(name)
            if name == "PATH":
                if path_text is None:
                    raise Uncompilable("$PATH in a node shape")
                out.append(select[last : match.start()] + path_text)
                last = match.end()
            elif name == "currentShape":
                if shape_text is None:
                    raise Uncompilable("$currentShape of a blank-node shape")
                out.append(select[last : match.start()] + shape_text)
                last = match.end()
            elif name == "this":
                if not all(groups):
                    # Oxigraph's substitution (SEP-0007) does not reach a FILTER in a
                    # nested group as SHACL's pre-binding does (pre-binding-003, -005).
                    raise Uncompilable("$this in a nested group")
                out.append(select[last : match.start()] + "?this")
                last = match.end()
        previous = token.upper() if kind == "word" else token
    out.append(select[last:])
    text = skolem_aware("".join(out))
    if selects > 1:
        join = False
    projected = "this" in _top_projection(text)
    if not join:
        marked = _insert(text, projected)
        return Prebound(marked.replace(" " + FOCUS_MARK, " ", 1), False)
    return Prebound(_insert(text, projected), True)


# kgraph skolemises blank nodes as it loads them (``evaluation.BLANK``), so a constraint's
# own isBlank/isIRI/STR would see an IRI where the source wrote a blank node. These calls are
# rewritten so that a skolem IRI answers as that blank node does and every other term as
# before: isBlank true, isIRI/isURI false, STR an error (SPARQL 1.1 §17.4.2.5), the error
# being ``1/0`` (an integer division by zero, §17.4.4 / XPath op:numeric-divide).
_SKOLEM_TEST = '(isIRI({0}) && STRSTARTS(STR({0}), "' + SKOLEM + '"))'
_SKOLEM_CALLS = {
    "ISBLANK": "(isBlank({0}) || " + _SKOLEM_TEST + ")",
    "ISIRI": '(isIRI({0}) && !STRSTARTS(STR({0}), "' + SKOLEM + '"))',
    "ISURI": '(isIRI({0}) && !STRSTARTS(STR({0}), "' + SKOLEM + '"))',
    "STR": "STR(IF(" + _SKOLEM_TEST + ", 1/0, {0}))",
}


_SKOLEM_MAX = 200_000


def skolem_aware(text: str) -> str:
    """``text`` (SPARQL already checked) with isBlank, isIRI, isURI and STR calls judging a
    skolem IRI as the blank node it stands for; each argument is rewritten the same way
    first, and kept in parentheses so that its operators stay its own."""
    out: list[str] = []
    last = 0
    tokens = list(_SPARQL_TOKEN.finditer(text))
    i = 0
    while i < len(tokens):
        match = tokens[i]
        name = match.group().upper() if match.lastgroup == "word" else ""
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if name in _SKOLEM_CALLS and nxt is not None and nxt.group() == "(":
            depth = 0
            for j in range(i + 1, len(tokens)):
                kind = tokens[j].lastgroup
                if kind == "open":
                    depth += 1
                elif kind == "close":
                    depth -= 1
                    if depth == 0:
                        break
            else:  # unbalanced: the query was checked, but leave it as it is
                break
            inner = "(" + skolem_aware(text[nxt.end() : tokens[j].start()]) + ")"
            if len(inner) > _SKOLEM_MAX:  # each call repeats its argument: nesting multiplies
                raise Uncompilable("SPARQL nests isBlank/isIRI/STR too deeply")
            out.append(text[last : match.start()] + _SKOLEM_CALLS[name].format(inner))
            last = tokens[j].end()
            i = j + 1
            continue
        i += 1
    out.append(text[last:])
    return "".join(out)


def _check_sub_select(in_projection: bool, selects: int, projection: set[str]) -> None:
    if in_projection and selects > 1:
        if "*" in projection:
            raise Uncompilable("SELECT * in a sub-select (pre-binding-006)")
        if "this" not in projection:
            raise Unsupported("a sub-select that does not return $this")


def _top_projection(text: str) -> set[str]:
    names: set[str] = set()
    started = False
    for match in _SPARQL_TOKEN.finditer(text):
        token, kind = match.group(), match.lastgroup
        if kind == "word" and token.upper() == "SELECT":
            started = True
        elif started and (
            (kind == "open" and token == "{") or (kind == "word" and token.upper() == "WHERE")
        ):
            return names
        elif started and kind == "var":
            names.add(token[1:])
        elif started and token == "*":
            names.add("this")
    return names


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
