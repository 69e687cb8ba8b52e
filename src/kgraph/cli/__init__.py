"""The ``kgraph`` command line: the only package that imports Click or names a flag.

``app`` holds the group and the error-to-exit mapping, ``options`` the shared options,
``render`` the table renderer; ``read``, ``write``, ``remote`` and ``serve`` the commands, each a
handful of lines: open the Project, call one method, render, write.
"""

from __future__ import annotations

from kgraph.cli import read, remote, serve, write  # noqa: F401 - registers the commands
from kgraph.cli.app import cli, main

__all__ = ["cli", "main"]
