"""Cancellation tokens (slotq_cancel_t): the role of Go's context cancellation."""

import ctypes
import weakref

from . import _callbacks, _lib
from ._handle import Handle, Owned, checked, fork_generation, timeout_ns
from .errors import Status, check


def now_ns():
    """Now on the library's monotonic clock, in nanoseconds."""
    return _lib.slotq_now_ns()


def now():
    """Now on the library's monotonic clock, in seconds (the clock of ``deadline=``)."""
    return _lib.slotq_now_ns() / 1e9


@_lib.CANCEL_FN
def _on_cancel_trampoline(arg):
    fn = _callbacks.lookup(arg)
    if fn is None:
        return
    try:
        fn()
    except BaseException as e:  # never into C
        _callbacks.report(e, "cancellation callback")


# Registrations still live; unregistered at exit so that no library thread
# calls into an interpreter that is shutting down.
_live_registrations = weakref.WeakSet()


class CancelToken(Owned):
    """A cancellation token. Once cancelled it stays cancelled.

    ``CancelToken()`` fires only when cancelled; ``CancelToken(parent)`` also
    when ``parent`` fires; ``timeout=`` (seconds from now) or ``deadline=``
    (seconds on the :func:`now` clock) make it fire by itself then, like
    Go's ``context.WithTimeout`` / ``WithDeadline``.

    Pass it as ``cancel=`` to any blocking call, which then raises
    :class:`slotq.Cancelled` promptly once it fires. ``release()`` (or leaving a
    ``with`` block) drops this object's reference; the library keeps the
    token alive while others (children, dequeuers) hold it.
    """

    __slots__ = ("_h", "_regs", "__weakref__")

    def __init__(self, parent=None, *, timeout=None, deadline=None):
        if timeout is not None and deadline is not None:
            raise TypeError("give timeout= or deadline=, not both")
        checked(parent, "CancelToken")
        out = _lib.handle()
        if timeout is not None or deadline is not None:
            if timeout is not None:
                d = _lib.slotq_now_ns() + timeout_ns(timeout)
            else:
                d = int(deadline * 1e9)
            with (parent._h if parent is not None else _Null()) as pp:
                check(_lib.slotq_cancel_create_deadline(pp, d, ctypes.byref(out)),
                      "cancel create deadline")
        elif parent is not None:
            with parent._h as pp:
                check(_lib.slotq_cancel_create_child(pp, ctypes.byref(out)), "cancel create child")
        else:
            check(_lib.slotq_cancel_create(ctypes.byref(out)), "cancel create")
        self._h = Handle(out.value, _lib.slotq_cancel_release, "CancelToken")
        self._regs = []

    @classmethod
    def _borrow(cls, ptr):
        """A new Python object for a token the caller holds (adds a reference)."""
        self = cls.__new__(cls)
        check(_lib.slotq_cancel_retain(ptr), "cancel retain")
        self._h = Handle(ptr, _lib.slotq_cancel_release, "CancelToken")
        self._regs = []
        return self

    def child(self, *, timeout=None, deadline=None):
        """A new token that also fires when this one does."""
        return CancelToken(self, timeout=timeout, deadline=deadline)

    def cancel(self):
        """Fires the token: blocking calls given it raise Cancelled, its
        callbacks run (on this thread, before this returns), children fire."""
        with self._h as p:
            check(_lib.slotq_cancel_cancel(p), "cancel")

    @property
    def reason(self):
        """``Status.OK`` while live, ``Status.ECANCELED`` once cancelled (also
        through a parent), ``Status.ETIMEDOUT`` once its deadline passed."""
        r = ctypes.c_int()
        with self._h as p:
            check(_lib.slotq_cancel_reason(p, ctypes.byref(r)), "cancel reason")
        return Status(r.value)

    @property
    def cancelled(self):
        """Whether the token has fired (for any reason)."""
        return self.reason != Status.OK

    def __bool__(self):
        return True

    def on_cancel(self, fn):
        """Calls ``fn()`` once when the token fires: at once on this thread if
        it already has, else on the cancelling thread (or the library's timer
        thread for a deadline). Returns a :class:`Registration`; the callback
        stays registered until it is unregistered or this object released.
        Exceptions raised by ``fn`` go to the callback error hook."""
        if not callable(fn):
            raise TypeError("fn must be callable")
        reg = Registration(fn)
        with self._h as p:
            rid = reg._id
            out = _lib.handle()
            rc = _lib.slotq_cancel_on_cancel(p, _on_cancel_trampoline, rid, ctypes.byref(out))
            if rc != 0:
                _callbacks.unregister(rid)
                check(rc, "cancel on_cancel")
            reg._ptr = out.value
        self._regs.append(reg)
        _live_registrations.add(reg)
        return reg

    def release(self):
        """Drops this object's reference (and unregisters its callbacks). Idempotent."""
        regs, self._regs = self._regs, []
        for r in regs:
            r.unregister()
        self._h.close()

    def _finalize(self):
        self.release()

    def __repr__(self):
        if self._h.closed:
            return "<slotq.CancelToken released>"
        return "<slotq.CancelToken %s>" % self.reason.name


class Registration:
    """A callback registered with :meth:`CancelToken.on_cancel`."""

    __slots__ = ("_id", "_ptr", "_ran", "_gen", "__weakref__")

    def __init__(self, fn):
        self._id = _callbacks.register(fn)
        self._ptr = None
        self._ran = None
        self._gen = fork_generation()

    def unregister(self):
        """Removes the callback; after this it is not running and never runs
        (unless called from inside it). Returns whether it ran. Idempotent.
        In a child of os.fork(), a registration made before the fork is only
        forgotten (it is the parent's, like its token)."""
        ptr, self._ptr = self._ptr, None
        if ptr is not None and self._gen != fork_generation():
            _callbacks.unregister(self._id)
            _live_registrations.discard(self)
        elif ptr is not None:
            ran = ctypes.c_int()
            _lib.slotq_cancel_unregister(ptr, ctypes.byref(ran))
            self._ran = bool(ran.value)
            _callbacks.unregister(self._id)
            _live_registrations.discard(self)
        return bool(self._ran)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.unregister()
        return False


class _Null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _unregister_all_at_exit():
    for r in list(_live_registrations):
        try:
            r.unregister()
        except Exception:
            pass


import atexit  # noqa: E402

atexit.register(_unregister_all_at_exit)
