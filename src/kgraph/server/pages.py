"""The pages: the graph at a glance, the canned queries as forms, a page per entity, the
timeline, the network and the SPARQL editor (the JSON their scripts use is in
:mod:`kgraph.server.api`).

Pages are rendered here, on the server, from SELECT results the pool returns; every value
from the data goes through :func:`esc` (HTML-escaped, quotes included), and no page holds
an inline script (the Content-Security-Policy forbids them), so a label holding markup is
text wherever it shows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from kgraph import __version__
from kgraph.server import backend
from kgraph.server.api import complete, neighbourhood, service_description
from kgraph.server.app import App, HttpError
from kgraph.server.lookup import KG, Row, app_label, esc, iri_param, iris_in, labels, nt

__all__ = ["query_list", "route", "service_description"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
HTML = "text/html; charset=utf-8"


def route(app: App, path: str, params: dict[str, list[str]]) -> tuple[bytes, str] | None:
    """The page or API answer at ``path``, or None for a 404."""
    arg = {k: v[0] for k, v in params.items() if v}
    if path == "/":
        return _page(app, "Overview", overview(app)), HTML
    if path.startswith("/q/"):
        name = path.removeprefix("/q/")
        return _page(app, name, query_form(app, name, params)), HTML
    if path == "/entity":
        text = arg.get("iri", "").strip()
        if not text:
            raise HttpError(
                400, "name the entity: /entity?iri=kgd:ChoeSonHui, or by name: ?iri=Choe Son Hui"
            )
        iri = entity_param(app, text)
        return _page(app, app_label(app, iri), entity(app, iri)), HTML
    if path == "/timeline":
        return _page(app, "Timeline", timeline(app)), HTML
    if path == "/network":
        return _page(app, "Network", network(app, arg.get("entity", ""))), HTML
    if path == "/editor":
        return _page(app, "SPARQL editor", editor(), wide=True), HTML
    if path == "/api/complete":
        return _json(complete(app, arg.get("q", ""))), "application/json"
    if path == "/api/neighbourhood":
        return _json(neighbourhood(app, iri_param(arg.get("entity", "")))), "application/json"
    if path == "/favicon.ico":
        return (STATIC_DIR / "favicon.svg").read_bytes(), "image/svg+xml"
    if path == "/api/prefixes":
        return _json(backend.PREFIXES), "application/json"
    return None


def entity_param(app: App, text: str) -> str:
    """The IRI of the entity a page is asked for: an IRI or a CURIE as given, or a name
    (label or alternative name, any case, accents optional) resolved as `kgraph query -p`
    resolves one, so that what one types in the network's field, or after ?iri=, works as
    it does on the command line; an unknown name is a 400 naming the nearest ones."""
    from kgraph.queries import is_name

    return app.resolve(text) if is_name(text) else iri_param(text)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def cell(term: dict[str, Any] | None, names: dict[str, str]) -> str:
    """A result term as HTML: an entity as a link named by its label, a literal as text."""
    if not term:
        return ""
    value = term["value"]
    if term["type"] == "uri":
        name = names.get(value) or backend.shorten(value)
        return f'<a href="/entity?iri={quote(value, safe="")}" title="{esc(value)}">{esc(name)}</a>'
    if term["type"] == "bnode":
        return f"<code>_:{esc(value)}</code>"
    if term.get("xml:lang") and term["xml:lang"] != "en":
        return (
            f'{esc(value)} <small lang="{esc(term["xml:lang"])}">@{esc(term["xml:lang"])}</small>'
        )
    return esc(value)


def table(variables: Sequence[str], rows: Sequence[Row], names: dict[str, str]) -> str:
    head = "".join(f"<th>{esc(v)}</th>" for v in variables)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r.get(v), names)}</td>" for v in variables) + "</tr>"
        for r in rows
    )
    noun = "row" if len(rows) == 1 else "rows"
    return (
        f'<p class="count">{len(rows)} {noun}</p><div class="scroll"><table class="results">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


# -- the layout -----------------------------------------------------------------------------


def _page(app: App, title: str, body: str, *, wide: bool = False) -> bytes:
    nav = "".join(
        f'<a href="{href}">{esc(text)}</a>'
        for href, text in (
            ("/", "Overview"),
            ("/timeline", "Timeline"),
            ("/network", "Network"),
            ("/editor", "SPARQL"),
        )
    )
    css = '<link rel="stylesheet" href="/static/vendor/yasgui/yasgui.min.css">' if wide else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title)} · kgraph</title><link rel="icon" href="/static/favicon.svg">{css}'
        '<link rel="stylesheet" href="/static/kgraph.css"></head><body>'
        f'<header><a class="brand" href="/">kgraph</a><nav>{nav}</nav></header>'
        f'<main class="{"wide" if wide else ""}">{body}</main>'
        f"<footer>kgraph {esc(__version__)} · read-only · "
        '<a href="/sparql">SPARQL endpoint</a> · <a href="/queries">queries (JSON)</a></footer>'
        '<script src="/static/kgraph.js"></script></body></html>'
    ).encode()


# -- overview -------------------------------------------------------------------------------


def overview(app: App) -> str:
    status = app.validation
    if status is None:
        verdict = '<p class="status pending">Validation is running…</p>'
    elif status.error:
        verdict = f'<p class="status bad">Validation could not run: {esc(status.error)}</p>'
    elif status.conforms:
        verdict = (
            f'<p class="status ok">Conforms to the shapes: 0 violations '
            f"({status.nodes} nodes checked, {status.findings} findings).</p>"
        )
    else:
        verdict = (
            f'<p class="status bad">Does not conform: {status.violations} violations '
            f"({status.nodes} nodes checked). Run <code>kgraph validate</code>.</p>"
        )
    graphs = "".join(
        f"<tr><td><code>{esc(g.removeprefix(backend.GRAPH))}</code></td><td class=num>{n}</td></tr>"
        for g, n in app.graphs.items()
    )
    _, docs = app.select(
        "SELECT ?doc ?type (COUNT(DISTINCT ?claim) AS ?claims) WHERE { "
        "VALUES ?type { kg:NewsArticle kg:SourceDocument } ?doc a ?type . "
        "OPTIONAL { ?claim schema:appearance ?doc } } "
        "GROUP BY ?doc ?type ORDER BY DESC(?claims) ?doc"
    )
    _, sources = app.select(
        "SELECT ?source (COUNT(DISTINCT ?claim) AS ?claims) WHERE { "
        "?claim a kg:Claim ; prov:wasAttributedTo ?source } "
        "GROUP BY ?source ORDER BY DESC(?claims) ?source"
    )
    _, classes = app.select(
        "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class "
        f'FILTER(STRSTARTS(STR(?class), "{KG}")) }} GROUP BY ?class ORDER BY DESC(?n) ?class'
    )
    names = labels(app, iris_in(docs) | iris_in(sources) | iris_in(classes))
    queries = "".join(
        f'<li><a href="/q/{esc(q.name)}">{esc(q.name)}</a> — {esc(q.summary)}</li>'
        for q in app.canned.values()
    )
    total = sum(app.graphs.values())
    return (
        "<h1>The graph at a glance</h1>"
        f'<section class="glance"><div><h2>Validation</h2>{verdict}'
        f"<h2>Graphs</h2><p>{total} triples in {len(app.graphs)} named graphs; the default "
        "graph is their union.</p>"
        f"<table><thead><tr><th>graph</th><th>triples</th></tr></thead><tbody>{graphs}</tbody></table>"
        f"<h2>Counts per class</h2>{table(['class', 'n'], classes, names)}</div>"
        f'<div><h2 id="documents">Documents</h2>{table(["doc", "type", "claims"], docs, names)}'
        f'<h2 id="sources">Sources</h2>{table(["source", "claims"], sources, names)}</div></section>'
        f'<h2 id="queries">Canned queries</h2><ul class="queries">{queries}</ul>'
    )


# -- canned queries as forms ----------------------------------------------------------------


def query_list(app: App) -> list[dict[str, Any]]:
    """``GET /queries``: the same JSON as ``kgraph queries -f json``, plus where to run each."""
    return [
        {
            "name": q.name,
            "summary": q.summary,
            "params": [p.__dict__ for p in q.params],
            "columns": list(q.columns),
            "url": f"/queries/{q.name}",
        }
        for q in app.canned.values()
    ]


def query_form(app: App, name: str, params: dict[str, list[str]]) -> str:
    canned = app.canned.get(name)
    if canned is None:
        raise HttpError(404, f"no canned query {name!r}")
    given = {k: v[0] for k, v in params.items() if v}
    fields = []
    for p in canned.params:
        value = given.get(p.name, "")
        kind = {"date": "date", "integer": "number", "decimal": "number"}.get(p.type, "text")
        extra, datalist = "", ""
        if p.type == "iri":
            extra = f' list="list-{esc(p.name)}" data-complete="1" autocomplete="off"'
            datalist = f'<datalist id="list-{esc(p.name)}"></datalist>'
        hint = f"e.g. {p.example}" if p.example else p.type
        fields.append(
            f"<label>{esc(p.name)} <small>({esc(p.type)}{'' if p.required else ', optional'}) "
            f"{esc(p.description)}</small>"
            f'<input type="{kind}" name="{esc(p.name)}" id="param-{esc(p.name)}" '
            f'value="{esc(value)}" placeholder="{esc(hint)}"{extra}>{datalist}'
            "</label>"
        )
    form = (
        f'<form class="query" method="get" action="/q/{esc(name)}">{"".join(fields)}'
        '<input type="hidden" name="run" value="1"><button type="submit">Run</button></form>'
    )
    answer = ""
    # A link that names a parameter (/q/officials-and-posts?date=2024-10-28, as one copies
    # it from the "As data" line or writes it by hand) asks for the answer: run it, as the
    # form's Run button does; the bare page, or a form left empty, only shows the form.
    if "run" in given or any(given.get(p.name, "").strip() for p in canned.params):
        pairs = [(p.name, given[p.name]) for p in canned.params if given.get(p.name, "").strip()]
        try:
            variables, rows = app.canned_select(name, pairs)
        except HttpError as err:
            answer = f'<p class="error" role="alert">{esc(err.message)}</p>'
        else:
            answer = table(variables, rows, labels(app, iris_in(rows)))
    link = (
        "/queries/"
        + name
        + (
            "?" + urlencode([(p.name, given[p.name]) for p in canned.params if given.get(p.name)])
            if any(given.get(p.name) for p in canned.params)
            else ""
        )
    )
    return (
        f"<h1>{esc(name)}</h1><p class=question>{esc(canned.summary)}</p>"
        f"<details><summary>How it answers</summary><p>{esc(canned.description)}</p>"
        f"<pre>{esc(canned.text)}</pre></details>{form}"
        f'<p class="small">As data: <a href="{esc(link)}">{esc(link)}</a></p>'
        f'<section id="answer">{answer}</section>'
    )


# -- an entity ------------------------------------------------------------------------------


def entity(app: App, iri: str) -> str:
    node = nt(iri)
    _, about = (
        app.canned_select("about-entity", [("entity", iri)])
        if "about-entity" in app.canned
        else ([], [])
    )
    claims = sorted({r["claim"]["value"] for r in about if "claim" in r})
    details: dict[str, Row] = {}
    if claims:
        _, rows = app.select(
            "SELECT ?claim ?assertedOn ?issued ?sentence ?number WHERE { VALUES ?claim { "
            + " ".join(nt(c) for c in claims)
            + " } OPTIONAL { ?claim kg:assertedOn ?assertedOn } "
            "OPTIONAL { ?claim schema:appearance ?doc . ?doc dcterms:issued ?issued } "
            "OPTIONAL { ?claim kg:sourceSentence ?s . ?s schema:text ?sentence "
            "OPTIONAL { ?s kg:sentenceNumber ?number } } }"
        )
        for r in rows:
            details.setdefault(r["claim"]["value"], r)
    _, out = app.select(f"SELECT ?p ?o WHERE {{ {node} ?p ?o }} ORDER BY ?p ?o LIMIT 500")
    _, into = app.select(
        f"SELECT ?s ?p WHERE {{ ?s ?p {node} FILTER NOT EXISTS {{ ?s a kg:Claim }} }} "
        "ORDER BY ?p ?s LIMIT 500"
    )
    names = labels(app, iris_in(about) | iris_in(out) | iris_in(into) | {iri})
    by_doc: dict[str, list[Row]] = defaultdict(list)
    for r in about:
        by_doc[r.get("appearance", {}).get("value", "")].append(r)
    groups = []
    for doc, rows in sorted(by_doc.items(), key=lambda kv: (kv[0] == "", kv[0])):
        title = cell({"type": "uri", "value": doc}, names) if doc else "Not tied to a document"
        items = []
        seen = set()
        for r in rows:
            claim = r["claim"]["value"]
            if claim in seen:
                continue
            seen.add(claim)
            d = details.get(claim, {})
            sentence = d.get("sentence", {}).get("value")
            number = d.get("number", {}).get("value")
            quote_html = (
                f'<blockquote class="sentence">{esc(sentence)}'
                f"{f' <small>(sentence {esc(number)})</small>' if number else ''}</blockquote>"
                if sentence
                else '<p class="small">No source sentence recorded.</p>'
            )
            via = r.get("via", {}).get("value")
            items.append(
                '<li class="claim">'
                f'<p><span class="stance">{cell(r.get("stance"), names)}</span> '
                f"{esc(r.get('statement', {}).get('value', ''))}</p>"
                f'<p class="meta">source: {cell(r.get("source"), names)}'
                f"{' · voiced by ' + cell(r.get('voicedBy'), names) if r.get('voicedBy') else ''}"
                f" · date: {_claim_date(d)}"
                f" · claim {cell(r.get('claim'), names)}"
                f"{' · via ' + esc(via) if via else ''}</p>{quote_html}</li>"
            )
        groups.append(
            f'<section class="document"><h3>{title}</h3><ul>{"".join(items)}</ul></section>'
        )
    links_out = "".join(
        f"<tr><td>{cell(r['p'], names)}</td><td>{cell(r['o'], names)}</td></tr>" for r in out
    )
    links_in = "".join(
        f"<tr><td>{cell(r['s'], names)}</td><td>{cell(r['p'], names)}</td></tr>" for r in into
    )
    count = len({r["claim"]["value"] for r in about})
    return (
        f"<h1>{esc(names.get(iri) or backend.shorten(iri))}</h1>"
        f'<p class="iri"><code>{esc(iri)}</code> · <a href="/network?entity={quote(iri, safe="")}">'
        "network</a></p>"
        f"<h2>What the sources say ({count} claim{'s' * (count != 1)})</h2>"
        f'<div id="claims">{"".join(groups) or "<p>No claim concerns it.</p>"}</div>'
        '<h2>Links</h2><div class="glance"><div><h3>From it</h3>'
        f'<table id="links-out"><thead><tr><th>property</th><th>value</th></tr></thead><tbody>{links_out}</tbody></table></div>'
        "<div><h3>To it</h3>"
        f'<table id="links-in"><thead><tr><th>subject</th><th>property</th></tr></thead><tbody>{links_in}</tbody></table></div></div>'
    )


def _claim_date(details: Row) -> str:
    """The day the claim was made, else the day its document was issued, else say so."""
    if "assertedOn" in details:
        return esc(details["assertedOn"]["value"])
    if "issued" in details:
        return f"{esc(details['issued']['value'])} (the document's date)"
    return "not given"


# -- the timeline ---------------------------------------------------------------------------


def timeline(app: App) -> str:
    _, rows = app.canned_select("timeline")
    _, hypothetical = (
        app.canned_select("hypothetical-events")
        if "hypothetical-events" in app.canned
        else ([], [])
    )

    def sources_of(r: Row) -> list[str]:
        # ?datedBy joins the IRIs of several sources with " | " (a literal, not terms).
        return [p.strip() for p in r.get("datedBy", {}).get("value", "").split("|") if p.strip()]

    dating = {s for r in rows for s in sources_of(r) if ":" in s}
    names = labels(app, iris_in(rows) | iris_in(hypothetical) | dating)

    def dated_by(r: Row) -> str:
        parts = sources_of(r)
        return ", ".join(cell({"type": "uri", "value": p}, names) for p in parts) or "—"

    items = []
    days = []
    for r in rows:
        begins = r.get("begins", {}).get("value") or r.get("month", {}).get("value", "")
        ends = r.get("ends", {}).get("value", "")
        days.append(begins[:10])
        background = r.get("backgroundOnly", {}).get("value") == "true"
        prop = backend.shorten(r.get("dateProperty", {}).get("value", "")).removeprefix("kg:")
        items.append(
            f'<li class="event{" background" if background else ""}">'
            f"<time>{esc(begins)}{' – ' + esc(ends) if ends else ''}</time> "
            f"{cell(r.get('item'), names)} <small>({esc(prop)})</small>"
            f'<p class="meta">dated by {dated_by(r)}'
            f"{' · <span class=badge>background only</span>' if background else ''}</p></li>"
        )
    seen = set()
    hypo = []
    for r in hypothetical:
        event = r["event"]["value"]
        if event in seen:
            continue
        seen.add(event)
        talkers = sorted(
            {
                names.get(x["source"]["value"]) or x["source"]["value"]
                for x in hypothetical
                if x["event"]["value"] == event and "source" in x
            }
        )
        hypo.append(
            f'<li class="event hypothetical">{cell(r.get("event"), names)}'
            f"{' <time>' + esc(r['date']['value']) + '</time>' if 'date' in r else ''}"
            f'<p class="meta">talked about by {esc(", ".join(talkers) or "—")}</p></li>'
        )
    return (
        "<h1>Timeline</h1><p>Every dated thing the sources give, earliest first, with the "
        "document or background source that dates it. Hypothetical events are set apart.</p>"
        f'{_strip(days)}<ol id="timeline" class="timeline">{"".join(items)}</ol>'
        f'<h2>Hypothetical events</h2><ul id="hypothetical" class="timeline">{"".join(hypo) or "<li>None.</li>"}</ul>'
    )


def _strip(days: Sequence[str]) -> str:
    """An SVG strip with a tick per dated thing, by year, to see where the dates bunch."""
    import datetime as dt

    dates = []
    for day in days:
        try:
            dates.append(dt.date.fromisoformat(day if len(day) == 10 else day[:7] + "-01"))
        except ValueError:
            continue
    if not dates:
        return ""
    first, last = min(dates), max(dates)
    span = max((last - first).days, 1)
    width, pad = 900, 20
    ticks = "".join(
        f'<circle cx="{pad + (d - first).days / span * (width - 2 * pad):.1f}" cy="30" r="5">'
        f"<title>{d.isoformat()}</title></circle>"
        for d in dates
    )
    years = "".join(
        f'<text x="{pad + (dt.date(y, 1, 1) - first).days / span * (width - 2 * pad):.1f}" y="60">{y}</text>'
        for y in range(first.year + 1, last.year + 1)
    )
    return (
        f'<svg id="timeline-strip" viewBox="0 0 {width} 70" role="img" aria-label="dates">'
        f'<line x1="{pad}" y1="30" x2="{width - pad}" y2="30"/>{ticks}'
        f'<text x="{pad}" y="60">{first.isoformat()}</text>'
        f'<text x="{width - pad}" y="60" text-anchor="end">{last.isoformat()}</text>{years}</svg>'
    )


# -- the network ----------------------------------------------------------------------------


def network(app: App, entity: str) -> str:
    start = entity_param(app, entity) if entity.strip() else ""
    return (
        "<h1>Network</h1><p>Who said what about whom, who did what with whom. Click a node "
        "to expand it; its page opens from the panel.</p>"
        '<form class="query" method="get" action="/network"><label>entity '
        '<input type="text" name="entity" id="network-entity" list="list-network" '
        f'data-complete="1" autocomplete="off" value="{esc(backend.shorten(start) if start else "")}" '
        'placeholder="e.g. Choe Son Hui or kgd:ChoeSonHui"><datalist id="list-network"></datalist></label>'
        '<button type="submit">Show</button> <button type="button" id="export-svg">Export SVG</button></form>'
        f'<div id="network" data-entity="{esc(start)}"></div><aside id="selected"></aside>'
        '<script src="/static/vendor/cytoscape/cytoscape.min.js"></script>'
        '<script src="/static/network.js"></script>'
    )


# -- the SPARQL editor ----------------------------------------------------------------------


def editor() -> str:
    prefixes = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in backend.PREFIXES.items())
    example = (
        prefixes
        + '\nSELECT ?person ?name WHERE {\n  ?person a kg:Person ; skos:prefLabel ?name .\n  FILTER(LANG(?name) = "en")\n} ORDER BY ?name\n'
    )
    return (
        "<h1>SPARQL editor</h1><p>Queries run read-only on this server's endpoint "
        "(<code>/sparql</code>); the project's prefixes are declared.</p>"
        f'<div id="yasgui" data-endpoint="/sparql" data-query="{esc(example)}"></div>'
        '<script src="/static/vendor/yasgui/yasgui.min.js"></script>'
        '<script src="/static/editor.js"></script>'
    )
