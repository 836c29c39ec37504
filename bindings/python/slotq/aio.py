"""asyncio support: wait for slots and signals without a thread per waiter.

Built on the library's event-driven calls: an armed dequeuer signals its
eventfd when a slot is handed to it, which the event loop watches with
``add_reader``; the slot is then taken with a non-blocking ``next``.

    async with slotq.aio.AsyncDequeuer(queue) as d:
        token = await d.next(timeout=1.0)
        if token.acquire():
            ...

Needs a library with slotq_dequeuer_arm / slotq_dequeuer_fd (and
slotq_queue_signal_fd for :func:`wait_signal`).
"""

import asyncio

from . import _lib
from ._handle import timeout_ns
from .dequeuer import Dequeuer, read_eventfd
from .errors import Cancelled, Stopped, Timeout


async def _readable(fd, deadline):
    """Waits until ``fd`` is readable; False once ``deadline`` (loop time) passed."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def ready():
        if not fut.done():
            fut.set_result(None)

    loop.add_reader(fd, ready)
    try:
        if deadline is None:
            await fut
        else:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(fut, remaining)
            except asyncio.TimeoutError:
                return False
    finally:
        loop.remove_reader(fd)
    return True


def _deadline(timeout):
    if timeout is None:
        return None
    timeout_ns(timeout)  # validates
    return asyncio.get_running_loop().time() + timeout


class AsyncDequeuer:
    """A :class:`slotq.Dequeuer` for asyncio: ``await d.next()`` and
    ``async for token in d``. The same rules hold: a lent token nobody
    acquired goes back to the queue on the next ``next`` or at release."""

    def __init__(self, queue, cancel=None):
        for name in ("dequeuer_arm", "dequeuer_fd"):
            if not _lib.has(name):
                raise NotImplementedError("the loaded libslotq lacks slotq_%s" % name)
        self._d = Dequeuer(queue, cancel)
        self._fd = self._d.fileno()

    @property
    def dequeuer(self):
        """The underlying :class:`slotq.Dequeuer` (for stop())."""
        return self._d

    async def next(self, timeout=None):
        """The next slot's token (lent). Raises Timeout, Cancelled or Stopped.
        Cancelling the awaiting task is safe: no slot is lost."""
        deadline = _deadline(timeout)
        while True:
            try:
                return self._d.next(timeout=0)
            except Timeout:
                pass
            # Ask for one notification; a slot idle now is handed at once.
            self._d.arm()
            if not await _readable(self._fd, deadline):
                # Maybe handed just now.
                read_eventfd(self._fd)
                return self._d.next(timeout=0)
            read_eventfd(self._fd)

    def stop(self):
        return self._d.stop()

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.next()
        except (Stopped, Cancelled):
            raise StopAsyncIteration from None

    def release(self):
        self._d.release()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.release()
        return False


async def wait_signal(queue, timeout=None):
    """Waits for the queue's launch signal and consumes it, without blocking
    the event loop. Raises Timeout."""
    if not _lib.has("queue_signal_fd"):
        raise NotImplementedError("the loaded libslotq lacks slotq_queue_signal_fd")
    deadline = _deadline(timeout)
    fd = queue.signal_fileno()
    while True:
        try:
            return queue.wait_signal(timeout=0)
        except Timeout:
            pass
        if not await _readable(fd, deadline):
            return queue.wait_signal(timeout=0)
        read_eventfd(fd)
