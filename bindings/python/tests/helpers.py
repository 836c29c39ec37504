"""Shared test helpers: recording slots and thread utilities."""

import os
import threading
import unittest

import slotq

# Generous bounds for "promptly": CI machines are slow and shared.
PROMPT = 5.0


class RecordingSlot(slotq.Slot):
    """A slot that records every callback the library makes."""

    def __init__(self, name=None):
        self.name = name
        self.lock = threading.Lock()
        self.execs = []
        self.closes = 0
        self.triggers = []

    def exec(self, call, cancel):
        with self.lock:
            self.execs.append(call)
        return ("done", self.name, call)

    def close(self):
        with self.lock:
            self.closes += 1

    def trigger(self, state):
        with self.lock:
            self.triggers.append(state)


def start_thread(target, *args):
    """Runs target(*args) in a daemon thread; returns (thread, result) where
    result["value"] or result["error"] is set when it ends."""
    result = {}

    def run():
        try:
            result["value"] = target(*args)
        except BaseException as e:  # recorded for the test to inspect
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def join(testcase, thread, timeout=PROMPT):
    thread.join(timeout)
    testcase.assertFalse(thread.is_alive(), "thread still blocked after %.1fs" % timeout)


def wait_until(predicate, timeout=PROMPT, interval=0.002):
    deadline = slotq.now() + timeout
    while slotq.now() < deadline:
        if predicate():
            return True
        threading.Event().wait(interval)
    return predicate()


def vectors_path():
    """The seed's key vectors: $SLOTQ_VECTORS, or ../shared/vectors/slot_keys.jsonl
    beside the project's root."""
    env = os.environ.get("SLOTQ_VECTORS")
    if env:
        return env
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    return os.path.join(os.path.dirname(root), "shared", "vectors", "slot_keys.jsonl")


def requires(*functions):
    """Skips a test when the loaded library lacks one of these functions."""
    missing = [f for f in functions if not slotq.has_function(f)]
    return unittest.skipIf(missing, "the loaded libslotq lacks %s" % ", ".join(
        "slotq_" + f for f in missing))
