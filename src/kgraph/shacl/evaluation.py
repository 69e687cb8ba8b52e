"""The evaluation of compiled shapes over an Oxigraph store (see ``compiled``).

A *focus pattern* is a function of a variable name returning a SPARQL group that binds that
variable to the focus nodes: a shape's targets, a ``VALUES`` block of given nodes, or the
value nodes of an enclosing shape. Each component is one SELECT over it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kgraph.namespaces import RDF, RDFS, SH, SKOLEM, XSD
from kgraph.shacl import literals as lit
from kgraph.shacl.compiled import Shape, as_graphs, sh
from kgraph.shacl.sparqltext import (
    FOCUS_MARK,
    Uncompilable,
    constraint_prefixes,
    prebound_select,
    term,
)

if TYPE_CHECKING:
    from kgraph.shacl.compiled import CompiledShapes
    from kgraph.shacl.model import Finding

Focus = Callable[[str], str]
Progress = Callable[[int, int], None]
"""``progress(done, total)``: shapes evaluated so far, of how many."""

TYPE, SUB = f"<{RDF}type>", f"<{RDFS}subClassOf>"
# Datatypes whose well-formedness an XSD cast in Oxigraph decides (SPARQL 1.1 §17.5).
CASTABLE = {
    XSD + local
    for local in ("integer", "decimal", "float", "double", "boolean", "dateTime", "date", "time")
}
# kgraph skolemises blank nodes as it loads them (one IRI per blank node, under SKOLEM, so
# that exports and batch files name them stably), and a skolem IRI stands for a blank node
# (RDF 1.1 Concepts §3.5): node kinds and the string of a value judge it as the blank node
# the source wrote, as pySHACL on the parsed file does.
BLANK = f'(isBlank(?v) || (isIRI(?v) && STRSTARTS(STR(?v), "{SKOLEM}")))'
IRI = f'(isIRI(?v) && !STRSTARTS(STR(?v), "{SKOLEM}"))'
NODE_KINDS = {
    "IRI": f"!{IRI}",
    "BlankNode": f"!{BLANK}",
    "Literal": "!isLiteral(?v)",
    "BlankNodeOrIRI": "isLiteral(?v)",
    "BlankNodeOrLiteral": IRI,
    "IRIOrLiteral": BLANK,
}
RANGES = {"minExclusive": ">", "minInclusive": ">=", "maxExclusive": "<", "maxInclusive": "<="}
DEFAULT_MESSAGES = {
    "ClassConstraintComponent": "Value is not an instance of the class",
    "DatatypeConstraintComponent": "Value does not have the datatype (or is ill-formed)",
    "NodeKindConstraintComponent": "Value is not of the node kind",
    "MinCountConstraintComponent": "Fewer values than sh:minCount",
    "MaxCountConstraintComponent": "More values than sh:maxCount",
    "MinLengthConstraintComponent": "Value is shorter than sh:minLength",
    "MaxLengthConstraintComponent": "Value is longer than sh:maxLength",
    "PatternConstraintComponent": "Value does not match the pattern",
    "LanguageInConstraintComponent": "Language tag not in sh:languageIn",
    "UniqueLangConstraintComponent": "Language tag used more than once",
    "InConstraintComponent": "Value is not in sh:in",
    "HasValueConstraintComponent": "The required value is missing",
    "ClosedConstraintComponent": "Property not allowed by the closed shape",
    "NotConstraintComponent": "Value conforms to the sh:not shape",
    "AndConstraintComponent": "Value does not conform to every sh:and shape",
    "OrConstraintComponent": "Value conforms to none of the sh:or shapes",
    "XoneConstraintComponent": "Value does not conform to exactly one sh:xone shape",
    "NodeConstraintComponent": "Value does not conform to the sh:node shape",
    "QualifiedMinCountConstraintComponent": "Too few values conform to the qualified shape",
    "QualifiedMaxCountConstraintComponent": "Too many values conform to the qualified shape",
    "EqualsConstraintComponent": "Values differ from those of sh:equals",
    "DisjointConstraintComponent": "Value also a value of sh:disjoint",
    "LessThanConstraintComponent": "Value is not less than the other property's",
    "LessThanOrEqualsConstraintComponent": "Value is greater than the other property's",
    "SPARQLConstraintComponent": "SPARQL constraint violated",
}
for _name, _op in RANGES.items():
    DEFAULT_MESSAGES[_name[0].upper() + _name[1:] + "ConstraintComponent"] = (
        f"Value is not {_op} the sh:{_name} bound"
    )


@dataclass
class Hit:
    focus: Any
    value: Any
    shape: Shape
    component: str
    path: str | None
    constraint: Any = None
    row: Any = None
    exact: bool = False
    note: str | None = None
    source: Any = None
    """The parameter value behind the result (``components._hit``)."""

    @property
    def origin(self) -> tuple[Any, ...]:
        """The constraint the result comes from, as terms of the shapes graph: two results
        that agree on every reported field but come from two constraints (two blank
        sh:sparql nodes, two anonymous property shapes, two values of sh:class) are two
        results (SHACL 1.0 §3.6.2: each has its own sh:sourceConstraint or source shape)."""
        return (self.shape.node, self.component, self.constraint, self.source)


class Engine:
    def __init__(
        self,
        compiled: CompiledShapes,
        store: Any,
        graphs: Sequence[Any],
        focus: Collection[Any] | None,
        exact: lit.ExactLiterals,
    ) -> None:
        import pyoxigraph as ox

        self.compiled = compiled
        self.store = store
        self.graphs = as_graphs(graphs)
        self.exact = exact
        self.only: set[Any] | None = None
        self.values: list[Any] | None = None
        if focus is not None:
            if any(isinstance(n, ox.BlankNode) for n in focus):
                self.only = set(focus)  # not writable in a query: filter afterwards
            else:
                self.values = list(focus)
        self.wide = self.values is None
        self.counter = 0
        self.graph_set = set(self.graphs)
        self.labels: dict[Any, str] = {}
        self.taken: set[str] = set()
        self.cache: dict[tuple[Any, str, bool], list[Hit]] = {}
        self.classes: dict[str, list[str] | None] = {}
        # A remote store (endpoint.EndpointStore) is sent forms every store answers right.
        self.portable = bool(getattr(store, "portable", False))
        # Oxigraph in this process: forms measured faster here that a remote store may
        # answer wrongly or slowly (_union's one walk of the classes, the store's counting
        # of sh:qualifiedMinCount/MaxCount).
        self.local = isinstance(store, ox.Store) and not self.portable
        self.rewritten = (
            "VALUES ?v { " + " ".join(str(o) for o in exact.by_object) + " }" if exact else ""
        )

    # -- plumbing ----------------------------------------------------------------------------

    def q(self, text: str) -> list[Any]:
        return list(self.store.query(text, default_graph=self.graphs))

    def instances(self, var: str, cls: Any, *, minus: bool = False) -> str:
        """A pattern binding ``?var`` to the SHACL instances of ``cls`` (SHACL 1.0 §1.5:
        ``rdf:type/rdfs:subClassOf*``; ``minus``: the form for inside a MINUS or NOT
        EXISTS). The one place where the form depends on the store: Oxigraph in this
        process gets the path, which it answers right and fastest; a remote store
        (``portable``) the subclasses found first by a query of their own and written
        into the pattern (:func:`subclasses` says why)."""
        if not self.portable:
            if minus:
                return f"?{var} {TYPE} ?kgraph_t . ?kgraph_t {SUB}* {term(cls)}"
            return f"?kgraph_c {SUB}* {term(cls)} . ?{var} {TYPE} ?kgraph_c"
        names = self.subclasses_of(cls)
        if names is None:
            return f"?{var} {TYPE}/{SUB}* {term(cls)} ."
        return instances_of(names, minus=minus).replace("?THIS", f"?{var}")

    def instances_of_any(self, classes: Sequence[Any]) -> list[str]:
        """UNION branches binding ``?THIS`` to the instances of any of ``classes``: one
        per class here, one for all of them (a single pass over rdf:type) remotely."""
        if not self.portable:
            return [f"{{ {self.instances('THIS', c)} }}" for c in classes]
        parts, closure = [], set()
        for c in classes:
            names = self.subclasses_of(c)
            if names is None:
                parts.append(f"{{ {self.instances('THIS', c)} }}")
            else:
                closure |= set(names)
        if closure:
            parts.insert(0, f"{{ {instances_of(closure)} }}")
        return parts

    def subclasses_of(self, cls: Any) -> list[str] | None:
        name = term(cls)
        if name not in self.classes:
            self.classes[name] = subclass_names(self.q, name)
        return self.classes[name]

    def fresh(self) -> str:
        self.counter += 1
        return f"kgraph_{self.counter}"

    def run(self, shapes: Sequence[Shape], progress: Progress | None = None) -> list[Finding]:
        """The findings of ``shapes``; ``progress(done, total)`` after each shape (the top
        shapes, then the property shapes they share)."""
        # Keyed by the finding, the constraint behind it and the top shape whose focus node
        # it is on: the same result reached twice through one top shape (a cached nested
        # shape, overlapping foci) is one; through two top shapes that both target the node
        # it is two, as pySHACL (and SHACL 1.0 §3.6.2, a result per shape validated) has it.
        out: dict[Any, Finding] = {}
        children = {c for s in shapes if not s.is_property for c in s.values("property")}
        total, done = len(shapes) + len(children), 0

        def step() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(min(done, total), total)

        def emit(hits: list[Hit], route: Any) -> None:
            for hit in hits:
                if self.only is None or hit.focus in self.only:
                    finding = self.finding(hit)
                    out.setdefault((finding.key, hit.origin, route), finding)

        # A property shape that several node shapes share (PrefLabelShape) is evaluated once,
        # over the union of their focus nodes: its results at a node do not depend on which
        # node shape brought the node in.
        shared: dict[Any, list[tuple[Shape, Focus]]] = {}
        for shape in shapes:
            step()
            try:
                focus = self.top_focus(shape)
                if self.values is not None:
                    # The given nodes this shape targets, found once: most shapes target
                    # none of a batch's nodes and cost no further query.
                    nodes = self.focus_nodes(focus)
                    if not nodes:
                        continue
                    block = "VALUES ?THIS { " + " ".join(str(n) for n in nodes) + " }"
                    focus = _values_focus(block)
                elif not self.store.query(f"ASK {{ {focus('this')} }}", default_graph=self.graphs):
                    continue
                emit(self.results(shape, focus, children=shape.is_property), shape.node)
            except (Uncompilable, SyntaxError, OSError, ValueError) as err:
                self.compiled.failed[shape.node.n3()] = f"not evaluated: {err}"
                continue
            if not shape.is_property:
                for child in shape.values("property"):
                    shared.setdefault(child, []).append((shape, focus))
        for child, parents in shared.items():
            step()
            foci = [focus for _, focus in parents]
            if self.values is None and self.portable:
                # the parents' targets together: one pass over rdf:type for all their classes
                foci = [self.top_focus(*(parent for parent, _ in parents))]
            try:
                hits = self.results(self.compiled.shape(child), _union(foci, local=self.local))
                if len(parents) == 1:
                    emit(hits, parents[0][0].node)
                else:
                    # Each parent's own focus (not the union the shape was evaluated over)
                    # says which of the results are on its nodes.
                    for parent, focus in parents:
                        mine = self.among(focus, {h.focus for h in hits})
                        emit([h for h in hits if h.focus in mine], parent.node)
            except (Uncompilable, SyntaxError, OSError, ValueError) as err:
                for parent, _ in parents:
                    self.compiled.failed[parent.node.n3()] = f"not evaluated: {err}"
        if progress is not None:
            progress(total, total)  # the shared shapes of shapes without focus nodes: none left
        # A top shape given up on (in ``failed``) is validated whole by pySHACL (``run``):
        # what this run found for it before a shared shape failed would come twice.
        failed = self.compiled.failed
        return [f for (_, _, route), f in out.items() if route.n3() not in failed]

    # -- focus patterns ----------------------------------------------------------------------

    def top_focus(self, *shapes: Shape) -> Focus:
        """The focus nodes of ``shapes`` (their targets, together)."""
        from rdflib import RDF as R
        from rdflib import BNode, URIRef

        classes: list[Any] = []
        nodes: list[Any] = []
        subjects: list[Any] = []
        objects: list[Any] = []
        for shape in shapes:
            classes += shape.values("targetClass")
            if any(
                (shape.node, R.type, sh(k)) in shape.graph for k in ("NodeShape", "PropertyShape")
            ) and ((shape.node, R.type, URIRef(RDFS + "Class")) in shape.graph):
                classes.append(shape.node)
            nodes += [n for n in shape.values("targetNode") if not isinstance(n, BNode)]
            subjects += shape.values("targetSubjectsOf")
            objects += shape.values("targetObjectsOf")
        classes, nodes = list(dict.fromkeys(classes)), list(dict.fromkeys(nodes))
        subjects, objects = list(dict.fromkeys(subjects)), list(dict.fromkeys(objects))
        if self.values is not None:
            block = " ".join(str(n) for n in self.values)
            tests = [f"EXISTS {{ {self.instances('THIS', c, minus=True)} }}" for c in classes]
            tests += [f"sameTerm(?THIS, {term(n)})" for n in nodes]
            tests += [f"EXISTS {{ ?THIS {term(p)} ?kgraph_o }}" for p in subjects]
            tests += [f"EXISTS {{ ?kgraph_s {term(p)} ?THIS }}" for p in objects]
            text = f"VALUES ?THIS {{ {block} }} FILTER({' || '.join(tests) or 'false'})"
            return lambda var: text.replace("?THIS", f"?{var}")
        parts = self.instances_of_any(classes)
        # BIND, not VALUES: Virtuoso 7.2.5 joins a VALUES in one branch of a UNION with
        # the other branches (instances_of).
        parts += [f"{{ BIND({term(n)} AS ?THIS) }}" for n in nodes]
        parts += [f"{{ ?THIS {term(p)} ?kgraph_o }}" for p in subjects]
        parts += [f"{{ ?kgraph_s {term(p)} ?THIS }}" for p in objects]
        body = " UNION ".join(parts) or "FILTER(false)"
        text = f"{{ SELECT DISTINCT ?THIS WHERE {{ {body} }} }}"
        if self.local and classes and not (nodes or subjects or objects):
            return _ClassFocus(text, tuple(term(c) for c in classes))
        return lambda var: text.replace("?THIS", f"?{var}")

    def among(self, focus: Focus, nodes: set[Any]) -> set[Any]:
        """Which of ``nodes`` ``focus`` binds (a blank node, not writable in a query, by
        listing the blank nodes it binds)."""
        import pyoxigraph as ox

        if not nodes:
            return set()
        found: set[Any] = set()
        named = sorted((n for n in nodes if not isinstance(n, ox.BlankNode)), key=str)
        if named:
            # IN, not a VALUES block (instances_of says why); its value equality may let
            # through a literal equal to a node, which the intersection below drops.
            listed = ", ".join(str(n) for n in named)
            found |= set(self.focus_nodes(lambda var: f"{focus(var)} FILTER(?{var} IN ({listed}))"))
        if len(named) < len(nodes):
            blank = f"{focus('this')} FILTER(isBlank(?this))"
            found |= {r["this"] for r in self.q(f"SELECT DISTINCT ?this WHERE {{ {blank} }}")}
        return found & nodes

    def vals(self, shape: Shape, focus: Focus, this: str = "this", v: str = "v") -> str:
        if shape.is_property:
            return f"{focus(this)} ?{this} {shape.path_sparql} ?{v} ."
        return f"{focus(this)} BIND(?{this} AS ?{v})"

    def nested_focus(self, shape: Shape, focus: Focus) -> Focus:
        if not shape.is_property:
            return focus
        t = self.fresh()
        inner = focus(t)
        return lambda var: (
            f"{{ SELECT DISTINCT ?{var} WHERE {{ {inner} ?{t} {shape.path_sparql} ?{var} }} }}"
        )

    # -- shapes ------------------------------------------------------------------------------

    def results(self, shape: Shape, focus: Focus, *, children: bool = True) -> list[Hit]:
        """The results of ``shape`` at the nodes ``focus`` binds (and, with ``children``,
        of its sh:property shapes at its value nodes)."""
        if shape.deactivated:
            return []
        key = (shape.node, focus("this"), children)
        if key in self.cache:
            return self.cache[key]
        from kgraph.shacl.components import evaluate

        hits = evaluate(self, shape, focus)
        for child in shape.values("property") if children else ():
            hits += self.results(self.compiled.shape(child), self.nested_focus(shape, focus))
        self.cache[key] = hits
        return hits

    def failing(self, node: Any, focus: Focus) -> set[Any]:
        """The focus nodes that do not conform to the shape ``node``."""
        return {h.focus for h in self.results(self.compiled.shape(node), focus)}

    def focus_nodes(self, focus: Focus) -> list[Any]:
        return [r["this"] for r in self.q(f"SELECT DISTINCT ?this WHERE {{ {focus('this')} }}")]

    def pairs(self, shape: Shape, focus: Focus, extra: str = "") -> list[tuple[Any, Any]]:
        rows = self.q(f"SELECT DISTINCT ?this ?v WHERE {{ {self.vals(shape, focus)} {extra} }}")
        return [(r["this"], r["v"]) for r in rows]

    def sparql(self, shape: Shape, constraint: Any, focus: Focus) -> list[Hit]:
        """A SHACL-SPARQL constraint (§5): ``$this`` bound by the focus pattern."""
        import pyoxigraph as ox

        graph = shape.graph
        if str(graph.value(constraint, sh("deactivated"))).lower() == "true":
            return []
        from rdflib import URIRef as Iri

        own = term(shape.node) if isinstance(shape.node, Iri) else None
        query = prebound_select(str(graph.value(constraint, sh("select"))), shape.path_sparql, own)
        prefixes = constraint_prefixes(graph, constraint)
        if query.join:
            text = prefixes + query.text.replace(FOCUS_MARK, focus("this") + "\n")
            rows = [(r["this"], r) for r in self.q(text)]
        else:
            text = prefixes + query.text
            rows = []
            for node in self.focus_nodes(focus):
                bound = {ox.Variable("this"): node}
                found = self.store.query(text, default_graph=self.graphs, substitutions=bound)
                rows += [(node, r) for r in found]
        hits = []
        for this, row in rows:
            value = _get(row, "value")
            if value is None and not shape.is_property:
                value = this  # pySHACL's sh:value for a node shape
            path = _get(row, "path")
            hits.append(
                Hit(
                    this,
                    value,
                    shape,
                    "SPARQLConstraintComponent",
                    f"<{path.value}>" if isinstance(path, ox.NamedNode) else shape.path_text,
                    constraint,
                    row,
                )
            )
        return hits

    # -- findings ----------------------------------------------------------------------------

    def label(self, node: Any) -> str:
        """A term in N-Triples; a blank node by a label made from the triples it is in, so
        that the same data gives the same label on every run (a parser names ``[]`` anew
        each time), kept apart from any other blank node of this validation."""
        import hashlib

        import pyoxigraph as ox

        if not isinstance(node, ox.BlankNode):
            return str(node)
        if node not in self.labels:

            def show(term: Any) -> str:
                return "_:" if isinstance(term, ox.BlankNode) else str(term)

            lines = sorted(
                f"{show(q.subject) if q.subject != node else '_:self'} {q.predicate}"
                f" {show(q.object) if q.object != node else '_:self'}"
                for pattern in ((node, None, None), (None, None, node))
                for q in self.store.quads_for_pattern(*pattern, None)
                if q.graph_name in self.graph_set
            )
            digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
            label, n = f"_:b{digest}", 1
            while label in self.taken:  # the same triples around two blank nodes
                n += 1
                label = f"_:b{digest}x{n}"
            self.taken.add(label)
            self.labels[node] = label
        return self.labels[node]

    def finding(self, hit: Hit) -> Finding:
        import pyoxigraph as ox
        from rdflib import URIRef

        from kgraph.shacl.model import Finding, fill_message

        value = hit.value
        if self.exact and isinstance(value, ox.Literal) and not hit.exact:
            forms = self.exact.forms(hit.focus, hit.shape.predicate, value)
            if forms is not None and len(forms) == 1:
                value = forms[0]
        messages = hit.shape.messages
        if hit.constraint is not None:
            own = sorted(str(m) for m in hit.shape.graph.objects(hit.constraint, sh("message")))
            messages = tuple(own) or messages
        template = messages[0] if messages else DEFAULT_MESSAGES.get(hit.component, "")
        message, shown = fill_message(template, _term(hit, value))
        return Finding(
            focus=self.label(hit.focus),
            path=hit.path,
            value=None if value is None else self.label(value),
            message=message,
            shown_message=shown,
            severity=hit.shape.severity,
            shape=hit.shape.name,
            component=hit.component,
            constraint=f"<{hit.constraint}>" if isinstance(hit.constraint, URIRef) else None,
            note=hit.note,
        )


def subclasses(query: Callable[[str], list[Any]], cls: str) -> str:
    """A pattern binding ``?THIS`` to the instances of the class ``cls`` (N-Triples): its
    subclasses, asked for alone (``?t rdfs:subClassOf+ C``), written into the pattern
    (:func:`instances_of`).

    Why not the path ``?THIS rdf:type/rdfs:subClassOf* C``: Virtuoso 7.2.5 answers the
    transitive step wrongly once it is joined with anything else (a focus pattern, the
    value nodes in MINUS or NOT EXISTS: hundreds of false sh:class violations on the
    shipped graph, docs/stores.md), while it answers the path alone; Oxigraph answers both
    the same. The zero-length step is written out (``cls`` itself), so no engine has to
    get it right. A blank-node subclass cannot be written into a query (kgraph's own stores
    have none: blank nodes are skolemised): then the path is used."""
    names = subclass_names(query, cls)
    if names is None:
        return f"?THIS {TYPE}/{SUB}* {cls} ."
    return instances_of(names)


def subclass_names(query: Callable[[str], list[Any]], cls: str) -> list[str] | None:
    """``cls`` and its subclasses (N-Triples), or None if one is a blank node."""
    import pyoxigraph as ox

    found = [r["t"] for r in query(f"SELECT DISTINCT ?t WHERE {{ ?t {SUB}+ {cls} }}")]
    if any(isinstance(t, ox.BlankNode) for t in found):
        return None
    return sorted({cls, *(str(t) for t in found)})


def instances_of(names: Collection[str], *, minus: bool = False) -> str:
    """A pattern binding ``?THIS`` to the nodes typed with one of the classes ``names``.

    ``?THIS rdf:type ?c FILTER(?c IN (...))``, or inside a MINUS (``minus``) a UNION of one
    ``rdf:type`` triple per class: the forms Oxigraph 0.5 answered fastest there (a focus
    of the four claim classes: 51 ms against 196 ms for the UNION or a VALUES block; a
    MINUS over twelve agent classes: 29 ms against 50 ms for the FILTER), and Virtuoso
    7.2.5 answers both right. Never a VALUES block: Virtuoso joins a VALUES in one branch
    of a UNION (a shape's targets are one) with the other branches too."""
    ordered = sorted(names)
    if minus:
        return " UNION ".join(f"{{ ?THIS {TYPE} {name} }}" for name in ordered)
    return f"?THIS {TYPE} ?kgraph_class FILTER(?kgraph_class IN ({', '.join(ordered)}))"


class _ClassFocus:
    """A focus pattern of a shape's target classes alone (``text``), which knows them:
    the union of several (a property shape shared by many node shapes) is then one walk
    of the type index from all the classes at once, not a sub-select per class (at 1M,
    PrefLabelShape's 114k focus nodes of 14 classes: about half the time)."""

    def __init__(self, text: str, classes: tuple[str, ...]) -> None:
        self.text, self.classes = text, classes

    def __call__(self, var: str) -> str:
        return self.text.replace("?THIS", f"?{var}")


def _union(foci: Sequence[Focus], *, local: bool = False) -> Focus:
    """The focus nodes of any of ``foci``. ``local``: for Oxigraph's own store (a remote
    store gets the plain UNION: a path from a VALUES-bound class is left untried there,
    and Virtuoso joins a VALUES block wrongly, instances_of). The union only says which
    nodes to evaluate; which parent's focus a result is on is Engine.among's to say."""
    if len(foci) == 1:
        return foci[0]
    classed = [f for f in foci if isinstance(f, _ClassFocus)]
    if local and len(classed) == len(foci):
        # The instances of any of the classes or of their subclasses, as the UNION below.
        classes = tuple(dict.fromkeys(c for f in classed for c in f.classes))
        text = (
            f"{{ SELECT DISTINCT ?THIS WHERE {{ VALUES ?kgraph_r {{ {' '.join(classes)} }}"
            f" ?kgraph_c {SUB}* ?kgraph_r . ?THIS {TYPE} ?kgraph_c }} }}"
        )
        return _ClassFocus(text, classes)

    def pattern(var: str) -> str:
        parts = " UNION ".join(f"{{ {focus(var)} }}" for focus in foci)
        return f"{{ SELECT DISTINCT ?{var} WHERE {{ {parts} }} }}"

    return pattern


def _values_focus(block: str) -> Focus:
    return lambda var: block.replace("?THIS", f"?{var}")


def _get(row: Any, name: str) -> Any:
    try:
        return row[name]
    except (KeyError, IndexError):
        return None


def _term(hit: Hit, value: Any) -> Callable[[str], Any]:
    """The term a message placeholder names in a result (SHACL 1.0 §5.3.2)."""

    def term(name: str) -> Any:
        found = {"this": hit.focus, "value": value}.get(name)
        if found is None and hit.row is not None:
            found = _get(hit.row, name)
        return found

    return term


__all__ = ["SH", "Engine", "Hit"]
