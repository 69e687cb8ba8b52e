"""RDFS and OWL 2 RL closures, kept apart from the asserted triples.

* ``rdfs``: the RDFS entailment rules that add information about instances (rdfs2, rdfs3,
  rdfs7, rdfs9 with the rdfs5/rdfs11 schema closures), as four SPARQL queries evaluated by
  Oxigraph over the whole dataset.
* ``owlrl``: OWL 2 RL/RDF rules (W3C OWL 2 Profiles §4.3) by ``reasonable``, a Rust
  engine measured 12x to 35x faster than owlrl at 10k-100k triples, plus the schema rules
  it leaves out (scm-sco, scm-spo, scm-dom, scm-rng) as SPARQL; tests/test_reasoning.py
  checks that the result equals owlrl's on our graph. ``owl:disjointWith`` and functional-
  property axioms are withheld from reasonable, because they make it quadratic; the
  shapes and ``queries/checks/disjoint-classes-violation.rq`` check them instead.

Only new, useful triples are kept: no triple already asserted, no literal subject, no
``x owl:sameAs x``, no ``rdf:type owl:Thing``/``rdfs:Resource``, nothing about the RDF,
RDFS, OWL or XSD vocabularies themselves.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from kgraph.errors import UsageError
from kgraph.namespaces import OWL, RDF, RDFS, XSD

if TYPE_CHECKING:
    import pyoxigraph as ox

    from kgraph.store import Dataset


class Profile(StrEnum):
    """Which closure joins the asserted triples (a ``str``: ``Profile.OWLRL == "owlrl"``)."""

    NONE = "none"
    RDFS = "rdfs"
    OWLRL = "owlrl"


PROFILES = tuple(p.value for p in Profile)


def check_profile(name: str) -> str:
    """``name`` if it names a profile, else a usage error listing them."""
    if name not in PROFILES:
        raise UsageError(f"unknown inference {name!r}; use {', '.join(PROFILES)}")
    return name


_RDFS_RULES = [
    # rdfs7 (with rdfs5): sub-properties
    """SELECT DISTINCT ?s ?q ?o WHERE {
         ?p rdfs:subPropertyOf+ ?q . FILTER (?p != ?q) ?s ?p ?o }""",
    # rdfs2 (with rdfs5, rdfs9, rdfs11): domains
    """SELECT DISTINCT ?s (rdf:type AS ?q) ?o WHERE {
         ?p rdfs:subPropertyOf* ?r . ?r rdfs:domain ?d . ?d rdfs:subClassOf* ?o . ?s ?p ?x }""",
    # rdfs3 (with rdfs5, rdfs9, rdfs11): ranges, for resources only
    """SELECT DISTINCT ?s (rdf:type AS ?q) ?o WHERE {
         ?p rdfs:subPropertyOf* ?r . ?r rdfs:range ?c . ?c rdfs:subClassOf* ?o .
         ?x ?p ?s . FILTER (!isLiteral(?s)) }""",
    # rdfs9 (with rdfs11): super-classes of asserted types
    """SELECT DISTINCT ?s (rdf:type AS ?q) ?o WHERE {
         ?s rdf:type ?c . ?c rdfs:subClassOf+ ?o }""",
]

# OWL 2 RL schema rules (scm-sco, scm-spo, scm-dom1/2, scm-rng1/2) that reasonable does not
# materialise: the closure of the ontology's own hierarchy, as owlrl gives it.
_SCHEMA_RULES = [
    """SELECT DISTINCT ?s (rdfs:subClassOf AS ?q) ?o WHERE { ?s rdfs:subClassOf+ ?o FILTER (?s != ?o) }""",
    """SELECT DISTINCT ?s (rdfs:subPropertyOf AS ?q) ?o WHERE { ?s rdfs:subPropertyOf+ ?o FILTER (?s != ?o) }""",
    """SELECT DISTINCT ?s (rdfs:domain AS ?q) ?o WHERE {
         ?s rdfs:subPropertyOf* ?p . ?p rdfs:domain ?c . ?c rdfs:subClassOf* ?o }""",
    """SELECT DISTINCT ?s (rdfs:range AS ?q) ?o WHERE {
         ?s rdfs:subPropertyOf* ?p . ?p rdfs:range ?c . ?c rdfs:subClassOf* ?o }""",
]

# Axioms withheld from reasonable because they make it quadratic in time and memory: with
# them, 100k triples take 3.4 s and 2.1 GB and 1M fail; without, 1.1 s and 0.3 GB. On data
# that satisfies the shapes they entail nothing: disjointness is checked by
# queries/checks/disjoint-classes-violation.rq, and every functional property has a
# sh:maxCount 1 shape (tests/test_reasoning.py checks that), so rule prp-fp never fires.
_DISJOINT = OWL + "disjointWith"
_WITHHELD_TYPES = {OWL + "FunctionalProperty", OWL + "InverseFunctionalProperty"}

_SKIP_NAMESPACES = (RDF, RDFS, OWL, XSD)
_TRIVIAL_TYPES = {OWL + "Thing", RDFS + "Resource"}


def closure(dataset: Dataset, profile: str) -> list[ox.Triple]:
    """The triples the profile entails from the dataset's asserted graphs, new ones only."""
    if profile == "rdfs":
        candidates = _rdfs(dataset)
    elif profile == "owlrl":
        candidates = _owlrl(dataset)
    else:
        raise UsageError(f"unknown reasoning profile {profile!r}; use rdfs or owlrl")
    return _new_and_useful(dataset, candidates)


def _rdfs(dataset: Dataset) -> Iterable[ox.Triple]:
    import pyoxigraph as ox

    for rule in _RDFS_RULES:
        for row in dataset.query(rule, graphs=dataset.asserted_graphs()):
            yield ox.Triple(row["s"], row["q"], row["o"])


def _owlrl(dataset: Dataset) -> Iterable[ox.Triple]:
    import pyoxigraph as ox

    with _cyclic_gc_paused():
        inferred = _reasonable(dataset)
    yield from inferred
    for rule in _SCHEMA_RULES:
        for row in dataset.query(rule, graphs=dataset.asserted_graphs()):
            yield ox.Triple(row["s"], row["q"], row["o"])


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the reasoner's input and output exist as
    millions of rdflib terms in tuples: they hold no cycles, but each collection walks
    them all (at 100k triples a fifth of the time, reasonable's own calls included).
    Nothing here is left to the collector; it runs again afterwards (the switch is the
    process's: another thread's collections wait for the closure too)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _reasonable(dataset: Dataset) -> list[ox.Triple]:
    """reasonable's OWL 2 RL closure of the asserted triples (the withheld axioms left
    out), less the triples it was given."""
    import pyoxigraph as ox
    import reasonable
    from rdflib import BNode, URIRef

    from kgraph.convert import from_rdflib, to_rdflib

    withheld = {ox.NamedNode(t) for t in _WITHHELD_TYPES}
    rdf_type = ox.NamedNode(RDF + "type")
    disjoint = ox.NamedNode(_DISJOINT)
    # The asserted triples, deduplicated as Oxigraph triples (hashed natively); each
    # distinct term is turned into its rdflib form once, not once per occurrence: building
    # rdflib terms was most of kgraph's own time around the reasoner.
    given: set[ox.Triple] = set()
    for quad in dataset.quads(dataset.asserted_graphs()):
        predicate = quad.predicate
        if predicate == disjoint or (predicate == rdf_type and quad.object in withheld):
            continue
        given.add(quad.triple)
    to_rd: dict[Any, Any] = {}
    convert = to_rd.get
    terms = [
        (
            convert(t.subject) or to_rd.setdefault(t.subject, to_rdflib(t.subject)),
            convert(t.predicate) or to_rd.setdefault(t.predicate, to_rdflib(t.predicate)),
            convert(t.object) or to_rd.setdefault(t.object, to_rdflib(t.object)),
        )
        for t in given
    ]
    reasoner = reasonable.PyReasoner()
    reasoner.from_graph(terms)
    del terms
    # The closure comes back as new rdflib terms. An IRI or a blank node is looked up by
    # its text as a plain str (rdflib's own __eq__ is Python code, and was most of the time
    # here); a literal, or a term the rules introduce, is converted.
    iris = {str(rd): term for term, rd in to_rd.items() if type(rd) is URIRef}
    blanks = {str(rd): term for term, rd in to_rd.items() if type(rd) is BNode}
    del to_rd

    def back(rd: Any) -> Any:
        kind = type(rd)
        found = iris if kind is URIRef else blanks if kind is BNode else None
        term = found.get(str(rd)) if found is not None else None
        return from_rdflib(rd) if term is None else term

    new = []
    for s, p, o in reasoner.reason():
        triple = ox.Triple(back(s), back(p), back(o))
        if triple not in given:
            new.append(triple)
    return new


def _new_and_useful(dataset: Dataset, candidates: Iterable[ox.Triple]) -> list[ox.Triple]:
    import pyoxigraph as ox

    asserted = {ox.NamedNode(g) for g in dataset.asserted_graphs()}
    # Terms compared as Oxigraph terms (natively), not through their text, per candidate.
    rdf_type, same_as = ox.NamedNode(RDF + "type"), ox.NamedNode(OWL + "sameAs")
    trivial = {ox.NamedNode(t) for t in _TRIVIAL_TYPES}
    in_store = dataset.store.quads_for_pattern
    kept: dict[ox.Triple, None] = {}
    for triple in candidates:
        subject, predicate, obj = triple.subject, triple.predicate, triple.object
        if isinstance(subject, ox.Literal):
            continue
        if isinstance(subject, ox.NamedNode) and subject.value.startswith(_SKIP_NAMESPACES):
            continue
        if predicate == same_as and subject == obj:
            continue
        if predicate == rdf_type and obj in trivial:
            continue
        if triple in kept:
            continue
        if any(q.graph_name in asserted for q in in_store(subject, predicate, obj)):
            continue
        kept[triple] = None
    return sorted(kept, key=str)


def materialise(dataset: Dataset, profile: str) -> str | None:
    """Compute the closure and load it into its own graph; return that graph's IRI."""
    import pyoxigraph as ox

    from kgraph.namespaces import inferred_graph

    if profile == "none":
        return None
    graph = inferred_graph(profile)
    if graph in dataset.inferred_graphs:
        return graph
    if dataset.cached_inference(profile):
        dataset.inferred_graphs.append(graph)
        return graph
    triples = closure(dataset, profile)
    target = ox.NamedNode(graph)
    # No name may keep the writable store: remember_inference closes it and opens the
    # folder read-only, and a writable instance still alive beside that one compacts away
    # files the reader needs ("Corruption: ... .sst: No such file").
    dataset.writable().clear_graph(target)
    dataset.writable().extend(ox.Quad(t.subject, t.predicate, t.object, target) for t in triples)
    dataset.inferred_graphs.append(graph)
    dataset.remember_inference(profile)
    return graph
