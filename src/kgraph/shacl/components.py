"""SHACL Core constraint components (SHACL 1.0 §4) as SELECTs over a focus pattern."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kgraph.namespaces import RDF, RDFS, SH, XSD
from kgraph.shacl import literals as lit
from kgraph.shacl.compiled import Shape, sh
from kgraph.shacl.evaluation import (
    BLANK,
    CASTABLE,
    NODE_KINDS,
    RANGES,
    Engine,
    Focus,
    Hit,
)
from kgraph.shacl.sparqltext import Uncompilable, term


def evaluate(e: Engine, shape: Shape, focus: Focus) -> list[Hit]:
    hits: list[Hit] = []
    for local, method in _VALUE_FILTERS.items():
        for param in shape.values(local):
            condition = method(e, shape, param)
            hits += _value_hits(e, shape, focus, local, condition, param)
    for local, check in _SPECIAL.items():
        if shape.values(local):
            hits += check(e, shape, focus)
    if any(shape.values(k) for k in ("node", "not", "and", "or", "xone")):
        hits += _logical(e, shape, focus)
    for constraint in shape.values("sparql"):
        hits += e.sparql(shape, constraint, focus)
    return hits


DATE_DATETIME = (
    "an xsd:date and an xsd:dateTime are incomparable: a violation by SHACL 1.0 §4.5.3 "
    "(and Jena), which the pySHACL engine lets through"
)


def _component(local: str) -> str:
    return local[0].upper() + local[1:] + "ConstraintComponent"


def _hit(
    shape: Shape, this: Any, value: Any, local: str, exact: bool = False, source: Any = None
) -> Hit:
    """``source``: the parameter value the result comes from (``sh:class ex:A``), which makes
    it a constraint of its own (SHACL 1.0 §2.4: each value of such a parameter is one)."""
    return Hit(this, value, shape, _component(local), shape.path_text, exact=exact, source=source)


# -- components that are a condition on one value node ---------------------------------------


def _class(e: Engine, shape: Shape, param: Any) -> str:
    if e.wide:
        return f"MINUS {{ {e.instances('v', param, minus=True)} }}"
    return f"FILTER NOT EXISTS {{ {e.instances('v', param)} }}"


def _datatype(e: Engine, shape: Shape, param: Any) -> str:
    d = str(param)
    if d == RDFS + "Literal":
        return "FILTER(!isLiteral(?v))"
    if d == RDF + "langString":
        return "FILTER(!COALESCE(isLiteral(?v) && lang(?v) != '', false))"
    if d == XSD + "string":
        return f"FILTER(!COALESCE(isLiteral(?v) && sameTerm(datatype(?v), <{d}>), false))"
    if d in CASTABLE:
        return (
            f"FILTER(!COALESCE(isLiteral(?v) && sameTerm(datatype(?v), <{d}>)"
            f" && isLiteral(<{d}>(STR(?v))), false))"
        )
    # No cast decides it: the literals with that datatype are checked in Python.
    return f"FILTER(!COALESCE(isLiteral(?v) && sameTerm(datatype(?v), {term(param)}), false))"


def _node_kind(e: Engine, shape: Shape, param: Any) -> str:
    kind = str(param).removeprefix(SH)
    if kind not in NODE_KINDS:
        raise Uncompilable(f"unknown sh:nodeKind {param}")
    return f"FILTER({NODE_KINDS[kind]})"


def _range(local: str) -> Callable[[Engine, Shape, Any], str]:
    def condition(e: Engine, shape: Shape, param: Any) -> str:
        return f"FILTER(!COALESCE(?v {RANGES[local]} {_constant(param)}, false))"

    return condition


def _min_length(e: Engine, shape: Shape, param: Any) -> str:
    return f"FILTER(!COALESCE(!{BLANK} && STRLEN(STR(?v)) >= {int(param)}, false))"


def _max_length(e: Engine, shape: Shape, param: Any) -> str:
    return f"FILTER(!COALESCE(!{BLANK} && STRLEN(STR(?v)) <= {int(param)}, false))"


def _pattern(e: Engine, shape: Shape, param: Any) -> str:
    import pyoxigraph as ox

    flags = str(shape.value("flags") or "")
    args = f"{ox.Literal(str(param))}" + (f", {ox.Literal(flags)}" if flags else "")
    return f"FILTER(!COALESCE(!{BLANK} && REGEX(STR(?v), {args}), false))"


def _language_in(e: Engine, shape: Shape, param: Any) -> str:
    import pyoxigraph as ox

    tags = [str(ox.Literal(str(t))) for t in shape.graph.items(param)]
    tests = " || ".join(f"langMatches(lang(?v), {t})" for t in tags) or "false"
    return f"FILTER(!COALESCE({tests}, false))"


def _in(e: Engine, shape: Shape, focus: Focus) -> list[Hit]:
    """sh:in: a value node that is not one of the members (the same RDF term).

    Written with ``IN`` (value equality) rather than a chain of ``sameTerm``: Virtuoso 7.2.5
    answers ``!(sameTerm(?v, a) || sameTerm(?v, b))`` wrongly (it keeps ``b``), and a
    ``VALUES`` of the members in ``NOT EXISTS`` too. ``IN`` is sameTerm for IRIs; for
    literals it also holds a value equal to a member (``1.0`` and ``1``), so the literals
    ``IN`` finds equal to a literal member are asked for and judged here by term."""
    import pyoxigraph as ox

    from kgraph.shacl.sparqltext import ox_term

    hits: list[Hit] = []
    for param in shape.values("in"):
        members = [_constant(m) for m in shape.graph.items(param)]
        listed = ", ".join(members)
        condition = f"FILTER(!COALESCE(?v IN ({listed}), false))" if members else ""
        rows = e.pairs(shape, focus, condition)
        literals = [m for m in shape.graph.items(param) if isinstance(ox_term(m), ox.Literal)]
        if literals:
            same = {_constant(m) for m in literals}
            near = ", ".join(sorted(same))
            rows += [
                (t, v)
                for t, v in e.pairs(
                    shape, focus, f"FILTER(isLiteral(?v) && COALESCE(?v IN ({near}), false))"
                )
                if str(v) not in same
            ]
        hits += [_hit(shape, t, v, "in", source=param) for t, v in rows]
    return hits


_VALUE_FILTERS: dict[str, Callable[[Engine, Shape, Any], str]] = {
    "class": _class,
    "datatype": _datatype,
    "nodeKind": _node_kind,
    **{local: _range(local) for local in RANGES},
    "minLength": _min_length,
    "maxLength": _max_length,
    "pattern": _pattern,
    "languageIn": _language_in,
}


def _constant(node: Any) -> str:
    """A constant as the store would hold it (``1.0`` is stored as ``1``), so that sameTerm
    compares it with stored values."""
    import pyoxigraph as ox

    from kgraph.shacl.sparqltext import ox_term

    value = ox_term(node)
    if isinstance(value, ox.Literal):
        value = lit.canonical_forms([value])[value]
    return str(value)


_LITERAL_LEVEL = {"datatype", "pattern", "minLength", "maxLength"}


def _python_check(shape: Shape, local: str, param: Any) -> Callable[[Any], bool]:
    if local == "datatype":
        return lambda t: lit.datatype_ok(t, str(param))
    if local == "pattern":
        flags = str(shape.value("flags") or "")
        return lambda t: lit.pattern_ok(t, str(param), flags)
    if local == "minLength":
        return lambda t: lit.length_ok(t, int(param), None)
    return lambda t: lit.length_ok(t, None, int(param))


def _value_hits(
    e: Engine, shape: Shape, focus: Focus, local: str, condition: str, param: Any
) -> list[Hit]:
    import pyoxigraph as ox

    rows = e.pairs(shape, focus, condition)
    literal_level = local in _LITERAL_LEVEL
    check = _python_check(shape, local, param) if literal_level else None
    special = (XSD + "string", RDF + "langString", RDFS + "Literal")
    if local == "datatype" and str(param) not in CASTABLE and str(param) not in special:
        # Same datatype: well-formed? (rdflib's judgement, as pySHACL's)
        same = f"FILTER(isLiteral(?v) && sameTerm(datatype(?v), {term(param)}))"
        assert check is not None
        rows += [(t, v) for t, v in e.pairs(shape, focus, same) if not check(v)]
    if not (literal_level and e.exact):
        return [_hit(shape, t, v, local, source=param) for t, v in rows]
    assert check is not None
    hits = [
        _hit(shape, t, v, local, source=param)
        for t, v in rows
        if not isinstance(v, ox.Literal) or e.exact.forms(t, shape.predicate, v) is None
    ]
    for t, v in e.pairs(shape, focus, e.rewritten):
        for form in e.exact.forms(t, shape.predicate, v) or ():
            if not check(form):
                hits.append(_hit(shape, t, form, local, exact=True, source=param))
    return hits


# -- components over all the value nodes of a focus node --------------------------------------


def _select_this(e: Engine, body: str) -> list[Any]:
    return [r["this"] for r in e.q(f"SELECT DISTINCT ?this WHERE {{ {body} }}")]


def _min_count(e: Engine, shape: Shape, focus: Focus) -> list[Hit]:
    hits = []
    for param in shape.values("minCount"):
        n = int(param)
        if n <= 0 or not shape.is_property:
            continue
        if n == 1:
            inner = f"?this {shape.path_sparql} ?kgraph_v"
            simple = shape.predicate is not None and e.wide
            test = f"MINUS {{ {inner} }}" if simple else f"FILTER NOT EXISTS {{ {inner} }}"
            nodes = _select_this(e, f"{focus('this')} {test}")
        else:
            body = f"{focus('this')} OPTIONAL {{ ?this {shape.path_sparql} ?v }}"
            nodes = [
                r["this"]
                for r in e.q(
                    f"SELECT ?this WHERE {{ {body} }} GROUP BY ?this"
                    f" HAVING (COUNT(DISTINCT ?v) < {n})"
                )
            ]
        hits += [_hit(shape, t, None, "minCount", source=param) for t in nodes]
    return hits


def _max_count(e: Engine, shape: Shape, focus: Focus) -> list[Hit]:
    hits = []
    for param in shape.values("maxCount"):
        n = int(param)
        if n == 0:
            nodes = list({t for t, _ in e.pairs(shape, focus)})
        elif n == 1:
            second = f"?this {shape.path_sparql} ?kgraph_w FILTER(!sameTerm(?v, ?kgraph_w))"
            nodes = list({t for t, _ in e.pairs(shape, focus, second)})
        else:
            nodes = [
                r["this"]
                for r in e.q(
                    f"SELECT ?this WHERE {{ {e.vals(shape, focus)} }} GROUP BY ?this"
                    f" HAVING (COUNT(DISTINCT ?v) > {n})"
                )
            ]
        hits += [_hit(shape, t, None, "maxCount", source=param) for t in nodes]
    return hits


def _unique_lang(e: Engine, shape: Shape, focus: Focus) -> list[Hit]:
    if str(shape.value("uniqueLang")).lower() != "true" or not shape.is_property:
        return []
    body = (
        f"{e.vals(shape, focus)} ?this {shape.path_sparql} ?kgraph_w"
        " FILTER(!sameTerm(?v, ?kgraph_w) && lang(?v) != ''"
        " && LCASE(lang(?v)) = LCASE(lang(?kgraph_w)))"
        " BIND(LCASE(lang(?v)) AS ?kgraph_l)"
    )
    rows = e.q(f"SELECT DISTINCT ?this ?kgraph_l WHERE {{ {body} }}")
    return [_hit(shape, r["this"], None, "uniqueLang") for r in rows]


def _has_value(e: Engine, shape: Shape, focus: Focus) -> list[Hit]:
    hits = []
    for param in shape.values("hasValue"):
        constant = _constant(param)
        if shape.is_property:
            inner = f"?this {shape.path_sparql} {constant}"
            test = f"MINUS {{ {inner} }}" if e.wide else f"FILTER NOT EXISTS {{ {inner} }}"
            nodes = _select_this(e, f"{focus('this')} {test}")
            hits += [_hit(shape, t, None, "hasValue", source=param) for t in nodes]
        else:
            rows = e.pairs(shape, focus, f"FILTER(!sameTerm(?v, {constant}))")
            hits += [_hit(shape, t, None, "hasValue", source=param) for t, _ in rows]
    return hits


def _pair_component(local: str) -> Callable[[Engine, Shape, Focus], list[Hit]]:
    def check(e: Engine, shape: Shape, focus: Focus) -> list[Hit]:
        hits = []
        for param in shape.values(local):
            other = term(param)
            vals = e.vals(shape, focus)
            if local == "equals":
                rows = e.pairs(shape, focus, f"FILTER NOT EXISTS {{ ?this {other} ?v }}")
                # A node shape's one value node is the focus node itself.
                inner = (
                    f"?this {shape.path_sparql} ?v"
                    if shape.is_property
                    else "FILTER(sameTerm(?this, ?v))"
                )
                query = (
                    f"SELECT DISTINCT ?this ?v WHERE {{ {focus('this')} ?this {other} ?v"
                    f" FILTER NOT EXISTS {{ {inner} }} }}"
                )
                rows += [(r["this"], r["v"]) for r in e.q(query)]
            elif local == "disjoint":
                rows = e.pairs(shape, focus, f"?this {other} ?v .")
            else:
                op = "<" if local == "lessThan" else "<="
                # ?kgraph_m: an xsd:date against an xsd:dateTime, incomparable in XPath and
                # so a violation (SHACL 1.0 §4.5.3, as Jena says it), where pySHACL compares
                # them: the one place the engines disagree by design, said in the report.
                dates = f"<{XSD}date>, <{XSD}dateTime>"
                query = (
                    f"SELECT ?this ?v (MAX(?kgraph_x) AS ?kgraph_m) WHERE {{ {vals}"
                    f" ?this {other} ?kgraph_w FILTER(!COALESCE(?v {op} ?kgraph_w, false))"
                    f" BIND(COALESCE(datatype(?v) IN ({dates}) && datatype(?kgraph_w) IN"
                    f" ({dates}) && !sameTerm(datatype(?v), datatype(?kgraph_w)), false)"
                    " AS ?kgraph_x) } GROUP BY ?this ?v"
                )
                for r in e.q(query):
                    hit = _hit(shape, r["this"], r["v"], local, source=param)
                    if r["kgraph_m"] is not None and r["kgraph_m"].value == "true":
                        hit.note = DATE_DATETIME
                    hits.append(hit)
                continue
            hits += [_hit(shape, t, v, local, source=param) for t, v in rows]
        return hits

    return check


def _closed(e: Engine, shape: Shape, focus: Focus) -> list[Hit]:
    from rdflib import URIRef

    if str(shape.value("closed")).lower() != "true":
        return []
    allowed = {
        p
        for child in shape.values("property")
        for p in [e.compiled.shape(child).path_node]
        if isinstance(p, URIRef)
    }
    allowed |= set(shape.members("ignoredProperties"))
    listed = ", ".join(term(p) for p in sorted(allowed))
    condition = f"FILTER(?kgraph_p NOT IN ({listed}))" if listed else ""
    query = (
        f"SELECT DISTINCT ?this ?kgraph_p ?kgraph_o WHERE {{ {e.vals(shape, focus)}"
        f" ?v ?kgraph_p ?kgraph_o {condition} }}"
    )
    hits = []
    for row in e.q(query):
        hit = _hit(shape, row["this"], row["kgraph_o"], "closed")
        hit.path = f"<{row['kgraph_p'].value}>"
        hits.append(hit)
    return hits


# -- components over nested shapes: sets combined in Python ----------------------------------


def _logical(e: Engine, shape: Shape, focus: Focus) -> list[Hit]:
    hits: list[Hit] = []
    nested = e.nested_focus(shape, focus)
    pairs: list[tuple[Any, Any]] | None = None

    def value_pairs() -> list[tuple[Any, Any]]:
        nonlocal pairs
        if pairs is None:
            pairs = e.pairs(shape, focus)
        return pairs

    for member in shape.values("node"):
        bad = e.failing(member, nested)
        hits += [_hit(shape, t, v, "node", source=member) for t, v in value_pairs() if v in bad]
    for member in shape.values("not"):
        bad = e.failing(member, nested)
        hits += [_hit(shape, t, v, "not", source=member) for t, v in value_pairs() if v not in bad]
    for local in ("and", "or", "xone"):
        for lst in shape.values(local):
            failing = [e.failing(m, nested) for m in shape.graph.items(lst)]
            for t, v in value_pairs():
                good = sum(v not in bad for bad in failing)
                broken = {
                    "and": good < len(failing),
                    "or": good == 0,
                    "xone": good != 1,
                }[local]
                if broken:
                    hits.append(_hit(shape, t, v, local, source=lst))
    return hits


def _qualified(e: Engine, shape: Shape, focus: Focus) -> list[Hit]:
    hits: list[Hit] = []
    nested = e.nested_focus(shape, focus)
    siblings: list[Any] = []
    if str(shape.value("qualifiedValueShapesDisjoint")).lower() == "true":
        parents = set(shape.graph.subjects(sh("property"), shape.node))
        for parent in parents:
            for sibling in shape.graph.objects(parent, sh("property")):
                siblings += [
                    q
                    for q in shape.graph.objects(sibling, sh("qualifiedValueShape"))
                    if sibling != shape.node
                ]
    sibling_bad = [e.failing(s, nested) for s in siblings]
    # Each value of a parameter a constraint of its own (the hits' source, with the shape).
    minimum = [(p, int(p)) for p in shape.values("qualifiedMinCount")]
    maximum = [(p, int(p)) for p in shape.values("qualifiedMaxCount")]
    pairs: list[tuple[Any, Any]] | None = None
    for q in shape.values("qualifiedValueShape"):
        bad = e.failing(q, nested)
        if e.local and shape.is_property and not sibling_bad and _writable(bad):
            # Counted by the store: only the focus nodes out of bounds come back, not every
            # (focus, value) pair (PrefLabelShape at 1M: 114k pairs and as many focus nodes).
            # Oxigraph in this process only: the sameTerm chain below is a form Virtuoso
            # 7.2.5 answers wrongly (_in), so a remote store gets the pairs counted here.
            hits += _qualified_in_store(e, shape, focus, q, bad, minimum, maximum)
            continue
        if pairs is None:
            pairs = e.pairs(shape, focus)
        counts: dict[Any, int] = {}
        for t, _ in _focus_nodes(e, focus):
            counts[t] = 0
        for t, v in pairs:
            if v not in bad and all(v in other for other in sibling_bad):
                counts[t] = counts.get(t, 0) + 1
        for param, n in minimum:
            hits += [
                _hit(shape, t, None, "qualifiedMinCount", source=(q, param))
                for t, c in counts.items()
                if c < n
            ]
        for param, n in maximum:
            hits += [
                _hit(shape, t, None, "qualifiedMaxCount", source=(q, param))
                for t, c in counts.items()
                if c > n
            ]
    return hits


# The most value nodes written into one query as constants; past it, the counting is done
# here over every (focus, value) pair.
_WRITTEN_MAX = 1000


def _writable(nodes: set[Any]) -> bool:
    """Whether ``nodes`` can be written into a query as constants that sameTerm compares
    with the store's terms (IRIs and the store's own literals; not blank nodes)."""
    import pyoxigraph as ox

    return len(nodes) <= _WRITTEN_MAX and all(
        isinstance(n, (ox.NamedNode, ox.Literal)) for n in nodes
    )


def _qualified_in_store(
    e: Engine,
    shape: Shape,
    focus: Focus,
    q: Any,
    bad: set[Any],
    minimum: list[tuple[Any, int]],
    maximum: list[tuple[Any, int]],
) -> list[Hit]:
    """sh:qualifiedMinCount / MaxCount of the qualified shape ``q`` counted in the store: a
    value conforms to ``q`` unless it is one of ``bad`` (its failing value nodes); a focus
    node without any value counts 0. ``minimum``, ``maximum``: (parameter value, bound)."""
    excluded = " || ".join(f"sameTerm(?v, {n})" for n in bad)
    conforming = f"FILTER(!({excluded}))" if excluded else ""
    hits = []
    for param, n in minimum:
        if n <= 0:
            continue
        if n == 1:  # no conforming value: as _min_count, MINUS where it is the faster
            inner = f"?this {shape.path_sparql} ?v {conforming}"
            simple = shape.predicate is not None and e.wide
            test = f"MINUS {{ {inner} }}" if simple else f"FILTER NOT EXISTS {{ {inner} }}"
            query = f"SELECT DISTINCT ?this WHERE {{ {focus('this')} {test} }}"
        else:
            body = f"{focus('this')} OPTIONAL {{ ?this {shape.path_sparql} ?v {conforming} }}"
            query = (
                f"SELECT ?this WHERE {{ {body} }} GROUP BY ?this HAVING (COUNT(DISTINCT ?v) < {n})"
            )
        hits += [
            _hit(shape, r["this"], None, "qualifiedMinCount", source=(q, param)) for r in e.q(query)
        ]
    for param, n in maximum:
        body = f"{e.vals(shape, focus)} {conforming}"
        query = f"SELECT ?this WHERE {{ {body} }} GROUP BY ?this HAVING (COUNT(DISTINCT ?v) > {n})"
        hits += [
            _hit(shape, r["this"], None, "qualifiedMaxCount", source=(q, param)) for r in e.q(query)
        ]
    return hits


def _focus_nodes(e: Engine, focus: Focus) -> list[tuple[Any, None]]:
    return [(r["this"], None) for r in e.q(f"SELECT DISTINCT ?this WHERE {{ {focus('this')} }}")]


_SPECIAL: dict[str, Callable[[Engine, Shape, Focus], list[Hit]]] = {
    "minCount": _min_count,
    "maxCount": _max_count,
    "uniqueLang": _unique_lang,
    "hasValue": _has_value,
    "in": _in,
    **{local: _pair_component(local) for local in ("equals", "disjoint", "lessThan")},
    "lessThanOrEquals": _pair_component("lessThanOrEquals"),
    "closed": _closed,
    "qualifiedValueShape": _qualified,
}
