"""Calls and their slot keys (the seed's getSlotQueueKey)."""

import ctypes
import dataclasses
from collections.abc import Mapping
from typing import Any

from . import _lib
from .errors import check

_I32 = (-(1 << 31), (1 << 31) - 1)
_U64 = (0, (1 << 64) - 1)


def _bytes(value, field):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be str or bytes, not %s" % (field, type(value).__name__))


def _int(value, field, bounds):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (field, type(value).__name__))
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError("%s=%d is out of range [%d, %d]" % (field, value, bounds[0], bounds[1]))
    return value


def _str(b):
    return _lib.slotq_str(b, len(b))


@dataclasses.dataclass
class Call:
    """The parts of a function call that pick its slot queue.

    Strings may be ``str`` (encoded as UTF-8) or ``bytes``, and may contain NUL.
    ``timeout`` and ``idle_timeout`` are int32 seconds, ``memory`` uint64 MiB.
    ``config`` is a mapping, or an iterable of (key, value) pairs with
    distinct keys.
    """

    app_name: Any = ""
    path: Any = ""
    image: Any = ""
    format: Any = ""
    timeout: int = 0
    idle_timeout: int = 0
    memory: int = 0
    config: Any = dataclasses.field(default_factory=dict)

    def _to_c(self):
        """A slotq_call; ctypes keeps the byte strings alive with it."""
        items = self.config.items() if isinstance(self.config, Mapping) else self.config
        pairs = [(_bytes(k, "config key"), _bytes(v, "config value")) for k, v in items]
        c = _lib.slotq_call()
        c.app_name = _str(_bytes(self.app_name, "app_name"))
        c.path = _str(_bytes(self.path, "path"))
        c.image = _str(_bytes(self.image, "image"))
        c.format = _str(_bytes(self.format, "format"))
        c.timeout = _int(self.timeout, "timeout", _I32)
        c.idle_timeout = _int(self.idle_timeout, "idle_timeout", _I32)
        c.memory = _int(self.memory, "memory", _U64)
        if pairs:
            arr = (_lib.slotq_kv * len(pairs))()
            for i, (k, v) in enumerate(pairs):
                arr[i].key = _str(k)
                arr[i].value = _str(v)
            c.config = ctypes.cast(arr, ctypes.POINTER(_lib.slotq_kv))
            c.config_len = len(pairs)
            c._keep = arr  # the pointer alone does not keep the array alive
        return c

    def key(self):
        """The call's slot key: 20 bytes, the SHA-1 the seed computes."""
        return call_key(self)

    def key_hex(self):
        """The slot key as 40 lowercase hex digits."""
        return key_hex(self.key())


def as_call(call=None, **fields):
    if call is None:
        return Call(**fields)
    if fields:
        raise TypeError("give a Call or its fields, not both")
    if isinstance(call, Mapping):
        return Call(**call)
    if not isinstance(call, Call):
        raise TypeError("expected a slotq.Call, not %s" % type(call).__name__)
    return call


def call_key(call=None, **fields):
    """The slot key of a call (a :class:`Call`, a mapping of its fields, or the
    fields as keywords): 20 bytes. Raises InvalidArgument for duplicate config keys."""
    c = as_call(call, **fields)._to_c()
    out = _lib.slotq_key()
    check(_lib.slotq_call_key(ctypes.byref(c), ctypes.byref(out)), "call key")
    return bytes(out.bytes)


def _key_struct(key):
    key = bytes(key)
    if len(key) != _lib.KEY_SIZE:
        raise ValueError("a slot key is %d bytes, not %d" % (_lib.KEY_SIZE, len(key)))
    k = _lib.slotq_key()
    ctypes.memmove(k.bytes, key, _lib.KEY_SIZE)
    return k


def key_hex(key):
    """The printable form of a 20-byte key (``slotq_key_hex``)."""
    k = _key_struct(key)
    buf = ctypes.create_string_buffer(2 * _lib.KEY_SIZE + 1)
    check(_lib.slotq_key_hex(ctypes.byref(k), buf), "key hex")
    return buf.value.decode("ascii")
