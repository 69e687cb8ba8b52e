"""Where ``kgraph serve`` keeps its on-disk store when the user gave no ``--store``.

Serving from an on-disk store (RocksDB) rather than from memory puts the graph in the
system's page cache, shared by every worker and given back under pressure, instead of
in the anonymous memory of a zygote (a process of ours, counted against us, and copied
page by page into any worker that writes near it). The store lives in the user's cache
folder (``$KGRAPH_CACHE_DIR``, else ``$XDG_CACHE_HOME/kgraph``, else ``~/.cache/kgraph``),
never in the project: nothing the user has is written.

Its folder is named by the project's path *and* the stamps (size, modification time) of
every file the graph is built from, the ones the CLI's ``--store`` compares: a project
whose files changed gets a new folder, built from scratch, so a stale store is never
even opened (and inside it, :meth:`kgraph.store.Dataset.open` compares the same stamps
again). Two servers of one project share a folder (readers share its lock; one builds it,
the other waits and reads). Folders of the same project that no process holds are removed
when a newer one is made.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path

from kgraph import __version__
from kgraph.server import backend

ENV = backend.CACHE_ENV
cache_root = backend.cache_root


def store_for(project: backend.Layout) -> Path:
    """The folder of the store that holds ``project``'s files as they are now."""
    root = str(project.root.resolve())
    where = hashlib.sha256(root.encode()).hexdigest()[:16]
    stamps = [
        [s.relative, *backend.file_stamp(s)] for s in project.source_files()
    ]  # the stamps Dataset.open compares, plus what could change the triples of a file
    what = hashlib.sha256(
        json.dumps([backend.STORE_FORMAT, __version__, stamps]).encode()
    ).hexdigest()[:16]
    return cache_root() / "serve" / f"{where}-{what}"


def prune(current: Path) -> None:
    """Remove the other folders of ``current``'s project that no process holds (an older
    state of its files): each is taken with its lock held alone, or left alone."""
    import fcntl

    prefix = current.name.split("-", 1)[0] + "-"
    try:
        siblings = [p for p in current.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for folder in siblings:
        if folder == current or folder.is_symlink() or not folder.is_dir():
            continue
        lock = folder / backend.STORE_LOCK
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue  # not one of ours (or being created): leave it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a server reads it, or a build is under way
        try:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
