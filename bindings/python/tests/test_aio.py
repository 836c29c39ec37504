"""asyncio: armed dequeuers and the signal's eventfd."""

import asyncio
import threading
import unittest

import slotq
from helpers import RecordingSlot, requires

try:
    import slotq.aio as aio
except ImportError:  # pragma: no cover
    aio = None


@requires("dequeuer_arm", "dequeuer_fd", "dequeuer_set_notify")
class ArmedDequeuerTest(unittest.TestCase):
    def setUp(self):
        self.q = slotq.Queue(b"armed")
        self.addCleanup(self.q.release)

    def test_notify_callback_when_a_slot_arrives(self):
        d = self.q.dequeuer()
        self.addCleanup(d.release)
        calls = []
        d.set_notify(lambda: calls.append(threading.get_ident()))
        self.assertTrue(d.arm())
        self.assertEqual(calls, [])
        tok = self.q.offer(RecordingSlot())
        self.assertEqual(calls, [threading.get_ident()])  # on the queueing thread
        self.assertEqual(d.next(timeout=0), tok)

    def test_arm_with_an_idle_slot_notifies_at_once(self):
        tok = self.q.offer(RecordingSlot())
        d = self.q.dequeuer()
        self.addCleanup(d.release)
        calls = []
        d.set_notify(lambda: calls.append(1))
        d.fileno()  # made on first use: it counts notifications from then on
        d.arm()
        self.assertEqual(calls, [1])
        self.assertEqual(d.consume_fd(), 1)
        self.assertEqual(d.consume_fd(), 0)
        self.assertEqual(d.next(timeout=0), tok)

    def test_stop_notifies(self):
        d = self.q.dequeuer()
        self.addCleanup(d.release)
        calls = []
        d.set_notify(lambda: calls.append(1))
        d.arm()
        d.stop()
        self.assertEqual(calls, [1])
        with self.assertRaises(slotq.Stopped):
            d.next(timeout=0)

    def test_unacquired_slot_of_an_armed_dequeuer_goes_back(self):
        d = self.q.dequeuer()
        d.arm()
        tok = self.q.offer(RecordingSlot())
        self.assertEqual(len(self.q), 0)  # handed to the armed dequeuer
        d.release()
        self.assertEqual(len(self.q), 1)
        self.assertEqual(tok.state, slotq.TokenState.QUEUED)


@requires("dequeuer_arm", "dequeuer_fd")
class AsyncDequeuerTest(unittest.TestCase):
    def setUp(self):
        self.q = slotq.Queue(b"aio")
        self.addCleanup(self.q.release)

    def test_next_waits_without_blocking_the_loop(self):
        async def main():
            async with aio.AsyncDequeuer(self.q) as d:
                state = {"waiting": False, "ran": False}

                async def producer():
                    # Runs only if the loop turns while next() is pending; a
                    # blocked loop would make next() time out instead.
                    while not state["waiting"]:
                        await asyncio.sleep(0)
                    await asyncio.sleep(0.01)
                    state["ran"] = True
                    self.q.offer(RecordingSlot("late"))

                task = asyncio.create_task(producer())
                state["waiting"] = True
                tok = await d.next(timeout=10)
                await task
                self.assertTrue(state["ran"])
                self.assertTrue(tok.acquire())
                self.assertEqual(tok.slot.name, "late")

        asyncio.run(main())

    def test_slot_from_another_thread(self):
        async def main():
            async with aio.AsyncDequeuer(self.q) as d:
                threading.Timer(0.05, self.q.offer, args=(RecordingSlot("thread"),)).start()
                tok = await d.next(timeout=5)
                self.assertEqual(tok.slot.name, "thread")

        asyncio.run(main())

    def test_timeout_and_idle_slot(self):
        async def main():
            async with aio.AsyncDequeuer(self.q) as d:
                with self.assertRaises(slotq.Timeout):
                    await d.next(timeout=0.05)
                tok = self.q.offer(RecordingSlot())
                self.assertEqual(await d.next(timeout=1), tok)

        asyncio.run(main())

    def test_async_iteration_until_stopped(self):
        async def main():
            for i in range(3):
                self.q.offer(RecordingSlot(i))
            seen = []
            async with aio.AsyncDequeuer(self.q) as d:
                async for tok in d:
                    tok.acquire()
                    seen.append(tok.slot.name)
                    if len(seen) == 3:
                        asyncio.get_running_loop().call_later(0.02, d.stop)
            return seen

        self.assertEqual(asyncio.run(main()), [2, 1, 0])

    @requires("queue_signal_fd")
    def test_wait_signal(self):
        async def main():
            asyncio.get_running_loop().call_later(0.05, self.q.signal)
            await aio.wait_signal(self.q, timeout=5)
            with self.assertRaises(slotq.Timeout):
                await aio.wait_signal(self.q, timeout=0.02)

        asyncio.run(main())


if __name__ == "__main__":
    unittest.main()
