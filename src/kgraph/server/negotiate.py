"""Content negotiation: which format answers a request, by its Accept header (RFC 9110
§12.5.1) or a ``format`` parameter, for table results (SELECT, ASK) and graphs."""

from __future__ import annotations

from collections.abc import Sequence

from kgraph.server.app import HttpError

RESULT_TYPES = [
    ("application/sparql-results+json", "json"),
    ("application/json", "json"),
    ("application/sparql-results+xml", "xml"),
    ("application/xml", "xml"),
    ("text/xml", "xml"),
    ("text/csv", "csv"),
    ("text/tab-separated-values", "tsv"),
]
GRAPH_TYPES = [
    ("text/turtle", "turtle"),
    ("application/x-turtle", "turtle"),
    ("application/n-triples", "nt"),
    ("text/plain", "nt"),
    ("application/n-quads", "nq"),
    ("application/trig", "trig"),
    ("application/ld+json", "jsonld"),
    ("application/json", "jsonld"),
    ("application/rdf+xml", "xml"),
    ("application/xml", "xml"),
    ("text/xml", "xml"),
]
CONTENT_TYPES = {
    ("result", "json"): "application/sparql-results+json",
    ("result", "xml"): "application/sparql-results+xml",
    ("result", "csv"): "text/csv; charset=utf-8",
    ("result", "tsv"): "text/tab-separated-values; charset=utf-8",
    ("graph", "turtle"): "text/turtle; charset=utf-8",
    ("graph", "nt"): "application/n-triples",
    ("graph", "nq"): "application/n-quads",
    ("graph", "trig"): "application/trig",
    ("graph", "jsonld"): "application/ld+json",
    ("graph", "xml"): "application/rdf+xml",
}
FORMAT_ALIASES = {
    "rdfxml": "xml",
    "rdf": "xml",
    "ttl": "turtle",
    "ntriples": "nt",
    "json-ld": "jsonld",
}


def _ranges(accept: str) -> list[tuple[float, int, str]]:
    ranges = []
    for i, part in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        if not media:
            continue
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        ranges.append((q, i, media.lower()))
    # Highest q first; at equal q the more specific range, then the client's order.
    ranges.sort(key=lambda r: (-r[0], r[2].count("*"), r[1]))
    return ranges


def negotiate(candidates: Sequence[tuple[str, str]], accept: str | None) -> str | None:
    """The format to answer in, by the Accept header (RFC 9110 §12.5.1); None if none fits."""
    if not accept or not accept.strip():
        return candidates[0][1]
    for q, _, media in _ranges(accept):
        if q <= 0:
            continue
        for ctype, name in candidates:
            major = ctype.split("/")[0]
            if media in (ctype, "*/*", f"{major}/*"):
                return name
    return None


def choose_format(kind: str, accept: str | None, requested: str | None) -> str:
    """``kind`` is "result" (SELECT, ASK) or "graph" (CONSTRUCT, DESCRIBE, GSP)."""
    candidates = RESULT_TYPES if kind == "result" else GRAPH_TYPES
    names = sorted({n for _, n in candidates})
    if requested:
        wanted = requested.strip().lower()
        wanted = FORMAT_ALIASES.get(wanted, wanted)
        if kind == "graph" and wanted == "json":  # as Fuseki reads format=json for graphs
            wanted = "jsonld"
        by_type = dict(candidates)
        if wanted in names:
            return wanted
        if wanted.split(";")[0] in by_type:
            return by_type[wanted.split(";")[0]]
        raise HttpError(400, f"unknown format {requested!r}; use one of {', '.join(names)}")
    found = negotiate(candidates, accept)
    if found is None:
        types = ", ".join(dict.fromkeys(c for c, _ in candidates))
        raise HttpError(406, f"cannot answer in any type the request accepts; kgraph gives {types}")
    return found
