"""Cancellation tokens: cancel, children, deadlines, callbacks."""

import threading
import unittest

import slotq
from helpers import PROMPT, join, start_thread, wait_until
from slotq import Status


class CancelTest(unittest.TestCase):
    def test_cancel(self):
        with slotq.CancelToken() as c:
            self.assertEqual(c.reason, Status.OK)
            self.assertFalse(c.cancelled)
            c.cancel()
            c.cancel()  # harmless
            self.assertEqual(c.reason, Status.ECANCELED)
            self.assertTrue(c.cancelled)

    def test_child_follows_its_parent_only(self):
        with slotq.CancelToken() as parent, parent.child() as child, \
                child.child() as grandchild:
            child2 = parent.child()
            self.addCleanup(child2.release)
            child2.cancel()
            self.assertFalse(parent.cancelled)  # a child never cancels its parent
            self.assertFalse(child.cancelled)
            parent.cancel()
            self.assertEqual(child.reason, Status.ECANCELED)
            self.assertEqual(grandchild.reason, Status.ECANCELED)

    def test_child_of_a_fired_parent_is_born_cancelled(self):
        with slotq.CancelToken() as parent:
            parent.cancel()
            with parent.child() as child:
                self.assertTrue(child.cancelled)

    def test_deadline(self):
        with slotq.CancelToken(timeout=0.05) as c:
            self.assertEqual(c.reason, Status.OK)
            self.assertTrue(wait_until(lambda: c.cancelled))
            self.assertEqual(c.reason, Status.ETIMEDOUT)
        with slotq.CancelToken(deadline=slotq.now() - 1) as past:
            self.assertEqual(past.reason, Status.ETIMEDOUT)
        with self.assertRaises(TypeError):
            slotq.CancelToken(timeout=1, deadline=2)

    def test_deadline_child_inherits_the_earlier_deadline(self):
        with slotq.CancelToken(timeout=0.05) as parent, parent.child(timeout=3600) as child:
            self.assertTrue(wait_until(lambda: child.cancelled))
            self.assertTrue(parent.cancelled)

    def test_deadline_token_fires_callbacks_on_the_timer_thread(self):
        fired = threading.Event()
        threads = []
        with slotq.CancelToken(timeout=0.05) as c:
            c.on_cancel(lambda: (threads.append(threading.get_ident()), fired.set()))
            self.assertTrue(fired.wait(PROMPT))
        self.assertNotEqual(threads, [threading.get_ident()])

    def test_deadline_stops_a_blocked_call(self):
        with slotq.Queue(b"q") as q, q.dequeuer() as d, \
                slotq.CancelToken(timeout=0.05) as c:
            start = slotq.now()
            th, res = start_thread(lambda: d.next(cancel=c))
            join(self, th)
            self.assertIsInstance(res.get("error"), slotq.Cancelled)
            self.assertLess(slotq.now() - start, PROMPT)

    def test_parent_cancel_stops_a_call_waiting_on_a_child(self):
        with slotq.CancelToken() as parent, parent.child() as child, \
                slotq.Queue(b"q") as q:
            th, res = start_thread(lambda: q.wait_signal(cancel=child))
            threading.Event().wait(0.05)
            parent.cancel()
            join(self, th)
            self.assertIsInstance(res.get("error"), slotq.Cancelled)

    def test_on_cancel(self):
        calls = []
        with slotq.CancelToken() as c:
            reg = c.on_cancel(lambda: calls.append("a"))
            gone = c.on_cancel(lambda: calls.append("never"))
            self.assertFalse(gone.unregister())
            c.cancel()
            self.assertEqual(calls, ["a"])  # on this thread, before cancel() returned
            c.cancel()
            self.assertEqual(calls, ["a"])  # once
            self.assertTrue(reg.unregister())
            # On a token that already fired: runs at once.
            c.on_cancel(lambda: calls.append("late"))
            self.assertEqual(calls, ["a", "late"])

    def test_on_cancel_through_a_parent(self):
        calls = []
        with slotq.CancelToken() as parent, parent.child() as child:
            child.on_cancel(lambda: calls.append("child"))
            parent.cancel()
            self.assertEqual(calls, ["child"])

    def test_release_unregisters(self):
        calls = []
        parent = slotq.CancelToken()
        child = parent.child()
        child.on_cancel(lambda: calls.append("x"))
        child.release()  # our reference and our callbacks go
        parent.cancel()
        parent.release()
        self.assertEqual(calls, [])

    def test_used_after_release(self):
        c = slotq.CancelToken()
        c.release()
        with self.assertRaises(ValueError):
            c.cancel()
        with self.assertRaises(ValueError):
            slotq.Queue(b"q").dequeuer(c)


if __name__ == "__main__":
    unittest.main()
