"""What validation produces: findings, the report, and how the report was computed.

Plain, picklable data (it crosses the worker's pipe); no engine is imported here, so every
module of the package can use it without an import cycle.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from kgraph.namespaces import shorten

if TYPE_CHECKING:
    import pyoxigraph as ox


class Engine(StrEnum):
    """Which SHACL engine validates (``--engine``)."""

    COMPILED = "compiled"
    """Shapes compiled to SPARQL, evaluated by Oxigraph (``shacl.compiled``); the default."""
    PYSHACL = "pyshacl"
    """pySHACL on bounded neighbourhoods (``shacl.engine``): the reference."""


class ValidationMode(StrEnum):
    """How a report's focus nodes were validated (shown in the report)."""

    CHUNKED = "chunked"
    """Every target node of the graph, in chunks of bounded neighbourhoods."""
    INCREMENTAL = "incremental"
    """Only the nodes a batch (or its removal) can affect."""
    WHOLE_GRAPH = "whole-graph"
    """pySHACL over the whole graph: the fallback for global shapes."""
    COMPILED = "compiled"
    """Every target node of the graph, by the compiled engine in one pass."""


@dataclass(frozen=True)
class Finding:
    """One SHACL validation result; terms in N-Triples form."""

    focus: str
    path: str | None
    value: str | None
    message: str
    severity: str
    shape: str
    component: str
    constraint: str | None = None
    """The SPARQL-based constraint that produced it (sh:sourceConstraint), if any."""
    location: str | None = None
    note: str | None = None
    """Where the engines disagree by design on this result (the compiled engine's view)."""
    shown_message: str | None = field(default=None, compare=False)
    """The message as the text report shows it, when it differs from ``message``: the IRIs
    filled into its template with the project's prefixes (:func:`fill_message`)."""

    @property
    def key(self) -> tuple[str, str | None, str | None, str, str, str | None]:
        return (self.focus, self.path, self.value, self.shape, self.component, self.constraint)

    @property
    def is_violation(self) -> bool:
        return self.severity == "Violation"


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    focus_nodes: int
    mode: ValidationMode
    global_shapes: tuple[str, ...] = ()
    preexisting: int = 0
    """Violations already in the graph at the nodes a batch touched (not blamed on it)."""
    pyshacl_shapes: tuple[str, ...] = ()
    """Shapes the compiled engine left to pySHACL (it validated them instead)."""

    @property
    def conforms(self) -> bool:
        return not any(f.is_violation for f in self.findings)


_PLACEHOLDER = re.compile(r"\{[?$](\w+)\}")


def fill_message(template: str, term: Callable[[str], Any]) -> tuple[str, str | None]:
    """``{?var}`` and ``{$var}`` of a message template replaced by the result's terms
    (SHACL 1.0 §5.3.2; ``term`` gives an Oxigraph term or None for a name), twice.

    First as the report carries it, each term by its value as pySHACL writes it (the JSON
    and Turtle reports stay what pySHACL gives); then as a person reads it in the text
    report, IRIs as the project's prefixed names (``<iri>`` where none applies), or None
    when that is the same text. A name without a term stays as written.
    """
    import pyoxigraph as ox

    def exact(match: re.Match[str]) -> str:
        found = term(match.group(1))
        return match.group(0) if found is None else str(getattr(found, "value", found))

    def readable(match: re.Match[str]) -> str:
        found = term(match.group(1))
        return shorten(found.value) if isinstance(found, ox.NamedNode) else exact(match)

    message, shown = _PLACEHOLDER.sub(exact, template), _PLACEHOLDER.sub(readable, template)
    return message, None if shown == message else shown


def to_ox(nt: str) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Parse one N-Triples term back (as stored in a Finding)."""
    import pyoxigraph as ox

    quad = next(
        iter(ox.parse(f"<urn:x:s> <urn:x:p> {nt} .".encode(), format=ox.RdfFormat.N_TRIPLES))
    )
    term: ox.NamedNode | ox.BlankNode | ox.Literal = quad.object
    return term


def short_term(nt: str | None) -> str:
    """An N-Triples term as reports and messages show it: IRIs (and datatypes) with the
    project's prefixes."""
    if nt is None:
        return ""
    if nt.startswith("<") and nt.endswith(">"):
        return shorten(nt[1:-1])
    head, sep, datatype = nt.rpartition("^^")
    if sep and datatype.startswith("<") and datatype.endswith(">"):
        return head + sep + shorten(datatype[1:-1])
    return nt
