"""Python code called from C: the object registry, and what happens to
exceptions raised there.

C gets an integer id as its ``void *`` argument; the registry maps it back to
the Python object and keeps that object alive while C may call it.

An exception raised by Python code called from C never propagates into C: the
trampoline catches it and returns an error code. If the callback ran on behalf
of a Python call on the same thread that can report it (the slot's exec, close
or error run by Token.exec(), Token.close() or Token.error()), that call
raises :class:`slotq.CallbackError` with the exception as its cause. Otherwise
(a close run by an eject or a queue shutting down, a trigger, a notification,
a cancellation callback) it goes to the callback error hook, which prints it
to stderr by default; :func:`slotq.set_callback_error_hook` replaces it.
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
    outcome: set while the C call runs, read once it returns."""

    __slots__ = ("slot_id", "exception", "value", "_stack")

    def __init__(self, slot_id):
        self.slot_id = slot_id
        self.exception = None
        self.value = None

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
        if f.exception is None:
            f.exception = exc
    else:
        report(exc, context)
