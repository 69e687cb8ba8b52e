"""What the graph holds: triples per graph, instances per class, properties, shapes.

``-f turtle`` gives the same figures as a VoID description (W3C Interest Group Note
"Describing Linked Datasets with the VoID Vocabulary"): the dataset, one void:subset per
named graph, and class and property partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kgraph.formats import RdfSyntax
from kgraph.limits import Phase, phase
from kgraph.namespaces import BASE, DCTERMS, RDF, VOID, XSD, void_subset
from kgraph.results import serialize

if TYPE_CHECKING:
    from kgraph.shacl.index import ShapeIndex
    from kgraph.store import Dataset

SD = "http://www.w3.org/ns/sparql-service-description#"


@dataclass(frozen=True)
class Stats:
    graphs: tuple[tuple[str, str, int], ...]
    """(graph IRI, file, triples)."""
    classes: tuple[tuple[str, int], ...]
    properties: tuple[tuple[str, int], ...]
    shapes: tuple[tuple[str, str], ...]
    """(shape, target classes)."""
    triples: int
    subjects: int


def collect(dataset: Dataset, shapes: ShapeIndex) -> Stats:
    phase(Phase.QUERY)
    sizes = dataset.graph_sizes()
    files = {s.graph: s.relative for s in dataset.sources}
    graphs = tuple((g, files.get(g, "(inferred)"), n) for g, n in sizes.items())
    classes = _pairs(
        dataset.query(
            "SELECT ?k (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?k } GROUP BY ?k ORDER BY DESC(?n) ?k"
        )
    )
    properties = _pairs(
        dataset.query(
            "SELECT ?k (COUNT(*) AS ?n) WHERE { ?s ?k ?o } GROUP BY ?k ORDER BY DESC(?n) ?k"
        )
    )
    subjects = next(iter(dataset.query("SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }")))[
        "n"
    ]
    described = tuple(
        (shape, ", ".join(sorted(targets)))
        for shape, targets in sorted(shapes.targets_by_shape.items())
        if targets
    )
    return Stats(graphs, classes, properties, described, sum(sizes.values()), int(subjects.value))


def _pairs(rows: Any) -> tuple[tuple[str, int], ...]:
    return tuple((row["k"].value, int(row["n"].value)) for row in rows)


def void(stats: Stats) -> bytes:
    """The statistics as a VoID description in Turtle."""
    import pyoxigraph as ox

    n = ox.NamedNode

    def v(local: str) -> ox.NamedNode:
        return ox.NamedNode(VOID + local)

    def integer(value: int) -> ox.Literal:
        return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))

    dataset = n(BASE + "void#dataset")
    triples = [
        ox.Triple(dataset, n(RDF + "type"), v("Dataset")),
        ox.Triple(dataset, n(DCTERMS + "title"), ox.Literal("kgraph dataset", language="en")),
        ox.Triple(dataset, v("triples"), integer(stats.triples)),
        ox.Triple(dataset, v("distinctSubjects"), integer(stats.subjects)),
        ox.Triple(dataset, v("classes"), integer(len(stats.classes))),
        ox.Triple(dataset, v("properties"), integer(len(stats.properties))),
    ]
    for graph, _file, size in stats.graphs:
        subset = n(void_subset(graph))
        triples += [
            ox.Triple(dataset, v("subset"), subset),
            ox.Triple(subset, n(RDF + "type"), v("Dataset")),
            ox.Triple(subset, n(SD + "name"), n(graph)),
            ox.Triple(subset, v("triples"), integer(size)),
        ]
    for i, (cls, count) in enumerate(stats.classes):
        part = n(f"{BASE}void#class-{i}")
        triples += [
            ox.Triple(dataset, v("classPartition"), part),
            ox.Triple(part, v("class"), n(cls)),
            ox.Triple(part, v("entities"), integer(count)),
        ]
    for i, (prop, count) in enumerate(stats.properties):
        part = n(f"{BASE}void#property-{i}")
        triples += [
            ox.Triple(dataset, v("propertyPartition"), part),
            ox.Triple(part, v("property"), n(prop)),
            ox.Triple(part, v("triples"), integer(count)),
        ]
    prefixes = {"void": VOID, "dcterms": DCTERMS, "xsd": XSD, "sd": SD}
    ordered = sorted(triples, key=lambda t: str(t.subject))  # one block per subject
    return serialize(ordered, RdfSyntax.TURTLE, prefixes=prefixes)
