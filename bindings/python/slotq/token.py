"""Slots (what a container offers) and slot tokens (slotq_token_t)."""

import ctypes
import enum

from . import _callbacks, _lib
from ._handle import Handle, Owned, Uses, blocking
from .cancel import CancelToken
from .errors import CallbackError, SlotError, Status, check


class TokenState(enum.IntEnum):
    """Where a token is in its life (slotq_token_state)."""
    QUEUED = 0     #: on the queue's stack, waiting for a caller
    LENT = 1       #: handed out by a dequeuer, not acquired yet
    ACQUIRED = 2   #: acquired by a caller (final)
    EJECTED = 3    #: ejected by its container (final; close ran)
    DISCARDED = 4  #: its queue shut down (final; close ran)


class Slot:
    """What a container offers to callers: the seed's Slot interface.

    Subclass it, or pass any object with some of these methods (duck typing;
    a missing method behaves as one returning None). The library calls them
    through the token, and keeps the object alive until its token is freed.

    - ``exec(call, cancel)``: runs a call (``call`` is what was given to
      :meth:`Token.exec`, ``cancel`` a :class:`CancelToken` or None). Its
      return value is returned by :meth:`Token.exec`; raising makes it fail.
    - ``close()``: the slot is given back or taken away; runs at most once.
    - ``error()``: the slot's own error, None for none.
    - ``trigger(state)``: optional; the token was acquired, ejected or
      discarded (a :class:`TokenState`), on the thread that did it.
    """

    def exec(self, call, cancel):
        return None

    def close(self):
        return None

    def error(self):
        return None


# --- the slot callbacks, shared by every token the binding makes ------------

def _slot(slot_id):
    return _callbacks.lookup(slot_id)


@_lib.EXEC_FN
def _exec_cb(slot_id, cancel_ptr, call_id):
    try:
        slot = _slot(slot_id)
        req = _callbacks.lookup(call_id) if call_id else None
        call = cancel = None
        if req is not None:
            call, cancel = req
        elif cancel_ptr:
            cancel = CancelToken._borrow(cancel_ptr)
        fn = getattr(slot, "exec", None)
        result = fn(call, cancel) if fn is not None else None
        f = _callbacks.current_frame(slot_id)
        if f is not None:
            f.set_value(slot_id, result)
        return 0
    except BaseException as e:
        _callbacks.fail(slot_id, e, "slot exec")
        return 1


@_lib.CLOSE_FN
def _close_cb(slot_id):
    try:
        fn = getattr(_slot(slot_id), "close", None)
        if fn is not None:
            fn()
        return 0
    except BaseException as e:
        _callbacks.fail(slot_id, e, "slot close")
        return 1


@_lib.ERROR_FN
def _error_cb(slot_id):
    try:
        fn = getattr(_slot(slot_id), "error", None)
        err = fn() if fn is not None else None
        if err is None or err is False or (isinstance(err, int) and err == 0):
            return 0
        f = _callbacks.current_frame(slot_id)
        if f is not None:
            f.set_value(slot_id, err)
            f.erring = slot_id
        if isinstance(err, int) and not isinstance(err, bool) and -(1 << 31) <= err < (1 << 31):
            return err
        return 1
    except BaseException as e:
        f = _callbacks.current_frame(slot_id)
        if f is not None:
            f.erring = slot_id
        _callbacks.fail(slot_id, e, "slot error")
        return 1


@_lib.RELEASE_FN
def _release_cb(slot_id):
    # The library is done with the slot: let Python free it.
    _callbacks.unregister(slot_id)


@_lib.TRIGGER_FN
def _trigger_cb(slot_id, state):
    try:
        fn = getattr(_slot(slot_id), "trigger", None)
        if fn is not None:
            fn(TokenState(state))
    except BaseException as e:
        _callbacks.report(e, "slot trigger")


# One table for every slot; it lives as long as the module (the library
# requires it to outlive every token).
OPS = _lib.slotq_slot_ops(_exec_cb, _close_cb, _error_cb, _release_cb, _trigger_cb)


class Token(Owned):
    """One offer of one slot (slotq_token_t).

    :meth:`Queue.offer` gives the container's token; :meth:`Dequeuer.next`
    gives a caller's. Each Python object holds one reference, dropped by
    :meth:`release` or at the end of a ``with`` block. Tokens compare equal
    when they are the same library token.
    """

    __slots__ = ("_h", "_addr", "_id")

    def __init__(self, ptr):
        # Takes over one reference the caller received.
        self._h = Handle(ptr, _lib.slotq_token_release, "Token")
        self._addr = ptr
        i = ctypes.c_uint64()
        check(_lib.slotq_token_id(ptr, ctypes.byref(i)), "token id")
        self._id = i.value

    @property
    def id(self):
        """The token's sequence number in its queue (0, 1, 2, ...)."""
        return self._id

    def _state(self):
        st, closed = ctypes.c_int(), ctypes.c_int()
        with self._h as p:
            check(_lib.slotq_token_state_get(p, ctypes.byref(st), ctypes.byref(closed)),
                  "token state")
        return TokenState(st.value), bool(closed.value)

    @property
    def state(self):
        """The :class:`TokenState` now."""
        return self._state()[0]

    @property
    def closed(self):
        """Whether the slot's close callback has run."""
        return self._state()[1]

    @property
    def slot(self):
        """The slot object this token was offered with (None if not a Python slot)."""
        v = ctypes.c_void_p()
        with self._h as p:
            check(_lib.slotq_token_slot(p, ctypes.byref(v)), "token slot")
        return _callbacks.lookup(v.value) if v.value else None

    def _slot_id(self, p):
        v = ctypes.c_void_p()
        check(_lib.slotq_token_slot(p, ctypes.byref(v)), "token slot")
        return v.value or 0

    def acquire(self):
        """Claims the slot (the seed's acquireSlot). True for exactly one party
        per token and never after an eject; False if it was already acquired,
        ejected or discarded."""
        with self._h as p:
            rc = _lib.slotq_token_acquire(p)
        if rc == _lib.EGONE:
            return False
        check(rc, "token acquire")
        return True

    def wait(self, timeout=None, cancel=None):
        """Waits until the token is acquired, ejected or discarded (its trigger)
        and returns its :class:`TokenState`. Raises Timeout or Cancelled."""
        st = ctypes.c_int()
        with Uses(self, cancel, kinds=(None, "CancelToken")) as (p, c):
            rc = blocking(lambda ns: _lib.slotq_token_wait(p, ns, c, ctypes.byref(st)), timeout)
        check(rc, "token wait")
        return TokenState(st.value)

    def wait_closed(self, timeout=None, cancel=None):
        """Waits until the slot's close callback has run (the caller gave it
        back). Raises Timeout or Cancelled."""
        with Uses(self, cancel, kinds=(None, "CancelToken")) as (p, c):
            rc = blocking(lambda ns: _lib.slotq_token_wait_closed(p, ns, c), timeout)
        check(rc, "token wait_closed")

    def exec(self, call=None, cancel=None):
        """Runs ``call`` on the acquired slot (its ``exec(call, cancel)``),
        timed as the queue's Runner state, and returns what it returned.

        Raises StateError if the token is not acquired or already closed, and
        CallbackError if the slot's exec raised (the exception is its cause).
        """
        rc_out = ctypes.c_int()
        with Uses(self, cancel, kinds=(None, "CancelToken")) as (p, c):
            sid = self._slot_id(p)
            req = _callbacks.register((call, cancel))
            try:
                with _callbacks.Frame(sid) as f:
                    rc = _lib.slotq_token_exec(p, c, req, ctypes.byref(rc_out))
            finally:
                _callbacks.unregister(req)
        _raise_callback(f, rc, rc_out.value, "token exec")
        return f.value

    def error(self):
        """The slot's own error (the seed's Slot.Error): None for none, else
        what the slot's ``error()`` returned (an int code for a C slot)."""
        err = ctypes.c_int()
        with self._h as p:
            sid = self._slot_id(p)
            with _callbacks.Frame(sid) as f:
                rc = _lib.slotq_token_error(p, ctypes.byref(err))
        check(rc, "token error")
        _raise_callback(f, 0, 0, "token error")
        if err.value == 0:
            return None
        return f.value if f.value is not None else err.value

    def close(self):
        """Gives an acquired slot back after use: runs its close callback, at
        most once per token (the seed's caller calling Slot.Close).

        Raises StateError if it is not acquired yet, Gone if its close already
        ran (closed twice, ejected or discarded), CallbackError if the slot's
        close raised.
        """
        rc_out = ctypes.c_int()
        with self._h as p:
            sid = self._slot_id(p)
            with _callbacks.Frame(sid) as f:
                rc = _lib.slotq_token_close(p, ctypes.byref(rc_out))
        check(rc, "token close")
        _raise_callback(f, 0, rc_out.value, "token close")

    def release(self):
        """Drops this object's reference to the token. Idempotent. (Dropping
        the container's reference does not take the slot off the queue.)"""
        self._h.close()


    def __eq__(self, other):
        if not isinstance(other, Token):
            return NotImplemented
        return self._addr == other._addr

    def __hash__(self):
        return hash(self._addr)

    def __repr__(self):
        if self._h.closed:
            return "<slotq.Token id=%d released>" % self._id
        st, closed = self._state()
        return "<slotq.Token id=%d %s%s>" % (self._id, st.name, " closed" if closed else "")


def _raise_callback(frame, rc, code, context):
    """Raises CallbackError for a slot callback that raised or (a C slot)
    returned an error code."""
    if frame.exception is not None:
        if not isinstance(frame.exception, Exception):
            raise frame.exception  # KeyboardInterrupt, SystemExit: not the slot's failure
        err = CallbackError(Status.ECALLBACK, context, exception=frame.exception, code=code)
        raise err from frame.exception
    if rc == Status.ECALLBACK:
        raise CallbackError(Status.ECALLBACK, context, code=code)
    check(rc, context)


def _ping_ns(ping):
    """The ping interval of the caller loops in nanoseconds (0: the library's 200 ms)."""
    from ._handle import timeout_ns
    ns = 0 if ping is None else timeout_ns(ping)
    if ns == _lib.FOREVER:
        raise ValueError("ping must be a finite number of seconds")
    return ns


def _run_caller_loop(what, call_c):
    """Runs ``call_c(out, slot_err)`` (slotq_caller_acquire or _wait) under a
    callback frame and turns its outcome into the acquired :class:`Token`, a
    SlotError carrying the slot's own error, or the status's exception.

    Only the callbacks of the slot whose error ended the loop (SLOTQ_ESLOT: its
    error, then its close) are the call's. Other slots' callbacks may run on
    this thread meanwhile (the close of an idle slot discarded when the call
    drops its queue's last handle, or of one that a signal callback or a
    trigger ejects): their exceptions go to the hook and change nothing here,
    so that an acquired slot always comes back as a Token, never released
    unclosed. A KeyboardInterrupt or SystemExit among them is raised instead,
    once the slot acquired meanwhile, if any, was closed and released (its
    container learns it at once), as the Rust binding does with a panic."""
    out = _lib.handle()
    slot_err = ctypes.c_int()
    with _callbacks.Frame(None) as f:
        rc = call_c(ctypes.byref(out), ctypes.byref(slot_err))
    interrupt = f.claim(f.erring if rc == _lib.ESLOT else None)
    if interrupt is not None:
        if rc == 0:
            tok = Token(out.value)
            try:
                tok.close()
            except Exception as e:  # its own close failing: the hook's, as above
                _callbacks.report(e, "slot close")
            finally:
                tok.release()
        raise interrupt
    if rc == _lib.ESLOT:
        if f.exception is not None:  # the slot's error or close raised; it was closed
            if not isinstance(f.exception, Exception):
                raise f.exception
            raise CallbackError(Status.ECALLBACK, what, exception=f.exception) from f.exception
        err = SlotError(Status.ESLOT, what)
        err.code = slot_err.value
        err.slot_error = f.value if f.value is not None else slot_err.value
        raise err
    check(rc, what)
    return Token(out.value)
