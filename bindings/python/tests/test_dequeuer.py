"""Dequeuers: blocking, stop, cancellation, iteration."""

import threading
import unittest

import slotq
from helpers import PROMPT, RecordingSlot, join, start_thread


class DequeuerTest(unittest.TestCase):
    def setUp(self):
        self.q = slotq.Queue(b"dequeuers")
        self.addCleanup(self.q.release)

    def test_stop_wakes_a_blocked_dequeuer(self):
        d = self.q.dequeuer()
        self.addCleanup(d.release)
        th, res = start_thread(d.next)  # no timeout
        threading.Event().wait(0.05)
        self.assertTrue(d.stop())
        join(self, th)
        self.assertIsInstance(res.get("error"), slotq.Stopped)
        self.assertFalse(d.stop())  # already stopped: harmless
        with self.assertRaises(slotq.Stopped):
            d.next(timeout=0)

    def test_dequeuer_cancel_token_wakes_it(self):
        with slotq.CancelToken() as c:
            d = self.q.dequeuer(c)
            self.addCleanup(d.release)
            th, res = start_thread(d.next)
            threading.Event().wait(0.05)
            c.cancel()
            join(self, th)
            self.assertIsInstance(res.get("error"), slotq.Cancelled)

    def test_call_cancel_token_wakes_it(self):
        d = self.q.dequeuer()
        self.addCleanup(d.release)
        with slotq.CancelToken() as c:
            th, res = start_thread(lambda: d.next(cancel=c))
            threading.Event().wait(0.05)
            c.cancel()
            join(self, th)
            self.assertIsInstance(res.get("error"), slotq.Cancelled)
        # The dequeuer itself is fine.
        tok = self.q.offer(RecordingSlot())
        self.assertEqual(d.next(timeout=PROMPT), tok)

    def test_timeout(self):
        with self.q.dequeuer() as d:
            start = slotq.now()
            with self.assertRaises(slotq.Timeout) as cm:
                d.next(timeout=0.05)
            self.assertGreaterEqual(slotq.now() - start, 0.04)
            self.assertIsInstance(cm.exception, TimeoutError)
            with self.assertRaises(ValueError):
                d.next(timeout=-1)

    def test_ctrl_c_reaches_the_main_thread_waiting_without_timeout(self):
        if threading.current_thread() is not threading.main_thread():
            self.skipTest("not on the main thread")
        import _thread
        with self.q.dequeuer() as d:
            timer = threading.Timer(0.05, _thread.interrupt_main)
            timer.start()
            start = slotq.now()
            with self.assertRaises(KeyboardInterrupt):
                d.next()  # no timeout: only the interrupt ends it
            timer.join()
            self.assertLess(slotq.now() - start, PROMPT)
            # Nothing was lost: the dequeuer still works.
            tok = self.q.offer(RecordingSlot())
            self.assertEqual(d.next(timeout=0), tok)

    def test_release_while_another_thread_waits(self):
        d = self.q.dequeuer()
        th, res = start_thread(d.next)
        threading.Event().wait(0.05)
        d.release()  # stops it; frees it once next() returned
        join(self, th)
        self.assertIsInstance(res.get("error"), slotq.Stopped)
        with self.assertRaises(ValueError):
            d.next(timeout=0)

    def test_one_thread_at_a_time(self):
        with self.q.dequeuer() as d:
            th, res = start_thread(d.next, PROMPT)
            threading.Event().wait(0.05)
            with self.assertRaises(slotq.Busy):
                d.next(timeout=0)
            d.stop()
            join(self, th)

    def test_iteration_until_stopped(self):
        slots = [RecordingSlot(i) for i in range(3)]
        tokens = [self.q.offer(s) for s in slots]
        seen = []
        with self.q.dequeuer() as d:
            for tok in d:
                self.assertTrue(tok.acquire())
                seen.append(tok.slot.name)
                tok.exec("call")
                tok.close()
                if len(seen) == 3:
                    d.stop()
        self.assertEqual(seen, [2, 1, 0])
        self.assertTrue(all(s.closes == 1 for s in slots))
        self.assertTrue(all(t.closed for t in tokens))

    def test_iteration_ends_when_cancelled(self):
        with slotq.CancelToken() as c, self.q.dequeuer(c) as d:
            threading.Timer(0.05, c.cancel).start()
            self.assertEqual(list(d), [])

    def test_waiters_are_served_in_order(self):
        # One slot per waiting dequeuer, the longest waiting first.
        d1, d2 = self.q.dequeuer(), self.q.dequeuer()
        self.addCleanup(d1.release)
        self.addCleanup(d2.release)
        th1, r1 = start_thread(d1.next, PROMPT)
        threading.Event().wait(0.05)
        th2, r2 = start_thread(d2.next, PROMPT)
        threading.Event().wait(0.05)
        t1 = self.q.offer(RecordingSlot(1))
        join(self, th1)
        self.assertEqual(r1.get("value"), t1)
        self.assertTrue(th2.is_alive())
        t2 = self.q.offer(RecordingSlot(2))
        join(self, th2)
        self.assertEqual(r2.get("value"), t2)


if __name__ == "__main__":
    unittest.main()
