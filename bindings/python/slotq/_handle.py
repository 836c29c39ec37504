"""Owned C handles that cannot be used after they are freed.

Each Python object of the binding owns its C handle through a :class:`Handle`.
Every call into the library enters the handle (``with h as ptr:``), and
releasing it only marks it closed: the C free or release runs when the last
call in flight returns. So a thread releasing an object while another thread
is blocked in it never frees memory under that thread's feet, and using a
released object raises :class:`ValueError` instead of crashing.

A child of ``os.fork()`` must not use, nor release, the library's handles
made before the fork (the C header's conventions): there, every object made
before the fork raises :class:`ValueError` when used, and releasing it (also
by garbage collection) frees nothing.

Also here: the conversion of Python timeouts (seconds, None for forever) and
the helper that runs blocking calls.
"""

import math
import os
import threading

from . import _lib

_I64_MAX = (1 << 63) - 1

# Counts the forks this process descends from: a handle made in an earlier
# generation belongs to an ancestor process.
_generation = 0


def _after_fork_in_child():
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


def fork_generation():
    """How many forks this process descends from (see _after_fork_in_child)."""
    return _generation


class Handle:
    __slots__ = ("_ptr", "_free", "_interrupt", "_kind", "_lock", "_users", "_closing", "_gen")

    def __init__(self, ptr, free, kind, interrupt=None):
        """``ptr``: the handle (an int); ``free(ptr)``: its release function;
        ``interrupt(ptr)``: optional, run at release while calls are in flight
        (a dequeuer stops, so its blocked next() returns)."""
        self._ptr = ptr
        self._free = free
        self._interrupt = interrupt
        self._kind = kind
        self._lock = threading.Lock()
        self._users = 0
        self._closing = False
        self._gen = _generation

    def _inherited(self):
        """True in a child of os.fork() for a handle made before it."""
        return self._gen != _generation

    @property
    def closed(self):
        return self._closing

    @property
    def address(self):
        return self._ptr

    def __enter__(self):
        if self._inherited():
            raise ValueError("%s was made before os.fork(): only its parent process "
                             "may use it" % self._kind)
        with self._lock:
            if self._closing:
                raise ValueError("%s is released" % self._kind)
            self._users += 1
            return self._ptr

    def __exit__(self, *exc):
        self._leave()
        return False

    def _leave(self):
        with self._lock:
            self._users -= 1
            if not (self._closing and self._users == 0 and self._ptr is not None):
                return
            ptr, self._ptr = self._ptr, None
        self._free(ptr)

    def close(self):
        """Releases the handle (now, or when the last call in flight returns).
        Returns False if it was already released. In a child of os.fork(),
        a handle made before the fork is only forgotten: its lock may be
        held by a thread the child does not have, and the C object is the
        parent's."""
        if self._inherited():
            if self._closing:
                return False
            self._closing, self._ptr = True, None
            return True
        with self._lock:
            if self._closing:
                return False
            self._closing = True
            if self._users == 0:
                ptr, self._ptr = self._ptr, None
            else:
                # Stay a user while interrupting, so the handle outlives it.
                self._users += 1
                ptr = None
        if ptr is not None:
            self._free(ptr)
            return True
        try:
            if self._interrupt is not None:
                self._interrupt(self._ptr)
        finally:
            self._leave()
        return True


class Uses:
    """Enters several handles at once: ``with Uses(a, b, kinds=(None,
    "CancelToken")) as (pa, pb):``. A None object gives a None pointer; each
    other object must be a binding object of the kind named at its position
    (None: not checked), so that a wrong argument can never reach C as the
    wrong type of handle."""

    __slots__ = ("_objs", "_kinds", "_entered")

    def __init__(self, *objs, kinds=()):
        self._objs = objs
        self._kinds = kinds
        self._entered = []

    def __enter__(self):
        ptrs = []
        try:
            for i, o in enumerate(self._objs):
                if o is None:
                    ptrs.append(None)
                    continue
                h = getattr(o, "_h", None)
                kind = self._kinds[i] if i < len(self._kinds) else None
                if not isinstance(h, Handle) or (kind is not None and h._kind != kind):
                    raise TypeError("expected a slotq.%s, not %s"
                                    % (kind or "object", type(o).__name__))
                ptrs.append(h.__enter__())
                self._entered.append(h)
        except BaseException:
            self.__exit__()
            raise
        return ptrs

    def __exit__(self, *exc):
        while self._entered:
            self._entered.pop()._leave()
        return False


def checked(obj, kind):
    """``obj`` if it is a binding object of ``kind`` (or None); else TypeError."""
    if obj is not None:
        h = getattr(obj, "_h", None)
        if not isinstance(h, Handle) or h._kind != kind:
            raise TypeError("expected a slotq.%s, not %s" % (kind, type(obj).__name__))
    return obj


def timeout_ns(timeout):
    """Seconds (int or float, >= 0) or None to the library's nanoseconds."""
    if timeout is None:
        return _lib.FOREVER
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError("timeout must be a number of seconds or None, not %r" % (timeout,))
    if math.isnan(timeout) or timeout < 0:
        raise ValueError("timeout must be >= 0 seconds or None, not %r" % (timeout,))
    if math.isinf(timeout):
        return _lib.FOREVER
    return min(int(timeout * 1_000_000_000), _I64_MAX - 1)


# On the main thread, waits are cut in slices of this many nanoseconds so
# that signal handlers (KeyboardInterrupt) run while a call waits.
_SLICE_NS = 100_000_000


def blocking(call, timeout):
    """Runs ``call(timeout_ns) -> status`` for a Python timeout.

    ctypes drops the GIL during the call. On the main thread the wait is made
    of short slices (each a complete call) so Ctrl-C is not held up; every
    blocking function of the library may be called again after a timeout
    without losing anything.
    """
    ns = timeout_ns(timeout)
    if ns == 0 or threading.current_thread() is not threading.main_thread():
        return call(ns)
    now = _lib.slotq_now_ns
    deadline = None if ns == _lib.FOREVER else now() + ns
    while True:
        if deadline is None:
            step = _SLICE_NS
        else:
            step = max(0, min(_SLICE_NS, deadline - now()))
        rc = call(step)
        if rc != _lib.ETIMEDOUT or (deadline is not None and now() >= deadline):
            return rc


class Owned:
    """Base of the classes that own a library handle in ``self._h``: a
    ``with`` block releases it on exit (``release()``), and so, as a safety
    net, does garbage collection (``_finalize``, whose errors are dropped:
    nothing can report them there)."""

    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return False

    def __del__(self):
        try:
            self._finalize()
        except Exception:
            pass

    def _finalize(self):
        self._h.close()
