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
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgraph.errors import InputError, KGraphError, Setting, UsageError
from kgraph.fsutil import check_no_links, read_regular
from kgraph.guards import parse_checked
from kgraph.limits import Limits
from kgraph.namespaces import PREFIXES, XSD, expand, shorten

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
    kind: str | None = None
    """For an ``iri`` parameter, the class its value must be an instance of (an IRI)."""


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
    """The YAML in the leading ``#+`` comment lines (other leading comments are skipped).

    Any problem is an :class:`InputError` at the file's line (YAML's marks count header
    lines only, so they are mapped back to the file's lines)."""
    import yaml

    lines: list[str] = []
    numbers: list[int] = []  # the file line of each header line
    for number, raw in enumerate(text.splitlines(), start=1):
        match = _HEADER_LINE.match(raw)
        if match:
            lines.append(match.group(1))
            numbers.append(number)
        elif raw.strip() and not raw.lstrip().startswith("#"):
            break
    if not lines:
        return {}
    joined = "\n".join(lines)
    if len(joined) > 64 * 1024:
        raise InputError("the #+ header is larger than 64 KB", path=source, line=numbers[0])
    try:
        header = yaml.load(joined, Loader=_header_loader())  # a SafeLoader that refuses aliases
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = numbers[min(mark.line, len(numbers) - 1)] if mark else numbers[0]
        problem = getattr(err, "problem", None) or err
        raise InputError(f"bad #+ header: {problem}", path=source, line=line) from err
    except RecursionError as err:  # PyYAML composes nested collections recursively
        raise InputError("bad #+ header: nested too deeply", path=source, line=numbers[0]) from err
    except (ValueError, TypeError, OverflowError) as err:  # a tagged scalar that is not valid
        raise InputError(f"bad #+ header: {err}", path=source, line=numbers[0]) from err
    if not isinstance(header, dict):
        raise InputError("the #+ header must be a YAML mapping", path=source, line=numbers[0])
    return header


def header_line(text: str, key: str) -> int | None:
    """The file line of the ``#+ key:`` header entry, to point an error at it."""
    pattern = re.compile(rf"^#\+ ?\s*{re.escape(key)}\s*:")
    for number, raw in enumerate(text.splitlines(), start=1):
        if pattern.match(raw):
            return number
    return None


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


def load_query(
    path: Path, *, name: str | None = None, limit: int = Limits.max_input_bytes
) -> CannedQuery:
    """A query file, read as any input (a regular file within the size limit)."""
    data = read_regular(path, limit=limit, name=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(
            f"not valid UTF-8 (byte {err.start})",
            path=str(path),
            line=data[: err.start].count(b"\n") + 1,
        ) from err
    return from_text(text, name=name or path.stem, path=path)


def from_text(text: str, *, name: str, path: Path | None = None) -> CannedQuery:
    source = str(path) if path else name
    header = parse_header(text, source=source)

    def error(message: str, key: str) -> InputError:
        return InputError(message, path=source, line=header_line(text, key))

    params = []
    declared = header.get("params") or {}
    if not isinstance(declared, dict):
        raise error("params must be a mapping of parameter names", "params")
    for pname, spec in declared.items():
        if not isinstance(pname, str) or not re.fullmatch(r"[A-Za-z_]\w*", pname):
            # YAML reads a bare `on:` or `no:` as a boolean: name such a parameter in quotes.
            raise error(f"parameter name {pname!r} is not a SPARQL variable name", "params")
        if not isinstance(spec, dict | None):
            raise error(
                f"parameter {pname!r} must be a mapping (type, required, example)", "params"
            )
        spec = spec or {}
        ptype = str(spec.get("type", "string"))
        if ptype not in PARAM_TYPES:
            raise error(f"parameter {pname!r} has unknown type {ptype!r}", "params")
        example = spec.get("example")
        kind = spec.get("kind")
        if kind is not None:
            kind_iri = expand(str(kind))
            if ptype != "iri" or not isinstance(kind, str) or ":" not in kind_iri:
                raise error(
                    f"parameter {pname!r}: kind must be a class (e.g. kg:Stance) of an iri "
                    "parameter",
                    "params",
                )
            kind = kind_iri
        params.append(
            Param(
                name=str(pname),
                type=ptype,
                required=bool(spec.get("required", False)),
                example=None if example is None else str(example),
                description=str(spec.get("description", "")),
                kind=kind,
            )
        )
    lists = {}
    for key in ("columns", "questions"):
        value = header.get(key) or []
        if not isinstance(value, list) or any(isinstance(v, dict | list) for v in value):
            raise error(f"{key} must be a list of names, e.g. {key}: [a, b]", key)
        lists[key] = tuple(str(v) for v in value)
    known = {"summary", "description", "params", "columns", "questions"}
    return CannedQuery(
        name=name,
        path=path,
        text=text,
        summary=str(header.get("summary", "")).strip(),
        description=str(header.get("description", "")).strip(),
        params=tuple(params),
        columns=lists["columns"],
        questions=lists["questions"],
        extra={k: v for k, v in header.items() if k not in known},
    )


@dataclass(frozen=True)
class Name:
    """An ``iri`` parameter given as a label or alternative name ("Choe Son Hui"): it is
    resolved against the graph (:func:`resolve_names`, in the worker, which has the graph)."""

    text: str
    param: str


Bound = dict[str, "ox.NamedNode | ox.Literal | Name"]


@dataclass(frozen=True)
class Scan:
    """The queries of a folder that load, and one error for each file that does not."""

    queries: dict[str, CannedQuery]
    problems: tuple[KGraphError, ...]


def scan(queries_dir: Path, *, limit: int = Limits.max_input_bytes) -> Scan:
    """Every ``*.rq`` of ``queries_dir``; a broken file is reported, the others still load."""
    found: dict[str, CannedQuery] = {}
    problems: list[KGraphError] = []
    for path in sorted(queries_dir.glob("*.rq")) if queries_dir.is_dir() else []:
        try:
            found[path.stem] = load_query(check_no_links(path, queries_dir), limit=limit)
        except KGraphError as err:
            problems.append(err)
    return Scan(found, tuple(problems))


def registry(queries_dir: Path) -> dict[str, CannedQuery]:
    """Every canned query, by name (the file name without ``.rq``); the first broken file
    raises (the README and the tests want all of them)."""
    found = scan(queries_dir)
    if found.problems:
        raise found.problems[0]
    return found.queries


def checks(queries_dir: Path, *, limit: int = Limits.max_input_bytes) -> dict[str, CannedQuery]:
    folder = queries_dir / "checks"
    if not folder.is_dir():
        return {}
    return {
        p.stem: load_query(check_no_links(p, folder), limit=limit)
        for p in sorted(check_no_links(folder, queries_dir).glob("*-violation.rq"))
    }


def resolve(
    spec: str | None,
    expression: str | None,
    queries_dir: Path,
    *,
    limit: int = Limits.max_input_bytes,
) -> CannedQuery:
    """NAME, FILE.rq, or ``-e`` text -> the query to run.

    A NAME loads only its own file: another broken file in the folder does not matter."""
    if expression is not None:
        if spec:
            raise UsageError(
                f"give either a query name/file or {Setting.QUERY_TEXT}, not both",
                setting=Setting.QUERY_TEXT,
            )
        return from_text(expression, name="-e")  # the inline text's location, as in -e:1:5
    if not spec:
        raise UsageError(
            f"which query? give a NAME (see `kgraph queries`), a FILE.rq, or {Setting.QUERY_TEXT}",
            setting=Setting.QUERY_TEXT,
        )
    if spec.endswith(".rq") or "/" in spec:
        return load_query(Path(spec), limit=limit)
    path = queries_dir / f"{spec}.rq"
    if os.path.lexists(path):
        return load_query(check_no_links(path, queries_dir), limit=limit)
    known = sorted(p.stem for p in queries_dir.glob("*.rq")) if queries_dir.is_dir() else []
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
        # The shape first: Python's own words for a wrong one ("Invalid isoformat string",
        # "invalid literal for int() with base 10") say nothing to the person typing it.
        if ptype == "date":
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError("write it as YYYY-MM-DD (e.g. 2024-10-28)")
            dt.date.fromisoformat(text)
            return ox.Literal(text, datatype=ox.NamedNode(XSD + "date"))
        if ptype == "integer":
            if not re.fullmatch(r"[+-]?\d+", text):
                raise ValueError("write a whole number in digits (e.g. 10000)")
            return ox.Literal(str(int(text)), datatype=ox.NamedNode(XSD + "integer"))
        if ptype == "decimal":
            if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
                raise ValueError("write a number in digits, with a point for decimals (e.g. 2.5)")
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


def bind(query: CannedQuery, values: Sequence[tuple[str, str]]) -> Bound:
    """Check ``-p NAME VALUE`` pairs against the header and turn them into terms (a
    :class:`Name` for a declared ``iri`` parameter given as a name)."""
    bound: Bound = {}
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
        bound[name] = (
            Name(value.strip(), name)
            if query.params and ptype == "iri" and is_name(value)
            else term(value, ptype, name=name)
        )
    missing = [p.name for p in query.params if p.required and p.name not in bound]
    if missing:
        raise UsageError(
            f"query {query.name} needs parameter(s): {', '.join(missing)}; give each as "
            f"{Setting.PARAMETER}",
            setting=Setting.PARAMETER,
        )
    return bound


def is_name(value: str) -> bool:
    """Not an IRI (``<...>``, ``scheme:...``) nor a prefixed name: a label to look up."""
    text = value.strip()
    if not text or text.startswith("<"):
        return False
    prefix, sep, local = text.partition(":")
    return not sep or " " in prefix or (prefix not in PREFIXES and not local.startswith("//"))


def resolve_names(
    bound: Bound,
    store: Any,
    query: CannedQuery | None = None,
    *,
    index: Any = None,
    names: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """``bound`` with each :class:`Name` resolved to the IRI it names in ``store``, and each
    IRI of the project's namespaces checked to be in it, and of the parameter's declared
    kind (``kind:`` in the header): an unknown or ambiguous name, a misspelled IRI or one
    of the wrong kind is an error with the nearest names, never a silent empty answer.

    ``index`` is the name index to look in, or ``names`` builds it when a value needs one
    (an on-disk store's index reads its metadata and every file's stamp: not for a query
    whose values are all IRIs of known things, or that has none)."""
    import pyoxigraph as ox

    from kgraph.names import NameIndex
    from kgraph.namespaces import KG, KGD

    resolved: dict[str, Any] = {}
    for name, value in bound.items():
        param = query.param(name) if query is not None else None
        kind = param.kind if param is not None else None
        text = None
        if isinstance(value, Name):
            text = value.text
        elif isinstance(value, ox.NamedNode) and (
            kind is not None
            or (
                value.value.startswith((KGD, KG))
                and next(store.quads_for_pattern(value, None, None), None) is None
            )
        ):
            text = shorten(value.value)  # nothing describes it: find what was meant
        if text is None:
            resolved[name] = value
            continue
        if index is None:
            index = names() if names is not None else NameIndex.from_store(store)
        resolved[name] = ox.NamedNode(_resolve_param(index, text, name, kind))
    return resolved


def _resolve_param(index: Any, text: str, name: str, kind: str | None) -> str:
    """The IRI ``text`` names for parameter ``name``; errors say what the parameter takes."""
    from kgraph.names import AmbiguousName, UnknownName

    if kind is None:
        try:
            return str(index.resolve(text, what=name))
        except AmbiguousName as err:
            raise UsageError(f"parameter {name}: {err.message}") from err
    what = index.kind_word(kind)
    try:
        return str(index.resolve(text, within=kind, what=what))
    except AmbiguousName as err:
        raise UsageError(f"parameter {name}: {err.message}") from err
    except UnknownName as err:
        takes = f"parameter {name} takes {_article(what)} {what} ({shorten(kind)})"
        if err.suggestions:
            raise UsageError(f"{takes}; {err.message}") from err
        examples = index.examples(kind)
        other = index.elsewhere(text)
        said = f"{err.message}" + (f" ({other})" if other else "")
        hint = f"; e.g. {', '.join(map(str, examples))}" if examples else ""
        raise UsageError(f"{takes}; {said}{hint}") from err


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def with_values(text: str, bound: dict[str, Any]) -> str:
    """The query with an inline VALUES block at the start of its WHERE clause.

    Each value is an Oxigraph term, whose ``str`` is its N-Triples form, so no user text
    reaches the query unescaped.
    """
    if not bound:
        return text
    for value in bound.values():
        if isinstance(value, Name):
            raise UsageError(
                f"parameter {value.param}: {value.text!r} is a name, not resolved "
                "against a graph (resolve_names); give an IRI (e.g. kgd:ChoeSonHui)"
            )
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
