"""Python binding of libslotq, the hot-container slot queue of a serverless
function agent (ctypes over the C ABI of slotq.h).

    import slotq

    with slotq.Manager() as mgr, mgr.get(app_name="app", path="/f", image="img:1") as q:
        container_token = q.offer(MySlot())          # a container offers its slot
        with q.dequeuer() as d:                      # a caller waits for one
            token = d.next(timeout=1.0)
            if token.acquire():
                token.exec(request); token.close()
        q.exit_state(slotq.WAITER)

The library is found through SLOTQ_LIBRARY (a path), else the loader's search
path (libslotq.so.1). Timeouts are seconds (None: no limit). Failures raise
:class:`SlotqError` subclasses carrying the library's status and message.
"""

from . import _lib
from ._callbacks import set_callback_error_hook
from .call import Call, call_key, key_hex
from .cancel import CancelToken, Registration, now, now_ns
from .dequeuer import Dequeuer
from .errors import (Busy, CallbackError, Cancelled, Gone, InternalError, InvalidArgument,
                     NotFound, OutOfMemory, Overload, SlotError, SlotqError, StateError, Status,
                     Stopped, Timeout, WrongQueue, status_name, strerror)
from .manager import Manager
from .policy import LaunchAction, Policy
from .queue import RUNNER, STARTER, WAITER, Queue, State, Stats
from .token import Slot, Token, TokenState

__version__ = "1.0.0"

#: Where the loaded library came from.
library_path = _lib.path


def version():
    """The loaded library's version string, e.g. "1.0.0"."""
    return _lib.slotq_version_string().decode()


def version_number():
    """The loaded library's version as MAJOR * 10000 + MINOR * 100 + PATCH."""
    return _lib.slotq_version()


def has_function(name):
    """Whether the loaded library exports ``slotq_<name>`` (older builds lack
    the newest functions; calling one of those raises NotImplementedError)."""
    return _lib.has(name)


__all__ = [
    "Busy", "Call", "CallbackError", "CancelToken", "Cancelled", "Dequeuer", "Gone",
    "InternalError", "InvalidArgument", "LaunchAction", "Manager", "NotFound", "OutOfMemory",
    "Overload", "Policy", "Queue", "RUNNER", "Registration", "STARTER", "Slot", "SlotError",
    "SlotqError", "State", "StateError", "Stats", "Status", "Stopped", "Timeout", "Token",
    "TokenState", "WAITER", "WrongQueue", "call_key", "has_function", "key_hex",
    "library_path", "now", "now_ns", "set_callback_error_hook", "status_name", "strerror",
    "version", "version_number",
]
