"""rdflib's verdicts on the shapes' SPARQL, remembered in the on-disk store (or the user's cache).

The guard reads every ``sh:select``/``sh:ask``/``sh:construct`` of the shapes twice: with
kgraph's own recogniser (:mod:`kgraph.sparql`, a few milliseconds) and with rdflib's
parser, the one pySHACL would run them with. rdflib's costs half a second of CPU on every
command (0.2 s to build its pyparsing grammar, 0.25 s to parse the shipped shapes' four
queries), more than the validation of a 100-triple batch at 1M triples. Its verdict on a
text depends only on the text and on the versions of kgraph, rdflib and pyparsing, so it
is remembered under the SHA-256 of those: the same bytes get the same verdict, any change
to a query (or an upgrade) is a new key and is parsed again.

What is remembered, and why it cannot let a refused query through:

- only rdflib's successful parses, as the query form it found; a refusal is never stored
  (it ends the command anyway, and is recomputed every time);
- kgraph's own parse runs on every command, hit or miss: SERVICE, FROM, updates and
  ``\\u``-escaped keywords are refused by it whatever the cache says;
- the cache lives in the ``--store`` folder, a folder of the user's own choosing that is
  not part of any project: a project folder may be cloned from anyone, so a verdict kept
  in it could be forged. Without ``--store`` it lives in the user's own cache folder
  (:func:`kgraph.usercache.shapes_folder`, never inside the project), for the same reason.

The file is written atomically; one that is unreadable, malformed, of another format or
too big is ignored as a whole and rewritten at the next miss. Failing to write it is no
error: the next command parses again.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from kgraph import __version__
from kgraph.errors import KGraphError

CACHE_FILE = "kgraph-guard-cache.json"
"""The cache's name in the store folder."""
FORMAT = 1
MAX_ENTRIES = 1024
"""Verdicts kept (the newest): a shapes file holds a handful of queries."""
MAX_BYTES = 1024 * 1024
"""A bigger file is not a cache kgraph wrote: ignored."""

_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
_KEY = re.compile(r"[0-9a-f]{64}")


def _engine_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = [f"kgraph {__version__}"]
    for package in ("rdflib", "pyparsing"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} ?")
    return "\n".join(found)


class RdflibVerdicts:
    """The query forms rdflib's parser found for texts it accepted, by the texts' keys."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._salt = _engine_versions().encode() + b"\0"
        self._known: dict[str, str] = self._read() if path is not None else {}
        self._dirty = False

    @classmethod
    def beside_store(cls, store_dir: Path | None) -> RdflibVerdicts:
        """The cache of the kgraph store in ``store_dir``; one that remembers nothing when
        there is no store, or when the folder is not (yet) a kgraph store (nothing is
        written into someone else's folder)."""
        from kgraph.store import read_store_meta

        if store_dir is None or read_store_meta(store_dir) is None:
            return cls(None)
        return cls(store_dir / CACHE_FILE)

    def key(self, text: str) -> str:
        sha = hashlib.sha256(self._salt)
        sha.update(text.encode("utf-8", "surrogatepass"))
        return sha.hexdigest()

    def form(self, text: str) -> str | None:
        """The form rdflib found when it accepted exactly ``text``; None if not known."""
        return self._known.get(self.key(text))

    def remember(self, text: str, form: str) -> None:
        if self._path is None or form not in _FORMS:
            return
        key = self.key(text)
        if self._known.get(key) != form:
            self._known.pop(key, None)
            self._known[key] = form  # newest last: the oldest go first when it is full
            self._dirty = True

    def save(self) -> None:
        """Write the verdicts back (atomically) if any is new."""
        from kgraph.fsutil import write_atomic

        if self._path is None or not self._dirty:
            return
        kept = dict(list(self._known.items())[-MAX_ENTRIES:])
        document = {"format": FORMAT, "verdicts": kept}
        try:
            write_atomic(self._path, json.dumps(document, indent=0).encode(), make_parents=True)
        except (OSError, KGraphError):
            return  # a read-only or full disk: the next command parses again
        self._dirty = False

    def _read(self) -> dict[str, str]:
        from kgraph.fsutil import read_regular

        assert self._path is not None
        try:
            document = json.loads(read_regular(self._path, limit=MAX_BYTES))
        except (OSError, ValueError, KGraphError):
            return {}  # missing, unreadable, not JSON, too big, not a regular file
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            return {}
        verdicts = document.get("verdicts")
        if not isinstance(verdicts, dict) or not all(
            isinstance(k, str) and _KEY.fullmatch(k) and isinstance(v, str) and v in _FORMS
            for k, v in verdicts.items()
        ):
            return {}  # corrupt: every entry is doubted, and the file rewritten
        return dict(verdicts)
