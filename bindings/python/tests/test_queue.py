"""The slot queue and its tokens: the seed's queueSlot / acquireSlot / ejectSlot."""

import gc
import threading
import unittest
import weakref

import slotq
from helpers import PROMPT, RecordingSlot, join, start_thread
from slotq import TokenState


class QueueTest(unittest.TestCase):
    def setUp(self):
        self.q = slotq.Queue(b"test-queue")
        self.addCleanup(self.q.release)

    def dequeuer(self, cancel=None):
        d = self.q.dequeuer(cancel)
        self.addCleanup(d.release)
        return d

    def test_key_and_len(self):
        self.assertEqual(self.q.key, b"test-queue")
        self.assertEqual(len(self.q), 0)
        t = self.q.offer(RecordingSlot())
        self.assertEqual(len(self.q), 1)
        self.assertTrue(self.q.eject(t))
        self.assertEqual(len(self.q), 0)
        with slotq.Queue() as empty:
            self.assertEqual(empty.key, b"")
        with self.assertRaises(slotq.InvalidArgument):
            slotq.Queue(b"x" * 65)

    def test_lifo(self):
        tokens = [self.q.offer(RecordingSlot(i)) for i in range(3)]
        self.assertEqual([t.id for t in tokens], [0, 1, 2])
        d = self.dequeuer()
        got = []
        for _ in range(3):
            t = d.next(timeout=0)
            self.assertEqual(t.state, TokenState.LENT)
            self.assertTrue(t.acquire())
            got.append(t.slot.name)
        self.assertEqual(got, [2, 1, 0])
        with self.assertRaises(slotq.Timeout):
            d.next(timeout=0)

    def test_acquire_twice_fails(self):
        tok = self.q.offer(RecordingSlot())
        lent = self.dequeuer().next(timeout=0)
        self.assertEqual(lent, tok)
        self.assertTrue(lent.acquire())
        self.assertFalse(lent.acquire())
        self.assertFalse(tok.acquire())
        self.assertEqual(tok.state, TokenState.ACQUIRED)

    def test_eject_twice_fails(self):
        slot = RecordingSlot()
        tok = self.q.offer(slot)
        self.assertTrue(self.q.eject(tok))
        self.assertFalse(self.q.eject(tok))
        self.assertEqual(tok.state, TokenState.EJECTED)
        self.assertTrue(tok.closed)
        self.assertEqual(slot.closes, 1)
        self.assertEqual(slot.triggers, [TokenState.EJECTED])

    def test_eject_after_acquire_fails(self):
        slot = RecordingSlot()
        tok = self.q.offer(slot)
        lent = self.dequeuer().next(timeout=0)
        self.assertTrue(lent.acquire())
        self.assertFalse(self.q.eject(tok))  # a caller has it: serve the call
        self.assertEqual(slot.closes, 0)
        self.assertEqual(slot.triggers, [TokenState.ACQUIRED])

    def test_eject_after_hand_out_makes_acquire_fail(self):
        slot = RecordingSlot()
        tok = self.q.offer(slot)
        lent = self.dequeuer().next(timeout=0)
        self.assertEqual(lent.state, TokenState.LENT)
        self.assertTrue(self.q.eject(tok))
        self.assertFalse(lent.acquire())
        self.assertEqual(lent.state, TokenState.EJECTED)
        self.assertEqual(slot.closes, 1)

    def test_ejected_tokens_are_skipped(self):
        a, b, c = (self.q.offer(RecordingSlot(n)) for n in "abc")
        self.assertTrue(self.q.eject(c))
        self.assertTrue(self.q.eject(a))
        d = self.dequeuer()
        got = d.next(timeout=0)
        self.assertEqual(got, b)
        self.assertTrue(got.acquire())
        with self.assertRaises(slotq.Timeout):
            d.next(timeout=0)

    def test_close_runs_exactly_once(self):
        slot = RecordingSlot()
        tok = self.q.offer(slot)
        lent = self.dequeuer().next(timeout=0)
        with self.assertRaises(slotq.StateError):
            lent.close()  # not acquired yet
        self.assertTrue(lent.acquire())
        self.assertFalse(lent.closed)
        lent.close()
        self.assertTrue(tok.closed)
        with self.assertRaises(slotq.Gone):
            lent.close()
        self.assertFalse(self.q.eject(tok))
        self.assertEqual(slot.closes, 1)
        tok.wait_closed(timeout=0)

    def test_exec_runs_the_slot_as_runner(self):
        slot = RecordingSlot("s")
        self.q.offer(slot)
        lent = self.dequeuer().next(timeout=0)
        with self.assertRaises(slotq.StateError):
            lent.exec("early")
        self.assertTrue(lent.acquire())
        self.assertEqual(lent.exec("req1"), ("done", "s", "req1"))
        self.assertEqual(lent.exec("req2"), ("done", "s", "req2"))
        self.assertEqual(slot.execs, ["req1", "req2"])
        st = self.q.stats()
        self.assertEqual(st.runners, 0)
        self.assertEqual(st.latency_count[slotq.RUNNER], 2)
        lent.close()
        with self.assertRaises(slotq.StateError):
            lent.exec("late")

    def test_exec_passes_the_cancel_token(self):
        seen = []

        class S(slotq.Slot):
            def exec(self, call, cancel):
                seen.append((call, cancel.cancelled))
                cancel.cancel()

        self.q.offer(S())
        lent = self.dequeuer().next(timeout=0)
        lent.acquire()
        with slotq.CancelToken() as c:
            lent.exec({"x": 1}, cancel=c)
            self.assertTrue(c.cancelled)
        self.assertEqual(seen, [({"x": 1}, False)])

    def test_container_wakes_when_acquired(self):
        tok = self.q.offer(RecordingSlot())
        with self.assertRaises(slotq.Timeout):
            tok.wait(timeout=0)
        th, res = start_thread(tok.wait, PROMPT)
        lent = self.dequeuer().next(timeout=0)
        self.assertTrue(lent.acquire())
        join(self, th)
        self.assertEqual(res.get("value"), TokenState.ACQUIRED)
        # ...then waits for the caller to give the slot back.
        th, res = start_thread(tok.wait_closed, PROMPT)
        lent.close()
        join(self, th)
        self.assertNotIn("error", res)

    def test_container_wakes_when_ejected(self):
        tok = self.q.offer(RecordingSlot())
        th, res = start_thread(tok.wait, PROMPT)
        self.assertTrue(self.q.eject(tok))
        join(self, th)
        self.assertEqual(res.get("value"), TokenState.EJECTED)

    def test_unacquired_lent_token_goes_back_to_the_queue(self):
        slot = RecordingSlot()
        tok = self.q.offer(slot)
        d = self.dequeuer()
        self.assertEqual(d.next(timeout=0), tok)
        self.assertEqual(len(self.q), 0)
        again = d.next(timeout=0)  # the first went back, on top: we get it again
        self.assertEqual(again, tok)
        d.release()  # and back again
        self.assertEqual(tok.state, TokenState.QUEUED)
        self.assertEqual(len(self.q), 1)
        self.assertEqual(slot.closes, 0)

    def test_wrong_queue(self):
        with slotq.Queue(b"other") as other:
            tok = other.offer(RecordingSlot())
            with self.assertRaises(slotq.WrongQueue):
                self.q.eject(tok)
            self.assertTrue(other.eject(tok))

    def test_queue_shutdown_discards_idle_slots(self):
        q = slotq.Queue(b"short-lived")
        slot = RecordingSlot()
        tok = q.offer(slot)
        th, res = start_thread(tok.wait, PROMPT)
        q.release()
        join(self, th)
        self.assertEqual(res.get("value"), TokenState.DISCARDED)
        self.assertEqual(tok.state, TokenState.DISCARDED)
        self.assertEqual(slot.closes, 1)
        self.assertEqual(slot.triggers, [TokenState.DISCARDED])
        self.assertFalse(tok.acquire())

    def test_slot_object_lives_while_the_library_holds_it(self):
        class S(slotq.Slot):
            pass

        slot = S()
        ref = weakref.ref(slot)
        tok = self.q.offer(slot)
        del slot
        gc.collect()
        self.assertIsNotNone(ref(), "dropped while the token is queued")
        self.assertIs(tok.slot, ref())
        d = self.dequeuer()
        lent = d.next(timeout=0)
        tok.release()
        gc.collect()
        self.assertIsNotNone(ref(), "dropped while a caller holds the token")
        lent.acquire()
        lent.close()
        lent.release()
        d.release()  # (a dequeuer may keep what it lent until it is released)
        gc.collect()
        self.assertIsNone(ref(), "kept after the token was freed")

    def test_duck_typed_slot(self):
        tok = self.q.offer(object())  # no methods: each behaves as returning None
        lent = self.dequeuer().next(timeout=0)
        self.assertTrue(lent.acquire())
        self.assertIsNone(lent.exec("x"))
        self.assertIsNone(lent.error())
        lent.close()
        self.assertTrue(tok.closed)

    def test_released_objects_refuse_use(self):
        tok = self.q.offer(RecordingSlot())
        tok.release()
        tok.release()  # idempotent
        with self.assertRaises(ValueError):
            tok.acquire()
        with slotq.Queue() as q:
            pass
        with self.assertRaises(ValueError):
            len(q)

    def test_with_statement_releases(self):
        with self.q.offer(RecordingSlot()) as tok:
            self.assertEqual(tok.state, TokenState.QUEUED)
        with self.assertRaises(ValueError):
            tok.state

    def test_handoff_to_a_waiting_dequeuer(self):
        d = self.dequeuer()
        th, res = start_thread(d.next, PROMPT)
        # Wait until the dequeuer is parked, then offer.
        threading.Event().wait(0.05)
        tok = self.q.offer(RecordingSlot())
        join(self, th)
        self.assertEqual(res.get("value"), tok)
        self.assertEqual(len(self.q), 0)


if __name__ == "__main__":
    unittest.main()
