"""One exception hierarchy and one table of exit codes for the whole tool.

Every failure a user can cause or meet surfaces as a :class:`KGraphError` with a message
for a person (and the file, line and column where there is one); the CLI prints it as a
single line and exits with the error's :class:`ExitStatus`.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitStatus(IntEnum):
    """The exit codes of every ``kgraph`` command (the README's table is generated from this)."""

    OK = 0
    """The command ran and found nothing wrong."""
    FINDINGS = 1
    """The command ran and found problems: SHACL violations, failed checks, a count mismatch."""
    BAD_INPUT = 2
    """Bad input or usage: missing or unparsable file, unknown query, bad parameter, refused query."""
    REMOTE_OR_IO = 3
    """A remote store or the local disk failed: unreachable store, HTTP error, disk full, lock held."""
    LIMIT = 4
    """A resource limit was hit: input size, triple count, nesting depth, time or memory."""
    INTERNAL = 70
    """kgraph's own bug (an unexpected exception), not bad input; `KGRAPH_DEBUG=1` shows the traceback."""
    INTERRUPTED = 130
    """Interrupted by Ctrl-C or SIGTERM; nothing was written."""


class KGraphError(Exception):
    """Base class: a failure with a message written for the person running the command."""

    status: ExitStatus = ExitStatus.BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column

    @property
    def location(self) -> str:
        """``file:line:column`` as far as it is known, or an empty string."""
        parts = [p for p in (self.path, self.line, self.column) if p is not None]
        return ":".join(str(p) for p in parts)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross the boundary of the worker process (see limits.py) by pickling.
        return (_rebuild, (type(self), self.message, self.path, self.line, self.column))


def _rebuild(
    cls: type[KGraphError], message: str, path: str | None, line: int | None, column: int | None
) -> KGraphError:
    return cls(message, path=path, line=line, column=column)


class UsageError(KGraphError):
    """The command line asks for something that cannot be done (unknown query, bad option)."""


class InputError(KGraphError):
    """An input file or query text is missing, unreadable or not valid RDF / SPARQL."""


class RefusedError(KGraphError):
    """The input asks for something kgraph refuses to do: network or file access, an update."""


class RemoteError(KGraphError):
    """A remote store could not be reached or answered with an error."""

    status = ExitStatus.REMOTE_OR_IO


class StorageError(KGraphError):
    """The local disk or the on-disk store failed (disk full, permission, lock held)."""

    status = ExitStatus.REMOTE_OR_IO


class LimitError(KGraphError):
    """A resource limit stopped the command before it finished."""

    status = ExitStatus.LIMIT


class InternalError(KGraphError):
    """kgraph itself failed: an exception nobody expected (a bug to report, not bad input)."""

    status = ExitStatus.INTERNAL
