"""The HTTP side: the SPARQL 1.1 Protocol (read-only), the Graph Store Protocol's GET, the
canned queries, the static assets and the pages.

Standard library only (``http.server``): this process parses requests and copies bytes;
the queries run in the pool's workers (:mod:`kgraph.server.pool`), so a thread per
connection is cheap and no engine work ever runs on it. Every error a client gets is one
line of text/plain with its status; tracebacks stay in the server's log.

Specs: SPARQL 1.1 Protocol (https://www.w3.org/TR/sparql11-protocol/), Graph Store HTTP
Protocol (https://www.w3.org/TR/sparql11-http-rdf-update/), Service Description
(https://www.w3.org/TR/sparql11-service-description/).
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import re
import socket
import sys
import threading
import traceback
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kgraph import __version__
from kgraph.server import backend, pages
from kgraph.server.api import service_description
from kgraph.server.app import App, HttpError
from kgraph.server.backend import KGraphError, LimitError
from kgraph.server.negotiate import CONTENT_TYPES, choose_format
from kgraph.server.pool import malloc_trimmer

STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
WRITE_METHODS = ("PUT", "DELETE", "PATCH")
HELD_FROM = 1024 * 1024
"""Answers from this size on count against the bytes held for clients (App.hold)."""
# What a Host header may be (RFC 9110 §7.2: a name or an address, then a port), as the
# service description writes it into an IRI.
HOST = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")

# What the page may load: only this server. Inline styles are allowed for the libraries
# that set them (CodeMirror, Cytoscape's container); inline scripts are not.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# -- the request handler ------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server_version = f"kgraph/{__version__}"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    # Each read from the client waits at most this long, and each answer's write as a
    # whole: an idle client lets its thread go after it, though one trickling a byte at a
    # time can keep it (max_connections bounds those).
    timeout = 60
    app: App

    # http.server calls do_<METHOD>; every method goes through one dispatcher.
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm
        # and the client's delayed ACK add 40 ms to every answer on a kept-alive connection.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.app.settings.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _dispatch(self, method: str) -> None:
        try:
            self._check_host()
            url = urlsplit(self.path)
            params = parse_qs(url.query, keep_blank_values=True)
            self._route(method, url.path, params)
        except HttpError as err:
            self._send_text(err.status, err.message, err.headers, head=method == "HEAD")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # a bug of ours: logged, and the client gets one line
            traceback.print_exc(file=sys.stderr)
            self._send_text(500, "internal error in kgraph serve (see the server's log)")

    def _check_host(self) -> None:
        """On a loopback address, answer only requests addressed to it: a web page the
        user visits cannot then reach the server through a DNS name it controls (DNS
        rebinding)."""
        if self.app.settings.host not in LOOPBACK:
            return
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if host.startswith("[") and "]" in host:
            name = host[: host.index("]") + 1]
        if name not in LOOPBACK:
            raise HttpError(403, f"this server answers only requests for 127.0.0.1, not {host!r}")

    def _route(self, method: str, path: str, params: dict[str, list[str]]) -> None:
        if method in WRITE_METHODS:
            raise HttpError(
                405,
                f"kgraph serve is read-only: {method} is not allowed; change the graph with "
                "`kgraph add`",
                {"Allow": self._allowed(path)},
            )
        if method == "OPTIONS":
            self._send(204, b"", "text/plain", {"Allow": self._allowed(path)})
            return
        if path in ("/sparql", "/query"):
            self._sparql(method, params)
        elif path in ("/rdf-graph-store", "/store"):
            if method == "POST":
                raise HttpError(
                    405,
                    "kgraph serve is read-only: the graph store can only be read (GET)",
                    {"Allow": "GET, HEAD, OPTIONS"},
                )
            self._graph_store(params, head=method == "HEAD")
        elif method == "POST":
            raise HttpError(405, "only the SPARQL endpoint takes POST", {"Allow": "GET, HEAD"})
        elif path == "/queries":
            self._send_json(pages.query_list(self.app))
        elif path.startswith("/queries/"):
            self._canned(path.removeprefix("/queries/"), params, head=method == "HEAD")
        elif path.startswith("/static/"):
            self._static(path.removeprefix("/static/"), head=method == "HEAD")
        else:
            page = pages.route(self.app, path, params)
            if page is None:
                raise HttpError(404, f"nothing at {path}")
            body, ctype = page
            self._send(200, body, ctype, head=method == "HEAD")

    @staticmethod
    def _allowed(path: str) -> str:
        return "GET, HEAD, POST, OPTIONS" if path in ("/sparql", "/query") else "GET, HEAD, OPTIONS"

    # -- SPARQL 1.1 Protocol ------------------------------------------------------------

    def _sparql(self, method: str, params: dict[str, list[str]]) -> None:
        text: str | None = None
        update: str | None = None
        if method == "POST":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            body = self._body()
            if ctype == "application/x-www-form-urlencoded":
                fields = parse_qs(body.decode("utf-8", "surrogateescape"), keep_blank_values=True)
                for key, values in fields.items():
                    params.setdefault(key, []).extend(values)
            elif ctype == "application/sparql-query":
                text = body.decode("utf-8", "surrogateescape")
            elif ctype == "application/sparql-update":
                update = body.decode("utf-8", "surrogateescape")
            else:
                raise HttpError(
                    415,
                    "send the query as application/sparql-query or as the query parameter "
                    "of application/x-www-form-urlencoded",
                )
        if "update" in params:
            update = params["update"][0]
        if update is not None:
            self._refuse_update(update)
        queries = params.get("query", [])
        if text is not None and queries:
            raise HttpError(400, "give the query either in the body or as a parameter, not both")
        if text is None:
            if len(queries) > 1:
                raise HttpError(400, "more than one query parameter")
            if not queries:
                if method == "POST":
                    raise HttpError(400, "no query given (the query parameter is missing)")
                self._service_description(head=method == "HEAD")
                return
            text = queries[0]
        default = self._graph_params(params, "default-graph-uri")
        named = self._graph_params(params, "named-graph-uri")
        form = self._check(text)
        kind = "graph" if form in ("CONSTRUCT", "DESCRIBE") else "result"
        fmt = choose_format(kind, self.headers.get("Accept"), _one(params, "format", "output"))
        data = self.app.run(
            {"op": "sparql", "text": text, "format": fmt, "default": default, "named": named}
        )
        self._send(200, data, CONTENT_TYPES[kind, fmt], head=method == "HEAD")

    def _check(self, text: str) -> str:
        try:
            return backend.check(text, self.app.limits)
        except LimitError as err:
            raise HttpError(400, str(err)) from None
        except KGraphError as err:
            raise HttpError(400, str(err)) from None

    def _refuse_update(self, update: str) -> None:
        try:
            backend.check(update, self.app.limits, source="update")
        except KGraphError as err:
            raise HttpError(400, str(err)) from None
        raise HttpError(400, "kgraph serve is read-only: updates are refused")

    def _graph_params(self, params: dict[str, list[str]], name: str) -> list[str]:
        graphs = params.get(name, [])
        for graph in graphs:
            if graph not in self.app.graphs:
                raise HttpError(400, f"{name} <{graph}> is not a graph of this dataset")
        return graphs

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise HttpError(411, "a POST needs a Content-Length")
        try:
            size = int(length)
        except ValueError:
            raise HttpError(400, "bad Content-Length") from None
        if size < 0 or size > self.app.settings.max_body:
            self.close_connection = True
            raise HttpError(413, f"the request is larger than {self.app.settings.max_body} bytes")
        return self.rfile.read(size)

    def _service_description(self, *, head: bool) -> None:
        fmt = choose_format("graph", self.headers.get("Accept"), None)
        host = self.headers.get("Host") or f"{self.app.settings.host}:{self.app.settings.port}"
        if not HOST.fullmatch(host):
            raise HttpError(400, f"bad Host header {host!r}: a host name or address, and a port")
        data = service_description(self.app, f"http://{host}/sparql", fmt)
        self._send(200, data, CONTENT_TYPES["graph", fmt], head=head)

    # -- Graph Store Protocol (GET only) ------------------------------------------------

    def _graph_store(self, params: dict[str, list[str]], *, head: bool) -> None:
        graph = _one(params, "graph")
        if ("default" in params) == (graph is not None):
            raise HttpError(400, "give either ?graph=IRI or ?default")
        if graph is not None and graph not in self.app.graphs:
            graph = self._graph_named(graph)
        fmt = choose_format("graph", self.headers.get("Accept"), _one(params, "format"))
        data = self.app.run({"op": "graph", "graph": graph, "format": fmt})
        self._send(200, data, CONTENT_TYPES["graph", fmt], head=head)

    def _graph_named(self, given: str) -> str:
        """The graph a project file path names (``data/article.ttl``, as ``kgraph push
        --graph`` takes one), or a 404 that says how the graphs are named: a path was
        answered with only "no graph <data/article.ttl> in this dataset"."""
        from kgraph.namespaces import GRAPH, graph_iri

        iri = graph_iri(given.strip().removeprefix("./"))
        if iri in self.app.graphs:
            return iri
        names = sorted(g.removeprefix(GRAPH) for g in self.app.graphs if g.startswith(GRAPH))
        listed = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        raise HttpError(
            404,
            f"no graph <{given}> in this dataset; its graphs are <{GRAPH}PATH> for the "
            f"project files {listed} (give the IRI or the path)",
        )

    # -- canned queries -----------------------------------------------------------------

    def _canned(self, name: str, params: dict[str, list[str]], *, head: bool) -> None:
        canned = self.app.canned.get(name)
        if canned is None:
            raise HttpError(404, f"no canned query {name!r}; GET /queries lists them")
        pairs = [
            (key, value)
            for key, values in params.items()
            if key not in ("format", "output")
            for value in values
        ]
        text = self.app.bind(canned, pairs)
        form = self._check(text)
        kind = "graph" if form in ("CONSTRUCT", "DESCRIBE") else "result"
        fmt = choose_format(kind, self.headers.get("Accept"), _one(params, "format", "output"))
        data = self.app.run({"op": "sparql", "text": text, "format": fmt})
        self._send(200, data, CONTENT_TYPES[kind, fmt], head=head)

    # -- static assets ------------------------------------------------------------------

    def _static(self, relative: str, *, head: bool) -> None:
        try:
            target = (STATIC / relative).resolve()
            found = (
                target.is_relative_to(STATIC)
                and not any(part.startswith(".") for part in Path(relative).parts)
                and target.is_file()
            )
        except OSError:  # a name too long for the system, say: no such asset either
            found = False
        if not found:
            raise HttpError(404, f"no asset {relative[:200]}")
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        self._send(200, target.read_bytes(), ctype, {"Cache-Control": "max-age=3600"}, head=head)

    # -- writing ------------------------------------------------------------------------

    def _send_json(self, value: Any) -> None:
        self._send(200, json.dumps(value, ensure_ascii=False).encode(), "application/json")

    def _send_text(
        self,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        head: bool = False,
    ) -> None:
        self._send(
            status, (message + "\n").encode(), "text/plain; charset=utf-8", headers, head=head
        )

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str,
        headers: Mapping[str, str] | None = None,
        *,
        head: bool = False,
    ) -> None:
        # A large answer stays in this process until its client has read it (the query's
        # slot is free long before): counted while written, or a 503 past the bound.
        held = 0 if head or len(body) < HELD_FROM else self.app.hold(len(body))
        try:
            self._write(status, body, ctype, headers, head=head)
        finally:
            self.app.release(held)

    def _write(
        self,
        status: int,
        body: bytes,
        ctype: str,
        headers: Mapping[str, str] | None = None,
        *,
        head: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)
        if len(body) > 1024 * 1024:
            # Receiving an answer from a worker reads it in socket-sized pieces, freed
            # into this process's heap; hand them back rather than keep the high-water mark.
            _trim()


_trim = malloc_trimmer()


def _one(params: dict[str, list[str]], *names: str) -> str | None:
    for name in names:
        values = params.get(name)
        if values:
            return values[0]
    return None


class Server(ThreadingHTTPServer):
    """A thread per connection, up to ``max_connections``; past that, an immediate 503."""

    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog: socketserver's default of 5 makes the kernel drop the connections
    # of a burst of clients (16 at once in the bench) before the accept loop sees them, and
    # they come back as resets; the connection limit above is the bound that answers.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[Handler], limit: int) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(limit)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                body = b"too many connections; try again shortly\n"
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
                    b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
            finally:
                self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()
