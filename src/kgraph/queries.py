"""The canned-query registry: ``queries/*.rq`` files with a ``#+`` YAML header (grlc style).

Parameters are typed by the header and bound as RDF terms: each value is parsed into an
Oxigraph term of the declared type (an invalid IRI or date is refused), and the terms go
into an inline ``VALUES`` block at the start of the WHERE clause, written in N-Triples
form by Oxigraph — a user's string is never pasted into the query. The same block is sent
to remote endpoints, which have no binding API, so a query binds the same way locally and
remotely. (Oxigraph's own substitutions, SEP-0007, refuse a variable that is not in the
SELECT projection.)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgraph.errors import InputError, UsageError
from kgraph.guards import parse_checked
from kgraph.namespaces import PREFIXES, XSD, expand

if TYPE_CHECKING:
    import pyoxigraph as ox

PARAM_TYPES = ("iri", "date", "string", "integer", "decimal", "boolean")
_HEADER_LINE = re.compile(r"^#\+ ?(.*)$")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool = False
    example: str | None = None
    description: str = ""


@dataclass(frozen=True)
class CannedQuery:
    """A query file with its header."""

    name: str
    path: Path | None
    text: str
    summary: str = ""
    description: str = ""
    params: tuple[Param, ...] = ()
    columns: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return str(self.path) if self.path else self.name

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


def parse_header(text: str, *, source: str) -> dict[str, Any]:
    """The YAML in the leading ``#+`` comment lines (other leading comments are skipped)."""
    import yaml

    lines = []
    for raw in text.splitlines():
        match = _HEADER_LINE.match(raw)
        if match:
            lines.append(match.group(1))
        elif raw.strip() and not raw.lstrip().startswith("#"):
            break
    if not lines:
        return {}
    text = "\n".join(lines)
    if len(text) > 64 * 1024:
        raise InputError("the #+ header is larger than 64 KB", path=source, line=1)
    try:
        header = yaml.load(text, Loader=_header_loader())  # a SafeLoader that refuses aliases
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise InputError(
            f"bad #+ header: {getattr(err, 'problem', err)}",
            path=source,
            line=mark.line + 1 if mark else None,
        ) from err
    if not isinstance(header, dict):
        raise InputError("the #+ header must be a YAML mapping", path=source, line=1)
    return header


def _header_loader() -> Any:
    """PyYAML's SafeLoader, refusing aliases: a 600-byte header of nested aliases
    ("billion laughs") expands to gigabytes, and headers have no use for them."""
    import yaml

    class HeaderLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.events.AliasEvent):
                event: Any = self.peek_event()  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    "aliases (*name) are not allowed in a query header",
                    event.start_mark,
                )
            return super().compose_node(parent, index)

    return HeaderLoader


def load_query(path: Path, *, name: str | None = None) -> CannedQuery:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise InputError("no such query file", path=str(path)) from err
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the query: {err}", path=str(path)) from err
    return from_text(text, name=name or path.stem, path=path)


def from_text(text: str, *, name: str, path: Path | None = None) -> CannedQuery:
    source = str(path) if path else name
    header = parse_header(text, source=source)
    params = []
    declared = header.get("params") or {}
    if not isinstance(declared, dict):
        raise InputError("params must be a mapping of parameter names", path=source)
    for pname, spec in declared.items():
        if not isinstance(pname, str) or not re.fullmatch(r"[A-Za-z_]\w*", pname):
            # YAML reads a bare `on:` or `no:` as a boolean: name such a parameter in quotes.
            raise InputError(f"parameter name {pname!r} is not a SPARQL variable name", path=source)
        if not isinstance(spec, dict | None):
            raise InputError(
                f"parameter {pname!r} must be a mapping (type, required, example)", path=source
            )
        spec = spec or {}
        ptype = str(spec.get("type", "string"))
        if ptype not in PARAM_TYPES:
            raise InputError(f"parameter {pname!r} has unknown type {ptype!r}", path=source)
        example = spec.get("example")
        params.append(
            Param(
                name=str(pname),
                type=ptype,
                required=bool(spec.get("required", False)),
                example=None if example is None else str(example),
                description=str(spec.get("description", "")),
            )
        )
    known = {"summary", "description", "params", "columns", "questions"}
    return CannedQuery(
        name=name,
        path=path,
        text=text,
        summary=str(header.get("summary", "")).strip(),
        description=str(header.get("description", "")).strip(),
        params=tuple(params),
        columns=tuple(str(c) for c in header.get("columns") or ()),
        questions=tuple(str(q) for q in header.get("questions") or ()),
        extra={k: v for k, v in header.items() if k not in known},
    )


def registry(queries_dir: Path) -> dict[str, CannedQuery]:
    """Every canned query, by name (the file name without ``.rq``)."""
    if not queries_dir.is_dir():
        return {}
    return {p.stem: load_query(p) for p in sorted(queries_dir.glob("*.rq"))}


def checks(queries_dir: Path) -> dict[str, CannedQuery]:
    folder = queries_dir / "checks"
    if not folder.is_dir():
        return {}
    return {p.stem: load_query(p) for p in sorted(folder.glob("*-violation.rq"))}


def resolve(spec: str | None, expression: str | None, queries_dir: Path) -> CannedQuery:
    """NAME, FILE.rq, or ``-e`` text -> the query to run."""
    if expression is not None:
        if spec:
            raise UsageError("give either a query name/file or -e, not both")
        return from_text(expression, name="-e")
    if not spec:
        raise UsageError(
            "which query? give a NAME (see `kgraph queries`), a FILE.rq, or -e 'SPARQL'"
        )
    if spec.endswith(".rq") or "/" in spec:
        return load_query(Path(spec))
    known = registry(queries_dir)
    if spec in known:
        return known[spec]
    close = [n for n in known if spec in n or n in spec]
    hint = f"; did you mean {', '.join(close[:3])}?" if close else "; `kgraph queries` lists them"
    raise UsageError(f"unknown query {spec!r}{hint}")


def term(value: str, ptype: str, *, name: str) -> ox.NamedNode | ox.Literal:
    """A parameter value as an RDF term of its declared type, or a UsageError saying why not."""
    import pyoxigraph as ox

    text = value.strip()
    try:
        if ptype == "iri":
            iri = expand(text)
            if ":" not in iri:
                raise ValueError("not an IRI or a known prefixed name (e.g. kgd:ChoeSonHui)")
            return ox.NamedNode(iri)
        if ptype == "date":
            dt.date.fromisoformat(text)
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError("write it as YYYY-MM-DD")
            return ox.Literal(text, datatype=ox.NamedNode(XSD + "date"))
        if ptype == "integer":
            return ox.Literal(str(int(text)), datatype=ox.NamedNode(XSD + "integer"))
        if ptype == "decimal":
            float(text)
            return ox.Literal(text, datatype=ox.NamedNode(XSD + "decimal"))
        if ptype == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError("write true or false")
            return ox.Literal(text.lower(), datatype=ox.NamedNode(XSD + "boolean"))
        return ox.Literal(value)
    except ValueError as err:
        raise UsageError(f"parameter {name}: {value!r} is not a valid {ptype}: {err}") from err


def guess_type(value: str) -> str:
    """The type of a parameter of a query without a header: IRI, date, integer or string."""
    text = value.strip()
    if text.startswith("<") and text.endswith(">"):
        return "iri"
    prefix, sep, _ = text.partition(":")
    if sep and (prefix in PREFIXES or text.startswith(("http://", "https://", "urn:"))):
        return "iri"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return "date"
    if re.fullmatch(r"[+-]?\d+", text):
        return "integer"
    return "string"


def bind(
    query: CannedQuery, values: Sequence[tuple[str, str]]
) -> dict[str, ox.NamedNode | ox.Literal]:
    """Check ``-p NAME VALUE`` pairs against the header and turn them into terms."""
    bound: dict[str, ox.NamedNode | ox.Literal] = {}
    for name, value in values:
        name = name.lstrip("?$")
        if name in bound:
            raise UsageError(f"parameter {name} given twice")
        if query.params:
            param = query.param(name)
            if param is None:
                takes = ", ".join(p.name for p in query.params)
                raise UsageError(f"query {query.name} has no parameter {name!r}; it takes: {takes}")
            ptype = param.type
        else:
            if not re.search(rf"[?$]{re.escape(name)}\b", query.text):
                raise UsageError(f"query {query.name} has no variable ?{name} to bind")
            ptype = guess_type(value)
        bound[name] = term(value, ptype, name=name)
    missing = [p.name for p in query.params if p.required and p.name not in bound]
    if missing:
        raise UsageError(
            f"query {query.name} needs parameter(s): {', '.join(missing)} (-p NAME VALUE)"
        )
    return bound


def with_values(text: str, bound: dict[str, Any]) -> str:
    """The query with an inline VALUES block at the start of its WHERE clause.

    Each value is an Oxigraph term, whose ``str`` is its N-Triples form, so no user text
    reaches the query unescaped.
    """
    if not bound:
        return text
    names = list(bound)
    block = (
        "VALUES ("
        + " ".join(f"?{n}" for n in names)
        + ") { ("
        + " ".join(str(bound[n]) for n in names)
        + ") }"
    )
    return inline_values(text, block)


def inline_values(text: str, block: str) -> str:
    """``text`` with the VALUES ``block`` placed first in its WHERE clause."""
    position = _where_brace(text)
    return text[: position + 1] + " " + block + " " + text[position + 1 :]


def _where_brace(text: str) -> int:
    """Offset of the ``{`` that opens the WHERE clause (skipping a CONSTRUCT template)."""
    brace = parse_checked(text).where_brace
    if brace is None:
        raise UsageError("cannot find the WHERE clause to bind parameters into")
    return brace


def summaries(queries: Iterable[CannedQuery]) -> list[tuple[str, str, str]]:
    """(name, parameters, summary) rows for ``kgraph queries`` and the README."""
    rows = []
    for query in queries:
        params = ", ".join(f"{p.name}{'' if p.required else '?'}:{p.type}" for p in query.params)
        rows.append((query.name, params, query.summary))
    return rows
