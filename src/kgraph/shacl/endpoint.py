"""The compiled engine's queries answered by a remote SPARQL endpoint (``validate --endpoint``).

The compiled engine (``compiled``/``evaluation``) asks a store for three things: SELECT and
ASK answers, ``quads_for_pattern`` (to label blank nodes and, in ``report.locate``, to
find the graph a finding's triple is in) and, for SHACL-SPARQL constraints whose ``$this``
a join cannot bind, Oxigraph's pre-binding (``substitutions``). :class:`EndpointStore`
gives the first two over the SPARQL 1.1 Protocol, so the same queries run inside the
user's store and only their answers (the violations) come back; the third has no
equivalent in the protocol, so such a shape is left over, and left-over shapes are refused.

The queries go without a dataset (no ``default-graph-uri``): they read the store's own
default graph, which must be the union of the project's named graphs (docs/stores.md).
Naming the dataset instead would make Oxigraph's server evaluate every query over a
dataset of one graph per file, far more slowly than over its union graph.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from kgraph.errors import RemoteError, Setting, UsageError
from kgraph.shacl.sparqltext import Uncompilable


class EndpointStore:
    """The part of ``pyoxigraph.Store`` the compiled engine and ``report.locate`` use,
    answered by ``endpoint`` over its default graph."""

    portable = True
    """The compiled engine sends forms every store answers right (``Engine.instances``)."""

    def __init__(self, endpoint: str, *, timeout: float, max_body: int) -> None:
        from kgraph.remote import check_url

        check_url(endpoint, what=Setting.ENDPOINT)
        self.endpoint = endpoint
        self.timeout = timeout
        self.max_body = max_body
        self.requests = 0

    def query(
        self,
        text: str,
        *,
        default_graph: Sequence[Any] | None = None,
        substitutions: dict[Any, Any] | None = None,
    ) -> Any:
        """A SELECT's solutions or an ASK's boolean, as pyoxigraph gives them.

        ``default_graph`` is the local engine's list of graphs; here the store's default
        graph stands for it (the module docstring says why)."""
        from kgraph.remote import solutions

        if substitutions:
            # Uncompilable: the engine leaves the shape over, and left shapes are refused.
            raise Uncompilable("its $this can be pre-bound only inside kgraph's own store")
        self.requests += 1
        return solutions(
            self.endpoint,
            text,
            doing="validating",
            asked="a validation query",
            timeout=self.timeout,
            max_body=self.max_body,
        )

    def quads_for_pattern(self, s: Any, p: Any, o: Any, g: Any = None) -> Iterator[Any]:
        """The store's quads matching the pattern (in its named graphs). A blank node
        cannot be named in a query: a pattern with one matches nothing."""
        import pyoxigraph as ox

        if any(isinstance(t, ox.BlankNode) for t in (s, p, o, g)):
            return iter(())
        names = {"s": s, "p": p, "o": o, "g": g}
        terms = {k: (f"?{k}" if v is None else str(v)) for k, v in names.items()}
        text = (
            f"SELECT * WHERE {{ GRAPH {terms['g']} {{ {terms['s']} {terms['p']} {terms['o']} }} }}"
        )
        rows = self.query(text)
        return iter(
            [
                ox.Quad(
                    s if s is not None else row["s"],
                    p if p is not None else row["p"],
                    o if o is not None else row["o"],
                    g if g is not None else row["g"],
                )
                for row in rows
            ]
        )


def prebound_only(compiled: Any) -> dict[str, str]:
    """The top shapes (name -> why) that reach a SHACL-SPARQL constraint whose ``$this``
    only Oxigraph's pre-binding can bind (``sparqltext.prebound_select``'s ``join`` is
    false): no SPARQL 1.1 Protocol request can do that, so such a shape would be left over
    in the middle of the validation. Found from the shapes alone, before anything is sent.
    """
    from rdflib import URIRef

    from kgraph.shacl.compiled import sh
    from kgraph.shacl.sparqltext import prebound_select, term

    out: dict[str, str] = {}
    for top in compiled.top:
        todo, seen = [top.node], set()
        while todo and top.node.n3() not in out:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            shape = compiled.shape(node)
            if shape.deactivated:
                continue
            for constraint in shape.values("sparql"):
                graph = shape.graph
                if str(graph.value(constraint, sh("deactivated"))).lower() == "true":
                    continue
                own = term(shape.node) if isinstance(shape.node, URIRef) else None
                select = str(graph.value(constraint, sh("select")))
                if not prebound_select(select, shape.path_sparql, own).join:
                    out[top.node.n3()] = (
                        "its SPARQL constraint's $this can be pre-bound only inside "
                        "kgraph's own store (a sub-select)"
                    )
            todo += shape.nested()
    return out


def refuse_left(
    left: dict[str, str] | Sequence[str],
    endpoint: str,
    prebound: dict[str, str] | Sequence[str] = (),
    *,
    failed: dict[str, str] | None = None,
) -> None:
    """Shapes a SPARQL endpoint cannot check: the shapes the compiler leaves to pySHACL
    (``left``), which needs the graph in this process, and those whose SPARQL needs
    Oxigraph's pre-binding (``prebound``), and those whose queries ``failed``. A
    validation without them would be a verdict on part of the shapes: refused whole
    (UsageError, exit 2), naming every one of them."""
    from kgraph.shacl.model import short_term as _term

    parts = []
    if left:
        names = ", ".join(_term(name) for name in sorted(left))
        parts.append(f"the compiled engine leaves {names} to pySHACL, which needs the graph here")
    rest = sorted(set(prebound) - set(left))
    if rest:
        names = ", ".join(_term(name) for name in rest)
        parts.append(
            f"{names} {'has' if len(rest) == 1 else 'have'} a SPARQL constraint whose $this "
            "only kgraph's own store can pre-bind (a sub-select)"
        )
    for name, why in sorted((failed or {}).items()):
        parts.append(f"{_term(name)} could not be evaluated there ({why})")
    if parts:
        raise UsageError(
            f"cannot validate at {endpoint}: {'; '.join(parts)}; nothing is reported: "
            f"validate without {Setting.ENDPOINT}",
            setting=Setting.ENDPOINT,
        )


def count_checked(store: EndpointStore, shapes: Any, focuses: Sequence[str]) -> int:
    """How many nodes the report says were checked: as ``engine._targets`` counts them
    locally (every node some shape targets, plus any other node a finding is on), counted
    by the store."""
    import pyoxigraph as ox

    from kgraph.convert import from_rdflib
    from kgraph.shacl.evaluation import instances_of, subclass_names, subclasses

    def iri(value: str) -> str:
        return str(ox.NamedNode(value))  # checked and escaped, never pasted as text

    def ask(text: str) -> list[Any]:
        return list(store.query(text))

    # The instances of the target classes as the compiled engine finds them (the classes'
    # subclasses first: evaluation.subclasses says why), in one branch for all the classes:
    # Virtuoso 7.2.5 dropped rows of the last branches of a UNION of one per class.
    parts, closure = [], set()
    for c in sorted(shapes.target_classes):
        names = subclass_names(ask, iri(c))
        if names is None:
            parts.append("{ " + subclasses(ask, iri(c)).replace("?THIS", "?this") + " }")
        else:
            closure |= set(names)
    if closure:
        parts.append("{ " + instances_of(closure).replace("?THIS", "?this") + " }")
    parts += [f"{{ ?this {iri(p)} ?kgraph_o }}" for p in sorted(shapes.subjects_of)]
    parts += [
        f"{{ ?kgraph_s {iri(p)} ?this FILTER(!isLiteral(?this)) }}"
        for p in sorted(shapes.objects_of)
    ]
    constants = sorted({str(from_rdflib(n)) for n in shapes.target_nodes} | set(focuses))
    # A blank node (a finding's focus as the store labels it) cannot be written in a query;
    # it is a target node anyway, counted by the patterns above.
    constants = [c for c in constants if not c.startswith("_:")]
    # One BIND per constant, not a VALUES block: Virtuoso 7.2.5 joins a VALUES in one branch
    # of a UNION with the other branches (it counted 3 nodes instead of 284).
    parts += [f"{{ BIND({c} AS ?this) }}" for c in constants]
    if not parts:
        return 0
    text = f"SELECT (COUNT(DISTINCT ?this) AS ?n) WHERE {{ {' UNION '.join(parts)} }}"
    rows = store.query(text)
    try:
        return int(rows[0]["n"].value)
    except (IndexError, KeyError, TypeError, ValueError, AttributeError):
        raise RemoteError(f"{store.endpoint} answered a COUNT query without a count") from None


def check_default_graph(store: EndpointStore) -> None:
    """An empty default graph conforms to every shape: refuse to call that a verdict. It is
    what a store whose default graph is not the union of its graphs (Oxigraph without
    --union-default-graph, Fuseki without unionDefaultGraph) shows kgraph."""
    if not store.query("ASK { ?s ?p ?o }"):
        raise RemoteError(
            f"{store.endpoint} shows an empty default graph: push the project first, and "
            "make the store's default graph the union of its named graphs (Oxigraph: "
            "--union-default-graph; docs/stores.md)"
        )
