"""Servers on 127.0.0.1 for the tests: free ports, server processes (started, waited for,
stopped) and stub HTTP servers serving from a thread.

A stub's handler class says what it answers; :class:`Loopback` does the rest (a free port,
the thread, quiet logs, closing), so every stub is only its answers.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(
    url: str,
    process: subprocess.Popen[bytes],
    what: str,
    log: Path | None = None,
    *,
    timeout: float = START_TIMEOUT,
) -> None:
    """Wait until ``url`` answers (any HTTP status); fail the test if ``process`` exits
    first (with the tail of its ``log``) or nothing answers within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-800:] if log and log.exists() else ""
            pytest.fail(f"{what} exited with {process.returncode}: {tail}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"{what} did not answer within {timeout:g} s")


def stop(process: subprocess.Popen[bytes] | None, *, wait: float = 20) -> None:
    """Terminate ``process``; kill it if it is still there after ``wait`` seconds."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A stub's request handler that logs nothing (the test's assertions say what matters)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def relay(h: http.server.BaseHTTPRequestHandler, base: str, body: bytes | None) -> None:
    """Send the request ``h`` is handling to ``base`` (same path, method, content type and
    accept), with ``body``, and answer ``h`` with what came back: a proxy's forwarding."""
    headers = {k: v for k, v in h.headers.items() if k.lower() in ("content-type", "accept")}
    req = urllib.request.Request(base + h.path, data=body, method=h.command, headers=headers)
    with urllib.request.urlopen(req, timeout=60) as answer:
        data, status, ctype = answer.read(), answer.status, answer.headers["Content-Type"]
    h.send_response(status)
    h.send_header("Content-Type", ctype or "text/plain")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


class Loopback:
    """An HTTP server on a free port of 127.0.0.1, serving ``handler`` from a daemon thread
    from construction until :meth:`close` (or the end of a ``with`` block).

    ``tls``: a certificate and key file, to serve HTTPS. ``on_connect``: called for every
    connection accepted, before its request is read. ``quiet_errors``: no traceback for a
    request the handler failed on (a client that hung up mid-answer, on purpose).
    """

    def __init__(
        self,
        handler: type[http.server.BaseHTTPRequestHandler],
        *,
        tls: tuple[Path, Path] | None = None,
        on_connect: Callable[[], None] | None = None,
        quiet_errors: bool = False,
    ) -> None:
        class Server(http.server.ThreadingHTTPServer):
            # A handler stuck on purpose (a store that hangs) must not hold up close().
            daemon_threads = True

            def verify_request(self, request: Any, address: Any) -> bool:
                if on_connect is not None:
                    on_connect()
                return True

            def handle_error(self, request: Any, address: Any) -> None:
                if not quiet_errors:
                    super().handle_error(request, address)

        self.server = Server(("127.0.0.1", 0), handler)
        self.scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Loopback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
