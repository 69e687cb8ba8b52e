"""Validation reports for people (text), programs (JSON) and RDF tools (Turtle)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kgraph.formats import RdfSyntax
from kgraph.namespaces import PREFIXES, RDF, SH, shorten
from kgraph.results import prefixes_for, serialize
from kgraph.shacl.locate import LineIndex
from kgraph.shacl.model import Finding, Report, to_ox
from kgraph.shacl.model import short_term as _term

REPORT_FORMATS = ("text", "turtle", "json")


@dataclass(frozen=True)
class GraphSource:
    """Where a graph's triples were read from, to point a finding at a line."""

    name: str
    load: Callable[[], bytes]
    syntax: RdfSyntax
    base_iri: str | None
    skolem: str | None = None
    lines: LineIndex | None = None
    """Lines already known (a compiled claim sheet's, which is not RDF to re-read)."""
    lines_of: Callable[[], LineIndex] | None = None
    """Lines found on demand (a claim sheet of the project, compiled again if needed)."""


def locate(
    report: Report,
    stores: Sequence[Any],
    sources: dict[str, GraphSource],
    *,
    checked: Collection[str] = (),
) -> Report:
    """Fill in ``file:line`` for each finding whose triple (or focus node) came from a file.

    A finding with a value points at the triple that holds it (or, when an engine has
    rewritten the literal, at the first triple of that node and property); a finding
    without one points at where the focus node is typed, else where it first appears.
    ``sources`` order breaks ties (the files being checked come first). When that is in
    none of the ``checked`` graphs (the batch, the files given to validate) but one of them
    names the focus node, the finding points at the first line there that does: a batch's
    violation on a node of an earlier file (its `supersedes:` the wrong estimate) is fixed
    in the batch, and the earlier file is never to be edited.
    """
    import pyoxigraph as ox

    if not report.findings:
        return report
    indexes: dict[str, LineIndex] = {}

    def index(graph: str) -> LineIndex:
        if graph not in indexes:
            src = sources[graph]
            indexes[graph] = (
                src.lines
                if src.lines is not None
                else src.lines_of()
                if src.lines_of is not None
                else LineIndex.build(
                    src.load(), src.syntax, base_iri=src.base_iri, skolem=src.skolem
                )
            )
        return indexes[graph]

    def graphs_with(s: Any, p: Any, o: Any) -> list[str]:
        if isinstance(s, ox.Literal):
            return []  # a literal focus node (sh:targetNode "x") is the subject of no triple
        found = {
            q.graph_name.value
            for store in stores
            for q in store.quads_for_pattern(s, p, o, None)
            if isinstance(q.graph_name, ox.NamedNode)
        }
        return [g for g in sources if g in found]

    def at(graph: str, line: int | None) -> str:
        return f"{sources[graph].name}:{line}" if line else sources[graph].name

    def in_checked(focus: Any) -> str | None:
        # The first line of a checked graph that names the node, as subject or as object.
        for graph in (g for g in sources if g in checked):
            lines = index(graph)
            found = [lines.subjects[focus]] if focus in lines.subjects else []
            if not isinstance(focus, ox.Literal):
                named = ox.NamedNode(graph)
                found += [
                    line
                    for store in stores
                    for q in store.quads_for_pattern(None, None, focus, named)
                    if (line := lines.triples.get((q.subject, q.predicate, q.object)))
                ]
            if found:
                return at(graph, min(found))
        return None

    rdf_type = ox.NamedNode(RDF + "type")
    located = []
    for finding in report.findings:
        focus = to_ox(finding.focus)
        where: tuple[str, int | None] | None = None
        if finding.path is not None and _is_predicate(finding.path):
            predicate = ox.NamedNode(finding.path[1:-1])
            value = to_ox(finding.value) if finding.value is not None else None
            for graph in graphs_with(focus, predicate, value) if value is not None else []:
                lines = index(graph)
                line = lines.triples.get((focus, predicate, value))
                where = (graph, line or lines.pairs.get((focus, predicate)))
                break
            if where is None and value is not None:
                for graph in graphs_with(focus, predicate, None):
                    where = (graph, index(graph).pairs.get((focus, predicate)))
                    break
        if where is None:
            for graph in graphs_with(focus, rdf_type, None) or graphs_with(focus, None, None):
                where = (graph, index(graph).subjects.get(focus))
                break
        location = at(*where) if where is not None else None
        if checked and (where is None or where[0] not in checked):
            location = in_checked(focus) or location
        located.append(replace(finding, location=location))
    return replace(report, findings=tuple(located))


def _is_predicate(path: str | None) -> bool:
    return path is not None and path.startswith("<") and path.endswith(">") and path.count("<") == 1


def _path(path: str | None) -> str:
    if path is None:
        return "(node)"
    if _is_predicate(path):
        return shorten(path[1:-1])
    return path


def render(report: Report, fmt: str, *, title: str = "") -> bytes:
    if fmt == "json":
        return render_json(report)
    if fmt == "turtle":
        return render_turtle(report)
    return render_text(report, title=title).encode()


def render_text(report: Report, *, title: str = "") -> str:
    violations = sum(f.is_violation for f in report.findings)
    others = len(report.findings) - violations
    focus_count = len({f.focus for f in report.findings})
    lines = []
    verdict = "conforms" if report.conforms else "does not conform"
    head = f"{title}{verdict}: {violations} violation{'s' * (violations != 1)}"
    if others:
        head += f", {others} warning{'s' * (others != 1)}/info"
    if report.findings:
        head += f" on {focus_count} node{'s' * (focus_count != 1)}"
    head += f" ({report.focus_nodes} node{'s' * (report.focus_nodes != 1)} checked, {report.mode})"
    lines.append(head)
    if report.global_shapes:
        lines.append(
            "validated the whole graph because these shapes are not local: "
            + ", ".join(shorten(s) for s in report.global_shapes)
        )
    if report.pyshacl_shapes:
        lines.append(
            "validated by pySHACL (not compiled): "
            + ", ".join(_term(s) for s in report.pyshacl_shapes)
        )
    groups: dict[str, list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault(finding.focus, []).append(finding)
    for focus, findings in groups.items():
        lines.append("")
        lines.append(_term(focus))
        shown: set[tuple[str | None, str | None, str, str]] = set()
        for f in findings:
            # One line per problem: a shape's several components (datatype, range...)
            # that fail on the same value share its message.
            said = (f.path, f.value, f.shape, f.message)
            if said in shown:
                continue
            shown.add(said)
            value = f" = {_term(f.value)}" if f.value is not None else ""
            where = f"  ({f.location})" if f.location else ""
            lines.append(f"  {f.severity}: {_path(f.path)}{value}{where}")
            lines.append(f"    {_readable(f.message)}  [{_term(f.constraint or f.shape)}]")
            if f.note:
                lines.append(f"    engines disagree: {f.note}")
    return "\n".join(lines) + "\n"


_IRI = re.compile(r"https?://[^\s<>\"{}|\\^`]*[^\s<>\"{}|\\^`.,;:!?)]")
"""An IRI in a message's text (a ``{?sentence}`` the shape's message names), without the
punctuation of the sentence it ends."""


def _readable(message: str) -> str:
    """A message with the IRIs its placeholders filled in as CURIEs, as the rest of the
    text report names terms ("The claim's source sentence kgd:article-s01 belongs to
    another document", not https://w3id.org/kgraph/id/article-s01). Only the text report:
    the RDF and JSON reports keep the message as the engines made it."""

    def one(match: re.Match[str]) -> str:
        short = shorten(match.group(0))
        return match.group(0) if short.startswith("<") else short

    return _IRI.sub(one, message)


def render_json(report: Report) -> bytes:
    document: dict[str, Any] = {
        "conforms": report.conforms,
        "mode": report.mode,
        "focusNodesChecked": report.focus_nodes,
        "results": [
            {
                "focusNode": f.focus,
                "path": f.path,
                "value": f.value,
                "message": f.message,
                "severity": f.severity,
                "sourceShape": f.shape,
                "constraintComponent": f.component,
                "sourceConstraint": f.constraint,
                "location": f.location,
                **({"engineNote": f.note} if f.note else {}),
            }
            for f in report.findings
        ],
    }
    if report.global_shapes:
        document["globalShapes"] = list(report.global_shapes)
    notes = sorted({f.note for f in report.findings if f.note})
    if notes:
        document["engineDisagreements"] = notes
    if report.pyshacl_shapes:
        document["pyshaclShapes"] = list(report.pyshacl_shapes)
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def render_turtle(report: Report) -> bytes:
    """A W3C SHACL validation report (SHACL 1.0 §3.6)."""
    import pyoxigraph as ox

    def sh(local: str) -> ox.NamedNode:
        return ox.NamedNode(SH + local)

    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    root = ox.BlankNode("report")
    triples = [
        ox.Triple(root, rdf_type, sh("ValidationReport")),
        ox.Triple(
            root,
            sh("conforms"),
            ox.Literal(
                str(report.conforms).lower(), datatype=ox.NamedNode(PREFIXES["xsd"] + "boolean")
            ),
        ),
    ]
    for i, f in enumerate(report.findings):
        node = ox.BlankNode(f"r{i}")
        triples += [
            ox.Triple(root, sh("result"), node),
            ox.Triple(node, rdf_type, sh("ValidationResult")),
            ox.Triple(node, sh("focusNode"), to_ox(f.focus)),
            ox.Triple(node, sh("resultSeverity"), sh(f.severity)),
            ox.Triple(node, sh("resultMessage"), ox.Literal(f.message)),
            ox.Triple(node, sh("sourceConstraintComponent"), sh(f.component)),
        ]
        if f.shape.startswith("<"):
            triples.append(ox.Triple(node, sh("sourceShape"), ox.NamedNode(f.shape[1:-1])))
        if f.constraint:
            triples.append(
                ox.Triple(node, sh("sourceConstraint"), ox.NamedNode(f.constraint[1:-1]))
            )
        if f.path and _is_predicate(f.path):
            triples.append(ox.Triple(node, sh("resultPath"), ox.NamedNode(f.path[1:-1])))
        if f.value is not None:
            triples.append(ox.Triple(node, sh("value"), to_ox(f.value)))
    return serialize(triples, RdfSyntax.TURTLE, prefixes=prefixes_for(triples, RdfSyntax.TURTLE))


def only_violations(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.is_violation]
