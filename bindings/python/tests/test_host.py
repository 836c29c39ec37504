"""Launch policies, the host loops (container, caller, launcher) and metrics."""

import gc
import threading
import unittest
import weakref

import slotq
from helpers import PROMPT, RecordingSlot, join, requires, start_thread
from slotq import STARTER, WAITER, LaunchAction, Policy

CALL = slotq.Call(app_name="app", path="/host", image="img:1", memory=64)


class Boom(Exception):
    pass


class BadClose(RecordingSlot):
    """A slot whose close raises (after recording it)."""

    def close(self):
        super().close()
        raise Boom("close of slot %s" % self.name)


class CallerLoopMixin:
    """The caller loops run, on their thread, callbacks of other slots than
    the one they acquire (a close run by a discard or an eject): an exception
    from one of them is not the acquire's, and goes to the hook."""

    def hook(self):
        hooked = []
        old = slotq.set_callback_error_hook(lambda exc, ctx: hooked.append((exc, ctx)))
        self.addCleanup(slotq.set_callback_error_hook, old)
        return hooked

    def assert_acquired(self, outcome, container_tok, slot):
        """``outcome``: what the caller loop returned or raised. It must be
        the token of ``slot`` (offered as ``container_tok``), acquired and not
        closed, which closes as usual."""
        if not isinstance(outcome, slotq.Token):
            self.fail("the caller loop raised %r for another slot's exception; the slot it "
                      "acquired was %s" % (outcome, "closed" if container_tok.closed else
                                           "released unclosed (its container waits for good)"))
        self.assertEqual(outcome.state, slotq.TokenState.ACQUIRED)
        self.assertIs(outcome.slot, slot)
        self.assertEqual(slot.closes, 0)
        outcome.close()
        container_tok.wait_closed(timeout=PROMPT)
        self.assertEqual(slot.closes, 1)
        outcome.release()

    def assert_hooked_close(self, hooked, *slots):
        self.assertEqual([(type(e), e.args) for e, _ in hooked],
                         [(Boom, ("close of slot %s" % s.name,)) for s in slots])
        for _, context in hooked:
            self.assertIn("close", context)
        for s in slots:
            self.assertEqual(s.closes, 1)


@requires("queue_evaluate_policy")
class PolicyTest(unittest.TestCase):
    def setUp(self):
        self.q = slotq.Queue(b"policy")
        self.addCleanup(self.q.release)

    def test_seed_is_the_default(self):
        self.q.enter_state(WAITER)
        self.assertTrue(self.q.is_new_container_needed())
        self.assertTrue(self.q.is_new_container_needed(Policy.SEED))
        self.q.enter_state(STARTER)
        self.assertFalse(self.q.is_new_container_needed(Policy.SEED))

    def test_idle_aware(self):
        for _ in range(2):
            self.q.enter_state(WAITER)
        self.q.offer(slotq.Slot())
        self.assertTrue(self.q.is_new_container_needed(Policy.IDLE_AWARE))  # 2 > 1, 0 < 1
        self.q.enter_state(STARTER)
        self.assertFalse(self.q.is_new_container_needed(Policy.IDLE_AWARE))  # 1 >= 2 - 1
        self.q.offer(slotq.Slot())
        self.q.exit_state(STARTER)
        self.assertFalse(self.q.is_new_container_needed(Policy.IDLE_AWARE))  # 2 idle for 2

    def test_custom(self):
        seen = []

        def fn(stats, idle_slots):
            seen.append((stats.waiters, idle_slots))
            return stats.waiters > 1

        self.q.offer(slotq.Slot())
        self.q.enter_state(WAITER)
        needed, stats = self.q.new_container_decision(fn)
        self.assertFalse(needed)
        self.assertEqual(stats.waiters, 1)
        self.q.enter_state(WAITER)
        self.assertTrue(self.q.is_new_container_needed(fn))
        self.assertEqual(seen, [(1, 1), (2, 1)])

    def test_custom_raising(self):
        def fn(stats, idle_slots):
            raise ZeroDivisionError("policy bug")

        with self.assertRaises(slotq.CallbackError) as cm:
            self.q.is_new_container_needed(fn)
        self.assertIsInstance(cm.exception.__cause__, ZeroDivisionError)

    def test_unknown_policy(self):
        with self.assertRaises(ValueError):
            self.q.is_new_container_needed(7)
        with self.assertRaises(ValueError):
            self.q.is_new_container_needed(Policy.CUSTOM)


@requires("container_offer")
class ContainerOfferTest(unittest.TestCase):
    def setUp(self):
        self.q = slotq.Queue(b"container")
        self.addCleanup(self.q.release)

    def test_acquired(self):
        slot = RecordingSlot()
        th, res = start_thread(self.q.container_offer, slot, PROMPT)
        with self.q.dequeuer() as d:
            got = d.next(timeout=PROMPT)
            self.assertTrue(got.acquire())
        join(self, th)
        tok = res.get("value")
        self.assertIsInstance(tok, slotq.Token, res)
        self.assertEqual(tok.state, slotq.TokenState.ACQUIRED)
        got.close()
        tok.wait_closed(timeout=PROMPT)
        self.assertEqual(slot.closes, 1)

    def test_idle_timeout_ejects(self):
        slot = RecordingSlot()
        ref = weakref.ref(slot)
        with self.assertRaises(slotq.Timeout):
            self.q.container_offer(slot, idle_timeout=0.02)
        self.assertEqual(slot.closes, 1)
        self.assertEqual(slot.triggers, [slotq.TokenState.EJECTED])
        self.assertEqual(len(self.q), 0)
        del slot
        gc.collect()
        self.assertIsNone(ref(), "the library's release callback did not drop the slot")

    def test_cancel_ejects(self):
        slot = RecordingSlot()
        with slotq.CancelToken() as c:
            threading.Timer(0.02, c.cancel).start()
            with self.assertRaises(slotq.Cancelled):
                self.q.container_offer(slot, cancel=c)
        self.assertEqual(slot.closes, 1)

    def test_invalid_idle_timeout(self):
        with self.assertRaises(ValueError):
            self.q.container_offer(slotq.Slot(), idle_timeout=0)


@requires("caller_acquire")
class CallerAcquireTest(CallerLoopMixin, unittest.TestCase):
    def setUp(self):
        self.mgr = slotq.Manager()
        self.addCleanup(self.mgr.release)
        self.q = self.mgr.get(CALL)  # (one Waiter: ours, for the test's own view)
        self.addCleanup(self.q.release)
        self.q.exit_state(WAITER)

    def test_acquires_a_slot_and_leaves_the_waiter_state(self):
        slot = RecordingSlot("s")
        threading.Timer(0.02, self.q.offer, args=(slot,)).start()
        tok = self.mgr.caller_acquire(CALL, timeout=PROMPT)
        self.assertEqual(tok.state, slotq.TokenState.ACQUIRED)
        self.assertEqual(tok.exec("x"), ("done", "s", "x"))
        tok.close()
        st = self.q.stats()
        self.assertEqual(st.waiters, 0)
        self.assertEqual(st.latency_count[WAITER], 1)
        self.q.wait_signal(timeout=0)  # it signalled the launcher

    def test_slot_error(self):
        oops = RuntimeError("container failed to start")

        class Broken(RecordingSlot):
            def error(self):
                return oops

        slot = Broken()
        self.q.offer(slot)
        with self.assertRaises(slotq.SlotError) as cm:
            self.mgr.caller_acquire(CALL, timeout=PROMPT)
        self.assertIs(cm.exception.slot_error, oops)
        self.assertEqual(slot.closes, 1)
        self.assertEqual(self.q.stats().waiters, 0)

    def test_slot_error_raising_or_close_raising_is_the_acquires(self):
        # The acquired slot's own callbacks in its error path stay the
        # acquire's: CallbackError, as Token.error() and Token.close() do.
        hooked = self.hook()

        class RaisingError(RecordingSlot):
            def error(self):
                raise Boom("error")

        class ErrorThenBadClose(BadClose):
            def error(self):
                return 3

        for slot in (RaisingError("e"), ErrorThenBadClose("c")):
            with self.subTest(slot=type(slot).__name__):
                self.q.offer(slot).release()
                with self.assertRaises(slotq.CallbackError) as cm:
                    self.mgr.caller_acquire(CALL, timeout=PROMPT)
                self.assertIsInstance(cm.exception.__cause__, Boom)
                self.assertEqual(slot.closes, 1)
        self.assertEqual(hooked, [])
        self.assertEqual(self.q.stats().waiters, 0)

    def acquire_while_deleting(self, idle):
        """caller_acquire of a second slot while the queue, which also holds
        ``idle``, is deleted from the manager and let go of: the acquire then
        drops the queue's last handle and discards ``idle``, running its close
        on the acquire's thread (the C header says so). Returns what the
        acquire returned or raised, the acquired slot's token and the slot."""
        acquired, go = threading.Event(), threading.Event()

        class Held(RecordingSlot):
            def trigger(self, state):  # on the acquire's thread, inside it
                super().trigger(state)
                if state == slotq.TokenState.ACQUIRED:
                    acquired.set()
                    go.wait(PROMPT)

        good = Held("good")
        idle_tok = self.q.offer(idle)
        self.addCleanup(idle_tok.release)
        good_tok = self.q.offer(good)  # the newest: the one the acquire takes
        self.addCleanup(good_tok.release)
        th, res = start_thread(self.mgr.caller_acquire, CALL, PROMPT)
        self.assertTrue(acquired.wait(PROMPT))
        # Delete the queue while the acquire is still in it (to be deleted it
        # must be idle: we leave the Waiter state in the acquire's place) and
        # let go of it: the acquire holds its last handle.
        self.q.exit_state(WAITER)
        self.assertTrue(self.mgr.delete(self.q))
        self.q.release()
        go.set()
        join(self, th)
        self.assertEqual(idle_tok.state, slotq.TokenState.DISCARDED)
        self.assertEqual(idle.closes, 1)
        return res.get("value", res.get("error")), good_tok, good

    def test_discarded_slot_close_raising_is_not_the_acquires(self):
        hooked = self.hook()
        idle = BadClose("idle")
        outcome, good_tok, good = self.acquire_while_deleting(idle)
        self.assert_acquired(outcome, good_tok, good)
        self.assert_hooked_close(hooked, idle)

    def test_discarded_slot_close_interrupting_closes_the_acquired_slot(self):
        # A KeyboardInterrupt from another slot's callback is not lost in the
        # hook: the acquire raises it, once it closed the slot it acquired.
        hooked = self.hook()

        class Interrupting(RecordingSlot):
            def close(self):
                super().close()
                raise KeyboardInterrupt("close of slot %s" % self.name)

        outcome, good_tok, good = self.acquire_while_deleting(Interrupting("idle"))
        self.assertIsInstance(outcome, KeyboardInterrupt)
        good_tok.wait_closed(timeout=PROMPT)  # closed, not released unclosed
        self.assertEqual(good.closes, 1)
        self.assertEqual(hooked, [])

    def test_timeout(self):
        with self.assertRaises(slotq.Timeout):
            self.mgr.caller_acquire(CALL, timeout=0.05, ping=0.01)
        self.assertEqual(self.q.stats().waiters, 0)

    def test_overload(self):
        self.mgr.set_max_waiters(1)
        self.q.enter_state(WAITER)
        with self.assertRaises(slotq.Overload):
            self.mgr.caller_acquire(CALL, timeout=0)
        self.q.exit_state(WAITER)


@requires("caller_wait")
class CallerWaitTest(CallerLoopMixin, unittest.TestCase):
    def test_get_then_wait(self):
        with slotq.Manager() as mgr:
            q = mgr.get(CALL)  # a Waiter now; mgr.get says whether the queue is new
            self.addCleanup(q.release)
            slot = RecordingSlot("w")
            threading.Timer(0.02, q.offer, args=(slot,)).start()
            tok = q.caller_wait(timeout=PROMPT)
            self.assertEqual(tok.state, slotq.TokenState.ACQUIRED)
            tok.close()
            tok.release()
            self.assertEqual(q.stats().waiters, 0)
            with self.assertRaises(slotq.StateError):  # nobody waits any more
                q.caller_wait(timeout=0)

    def wait_ejecting_in_signal_notify(self, slot):
        """caller_wait for ``slot`` (offered first), while the queue's signal
        callback, run by the wait on this thread, ejects an idle slot of
        another queue whose close raises. Returns what the wait returned or
        raised, the container's token and the ejected slot."""
        mgr = slotq.Manager()
        self.addCleanup(mgr.release)
        q = mgr.get(CALL)
        self.addCleanup(q.release)
        other = slotq.Queue(b"other")
        self.addCleanup(other.release)
        idle = BadClose("idle")
        idle_tok = other.offer(idle)
        self.addCleanup(idle_tok.release)
        waiting = []

        def notify():
            if waiting and idle_tok.state == slotq.TokenState.QUEUED:
                other.eject(idle_tok)

        q.set_signal_notify(notify)
        self.addCleanup(q.set_signal_notify, None)
        container_tok = q.offer(slot)
        self.addCleanup(container_tok.release)
        waiting.append(True)
        try:
            outcome = q.caller_wait(timeout=PROMPT)
        except slotq.SlotqError as e:
            outcome = e
        self.assertEqual(idle_tok.state, slotq.TokenState.EJECTED)
        self.assertEqual(q.stats().waiters, 0)
        return outcome, container_tok, idle

    def test_ejected_slot_close_raising_in_signal_notify_is_not_the_waits(self):
        hooked = self.hook()
        good = RecordingSlot("good")
        outcome, container_tok, idle = self.wait_ejecting_in_signal_notify(good)
        self.assert_acquired(outcome, container_tok, good)
        self.assert_hooked_close(hooked, idle)

    def test_slot_error_with_another_slots_close_raising(self):
        # The acquired slot's own error still comes back as SlotError.
        hooked = self.hook()
        oops = RuntimeError("container failed to start")

        class Broken(RecordingSlot):
            def error(self):
                return oops

        broken = Broken("broken")
        outcome, container_tok, idle = self.wait_ejecting_in_signal_notify(broken)
        self.assertIsInstance(outcome, slotq.SlotError)
        self.assertIs(outcome.slot_error, oops)
        self.assertTrue(container_tok.closed)
        self.assertEqual(broken.closes, 1)
        self.assert_hooked_close(hooked, idle)


@requires("launcher_step")
class LauncherStepTest(unittest.TestCase):
    def test_start_on_signal(self):
        with slotq.Manager() as mgr, mgr.get(CALL) as q:  # one waiter, no executors
            q.signal()
            action, stats = q.launcher_step(mgr, inactivity=PROMPT)
            self.assertEqual(action, LaunchAction.START)
            self.assertEqual(q.stats().starters, 1)
            q.exit_state(STARTER, 1000)
            q.exit_state(WAITER)

    def test_no_start_when_not_needed(self):
        with slotq.Queue(b"l") as q:
            q.signal()
            action, _ = q.launcher_step(inactivity=PROMPT)  # no waiters
            self.assertEqual(action, LaunchAction.NONE)

    def test_deletes_an_inactive_idle_queue(self):
        with slotq.Manager() as mgr, mgr.get(CALL) as q:
            q.exit_state(WAITER)
            action, _ = q.launcher_step(mgr, inactivity=0.02)
            self.assertEqual(action, LaunchAction.DELETED)
            self.assertEqual(len(mgr), 0)

    def test_cancelled(self):
        with slotq.Queue(b"l") as q, slotq.CancelToken() as c:
            threading.Timer(0.02, c.cancel).start()
            with self.assertRaises(slotq.Cancelled):
                q.launcher_step(cancel=c)

    def test_custom_policy(self):
        with slotq.Queue(b"l") as q:
            q.signal()
            action, _ = q.launcher_step(policy=lambda stats, idle: True, inactivity=PROMPT)
            self.assertEqual(action, LaunchAction.START)
            q.exit_state(STARTER)


@requires("mgr_metrics", "free")
class MetricsTest(unittest.TestCase):
    def test_prometheus_text(self):
        with slotq.Manager() as mgr, mgr.get(CALL) as q:
            q.offer(slotq.Slot())
            text = mgr.metrics()
        self.assertIn("slotq_queues 1", text)
        self.assertIn('key="%s"' % CALL.key_hex(), text)
        self.assertRegex(text, r'slotq_queue_parties\{key="[0-9a-f]{40}",state="waiter"\} 1')
        self.assertRegex(text, r'slotq_queue_idle_slots\{key="[0-9a-f]{40}"\} 1')


if __name__ == "__main__":
    unittest.main()
