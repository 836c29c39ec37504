"""Statuses and exceptions."""

import unittest

import slotq
from slotq import Status


class ErrorTest(unittest.TestCase):
    def test_status_table(self):
        self.assertEqual(Status.OK, 0)
        self.assertEqual(Status.ETIMEDOUT, -3)
        self.assertEqual(Status.EINTERNAL, -14)
        self.assertEqual(slotq.strerror(Status.ETIMEDOUT), "timed out")
        self.assertEqual(slotq.status_name(Status.ETIMEDOUT), "SLOTQ_ETIMEDOUT")
        self.assertEqual(slotq.strerror(12345), "unknown status")
        self.assertEqual(slotq.status_name(12345), "SLOTQ_UNKNOWN")
        for s in Status:  # every status the binding knows, the library knows
            with self.subTest(status=s):
                self.assertEqual(slotq.status_name(s), "SLOTQ_" + s.name)
                self.assertNotEqual(slotq.strerror(s), "unknown status")

    def test_exceptions_carry_status_and_message(self):
        err = slotq.Timeout(context="dequeuer next")
        self.assertEqual(err.status, Status.ETIMEDOUT)
        self.assertEqual(err.message, "timed out")
        self.assertIn("dequeuer next", str(err))
        self.assertIn("SLOTQ_ETIMEDOUT", str(err))

    def test_hierarchy(self):
        for cls, builtin in ((slotq.Timeout, TimeoutError), (slotq.InvalidArgument, ValueError),
                             (slotq.OutOfMemory, MemoryError), (slotq.NotFound, LookupError),
                             (slotq.WrongQueue, ValueError)):
            self.assertTrue(issubclass(cls, slotq.SlotqError))
            self.assertTrue(issubclass(cls, builtin))
        for cls in (slotq.Cancelled, slotq.Stopped, slotq.Gone, slotq.StateError, slotq.Busy,
                    slotq.Overload, slotq.SlotError, slotq.CallbackError, slotq.InternalError):
            self.assertTrue(issubclass(cls, slotq.SlotqError))
            self.assertEqual(cls().status, cls.STATUS)

    def test_library_errors_raise_the_right_class(self):
        with slotq.Queue() as q:
            with self.assertRaises(slotq.InvalidArgument) as cm:
                q.enter_state(99)
            self.assertEqual(cm.exception.status, Status.EINVAL)
            self.assertEqual(cm.exception.message, "invalid argument")

    def test_wrong_object_types_never_reach_the_library(self):
        with slotq.Queue() as q, slotq.Manager() as mgr, slotq.CancelToken() as c:
            tok = q.offer(slotq.Slot())
            with self.assertRaises(TypeError):
                q.dequeuer(cancel=q)
            with self.assertRaises(TypeError):
                q.eject(c)
            with self.assertRaises(TypeError):
                mgr.delete(tok)
            with self.assertRaises(TypeError):
                tok.wait(timeout=0, cancel="soon")
            with self.assertRaises(TypeError):
                slotq.CancelToken(parent=q)
            with self.assertRaises(TypeError):
                q.enter_state("WAITER")
            with self.assertRaises(TypeError):
                q.wait_signal(timeout="1")

    def test_version(self):
        self.assertEqual(slotq.version_number() // 10000, 1)
        major, minor, patch = (int(x) for x in slotq.version().split("."))
        self.assertEqual(slotq.version_number(), major * 10000 + minor * 100 + patch)

    def test_clock(self):
        a = slotq.now_ns()
        b = slotq.now_ns()
        self.assertLessEqual(a, b)


if __name__ == "__main__":
    unittest.main()
