"""Python code called from C: exceptions never cross into C, and are reported."""

import unittest

import slotq
from helpers import RecordingSlot
from slotq import TokenState


class Boom(Exception):
    pass


class CallbackTest(unittest.TestCase):
    def setUp(self):
        self.q = slotq.Queue(b"callbacks")
        self.addCleanup(self.q.release)
        self.hooked = []
        old = slotq.set_callback_error_hook(lambda exc, ctx: self.hooked.append((exc, ctx)))
        self.addCleanup(slotq.set_callback_error_hook, old)

    def acquired(self, slot):
        tok = self.q.offer(slot)
        self.addCleanup(tok.release)
        d = self.q.dequeuer()
        self.addCleanup(d.release)
        lent = d.next(timeout=0)
        self.assertTrue(lent.acquire())
        return tok, lent

    def test_exec_exception_becomes_callback_error(self):
        class S(slotq.Slot):
            def exec(self, call, cancel):
                raise Boom("exec failed")

        _, lent = self.acquired(S())
        with self.assertRaises(slotq.CallbackError) as cm:
            lent.exec("req")
        err = cm.exception
        self.assertEqual(err.status, slotq.Status.ECALLBACK)
        self.assertIsInstance(err.exception, Boom)
        self.assertIs(err.__cause__, err.exception)
        self.assertEqual(self.q.stats().runners, 0)  # the Runner state was left
        self.assertEqual(self.hooked, [])
        lent.close()  # the slot is still usable and closes normally

    def test_close_exception_on_token_close(self):
        class S(RecordingSlot):
            def close(self):
                super().close()
                raise Boom("close failed")

        slot = S()
        tok, lent = self.acquired(slot)
        with self.assertRaises(slotq.CallbackError) as cm:
            lent.close()
        self.assertIsInstance(cm.exception.__cause__, Boom)
        self.assertTrue(tok.closed)
        with self.assertRaises(slotq.Gone):
            lent.close()
        self.assertEqual(slot.closes, 1)

    def test_close_exception_during_eject_goes_to_the_hook(self):
        class S(slotq.Slot):
            def close(self):
                raise Boom("close failed")

        tok = self.q.offer(S())
        self.assertTrue(self.q.eject(tok))  # the eject itself succeeded
        self.assertEqual(tok.state, TokenState.EJECTED)
        self.assertEqual(len(self.hooked), 1)
        self.assertIsInstance(self.hooked[0][0], Boom)
        self.assertIn("close", self.hooked[0][1])

    def test_close_exception_during_shutdown_goes_to_the_hook(self):
        class S(slotq.Slot):
            def close(self):
                raise Boom("close failed")

        q = slotq.Queue(b"short")
        tok = q.offer(S())
        q.release()
        self.assertEqual(tok.state, TokenState.DISCARDED)
        self.assertEqual([type(e) for e, _ in self.hooked], [Boom])

    def test_trigger_exception_goes_to_the_hook(self):
        class S(slotq.Slot):
            def trigger(self, state):
                raise Boom(state)

        tok, lent = self.acquired(S())
        self.assertEqual(tok.state, TokenState.ACQUIRED)
        self.assertEqual(len(self.hooked), 1)
        self.assertEqual(self.hooked[0][0].args, (TokenState.ACQUIRED,))

    def test_error_callback(self):
        class S(slotq.Slot):
            def __init__(self, err):
                self.err = err

            def error(self):
                return self.err

        oops = RuntimeError("container failed to start")
        for err, expected in ((None, None), (oops, oops), (7, 7), (0, None)):
            with self.subTest(err=err):
                tok = self.q.offer(S(err))
                self.assertIs(tok.error(), expected) if expected is oops else \
                    self.assertEqual(tok.error(), expected)
                self.q.eject(tok)

    def test_error_callback_raising(self):
        class S(slotq.Slot):
            def error(self):
                raise Boom()

        tok = self.q.offer(S())
        with self.assertRaises(slotq.CallbackError) as cm:
            tok.error()
        self.assertIsInstance(cm.exception.exception, Boom)

    def test_cancel_callback_exception_goes_to_the_hook(self):
        with slotq.CancelToken() as c:
            def bad():
                raise Boom("in on_cancel")
            c.on_cancel(bad)
            c.cancel()
        self.assertEqual([type(e) for e, _ in self.hooked], [Boom])

    def test_default_hook_prints(self):
        import contextlib
        import io
        slotq.set_callback_error_hook(None)
        buf = io.StringIO()

        class S(slotq.Slot):
            def close(self):
                raise Boom("printed")

        with contextlib.redirect_stderr(buf):
            tok = self.q.offer(S())
            self.q.eject(tok)
        self.assertIn("Boom: printed", buf.getvalue())
        self.assertIn("slotq callback", buf.getvalue())


if __name__ == "__main__":
    unittest.main()
