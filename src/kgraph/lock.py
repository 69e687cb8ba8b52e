"""One writer at a time: an advisory lock on the project, with a bounded wait.

The lock file (``.kgraph.lock`` in the project folder, not in ``data/``) names its holder
so that a writer who has to wait, or gives up, can say who is in the way. The kernel
releases the lock when the holder dies, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from kgraph.errors import StorageError

LOCK_FILE = ".kgraph.lock"


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return f"pid {info['pid']} on {info['host']} ({info['command']}, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextlib.contextmanager
def project_lock(root: Path, *, wait: float, on_wait: object = None) -> Iterator[None]:
    """Hold the project's writer lock; wait at most ``wait`` seconds for it."""
    path = root / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise StorageError(f"cannot create the lock file {path}: {err.strerror or err}") from err
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StorageError(
                        f"the project is locked by {_holder(path)}; gave up after {wait:g} s "
                        "(raise --wait, or try again)"
                    ) from None
                if not told and callable(on_wait):
                    on_wait(f"waiting for the project lock held by {_holder(path)}")
                    told = True
                time.sleep(0.05)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(["kgraph", *sys.argv[1:]])[:200],
            "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        with contextlib.suppress(OSError):  # naming the holder is a courtesy, not a must
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
