"""os.fork() after using the library, as multiprocessing's default start
method does on Linux: the child uses objects of its own."""

import os
import signal
import threading
import unittest

import slotq
from helpers import PROMPT, RecordingSlot


def _child_body():
    """What the child does; returns its exit status (0: all worked)."""
    with slotq.Queue(b"forked") as q:
        tok = q.offer(RecordingSlot("forked"))
        with q.dequeuer() as d:
            got = d.next(timeout=PROMPT)
            if not got.acquire():
                return 2
        tok.release()
        got.release()
    fired = threading.Event()
    with slotq.CancelToken(timeout=0.01) as c:
        c.on_cancel(fired.set)  # run by the child's own timer thread
        if not fired.wait(PROMPT):
            return 3
    return 0


def _fork_and_wait(body):
    """Runs body in a forked child under an alarm; returns its exit status,
    or -signal if it died of one (SIGALRM: a hang)."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            signal.alarm(int(PROMPT * 2))
            status = body()
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


class ForkTest(unittest.TestCase):
    def test_child_neither_uses_nor_frees_the_parents_handles(self):
        slot = RecordingSlot("parent's")
        with slotq.Queue(b"parent") as q, slotq.CancelToken() as c:
            tok = q.offer(slot)
            self.addCleanup(tok.release)
            c.on_cancel(lambda: None)

            def child():
                try:
                    q.offer(RecordingSlot())
                    return 2  # must not reach the parent's queue
                except ValueError:
                    pass
                c.release()  # forgets its registration without the C call
                q.release()  # would discard the parent's idle slot (closing it)
                return 0 if slot.closes == 0 else 3

            self.assertEqual(_fork_and_wait(child), 0)
            self.assertEqual(len(q), 1)  # the parent's queue is untouched
            self.assertEqual(slot.closes, 0)

    def test_child_does_not_wait_for_the_parents_running_callback(self):
        entered, leave = threading.Event(), threading.Event()

        def slow():
            entered.set()
            leave.wait(PROMPT)

        with slotq.CancelToken() as c:
            c.on_cancel(slow)
            canceller = threading.Thread(target=c.cancel)
            canceller.start()
            try:
                self.assertTrue(entered.wait(PROMPT))

                def child():
                    # Unregistering in C would wait for `slow`, which runs
                    # on a thread this process does not have.
                    c.release()
                    return 0

                self.assertEqual(_fork_and_wait(child), 0)
            finally:
                leave.set()
                canceller.join(PROMPT)

    def test_child_uses_the_library_while_the_parent_timer_runs(self):
        fired = threading.Event()
        with slotq.CancelToken(timeout=0.01) as c:
            c.on_cancel(fired.set)
            self.assertTrue(fired.wait(PROMPT))
        # The parent's timer thread lingers now; the child has none.
        self.assertEqual(_fork_and_wait(_child_body), 0)


if __name__ == "__main__":
    unittest.main()
