"""Python code called from C: the object registry, and what happens to
exceptions raised there.

C gets an integer id as its ``void *`` argument; the registry maps it back to
the Python object and keeps that object alive while C may call it.

An exception raised by Python code called from C never propagates into C: the
trampoline catches it and returns an error code. If the callback ran on behalf
of a Python call on the same thread that can report it (the slot's exec, close
or error run by Token.exec(), Token.close() or Token.error()), that call
raises :class:`slotq.CallbackError` with the exception as its cause; so do
the caller loops (Manager.caller_acquire, Queue.caller_wait) for the slot they
acquired and found in error (its error and close). Otherwise (a close run by
an eject or a queue shutting down, even inside a caller loop, a trigger, a
notification, a cancellation callback) it goes to the callback error hook,
which prints it to stderr by default; :func:`slotq.set_callback_error_hook`
replaces it.
"""

import itertools
import sys
import threading
import traceback

_registry = {}
_ids = itertools.count(1)


def register(obj):
    """Keeps ``obj`` alive and returns its id (never 0)."""
    i = next(_ids)
    _registry[i] = obj
    return i


def lookup(i):
    return _registry.get(i)


def unregister(i):
    return _registry.pop(i, None)


def _default_hook(exc, context):
    try:
        print("Exception ignored in slotq callback (%s):" % context, file=sys.stderr)
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    except Exception:
        pass


_hook = _default_hook


def set_callback_error_hook(hook):
    """Sets ``hook(exception, context)``, called with each exception raised by
    a callback that no Python call can report (see the module's doc). ``None``
    restores the default, which prints to stderr. Returns the previous hook."""
    global _hook
    old, _hook = _hook, (hook if hook is not None else _default_hook)
    return old


def report(exc, context):
    try:
        _hook(exc, context)
    except BaseException:
        pass


_tls = threading.local()


class Frame:
    """A Python call that runs a slot callback on this thread and reports its
    outcome: set while the C call runs, read once it returns.

    ``Frame(slot_id)`` takes the callbacks of that slot. ``Frame(None)`` is a
    caller loop's, which cannot know beforehand which slot it acquires: it
    takes the callbacks of every slot, since those of other slots may run on
    its thread meanwhile (the close of a slot its queue discards, or one that
    a signal callback ejects), but keeps each slot's outcome apart until the
    call returned and :meth:`claim` says which slot was the call's."""

    __slots__ = ("slot_id", "exception", "value", "erring", "_outcomes", "_stack")

    def __init__(self, slot_id):
        self.slot_id = slot_id
        self.exception = None
        self.value = None
        #: The last slot whose error callback reported an error in this frame.
        self.erring = None
        self._outcomes = None  # Frame(None): slot id -> [exception, context, value]

    def __enter__(self):
        stack = getattr(_tls, "frames", None)
        if stack is None:
            stack = _tls.frames = []
        stack.append(self)
        self._stack = stack
        return self

    def __exit__(self, *exc):
        self._stack.remove(self)
        return False

    def _outcome(self, slot_id):
        if self._outcomes is None:
            self._outcomes = {}
        o = self._outcomes.get(slot_id)
        if o is None:
            o = self._outcomes[slot_id] = [None, None, None]
        return o

    def set_value(self, slot_id, value):
        """Records what a callback of ``slot_id`` returned."""
        if self.slot_id is None:
            self._outcome(slot_id)[2] = value
        else:
            self.value = value

    def set_exception(self, slot_id, exc, context):
        """Records the first exception raised by a callback of ``slot_id``."""
        if self.slot_id is None:
            o = self._outcome(slot_id)
            if o[0] is None:
                o[0], o[1] = exc, context
        elif self.exception is None:
            self.exception = exc

    def claim(self, slot_id):
        """For a ``Frame(None)`` once its C call returned: takes the outcome of
        ``slot_id`` (None: of no slot) as the frame's ``exception`` and
        ``value``, and reports the exception of every other slot through the
        hook, as it would have been without this frame. Returns the first of
        those that is not an Exception (KeyboardInterrupt, SystemExit), not
        reported, for the caller to raise, or None."""
        outcomes, self._outcomes = self._outcomes or {}, None
        interrupt = None
        for sid, (exc, context, value) in outcomes.items():
            if sid == slot_id:
                self.exception, self.value = exc, value
            elif exc is not None:
                if interrupt is None and not isinstance(exc, Exception):
                    interrupt = exc
                else:
                    report(exc, context)
        return interrupt


def current_frame(slot_id):
    """The innermost frame of this thread for ``slot_id`` (or for any slot:
    a frame of slot id None), or None."""
    stack = getattr(_tls, "frames", None)
    if stack:
        for f in reversed(stack):
            if f.slot_id == slot_id or f.slot_id is None:
                return f
    return None


def fail(slot_id, exc, context):
    """Records an exception raised by a slot callback: in the frame waiting for
    it, or through the hook."""
    f = current_frame(slot_id)
    if f is not None:
        f.set_exception(slot_id, exc, context)
    else:
        report(exc, context)
