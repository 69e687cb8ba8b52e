"""One writer at a time: an advisory lock on the project, with a bounded wait.

The lock file (``.kgraph.lock`` in the project folder, not in ``data/``) names its holder
so that a writer who has to wait, or gives up, can say who is in the way. The kernel
releases the lock when the holder dies, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import stat
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from kgraph.errors import Setting, StorageError

LOCK_FILE = ".kgraph.lock"


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0))
        return f"pid {info['pid']} on {info['host']} ({info['command']}, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _open_lock_file(path: Path) -> int:
    """Open (or create) the lock file, refusing anything but a plain file of its own.

    The record of the holder is written into it, so a symbolic link (``git clone`` keeps
    them; a dangling one would create its target), a hard link or a FIFO planted under its
    name would make kgraph truncate or block on a file elsewhere.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise StorageError(
                f"the lock file {path} is a symbolic link; remove it (kgraph never writes "
                "through a link)"
            ) from err
        raise StorageError(f"cannot create the lock file {path}: {err.strerror or err}") from err
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        what = "has other hard links" if stat.S_ISREG(info.st_mode) else "is not a regular file"
        raise StorageError(f"the lock file {path} {what}; remove it (kgraph writes into it)")
    return fd


@contextlib.contextmanager
def project_lock(root: Path, *, wait: float, on_wait: object = None) -> Iterator[None]:
    """Hold the project's writer lock; wait at most ``wait`` seconds for it."""
    path = root / LOCK_FILE
    fd = _open_lock_file(path)
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
                        f"the project is locked by {_holder(fd)}; gave up after {wait:g} s "
                        f"(raise {Setting.LOCK_WAIT}, or try again)",
                        setting=Setting.LOCK_WAIT,
                    ) from None
                if not told and callable(on_wait):
                    on_wait(f"waiting for the project lock held by {_holder(fd)}")
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
