"""The project's IRIs and prefixes, defined once (IRI policy: docs/iri-policy.md)."""

from __future__ import annotations

from collections.abc import Iterable

BASE = "https://w3id.org/kgraph/"
KG = BASE + "ontology#"
"""Terms of the ontology (hash namespace)."""
KGS = BASE + "shapes#"
"""SHACL shapes."""
KGD = BASE + "id/"
"""Instance data."""
GRAPH = BASE + "graph/"
"""Named graphs: one per source file, ``GRAPH + <path relative to the project>``."""
INFERRED = GRAPH + "inferred/"
"""Inferred triples: ``INFERRED + <profile>``, never mixed with asserted ones."""
SKOLEM = BASE + ".well-known/genid/"
"""Skolem IRIs for blank nodes of added batches (RDF 1.1 Concepts §3.5)."""
ONTOLOGY = BASE + "ontology"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SH = "http://www.w3.org/ns/shacl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = "http://www.w3.org/ns/prov#"
ORG = "http://www.w3.org/ns/org#"
TIME = "http://www.w3.org/2006/time#"
SEM = "http://semanticweb.cs.vu.nl/2009/11/sem/"
SCHEMA = "http://schema.org/"
DCTERMS = "http://purl.org/dc/terms/"
VOID = "http://rdfs.org/ns/void#"
WD = "http://www.wikidata.org/entity/"

PREFIXES: dict[str, str] = {
    "kg": KG,
    "kgs": KGS,
    "kgd": KGD,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
    "sh": SH,
    "skos": SKOS,
    "prov": PROV,
    "org": ORG,
    "time": TIME,
    "sem": SEM,
    "schema": SCHEMA,
    "dcterms": DCTERMS,
    "void": VOID,
    "wd": WD,
}
"""Prefixes known to every query and used when writing Turtle."""


_NOT_IN_IRI_PATH = set(' "<>\\^`{|}%#?[]')
"""ASCII characters that may not appear as themselves in an IRI path segment (RFC 3987
``ipchar``); ``%`` only as the start of an escape, so a literal one is escaped too."""


def iri_path(text: str) -> str:
    """``text`` (a file path) as IRI path characters: spaces, ``%``, ``#``, ``?``, brackets,
    controls and other characters an IRI cannot hold are percent-encoded (UTF-8); letters of
    any script stay as they are, so existing graph names do not change."""
    import unicodedata

    out = []
    for char in text:
        category = unicodedata.category(char)
        if char in _NOT_IN_IRI_PATH or category[0] in "CZ":
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass")))
        else:
            out.append(char)
    return "".join(out)


def graph_iri(relative_path: str) -> str:
    """The named graph of a source file, from its path relative to the project root (the
    path percent-encoded where an IRI needs it: ``data/my file.ttl`` -> ``data/my%20file.ttl``)."""
    return GRAPH + iri_path(relative_path.replace("\\", "/"))


def input_graph(index: int, name: str) -> str:
    """The graph of the n-th file given on the command line (validate, add)."""
    from pathlib import PurePath
    from urllib.parse import quote

    return f"{GRAPH}input/{index}/{quote(PurePath(name).name)}"


def inferred_graph(profile: str, *, batch: str | None = None) -> str:
    """The graph of the triples a closure (``profile``) infers.

    ``INFERRED + profile`` for the whole graph; with ``batch`` (the named graph of a batch
    being added) the triples the batch adds to that closure, under the same prefix so that
    every inferred graph is recognised by one test (``startswith(INFERRED)``).
    """
    if batch is None:
        return INFERRED + profile
    return f"{INFERRED}{profile}/{batch.removeprefix(GRAPH)}"


def is_inferred(graph: str) -> bool:
    """Whether a named graph holds inferred, not asserted, triples."""
    return graph.startswith(INFERRED)


def file_skolem(relative: str) -> str:
    """The skolem namespace of a project file's blank nodes."""
    return f"{SKOLEM}{iri_path(relative)}/"


def batch_skolem(sha: str) -> str:
    """The skolem namespace of a batch's blank nodes, from the SHA-256 of its input."""
    return f"{SKOLEM}{sha[:16]}/"


def input_skolem(index: int) -> str:
    """The skolem namespace of the n-th file given on the command line."""
    return f"{SKOLEM}input/{index}/"


def void_subset(graph: str) -> str:
    """The VoID subset describing one named graph (``kgraph stats``)."""
    # a graph IRI is a valid IRI, but its own '#' (a fragment) cannot follow ours
    local = graph.removeprefix(GRAPH).replace("/", "-").replace("#", "%23")
    return BASE + "void#graph-" + local


def expand(curie_or_iri: str) -> str:
    """``kgd:ChoeSonHui`` -> full IRI; ``<...>`` and full IRIs are returned unwrapped."""
    text = curie_or_iri.strip()
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1]
    prefix, sep, local = text.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return text


def shorten(iri: str) -> str:
    """The CURIE for an IRI in a known namespace, else ``<iri>``."""
    best = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(PREFIXES.get(best, "")):
            local = iri[len(namespace) :]
            if local and all(c.isalnum() or c in "_-." for c in local):
                best = prefix
    if best:
        return f"{best}:{iri[len(PREFIXES[best]) :]}"
    return f"<{iri}>"


def used_prefixes(iris: Iterable[str]) -> dict[str, str]:
    """The subset of :data:`PREFIXES` whose namespaces occur in ``iris`` (for tidy Turtle)."""
    found: dict[str, str] = {}
    for iri in iris:
        for prefix, namespace in PREFIXES.items():
            if prefix not in found and iri.startswith(namespace):
                found[prefix] = namespace
    return dict(sorted(found.items()))
