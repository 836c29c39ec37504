"""Launch policies: whether a queue needs another container."""

import enum

from . import _callbacks, _lib
from .errors import CallbackError, Status


class Policy(enum.IntEnum):
    """The library's launch policies (slotq_policy_kind). A Python callable
    ``fn(stats, idle_slots) -> bool`` may stand for a custom one."""
    SEED = 0        #: the seed's isNewContainerNeeded
    IDLE_AWARE = 1  #: start one if waiters > idle slots and starters < waiters - idle slots
    CUSTOM = 2      #: (a Python callable)


class LaunchAction(enum.IntEnum):
    """What a launcher should do after :meth:`Queue.launcher_step`."""
    NONE = 0     #: nothing: step again
    START = 1    #: start one container (the step entered STARTER for it)
    DELETED = 2  #: the queue idled out and left its manager: stop launching for it


@_lib.POLICY_FN
def _policy_trampoline(arg, stats_ptr, idle_slots):
    rec = _callbacks.lookup(arg)
    if rec is None:
        return 0
    try:
        from .queue import Stats
        return 1 if rec[0](Stats._from_c(stats_ptr.contents), idle_slots) else 0
    except BaseException as e:  # never into C
        if rec[1] is None:
            rec[1] = e
        return 0


class CPolicy:
    """A slotq_policy for one library call (``with CPolicy(policy) as p:``);
    raises what a custom policy raised once the call is over."""

    __slots__ = ("_policy", "_rec", "_id", "struct")

    def __init__(self, policy):
        self._policy = policy
        self._rec = None
        self._id = None
        self.struct = None

    def __enter__(self):
        p = self._policy
        if p is None:
            return None
        if callable(p) and not isinstance(p, Policy):
            self._rec = [p, None]
            self._id = _callbacks.register(self._rec)
            self.struct = _lib.slotq_policy(Policy.CUSTOM, _policy_trampoline, self._id)
        else:
            kind = Policy(p)  # ValueError for an unknown kind
            if kind == Policy.CUSTOM:
                raise ValueError("a custom policy is a callable fn(stats, idle_slots)")
            self.struct = _lib.slotq_policy(kind, _lib.POLICY_FN(), None)
        return self.struct

    def __exit__(self, *exc):
        if self._id is not None:
            _callbacks.unregister(self._id)
        return False

    def check(self, context):
        """Raises CallbackError if the custom policy raised."""
        if self._rec is not None and self._rec[1] is not None:
            e = self._rec[1]
            if not isinstance(e, Exception):
                raise e
            raise CallbackError(Status.ECALLBACK, context, exception=e) from e
