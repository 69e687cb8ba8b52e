"""SHACL Core and SHACL-SPARQL compiled to SPARQL SELECTs, evaluated by Oxigraph.

Entry point::

    compiled = compile_shapes(shapes_graph)          # an rdflib Graph (shapes.load_shapes)
    findings, left = compiled.validate(store, graphs, focus=None, exact_literals=None)

``validate`` evaluates every shape that has a target over the union of the named graphs
``graphs`` of a ``pyoxigraph.Store``: the whole graph when ``focus`` is None, else only the
given focus nodes (the nodes a batch affects; they still have to be targets of a shape).
It returns :class:`kgraph.validation.Finding` objects in the form pySHACL's results are
reported in (terms in N-Triples, the path as ``validation._path_text`` writes it, and
``(p)*``, ``(p)+``, ``(p)?`` where it would write a blank node's label), and the
names (``<iri>`` or ``_:label`` of the shapes graph) of the top-level shapes it left to
pySHACL: the caller runs pySHACL for exactly those.

How it evaluates (SHACL 1.0 section numbers in the code):

* every constraint is one SELECT per (shape, component) that returns the violating
  (focus node, value node) pairs; a *focus pattern* (the shape's targets, a ``VALUES``
  block of given nodes, or the value nodes of an enclosing shape) binds ``?this`` first;
* the forms follow what Oxigraph 0.5 answers fast (docs: shared/ENGINE-NOTES): ``MINUS``
  for ``sh:class``/``sh:minCount``/``sh:hasValue`` over the whole graph, ``NOT EXISTS``
  with a bound ``?this`` for a few focus nodes, a self-join for ``sh:maxCount 1`` and
  ``sh:uniqueLang``, ``COALESCE(..., false)`` so that incomparable values violate, casts
  for the well-formedness of typed literals;
* shapes nested by ``sh:node``, ``sh:not``, ``sh:and``, ``sh:or``, ``sh:xone``,
  ``sh:qualifiedValueShape`` and ``sh:property`` are evaluated with the value nodes of the
  enclosing shape as their focus pattern; the sets of non-conforming nodes are combined in
  Python (blank nodes cannot be written into a query, so no set goes back into SPARQL);
* the store rewrites literals (``literals`` module): with ``exact_literals`` the
  literal-level components judge the rewritten triples on the source's form.

* a given focus node that is a blank node cannot be written into a query: the shape's
  targets are then evaluated whole and the results filtered (by term identity).

Left to pySHACL: recursive shapes, SPARQL with ``$shapesGraph``, with ``$this`` in a nested
group or a ``SELECT *`` sub-select (a join would not bind it there, and Oxigraph's
substitution does not reach it), SPARQL-based constraint components, ``sh:target``
(SHACL-AF), and anything whose constants do not convert (a blank node as ``sh:hasValue``).
``$currentShape`` is replaced by the shape's IRI. SPARQL that SHACL 1.0 §5.2.1 forbids
(MINUS, SERVICE, VALUES, ``AS $this``, a sub-select without ``$this``) raises InputError.

Known limits: for a path other than a single predicate, a rewritten literal is matched
with its source forms by its value alone; two source literals that the store merges
(``"1"`` and ``"01"`` on one subject and predicate) count once in ``sh:maxCount``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from kgraph.errors import InputError
from kgraph.namespaces import RDF, RDFS, SH
from kgraph.shacl.literals import ExactLiterals
from kgraph.shacl.sparqltext import Uncompilable, Unsupported, path, term

if TYPE_CHECKING:
    from kgraph.shacl.model import Finding

TARGETS = ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf")
NESTING = ("node", "not", "qualifiedValueShape", "property")
LISTS = ("and", "or", "xone")


def sh(local: str) -> Any:
    from rdflib import URIRef

    return URIRef(SH + local)


@dataclass
class Shape:
    """One shape of the shapes graph, with what the compiler needs of it."""

    graph: Any
    node: Any

    @cached_property
    def _parameters(self) -> dict[str, list[Any]]:
        """The shape's objects by predicate, read from the shapes graph once: compiling and
        evaluating ask for its parameters thousands of times a run, and each rdflib lookup
        costs tens of microseconds. (The shapes graph does not change once compiled.)"""
        found: dict[str, list[Any]] = {}
        for predicate, value in self.graph.predicate_objects(self.node):
            found.setdefault(str(predicate), []).append(value)
        return found

    def values(self, local: str) -> list[Any]:
        return list(self._parameters.get(SH + local, ()))

    def value(self, local: str) -> Any:
        found = self._parameters.get(SH + local)
        return found[0] if found else None

    @cached_property
    def name(self) -> str:
        """sh:sourceShape as validation.Finding writes it."""
        from kgraph.shacl.engine import _shape_name

        return _shape_name(self.node)

    @cached_property
    def path_node(self) -> Any:
        return self.value("path")

    @property
    def is_property(self) -> bool:
        return self.path_node is not None

    @cached_property
    def path_sparql(self) -> str | None:
        return None if self.path_node is None else path(self.graph, self.path_node)

    @cached_property
    def path_text(self) -> str | None:
        from kgraph.shacl.sparqltext import path_text

        return path_text(self.graph, self.path_node)

    @cached_property
    def predicate(self) -> str | None:
        """The path's IRI when the path is a single predicate."""
        from rdflib import URIRef

        return str(self.path_node) if isinstance(self.path_node, URIRef) else None

    @cached_property
    def severity(self) -> str:
        return str(self.value("severity") or SH + "Violation").removeprefix(SH)

    @cached_property
    def messages(self) -> tuple[str, ...]:
        return tuple(sorted(str(m) for m in self.values("message")))

    @cached_property
    def deactivated(self) -> bool:
        return str(self.value("deactivated")).lower() == "true"

    def members(self, local: str) -> list[Any]:
        return [m for lst in self.values(local) for m in self.graph.items(lst)]

    def nested(self) -> list[Any]:
        out = [n for local in NESTING for n in self.values(local)]
        return out + [n for local in LISTS for n in self.members(local)]


@dataclass
class CompiledShapes:
    """A shapes graph ready to be evaluated by Oxigraph (see the module docstring)."""

    graph: Any
    top: list[Shape]
    """The shapes with a target (SHACL 1.0 §2.1.3), deactivated ones excluded."""
    left: dict[str, str] = field(default_factory=dict)
    """Top-level shapes left to pySHACL (their name -> why), known from the shapes alone."""
    failed: dict[str, str] = field(default_factory=dict)
    """Top-level shapes whose queries failed to evaluate in a run (name -> why): from then
    on they are not evaluated here either, and the caller (``run``) gives them to pySHACL,
    as it does ``left``. Never counted as checked by this engine."""
    _shapes: dict[Any, Shape] = field(default_factory=dict)

    def shape(self, node: Any) -> Shape:
        if node not in self._shapes:
            self._shapes[node] = Shape(self.graph, node)
        return self._shapes[node]

    def validate(
        self,
        store: Any,
        graphs: Sequence[Any],
        *,
        focus: Collection[Any] | None = None,
        exact_literals: ExactLiterals | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[Finding], tuple[str, ...]]:
        """Validate the union of ``graphs`` (``NamedNode``/``DefaultGraph`` or IRI strings) of
        ``store``: every target node, or only the ``focus`` nodes (Oxigraph terms).

        Returns the findings (sorted) and the names of the shapes left to pySHACL.
        ``exact_literals`` (``literals.exact_literals`` of the parsed quads) makes
        sh:datatype, sh:pattern and the lengths judge the source's literals.
        ``progress(done, total)`` is called as the shapes are evaluated.
        """
        from kgraph.shacl.evaluation import Engine

        engine = Engine(self, store, graphs, focus, exact_literals or ExactLiterals())
        findings = engine.run([s for s in self.top if s.node.n3() not in self.failed], progress)
        findings.sort(key=lambda f: (f.focus, f.shape, f.path or "", f.value or "", f.component))
        return findings, tuple(sorted(self.left.keys() | self.failed.keys()))


def compile_shapes(graph: Any) -> CompiledShapes:
    """Analyse a shapes graph (rdflib): which shapes are targeted, which can be compiled."""
    from rdflib import RDF as R
    from rdflib import URIRef

    compiled = CompiledShapes(graph, [])
    candidates: set[Any] = set()
    for local in TARGETS:
        candidates |= set(graph.subjects(sh(local), None))
    for kind in ("NodeShape", "PropertyShape"):
        for shape in graph.subjects(R.type, sh(kind)):
            if (shape, R.type, URIRef(RDFS + "Class")) in graph:
                candidates.add(shape)  # implicit class target (§2.1.3.3)
    custom = _custom_parameters(graph)
    for node in sorted(candidates, key=lambda n: n.n3()):
        shape = compiled.shape(node)
        if shape.deactivated:
            continue
        try:
            reason = _why_not(compiled, shape, custom)
        except Unsupported as err:
            # A broken shape is the shapes file's fault, as validation._pyshacl says it.
            raise InputError(
                f"the shapes cannot be used: {err}", path="ontology/shapes.ttl"
            ) from err
        if reason is not None:
            compiled.left[node.n3()] = reason
        else:
            compiled.top.append(shape)
    return compiled


def _custom_parameters(graph: Any) -> set[Any]:
    """Parameters of SPARQL-based constraint components (SHACL 1.0 §6): left to pySHACL."""
    out = set()
    # Any node with sh:parameter: a component may be typed with a subclass of
    # sh:ConstraintComponent (validator-001).
    for parameter in graph.objects(None, sh("parameter")):
        out |= set(graph.objects(parameter, sh("path")))
    return out


def _why_not(compiled: CompiledShapes, top: Shape, custom: set[Any]) -> str | None:
    """Why ``top`` (or a shape it reaches) cannot be compiled exactly, or None."""
    done: set[Any] = set()

    def visit(node: Any, trail: tuple[Any, ...]) -> str | None:
        if node in trail:
            return f"recursive shape {node.n3()}"
        if node in done:
            return None
        shape = compiled.shape(node)
        if (node, sh("target"), None) in compiled.graph and node != top.node:
            return "sh:target (SHACL-AF) is not compiled"
        if (top.node, sh("target"), None) in compiled.graph:
            return "sh:target (SHACL-AF) is not compiled"
        if any(p in custom for p in compiled.graph.predicates(node, None)):
            return "a SPARQL-based constraint component"
        try:
            _check_constants(compiled, shape)
        except Uncompilable as err:
            return str(err)
        for child in shape.nested():
            reason = visit(child, (*trail, node))
            if reason is not None:
                return reason
        done.add(node)
        return None

    return visit(top.node, ())


def _check_constants(compiled: CompiledShapes, shape: Shape) -> None:
    from kgraph.shacl.sparqltext import (
        FOCUS_MARK,
        constraint_prefixes,
        oxigraph_refusal,
        prebound_select,
    )

    _ = shape.path_sparql
    _check_counts(shape)
    for constraint in shape.values("sparql"):
        if str(compiled.graph.value(constraint, sh("deactivated"))).lower() == "true":
            continue
        select = compiled.graph.value(constraint, sh("select"))
        if select is None:
            raise Uncompilable("a SPARQL constraint without sh:select")
        from rdflib import URIRef

        own = term(shape.node) if isinstance(shape.node, URIRef) else None
        query = prebound_select(str(select), shape.path_sparql, own)
        # The text as Engine.sparql will run it: SPARQL the shapes file may hold (the shapes
        # were checked as written: index.check_engine_sparql) that kgraph's rewriting makes
        # unrunnable (a $this it adds to an aggregate's projection) goes to pySHACL now,
        # known before the run, rather than failing in the middle of it.
        text = constraint_prefixes(compiled.graph, constraint) + query.text.replace(
            FOCUS_MARK, "\n"
        )
        refusal = oxigraph_refusal(text)
        if refusal is not None:
            raise Uncompilable(f"Oxigraph cannot run its SPARQL as rewritten: {_brief(refusal)}")
    for local in ("hasValue", "class", "datatype", "equals", "disjoint", "lessThan"):
        for value in shape.values(local):
            term(value)
    for value in shape.members("in"):
        term(value)


def _brief(err: BaseException) -> str:
    """An engine's message on one line, short (Oxigraph lists every expected token)."""
    text = " ".join(str(err).split())
    return text if len(text) <= 160 else text[:157] + "..."


_COUNTS = (
    "minCount",
    "maxCount",
    "minLength",
    "maxLength",
    "qualifiedMinCount",
    "qualifiedMaxCount",
)


def _check_counts(shape: Shape) -> None:
    """A count parameter that is not a non-negative integer makes the shapes ill-formed
    (SHACL 1.0 §4): an error in the shapes file, as pySHACL says it, never a verdict on the
    data nor a shape quietly left to the other engine."""
    from rdflib import Literal
    from rdflib.namespace import XSD as X

    for local in _COUNTS:
        for value in shape.values(local):
            ok = isinstance(value, Literal) and value.datatype == X.integer
            if ok:
                try:
                    ok = int(value) >= 0
                except ValueError:
                    ok = False
            if not ok:
                raise InputError(
                    f"the shapes cannot be used: sh:{local} of {shape.node.n3()} must be a "
                    f"non-negative xsd:integer, not {value.n3()}",
                    path="ontology/shapes.ttl",
                )


def rdf_type() -> str:
    return f"<{RDF}type>"


def subclass() -> str:
    return f"<{RDFS}subClassOf>"


def as_graphs(graphs: Iterable[Any]) -> list[Any]:
    import pyoxigraph as ox

    return [ox.NamedNode(g) if isinstance(g, str) else g for g in graphs]
