"""kgraph: turn news reporting into a knowledge graph you can query, check and share.

The library's front door is :class:`Project` (see :mod:`kgraph.project`)::

    from kgraph import Project, Profile
    report = Project.open("path/to/project").validate(infer=Profile.RDFS)

The names below are imported on first use, so that ``import kgraph`` (and the CLI's
start) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from kgraph.batches import AddResult, AddStatus, BatchInfo
    from kgraph.checks import CheckReport, Level
    from kgraph.errors import ExitStatus, KGraphError, Setting
    from kgraph.formats import RdfSyntax, ResultFormat
    from kgraph.limits import Limits
    from kgraph.operations import ReasonResult
    from kgraph.project import Project, RemoveResult, RemoveStatus
    from kgraph.reasoning import Profile
    from kgraph.remote import PushOptions, PushReport
    from kgraph.results import Form, QueryResult
    from kgraph.shacl.model import Engine, Finding, Report, ValidationMode
    from kgraph.stats import Stats
    from kgraph.storekind import StoreKind

_PUBLIC = {
    "AddResult": "kgraph.batches",
    "AddStatus": "kgraph.batches",
    "BatchInfo": "kgraph.batches",
    "CheckReport": "kgraph.checks",
    "ExitStatus": "kgraph.errors",
    "KGraphError": "kgraph.errors",
    "Setting": "kgraph.errors",
    "RdfSyntax": "kgraph.formats",
    "Limits": "kgraph.limits",
    "Project": "kgraph.project",
    "RemoveResult": "kgraph.project",
    "RemoveStatus": "kgraph.project",
    "Profile": "kgraph.reasoning",
    "Engine": "kgraph.shacl.model",
    "Finding": "kgraph.shacl.model",
    "Report": "kgraph.shacl.model",
    "ValidationMode": "kgraph.shacl.model",
    "Stats": "kgraph.stats",
    "Level": "kgraph.checks",
    "ResultFormat": "kgraph.formats",
    "ReasonResult": "kgraph.operations",
    "PushOptions": "kgraph.remote",
    "PushReport": "kgraph.remote",
    "StoreKind": "kgraph.storekind",
    "Form": "kgraph.results",
    "QueryResult": "kgraph.results",
}

__all__ = [
    "AddResult",
    "AddStatus",
    "BatchInfo",
    "CheckReport",
    "Engine",
    "ExitStatus",
    "Finding",
    "Form",
    "KGraphError",
    "Level",
    "Limits",
    "Profile",
    "Project",
    "PushOptions",
    "PushReport",
    "QueryResult",
    "RdfSyntax",
    "ReasonResult",
    "RemoveResult",
    "RemoveStatus",
    "Report",
    "ResultFormat",
    "Setting",
    "Stats",
    "StoreKind",
    "ValidationMode",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'kgraph' has no attribute {name!r}")
