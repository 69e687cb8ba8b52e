"""Remote stores: push the graph with the Graph Store Protocol, query any SPARQL endpoint.

* ``kgraph push`` sends each named graph as N-Triples with the SPARQL 1.1 Graph Store HTTP
  Protocol (https://www.w3.org/TR/sparql11-http-rdf-update/): ``PUT <url>?graph=<g>`` for
  the first chunk (replace), ``POST`` for the rest (merge); then counts every graph in the
  store through the SPARQL 1.1 Protocol and compares with the local counts.
* ``kgraph query --endpoint`` sends a canned query with the SPARQL 1.1 Protocol
  (https://www.w3.org/TR/sparql11-protocol/), naming the project's graphs as the dataset
  (``default-graph-uri`` / ``named-graph-uri``) so that the answer is the local one.

Standard library HTTP only. Credentials come from the environment or ``~/.netrc``, never
from the command line, and are never printed.
"""

from __future__ import annotations

import base64
import io
import itertools
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from kgraph.errors import LimitError, RemoteError, Setting, UsageError
from kgraph.limits import Phase, phase
from kgraph.namespaces import GRAPH, PREFIXES, graph_iri, is_inferred
from kgraph.storekind import StoreKind

if TYPE_CHECKING:
    import http.client
    import socket

    from kgraph.layout import Layout
    from kgraph.limits import Limits
    from kgraph.queries import CannedQuery
    from kgraph.results import QueryResult
    from kgraph.store import Dataset


STORE_KINDS = tuple(k.value for k in StoreKind)
DEFAULT_CHUNK = 50_000
MIN_CHUNK = 100
"""The smallest chunk a 413 (payload too large) may shrink the chunks to."""
RERUN_SAFE = (
    "the store may hold part of the push; re-running `kgraph push` is safe (each graph is replaced)"
)
RERUN_MERGE = (
    f"the store may hold part of the push; re-running {Setting.MERGE} adds only what is "
    "missing (except triples with blank nodes, which are added again)"
)
AUTH_HINT = "check KGRAPH_STORE_TOKEN / ~/.netrc (or KGRAPH_STORE_USER and KGRAPH_STORE_PASSWORD)"
SPARQL_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"


class HttpFailure(RemoteError):
    """A request that failed; ``maybe_applied`` when the store may have acted on it."""

    def __init__(
        self,
        message: str,
        *,
        maybe_applied: bool = False,
        status: int | None = None,
        setting: Setting | None = None,
    ) -> None:
        super().__init__(message, setting=setting)
        self.maybe_applied = maybe_applied
        self.http_status = status

    def __reduce__(self) -> tuple[object, ...]:
        # KGraphError's rebuild passes path/line/column, which this one does not take, and
        # would drop maybe_applied: a failure that crossed a worker must not claim that
        # nothing was applied.
        return (_failure, (self.message, self.maybe_applied, self.http_status, self.settings))


def _failure(
    message: str, maybe_applied: bool, status: int | None, settings: tuple[Setting, ...]
) -> HttpFailure:
    err = HttpFailure(message, maybe_applied=maybe_applied, status=status)
    err.settings = settings
    return err


# -- HTTP ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    content_type: str
    body: bytes
    location: str = ""
    challenge: str = ""
    """The WWW-Authenticate header of a 401."""
    headers: tuple[tuple[str, str], ...] = ()

    def first_line(self) -> str:
        text = self.body.decode("utf-8", "replace")
        line = next((x.strip() for x in text.splitlines() if x.strip()), "")
        return line if len(line) <= 200 else line[:200] + "…"


def check_url(url: str, *, what: str | Setting = "URL") -> None:
    """Refuse what is not a plain http(s) URL; ``what`` names it (a :class:`Setting`, or
    words), and a setting is carried by the error."""
    setting = what if isinstance(what, Setting) else None
    # urlsplit() silently drops CR, LF and TAB (and http.client then refuses the rest with a
    # traceback): refuse them, other controls, spaces and non-ASCII here, without echoing.
    bad = next((c for c in url if ord(c) <= 0x20 or ord(c) >= 0x7F), None)
    if bad is not None:
        raise UsageError(
            f"{what} holds a control character, space or non-ASCII character "
            f"(U+{ord(bad):04X}); percent-encode it",
            setting=setting,
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{what} {url!r} is not an http:// or https:// URL", setting=setting)
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            f"{what} must not hold credentials; set KGRAPH_STORE_TOKEN, or KGRAPH_STORE_USER and "
            "KGRAPH_STORE_PASSWORD, or a ~/.netrc entry for the host",
            setting=setting,
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as err:
        raise UsageError(f"{what} {url!r} has a bad port: {err}", setting=setting) from err


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL: where a credential may be sent."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def _allowed_by_store_host(target: tuple[str, str, int]) -> bool:
    """Whether KGRAPH_STORE_HOST names ``target``: a host name (any port), ``host:port`` or a
    URL (scheme, host and port)."""
    named = os.environ.get("KGRAPH_STORE_HOST", "").strip().lower()
    if not named:
        return False
    if "://" in named:
        return origin(named) == target
    host, sep, port = named.rpartition(":") if named.count(":") == 1 else ("", "", named)
    if sep:
        return (host, port) == (target[1], str(target[2]))
    return named.strip("[]") == target[1]


def _clean(value: str, name: str) -> str:
    """A credential as an HTTP header may carry it; never echoed when it is refused."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise UsageError(
            f"{name} holds a line break or other control character; refusing to send it"
        )
    return value


def authorization(url: str, *, trusted: str | None = None) -> tuple[str | None, str]:
    """(Authorization header value, where it came from) for a request to ``url``."""
    token, pair, source = credentials(url, trusted=trusted)
    if token:
        return f"Bearer {token}", source
    if pair:
        return _basic(*pair), source
    return None, source


def credentials(
    url: str, *, trusted: str | None = None
) -> tuple[str | None, tuple[str, str] | None, str]:
    """(bearer token, (user, password), where they came from) for a request to ``url``.

    Credentials from the environment go only to the origin (scheme, host, port) of
    ``trusted`` (the push URL), or to the host KGRAPH_STORE_HOST names; any other host gets
    only its own ``~/.netrc`` entry. So a token meant for one store never reaches an
    ``--endpoint`` or ``--query-endpoint`` elsewhere. The user and password go as Basic or,
    when the store challenges for it, as Digest (kgraph.httpauth).
    """
    target = origin(url)
    env_allowed = (trusted is not None and origin(trusted) == target) or _allowed_by_store_host(
        target
    )
    token = os.environ.get("KGRAPH_STORE_TOKEN")
    user, password = os.environ.get("KGRAPH_STORE_USER"), os.environ.get("KGRAPH_STORE_PASSWORD")
    if env_allowed and token:
        _clean(token, "KGRAPH_STORE_TOKEN")
        if not token.isascii():
            raise UsageError("KGRAPH_STORE_TOKEN holds non-ASCII characters; refusing to send it")
        return token, None, "KGRAPH_STORE_TOKEN"
    if env_allowed and (user or password):
        if not (user and password):
            raise UsageError("set both KGRAPH_STORE_USER and KGRAPH_STORE_PASSWORD, or neither")
        pair = (_clean(user, "KGRAPH_STORE_USER"), _clean(password, "KGRAPH_STORE_PASSWORD"))
        return None, pair, "KGRAPH_STORE_USER"
    import netrc

    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    if not path.is_file():
        return None, None, _withheld(env_allowed, token, user)
    host = target[1]
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except netrc.NetrcParseError as err:
        # Its message quotes the offending token, which may well be the password.
        raise UsageError(
            f"cannot read {path}: line {err.lineno} is not valid netrc syntax"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(
            f"cannot read {path}: {getattr(err, 'strerror', None) or 'unreadable'}"
        ) from None
    if entry and entry[0] and entry[2]:
        where = f"{path} ({host})"
        return None, (_clean(entry[0], where), _clean(entry[2], where)), where
    return None, None, _withheld(env_allowed, token, user)


def _withheld(env_allowed: bool, token: str | None, user: str | None) -> str:
    """How to describe "no credentials" when the environment holds some for another host."""
    if not env_allowed and (token or user):
        return (
            "none (KGRAPH_STORE_* credentials go only to the push URL's host or KGRAPH_STORE_HOST)"
        )
    return "none"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


ANSWER_CAP = 64 * 1024
"""The most kgraph reads of an answer it only inspects (a count, an ASK, a push's reply):
a store that streams gigabytes instead must not fill the memory."""


class _DeadlineSocket:
    """A connected socket whose every send and receive gets only the time left until one
    deadline. A socket timeout bounds each operation alone, so a server trickling a byte
    at a time could hold a request for ever; this bounds the whole request."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._readers = 0
        self._closed = False

    def _arm(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's deadline passed")
        self._sock.settimeout(left)

    def sendall(self, data: bytes) -> None:
        self._arm()
        self._sock.sendall(data)

    def recv_into(self, buffer: Any) -> int:
        self._arm()
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def close(self) -> None:
        # As socket.makefile's files do, an open answer keeps the socket: http.client
        # closes the connection of a "Connection: close" answer before reading its body.
        self._closed = True
        if not self._readers:
            self._sock.close()

    def reader_closed(self) -> None:
        self._readers -= 1
        if self._closed and not self._readers:
            self._sock.close()


class _DeadlineReader(io.RawIOBase):
    """What http.client reads the answer from: one deadline-armed receive per read."""

    def __init__(self, sock: _DeadlineSocket) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._sock.reader_closed()
        super().close()


def request(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float,
    max_body: int | None = None,
    setting: Setting = Setting.HTTP_TIMEOUT,
    trusted: str | None = None,
) -> Response:
    """One HTTP request on a fresh connection; every failure becomes an :class:`HttpFailure`.

    ``timeout`` bounds the whole request, connecting included (``setting`` raises it);
    ``max_body`` the answer read (from ``--max-input``; by default :data:`ANSWER_CAP`).
    ``trusted``: the URL whose origin may receive the environment's credentials.
    Errors before the request was sent (refused, DNS, TLS) say nothing was applied; errors
    after it (timeout, reset, cut-off answer) say the outcome is unknown.
    """
    from kgraph.httpauth import parse_challenge, remember, remembered

    check_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    where = f"{host}:{port}"
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    token, pair, auth_source = credentials(url, trusted=trusted)
    sent = {"User-Agent": "kgraph", **(headers or {})}
    challenge = remembered(where) if pair else None
    # Virtuoso's authenticated endpoint speaks Digest only: never show it the password
    basic = not parts.path.endswith("/sparql-graph-crud-auth")
    for attempt in range(3):
        sent.pop("Authorization", None)
        if challenge and pair:
            sent["Authorization"] = challenge.authorization(method, target, *pair)
        elif token:
            sent["Authorization"] = f"Bearer {token}"
        elif pair and basic:
            sent["Authorization"] = _basic(*pair)
        limits = (timeout, setting, max_body)
        result = _once(parts, method, target, body, sent, where, limits)
        if result.status != 401 or not pair or attempt == 2:
            break
        # A Digest challenge (RFC 7616): answer it once with the same user and password.
        # Virtuoso answers a Basic header with a bare 401: ask again without it for the
        # challenge. Only the first request to a host pays; the challenge is remembered.
        fresh = parse_challenge(result.challenge)
        if fresh is None and "Authorization" in sent and not challenge and not result.challenge:
            basic = False
            continue
        if fresh is None or (challenge is not None and not basic and attempt):
            break
        challenge = fresh
        remember(where, challenge)
    _check_status(result, where, auth_source, maybe_applied=method != "GET")
    return result


def _once(
    parts: Any,
    method: str,
    target: str,
    body: bytes,
    sent: dict[str, str],
    where: str,
    limits: tuple[float, Setting, int | None],
) -> Response:
    import http.client
    import socket
    import ssl

    timeout, setting, _ = limits
    deadline = time.monotonic() + timeout
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    raw: socket.socket | None = None
    try:
        try:
            conn.connect()
        except ConnectionRefusedError as err:
            raise HttpFailure(
                f"connection refused by {where}: is the store running there?"
            ) from err
        except TimeoutError as err:
            raise HttpFailure(
                f"no connection to {where} within {timeout:g} s ({setting})", setting=setting
            ) from err
        except socket.gaierror as err:
            raise HttpFailure(f"cannot resolve host {host!r}: {err.strerror or err}") from err
        except ssl.SSLCertVerificationError as err:
            raise HttpFailure(
                f"the TLS certificate of {where} is not trusted: {err.verify_message}"
            ) from err
        except ssl.SSLError as err:
            raise HttpFailure(f"TLS handshake with {where} failed: {err.reason or err}") from err
        except OSError as err:
            raise HttpFailure(f"cannot connect to {where}: {err.strerror or err}") from err
        raw = conn.sock
        conn.sock = _DeadlineSocket(raw, deadline)
        return _exchange(conn, method, target, body, sent, where, limits)
    finally:
        conn.close()
        if raw is not None:  # also when an answer was left half-read
            raw.close()


def _exchange(
    conn: http.client.HTTPConnection,
    method: str,
    target: str,
    body: bytes,
    headers: dict[str, str],
    where: str,
    limits: tuple[float, Setting, int | None],
) -> Response:
    import http.client

    timeout, setting, max_body = limits
    unknown = method != "GET"  # a failure after sending: the store may have acted on it
    send_error: OSError | None = None
    try:
        conn.request(method, target, body=body, headers=headers)
    except TimeoutError as err:
        raise HttpFailure(
            f"{where} did not take the request within {timeout:g} s ({setting})",
            maybe_applied=unknown,
            setting=setting,
        ) from err
    except (BrokenPipeError, ConnectionResetError) as err:
        send_error = err  # the store may have answered early (e.g. 413): read that answer
    except ValueError as err:  # http.client refusing a header or the URL: never echo them
        raise UsageError(f"cannot send the request to {where}: {type(err).__name__}") from None
    try:
        response = conn.getresponse()
        data = _read_body(response, max_body, where, unknown)
    except TimeoutError as err:
        raise HttpFailure(
            f"no complete answer from {where} within {timeout:g} s ({setting})",
            maybe_applied=unknown,
            setting=setting,
        ) from err
    except http.client.IncompleteRead as err:
        raise HttpFailure(
            f"the answer from {where} was cut off mid-body after {len(err.partial)} bytes",
            maybe_applied=unknown,
        ) from err
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as err:
        cause: OSError = send_error or err
        raise HttpFailure(
            f"{where} closed the connection without answering ({cause})", maybe_applied=unknown
        ) from cause
    except http.client.HTTPException as err:
        raise HttpFailure(
            f"{where} sent a malformed answer: {type(err).__name__}", maybe_applied=unknown
        ) from err
    return Response(
        response.status,
        response.reason,
        response.getheader("Content-Type", ""),
        data,
        response.getheader("Location", ""),
        ", ".join(response.headers.get_all("WWW-Authenticate") or ()),
        tuple(response.getheaders()),
    )


def _read_body(
    response: http.client.HTTPResponse, limit: int | None, where: str, unknown: bool
) -> bytes:
    """The whole answer, refused past ``limit`` (``--max-input``) or :data:`ANSWER_CAP`."""
    import http.client

    cap = ANSWER_CAP if limit is None else limit
    parts: list[bytes] = []
    total = 0
    while block := response.read(min(1 << 16, cap + 1 - total)):
        parts.append(block)
        total += len(block)
        if total > cap:
            if limit is None:
                raise HttpFailure(
                    f"the answer from {where} is larger than {cap // 1024} KB, more than this "
                    "request's answer can hold; is it the right URL?",
                    maybe_applied=unknown,
                )
            raise LimitError(
                f"the answer from {where} is larger than {limit // (1 << 20)} MB "
                f"({Setting.MAX_INPUT})",
                setting=Setting.MAX_INPUT,
            )
    data = b"".join(parts)
    if response.length:  # Content-Length promised more than arrived
        raise http.client.IncompleteRead(data, response.length)
    return data


def _check_status(response: Response, where: str, auth_source: str, *, maybe_applied: bool) -> None:
    status = response.status
    if 200 <= status < 300:
        return
    said = f"HTTP {status} {response.reason}".rstrip()
    detail = f": {response.first_line()}" if response.first_line() else ""
    if status in (401, 403):
        sent = (
            "no credentials were sent" + auth_source.removeprefix("none")
            if auth_source.startswith("none")
            else f"credentials from {auth_source}"
        )
        raise HttpFailure(f"{where} refused access ({said}; {sent}): {AUTH_HINT}", status=status)
    if 300 <= status < 400:
        raise HttpFailure(
            f"{where} redirects ({said}) to {response.location or 'another URL'}; pass that URL",
            status=status,
        )
    if status >= 500:
        raise HttpFailure(
            f"the store at {where} failed ({said}){detail}",
            maybe_applied=maybe_applied,
            status=status,
        )
    raise HttpFailure(f"{where} rejected the request ({said}){detail}", status=status)


# -- where to send what ---------------------------------------------------------------------


def _detect_kind(path: str) -> str | None:
    if path.endswith("/store"):
        return "oxigraph"
    if re.search(r"/repositories/[^/]+/rdf-graphs/service$", path):
        return "graphdb"
    if re.search(r"/sparql-graph-crud(-auth)?$", path):
        return "virtuoso"
    if path.endswith("/sparql/gsp"):
        return "neptune"
    if re.search(r"^/[^/]+(/[^/]+)*/data$", path):
        return "fuseki"
    return None


_DERIVE: dict[str, tuple[str, str, str]] = {
    # kind: (GSP path pattern, query path replacement, what the GSP URL looks like)
    "oxigraph": (r"/store$", "/query", "http://HOST:7878/store"),
    "fuseki": (r"/data$", "/sparql", "http://HOST:3030/DATASET/data"),
    "graphdb": (
        r"/rdf-graphs/service$",
        "",
        "http://HOST:7200/repositories/REPO/rdf-graphs/service",
    ),
    "virtuoso": (
        r"/sparql-graph-crud(-auth)?$",
        "/sparql",
        "http://HOST:8890/sparql-graph-crud-auth",
    ),
    "neptune": (r"/gsp$", "", "https://CLUSTER:8182/sparql/gsp/"),
    "stardog": (r"$", "/query", "http://HOST:5820/DATABASE"),
    # QLever answers queries and Graph Store requests at the same URL
    "qlever": (r"$", "", "http://HOST:7001/"),
}


def query_endpoint_for(url: str, kind: StoreKind | str, query_endpoint: str | None) -> str:
    """The SPARQL query endpoint that verifies a push to the GSP endpoint ``url``."""
    if kind not in STORE_KINDS:
        raise UsageError(f"unknown store kind {kind!r}; use one of {', '.join(STORE_KINDS)}")
    check_url(url)
    if query_endpoint:
        check_url(query_endpoint, what=Setting.QUERY_ENDPOINT)
        return query_endpoint
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    found = _detect_kind(path) if kind == "auto" else kind
    if found not in _DERIVE:
        raise UsageError(
            f"cannot tell the SPARQL query endpoint that goes with {url}; pass "
            f"{Setting.QUERY_ENDPOINT} (or {Setting.STORE_KIND}; docs/stores.md lists the URLs "
            "of each store)",
            setting=(Setting.QUERY_ENDPOINT, Setting.STORE_KIND),
        )
    pattern, replacement, example = _DERIVE[found]
    if not re.search(pattern, path) or (found == "stardog" and path.count("/") != 1):
        raise UsageError(
            f"{url} does not look like a {found} Graph Store URL ({example}); pass "
            f"{Setting.QUERY_ENDPOINT}",
            setting=Setting.QUERY_ENDPOINT,
        )
    derived = re.sub(pattern, replacement, path, count=1) or "/"
    return urlunsplit((parts.scheme, parts.netloc, derived, "", ""))


def graph_url(url: str, graph: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, f"{query}graph={quote(graph, safe='')}", "")
    )


# -- the local side (runs in the bounded worker) ----------------------------------------------


@dataclass(frozen=True)
class GraphFile:
    """One graph serialised as N-Triples (one triple a line) in a staging folder."""

    graph: str
    path: str
    triples: int
    blank_nodes: bool
    distinct: int = -1
    """The triples the local store holds (``triples`` when unknown): fewer than were sent
    when two source forms of one value were both sent (``true``, ``"1"^^xsd:boolean``),
    which a store that canonicalises (Oxigraph) holds as one triple."""

    @property
    def least(self) -> int:
        """The fewest triples the store may hold after a replacing push."""
        return self.triples if self.distinct < 0 else self.distinct


def prepare(dataset: Dataset, *, graphs: Sequence[str], folder: str) -> list[GraphFile]:
    """Write each graph to push (all asserted ones, the inferred one if the dataset was
    opened with a closure) to ``folder``."""
    import pyoxigraph as ox

    known = dataset.asserted_graphs() + dataset.inferred_graphs
    selected = known
    if graphs:
        selected = []
        for name in graphs:
            iri = name if name in known else graph_iri(name)
            if iri not in known:
                inferred = is_inferred(iri)
                hint = f"; pass {Setting.INFER} too" if inferred else ""
                raise UsageError(
                    f"no graph {name!r} in this project{hint}; it has: {', '.join(known)}",
                    setting=Setting.INFER if inferred else None,
                )
            selected.append(iri)
    phase(Phase.EXPORT)
    # Literals are sent as the project's files write them, not as the local store holds
    # them ("12"^^xsd:long, not xsd:integer): the store pushed to decides for itself.
    forms = dataset.source_forms()
    files = []
    for index, graph in enumerate(dict.fromkeys(selected)):
        seen: dict[str, Any] = {"triples": 0, "stored": 0, "blank": False}

        def stored(graph: str = graph, seen: dict[str, Any] = seen) -> Iterator[ox.Quad]:
            for quad in dataset.quads([graph]):
                seen["stored"] += 1
                yield quad

        def triples(graph: str = graph, seen: dict[str, Any] = seen) -> Iterator[ox.Triple]:
            for quad in dataset.exact_quads([graph], forms, quads=stored):
                seen["triples"] += 1
                if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
                    seen["blank"] = True
                yield quad.triple

        path = Path(folder) / f"{index}.nt"
        with open(path, "wb") as out:
            ox.serialize(triples(), out, format=ox.RdfFormat.N_TRIPLES)
        files.append(GraphFile(graph, str(path), seen["triples"], seen["blank"], seen["stored"]))
    return files


# -- the push -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushOptions:
    merge: bool = False
    chunk_size: int = DEFAULT_CHUNK
    timeout: float = 60.0


@dataclass(frozen=True)
class GraphPlan:
    graph: str
    triples: int
    chunks: int
    methods: tuple[str, ...]
    blank_nodes: bool


def plan(files: Sequence[GraphFile], options: PushOptions) -> list[GraphPlan]:
    plans = []
    for item in files:
        size = item.triples if item.blank_nodes else options.chunk_size
        chunks = -(-item.triples // max(size, 1))
        # replacing an empty graph is still one (empty) PUT: it clears the store's graph
        methods = (
            ("POST",) * chunks if options.merge else ("PUT",) + ("POST",) * (max(chunks, 1) - 1)
        )
        plans.append(GraphPlan(item.graph, item.triples, chunks, methods, item.blank_nodes))
    return plans


@dataclass(frozen=True)
class GraphCount:
    graph: str
    local: int
    remote: int
    ok: bool
    content: str = ""
    """Why the content differs (kgraph.verify), empty when it is the same or unchecked."""


@dataclass(frozen=True)
class PushReport:
    counts: tuple[GraphCount, ...]
    requests: int
    triples: int
    query_endpoint: str = ""
    """Where the counts were verified."""


@dataclass(frozen=True)
class PushPlan:
    """What a push would send (``kgraph push --dry-run``)."""

    graphs: tuple[GraphPlan, ...]
    url: str
    query_endpoint: str

    @property
    def requests(self) -> int:
        return sum(len(p.methods) for p in self.graphs)


def push(
    files: Sequence[GraphFile],
    url: str,
    query_endpoint: str,
    options: PushOptions,
    *,
    progress: Callable[[int], None] = lambda n: None,
) -> PushReport:
    """Send every graph, then count each in the store. Raises :class:`RemoteError`."""
    state = {"applied": False, "requests": 0, "chunk": options.chunk_size}
    rerun = RERUN_MERGE if options.merge else RERUN_SAFE
    for item in files:
        try:
            _push_graph(item, url, options, state, progress)
        except HttpFailure as err:
            partial = err.maybe_applied or state["applied"]
            merge = partial and options.merge
            raise RemoteError(
                f"{err.message} (while sending graph <{item.graph}>)"
                + (f"; {rerun}" if partial else ""),
                setting=err.settings + ((Setting.MERGE,) if merge else ()),
            ) from err
    try:
        counts = tuple(_count(item, query_endpoint, options, url) for item in files)
    except HttpFailure as err:
        raise RemoteError(
            f"{err.message} (while counting the pushed graphs at {query_endpoint}); the push itself completed",
            setting=err.settings,
        ) from err
    if not options.merge:  # with --merge the store may hold more: counts only
        try:
            counts = tuple(
                _content(item, c, query_endpoint, options, url) if c.ok else c
                for item, c in zip(files, counts, strict=True)
            )
        except HttpFailure as err:
            raise RemoteError(
                f"{err.message} (while reading the pushed graphs back at {query_endpoint}); "
                "the push itself completed",
                setting=err.settings,
            ) from err
    return PushReport(counts, state["requests"], sum(f.triples for f in files), query_endpoint)


def _push_graph(
    item: GraphFile,
    url: str,
    options: PushOptions,
    state: dict[str, Any],
    progress: Callable[[int], None],
) -> None:
    target = graph_url(url, item.graph)
    while True:
        size = max(item.triples, 1) if item.blank_nodes else state["chunk"]
        done = 0
        try:
            for number, (body, count) in enumerate(
                _chunks(Path(item.path), size, replace=not options.merge)
            ):
                method = "POST" if options.merge or number else "PUT"
                state["requests"] += 1
                request(
                    method,
                    target,
                    body=body,
                    headers={"Content-Type": N_TRIPLES},
                    timeout=options.timeout,
                    trusted=url,
                )
                state["applied"] = True
                done += count
                progress(count)
            return
        except HttpFailure as err:
            if err.http_status != 413:
                raise
            progress(-done)
            if item.blank_nodes or size <= MIN_CHUNK:
                why = (
                    "it has blank nodes, so it must go in one request"
                    if item.blank_nodes
                    else f"even at {size} triples a request"
                )
                raise HttpFailure(
                    f"the store refused the graph as too large (HTTP 413); {why}: raise the store's "
                    "request size limit, or bulk-load it (docs/stores.md)",
                    maybe_applied=bool(state["applied"]),
                ) from err
            state["chunk"] = max(size // 2, MIN_CHUNK)


def _chunks(path: Path, size: int, *, replace: bool) -> Iterator[tuple[bytes, int]]:
    """``size`` lines (triples) at a time; an empty graph is one empty PUT when replacing."""
    with open(path, "rb") as lines:
        first = True
        while True:
            block = list(itertools.islice(lines, size))
            if not block and not (first and replace):
                return
            yield b"".join(block), len(block)
            if not block:
                return
            first = False


def _count(item: GraphFile, query_endpoint: str, options: PushOptions, url: str) -> GraphCount:
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{item.graph}> {{ ?s ?p ?o }} }}"
    # the push URL's credentials reach the query endpoint only on the same origin
    answer = sparql(query_endpoint, query, accept=SPARQL_JSON, timeout=options.timeout, trusted=url)
    remote = _count_value(answer, query_endpoint)
    ok = remote >= item.least if options.merge else item.least <= remote <= item.triples
    return GraphCount(item.graph, item.triples, remote, ok)


READ_BACK_CAP = 256 << 20
"""The most kgraph reads of one bucket of a graph read back for verification."""


def _content(
    item: GraphFile, count: GraphCount, query_endpoint: str, options: PushOptions, url: str
) -> GraphCount:
    """Read the graph back through the query endpoint and compare it with what was sent."""
    import pyoxigraph as ox

    from kgraph.storeresults import check_not_cut, normalise_json
    from kgraph.verify import check_graph

    def ask(query: str) -> Any:
        answer = sparql(
            query_endpoint,
            query,
            accept=SPARQL_JSON,
            timeout=options.timeout,
            max_body=READ_BACK_CAP,
            trusted=url,
        )
        check_not_cut(answer.headers, query_endpoint, f"the read-back of <{item.graph}>")
        try:
            return ox.parse_query_results(
                normalise_json(answer.body), format=ox.QueryResultsFormat.JSON
            )
        except (SyntaxError, ValueError) as err:
            raise HttpFailure(
                f"{query_endpoint} answered a read-back query with something that is not SPARQL JSON"
            ) from err

    with open(item.path, "rb") as sent:
        triples = [q.triple for q in ox.parse(sent, format=ox.RdfFormat.N_TRIPLES)]
    check = check_graph(item.graph, triples, ask, triples=item.triples)
    if check.same:
        return count
    return GraphCount(count.graph, count.local, count.remote, False, check.message())


def _count_value(answer: Response, where: str) -> int:
    document = _json_answer(answer, where, "the count query")
    try:
        bindings = document["results"]["bindings"]
        if not bindings:
            return 0
        value = bindings[0]["n"]["value"]
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,18}", value.strip()):
            return int(value)
    except (KeyError, IndexError, TypeError):
        pass
    raise HttpFailure(
        f"{where} answered the count query with something that is not a SPARQL JSON count"
    )


def check_counts(report: PushReport, *, merge: bool) -> None:
    bad = [c for c in report.counts if not c.ok]
    if bad:
        first = bad[0]
        more = f" (and {len(bad) - 1} more graphs)" if len(bad) > 1 else ""
        if first.content:
            raise RemoteError(
                f"{first.content}{more}; push again, and check that nothing else writes it "
                "and that the store keeps the values it is sent (docs/stores.md)"
            )
        expected = "at least " if merge else ""
        raise RemoteError(
            f"graph <{first.graph}> has {first.remote} triples in the store, expected {expected}"
            f"{first.local} (the local count){more}; push again, and check that nothing else writes it"
        )


# -- querying an endpoint -------------------------------------------------------------------


def sparql(
    endpoint: str,
    query: str,
    *,
    accept: str,
    timeout: float,
    graphs: Sequence[str] = (),
    max_body: int | None = None,
    setting: Setting = Setting.HTTP_TIMEOUT,
    trusted: str | None = None,
) -> Response:
    """POST a query (SPARQL 1.1 Protocol §2.1.2), with ``graphs`` as the whole dataset."""
    fields = [("query", query)]
    fields += [("default-graph-uri", g) for g in graphs] + [("named-graph-uri", g) for g in graphs]
    return request(
        "POST",
        endpoint,
        body=urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": accept},
        timeout=timeout,
        max_body=max_body,
        setting=setting,
        trusted=trusted,
    )


def remote_query(
    endpoint: str,
    canned: CannedQuery,
    bound: dict[str, Any],
    *,
    fmt: str | None,
    layout: Layout,
    limits: Limits,
    infer: str,
) -> QueryResult:
    """Run a canned query at ``endpoint`` over the project's graphs; the same QueryResult as
    the local query gives (the answer re-encoded as the worker would have)."""
    import pyoxigraph as ox

    from kgraph.guards import check_query
    from kgraph.namespaces import inferred_graph
    from kgraph.queries import with_values
    from kgraph.reasoning import check_profile
    from kgraph.results import capture, check_format, form_of
    from kgraph.storeresults import check_not_cut, normalise_json, normalise_triples

    check_url(endpoint, what=Setting.ENDPOINT)
    shape = check_query(
        canned.text, max_depth=limits.max_depth, allowed_graph_prefix=GRAPH, source=canned.source
    )
    graph_form = shape.form in ("CONSTRUCT", "DESCRIBE")
    if fmt:
        check_format("GRAPH" if graph_form else shape.form, fmt)
    graphs = [s.graph for s in layout.source_files()]
    if check_profile(infer) != "none":
        graphs.append(inferred_graph(infer))
        _require_graph(endpoint, graphs[-1], infer, limits.query_timeout)
    if bound:
        from kgraph.remotenames import resolve_remote

        # A name or IRI is looked up where the query runs, over the same graphs.
        bound = resolve_remote(
            endpoint,
            graphs,
            canned,
            bound,
            timeout=limits.query_timeout,
            max_body=limits.max_input_bytes,
        )
    text = with_prefixes(with_values(canned.text, bound))
    accept = N_TRIPLES if graph_form else SPARQL_JSON
    try:
        answer = sparql(
            endpoint,
            text,
            accept=accept,
            timeout=limits.query_timeout,
            graphs=graphs,
            max_body=limits.max_input_bytes,
            setting=Setting.TIMEOUT,
        )
    except HttpFailure as err:
        raise RemoteError(
            f"{err.message} (query {canned.name} at {endpoint})", setting=err.settings
        ) from err
    check_not_cut(answer.headers, endpoint, canned.name)
    try:
        if graph_form:
            triples = [q.triple for q in ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES)]
            result: Any = normalise_triples(triples)
        else:
            result = ox.parse_query_results(
                normalise_json(answer.body), format=ox.QueryResultsFormat.JSON
            )
        if not graph_form and form_of(result) != shape.form:
            raise RemoteError(
                f"{endpoint} answered the {shape.form} query with a {form_of(result)} result"
            )
        # Oxigraph reads solutions lazily: a bad one further down surfaces while encoding.
        return capture(result, fmt)
    except (SyntaxError, ValueError, TypeError) as err:
        got = answer.content_type or "no Content-Type"
        raise RemoteError(
            f"{endpoint} answered with {got}, not valid {accept}: {_one_line(err)}"
        ) from None


def solutions(
    endpoint: str,
    text: str,
    *,
    doing: str,
    asked: str,
    timeout: float,
    max_body: int,
    graphs: Sequence[str] = (),
) -> Any:
    """A SELECT's solutions (read whole: a bad one further down fails here) or an ASK's
    boolean, from ``endpoint`` as SPARQL JSON; ``doing`` ("looking up names") and ``asked``
    ("a name look-up") name the work in the one-line errors. A cut answer is an error
    (:func:`check_not_cut`)."""
    import pyoxigraph as ox

    from kgraph.storeresults import check_not_cut, normalise_json

    try:
        answer = sparql(
            endpoint,
            text,
            accept=SPARQL_JSON,
            timeout=timeout,
            graphs=graphs,
            max_body=max_body,
            setting=Setting.TIMEOUT,
        )
    except HttpFailure as err:
        raise RemoteError(f"{err.message} ({doing} at {endpoint})", setting=err.settings) from err
    check_not_cut(answer.headers, endpoint, asked)
    try:
        result = ox.parse_query_results(
            normalise_json(answer.body), format=ox.QueryResultsFormat.JSON
        )
        return result if isinstance(result, ox.QueryBoolean) else list(result)
    except (SyntaxError, ValueError, TypeError) as err:
        got = answer.content_type or "no Content-Type"
        raise RemoteError(
            f"{endpoint} answered with {got}, not valid SPARQL JSON results: {_one_line(err)}"
        ) from None


def _one_line(err: BaseException) -> str:
    """An engine's complaint about a remote answer, printable and short."""
    text = "".join(c if c.isprintable() else " " for c in str(err))
    return " ".join(text.split())[:200]


def _json_answer(answer: Response, where: str, what: str) -> Any:
    import json

    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError) as err:  # RecursionError: nesting a million deep
        raise HttpFailure(f"{where} answered {what} with something that is not JSON") from err


def _virtuoso_ask(document: dict[str, Any]) -> bool | None:
    """An ASK's answer in Virtuoso 7.2's form: a SELECT of ``__ASK_RETVAL``, no row for
    false and one row holding the integer 1 for true (no ``boolean`` member); else None."""
    head, results = document.get("head"), document.get("results")
    bindings = results.get("bindings") if isinstance(results, dict) else None
    if not isinstance(head, dict) or head.get("vars") != ["__ASK_RETVAL"]:
        return None
    if not isinstance(bindings, list) or len(bindings) > 1:
        return None
    if not bindings:
        return False
    row = bindings[0]
    value = row.get("__ASK_RETVAL") if isinstance(row, dict) else None
    if isinstance(value, dict) and value.get("value") in ("0", "1"):
        return bool(value["value"] == "1")
    return None


def _require_graph(endpoint: str, graph: str, profile: str, timeout: float) -> None:
    """Refuse --infer when the store lacks the inferred graph (the answer would be wrong)."""
    try:
        answer = sparql(
            endpoint,
            f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
            accept=SPARQL_JSON,
            timeout=timeout,
            setting=Setting.TIMEOUT,
        )
    except HttpFailure as err:
        raise RemoteError(
            f"{err.message} (checking for the inferred graph at {endpoint})", setting=err.settings
        ) from err
    try:
        document = _json_answer(answer, endpoint, "an ASK query")
    except HttpFailure as err:
        raise RemoteError(err.message) from None
    present = document.get("boolean") if isinstance(document, dict) else None
    if present is None and isinstance(document, dict):
        present = _virtuoso_ask(document)
    if not isinstance(present, bool):  # "false" (a string) is not false: refuse, don't guess
        raise RemoteError(
            f"{endpoint} answered an ASK query with something that is not SPARQL JSON"
        )
    if not present:
        raise UsageError(
            # Which command pushes it: "push it first with --infer rdfs" read as advice to
            # the query that was refused.
            f"the store has no inferred graph <{graph}>; push it first (`kgraph push` with "
            f"{Setting.INFER} {profile}), or query without it",
            setting=Setting.INFER,
        )


def with_prefixes(text: str) -> str:
    """Declare the project's prefixes the query uses without declaring (locally they are
    predefined; a remote endpoint knows none of them)."""
    from kgraph.guards import parse_checked

    declared = parse_checked(text).prefixes
    missing = [f"PREFIX {p}: <{ns}>" for p, ns in PREFIXES.items() if p not in declared]
    # on the query's first line, so that the endpoint's error positions keep their line
    return (" ".join(missing) + " " + text) if missing else text
