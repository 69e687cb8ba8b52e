"""Terms and names for the pages: IRIs taken from a URL, terms written for a query
(N-Triples, never pasted text), labels looked up once and cached, HTML escaping."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from kgraph.server import backend
from kgraph.server.app import App, HttpError

Row = dict[str, Any]
LABEL = "skos:prefLabel|rdfs:label|schema:name"
KG = backend.PREFIXES["kg"]


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def iri_param(text: str) -> str:
    """A full IRI from a CURIE or IRI given in the URL, or a 400."""
    import pyoxigraph as ox

    iri = backend.expand(text.strip())
    try:
        ox.NamedNode(iri)
    except ValueError:
        raise HttpError(400, f"not an IRI: {text!r}") from None
    if ":" not in iri:
        raise HttpError(400, f"not an IRI or a known prefixed name: {text!r}")
    return iri


def nt(iri: str) -> str:
    import pyoxigraph as ox

    return str(ox.NamedNode(iri))


def literal(text: str) -> str:
    import pyoxigraph as ox

    return str(ox.Literal(text))


# -- labels ---------------------------------------------------------------------------------


def labels(app: App, iris: Iterable[str]) -> dict[str, str]:
    """English (or untagged) labels of ``iris``, looked up once and cached."""
    wanted = sorted({i for i in iris if i not in app.labels})
    for start in range(0, len(wanted), 400):
        chunk = wanted[start : start + 400]
        text = (
            "SELECT ?s (SAMPLE(?l) AS ?label) WHERE { VALUES ?s { "
            + " ".join(nt(i) for i in chunk)
            + f" }} ?s {LABEL} ?l . "
            'FILTER(LANGMATCHES(LANG(?l), "en") || LANG(?l) = "") } GROUP BY ?s'
        )
        _, rows = app.select(text)
        found = {r["s"]["value"]: r["label"]["value"] for r in rows if "label" in r}
        with app._labels_lock:
            if len(app.labels) > 100_000:
                app.labels.clear()
            for iri in chunk:
                app.labels[iri] = found.get(iri, "")
    return {i: app.labels.get(i, "") for i in iris}


def app_label(app: App, iri: str) -> str:
    return labels(app, [iri]).get(iri) or backend.shorten(iri)


def iris_in(rows: Sequence[Row]) -> set[str]:
    return {v["value"] for r in rows for v in r.values() if v.get("type") == "uri"}
