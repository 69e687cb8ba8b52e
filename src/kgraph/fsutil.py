"""Reading files within bounds, and writing them so that nothing is ever half-written.

Every file kgraph reads goes through :func:`open_regular` / :func:`read_regular`: a FIFO
or a device (``/dev/zero``) in place of a query, batch or data file would otherwise hang
the command or fill its memory, outside any worker's deadline.

Writes go to a temporary file, fsync, rename, fsync: a failed or killed command leaves
either the old file or the new one, never a mix. A temporary file is named
``.kgraph-tmp-p<pid>-*`` after the process writing it, and the next writer removes it only
once that process is gone (another command may be writing it now: ``kgraph export -o
data/x.nq`` while ``kgraph batches`` starts).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from kgraph.errors import InputError, LimitError, RefusedError, Setting, StorageError

TMP_PREFIX = ".kgraph-tmp-"


_TMP_OWNER = re.compile(re.escape(TMP_PREFIX) + r"p(\d+)-")
LEGACY_TMP_AGE = 24 * 3600
"""Seconds after which a temporary file without a writer's pid (an older kgraph's) is stale."""


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def open_regular(path: Path | str, *, limit: int, name: str | None = None) -> BinaryIO:
    """``path`` opened for reading, once it is known to be a regular file of at most
    ``limit`` bytes; an :class:`InputError` or :class:`LimitError` naming ``name`` if not.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; the
    type and size are checked on the open descriptor, so the name cannot be swapped in
    between. A regular file's reads end at its size; :func:`read_regular` also stops at
    ``limit`` should the file grow meanwhile.
    """
    shown = name or str(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as err:
        raise InputError("no such file", path=shown) from err
    except PermissionError as err:
        raise InputError("permission denied", path=shown) from err
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", path=shown) from err
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((k for test, k in _KINDS if test(info.st_mode)), "not a regular file")
            hint = "; give - to read standard input" if stat.S_ISFIFO(info.st_mode) else ""
            raise InputError(
                f"is {kind}, not a regular file; kgraph reads only files{hint}", path=shown
            )
        if info.st_size > limit:
            raise too_big(shown, limit)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path | str, *, limit: int, name: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`open_regular`)."""
    shown = name or str(path)
    with open_regular(path, limit=limit, name=shown) as source:
        # Read what the file holds, not `limit` at once: read(n) allocates n bytes first,
        # and the default 1 GB is past a modest memory limit. A file that grows meanwhile
        # is read on, in bounded steps, until it passes the limit.
        try:
            data = source.read(min(limit, os.fstat(source.fileno()).st_size) + 1)
            while len(data) <= limit and (more := source.read(min(limit + 1 - len(data), 1 << 24))):
                data += more
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror or err}", path=shown) from err
    if len(data) > limit:
        raise too_big(shown, limit)
    return data


def too_big(name: str, limit: int) -> LimitError:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return LimitError(
        f"file is larger than the input limit of {size}; raise {Setting.MAX_INPUT}",
        path=name,
        setting=Setting.MAX_INPUT,
    )


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


def check_output_folder(target: Path, name: str | None = None) -> None:
    """An :class:`InputError` naming ``target`` unless its folder exists.

    A file the user names (``-o dir/x.nq``) goes into a folder that is already there, as
    with ``cp`` or ``curl -o``: a typo in the folder is bad input, and making the folders
    would leave them behind when the command then fails.
    """
    folder = target.parent
    if folder.is_dir():
        return
    shown = name or str(target)
    what = "does not exist" if not folder.exists() else "is not a folder"
    raise InputError(f"cannot write: the folder {folder} {what}", path=shown)


def write_atomic(
    target: Path,
    chunks: bytes | Iterable[bytes],
    *,
    exclusive: bool = False,
    make_parents: bool = False,
) -> None:
    """Write ``chunks`` to ``target`` atomically.

    With ``exclusive``, fail if ``target`` already exists (used for new batch files, so two
    writers can never overwrite each other's batch). Without ``make_parents``, the folder
    must exist already (an :class:`InputError` otherwise, see :func:`check_output_folder`);
    kgraph's own folders (batches, caches) pass it.
    """
    target = Path(target)
    if not make_parents:
        check_output_folder(target)
    tmp = temp_path_for(target)
    try:
        if make_parents:
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


def check_no_links(path: Path, root: Path) -> Path:
    """``path`` itself, after checking that no component of it below ``root`` is a symbolic
    link, so that a cloned project (git keeps links) cannot make kgraph read, write or
    delete anything outside it (``ln -s ~/.ssh/id_rsa data/x.ttl``).

    ``root`` itself may be a link: the user named it. Missing components are fine (they
    are created by kgraph, inside the checked parent).
    """
    import stat

    try:
        relative = path.relative_to(root)
    except ValueError as err:
        raise RefusedError(f"{path} is outside the project {root}") from err
    current = root
    for part in relative.parts:
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return path
        except OSError as err:
            raise RefusedError(f"cannot inspect {current}: {err.strerror or err}") from err
        if stat.S_ISLNK(info.st_mode):
            raise RefusedError(
                f"{current} is a symbolic link; kgraph reads and writes only the project's own "
                "files, so that a project cannot point it at files elsewhere"
            )
    return path
