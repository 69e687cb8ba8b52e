"""The kinds of remote store ``kgraph push`` knows, in a module of their own: the CLI's
option choices and :class:`kgraph.project.Project` need the names, not the HTTP client of
:mod:`kgraph.remote`, which then loads only for a command that talks to a store."""

from __future__ import annotations

from enum import StrEnum


class StoreKind(StrEnum):
    """Which store a Graph Store URL belongs to: how its SPARQL query endpoint is derived."""

    AUTO = "auto"
    OXIGRAPH = "oxigraph"
    FUSEKI = "fuseki"
    GRAPHDB = "graphdb"
    VIRTUOSO = "virtuoso"
    NEPTUNE = "neptune"
    STARDOG = "stardog"
    QLEVER = "qlever"
    GENERIC = "generic"
