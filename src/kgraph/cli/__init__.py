"""The ``kgraph`` command line: the only package that imports Click or names a flag.

``app`` holds the group and the error-to-exit mapping, ``options`` the shared options,
``render`` the table renderer; ``read``, ``write``, ``remote`` and ``serve`` the commands, each a
handful of lines: open the Project, call one method, render, write.
"""

from __future__ import annotations

from typing import Any

__all__ = ["cli", "main"]


def __getattr__(name: str) -> Any:
    """``main`` (the ``kgraph`` script) loads a command's module only when it runs that
    command (:data:`kgraph.cli.app.COMMANDS`); ``cli``, for code that walks the commands
    (tests, the README's generator), comes with every command registered."""
    if name == "main":
        from kgraph.cli.app import main

        return main
    if name == "cli":
        from kgraph.cli import read, remote, serve, write  # noqa: F401 - registers them
        from kgraph.cli.app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
