"""What the SHACL shapes read: targets, and the paths from a focus node they follow.

Validating a node against our shapes reads only the triples along a few paths from it.
Knowing those *read paths* lets kgraph validate a batch on a small neighbourhood of the
nodes it touches (cost follows the batch, not the graph) and validate a big graph in
chunks of bounded memory. A path is a tuple of edges ``(predicate, inverse)``.

Read paths come from the shapes themselves (``sh:path``, plus ``rdf:type`` after a path
with ``sh:class``, plus the paths of nested shapes) and, for SPARQL-based constraints,
from their ``kg:reads`` annotation (SHACL path syntax). A shape whose reads are unbounded
(``sh:zeroOrMorePath`` ...) or undeclared is *global*: with one, kgraph falls back to
validating the whole graph.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kgraph.errors import InputError, KGraphError
from kgraph.guards import check_prefix_declaration, check_query
from kgraph.namespaces import KG, RDF, RDFS, SH
from kgraph.shacl import compiled as compiled_engine
from kgraph.shacl.model import short_term
from kgraph.shacl.sparql import extract, without_handled
from kgraph.shacl.sparqltext import constraint_prefixes, declared_prefixes

if TYPE_CHECKING:
    from kgraph.guardcache import RdflibVerdicts
    from kgraph.shacl.compiled import CompiledShapes
    from kgraph.shapecache import ShapesCache

Edge = tuple[str, bool]
ReadPath = tuple[Edge, ...]

_TYPE: Edge = (RDF + "type", False)
_MAX_NESTING = 6


class _Unbounded(Exception):
    pass


@dataclass
class ShapeIndex:
    """The analysis of a shapes graph (an rdflib Graph)."""

    graph: Any
    reads: set[ReadPath] = field(default_factory=set)
    global_shapes: set[str] = field(default_factory=set)
    target_classes: set[str] = field(default_factory=set)
    target_nodes: set[Any] = field(default_factory=set)
    subjects_of: set[str] = field(default_factory=set)
    objects_of: set[str] = field(default_factory=set)
    shape_count: int = 0
    targets_by_shape: dict[str, list[str]] = field(default_factory=dict)
    sparql: list[Any] = field(default_factory=list)
    """SPARQL-based constraints kgraph evaluates itself (see shacl/sparql.py)."""
    handled: set[tuple[Any, Any]] = field(default_factory=set)
    """The (shape, constraint) pairs of those constraints' ``sh:sparql`` triples."""
    _core: Any = field(default=None, repr=False, compare=False)
    compiled: CompiledShapes | None = field(default=None, repr=False, compare=False)
    """The compiler's survey of these shapes (``run._compiled``), once made or remembered."""
    leftovers: dict[frozenset[str], ShapeIndex | None] = field(
        default_factory=dict, repr=False, compare=False
    )
    """The index of the shapes left to pySHACL, by their names (``run._leftover``)."""

    @property
    def core_graph(self) -> Any:
        """The shapes graph without the constraints kgraph evaluates itself: what pySHACL is
        given. Copied on first use only: the compiled engine never needs it, and the copy
        was a fifth of reading the shapes on every command."""
        if self._core is None:
            self._core = without_handled(self.graph, self.handled)
        return self._core

    @property
    def is_local(self) -> bool:
        return not self.global_shapes

    @property
    def predicates(self) -> set[str]:
        return {p for path in self.reads for p, _ in path}


def load_shapes(
    data: bytes,
    *,
    name: str,
    max_depth: int,
    verdicts: RdflibVerdicts | None = None,
    cache: ShapesCache | None = None,
) -> ShapeIndex:
    """Parse a shapes file strictly (via Oxigraph), check its SPARQL, and analyse it;
    ``verdicts`` remembers what rdflib's parser accepted (:mod:`kgraph.guardcache`),
    ``cache`` the analysis and the compiler's survey of these bytes
    (:mod:`kgraph.shapecache`). The parse and the checks run whatever the caches hold."""
    import pyoxigraph as ox

    from kgraph.convert import graph_of
    from kgraph.store import syntax_error

    try:
        triples = list(ox.parse(data, format=ox.RdfFormat.TURTLE))
    except SyntaxError as err:
        raise syntax_error(err, name, data) from err
    graph = graph_of(triples)
    # The guards first: analyse (shacl.sparql.extract) and check_engine_sparql hand the
    # shapes' SPARQL to Oxigraph's parser, which only text the guards passed may reach.
    _check_sparql(graph, name, max_depth, verdicts)
    key = cache.key(data) if cache is not None and cache.active else None
    blanks: list[str] = []
    if key is not None:
        seen: dict[str, None] = {}
        for triple in triples:
            for node in (triple.subject, triple.object):
                if isinstance(node, ox.BlankNode):
                    seen.setdefault(node.value, None)
        blanks = list(seen)
    remembered = cache.get(key, graph, blanks) if cache is not None and key is not None else None
    index = remembered if remembered is not None else analyse(graph)
    check_engine_sparql(graph, name, data)
    if cache is not None and key is not None and remembered is None:
        try:
            index.compiled = compiled_engine.compile_shapes(
                graph
            )  # looked up per call: tests count it
        except KGraphError:
            pass  # raised again where validation compiles them, as without a cache
        else:
            cache.put(key, index, index.compiled, blanks)
    return index


_ORACLE_WORDS = re.compile(r"\b[A-Z][a-z]+(?: [a-zA-Z$]+)+")
_AT = re.compile(r"error at (\d+):(\d+)")
_PATH_VAR = re.compile(r"\$PATH\b")


def check_engine_sparql(graph: Any, name: str, data: bytes = b"") -> None:
    """Every sh:select and sh:ask of the shapes, with the prefixes the engines declare
    (``sparqltext.constraint_prefixes``), must parse as Oxigraph parses it: the engine that
    runs them. One that does not is the shapes file's fault (SHACL 1.0 §5.1: the value is a
    valid SPARQL query once the prefixes are added), named with its shape and line, before
    any data is read: never a shape quietly left unchecked, nor pySHACL's lenient reading
    (rdflib runs ``SELECT $this ... GROUP BY ?x``, which SPARQL 1.1 §11.4 makes an error).

    Runs after ``_check_sparql`` (the guards: no SERVICE reaches even an empty store).
    ``$PATH`` is written in as an IRI first, as the engines substitute it (§6.3)."""
    import pyoxigraph as ox
    from rdflib import URIRef

    from kgraph.sparql import SparqlDepthError, SparqlSyntaxError
    from kgraph.sparql import parse as kgraph_parse

    text_of_file = data.decode("utf-8", "replace")
    for predicate in ("select", "ask"):
        for node, literal in sorted(graph.subject_objects(URIRef(SH + predicate)), key=str):
            query = str(literal)
            prefixes = constraint_prefixes(graph, node)
            try:
                ox.Store().query(prefixes + _PATH_VAR.sub("<urn:kgraph:path>", query))
            except SyntaxError as err:
                message = " ".join(str(err).split())
                at = _AT.search(message)
                line = column = None
                if at is not None:
                    line = int(at.group(1)) - prefixes.count("\n")
                    column = int(at.group(2))
                    # Oxigraph places a whole-query error (an unbound projection) at the
                    # end of the text: the last line that has any, not the blank after it.
                    written = [n for n, t in enumerate(query.split("\n"), 1) if t.strip()]
                    if written and line > written[-1]:
                        line, column = written[-1], None
                # Oxigraph lists every token it expected; the reason a person can act on is
                # the sentence in that list ("Prefix not found", "The SELECT contains a
                # variable that is unbound"), else kgraph's own parse's message (it reads
                # the text as Oxigraph does), else Oxigraph's, shortened.
                reasons = [r for r in _ORACLE_WORDS.findall(message) if "xpected" not in r]
                why = "; ".join(dict.fromkeys(reasons))
                if not why:
                    try:
                        kgraph_parse(
                            _PATH_VAR.sub("<urn:kgraph:path>", query),
                            max_depth=sys.maxsize,
                            prefixes=declared_prefixes(graph, node),
                        )
                        brief = _AT.sub("", message, count=1).lstrip(": ")
                        why = f"Oxigraph: {brief[:120]}"
                    except (SparqlSyntaxError, SparqlDepthError) as own:
                        why = str(own)
                owner = _owner(graph, node)
                start = text_of_file.find(query) if query.strip() else -1
                where: dict[str, Any] = {"path": f"{name} (sh:{predicate})"}
                if start >= 0 and line is not None and line >= 1:
                    where = {"path": name, "line": text_of_file.count("\n", 0, start) + line}
                elif line is not None and line >= 1:
                    where = {**where, "line": line, "column": column}
                raise InputError(
                    f"the sh:{predicate} of {owner} is not SPARQL Oxigraph can parse: {why}; "
                    "nothing was validated or written",
                    **where,
                ) from None
            except (ValueError, RuntimeError, OSError):
                # Parsed, but this engine cannot run it (a custom function it lacks): the
                # compiler leaves such a constraint to pySHACL (compiled._check_constants).
                continue


def _owner(graph: Any, node: Any) -> str:
    """The shape (or component) a SPARQL query node belongs to, as the report names it."""
    from rdflib import URIRef

    for predicate in ("sparql", "validator", "nodeValidator", "propertyValidator", "target"):
        for owner in sorted(graph.subjects(URIRef(SH + predicate), node), key=str):
            if isinstance(owner, URIRef):
                return f"shape {short_term(owner.n3())}"
            return f"a shape ({owner.n3()})"
    if isinstance(node, URIRef):
        return short_term(node.n3())
    return f"the node {node.n3()}"


def _check_sparql(
    graph: Any, name: str, max_depth: int, verdicts: RdflibVerdicts | None = None
) -> None:
    """Shapes' SPARQL runs in rdflib's engine, which would follow SERVICE: refuse it, and
    refuse prefix declarations that would paste anything but an IRI into that SPARQL."""
    from rdflib import URIRef

    for predicate in ("select", "ask", "construct"):
        for node, text in graph.subject_objects(URIRef(SH + predicate)):
            try:
                check_query(
                    str(text),
                    max_depth=max_depth,
                    source=f"{name} (sh:{predicate})",
                    prefixes=None,  # declared apart (sh:declare), pasted in by the engines
                    rdflib=True,
                    rdflib_verdicts=verdicts,
                )
            except KGraphError as err:
                # The same refusal, saying whose query it is.
                raise type(err)(
                    f"{err.message} (the sh:{predicate} of {_owner(graph, node)})",
                    path=err.path,
                    line=err.line,
                    column=err.column,
                ) from err
    for declaration in graph.objects(None, URIRef(SH + "declare")):
        prefix = graph.value(declaration, URIRef(SH + "prefix"))
        namespace = graph.value(declaration, URIRef(SH + "namespace"))
        check_prefix_declaration(str(prefix), str(namespace), source=f"{name} (sh:declare)")
    if verdicts is not None:
        verdicts.save()


def analyse(graph: Any) -> ShapeIndex:
    from rdflib import RDF as R
    from rdflib import URIRef

    index = ShapeIndex(graph)
    shapes = set(graph.subjects(R.type, sh("NodeShape"))) | set(
        graph.subjects(R.type, sh("PropertyShape"))
    )
    for shape in shapes:
        targets: list[str] = []
        for cls in graph.objects(shape, sh("targetClass")):
            if not isinstance(cls, URIRef):
                # SHACL 1.0 §2.1.3.3: the values are IRIs. A literal would otherwise end up
                # as text in a query (``"urn:a> } SERVICE <...> ..."``).
                raise InputError(
                    f"sh:targetClass of {shape.n3()} must be an IRI, not {cls.n3()}",
                    path="ontology/shapes.ttl",
                )
            index.target_classes.add(str(cls))
            targets.append(str(cls))
        if (shape, R.type, URIRef(RDFS + "Class")) in graph:
            index.target_classes.add(str(shape))
            targets.append(str(shape))
        for node in graph.objects(shape, sh("targetNode")):
            index.target_nodes.add(node)
        for p in graph.objects(shape, sh("targetSubjectsOf")):
            index.subjects_of.add(str(p))
        for p in graph.objects(shape, sh("targetObjectsOf")):
            index.objects_of.add(str(p))
            index.reads.add(((str(p), True),))
        index.targets_by_shape[str(shape)] = targets
    targeted = [s for s in shapes if _has_target(graph, s)]
    index.shape_count = len(targeted)
    for shape in targeted:
        try:
            _shape_reads(graph, shape, (), index.reads, 0)
        except _Unbounded:
            index.global_shapes.add(str(shape))

    index.sparql, index.handled = extract(graph)
    return index


def _has_target(graph: Any, shape: Any) -> bool:
    from rdflib import URIRef

    return any(
        (shape, URIRef(SH + t), None) in graph
        for t in ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf")
    )


def _shape_reads(
    graph: Any, shape: Any, prefix: ReadPath, reads: set[ReadPath], depth: int
) -> None:
    from rdflib import URIRef

    if depth > _MAX_NESTING:
        raise _Unbounded
    path_node = graph.value(shape, sh("path"))
    bases = (
        [prefix + alt for alt in _paths(graph, path_node)] if path_node is not None else [prefix]
    )
    for base in bases:
        if base:
            reads.add(base)
        if (shape, sh("class"), None) in graph:
            reads.add((*base, _TYPE))
        for member in _members(graph, shape, ("node", "qualifiedValueShape")):
            _shape_reads(graph, member, base, reads, depth + 1)
        for key in ("and", "or", "xone"):
            for lst in graph.objects(shape, sh(key)):
                for member in graph.items(lst):
                    _shape_reads(graph, member, base, reads, depth + 1)
        for member in graph.objects(shape, sh("not")):
            _shape_reads(graph, member, base, reads, depth + 1)
        for member in graph.objects(shape, sh("property")):
            _shape_reads(graph, member, base, reads, depth + 1)
    for key in ("lessThan", "lessThanOrEquals", "equals", "disjoint"):
        for other in graph.objects(shape, sh(key)):
            reads.add((*prefix, (str(other), False)))
    for constraint in graph.objects(shape, sh("sparql")):
        declared = list(graph.objects(constraint, URIRef(KG + "reads")))
        if not declared:
            raise _Unbounded
        for path in declared:
            for alt in _paths(graph, path):
                reads.add(prefix + alt)


def sh(local: str) -> Any:
    """An rdflib term in the SHACL namespace."""
    from rdflib import URIRef

    return URIRef(SH + local)


def _members(graph: Any, shape: Any, keys: Iterable[str]) -> Iterable[Any]:
    from rdflib import URIRef

    for key in keys:
        yield from graph.objects(shape, URIRef(SH + key))


def _paths(graph: Any, node: Any) -> list[ReadPath]:
    """A SHACL path as the list of its alternatives, each a sequence of edges."""
    from rdflib import BNode, URIRef

    if isinstance(node, URIRef):
        return [((str(node), False),)]
    if not isinstance(node, BNode):
        raise InputError(f"malformed sh:path {node!r}")
    inverse = graph.value(node, sh("inversePath"))
    if inverse is not None:
        if not isinstance(inverse, URIRef):
            raise _Unbounded  # complex inverse paths: not worth the bookkeeping
        return [((str(inverse), True),)]
    alternatives = graph.value(node, sh("alternativePath"))
    if alternatives is not None:
        return [alt for member in graph.items(alternatives) for alt in _paths(graph, member)]
    for unbounded in ("zeroOrMorePath", "oneOrMorePath", "zeroOrOnePath"):
        if graph.value(node, sh(unbounded)) is not None:
            raise _Unbounded
    sequence: list[ReadPath] = [()]
    members = list(graph.items(node))
    if not members:
        raise InputError(f"malformed sh:path {node!r}")
    for member in members:
        sequence = [head + tail for head in sequence for tail in _paths(graph, member)]
    return sequence
