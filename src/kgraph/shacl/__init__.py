"""SHACL validation: the engines in one package, layered without an import cycle.

``model`` (findings, reports) <- ``sparql`` (SPARQL-based constraints) <- ``index`` (what
each shape reads) <- ``engine`` (pySHACL on bounded neighbourhoods, the reference);
``compiled`` (shapes compiled to SPARQL: ``evaluate``, ``components``, ``sparqltext``,
``literals``) is the default engine and leaves what it does not handle to ``engine``;
``locate`` and ``report`` find the file and line of each finding and render the report.
"""

from __future__ import annotations

from kgraph.shacl.engine import validate, validate_batch, validate_removal
from kgraph.shacl.index import ShapeIndex, load_shapes
from kgraph.shacl.model import Finding, Report, ValidationMode

__all__ = [
    "Finding",
    "Report",
    "ShapeIndex",
    "ValidationMode",
    "load_shapes",
    "validate",
    "validate_batch",
    "validate_removal",
]
