"""Quality checks, reported ROBOT-style (Level, Rule Name, Subject, Property, Value).

Two kinds: the SPARQL checks in ``queries/checks/*-violation.rq`` (any row is a finding;
the ``#+ level:`` header says ERROR, WARN or INFO) and hygiene checks of the ontology and
shapes files that SPARQL cannot express well (version, messages, declared reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from kgraph import __version__
from kgraph.limits import Phase, phase
from kgraph.namespaces import KG, ONTOLOGY, OWL, SH
from kgraph.queries import checks as check_queries

if TYPE_CHECKING:
    from kgraph.layout import Layout
    from kgraph.shacl.index import ShapeIndex
    from kgraph.store import Dataset


class Level(StrEnum):
    """How bad a finding is (a check query's ``#+ level:`` header; ERROR when missing or
    unknown). ERROR findings make ``kgraph check`` exit 1."""

    ERROR = "ERROR"
    WARN = "WARN"
    INFO = "INFO"


LEVELS = tuple(Level)


@dataclass(frozen=True)
class Finding:
    level: Level
    rule: str
    subject: str
    property: str
    value: str


@dataclass(frozen=True)
class CheckReport:
    rules: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(f.level is Level.ERROR for f in self.findings)


def run(dataset: Dataset, shapes: ShapeIndex) -> CheckReport:
    from kgraph.results import cell

    phase(Phase.QUERY)
    findings: list[Finding] = []
    rules: list[str] = []
    for name, query in check_queries(dataset.project.queries_dir).items():
        rule = name.removesuffix("-violation")
        rules.append(rule)
        named = str(query.extra.get("level", "ERROR")).upper()
        level = Level(named) if named in Level.__members__ else Level.ERROR
        for row in dataset.query(query.text, source=query.source):
            findings.append(
                Finding(level, rule, *(cell(_get(row, v)) for v in ("entity", "property", "value")))
            )
    rules += ["ontology-version", "shape-message", "sparql-reads"]
    findings += _hygiene(dataset.project, shapes)
    return CheckReport(
        tuple(rules),
        tuple(sorted(findings, key=lambda f: (LEVELS.index(f.level), f.rule, f.subject))),
    )


def _get(row: Any, name: str) -> Any:
    try:
        return row[name]
    except (KeyError, IndexError):
        return None


def _hygiene(project: Layout, index: ShapeIndex) -> list[Finding]:
    import pyoxigraph as ox

    findings = []
    ontology = project.ontology_dir / "kgraph.ttl"
    if ontology.exists():
        versions = [
            q.object.value
            for q in ox.parse(path=str(ontology))
            if q.subject == ox.NamedNode(ONTOLOGY)
            and q.predicate == ox.NamedNode(OWL + "versionInfo")
        ]
        if versions != [__version__]:
            findings.append(
                Finding(
                    Level.ERROR,
                    "ontology-version",
                    f"<{ONTOLOGY}>",
                    "owl:versionInfo",
                    f"{versions} != package {__version__}",
                )
            )
    graph = index.graph
    from rdflib import RDF as R
    from rdflib import URIRef

    for shape in sorted(graph.subjects(R.type, URIRef(SH + "PropertyShape")), key=str):
        for needed in ("message", "name"):
            if (shape, URIRef(SH + needed), None) not in graph:
                findings.append(
                    Finding(Level.WARN, "shape-message", f"<{shape}>", f"sh:{needed}", "missing")
                )
    for constraint in sorted(graph.subjects(R.type, URIRef(SH + "SPARQLConstraint")), key=str):
        if (constraint, URIRef(KG + "reads"), None) not in graph:
            findings.append(
                Finding(
                    Level.WARN,
                    "sparql-reads",
                    f"<{constraint}>",
                    "kg:reads",
                    "missing: `kgraph add` must validate the whole graph",
                )
            )
    return findings
