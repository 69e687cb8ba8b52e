"""Kernel-enforced confinement of the forked worker (Landlock and seccomp, through ctypes).

The guards in :mod:`kgraph.guards` refuse what a query or a file must not do; this module
makes the kernel contain what slips past them. Right after the fork the worker confines
itself, for good, before it touches any input:

* Landlock (Linux 5.13+): the worker may read only beneath the paths the command needs
  (the project, the files named on the command line, the interpreter and its libraries)
  and write only beneath the ones it must update (an on-disk store, the caller's private
  output folder). From ABI 4 on, TCP bind and connect are denied too; from ABI 6 on, the
  worker can neither signal processes outside it nor reach abstract Unix sockets.
* seccomp-BPF: ``socket()`` fails with EACCES for every family but AF_UNIX, so UDP, raw
  and netlink sockets are closed as well, and ``io_uring_setup`` (whose operations bypass
  seccomp) is refused. This works where Landlock is missing.

Network access stays in the parent process (``push``, ``--endpoint``).
``KGRAPH_SANDBOX=0`` turns confinement off, for debugging only.

Kernel interfaces: https://docs.kernel.org/userspace-api/landlock.html and
https://docs.kernel.org/userspace-api/seccomp_filter.html
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import stat
import struct
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass

from kgraph.errors import KGraphError

ENV = "KGRAPH_SANDBOX"

# Landlock: syscall numbers are shared by every architecture that has them (asm-generic).
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1

_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_REMOVE_DIR = 1 << 4
_FS_REMOVE_FILE = 1 << 5
_FS_MAKE_DIR = 1 << 7
_FS_MAKE_REG = 1 << 8
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3
_FS_IOCTL_DEV = 1 << 15  # ABI 5
_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1

# Rights that make sense on a file rather than a directory (others give EINVAL there).
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
# No device nodes, FIFOs, sockets or symlinks: the store and an output file need none.
_WRITE = (
    _READ
    | _FS_WRITE_FILE
    | _FS_REMOVE_DIR
    | _FS_REMOVE_FILE
    | _FS_MAKE_DIR
    | _FS_MAKE_REG
    | _FS_REFER
    | _FS_TRUNCATE
)

# seccomp and prctl.
_PR_SET_PDEATHSIG = 1
_PR_GET_SECCOMP = 21
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000
_AF_UNIX = 1
_X32_SYSCALL_BIT = 0x40000000


@dataclass(frozen=True)
class _Arch:
    audit: int
    seccomp: int
    socket: int
    io_uring_setup: int
    x32: bool  # x86_64 also accepts x32 syscalls, marked by a bit in the number


_ARCHES = {
    "x86_64": _Arch(0xC000003E, 317, 41, 425, x32=True),
    "aarch64": _Arch(0xC00000B7, 277, 198, 425, x32=False),
}


class SandboxError(KGraphError):
    """The worker could not confine itself although the kernel said it could."""


@dataclass(frozen=True)
class Access:
    """The paths one command's worker needs: read beneath ``read``, write beneath ``write``."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()


@dataclass(frozen=True)
class Support:
    """What this kernel (and ``KGRAPH_SANDBOX``) lets the worker enforce."""

    enabled: bool
    landlock_abi: int
    """0 when Landlock is missing or disabled."""
    seccomp: bool

    def warning(self) -> str | None:
        """One line for stderr when the kernel enforces less than kgraph would like."""
        if not self.enabled:
            return None
        if self.landlock_abi == 0 and not self.seccomp:
            return (
                "this system offers neither Landlock nor seccomp: the worker's network and file "
                "access are not kernel-restricted; kgraph relies on its guards"
            )
        if self.landlock_abi == 0:
            return (
                "Landlock is not available: the worker's file access is not kernel-restricted "
                "(its network is closed by seccomp); kgraph relies on its guards"
            )
        return None


def _libc() -> ctypes.CDLL | None:
    if sys.platform != "linux":
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - a Linux without a dynamic libc
        return None


def _syscall(libc: ctypes.CDLL, number: int, *args: object) -> int:
    result = int(libc.syscall(ctypes.c_long(number), *args))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def support() -> Support:
    """What the worker will enforce: the kernel's answer (probed once), and ``KGRAPH_SANDBOX``."""
    enabled = os.environ.get(ENV, "1").strip().lower() not in ("0", "no", "off", "false")
    return Support(enabled, *_probe())


@functools.cache
def _probe() -> tuple[int, bool]:
    libc = _libc()
    if libc is None or platform.machine() not in _ARCHES:
        return 0, False
    try:
        abi = _syscall(libc, _SYS_LANDLOCK_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    except OSError:  # ENOSYS: not built in; EOPNOTSUPP: not enabled at boot
        abi = 0
    seccomp = int(libc.prctl(_PR_GET_SECCOMP, 0, 0, 0, 0)) >= 0
    return abi, seccomp


def prepare() -> None:
    """In the parent: probe the kernel and list the system paths once, for every worker."""
    _probe()
    system_paths()


@functools.cache
def system_paths() -> tuple[str, ...]:
    """What the interpreter needs to keep running: its prefixes, sys.path, system libraries."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.update(p for p in sysconfig.get_paths().values())
    paths.update(p for p in sys.path if p)  # "" (the current folder) is left out on purpose
    paths.update(
        [
            "/usr/lib",
            "/usr/lib64",
            "/lib",
            "/lib64",
            "/usr/local/lib",
            "/usr/share/zoneinfo",
            "/etc/ld.so.cache",  # the dynamic loader, for extension modules imported lazily
            "/etc/localtime",
            "/proc/self",
            "/sys/devices/system/cpu",  # os.cpu_count(): the number of validation processes
            "/sys/fs/cgroup",  # the engines' thread pools size themselves by the CPU quota
            "/dev/urandom",
        ]
    )
    return tuple(sorted(paths))


def enter(access: Access) -> None:
    """Confine the calling process (the fresh worker) for good; no-op where unsupported.

    Raises :class:`SandboxError` when the kernel offers a mechanism that then fails.
    """
    info = support()
    if not info.enabled:
        return
    libc = _libc()
    arch = _ARCHES.get(platform.machine())
    if libc is None or arch is None:
        return
    try:
        if int(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if info.landlock_abi:
            _landlock(libc, info.landlock_abi, access)
        if info.seccomp:
            _seccomp(libc, arch)
    except OSError as err:
        raise SandboxError(
            f"cannot confine the worker process: {err}; {ENV}=0 runs it unconfined"
        ) from err


def die_with_parent() -> None:
    """In a forked helper process: be killed when the process that forked it dies."""
    libc = _libc()
    if libc is None:
        return
    parent = os.getppid()
    libc.prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)  # SIGKILL
    if os.getppid() != parent:  # pragma: no cover - the parent died before the prctl
        os._exit(1)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is __attribute__((packed))
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: execute .. make_sym
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


def _landlock(libc: ctypes.CDLL, abi: int, access: Access) -> None:
    handled = _fs_rights(abi)
    attr = _RulesetAttr(handled_access_fs=handled)
    size = 8  # older kernels reject fields they do not know, so pass only the known ones
    if abi >= 4:
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP  # no rule: none allowed
        size = 16
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL
        size = 24
    ruleset = _syscall(libc, _SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    try:
        rules: list[tuple[str, int]] = [(p, _READ) for p in [*system_paths(), *access.read]]
        rules += [("/dev/null", _FS_READ_FILE | _FS_WRITE_FILE | _FS_TRUNCATE)]
        rules += [(p, _WRITE) for p in access.write]
        for path, rights in rules:
            _allow(libc, ruleset, path, rights & handled)
        _syscall(libc, _SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)


def _allow(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a missing path needs no rule: opening it fails with ENOENT anyway
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        rule = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        _syscall(libc, _SYS_LANDLOCK_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
    finally:
        os.close(fd)


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _seccomp(libc: ctypes.CDLL, arch: _Arch) -> None:
    program = _filter(arch)
    buffer = ctypes.create_string_buffer(program, len(program))

    fprog = _Fprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    _syscall(libc, arch.seccomp, _SECCOMP_SET_MODE_FILTER, 0, ctypes.byref(fprog))


# Classic BPF opcodes.
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]
_NR, _ARCH, _ARG0 = 0, 4, 16  # the low half of args[0] on these little-endian machines


def _filter(arch: _Arch) -> bytes:
    """socket(family != AF_UNIX), io_uring_setup, and any syscall of another ABI: EACCES."""
    deny = _SECCOMP_RET_ERRNO | errno.EACCES
    # (opcode, jump-if-true label, jump-if-false label, k); None falls through.
    code: list[tuple[int, str | None, str | None, int]] = [
        (_LD_W_ABS, None, None, _ARCH),
        (_JEQ_K, None, "deny", arch.audit),  # i386 or x32 entry points have other numbers
        (_LD_W_ABS, None, None, _NR),
    ]
    if arch.x32:
        code.append((_JGE_K, "deny", None, _X32_SYSCALL_BIT))
    code += [
        (_JEQ_K, "deny", None, arch.io_uring_setup),
        (_JEQ_K, None, "allow", arch.socket),
        (_LD_W_ABS, None, None, _ARG0),
        (_JEQ_K, "allow", "deny", _AF_UNIX),
    ]
    labels = {"allow": len(code), "deny": len(code) + 1}
    code += [(_RET_K, None, None, _SECCOMP_RET_ALLOW), (_RET_K, None, None, deny)]

    def offset(here: int, label: str | None) -> int:
        return 0 if label is None else labels[label] - here - 1

    return b"".join(
        struct.pack("=HBBI", op, offset(i, jt), offset(i, jf), k)
        for i, (op, jt, jf, k) in enumerate(code)
    )


def readable(paths: Iterable[str | os.PathLike[str]]) -> tuple[str, ...]:
    """The named input files that exist (``-`` is stdin, already open: it needs no rule)."""
    return tuple(os.fspath(p) for p in paths if os.fspath(p) != "-")
