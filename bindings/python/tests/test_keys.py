"""Slot keys: the seed's getSlotQueueKey, byte for byte."""

import hashlib
import json
import os
import unittest

import slotq
from helpers import vectors_path

EMPTY_KEY_HEX = "bb7a95e878c088a5ae0cb80872a702214a890908"


def seed_key(call):
    """The seed's key, recomputed in Python from its definition."""
    h = hashlib.sha1()

    def put(v):
        h.update(v.encode() if isinstance(v, str) else v)
        h.update(b"\0")

    for v in (call.app_name, call.path, call.image, str(call.timeout),
              str(call.idle_timeout), str(call.memory), call.format):
        put(v)
    conf = {(k.encode() if isinstance(k, str) else k): v for k, v in dict(call.config).items()}
    for k in sorted(conf):
        put(k)
        put(conf[k])
    return h.digest()


class KeyTest(unittest.TestCase):
    def test_empty_call_key(self):
        self.assertEqual(slotq.Call().key_hex(), EMPTY_KEY_HEX)
        self.assertEqual(slotq.call_key().hex(), EMPTY_KEY_HEX)
        self.assertEqual(len(slotq.Call().key()), 20)

    def test_key_hex_is_lowercase_hex_of_the_key(self):
        key = slotq.call_key(app_name="a", path="/p", memory=128)
        self.assertEqual(slotq.key_hex(key), key.hex())
        with self.assertRaises(ValueError):
            slotq.key_hex(b"short")

    def test_matches_the_seed_definition(self):
        calls = [
            slotq.Call(app_name="a", path="/p", image="img", format="http", timeout=30,
                       idle_timeout=30, memory=128),
            slotq.Call(timeout=-1, idle_timeout=2**31 - 1, memory=2**64 - 1),
            slotq.Call(app_name="a\0b", config={"k\0": "v\0", "": "empty", "Z": "", "a": "0"}),
            slotq.Call(app_name="ünïcødé", path="/漢字", config={"é": "1", "e": "2"}),
        ]
        for c in calls:
            with self.subTest(call=c):
                self.assertEqual(c.key(), seed_key(c))

    def test_config_order_does_not_matter(self):
        a = slotq.call_key(config={"A": "1", "B": "2", "a": "3"})
        b = slotq.call_key(config=[("a", "3"), ("B", "2"), ("A", "1")])
        self.assertEqual(a, b)

    def test_str_and_bytes_give_the_same_key(self):
        self.assertEqual(slotq.call_key(app_name="é", config={"k": "v"}),
                         slotq.call_key(app_name="é".encode(), config={b"k": b"v"}))

    def test_duplicate_config_keys_are_invalid(self):
        with self.assertRaises(slotq.InvalidArgument) as cm:
            slotq.call_key(config=[("k", "1"), ("k", "2")])
        self.assertEqual(cm.exception.status, slotq.Status.EINVAL)

    def test_field_ranges_are_checked(self):
        for fields in ({"timeout": 2**31}, {"idle_timeout": -2**31 - 1}, {"memory": -1},
                       {"memory": 2**64}):
            with self.subTest(**fields), self.assertRaises(ValueError):
                slotq.call_key(**fields)
        with self.assertRaises(TypeError):
            slotq.call_key(app_name=5)

    def test_seed_vectors(self):
        path = vectors_path()
        if not os.path.exists(path):
            self.skipTest("key vectors not found at %s (set SLOTQ_VECTORS to the seed's "
                          "slot_keys.jsonl to run them)" % path)
        n = 0
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                v = json.loads(line)
                call = slotq.Call(app_name=v["app_name"], path=v["path"], image=v["image"],
                                  format=v["format"], timeout=v["timeout"],
                                  idle_timeout=v["idle_timeout"], memory=v["memory"],
                                  config=v["config"])
                with self.subTest(line=lineno):
                    self.assertEqual(call.key_hex(), v["key_sha1_hex"])
                n += 1
        self.assertGreater(n, 0, "no vectors in %s" % path)

    def test_manager_get_uses_the_call_key(self):
        call = slotq.Call(app_name="app", path="/f", image="img:1", memory=256)
        with slotq.Manager() as mgr:
            with mgr.get(call) as q1, mgr.get_by_key(call.key()) as q2, \
                    mgr.get(app_name="app", path="/f", image="img:1", memory=256) as q3:
                self.assertTrue(q1.is_new)
                self.assertFalse(q2.is_new)
                self.assertFalse(q3.is_new)
                self.assertEqual(q1.key, call.key())
                self.assertEqual(len(mgr), 1)
                self.assertEqual(q1.stats().waiters, 3)


if __name__ == "__main__":
    unittest.main()
