"""Starting and stopping a real `kgraph serve` process on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

KGRAPH = [sys.executable, "-m", "kgraph"]
_READY = re.compile(r"page http://([^/\s]+)/")


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base: str
    announced: str

    def url(self, path: str) -> str:
        return self.base + path

    def stop(self) -> str:
        """Stop the server (SIGINT, as Ctrl-C); return what it wrote on stderr since start."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        assert self.process.stderr is not None
        return self.announced + self.process.stderr.read().decode(errors="replace")


def start(
    args: Sequence[str],
    *,
    project: Path | None = None,
    store: Path | None = None,
    memory_mb: int | None = None,
    timeout: float = 60,
) -> Served:
    """`kgraph [--project P] [--store S] serve --port 0 ARGS`; waits for the line that
    names the URL."""
    command = [*KGRAPH, "-q"]
    if project is not None:
        command += ["--project", str(project)]
    if store is not None:
        command += ["--store", str(store)]
    if memory_mb is not None:
        command += ["--max-memory", str(memory_mb)]
    command += ["serve", "--port", "0", *args]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert process.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    fd = process.stderr.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
            found = _READY.search(seen.decode(errors="replace"))
            if found:
                return Served(process, f"http://{found.group(1)}", seen.decode())
        elif process.poll() is not None:
            break
    process.kill()
    process.wait()
    raise RuntimeError(f"kgraph serve did not start: {seen.decode(errors='replace')}")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.body.decode()


def request(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> Answer:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return Answer(response.status, response.read(), dict(response.headers.items()))
    except urllib.error.HTTPError as err:
        return Answer(err.code, err.read(), dict(err.headers.items()))


def workers(served: Served) -> set[int]:
    """The zygote's live children: the query workers (and the validation while it runs)."""
    zygote = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(served.process.pid)], capture_output=True, text=True
    ).stdout.split()[0]
    out = subprocess.run(
        ["ps", "-o", "pid=,stat=", "--ppid", zygote], capture_output=True, text=True
    ).stdout
    return {
        int(pid) for pid, stat in (line.split() for line in out.splitlines()) if "Z" not in stat
    }


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether ``condition()`` holds within ``seconds`` (polled every 0.1 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()
