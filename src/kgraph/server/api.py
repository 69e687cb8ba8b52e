"""The JSON the pages' scripts ask for (completion by name, an entity's neighbourhood) and
the endpoint's service description."""

from __future__ import annotations

from collections import defaultdict
from typing import IO, Any, cast

from kgraph.server import backend
from kgraph.server.app import App
from kgraph.server.lookup import LABEL, iris_in, labels, literal, nt


def neighbourhood(app: App, iri: str) -> dict[str, Any]:
    """Nodes and edges around ``iri``: claims about it (source -> it, by stance), claims it
    makes, and the links from and to it (events link their participants)."""
    node = nt(iri)
    _, said = app.select(
        "SELECT DISTINCT ?source ?claim ?stance ?factId WHERE { "
        f"{{ ?claim kg:about {node} }} UNION {{ ?claim rdf:subject {node} }} UNION "
        f"{{ ?claim rdf:object {node} }} UNION {{ ?claim kg:target {node} }} "
        "?claim a kg:Claim ; prov:wasAttributedTo ?source . "
        "OPTIONAL { ?claim kg:stance ?stance } OPTIONAL { ?claim kg:factId ?factId } } LIMIT 200"
    )
    _, says = app.select(
        "SELECT DISTINCT ?target ?claim ?stance ?factId WHERE { "
        f"?claim a kg:Claim ; prov:wasAttributedTo {node} ; kg:about ?target . "
        "OPTIONAL { ?claim kg:stance ?stance } OPTIONAL { ?claim kg:factId ?factId } } LIMIT 200"
    )
    _, out = app.select(
        f"SELECT DISTINCT ?p ?o WHERE {{ {node} ?p ?o FILTER(isIRI(?o) && ?p != rdf:type) "
        f"?o {LABEL} ?l FILTER NOT EXISTS {{ ?o a kg:Claim }} FILTER NOT EXISTS {{ ?o a kg:Sentence }} }} LIMIT 200"
    )
    _, into = app.select(
        f"SELECT DISTINCT ?s ?p WHERE {{ ?s ?p {node} . ?s {LABEL} ?l "
        "FILTER NOT EXISTS { ?s a kg:Claim } FILTER NOT EXISTS { ?s a kg:Sentence } } LIMIT 200"
    )
    ids = {iri} | iris_in(said) | iris_in(says) | iris_in(out) | iris_in(into)
    names = labels(app, ids)
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[str, dict[str, Any]] = {}

    def add_node(i: str) -> None:
        nodes.setdefault(i, {"id": i, "label": names.get(i) or backend.shorten(i)})

    def add_edge(source: str, target: str, label: str, kind: str, key: str) -> None:
        add_node(source)
        add_node(target)
        edges.setdefault(
            key, {"id": key, "source": source, "target": target, "label": label, "kind": kind}
        )

    add_node(iri)
    # One edge per (source, target, stance), naming its claims: a source that made twenty
    # claims about an entity is one labelled arrow, not twenty parallel ones.
    said_edges: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    pairs = [(r, r["source"]["value"], iri) for r in said]
    pairs += [(r, iri, r["target"]["value"]) for r in says]
    for r, source, target in pairs:
        stance = names.get(r.get("stance", {}).get("value", "")) or "says"
        facts = said_edges[source, target, stance]
        fact = r.get("factId", {}).get("value", "")
        if fact and fact not in facts:
            facts.append(fact)
    for (source, target, stance), facts in said_edges.items():
        shown = ", ".join(sorted(facts)[:3]) + (f" +{len(facts) - 3}" if len(facts) > 3 else "")
        add_edge(source, target, f"{stance} {shown}".strip(), "said", f"{source}|{target}|{stance}")
    for r in out:
        p = r["p"]["value"]
        add_edge(iri, r["o"]["value"], _local(p), "link", f"{iri}|{p}|{r['o']['value']}")
    for r in into:
        p = r["p"]["value"]
        add_edge(r["s"]["value"], iri, _local(p), "link", f"{r['s']['value']}|{p}|{iri}")
    return {"nodes": list(nodes.values()), "edges": list(edges.values()), "center": iri}


def _local(iri: str) -> str:
    return backend.shorten(iri).split(":", 1)[-1].strip("<>").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


# -- completion -----------------------------------------------------------------------------


def complete(app: App, text: str) -> list[dict[str, str]]:
    """Things whose name contains ``text`` (claims and sentences left out), shortest first."""
    text = text.strip()[:100]
    if len(text) < 2:
        return []
    _, rows = app.select(
        f"SELECT ?s (SAMPLE(?l) AS ?label) WHERE {{ VALUES ?q {{ {literal(text.lower())} }} "
        f"?s {LABEL}|skos:altLabel ?l FILTER(isIRI(?s) && CONTAINS(LCASE(STR(?l)), ?q)) "
        "FILTER NOT EXISTS { ?s a kg:Claim } FILTER NOT EXISTS { ?s a kg:Sentence } } "
        "GROUP BY ?s ORDER BY STRLEN(STR(?label)) ?label LIMIT 20"
    )
    return [
        {
            "iri": r["s"]["value"],
            "curie": backend.shorten(r["s"]["value"]),
            "label": r["label"]["value"],
        }
        for r in rows
        if "label" in r
    ]


# -- service description --------------------------------------------------------------------


def service_description(app: App, endpoint: str, fmt: str) -> bytes:
    """SPARQL 1.1 Service Description of the endpoint, in ``fmt``."""
    import pyoxigraph as ox

    from kgraph.server.work import CappedBuffer

    sd = "http://www.w3.org/ns/sparql-service-description#"
    formats = "http://www.w3.org/ns/formats/"
    void = "http://rdfs.org/ns/void#"
    rdf_type = ox.NamedNode(backend.PREFIXES["rdf"] + "type")

    def n(iri: str) -> ox.NamedNode:
        return ox.NamedNode(iri)

    service = n(endpoint)
    dataset, default = ox.BlankNode(), ox.BlankNode()
    triples = [
        ox.Triple(service, rdf_type, n(sd + "Service")),
        ox.Triple(service, n(sd + "endpoint"), service),
        ox.Triple(service, n(sd + "supportedLanguage"), n(sd + "SPARQL11Query")),
        ox.Triple(service, n(sd + "feature"), n(sd + "UnionDefaultGraph")),
        ox.Triple(service, n(sd + "defaultDataset"), dataset),
        ox.Triple(dataset, rdf_type, n(sd + "Dataset")),
        ox.Triple(dataset, n(sd + "defaultGraph"), default),
        ox.Triple(default, rdf_type, n(sd + "Graph")),
        ox.Triple(
            default,
            n(void + "triples"),
            ox.Literal(
                str(sum(app.graphs.values())), datatype=n(backend.PREFIXES["xsd"] + "integer")
            ),
        ),
    ]
    for name in (
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
        "Turtle",
        "N-Triples",
        "N-Quads",
        "TriG",
        "JSON-LD",
        "RDF_XML",
    ):
        triples.append(ox.Triple(service, n(sd + "resultFormat"), n(formats + name)))
    for graph, size in app.graphs.items():
        named, inner = ox.BlankNode(), ox.BlankNode()
        triples += [
            ox.Triple(dataset, n(sd + "namedGraph"), named),
            ox.Triple(named, rdf_type, n(sd + "NamedGraph")),
            ox.Triple(named, n(sd + "name"), n(graph)),
            ox.Triple(named, n(sd + "graph"), inner),
            ox.Triple(inner, rdf_type, n(sd + "Graph")),
            ox.Triple(
                inner,
                n(void + "triples"),
                ox.Literal(str(size), datatype=n(backend.PREFIXES["xsd"] + "integer")),
            ),
        ]
    syntax = backend.RdfSyntax.from_name(fmt)
    items: Any = triples
    if syntax.quads:
        items = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    output = CappedBuffer(1 << 30)
    prefixes = {"sd": sd, "void": void, "xsd": backend.PREFIXES["xsd"]}
    ox.serialize(
        items,
        cast(IO[bytes], output),
        format=syntax.oxigraph(),
        prefixes=prefixes if syntax in (backend.RdfSyntax.TURTLE, backend.RdfSyntax.TRIG) else None,
    )
    return output.getvalue()
