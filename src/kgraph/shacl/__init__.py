"""SHACL validation: the engine in one package, layered without an import cycle.

``model`` (findings, reports) <- ``sparql`` (SPARQL-based constraints) <- ``index`` (what
each shape reads) <- ``engine`` (validation on bounded neighbourhoods); ``locate`` and
``report`` find the file and line of each finding and render the report.

``compiled`` compiles the shapes into SPARQL evaluated set-at-a-time by Oxigraph
(``evaluation`` runs them, ``components`` holds one compiler per SHACL Core component,
``literals`` the checks of a literal's exact lexical form, ``sparqltext`` the query text);
pySHACL on neighbourhoods (``engine``) is the reference and the fallback for what the
compiler leaves over.
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
