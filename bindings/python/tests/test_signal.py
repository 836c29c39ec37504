"""The launcher's signal: a one-slot channel."""

import threading
import unittest

import slotq
from helpers import PROMPT, join, requires, start_thread, wait_until


class SignalTest(unittest.TestCase):
    def setUp(self):
        self.q = slotq.Queue(b"signal")
        self.addCleanup(self.q.release)

    def test_capacity_one(self):
        self.assertTrue(self.q.signal())
        self.assertFalse(self.q.signal())  # one already pending
        self.q.wait_signal(timeout=0)
        with self.assertRaises(slotq.Timeout):
            self.q.wait_signal(timeout=0)
        self.assertTrue(self.q.signal())

    def test_signal_wakes_a_waiter(self):
        th, res = start_thread(self.q.wait_signal, PROMPT)
        threading.Event().wait(0.05)
        self.assertTrue(self.q.signal())
        join(self, th)
        self.assertNotIn("error", res)

    def test_one_signal_wakes_one_waiter(self):
        done = []
        lock = threading.Lock()

        def waiter():
            try:
                self.q.wait_signal(timeout=1.0)
            except slotq.Timeout:
                return
            with lock:
                done.append(1)

        threads = [threading.Thread(target=waiter) for _ in range(3)]
        for t in threads:
            t.start()
        threading.Event().wait(0.05)
        self.q.signal()
        for t in threads:
            join(self, t)
        self.assertEqual(len(done), 1)

    def test_cancel_wakes_a_waiter(self):
        with slotq.CancelToken() as c:
            th, res = start_thread(lambda: self.q.wait_signal(cancel=c))
            threading.Event().wait(0.05)
            c.cancel()
            join(self, th)
            self.assertIsInstance(res.get("error"), slotq.Cancelled)

    @requires("queue_set_signal_notify")
    def test_signal_notify(self):
        calls = []
        self.q.set_signal_notify(lambda: calls.append(threading.get_ident()))
        self.assertTrue(self.q.signal())
        self.assertEqual(calls, [threading.get_ident()])  # on the signalling thread
        self.assertFalse(self.q.signal())  # already pending: no new notification
        self.assertEqual(len(calls), 1)
        self.q.wait_signal(timeout=0)
        self.q.set_signal_notify(None)
        self.q.signal()
        self.assertEqual(len(calls), 1)

    @requires("queue_signal_fd")
    def test_signal_fd(self):
        import select
        fd = self.q.signal_fileno()
        self.assertEqual(select.select([fd], [], [], 0)[0], [])
        self.q.signal()
        self.assertTrue(wait_until(lambda: select.select([fd], [], [], 0)[0] == [fd]))
        self.assertEqual(self.q.consume_signal_fd(), 1)
        self.q.wait_signal(timeout=0)

    @requires("queue_set_signal_notify")
    def test_the_callback_belongs_to_the_object_that_set_it_last(self):
        # Manager.get() gives a new object per call: a launcher started
        # again sets the callback through its own object, and the old
        # object, released later, must not remove the new callback.
        mgr = slotq.Manager()
        self.addCleanup(mgr.release)
        got = []
        old = mgr.get(app_name="app", path="/f")
        old.exit_state(slotq.WAITER)
        old.set_signal_notify(lambda: got.append("old"))
        new = mgr.get(app_name="app", path="/f")
        self.addCleanup(new.release)
        new.exit_state(slotq.WAITER)
        new.set_signal_notify(lambda: got.append("new"))
        old.release()
        self.assertTrue(new.signal())
        self.assertEqual(got, ["new"])  # was [] (the old object removed it)
        new.wait_signal(timeout=0)


if __name__ == "__main__":
    unittest.main()
