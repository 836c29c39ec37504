"""The binding against the installed header: every public function is bound,
and the ctypes structs have the C layout.

The header is $SLOTQ_HEADER, or include/slotq.h beside the loaded library's
lib directory (an install prefix), or the source tree's. The layout check
needs a C compiler ($CC or cc); it is skipped without one.
"""

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import slotq
from slotq import _lib


def find_header():
    env = os.environ.get("SLOTQ_HEADER")
    if env:
        return env
    libdir = os.path.dirname(os.path.realpath(slotq.library_path)) \
        if os.path.sep in slotq.library_path else None
    candidates = []
    if libdir:
        d = libdir
        for _ in range(3):  # lib, lib64 or lib/<multiarch>
            d = os.path.dirname(d)
            candidates.append(os.path.join(d, "include", "slotq.h"))
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", "..", "include", "slotq.h"))
    for c in candidates:
        if os.path.exists(c):
            return os.path.normpath(c)
    return None


def declared_functions(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    return set(re.findall(r"\bSLOTQ_API\b[^;(]*?\b(slotq_\w+)\s*\(", text))


class AbiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.header = find_header()

    def setUp(self):
        if self.header is None:
            self.skipTest("slotq.h not found (set SLOTQ_HEADER)")

    def test_every_public_function_is_bound(self):
        with open(self.header) as f:
            declared = declared_functions(f.read())
        self.assertIn("slotq_version", declared)
        self.assertEqual(sorted(declared - set(_lib.PROTOTYPES)), [],
                         "functions of %s the binding does not declare" % self.header)
        self.assertEqual(sorted(set(_lib.PROTOTYPES) - declared), [],
                         "functions the binding declares that %s lacks" % self.header)

    def test_library_exports_every_function(self):
        self.assertEqual(_lib.missing(), [], "not exported by %s" % slotq.library_path)

    def test_struct_layout(self):
        cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if not cc:
            self.skipTest("no C compiler to check the struct layout")
        checks = {
            "slotq_str": ["ptr", "len"],
            "slotq_kv": ["key", "value"],
            "slotq_call": ["app_name", "path", "image", "format", "timeout", "idle_timeout",
                           "memory", "config", "config_len"],
            "slotq_key": ["bytes"],
            "slotq_stats": ["states", "latency_count", "latencies"],
            "slotq_slot_ops": ["exec", "close", "error", "release", "trigger"],
        }
        lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "slotq.h"',
                 "int main(void) {"]
        expected = []
        for name, fields in checks.items():
            lines.append('printf("%%zu\\n", sizeof(%s));' % name)
            expected.append(ctypes.sizeof(getattr(_lib, name)))
            for f in fields:
                lines.append('printf("%%zu\\n", offsetof(%s, %s));' % (name, f))
                expected.append(getattr(_lib, name).__dict__[f].offset)
        for const in ("SLOTQ_KEY_SIZE", "SLOTQ_STATE_COUNT", "SLOTQ_MAX_QUEUE_KEY",
                      "(long long)SLOTQ_FOREVER"):
            lines.append('printf("%%lld\\n", (long long)%s);' % const)
        expected += [_lib.KEY_SIZE, _lib.STATE_COUNT, _lib.MAX_QUEUE_KEY, _lib.FOREVER]
        for name, value in _lib.STATUS_MAP:
            lines.append('printf("%%d\\n", (int)SLOTQ_%s);' % name)
            expected.append(value)
        lines.append("return 0; }")
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "layout.c")
            exe = os.path.join(tmp, "layout")
            with open(src, "w") as f:
                f.write("\n".join(lines) + "\n")
            subprocess.run([cc, "-std=c99", "-I", os.path.dirname(self.header), src, "-o", exe],
                           check=True, capture_output=True)
            out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        self.assertEqual([int(x) for x in out.split()], expected)


if __name__ == "__main__":
    unittest.main()
