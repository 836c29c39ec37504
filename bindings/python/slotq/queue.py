"""Slot queues (slotq_queue_t): the LIFO stack of idle slots of one function,
its state counters, latency averages and launch signal."""

import contextlib
import ctypes
import dataclasses
import enum
import threading
from typing import Tuple

from . import _callbacks, _lib
from ._handle import Handle, Owned, Uses, blocking
from .dequeuer import Dequeuer, _notify_trampoline, read_eventfd
from ._handle import timeout_ns
from .errors import check
from .policy import CPolicy, LaunchAction
from .token import OPS, Token, _ping_ns, _run_caller_loop


class State(enum.IntEnum):
    """The states a queue counts parties in (slotq_state)."""
    RUNNER = 0   #: running a call on a slot
    STARTER = 1  #: starting a container
    WAITER = 2   #: waiting for a slot


RUNNER, STARTER, WAITER = State.RUNNER, State.STARTER, State.WAITER


@dataclasses.dataclass(frozen=True)
class Stats:
    """A snapshot of a queue's counters (the seed's slotQueueStats). Each field
    is a tuple indexed by :class:`State`."""

    states: Tuple[int, int, int]
    latency_count: Tuple[int, int, int]
    latencies: Tuple[int, int, int]

    @classmethod
    def _from_c(cls, s):
        return cls(tuple(s.states), tuple(s.latency_count), tuple(s.latencies))

    @property
    def runners(self):
        return self.states[State.RUNNER]

    @property
    def starters(self):
        return self.states[State.STARTER]

    @property
    def waiters(self):
        return self.states[State.WAITER]


def _state(state):
    # Accepts a State or its int; the library checks the range.
    if isinstance(state, bool) or not isinstance(state, int):
        raise TypeError("state must be a slotq.State, not %r" % (state,))
    return int(state)


def _u64(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << 64):
        raise ValueError("%s must be an int in [0, 2**64), not %r" % (what, value))
    return value


def _positive_ns(seconds, what):
    """A timeout that must be > 0 (None: no limit) in nanoseconds, at least 1."""
    ns = timeout_ns(seconds)
    if ns == 0:
        if seconds > 0:
            return 1
        raise ValueError("%s must be > 0 seconds, or None" % what)
    return ns


# The signal callback of each C queue (its address -> the callback id set on
# it last). Manager.get() makes a new Queue object per call, and the C queue
# has one callback: whichever object set it last owns it, and only that one
# removes it when it is freed.
_signal_lock = threading.Lock()
_signal_ids = {}


class Queue(Owned):
    """A slot queue. ``Queue(key)`` makes one outside any manager (the seed's
    NewSlotQueue); :meth:`Manager.get` finds or makes the queue of a call.

    The object holds one reference to the queue, dropped by :meth:`release` or
    at the end of a ``with`` block; when the last holder (manager, dequeuer,
    Python object) lets go, the queue shuts down and the slots still on it are
    discarded (closed).
    """

    __slots__ = ("_h", "is_new", "_signal_id", "__weakref__")

    def __init__(self, key=b""):
        if isinstance(key, str):
            key = key.encode("utf-8")
        key = bytes(key)
        out = _lib.handle()
        check(_lib.slotq_queue_create(key, len(key), ctypes.byref(out)), "queue create")
        self._init(out.value, True)

    @classmethod
    def _adopt(cls, ptr, is_new):
        self = cls.__new__(cls)
        self._init(ptr, is_new)
        return self

    def _init(self, ptr, is_new):
        self._h = Handle(ptr, self._free, "Queue")
        #: Whether the call that made this object created the queue.
        self.is_new = is_new
        self._signal_id = None

    def _free(self, ptr):
        # The library drops the signal callback with the queue, but another
        # holder may keep the queue alive: remove ours first, if it is still
        # the queue's (another object of the queue may have replaced it).
        with _signal_lock:
            mine = self._signal_id is not None and _signal_ids.get(ptr) == self._signal_id
            if mine:
                del _signal_ids[ptr]
        if mine:
            if _lib.has("queue_set_signal_notify"):
                _lib.slotq_queue_set_signal_notify(ptr, _lib.NOTIFY_FN(), None)
            _callbacks.unregister(self._signal_id)
        self._signal_id = None
        _lib.slotq_queue_release(ptr)

    @property
    def key(self):
        """The queue's key (bytes)."""
        n = ctypes.c_size_t()
        with self._h as q:
            check(_lib.slotq_queue_key(q, None, 0, ctypes.byref(n)), "queue key")
            buf = ctypes.create_string_buffer(max(n.value, 1))
            check(_lib.slotq_queue_key(q, buf, n.value, ctypes.byref(n)), "queue key")
        return buf.raw[:n.value]

    # --- slots ----------------------------------------------------------------

    def offer(self, slot):
        """Offers a slot (the seed's queueSlot): pushes a new token on top of
        the stack, or hands it straight to the dequeuer waiting longest.
        Returns the container's :class:`Token`. The library keeps ``slot``
        alive until the token is freed."""
        sid = _callbacks.register(slot)
        out = _lib.handle()
        with self._h as q:
            rc = _lib.slotq_queue_slot(q, sid, ctypes.byref(OPS), ctypes.byref(out))
        if rc != 0:
            _callbacks.unregister(sid)
            check(rc, "queue slot")
        return Token(out.value)

    def eject(self, token):
        """Takes an idle slot back (the seed's ejectSlot): True if this call
        ejected it (its close ran on this thread), False if it was already
        acquired, ejected or discarded (a caller has it: serve the call).
        Raises WrongQueue for a token of another queue."""
        with Uses(self, token, kinds=(None, "Token")) as (q, t):
            rc = _lib.slotq_eject(q, t)
        if rc == _lib.EGONE:
            return False
        check(rc, "eject")
        return True

    def __len__(self):
        """The number of idle slots on the stack."""
        n = ctypes.c_size_t()
        with self._h as q:
            check(_lib.slotq_queue_len(q, ctypes.byref(n)), "queue len")
        return n.value

    def __bool__(self):
        return True

    def dequeuer(self, cancel=None):
        """Starts a caller's wait for slots (the seed's startDequeuer); ``cancel``
        stops it when it fires."""
        return Dequeuer(self, cancel)

    # --- states, latencies, policy -------------------------------------------

    def enter_state(self, state):
        """Counts one more party in ``state``."""
        with self._h as q:
            check(_lib.slotq_queue_enter_state(q, _state(state)), "enter state")

    def exit_state(self, state, latency=None):
        """Counts one party less in ``state`` and, with ``latency``, records it
        (atomically). Raises StateError if the counter is zero."""
        with self._h as q:
            if latency is None:
                rc = _lib.slotq_queue_exit_state(q, _state(state))
            else:
                rc = _lib.slotq_queue_exit_state_latency(q, _state(state),
                                                         _u64(latency, "latency"))
        check(rc, "exit state")

    def record_latency(self, state, latency):
        """Records one latency sample (the seed's moving average, factor 0.5;
        the first sample is counted but not averaged in)."""
        with self._h as q:
            check(_lib.slotq_queue_record_latency(q, _state(state), _u64(latency, "latency")),
                  "record latency")

    @contextlib.contextmanager
    def in_state(self, state):
        """``with queue.in_state(State.STARTER):`` enters the state, and on
        leaving exits it recording the time spent, in nanoseconds."""
        self.enter_state(state)
        start = _lib.slotq_now_ns()
        try:
            yield self
        finally:
            self.exit_state(state, max(0, _lib.slotq_now_ns() - start))

    def stats(self):
        """A consistent snapshot of the counters (:class:`Stats`)."""
        s = _lib.slotq_stats()
        with self._h as q:
            check(_lib.slotq_queue_stats(q, ctypes.byref(s)), "queue stats")
        return Stats._from_c(s)

    def is_idle(self):
        """Whether nobody is waiting, running or starting (idle slots don't count)."""
        v = ctypes.c_int()
        with self._h as q:
            check(_lib.slotq_queue_is_idle(q, ctypes.byref(v)), "queue is_idle")
        return bool(v.value)

    def new_container_decision(self, policy=None):
        """A launch policy's decision: ``(needed, stats)``, with the snapshot it
        was made on. ``policy``: None or ``Policy.SEED`` (the seed's
        isNewContainerNeeded), ``Policy.IDLE_AWARE``, or a callable
        ``fn(stats, idle_slots) -> bool`` run on this thread."""
        v = ctypes.c_int()
        s = _lib.slotq_stats()
        with self._h as q:
            if policy is None:
                rc = _lib.slotq_queue_is_new_container_needed(q, ctypes.byref(v),
                                                              ctypes.byref(s))
                check(rc, "queue is_new_container_needed")
            else:
                cp = CPolicy(policy)
                with cp as p:
                    rc = _lib.slotq_queue_evaluate_policy(q, ctypes.byref(p), ctypes.byref(v),
                                                          ctypes.byref(s))
                cp.check("queue evaluate_policy")
                check(rc, "queue evaluate_policy")
        return bool(v.value), Stats._from_c(s)

    def is_new_container_needed(self, policy=None):
        """Whether another container should start (by default the seed's launch
        policy; see :meth:`new_container_decision`)."""
        return self.new_container_decision(policy)[0]

    # --- host loops -----------------------------------------------------------

    def container_offer(self, slot, idle_timeout=None, cancel=None):
        """The container's side in one call: offers ``slot`` and waits until a
        caller acquires it (returns the container's :class:`Token`: wait for
        ``token.wait_closed()``, then release it), or its idle timeout passes
        (the slot is ejected and Timeout raised), or ``cancel`` fires (ejected,
        Cancelled). If the eject loses against a caller, the call is served.

        ``idle_timeout`` in seconds, > 0 (None: no limit). Blocks without
        slicing (Ctrl-C waits for it on the main thread)."""
        ns = _positive_ns(idle_timeout, "idle_timeout")
        sid = _callbacks.register(slot)
        out = _lib.handle()
        with Uses(self, cancel, kinds=(None, "CancelToken")) as (q, c):
            rc = _lib.slotq_container_offer(q, sid, ctypes.byref(OPS), ns, c, ctypes.byref(out))
        if rc != 0:
            if rc in (_lib.EINVAL, _lib.ENOMEM):  # refused before the offer: no release callback
                _callbacks.unregister(sid)
            check(rc, "container offer")
        return Token(out.value)

    def caller_wait(self, timeout=None, ping=None, cancel=None):
        """The caller's side on a queue got with ``Manager.get`` (which made
        the caller a Waiter and said whether the queue is new, so that the
        host can start its launcher first): signals the launcher at once and
        every ``ping`` seconds (None: 0.2 s) and acquires the first slot it
        can; leaves the Waiter state on every outcome. Returns the acquired
        :class:`Token`. Raises as ``Manager.caller_acquire`` (exceptions of
        other slots' callbacks run on this thread meanwhile, such as a close
        that the queue's signal callback runs, go to the callback error hook),
        and StateError if nobody waits on the queue. Blocks without slicing."""
        t_ns = timeout_ns(timeout)
        p_ns = _ping_ns(ping)
        with Uses(self, cancel, kinds=(None, "CancelToken")) as (q, c):
            return _run_caller_loop("caller wait", lambda out, err: _lib.slotq_caller_wait(
                q, t_ns, p_ns, c, out, err))

    def launcher_step(self, manager=None, policy=None, inactivity=None, cancel=None):
        """One turn of this function's launcher (the seed's hotLauncher): waits
        for a signal or ``inactivity`` seconds; after the inactivity, deletes
        the queue from ``manager`` if it is idle; otherwise evaluates the
        launch ``policy`` (as :meth:`new_container_decision`). Returns
        ``(LaunchAction, stats)``; on ``START`` the step entered STARTER:
        leave it with ``exit_state(STARTER, startup_ns)`` once the container
        is up. Raises Cancelled. Blocks without slicing."""
        ns = _positive_ns(inactivity, "inactivity")
        action = ctypes.c_int()
        s = _lib.slotq_stats()
        cp = CPolicy(policy)
        with Uses(manager, self, cancel, kinds=("Manager", None, "CancelToken")) as (m, q, c), \
                cp as p:
            rc = _lib.slotq_launcher_step(m, q, ctypes.byref(p) if p is not None else None, ns, c,
                                          ctypes.byref(action), ctypes.byref(s))
        cp.check("launcher step")
        check(rc, "launcher step")
        return LaunchAction(action.value), Stats._from_c(s)

    # --- the launcher's signal -----------------------------------------------

    def signal(self):
        """Asks the queue's launcher to look at it, without blocking. True if
        the signal is now pending, False if one already was (room for one)."""
        v = ctypes.c_int()
        with self._h as q:
            check(_lib.slotq_queue_signal(q, ctypes.byref(v)), "queue signal")
        return bool(v.value)

    def wait_signal(self, timeout=None, cancel=None):
        """Waits for a pending signal and consumes it. Raises Timeout or Cancelled."""
        with Uses(self, cancel, kinds=(None, "CancelToken")) as (q, c):
            rc = blocking(lambda ns: _lib.slotq_queue_wait_signal(q, ns, c), timeout)
        check(rc, "queue wait_signal")

    def set_signal_notify(self, fn):
        """Calls ``fn()`` each time a signal becomes pending, on the thread that
        signalled (consume it with ``wait_signal(timeout=0)``); a signal already
        pending is told once, on this thread, before this returns. None removes it."""
        if fn is not None and not callable(fn):
            raise TypeError("fn must be callable or None")
        new_id = _callbacks.register(fn) if fn is not None else None
        with self._h as q:
            if fn is None:
                rc = _lib.slotq_queue_set_signal_notify(q, _lib.NOTIFY_FN(), None)
            else:
                rc = _lib.slotq_queue_set_signal_notify(q, _notify_trampoline, new_id)
            if rc != 0 and new_id is not None:
                _callbacks.unregister(new_id)
            check(rc, "queue set_signal_notify")
            # The library guarantees the old callback is not running any
            # more, whichever object of the queue set it.
            with _signal_lock:
                old = _signal_ids.pop(q, None)
                if new_id is not None:
                    _signal_ids[q] = new_id
            self._signal_id = new_id
        if old is not None:
            _callbacks.unregister(old)

    def consume_signal_fd(self):
        """Reads the signal eventfd's counter (resetting it) without blocking."""
        return read_eventfd(self.signal_fileno())

    def signal_fileno(self):
        """An eventfd that each new pending signal makes readable (at once if one
        is pending already); read it before consuming the signal. Owned by the queue."""
        fd = ctypes.c_int()
        with self._h as q:
            check(_lib.slotq_queue_signal_fd(q, ctypes.byref(fd)), "queue signal_fd")
        return fd.value

    # --- lifetime -------------------------------------------------------------

    def release(self):
        """Drops this object's reference (with the last one the queue shuts
        down: its idle slots are discarded and closed, on this thread). Idempotent."""
        self._h.close()


    def __repr__(self):
        if self._h.closed:
            return "<slotq.Queue released>"
        return "<slotq.Queue key=%s idle_slots=%d>" % (self.key.hex() or "''", len(self))

