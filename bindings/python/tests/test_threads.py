"""Many threads: every slot is used by exactly one party, and closed exactly once."""

import threading
import unittest

import slotq
from slotq import TokenState


class CountingSlot(slotq.Slot):
    def __init__(self):
        self.lock = threading.Lock()
        self.execs = 0
        self.closes = 0

    def exec(self, call, cancel):
        with self.lock:
            self.execs += 1

    def close(self):
        with self.lock:
            self.closes += 1


class ExactlyOnceTest(unittest.TestCase):
    PRODUCERS = 4
    CONSUMERS = 4
    SLOTS_PER_PRODUCER = 300

    def test_acquire_or_eject_exactly_once(self):
        q = slotq.Queue(b"threads")
        self.addCleanup(q.release)
        lock = threading.Lock()
        served = []   # slots a caller acquired, executed and closed
        ejected = []  # slots their container took back
        offered = []
        errors = []
        producers_done = threading.Event()

        def producer(seed):
            try:
                for i in range(self.SLOTS_PER_PRODUCER):
                    slot = CountingSlot()
                    tok = q.offer(slot)
                    with lock:
                        offered.append(slot)
                    # Idle a little, then try to take it back, as a container
                    # whose idle timeout passed: a lost race means a caller has it.
                    try:
                        tok.wait(timeout=0.0002 * ((seed + i) % 3))
                    except slotq.Timeout:
                        pass
                    if q.eject(tok):
                        with lock:
                            ejected.append(slot)
                        self.assertEqual(tok.state, TokenState.EJECTED)
                    else:
                        self.assertEqual(tok.wait(timeout=10), TokenState.ACQUIRED)
                        tok.wait_closed(timeout=10)
                    tok.release()
            except BaseException as e:
                errors.append(e)

        def consumer():
            try:
                with q.dequeuer() as d:
                    while True:
                        try:
                            tok = d.next(timeout=0.01)
                        except slotq.Timeout:
                            if producers_done.is_set():
                                return
                            continue
                        with tok:
                            if tok.acquire():
                                tok.exec()
                                tok.close()
                                with lock:
                                    served.append(tok.slot)
            except BaseException as e:
                errors.append(e)

        consumers = [threading.Thread(target=consumer) for _ in range(self.CONSUMERS)]
        producers = [threading.Thread(target=producer, args=(p,)) for p in range(self.PRODUCERS)]
        for t in consumers + producers:
            t.start()
        for t in producers:
            t.join(120)
        producers_done.set()
        for t in consumers:
            t.join(120)
        self.assertFalse(any(t.is_alive() for t in consumers + producers), "threads hung")
        self.assertEqual(errors, [])

        total = self.PRODUCERS * self.SLOTS_PER_PRODUCER
        self.assertEqual(len(offered), total)
        self.assertEqual(len(served) + len(ejected), total)
        self.assertEqual(len({id(s) for s in served} | {id(s) for s in ejected}), total)
        self.assertFalse({id(s) for s in served} & {id(s) for s in ejected})
        for s in served:
            self.assertEqual((s.execs, s.closes), (1, 1))
        for s in ejected:
            self.assertEqual((s.execs, s.closes), (0, 1))
        self.assertEqual(len(q), 0)
        st = q.stats()
        self.assertEqual(st.runners, 0)
        self.assertEqual(st.latency_count[slotq.RUNNER], len(served))

    def test_concurrent_acquire_has_one_winner(self):
        for _ in range(200):
            with slotq.Queue(b"race") as q, q.dequeuer() as d:
                tok = q.offer(slotq.Slot())
                lent = d.next(timeout=0)
                wins = []
                barrier = threading.Barrier(3)

                def acquire(t):
                    barrier.wait()
                    wins.append(t.acquire())

                def eject():
                    barrier.wait()
                    wins.append(q.eject(tok))

                threads = [threading.Thread(target=acquire, args=(lent,)),
                           threading.Thread(target=acquire, args=(tok,)),
                           threading.Thread(target=eject)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(10)
                self.assertEqual(sorted(wins), [False, False, True])


if __name__ == "__main__":
    unittest.main()
