"""RDF and query-result formats: names on the command line, file extensions, media types."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from kgraph.errors import Setting, UsageError


@dataclass(frozen=True)
class _Rdf:
    name: str
    extensions: tuple[str, ...]
    media_type: str
    quads: bool
    oxigraph: str  # attribute of pyoxigraph.RdfFormat


class RdfSyntax(Enum):
    """An RDF serialisation kgraph reads or writes."""

    TURTLE = _Rdf("turtle", (".ttl", ".turtle"), "text/turtle", False, "TURTLE")
    NT = _Rdf("nt", (".nt",), "application/n-triples", False, "N_TRIPLES")
    NQ = _Rdf("nq", (".nq",), "application/n-quads", True, "N_QUADS")
    TRIG = _Rdf("trig", (".trig",), "application/trig", True, "TRIG")
    JSONLD = _Rdf("jsonld", (".jsonld", ".json"), "application/ld+json", True, "JSON_LD")
    XML = _Rdf("xml", (".rdf", ".owl", ".xml"), "application/rdf+xml", False, "RDF_XML")

    @property
    def cli_name(self) -> str:
        return self.value.name

    @property
    def media_type(self) -> str:
        return self.value.media_type

    @property
    def quads(self) -> bool:
        """Whether the syntax keeps named graphs."""
        return self.value.quads

    @property
    def extension(self) -> str:
        return self.value.extensions[0]

    def oxigraph(self) -> Any:
        import pyoxigraph

        return getattr(pyoxigraph.RdfFormat, self.value.oxigraph)

    @classmethod
    def names(cls) -> list[str]:
        return [s.cli_name for s in cls]

    @classmethod
    def from_name(cls, name: str) -> RdfSyntax:
        for syntax in cls:
            if syntax.cli_name == name.lower():
                return syntax
        raise UsageError(f"unknown RDF format {name!r}; use one of {', '.join(cls.names())}")

    @classmethod
    def from_path(cls, path: str | Path) -> RdfSyntax:
        suffix = Path(path).suffix.lower()
        for syntax in cls:
            if suffix in syntax.value.extensions:
                return syntax
        if suffix in (".yaml", ".yml"):
            # No input format reads a claim sheet: naming one would send the user astray.
            raise UsageError(
                f"{str(path)!r} is a claim sheet, not RDF: `kgraph add` with {Setting.DRY_RUN} "
                f"compiles and validates it ({Setting.OUTPUT_FORMAT} turtle prints its triples)",
                setting=(Setting.DRY_RUN, Setting.OUTPUT_FORMAT),
            )
        raise UsageError(
            f"cannot tell the RDF format of {str(path)!r} from its extension; "
            f"pass {Setting.INPUT_FORMAT} ({', '.join(cls.names())})",
            setting=Setting.INPUT_FORMAT,
        )

    @classmethod
    def is_rdf_path(cls, path: str | Path) -> bool:
        suffix = Path(path).suffix.lower()
        return any(suffix in s.value.extensions for s in cls)


class ResultFormat(Enum):
    """Formats of SELECT / ASK results (the W3C result formats, plus an aligned table)."""

    TABLE = "table"
    CSV = "csv"
    TSV = "tsv"
    JSON = "json"
    XML = "xml"

    @classmethod
    def names(cls) -> list[str]:
        return [f.value for f in cls]


# What `-f` may name on `kgraph query`: result formats for SELECT/ASK, RDF for graphs.
QUERY_FORMATS = ["table", "csv", "tsv", "json", "xml", "turtle", "nt", "nq", "trig", "jsonld"]
EXPORT_FORMATS = [*RdfSyntax.names(), "nq.gz", "nt.gz"]
