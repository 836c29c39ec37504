"""The manager: get enters Waiter, delete only when idle."""

import unittest

import slotq
from helpers import requires
from slotq import WAITER

CALL = slotq.Call(app_name="app", path="/fn", image="img:1", format="http", timeout=30,
                  idle_timeout=60, memory=128)


class ManagerTest(unittest.TestCase):
    def setUp(self):
        self.mgr = slotq.Manager()
        self.addCleanup(self.mgr.release)

    def test_get_creates_once_and_enters_waiter(self):
        self.assertEqual(len(self.mgr), 0)
        with self.mgr.get(CALL) as q1:
            self.assertTrue(q1.is_new)
            self.assertEqual(q1.stats().waiters, 1)
            with self.mgr.get(CALL) as q2:
                self.assertFalse(q2.is_new)
                self.assertEqual(q2.stats().waiters, 2)
                self.assertEqual(q1.key, q2.key)
            with self.mgr.get(app_name="other") as q3:
                self.assertTrue(q3.is_new)
            self.assertEqual(len(self.mgr), 2)

    def test_delete_only_when_idle(self):
        q = self.mgr.get(CALL)
        self.addCleanup(q.release)
        self.assertFalse(self.mgr.delete(q))  # a waiter: busy
        self.assertEqual(len(self.mgr), 1)
        q.exit_state(WAITER)
        q.enter_state(slotq.RUNNER)
        self.assertFalse(self.mgr.delete(q))
        q.exit_state(slotq.RUNNER)
        self.assertTrue(q.is_idle())
        self.assertTrue(self.mgr.delete(q))
        self.assertEqual(len(self.mgr), 0)
        with self.assertRaises(slotq.NotFound):
            self.mgr.delete(q)
        # The handle stays valid; a new get makes a new queue.
        self.assertEqual(q.key, CALL.key())
        with self.mgr.get(CALL) as fresh:
            self.assertTrue(fresh.is_new)
            self.assertEqual(fresh.stats().waiters, 1)
            self.assertEqual(q.stats().waiters, 0)

    def test_delete_of_a_foreign_queue(self):
        with slotq.Queue(CALL.key()) as q, self.assertRaises(slotq.NotFound):
            self.mgr.delete(q)

    def test_queue_outlives_a_destroyed_manager(self):
        mgr = slotq.Manager()
        q = mgr.get(CALL)
        slot = slotq.Slot()
        tok = q.offer(slot)
        mgr.release()
        self.assertEqual(len(q), 1)  # still alive: we hold it
        self.assertEqual(tok.state, slotq.TokenState.QUEUED)
        q.release()  # the last holder: shuts down
        self.assertEqual(tok.state, slotq.TokenState.DISCARDED)

    def test_manager_shutdown_discards_slots_of_unheld_queues(self):
        mgr = slotq.Manager()
        with mgr.get(CALL) as q:
            tok = q.offer(slotq.Slot())
        self.assertEqual(tok.state, slotq.TokenState.QUEUED)  # the manager holds it
        mgr.release()
        self.assertEqual(tok.state, slotq.TokenState.DISCARDED)

    @requires("mgr_set_max_waiters")
    def test_max_waiters_sheds_load(self):
        with slotq.Manager(max_waiters=2) as mgr:
            a = mgr.get(CALL)
            b = mgr.get(CALL)
            self.addCleanup(a.release)
            self.addCleanup(b.release)
            with self.assertRaises(slotq.Overload) as cm:
                mgr.get(CALL)
            self.assertEqual(cm.exception.status, slotq.Status.EOVERLOAD)
            self.assertEqual(a.stats().waiters, 2)  # the refused get changed nothing
            a.exit_state(WAITER)
            with mgr.get(CALL) as c:
                self.assertEqual(c.stats().waiters, 2)
            mgr.set_max_waiters(None)
            for _ in range(5):
                mgr.get(CALL).release()
            self.assertEqual(a.stats().waiters, 7)
        with self.assertRaises(ValueError):
            slotq.Manager(max_waiters=-1)

    def test_get_by_key(self):
        with self.mgr.get_by_key(CALL.key()) as a, self.mgr.get(CALL) as b:
            self.assertTrue(a.is_new)
            self.assertFalse(b.is_new)
        with self.assertRaises(ValueError):
            self.mgr.get_by_key(b"123")

    def test_get_accepts_a_mapping(self):
        with self.mgr.get({"app_name": "app", "config": {"A": "1"}}) as q:
            self.assertEqual(q.key, slotq.call_key(app_name="app", config={"A": "1"}))
        with self.assertRaises(TypeError):
            self.mgr.get(CALL, app_name="x")


if __name__ == "__main__":
    unittest.main()
