"""One exception hierarchy and one table of exit codes for the whole tool.

Every failure a user can cause or meet surfaces as a :class:`KGraphError` with a message
for a person (and the file, line and column where there is one); the CLI prints it as a
single line and exits with the error's :class:`ExitStatus`.

An error that a setting can get past (a limit to raise, a format to name) carries that
:class:`Setting`, and its message names the setting in words; the CLI, the only layer that
knows the flags, names the flag instead (:meth:`KGraphError.naming`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import IntEnum, StrEnum
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


class Setting(StrEnum):
    """A setting the user can change to get past an error; the value is its name in words.

    Messages name a setting by formatting the member (``f"raise {Setting.MAX_MEMORY}"``
    reads "raise the memory limit"); each value is a phrase no other value contains, so that
    :meth:`KGraphError.naming` finds it in the message.
    """

    PROJECT = "the project folder"
    INPUT_FORMAT = "the input format"
    MAX_INPUT = "the input limit"
    MAX_TRIPLES = "the triple limit"
    MAX_DEPTH = "the depth limit"
    MAX_MEMORY = "the memory limit"
    TIMEOUT = "the query timeout"
    WORK_TIMEOUT = "the work timeout"
    HTTP_TIMEOUT = "the HTTP timeout"
    LOCK_WAIT = "the lock wait"
    SOURCE = "the batch source"
    INFER = "the inference profile"
    ENGINE = "the SHACL engine"
    ENDPOINT = "the remote endpoint"
    QUERY_ENDPOINT = "the query endpoint"
    STORE_KIND = "the store kind"
    MERGE = "a merging push"
    QUERY_TEXT = "the query text"
    PARAMETER = "a named parameter"
    OUTPUT_FORMAT = "the output format"
    DRY_RUN = "a dry run"


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
        setting: Setting | Sequence[Setting] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.settings: tuple[Setting, ...] = (
            ()
            if setting is None
            else (setting,)
            if isinstance(setting, Setting)
            else tuple(setting)
        )
        """The settings that would get past this error, as the message names them."""

    @property
    def setting(self) -> Setting | None:
        """The (first) setting the message names, or None."""
        return self.settings[0] if self.settings else None

    @property
    def location(self) -> str:
        """``file:line:column`` as far as it is known, or an empty string."""
        parts = [p for p in (self.path, self.line, self.column) if p is not None]
        return ":".join(str(p) for p in parts)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def naming(self, name: Callable[[Setting], str]) -> str:
        """:func:`str` of the error with each setting called ``name(setting)`` (the CLI
        passes its flag): the last mention in words is replaced, since the advice comes after
        any quoted data; a setting the message does not mention is appended in parentheses."""
        text = str(self)
        for setting in self.settings:
            before, found, after = text.rpartition(setting.value)
            text = before + name(setting) + after if found else f"{text} ({name(setting)})"
        return text

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross the boundary of the worker process (see limits.py) by pickling.
        return (
            _rebuild,
            (type(self), self.message, self.path, self.line, self.column, self.settings),
        )


def _rebuild(
    cls: type[KGraphError],
    message: str,
    path: str | None,
    line: int | None,
    column: int | None,
    settings: tuple[Setting, ...] = (),
) -> KGraphError:
    err = cls(message, path=path, line=line, column=column)
    err.settings = settings
    return err


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
