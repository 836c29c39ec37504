"""The manager (slotq_mgr_t): a table from slot key to slot queue."""

import ctypes

from . import _lib
from ._handle import Handle, Owned, Uses, timeout_ns
from .call import _key_struct, as_call
from .errors import check
from .queue import Queue
from .token import _ping_ns, _run_caller_loop


class Manager(Owned):
    """A table from slot key to slot queue (the seed's slotQueueMgr).

    :meth:`release` (or the end of a ``with`` block) destroys it: it drops its
    reference to every queue; queues that others still hold live on.
    """

    __slots__ = ("_h", "__weakref__")

    def __init__(self, max_waiters=None):
        out = _lib.handle()
        check(_lib.slotq_mgr_create(ctypes.byref(out)), "manager create")
        self._h = Handle(out.value, _lib.slotq_mgr_destroy, "Manager")
        if max_waiters is not None:
            self.set_max_waiters(max_waiters)

    def set_max_waiters(self, max_waiters):
        """Caps the waiters per queue (load shedding): a get that would exceed
        it raises :class:`slotq.Overload` at once. None or 0: no cap."""
        n = 0 if max_waiters is None else max_waiters
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < (1 << 32):
            raise ValueError("max_waiters must be an int in [0, 2**32), not %r" % (max_waiters,))
        with self._h as m:
            check(_lib.slotq_mgr_set_max_waiters(m, n), "manager set_max_waiters")

    def get(self, call=None, **fields):
        """Finds or creates the queue of a call and counts the caller as a
        Waiter on it, in one step (the seed's getSlotQueue).

        ``call`` is a :class:`slotq.Call` (or a mapping of its fields), or give
        its fields as keywords. Returns a new :class:`Queue` reference whose
        ``is_new`` says whether this call created the queue. Leave the Waiter
        state with ``queue.exit_state(State.WAITER, latency)``.
        """
        c = as_call(call, **fields)._to_c()
        out = _lib.handle()
        is_new = ctypes.c_int()
        with self._h as m:
            check(_lib.slotq_mgr_get(m, ctypes.byref(c), ctypes.byref(out), ctypes.byref(is_new)),
                  "manager get")
        return Queue._adopt(out.value, bool(is_new.value))

    def get_by_key(self, key):
        """:meth:`get` with a 20-byte key computed beforehand (:func:`slotq.call_key`)."""
        k = _key_struct(key)
        out = _lib.handle()
        is_new = ctypes.c_int()
        with self._h as m:
            check(_lib.slotq_mgr_get_by_key(m, ctypes.byref(k), ctypes.byref(out),
                                            ctypes.byref(is_new)), "manager get_by_key")
        return Queue._adopt(out.value, bool(is_new.value))

    def delete(self, queue):
        """Removes ``queue`` if it is idle (the seed's deleteSlotQueue): True if
        removed, False if it is busy. Raises NotFound if this manager does
        not hold it (any more)."""
        with Uses(self, queue, kinds=(None, "Queue")) as (m, q):
            rc = _lib.slotq_mgr_delete(m, q)
        if rc == _lib.EBUSY:
            return False
        check(rc, "manager delete")
        return True

    def caller_acquire(self, call=None, timeout=None, ping=None, cancel=None, **fields):
        """The caller's side in one call (the seed's agent's waitHot): gets the
        call's queue (as a Waiter), signals its launcher at once and every
        ``ping`` seconds (None: 0.2 s), and acquires the first slot it can.
        Returns the acquired :class:`Token` (run calls with ``exec``, then
        ``close`` and release it). Leaves the Waiter state itself, recording
        the wait.

        Raises Timeout, Cancelled, Overload, or SlotError when the slot
        reported its own error (the slot was closed; ``err.slot_error`` is
        what its ``error()`` returned), CallbackError if that slot's
        ``error()`` or ``close()`` raised (it was closed too). Callbacks of
        other slots may run on this thread meanwhile (the close of the idle
        slots of a queue deleted while this waited, discarded when this drops
        its last handle; a close that a signal callback runs): their
        exceptions go to the callback error hook and do not fail the acquire,
        except KeyboardInterrupt and SystemExit, raised once the slot
        acquired meanwhile, if any, was closed.
        Blocks without slicing."""
        c = as_call(call, **fields)._to_c()
        t_ns = timeout_ns(timeout)
        p_ns = _ping_ns(ping)
        with Uses(self, cancel, kinds=(None, "CancelToken")) as (m, cp):
            return _run_caller_loop("caller acquire", lambda out, err: _lib.slotq_caller_acquire(
                m, ctypes.byref(c), t_ns, p_ns, cp, out, err))

    def metrics(self):
        """Every queue's counters in the Prometheus text format (str)."""
        text = ctypes.c_void_p()
        n = ctypes.c_size_t()
        with self._h as m:
            check(_lib.slotq_mgr_metrics(m, ctypes.byref(text), ctypes.byref(n)),
                  "manager metrics")
        try:
            return ctypes.string_at(text.value, n.value).decode("utf-8")
        finally:
            _lib.slotq_free(text)

    def __len__(self):
        """The number of queues in the table."""
        n = ctypes.c_size_t()
        with self._h as m:
            check(_lib.slotq_mgr_count(m, ctypes.byref(n)), "manager count")
        return n.value

    def __bool__(self):
        return True

    def release(self):
        """Destroys the manager (once calls in flight returned). Idempotent."""
        self._h.close()


    def __repr__(self):
        if self._h.closed:
            return "<slotq.Manager released>"
        return "<slotq.Manager queues=%d>" % len(self)
