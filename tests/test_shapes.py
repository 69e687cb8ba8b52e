"""The SHACL shapes (ontology/shapes.ttl) do what they say.

* The shipped graph conforms, with and without inference.
* Every constraint has a minimal failing fixture in tests/data/shapes/ (the W3C test-suite
  habit): ``<ShapeLocalName>-<n>.ttl``, whose comment header names the shape (a property
  shape, a node shape with a node-level constraint, or a SPARQL-based constraint), the one
  focus node, what is wrong, and the constraint component it exercises. Added to the
  shipped graph, it fails on exactly that shape and focus node and nothing else.
* kgraph validates in chunks on neighbourhoods of the focus nodes (src/kgraph/shacl/engine.py,
  src/kgraph/shacl/index.py) and evaluates SPARQL-based constraints in Oxigraph
  (src/kgraph/shacl/sparql.py). The reference tests run pySHACL directly on the whole
  merged graph and demand the same results, so a triple lost by the neighbourhood
  extraction shows up as a difference.
* ``kgraph add`` rejects each fixture as a batch, writes nothing, and does not blame a new
  batch for a violation that was already in the graph.

A fixture is validated in process as an overlay on the project loaded once (a fraction of
a second); its pySHACL reference run on the whole graph takes about a second (made once
per process for this file and test_shacl_compiled, tests/reference.py), so those tests are
marked slow (``make quick`` skips them; ``make test`` runs them).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, Run, invoke
from kgraph.errors import ExitStatus
from reference import canonical, turtle_quads

KG = "https://w3id.org/kgraph/ontology#"
KGS = "https://w3id.org/kgraph/shapes#"
KGD = "https://w3id.org/kgraph/id/"
SH = "http://www.w3.org/ns/shacl#"
EXPAND = {"kg:": KG, "kgs:": KGS, "kgd:": KGD, "sh:": SH}

SHAPES_TTL = ROOT / "ontology" / "shapes.ttl"
ONTOLOGY_TTL = ROOT / "ontology" / "kgraph.ttl"
FIXTURE_DIR = Path(__file__).resolve().parent / "data" / "shapes"

# SHACL Core constraint parameters (SHACL 1.0 §4); each names one constraint component.
# sh:qualifiedValueShape, sh:flags and sh:ignoredProperties only modify another parameter.
CONSTRAINT_PARAMETERS = [
    "class",
    "datatype",
    "nodeKind",
    "minCount",
    "maxCount",
    "minExclusive",
    "minInclusive",
    "maxExclusive",
    "maxInclusive",
    "minLength",
    "maxLength",
    "pattern",
    "languageIn",
    "uniqueLang",
    "equals",
    "disjoint",
    "lessThan",
    "lessThanOrEquals",
    "not",
    "and",
    "or",
    "xone",
    "node",
    "qualifiedMinCount",
    "qualifiedMaxCount",
    "closed",
    "hasValue",
    "in",
]

# Constraint components that cannot fail on their own in a graph that otherwise conforms:
# another shape always fails with them, so no fixture can isolate them. Each is a finding
# about the shapes, reported to the owner rather than papered over here.
INSEPARABLE: dict[tuple[str, str], str] = {
    ("ClaimShape-appearance", "MaxCountConstraintComponent"): (
        "a claim's one source sentence is in one document (SentenceShape-inDocument maxCount 1),"
        " so with two appearance documents ClaimShape-sentenceInDocument fires too"
    ),
    ("ClaimShape-appearance", "ClassConstraintComponent"): (
        "the source sentence's document is a kg:SourceDocument (SentenceShape-inDocument), so an"
        " appearance that is not one differs from it and ClaimShape-sentenceInDocument fires too"
    ),
    ("ConditionalStatementShape-condition", "MinCountConstraintComponent"): (
        "without a condition the path kg:condition/kg:modality is empty, so the sh:hasValue of"
        " ConditionalStatementShape-conditionModality fails too"
    ),
    ("TenureShape-endDate", "MinInclusiveConstraintComponent"): (
        "an end date before 1900 needs a start date before it (TenureShape-startDate sh:lessThan),"
        " which then fails TenureShape-startDate's sh:minInclusive"
    ),
}

# Classes of the ontology that no node shape targets, on purpose.
UNTARGETED_CLASSES = {
    KG + "Stance": "its instances are the ontology's own individuals (kg:Stated ...), and"
    " ClaimShape-stance checks a claim's stance with sh:in",
    KG + "Modality": "its instances are the ontology's own individuals (kg:Actual,"
    " kg:Hypothetical), and EventShape-modality checks an event's modality with sh:in",
}

# Fixtures that a known kgraph bug makes pass (each strict xfail): none now. (Earlier:
# pySHACL's focus_nodes option also filtered the value nodes of nested shapes, so a missing
# English label went unreported, PrefLabelShape-5.)
KNOWN_BUGS: dict[str, str] = {}


# -- fixtures and their headers -------------------------------------------------------------


@dataclass(frozen=True)
class ShapeFixture:
    path: Path
    shape: str
    """IRI of the property shape, node shape or SPARQL-based constraint that must fail."""
    focus: str
    breaks: str
    component: str
    """Local name of the constraint component the fixture exercises."""
    also: tuple[str, ...] = ()
    """Other shapes the breakage must fail too (``# also:``), where SHACL says it does."""

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def local_name(self) -> str:
        return self.shape.removeprefix(KGS)


def _expand(curie: str) -> str:
    for prefix, namespace in EXPAND.items():
        if curie.startswith(prefix):
            return namespace + curie[len(prefix) :]
    return curie


def read_header(path: Path) -> ShapeFixture:
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"# (shape|focus|breaks|component|also): (.+)", line)
        if not match:
            break
        fields[match[1]] = match[2].strip()
    missing = {"shape", "focus", "breaks", "component"} - set(fields)
    assert not missing, f"{path.name}: header lacks {sorted(missing)}"
    return ShapeFixture(
        path=path,
        shape=_expand(fields["shape"]),
        focus=_expand(fields["focus"]),
        breaks=fields["breaks"],
        component=_expand(fields["component"]).removeprefix(SH),
        also=tuple(_expand(s) for s in fields.get("also", "").split()),
    )


FIXTURES = [read_header(p) for p in sorted(FIXTURE_DIR.glob("*.ttl"))]
BY_NAME = {f.name: f for f in FIXTURES}


def fixture_params(names: list[str] | None = None) -> list[Any]:
    chosen = FIXTURES if names is None else [BY_NAME[n] for n in names]
    return [
        pytest.param(
            f,
            id=f.name,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[f.name])]
            if f.name in KNOWN_BUGS
            else [],
        )
        for f in chosen
    ]


# -- what the shapes file declares ------------------------------------------------------------


@dataclass(frozen=True)
class ShapesInfo:
    components: dict[str, set[str]]
    """Every constraint-bearing shape (IRI) and the components it can fail with."""
    sparql_owner: dict[str, str]
    """SPARQL-based constraint -> the node shape that has it (pySHACL's sh:sourceShape)."""
    target_classes: set[str]


@cache
def shapes_info() -> ShapesInfo:
    from rdflib import RDF, Graph, URIRef

    graph = Graph().parse(SHAPES_TTL)

    def sh(local: str) -> URIRef:
        return URIRef(SH + local)

    named = (
        set(graph.subjects(RDF.type, sh("PropertyShape")))
        | set(graph.subjects(RDF.type, sh("NodeShape")))
        | set(graph.objects(None, sh("property")))
    )
    components: dict[str, set[str]] = {}
    for shape in named:
        if not isinstance(shape, URIRef):
            continue
        found = {
            p[0].upper() + p[1:] + "ConstraintComponent"
            for p in CONSTRAINT_PARAMETERS
            if (shape, sh(p), None) in graph
        }
        if found:
            components[str(shape)] = found
    owner: dict[str, str] = {}
    constraints = set(graph.subjects(RDF.type, sh("SPARQLConstraint")))
    for shape, constraint in graph.subject_objects(sh("sparql")):
        owner[str(constraint)] = str(shape)
        constraints.add(constraint)
    for constraint in constraints:
        components[str(constraint)] = {"SPARQLConstraintComponent"}
    targets = {str(c) for c in graph.objects(None, sh("targetClass"))}
    return ShapesInfo(components, owner, targets)


# -- running kgraph and pySHACL ---------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One read-only copy of the project for every `kgraph validate` of this module (the
    working tree changes under us while other people work in it)."""
    target = tmp_path_factory.mktemp("shapes") / "project"
    target.mkdir()
    for name in ("ontology", "data", "queries"):
        if (ROOT / name).exists():
            shutil.copytree(
                ROOT / name, target / name, ignore=shutil.ignore_patterns("batches", ".*")
            )
    return target


@pytest.fixture(scope="module")
def validated(shipped: Path) -> Callable[[Path | None], Run]:
    """A fixture validated as `kgraph validate FILE -f json` reports it, run once per file.

    In process, as an overlay on the copy loaded once for the module
    (``Project.overlay_validator``): only the nodes the file can affect are validated, as
    ``kgraph add`` does, instead of reloading and revalidating the whole graph per fixture.
    The shipped graph conforms (checked whole, by the CLI, below and in
    test_shipped_graph_conforms), so every violation is one the file introduces; the
    reference tests compare the results with pySHACL on the whole merged graph, so a node
    the overlay missed shows up as a difference. ``None`` runs the CLI on the whole graph.
    """
    from kgraph import Project
    from kgraph.shacl.report import render

    check = Project.open(shipped, isolated=False).overlay_validator()
    runs: dict[Path | None, Run] = {}

    def run(path: Path | None) -> Run:
        if path not in runs:
            if path is None:
                runs[path] = invoke(["--project", str(shipped), "validate", "-f", "json"])
            else:
                report = check([str(path)])
                status = ExitStatus.OK if report.conforms else ExitStatus.FINDINGS
                data = render(report, "json")
                runs[path] = Run(int(status), data.decode(), "", data)
        return runs[path]

    return run


Result = tuple[str, str, str, str | None, str | None]
"""(focus, sourceShape, component, value, sourceConstraint), terms in canonical N-Triples."""


def kgraph_results(run: Run) -> set[Result]:
    return {
        (
            r["focusNode"],
            r["sourceShape"],
            r["constraintComponent"],
            canonical(r["value"]),
            r["sourceConstraint"],
        )
        for r in json.loads(run.stdout)["results"]
    }


def reference_results(findings: Iterable[Any]) -> set[Result]:
    """pySHACL's findings (tests/reference.py) as ``Result``s."""
    return {(f.focus, f.shape, f.component, canonical(f.value), f.constraint) for f in findings}


@pytest.fixture(scope="module")
def reference() -> Callable[[Path | str | None], set[Result]]:
    """pySHACL on the whole merged graph: ontology + data + a fixture file (its run shared
    with test_shacl_compiled) or Turtle text, no chunks, literals as written."""
    from reference import data_quads, fixture_reference, pyshacl_findings, rdflib_graph

    def run(extra: Path | str | None) -> set[Result]:
        if isinstance(extra, Path):
            return reference_results(fixture_reference(extra))
        quads = [] if extra is None else turtle_quads(text=extra)
        with rdflib_graph([*data_quads(), *quads]) as graph:
            return reference_results(pyshacl_findings(graph))

    return run


def expected_shape_of(fixture: ShapeFixture) -> tuple[str, str | None]:
    """(sourceShape, sourceConstraint) every result of the fixture must carry."""
    owner = shapes_info().sparql_owner.get(fixture.shape)
    if owner is not None:
        return f"<{owner}>", f"<{fixture.shape}>"
    return f"<{fixture.shape}>", None


def assert_only_the_fixture_fails(results: list[dict[str, Any]], fixture: ShapeFixture) -> None:
    shape, constraint = expected_shape_of(fixture)
    assert results, "no validation result"
    allowed = {(f"<{fixture.focus}>", shape, constraint)}
    allowed |= {(f"<{fixture.focus}>", f"<{other}>", None) for other in fixture.also}
    stray = [
        r
        for r in results
        if (r["focusNode"], r["sourceShape"], r["sourceConstraint"]) not in allowed
    ]
    found = {r["sourceShape"] for r in results}
    assert all(f"<{other}>" in found for other in fixture.also), f"not all of {fixture.also}"
    assert not stray, f"results from other shapes or focus nodes: {stray}"
    components = {r["constraintComponent"] for r in results}
    assert fixture.component in components
    assert all(r["severity"] == "Violation" and r["message"] for r in results)


# -- the shipped graph ------------------------------------------------------------------------


@pytest.mark.parametrize("infer", ["none", "rdfs", "owlrl"])
def test_shipped_graph_conforms(kgraph: Callable[..., Run], infer: str) -> None:
    result = kgraph("validate", "--infer", infer)
    assert result.exit_code == ExitStatus.OK, result.stdout + result.stderr
    assert result.stdout.startswith("conforms: 0 violations")


# -- the fixtures themselves ------------------------------------------------------------------


def test_fixture_folder_is_not_empty() -> None:
    assert len(FIXTURES) > 100


@pytest.mark.parametrize("fixture", [pytest.param(f, id=f.name) for f in FIXTURES])
def test_fixture_header_names_a_constraint_of_the_shapes(fixture: ShapeFixture) -> None:
    assert re.fullmatch(re.escape(fixture.local_name) + r"-[1-9][0-9]*", fixture.name)
    assert fixture.shape in shapes_info().components, f"{fixture.shape} has no constraint"
    assert fixture.component in shapes_info().components[fixture.shape]
    assert fixture.focus.startswith(KGD + "fixture-")
    assert fixture.breaks.endswith(".")
    # Fixtures use only kgd:fixture-* IRIs for the nodes they describe.
    text = fixture.path.read_text(encoding="utf-8")
    subjects = re.findall(r"^(kgd:\S+)$", text, flags=re.MULTILINE)
    assert subjects and all(s.startswith("kgd:fixture-") for s in subjects)


@pytest.mark.parametrize("fixture", fixture_params())
def test_fixture_fails_on_its_shape_and_focus_only(
    validated: Callable[[Path | None], Run], fixture: ShapeFixture
) -> None:
    result = validated(fixture.path)
    assert result.exit_code == ExitStatus.FINDINGS, result.stdout + result.stderr
    results = json.loads(result.stdout)["results"]
    assert_only_the_fixture_fails(results, fixture)
    where = re.compile(re.escape(str(fixture.path)) + r"(:[1-9][0-9]*)?")
    assert all(where.fullmatch(r["location"] or "") for r in results), [
        r["location"] for r in results
    ]


# Fixtures whose offending literal is not in Oxigraph's canonical form (3.0 for a decimal):
# the finding carries the canonical value ("3"^^xsd:decimal), report.locate looks that up
# in the line index of the file as written, finds nothing, and gives the file without a line.
NON_CANONICAL = [
    "BatchShape-tripleCount-3",
    "ClaimShape-ordinal-2",
    "EstimateShape-count-2",
    "EstimateShape-countMin-2",
    "SentenceShape-sentenceNumber-2",
]
# Literals an engine rewrites (2.0 -> 2) used to lose their line; kept as regression cases.
LOCATION_BUGS: dict[str, str] = {}
assert NON_CANONICAL


@pytest.mark.parametrize(
    "fixture",
    [
        pytest.param(
            f,
            id=f.name,
            marks=[pytest.mark.xfail(strict=True, reason=LOCATION_BUGS[f.name])]
            if f.name in LOCATION_BUGS
            else [],
        )
        for f in FIXTURES
        if f.name not in KNOWN_BUGS
    ],
)
def test_fixture_results_name_the_line(
    validated: Callable[[Path | None], Run], fixture: ShapeFixture
) -> None:
    results = json.loads(validated(fixture.path).stdout)["results"]
    lines = {r["location"].rpartition(":")[2] for r in results if r["location"]}
    assert lines and all(line.isdigit() for line in lines), [r["location"] for r in results]
    text = fixture.path.read_text(encoding="utf-8").splitlines()
    for line in lines:
        # The line is in the fixture's node (its subject line or one of its triples).
        assert text[int(line) - 1].startswith(("kgd:fixture-", "    "))


# -- coverage ---------------------------------------------------------------------------------


def test_every_constraint_bearing_shape_has_a_fixture() -> None:
    covered = {f.shape for f in FIXTURES}
    uncovered = sorted(set(shapes_info().components) - covered)
    assert not uncovered, "shapes without a failing fixture: " + ", ".join(
        s.removeprefix(KGS) for s in uncovered
    )


def test_every_constraint_component_has_a_fixture_or_a_reason() -> None:
    needed = {
        (shape.removeprefix(KGS), component)
        for shape, components in shapes_info().components.items()
        for component in components
    }
    covered = {(f.local_name, f.component) for f in FIXTURES}
    missing = sorted(needed - covered - set(INSEPARABLE))
    assert not missing, f"constraint components without a fixture: {missing}"
    stale = sorted(set(INSEPARABLE) & covered) + sorted(set(INSEPARABLE) - needed)
    assert not stale, f"INSEPARABLE lists components that are covered or gone: {stale}"


def test_every_ontology_class_is_targeted_by_a_node_shape() -> None:
    from rdflib import OWL, RDF, RDFS, Graph, URIRef

    ontology = Graph().parse(ONTOLOGY_TTL)
    targeted = shapes_info().target_classes
    untargeted = []
    for cls in sorted(ontology.subjects(RDF.type, OWL.Class)):
        if not isinstance(cls, URIRef) or not str(cls).startswith(KG):
            continue
        ancestors = {str(c) for c in ontology.transitive_objects(cls, RDFS.subClassOf)}
        if not ancestors & targeted and str(cls) not in UNTARGETED_CLASSES:
            untargeted.append(str(cls))
    assert not untargeted, f"classes no node shape targets: {untargeted}"
    for cls in UNTARGETED_CLASSES:
        assert (URIRef(cls), RDF.type, OWL.Class) in ontology
        assert cls not in targeted


# -- kgraph against pySHACL on the whole graph ------------------------------------------------


def test_reference_shipped_graph(
    validated: Callable[[Path | None], Run],
    reference: Callable[[Path | str | None], set[Result]],
) -> None:
    result = validated(None)
    assert result.exit_code == ExitStatus.OK, result.stdout
    assert kgraph_results(result) == reference(None) == set()


@pytest.mark.slow
@pytest.mark.parametrize("fixture", fixture_params())
def test_reference_fixture(
    validated: Callable[[Path | None], Run],
    reference: Callable[[Path | str | None], set[Result]],
    fixture: ShapeFixture,
) -> None:
    expected = reference(fixture.path)
    # The reference itself sees the fixture fail on its shape and focus node only.
    shape, constraint = expected_shape_of(fixture)
    assert {(r[0], r[1], r[4]) for r in expected} == {(f"<{fixture.focus}>", shape, constraint)}
    got = kgraph_results(validated(fixture.path))
    # `# also:` names shapes SHACL says fail where pySHACL lets them pass (sh:lessThan between
    # an xsd:date and an xsd:dateTime: incomparable, so a violation, SHACL 1.0 §4.5.3): kgraph
    # follows the spec there, and agrees with the reference everywhere else.
    also = {f"<{other}>" for other in fixture.also}
    assert {r for r in got if r[1] not in also} == expected
    assert all(any(r[1] == other for r in got) for other in also)


# Inputs outside the fixture set that probe the neighbourhood extraction.
PROBES = {
    "class-declared-in-data": (
        """
        @prefix kg:   <https://w3id.org/kgraph/ontology#> .
        @prefix kgd:  <https://w3id.org/kgraph/id/> .
        @prefix owl:  <http://www.w3.org/2002/07/owl#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

        kgd:fixture-Dignitary a owl:Class ; rdfs:subClassOf kg:Person .
        kgd:fixture-dignitary-1 a kgd:fixture-Dignitary .
        """,
        "the neighbourhood takes rdfs:subClassOf from ontology/ graphs only"
        " (validation.py _neighbourhood), so a person typed with a subclass declared in a"
        " data file is counted as a target but validated as nothing: no PrefLabelShape result",
    ),
    "agent-class-declared-in-data": (
        """
        @prefix kg:   <https://w3id.org/kgraph/ontology#> .
        @prefix kgd:  <https://w3id.org/kgraph/id/> .
        @prefix owl:  <http://www.w3.org/2002/07/owl#> .
        @prefix prov: <http://www.w3.org/ns/prov#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        @prefix skos: <http://www.w3.org/2004/02/skos/core#> .

        kgd:fixture-Militia a owl:Class ; rdfs:subClassOf prov:Agent .
        kgd:fixture-militia-1 a kgd:fixture-Militia .
        kgd:fixture-event-1 a kg:Event ;
            skos:prefLabel "Fixture event"@en ;
            kg:participant kgd:fixture-militia-1 .
        """,
        "the neighbourhood takes rdfs:subClassOf from ontology/ graphs only"
        " (validation.py _neighbourhood), so sh:class prov:Agent rejects an agent whose class"
        " is declared in a data file: a false EventShape-participant violation",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, id=n) for n in PROBES],
)
def test_reference_probe(
    tmp_path: Path,
    validated: Callable[[Path | None], Run],
    reference: Callable[[Path | str | None], set[Result]],
    name: str,
) -> None:
    turtle = PROBES[name][0]
    path = tmp_path / f"{name}.ttl"
    path.write_text(turtle, encoding="utf-8")
    assert kgraph_results(validated(path)) == reference(turtle)


# -- incremental validation: kgraph add -------------------------------------------------------

ADDED = [
    "ClaimShape-sentenceInDocument-1",
    "ClaimShape-notAfterDocument-1",
    "EstimateShape-notAfterSuccessor-1",
    "EstimateShape-notAfterSuccessor-2",
    "EstimateShape-sameQuantity-1",
    "EstimateShape-supersededBy-2",
    "ClaimShape-stance-1",
    "TenureShape-startDate-6",
    "EventShape-actor-1",
    "PrefLabelShape-3",
]


@pytest.mark.parametrize("fixture", fixture_params(ADDED))
def test_add_rejects_fixture_and_writes_nothing(
    project: Path,
    kgraph: Callable[..., Run],
    snapshot: Callable[[Path], dict[str, bytes]],
    fixture: ShapeFixture,
) -> None:
    before = snapshot(project / "data")
    result = kgraph("add", str(fixture.path), "-f", "json")
    assert result.exit_code == ExitStatus.FINDINGS, result.stdout + result.stderr
    assert snapshot(project / "data") == before
    document = json.loads(result.stdout)
    assert document["status"] == "rejected"
    assert document["report"]["conforms"] is False
    assert_only_the_fixture_fails(document["report"]["results"], fixture)


def test_add_reports_violations_on_nodes_the_batch_does_not_describe(
    project: Path, kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    # A date of issue for the article makes every claim in it that is dated later break
    # ClaimShape-notAfterDocument: the batch's subject is the article, the focus nodes are
    # the claims, reached backwards along kg:reads (schema:appearance / dcterms:issued).
    batch = tmp_path / "issued.ttl"
    batch.write_text(
        "@prefix dcterms: <http://purl.org/dc/terms/> .\n"
        "@prefix kgd: <https://w3id.org/kgraph/id/> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        'kgd:article dcterms:issued "2024-10-27"^^xsd:date .\n',
        encoding="utf-8",
    )
    full = kgraph("validate", str(batch), "-f", "json")
    assert full.exit_code == ExitStatus.FINDINGS
    added = kgraph("add", str(batch), "-f", "json")
    assert added.exit_code == ExitStatus.FINDINGS
    expected = kgraph_results(full)
    assert {r[4] for r in expected} == {f"<{KGS}ClaimShape-notAfterDocument>"}
    assert len({r[0] for r in expected}) > 5
    got = {
        (
            r["focusNode"],
            r["sourceShape"],
            r["constraintComponent"],
            canonical(r["value"]),
            r["sourceConstraint"],
        )
        for r in json.loads(added.stdout)["report"]["results"]
    }
    assert got == expected


GOOD_BATCH = """\
@prefix kg:   <https://w3id.org/kgraph/ontology#> .
@prefix kgd:  <https://w3id.org/kgraph/id/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .

kgd:fixture-city-good
    a kg:City ;
    skos:prefLabel "Fixture city"@en ;
    kg:locatedIn kgd:Russia .
"""


@pytest.fixture
def preexisting(project: Path) -> Iterator[ShapeFixture]:
    """The project copy with a violation already in data/ (a curated file, not a batch)."""
    bad = BY_NAME["ClaimShape-stance-1"]
    shutil.copy(bad.path, project / "data" / "fixture-preexisting.ttl")
    yield bad


SAME_NODE_BATCH = """\
@prefix kg:  <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .

kgd:fixture-claim-1 kg:factId "FX9" .
"""


@pytest.mark.parametrize(
    "batch",
    [pytest.param(GOOD_BATCH, id="unrelated"), pytest.param(SAME_NODE_BATCH, id="same-node")],
)
def test_add_does_not_blame_a_batch_for_an_existing_violation(
    project: Path,
    kgraph: Callable[..., Run],
    tmp_path: Path,
    preexisting: ShapeFixture,
    batch: str,
) -> None:
    # "same-node" touches the node that already violates (kgd:fixture-claim-1), so the
    # incremental check validates it, finds the old violation before and after, and must
    # still not report it.
    path = tmp_path / "good.ttl"
    path.write_text(batch, encoding="utf-8")
    added = kgraph("add", str(path), "-f", "json")
    assert added.exit_code == ExitStatus.OK, added.stdout + added.stderr
    document = json.loads(added.stdout)
    assert document["status"] == "added"
    assert document["report"]["conforms"] is True
    assert document["report"]["results"] == []
    assert len(list((project / "data" / "batches").glob("*.ttl"))) == 1

    after = kgraph("validate", "-f", "json")
    assert after.exit_code == ExitStatus.FINDINGS
    assert_only_the_fixture_fails(json.loads(after.stdout)["results"], preexisting)


@pytest.mark.parametrize(
    "batch",
    [
        pytest.param(GOOD_BATCH, id="unrelated"),
        pytest.param(SAME_NODE_BATCH, id="same-node"),
    ],
)
def test_validate_places_an_existing_violation_in_its_own_file(
    project: Path,
    kgraph: Callable[..., Run],
    tmp_path: Path,
    preexisting: ShapeFixture,
    batch: str,
) -> None:
    path = tmp_path / "good.ttl"
    path.write_text(batch, encoding="utf-8")
    assert kgraph("add", str(path)).exit_code == ExitStatus.OK
    results = json.loads(kgraph("validate", "-f", "json").stdout)["results"]
    where = re.compile(r"(.*/)?data/fixture-preexisting\.ttl:[1-9][0-9]*")
    assert results and all(where.fullmatch(r["location"] or "") for r in results), [
        r["location"] for r in results
    ]
