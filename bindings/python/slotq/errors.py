"""Statuses and the exception hierarchy.

Every failing library call raises a :class:`SlotqError` subclass that carries
the library's status (:attr:`SlotqError.status`, a :class:`Status`) and its
message from ``slotq_strerror()``. Where a built-in exception means the same
thing, the subclass derives from it too (:class:`Timeout` is a
:class:`TimeoutError`, :class:`InvalidArgument` a :class:`ValueError`, ...),
so code that knows nothing of slotq still catches the right thing.
"""

import enum

from . import _lib

Status = enum.IntEnum("Status", [(name, value) for name, value in _lib.STATUS_MAP])
Status.__doc__ = "The library's status codes (SLOTQ_STATUS_MAP in slotq.h)."
Status.__module__ = __name__


def strerror(status):
    """The library's message for a status, e.g. ``"timed out"``."""
    return _lib.slotq_strerror(int(status)).decode()


def status_name(status):
    """The library's name for a status, e.g. ``"SLOTQ_ETIMEDOUT"``."""
    return _lib.slotq_status_name(int(status)).decode()


class SlotqError(Exception):
    """A libslotq call failed.

    Attributes:
        status: the :class:`Status` (or the raw int for a status this binding
            does not know).
        message: the library's message for it (``slotq_strerror``).
        context: what was being done, e.g. ``"dequeuer next"``, or None.
    """

    #: The status this class stands for (None for the base class).
    STATUS = None

    def __init__(self, status=None, context=None):
        if status is None:
            status = self.STATUS if self.STATUS is not None else Status.EINTERNAL
        try:
            status = Status(status)
        except ValueError:
            pass
        self.status = status
        self.message = strerror(status)
        self.context = context
        text = "%s (%s)" % (self.message, status_name(status))
        if context:
            text = "%s: %s" % (context, text)
        super().__init__(text)


class InvalidArgument(SlotqError, ValueError):
    """SLOTQ_EINVAL: an argument the library refuses."""
    STATUS = Status.EINVAL


class OutOfMemory(SlotqError, MemoryError):
    """SLOTQ_ENOMEM."""
    STATUS = Status.ENOMEM


class Timeout(SlotqError, TimeoutError):
    """SLOTQ_ETIMEDOUT: the call's timeout passed."""
    STATUS = Status.ETIMEDOUT


class Cancelled(SlotqError):
    """SLOTQ_ECANCELED: a cancellation token given to the call fired."""
    STATUS = Status.ECANCELED


class Stopped(SlotqError):
    """SLOTQ_ESTOPPED: the dequeuer was stopped."""
    STATUS = Status.ESTOPPED


class Gone(SlotqError):
    """SLOTQ_EGONE: the token was already acquired, ejected or closed."""
    STATUS = Status.EGONE


class StateError(SlotqError):
    """SLOTQ_ESTATE: the operation is not valid in the current state."""
    STATUS = Status.ESTATE


class WrongQueue(SlotqError, ValueError):
    """SLOTQ_EWRONGQUEUE: the token belongs to another queue."""
    STATUS = Status.EWRONGQUEUE


class Busy(SlotqError):
    """SLOTQ_EBUSY."""
    STATUS = Status.EBUSY


class NotFound(SlotqError, LookupError):
    """SLOTQ_ENOTFOUND."""
    STATUS = Status.ENOTFOUND


class Overload(SlotqError):
    """SLOTQ_EOVERLOAD: too many waiters on the queue."""
    STATUS = Status.EOVERLOAD


class SlotError(SlotqError):
    """SLOTQ_ESLOT: the slot reported an error."""
    STATUS = Status.ESLOT


class CallbackError(SlotqError):
    """SLOTQ_ECALLBACK: a callback (a slot's exec, close or error) failed.

    When the callback was Python code that raised, the exception is
    :attr:`exception` and also this error's ``__cause__``; otherwise
    :attr:`code` is the non-zero code the callback returned.
    """
    STATUS = Status.ECALLBACK

    def __init__(self, status=None, context=None, exception=None, code=None):
        super().__init__(status, context)
        self.exception = exception
        self.code = code


class InternalError(SlotqError):
    """SLOTQ_EINTERNAL: a bug in the library."""
    STATUS = Status.EINTERNAL


_BY_STATUS = {cls.STATUS: cls for cls in (
    InvalidArgument, OutOfMemory, Timeout, Cancelled, Stopped, Gone, StateError, WrongQueue,
    Busy, NotFound, Overload, SlotError, CallbackError, InternalError)}


def error_for(status, context=None):
    """The exception for a (non-zero) status, ready to raise."""
    return _BY_STATUS.get(status, SlotqError)(status, context)


def check(status, context=None):
    """Raises the exception of ``status`` unless it is SLOTQ_OK."""
    if status != 0:
        raise error_for(status, context)
