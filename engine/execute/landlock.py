"""Landlock, the fallback sandbox where user namespaces (bubblewrap) are refused.

The ruleset is built in agentd (ctypes over the three Landlock system calls) and the child only
enforces it between fork and exec (``Enforcer``, a ``preexec_fn`` that calls no Python code that
could take a lock): no new privileges, the ruleset, no capabilities, and death with agentd.

What it confines: writes (and creations, removals, renames, truncation, device ioctls) to the
workspace, the run's scratch folder and /dev; TCP bind and connect (ABI 4+) unless the step was
granted the network; signals and abstract Unix sockets to its own domain (ABI 6+). A Landlocked
process also cannot ptrace, so it cannot read ``/proc/<agentd>/environ``. What it cannot do (see
``engine.execute.sandbox.protections``): keep ``.git`` read-only inside a writable workspace, hide
files from reading, or give the step a PID namespace of its own.
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
from collections.abc import Iterable, Sequence
from pathlib import Path

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # x86_64 and aarch64 alike
_VERSION_FLAG = 1  # LANDLOCK_CREATE_RULESET_VERSION
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS, _PR_SET_PDEATHSIG, _PR_CAPBSET_DROP = 38, 1, 24
_SIGKILL = 9
_CAP_LAST = 63

# Write-like filesystem rights by the ABI that introduced them.
_WRITE_FILE, _REMOVE_DIR, _REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
_MAKE = sum(1 << bit for bit in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_TCP = (1 << 0) | (1 << 1)  # bind, connect
_SCOPED = (1 << 0) | (1 << 1)  # abstract unix sockets, signals


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.restype = ctypes.c_int
    return libc


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is unavailable."""
    try:
        version = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), _VERSION_FLAG)
    except (OSError, AttributeError):
        return 0
    return max(int(version), 0)


def _write_rights(abi: int) -> int:
    rights = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    if abi >= 5:
        rights |= _IOCTL_DEV
    return rights


def ruleset(writable: Iterable[Path], *, network: bool, abi: int | None = None) -> int:
    """A Landlock ruleset fd (close-on-exec) allowing writes only beneath ``writable``."""
    abi = abi_version() if abi is None else abi
    if abi < 1:
        raise OSError("Landlock is not available")
    rights = _write_rights(abi)
    attr = _RulesetAttr(
        handled_access_fs=rights,
        handled_access_net=_NET_TCP if abi >= 4 and not network else 0,
        scoped=_SCOPED if abi >= 6 else 0,
    )
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 16 if abi >= 4 else 8
    libc = _libc()
    fd = int(libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for path in writable:
            parent = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneath(allowed_access=rights, parent_fd=parent)
                if libc.syscall(_ADD_RULE, fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            finally:
                os.close(parent)
    except BaseException:
        os.close(fd)
        raise
    return fd


class Enforcer:
    """The ``preexec_fn`` that puts the child under the ruleset ``fd`` (prepared in agentd, so
    the child only makes system calls)."""

    def __init__(self, fd: int, limits: Sequence[tuple[int, int]] = ()) -> None:
        self.fd = fd
        self._limits = limits
        self._setrlimit = resource.setrlimit
        libc = _libc()
        self._prctl = libc.prctl
        self._syscall = libc.syscall
        self._capset = libc.capset
        self._header = _CapHeader(version=0x20080522, pid=0)  # _LINUX_CAPABILITY_VERSION_3
        self._data = (_CapData * 2)()

    def __call__(self) -> None:
        self._prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)  # dies with agentd
        for which, value in self._limits:
            self._setrlimit(which, (value, value))
        for cap in range(_CAP_LAST + 1):  # the bounding set first, while we may still change it
            self._prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)
        self._capset(ctypes.byref(self._header), self._data)
        if self._prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError("no_new_privs refused")
        if self._syscall(_RESTRICT_SELF, self.fd, 0) != 0:
            raise OSError("landlock_restrict_self refused")
