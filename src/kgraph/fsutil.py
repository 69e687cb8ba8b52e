"""Writing files so that nothing is ever half-written: temporary file, fsync, rename, fsync.

A failed or killed command leaves either the old file or the new one, never a mix; a
temporary file is named ``.kgraph-tmp-p<pid>-*`` after the process writing it, and the next
writer removes it only once that process is gone (another command may be writing it now:
``kgraph export -o data/x.nq`` while ``kgraph batches`` starts).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from kgraph.errors import StorageError

TMP_PREFIX = ".kgraph-tmp-"


_TMP_OWNER = re.compile(re.escape(TMP_PREFIX) + r"p(\d+)-")
LEGACY_TMP_AGE = 24 * 3600
"""Seconds after which a temporary file without a writer's pid (an older kgraph's) is stale."""


def temp_path_for(target: Path) -> Path:
    """A fresh temporary path in the target's folder (so the rename stays on one filesystem),
    named after the writing process."""
    return target.parent / f"{TMP_PREFIX}p{os.getpid()}-{secrets.token_hex(6)}-{target.name}"


def _writer_alive(path: Path) -> bool:
    """Whether the process that wrote ``path`` may still be writing it."""
    found = _TMP_OWNER.match(path.name)
    if found is None:
        try:
            return time.time() - path.lstat().st_mtime < LEGACY_TMP_AGE
        except OSError:
            return False
    pid = int(found.group(1))
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or an absurd pid: leave the file alone
    return True


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def describe_os_error(err: OSError, path: Path | str) -> str:
    if err.errno == errno.ENOSPC:
        return f"no space left on the device while writing {path}"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied writing {path}"
    if err.errno == errno.EFBIG:
        return f"file size limit hit while writing {path}"
    return f"cannot write {path}: {err.strerror or err}"


def write_atomic(target: Path, chunks: bytes | Iterable[bytes], *, exclusive: bool = False) -> None:
    """Write ``chunks`` to ``target`` atomically.

    With ``exclusive``, fail if ``target`` already exists (used for new batch files, so two
    writers can never overwrite each other's batch).
    """
    target = Path(target)
    tmp = temp_path_for(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as out:
            if isinstance(chunks, bytes | bytearray):
                out.write(chunks)
            else:
                for chunk in chunks:
                    out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if exclusive:
            # link() fails if the name exists; then drop the temporary name.
            os.link(tmp, target)
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
        fsync_dir(target.parent)
    except FileExistsError as err:
        _discard(tmp)
        raise StorageError(f"{target} already exists; not overwriting it") from err
    except OSError as err:
        _discard(tmp)
        raise StorageError(describe_os_error(err, target)) from err
    except BaseException:
        _discard(tmp)
        raise


def remove_durably(target: Path) -> None:
    try:
        os.unlink(target)
    except OSError as err:
        raise StorageError(f"cannot remove {target}: {err.strerror or err}") from err
    fsync_dir(target.parent)


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def leftover_temporaries(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from sorted(folder.rglob(f"{TMP_PREFIX}*"))


def clean_leftovers(folder: Path) -> list[Path]:
    """Remove temporary files that a writer which is gone left in ``folder`` (call with the
    lock held); files of a live writer (an export in progress) are left alone."""
    removed = []
    for path in leftover_temporaries(folder):
        if _writer_alive(path):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    if removed:
        fsync_dir(folder)
    return removed
