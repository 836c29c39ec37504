"""State counters, the seed's moving average and its launch policy."""

import random
import unittest

import slotq
from slotq import RUNNER, STARTER, WAITER

U64 = 1 << 64


def seed_ewma(samples):
    """The seed's recordLatency over a sequence, in wrapping uint64."""
    avg, count = 0, 0
    for lat in samples:
        if count != 0:
            avg = ((avg * 5) % U64 + (lat * 5) % U64) % U64 // 10
        count += 1
    return avg, count


def seed_policy(states, lat):
    """The seed's isNewContainerNeeded."""
    waiters, starters, runners = states[WAITER], states[STARTER], states[RUNNER]
    if waiters == 0:
        return False
    if starters >= waiters:
        return False
    executors = starters + runners
    if executors == 0:
        return True
    run, wait, start = lat[RUNNER], lat[WAITER], lat[STARTER]
    if wait == 0:
        return False
    return run // executors * 2 < wait or run < wait or start < wait


class StatsTest(unittest.TestCase):
    def setUp(self):
        self.q = slotq.Queue(b"stats")
        self.addCleanup(self.q.release)

    def set_avg(self, state, value):
        """Makes the state's average exactly `value` on a fresh queue."""
        self.q.record_latency(state, 0)        # first sample: counted, not averaged
        self.q.record_latency(state, 2 * value)  # (0*5 + 2v*5) / 10 = v

    def enter(self, state, n):
        for _ in range(n):
            self.q.enter_state(state)

    def test_enter_and_exit(self):
        self.enter(WAITER, 2)
        self.q.enter_state(STARTER)
        st = self.q.stats()
        self.assertEqual(st.states, (0, 1, 2))
        self.assertEqual((st.runners, st.starters, st.waiters), (0, 1, 2))
        self.q.exit_state(WAITER)
        self.q.exit_state(WAITER, latency=100)  # with a latency: recorded
        self.assertEqual(self.q.stats().states[WAITER], 0)
        self.assertEqual(self.q.stats().latency_count[WAITER], 1)

    def test_exit_at_zero_is_a_state_error_and_changes_nothing(self):
        with self.assertRaises(slotq.StateError):
            self.q.exit_state(RUNNER)
        with self.assertRaises(slotq.StateError):
            self.q.exit_state(RUNNER, latency=5)
        st = self.q.stats()
        self.assertEqual(st.states, (0, 0, 0))
        self.assertEqual(st.latency_count, (0, 0, 0))

    def test_state_out_of_range(self):
        with self.assertRaises(slotq.InvalidArgument):
            self.q.enter_state(3)
        with self.assertRaises(slotq.InvalidArgument):
            self.q.record_latency(-1, 0)
        with self.assertRaises(ValueError):
            self.q.record_latency(RUNNER, -1)

    def test_ewma_first_sample_ignored(self):
        self.q.record_latency(RUNNER, 1000)
        st = self.q.stats()
        self.assertEqual(st.latency_count[RUNNER], 1)
        self.assertEqual(st.latencies[RUNNER], 0)
        self.q.record_latency(RUNNER, 1000)
        self.assertEqual(self.q.stats().latencies[RUNNER], 500)
        self.q.record_latency(RUNNER, 1000)
        self.assertEqual(self.q.stats().latencies[RUNNER], 750)

    def test_ewma_matches_the_seed(self):
        rnd = random.Random(42)
        samples = {
            RUNNER: [rnd.randrange(10**6) for _ in range(50)],
            STARTER: [rnd.randrange(U64) for _ in range(50)],  # wraps as Go's uint64
            WAITER: [U64 - 1, U64 - 1, 3, U64 // 5 + 1, 0, 7],
        }
        for state, values in samples.items():
            for v in values:
                self.q.record_latency(state, v)
        st = self.q.stats()
        for state, values in samples.items():
            with self.subTest(state=state):
                self.assertEqual((st.latencies[state], st.latency_count[state]),
                                 seed_ewma(values))

    def test_is_idle(self):
        self.assertTrue(self.q.is_idle())
        self.q.offer(slotq.Slot())  # idle slots don't count
        self.assertTrue(self.q.is_idle())
        for state in (RUNNER, STARTER, WAITER):
            with self.subTest(state=state):
                self.q.enter_state(state)
                self.assertFalse(self.q.is_idle())
                self.q.exit_state(state)
                self.assertTrue(self.q.is_idle())

    def test_in_state_records_elapsed_time(self):
        for _ in range(2):
            with self.q.in_state(STARTER):
                self.assertEqual(self.q.stats().starters, 1)
        st = self.q.stats()
        self.assertEqual(st.starters, 0)
        self.assertEqual(st.latency_count[STARTER], 2)

    def policy(self):
        needed, st = self.q.new_container_decision()
        self.assertEqual(needed, self.q.is_new_container_needed())
        self.assertEqual(needed, seed_policy(st.states, st.latencies))
        return needed

    def test_policy_no_waiters(self):
        self.enter(RUNNER, 1)
        self.assertFalse(self.policy())

    def test_policy_enough_starters(self):
        self.enter(WAITER, 2)
        self.enter(STARTER, 2)
        self.assertFalse(self.policy())

    def test_policy_no_executors(self):
        self.enter(WAITER, 1)
        self.assertTrue(self.policy())

    def test_policy_no_wait_latency(self):
        self.enter(WAITER, 1)
        self.enter(RUNNER, 1)
        self.set_avg(RUNNER, 10)
        self.assertFalse(self.policy())

    def test_policy_run_per_executor(self):
        # run / (S + R) * 2 < wait: 30 / 3 * 2 = 20 < 25, though run >= wait.
        self.enter(WAITER, 2)
        self.enter(STARTER, 1)
        self.enter(RUNNER, 2)
        self.set_avg(RUNNER, 30)
        self.set_avg(WAITER, 25)
        self.set_avg(STARTER, 100)
        self.assertTrue(self.policy())

    def test_policy_run_below_wait(self):
        # 20 / 1 * 2 = 40 >= 30, but run 20 < wait 30.
        self.enter(WAITER, 1)
        self.enter(RUNNER, 1)
        self.set_avg(RUNNER, 20)
        self.set_avg(WAITER, 30)
        self.set_avg(STARTER, 100)
        self.assertTrue(self.policy())

    def test_policy_start_below_wait(self):
        self.enter(WAITER, 1)
        self.enter(RUNNER, 1)
        self.set_avg(RUNNER, 40)
        self.set_avg(WAITER, 30)
        self.set_avg(STARTER, 10)
        self.assertTrue(self.policy())

    def test_policy_otherwise_no(self):
        self.enter(WAITER, 1)
        self.enter(RUNNER, 1)
        self.set_avg(RUNNER, 40)
        self.set_avg(WAITER, 30)
        self.set_avg(STARTER, 50)
        self.assertFalse(self.policy())

    def test_policy_matches_the_seed_at_random(self):
        rnd = random.Random(7)
        for i in range(200):
            with slotq.Queue(b"r%d" % i) as q:
                for state in (RUNNER, STARTER, WAITER):
                    for _ in range(rnd.randrange(4)):
                        q.enter_state(state)
                    for _ in range(rnd.randrange(4)):
                        q.record_latency(state, rnd.choice([0, 1, 10, 100, rnd.randrange(1000)]))
                needed, st = q.new_container_decision()
                self.assertEqual(needed, seed_policy(st.states, st.latencies), st)


if __name__ == "__main__":
    unittest.main()
