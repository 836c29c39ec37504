"""Dequeuers (slotq_dequeuer_t): a caller's cancellable wait for slots."""

import ctypes
import os
import select

from . import _callbacks, _lib
from ._handle import Handle, Owned, Uses, blocking
from .errors import Cancelled, Stopped, check
from .token import Token


@_lib.NOTIFY_FN
def _notify_trampoline(arg):
    fn = _callbacks.lookup(arg)
    if fn is None:
        return
    try:
        fn()
    except BaseException as e:  # never into C
        _callbacks.report(e, "notification")


def read_eventfd(fd):
    """Reads (resets) an eventfd's counter without blocking; 0 if not readable."""
    r, _, _ = select.select([fd], [], [], 0)
    if not r:
        return 0
    try:
        return int.from_bytes(os.read(fd, 8), "little")
    except BlockingIOError:
        return 0


class Dequeuer(Owned):
    """One caller's wait for slots of one queue (the seed's startDequeuer).

    Made by :meth:`Queue.dequeuer`. :meth:`next` takes the newest idle slot,
    waiting for one if needed; iterating yields slots until the dequeuer is
    stopped or its cancellation token fires::

        with queue.dequeuer(cancel) as d:
            for token in d:
                if token.acquire():
                    ...

    A token it hands out is *lent*: if nobody acquires it, it goes back to
    the queue when ``next`` is called again or the dequeuer is stopped or
    released. Only one thread at a time may wait in :meth:`next`.
    """

    __slots__ = ("_h", "_notify_id", "__weakref__")

    def __init__(self, queue, cancel=None):
        out = _lib.handle()
        with Uses(queue, cancel, kinds=("Queue", "CancelToken")) as (q, c):
            check(_lib.slotq_start_dequeuer(q, c, ctypes.byref(out)), "start dequeuer")
        self._notify_id = None
        self._h = Handle(out.value, self._free, "Dequeuer", interrupt=_lib.slotq_dequeuer_stop)

    def _free(self, ptr):
        _lib.slotq_dequeuer_free(ptr)
        if self._notify_id is not None:
            _callbacks.unregister(self._notify_id)
            self._notify_id = None

    def next(self, timeout=None, cancel=None):
        """The next slot's token, lent to this dequeuer (newest first).

        ``timeout`` in seconds (None: no limit, 0: only if one is idle now).
        Raises Timeout, Cancelled (this call's or the dequeuer's token fired),
        Stopped, or Busy (another thread is inside next())."""
        tok = _lib.handle()
        with Uses(self, cancel, kinds=(None, "CancelToken")) as (d, c):
            rc = blocking(lambda ns: _lib.slotq_dequeuer_next(d, ns, c, ctypes.byref(tok)),
                          timeout)
        check(rc, "dequeuer next")
        return Token(tok.value)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return self.next()
        except (Stopped, Cancelled):
            raise StopIteration from None

    def stop(self):
        """Stops the dequeuer (the seed's cancel func): a waiting next() raises
        Stopped at once, and so do later ones. Returns False if it was already
        stopped."""
        with self._h as d:
            rc = _lib.slotq_dequeuer_stop(d)
        if rc == _lib.ESTOPPED:
            return False
        check(rc, "dequeuer stop")
        return True

    # --- event-driven use ---------------------------------------------------

    def set_notify(self, fn):
        """Sets ``fn()``, called once per notification of an armed dequeuer
        (see :meth:`arm`) on the thread that queued the slot. Keep it short.
        None removes it. Call it before arming."""
        if fn is not None and not callable(fn):
            raise TypeError("fn must be callable or None")
        new_id = _callbacks.register(fn) if fn is not None else None
        with self._h as d:
            if fn is None:
                rc = _lib.slotq_dequeuer_set_notify(d, _lib.NOTIFY_FN(), None)
            else:
                rc = _lib.slotq_dequeuer_set_notify(d, _notify_trampoline, new_id)
            if rc != 0 and new_id is not None:
                _callbacks.unregister(new_id)
            check(rc, "dequeuer set_notify")
            old, self._notify_id = self._notify_id, new_id
        if old is not None:
            _callbacks.unregister(old)

    def fileno(self):
        """The dequeuer's eventfd: readable after each notification (see
        :meth:`arm`); :meth:`consume_fd` resets it. Owned by the dequeuer."""
        fd = ctypes.c_int()
        with self._h as d:
            check(_lib.slotq_dequeuer_fd(d, ctypes.byref(fd)), "dequeuer fd")
        return fd.value

    def consume_fd(self):
        """Reads the eventfd's counter (resetting it) without blocking; 0 if
        nothing was pending."""
        return read_eventfd(self.fileno())

    def arm(self):
        """Asks for one notification instead of blocking in next(): once a slot
        is handed to this dequeuer, it is stopped, or its token fires, it
        calls the notify function and signals its fd; then ``next(timeout=0)``
        returns without blocking. Returns False if the dequeuer is stopped
        (it notified already)."""
        with self._h as d:
            rc = _lib.slotq_dequeuer_arm(d)
        if rc == _lib.ESTOPPED:
            return False
        check(rc, "dequeuer arm")
        return True

    def release(self):
        """Stops the dequeuer and frees it (once calls in flight in other
        threads returned). A lent, unacquired token goes back to the queue.
        Idempotent."""
        self._h.close()


    def __repr__(self):
        return "<slotq.Dequeuer%s>" % (" released" if self._h.closed else "")
