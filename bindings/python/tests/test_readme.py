"""The README's examples run as written."""

import contextlib
import io
import os
import re
import threading
import unittest

import slotq

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")


class MySlot(slotq.Slot):
    def exec(self, call, cancel):
        return call


class ReadmeTest(unittest.TestCase):
    def test_examples(self):
        with open(README, encoding="utf-8") as f:
            blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
        self.assertGreaterEqual(len(blocks), 2)
        for i, code in enumerate(blocks):
            with self.subTest(block=i):
                before = threading.active_count()
                out = io.StringIO()
                errors = []
                old_hook = threading.excepthook
                threading.excepthook = lambda args: errors.append(args.exc_value)
                try:
                    with contextlib.redirect_stdout(out):
                        exec(compile(code, "README.md block %d" % i, "exec"),
                             {"MySlot": MySlot})
                finally:
                    threading.excepthook = old_hook
                self.assertEqual(errors, [])
                if "print(" in code:
                    self.assertIn("hello, world", out.getvalue())
                # Its threads end (the container ejects its slot once idle).
                deadline = slotq.now() + 10
                while threading.active_count() > before and slotq.now() < deadline:
                    threading.Event().wait(0.01)
                self.assertEqual(threading.active_count(), before)


if __name__ == "__main__":
    unittest.main()
