"""``kgraph serve``: a read-only SPARQL 1.1 endpoint and web pages to read the graph.

One process does HTTP (:mod:`kgraph.server.http`); a zygote process forks the query
workers (:mod:`kgraph.server.pool`). By default the graph is an on-disk store (the user's
``--store``, else one in the cache folder: :mod:`kgraph.server.storecache`) that a child of
the zygote brings up to date and each worker opens read-only once, for the threads on which
it runs several queries at once; with ``--in-memory`` the
zygote loads it and the workers share it copy-on-write. The library is reached only
through :mod:`kgraph.server.backend`, so that it can be re-pointed in one place.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

from kgraph.server.app import App, Settings
from kgraph.server.backend import Layout
from kgraph.server.http import Handler, Server

__all__ = ["Settings", "serve"]


def serve(
    project_dir: str | None,
    store_dir: Path | None,
    limits: object,
    settings: Settings,
    *,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Load the graph, start the workers and answer HTTP until interrupted."""
    from kgraph.server import backend, work
    from kgraph.server.backend import StorageError
    from kgraph.server.pool import Pool, tune_malloc

    assert isinstance(limits, backend.Limits)
    say = announce or (lambda line: print(line, file=sys.stderr, flush=True))
    project = backend.locate_project(project_dir)
    canned = backend.canned_queries(project)
    cached = store_dir is None and not settings.in_memory
    if cached:
        store_dir = _cached_store(project, say)
    # Bind first: a port in use is an error before the graph is loaded.
    try:
        server = Server((settings.host, settings.port), Handler, settings.max_connections)
    except OSError as err:
        raise StorageError(
            f"cannot listen on {settings.host}:{settings.port}: {err.strerror or err}"
        ) from err
    tune_malloc()  # before the forks: the zygote and its workers inherit it
    confine_zygote, confine_worker = backend.confine(project, limits, store_dir)

    def start_worker(state: work.Loaded) -> work.Loaded:
        confine_worker()  # before it opens the store or takes a query
        return work.reopen(state)

    pool = Pool(
        lambda: work.load(project, limits, store_dir),
        work.handle,
        size=settings.workers,
        threads=settings.per_worker,
        idle_timeout=settings.idle_timeout,
        recycle_bytes=work.RECYCLE + (work.BLOCK_CACHE if store_dir is not None else 0),
        memory_limit=limits.max_memory,
        load_timeout=limits.work_timeout,
        on_worker_start=start_worker,
        close_in_children=[server.fileno()],
        # `kgraph validate`, once, in the background (the overview shows it when done), in
        # a fork of the zygote, which holds the loaded graph: the project is not loaded a
        # second time (at 1M triples that was a second copy of the graph). Its verdict
        # arrives after pool.begin(), once ``app`` exists.
        aside=work.validate,
        on_aside=lambda status: setattr(app, "validation", work.verdict(status, limits)),
        confine=confine_zygote,
    )
    try:
        info = pool.start()
        app = App(settings, pool, project, limits, dict(info["graphs"]), canned)

        pool.begin()
        if cached and store_dir is not None:
            from kgraph.server.storecache import prune

            prune(store_dir)  # older states of this project's files, now unused
        handler = type("BoundHandler", (Handler,), {"app": app})
        server.RequestHandlerClass = handler
        host, port = str(server.server_address[0]), int(server.server_address[1])
        shown = f"[{host}]" if ":" in str(host) else host
        held = "in memory" if store_dir is None else f"from the store in {store_dir}"
        say(
            f"kgraph serve: {sum(app.graphs.values())} triples in {len(app.graphs)} graphs "
            f"{held}, "
            f"up to {settings.workers} queries at once, {settings.per_worker} per worker "
            f"process; page http://{shown}:{port}/ , "
            f"SPARQL endpoint http://{shown}:{port}/sparql (Ctrl-C stops)"
        )
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        say("kgraph serve: stopped")
    finally:
        server.server_close()
        pool.close()


def _cached_store(project: Layout, say: Callable[[str], None]) -> Path | None:
    """The store in the user's cache folder for the project's files as they are now
    (:mod:`kgraph.server.storecache`); None (serve from memory) when that folder cannot
    be made or lies inside the project."""
    from kgraph.server.storecache import store_for

    store = store_for(project)
    root = project.root.resolve()
    if store.resolve().is_relative_to(root):
        # The store's own files (its sheet cache holds .nt files) would be read back as the
        # project's data, and the user's folder written: the cache must be elsewhere.
        say(
            f"kgraph serve: the cache folder {store.parent} is inside the project {root}; "
            "serving from memory"
        )
        return None
    try:
        # The store's own folder, not just its parent: a cache folder that exists but takes
        # no new folder (not writable, or a file in the store's place) would otherwise fail
        # the start in the builder instead of falling back to memory.
        store.mkdir(parents=True, exist_ok=True)
        if not os.access(store, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as err:
        say(
            f"kgraph serve: cannot make the cache folder {store} "
            f"({err.strerror or err}); serving from memory"
        )
        return None
    return store
