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

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kgraph.shacl.engine import validate, validate_batch, validate_removal
    from kgraph.shacl.index import ShapeIndex, load_shapes
    from kgraph.shacl.model import Finding, Report, ValidationMode

# Where each public name lives. Loaded on first use (PEP 562): the command line imports
# ``kgraph.shacl.model`` for its option choices, and importing a submodule runs this file,
# so an eager import here would load the whole engine (guards, the SPARQL lexer, queries)
# into every `kgraph --help`.
_HOME = {
    "validate": "engine",
    "validate_batch": "engine",
    "validate_removal": "engine",
    "ShapeIndex": "index",
    "load_shapes": "index",
    "Finding": "model",
    "Report": "model",
    "ValidationMode": "model",
}

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


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
