"""Python 3.11: a pidfd child watcher per event loop instead of a thread per child.

Python 3.11's default ``ThreadedChildWatcher`` starts a thread for every subprocess; a pidfd
watcher (Linux >= 5.3) does not, which is what keeps spawning cheap (see performance.md).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import warnings
from collections.abc import Callable
from typing import TypeVarTuple

_watcher_policy: object | None = None  # the policy whose watcher was already looked at
_watcher_lock = threading.Lock()


def use_pidfd_child_watcher() -> None:
    """On Python 3.11, replace the thread-per-child watcher by pidfd watchers (one per loop).

    Cheap after the first call. Does nothing on 3.12+ (pidfd is the default there), without
    pidfd support (Linux < 5.3), for other event loop policies, or when someone chose a watcher.
    """
    global _watcher_policy
    if sys.version_info >= (3, 12):
        return
    policy = asyncio.get_event_loop_policy()
    if policy is _watcher_policy:
        return
    with _watcher_lock:
        if policy is not _watcher_policy and type(policy) is asyncio.DefaultEventLoopPolicy:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                current = policy.get_child_watcher()
                if type(current) is asyncio.ThreadedChildWatcher and _pidfd_works():
                    # ThreadedChildWatcher.close() leaves its in-flight (daemon) threads running.
                    policy.set_child_watcher(_PidfdWatcherPerLoop())
        _watcher_policy = policy


def _pidfd_works() -> bool:
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


if sys.version_info < (3, 12):
    _Ts = TypeVarTuple("_Ts")

    class _PidfdWatcherPerLoop(asyncio.AbstractChildWatcher):
        """One ``PidfdChildWatcher`` per running loop.

        The policy holds a single watcher, but a ``PidfdChildWatcher`` serves one loop, and the
        policy re-attaches it only for main-thread loops: a loop in another thread (or a loop
        closed by an earlier ``asyncio.run``) would get "watcher is not activated" or its
        children watched by a foreign loop. Keying by the running loop avoids both.
        """

        def __init__(self) -> None:
            self._by_loop: dict[asyncio.AbstractEventLoop, asyncio.PidfdChildWatcher] = {}
            self._lock = threading.Lock()

        def _for_running_loop(self) -> asyncio.PidfdChildWatcher:
            loop = asyncio.get_running_loop()
            with self._lock:
                watcher = self._by_loop.get(loop)
                if watcher is None:
                    self._forget_closed_loops()
                    watcher = asyncio.PidfdChildWatcher()
                    watcher.attach_loop(loop)
                    self._by_loop[loop] = watcher
                return watcher

        def _forget_closed_loops(self) -> None:
            for loop in [loop for loop in self._by_loop if loop.is_closed()]:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # "pending handlers"
                    self._by_loop.pop(loop).close()  # closes its pidfds

        def add_child_handler(
            self, pid: int, callback: Callable[[int, int, *_Ts], object], *args: *_Ts
        ) -> None:
            self._for_running_loop().add_child_handler(pid, callback, *args)

        def remove_child_handler(self, pid: int) -> bool:
            with self._lock:
                watchers = list(self._by_loop.values())
            return any(w.remove_child_handler(pid) for w in watchers)

        def attach_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
            pass  # each running loop gets its own watcher on first use

        def close(self) -> None:
            with self._lock:
                watchers = list(self._by_loop.values())
                self._by_loop.clear()
            for watcher in watchers:
                watcher.close()

        def is_active(self) -> bool:
            return True  # subprocesses are only started from a running loop

        def __enter__(self) -> _PidfdWatcherPerLoop:
            return self

        def __exit__(self, *exc_info: object) -> None:
            pass
