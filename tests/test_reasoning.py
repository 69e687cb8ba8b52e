"""RDFS and OWL 2 RL closures: the entailments owlrl gives, in a graph of their own."""

from __future__ import annotations

import json
from pathlib import Path

import owlrl
import pytest
import rdflib

from conftest import ROOT
from kgraph import Project
from kgraph.convert import graph_of, to_rdflib
from kgraph.errors import ExitStatus
from kgraph.namespaces import INFERRED, OWL, RDF, RDFS, XSD
from kgraph.reasoning import closure

TRIVIAL_OBJECTS = {OWL + "Thing", RDFS + "Resource"}


def informative(triple: tuple) -> bool:
    """Entailments worth comparing: not about the RDF/OWL vocabularies themselves, not
    reflexive (x subClassOf x, x sameAs x), not 'is a Thing/Resource', no literal subject."""
    s, p, o = triple
    if isinstance(s, rdflib.Literal) or str(s).startswith((RDF, RDFS, OWL, XSD)):
        return False
    if s == o or str(o) in TRIVIAL_OBJECTS:
        return False
    return p not in (rdflib.OWL.equivalentClass, rdflib.OWL.equivalentProperty)


def reference(project: Path, semantics: type) -> set[tuple]:
    dataset = Project.open(project, isolated=False).dataset()
    graph = graph_of(dataset.quads(dataset.asserted_graphs()))
    asserted = set(graph)
    subject_predicates = {(s, p) for s, p, _ in asserted}
    owlrl.DeductiveClosure(semantics).expand(graph)
    # owlrl's RDFS semantics re-types literals it has already seen ("true"^^xsd:boolean
    # comes back as "1"^^xsd:integer, the quadratic literal rule of ENGINE-NOTES): those
    # restatements of asserted values are not entailments and are left out.
    return {
        t
        for t in set(graph) - asserted
        if informative(t)
        and not (isinstance(t[2], rdflib.Literal) and (t[0], t[1]) in subject_predicates)
    }


def ours(project: Path, profile: str) -> set[tuple]:
    dataset = Project.open(project, isolated=False).dataset()
    triples = closure(dataset, profile)
    converted = {
        (to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)) for t in triples
    }
    return {t for t in converted if informative(t)}


def test_owlrl_profile_matches_owlrl_on_the_shipped_graph(project: Path) -> None:
    expected = reference(project, owlrl.OWLRL_Semantics)
    got = ours(project, "owlrl")
    assert got - expected == set()
    assert expected - got == set()
    assert len(got) > 1000


SCHEMA = (rdflib.RDFS.subClassOf, rdflib.RDFS.subPropertyOf, rdflib.RDFS.domain, rdflib.RDFS.range)


def test_rdfs_profile_is_the_instance_part_of_owlrl_rdfs(project: Path) -> None:
    """Our RDFS profile keeps the rules that add to the data (rdfs2, 3, 7, 9), not the
    schema closure or rdf1's 'every predicate is an rdf:Property'."""
    expected = {
        t
        for t in reference(project, owlrl.RDFS_Semantics)
        if t[1] not in SCHEMA and t[2] != rdflib.RDF.Property
    }
    got = ours(project, "rdfs")
    assert got - expected == set()
    assert expected - got == set()
    assert len(got) > 500


def test_inferred_triples_live_in_their_own_graph(kgraph) -> None:
    plain = kgraph("export", "-f", "nq").output_bytes.decode()
    inferred = kgraph("export", "-f", "nq", "--inferred", "owlrl").output_bytes.decode()
    assert f"<{INFERRED}owlrl>" not in plain
    assert f"<{INFERRED}owlrl>" in inferred
    asserted_lines = [line for line in inferred.splitlines() if f"<{INFERRED}owlrl>" not in line]
    assert sorted(asserted_lines) == sorted(plain.splitlines())


def test_reason_prints_only_inferred_triples(kgraph) -> None:
    result = kgraph("reason", "--profile", "owlrl", "-f", "nt")
    assert result.exit_code == ExitStatus.OK
    inferred = {line for line in result.stdout.splitlines() if line}
    exported = set(kgraph("export", "-f", "nt").stdout.splitlines())
    assert inferred and not (inferred & exported)
    # cls-svf1: whoever holds a post is an official.
    assert (
        "<https://w3id.org/kgraph/id/ChoeSonHui> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
        "<https://w3id.org/kgraph/ontology#Official> ." in inferred
    )


@pytest.mark.parametrize("profile", ["rdfs", "owlrl"])
def test_query_with_inference_sees_the_closure(kgraph, profile: str) -> None:
    ask = "ASK { kgd:ChoeSonHui a prov:Agent }"
    assert json.loads(kgraph("query", "-e", ask, "-f", "json").stdout)["boolean"] is False
    assert (
        json.loads(kgraph("query", "-e", ask, "-f", "json", "--infer", profile).stdout)["boolean"]
        is True
    )


def test_transitive_and_symmetric_properties(kgraph) -> None:
    located = kgraph(
        "query",
        "--infer",
        "owlrl",
        "-e",
        "ASK { kgd:KurskOblast kg:locatedIn kgd:Russia }",
        "-f",
        "json",
    )
    assert json.loads(located.stdout)["boolean"] is True
    war = kgraph(
        "query",
        "--infer",
        "owlrl",
        "-e",
        "ASK { ?a kg:atWarWith ?b . ?b kg:atWarWith ?a }",
        "-f",
        "json",
    )
    assert json.loads(war.stdout)["boolean"] is True


def test_shipped_graph_is_consistent_under_owlrl(project: Path) -> None:
    dataset = Project.open(project, isolated=False).dataset()
    graph = graph_of(dataset.quads(dataset.asserted_graphs()))
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    assert list(graph.subjects(rdflib.RDF.type, rdflib.OWL.Nothing)) == []
    clashes = [
        (a, b, x)
        for a, b in graph.subject_objects(rdflib.OWL.disjointWith)
        for x in graph.subjects(rdflib.RDF.type, a)
        if (x, rdflib.RDF.type, b) in graph
    ]
    assert clashes == []


def test_persistent_store_caches_the_closure(kgraph, tmp_path: Path) -> None:
    store = tmp_path / "store"
    first = kgraph(
        "--store",
        str(store),
        "query",
        "--infer",
        "owlrl",
        "-e",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        "-f",
        "csv",
    )
    again = kgraph(
        "--store",
        str(store),
        "query",
        "--infer",
        "owlrl",
        "-e",
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
        "-f",
        "csv",
    )
    memory = kgraph(
        "query", "--infer", "owlrl", "-e", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "-f", "csv"
    )
    assert first.stdout == again.stdout == memory.stdout
    meta = json.loads((store / "kgraph-store.json").read_text())
    assert meta["inferred"] == {"owlrl": True}


def test_every_functional_property_has_a_max_count_shape() -> None:
    """The reasoner is not given owl:FunctionalProperty (it makes it quadratic); the shapes
    must then enforce at most one value, so that rule prp-fp could never have fired."""
    ontology = rdflib.Graph().parse(ROOT / "ontology" / "kgraph.ttl")
    shapes = rdflib.Graph().parse(ROOT / "ontology" / "shapes.ttl")
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    functional = set(ontology.subjects(rdflib.RDF.type, rdflib.OWL.FunctionalProperty))
    bounded = {
        path
        for shape, path in shapes.subject_objects(sh.path)
        if (shape, sh.maxCount, rdflib.Literal(1)) in shapes
    }
    assert len(functional) >= 15
    assert functional - bounded == set()
