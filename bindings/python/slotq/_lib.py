"""The raw layer: loads libslotq and declares its C ABI with ctypes.

Nothing here is meant for users: it mirrors slotq.h one to one (structs,
function prototypes, constants) so that the modules above it can stay
Pythonic. The library is found, in order, through:

1. the environment variable ``SLOTQ_LIBRARY`` (a path to the shared object);
2. ``ctypes.util.find_library("slotq")`` (the ldconfig cache);
3. the SONAME ``libslotq.so.1`` (the dynamic loader's search path, e.g.
   ``LD_LIBRARY_PATH``).

Functions the loaded library does not export (an older build) are bound to a
stub that raises :class:`NotImplementedError` when called; :func:`has` tells
them apart.
"""

import ctypes
import ctypes.util
import os

SONAME = "libslotq.so.1"
ABI_MAJOR = 1

# --- constants of slotq.h -------------------------------------------------

FOREVER = -1  # SLOTQ_FOREVER
KEY_SIZE = 20  # SLOTQ_KEY_SIZE
MAX_QUEUE_KEY = 64  # SLOTQ_MAX_QUEUE_KEY
STATE_COUNT = 3  # SLOTQ_STATE_COUNT

# SLOTQ_STATUS_MAP: (name, value). Messages come from slotq_strerror().
STATUS_MAP = (
    ("OK", 0),
    ("EINVAL", -1),
    ("ENOMEM", -2),
    ("ETIMEDOUT", -3),
    ("ECANCELED", -4),
    ("ESTOPPED", -5),
    ("EGONE", -6),
    ("ESTATE", -7),
    ("EWRONGQUEUE", -8),
    ("EBUSY", -9),
    ("ENOTFOUND", -10),
    ("EOVERLOAD", -11),
    ("ESLOT", -12),
    ("ECALLBACK", -13),
    ("EINTERNAL", -14),
)
OK = 0
EINVAL = -1
ENOMEM = -2
ETIMEDOUT = -3
ECANCELED = -4
ESTOPPED = -5
EGONE = -6
EBUSY = -9
ESLOT = -12
EOVERLOAD = -11
ENOTFOUND = -10
ECALLBACK = -13


# --- structs ----------------------------------------------------------------

class slotq_str(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_char_p), ("len", ctypes.c_size_t)]


class slotq_kv(ctypes.Structure):
    _fields_ = [("key", slotq_str), ("value", slotq_str)]


class slotq_call(ctypes.Structure):
    _fields_ = [
        ("app_name", slotq_str),
        ("path", slotq_str),
        ("image", slotq_str),
        ("format", slotq_str),
        ("timeout", ctypes.c_int32),
        ("idle_timeout", ctypes.c_int32),
        ("memory", ctypes.c_uint64),
        ("config", ctypes.POINTER(slotq_kv)),
        ("config_len", ctypes.c_size_t),
    ]


class slotq_key(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_ubyte * KEY_SIZE)]


class slotq_stats(ctypes.Structure):
    _fields_ = [
        ("states", ctypes.c_uint64 * STATE_COUNT),
        ("latency_count", ctypes.c_uint64 * STATE_COUNT),
        ("latencies", ctypes.c_uint64 * STATE_COUNT),
    ]


# Opaque handles are plain void pointers.
handle = ctypes.c_void_p

EXEC_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
CLOSE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
ERROR_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
RELEASE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
TRIGGER_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int)
NOTIFY_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)  # slotq_notify_fn
CANCEL_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)  # slotq_cancel_fn


POLICY_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(slotq_stats),
                             ctypes.c_size_t)


class slotq_policy(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("fn", POLICY_FN), ("arg", ctypes.c_void_p)]


class slotq_slot_ops(ctypes.Structure):
    _fields_ = [
        ("exec", EXEC_FN),
        ("close", CLOSE_FN),
        ("error", ERROR_FN),
        ("release", RELEASE_FN),
        ("trigger", TRIGGER_FN),
    ]


# --- functions --------------------------------------------------------------

_P = ctypes.POINTER
_int = ctypes.c_int
_i64 = ctypes.c_int64
_u64 = ctypes.c_uint64
_size = ctypes.c_size_t
_vp = ctypes.c_void_p

# name: (restype, argtypes). Every public function of slotq.h.
PROTOTYPES = {
    "slotq_version": (ctypes.c_uint, []),
    "slotq_version_string": (ctypes.c_char_p, []),
    "slotq_strerror": (ctypes.c_char_p, [_int]),
    "slotq_status_name": (ctypes.c_char_p, [_int]),
    "slotq_now_ns": (_i64, []),
    "slotq_call_key": (_int, [_P(slotq_call), _P(slotq_key)]),
    "slotq_key_hex": (_int, [_P(slotq_key), ctypes.c_char_p]),
    # cancellation tokens
    "slotq_cancel_create": (_int, [_P(handle)]),
    "slotq_cancel_create_child": (_int, [handle, _P(handle)]),
    "slotq_cancel_create_deadline": (_int, [handle, _i64, _P(handle)]),
    "slotq_cancel_cancel": (_int, [handle]),
    "slotq_cancel_reason": (_int, [handle, _P(_int)]),
    "slotq_cancel_on_cancel": (_int, [handle, CANCEL_FN, _vp, _P(handle)]),
    "slotq_cancel_unregister": (_int, [handle, _P(_int)]),
    "slotq_cancel_retain": (_int, [handle]),
    "slotq_cancel_release": (None, [handle]),
    # queues
    "slotq_queue_create": (_int, [ctypes.c_char_p, _size, _P(handle)]),
    "slotq_queue_retain": (_int, [handle]),
    "slotq_queue_release": (None, [handle]),
    "slotq_queue_key": (_int, [handle, _vp, _size, _P(_size)]),
    "slotq_queue_slot": (_int, [handle, _vp, _P(slotq_slot_ops), _P(handle)]),
    "slotq_eject": (_int, [handle, handle]),
    "slotq_queue_len": (_int, [handle, _P(_size)]),
    # tokens
    "slotq_token_retain": (_int, [handle]),
    "slotq_token_release": (None, [handle]),
    "slotq_token_id": (_int, [handle, _P(_u64)]),
    "slotq_token_slot": (_int, [handle, _P(_vp)]),
    "slotq_token_state_get": (_int, [handle, _P(_int), _P(_int)]),
    "slotq_token_acquire": (_int, [handle]),
    "slotq_token_wait": (_int, [handle, _i64, handle, _P(_int)]),
    "slotq_token_wait_closed": (_int, [handle, _i64, handle]),
    "slotq_token_exec": (_int, [handle, handle, _vp, _P(_int)]),
    "slotq_token_error": (_int, [handle, _P(_int)]),
    "slotq_token_close": (_int, [handle, _P(_int)]),
    # dequeuers
    "slotq_start_dequeuer": (_int, [handle, handle, _P(handle)]),
    "slotq_dequeuer_next": (_int, [handle, _i64, handle, _P(handle)]),
    "slotq_dequeuer_set_notify": (_int, [handle, NOTIFY_FN, _vp]),
    "slotq_dequeuer_fd": (_int, [handle, _P(_int)]),
    "slotq_dequeuer_arm": (_int, [handle]),
    "slotq_dequeuer_stop": (_int, [handle]),
    "slotq_dequeuer_free": (None, [handle]),
    # states, latencies, policy, signal
    "slotq_queue_enter_state": (_int, [handle, _int]),
    "slotq_queue_exit_state": (_int, [handle, _int]),
    "slotq_queue_exit_state_latency": (_int, [handle, _int, _u64]),
    "slotq_queue_record_latency": (_int, [handle, _int, _u64]),
    "slotq_queue_stats": (_int, [handle, _P(slotq_stats)]),
    "slotq_queue_is_idle": (_int, [handle, _P(_int)]),
    "slotq_queue_is_new_container_needed": (_int, [handle, _P(_int), _P(slotq_stats)]),
    "slotq_queue_signal": (_int, [handle, _P(_int)]),
    "slotq_queue_wait_signal": (_int, [handle, _i64, handle]),
    "slotq_queue_set_signal_notify": (_int, [handle, NOTIFY_FN, _vp]),
    "slotq_queue_signal_fd": (_int, [handle, _P(_int)]),
    # manager
    "slotq_mgr_create": (_int, [_P(handle)]),
    "slotq_mgr_destroy": (None, [handle]),
    "slotq_mgr_get": (_int, [handle, _P(slotq_call), _P(handle), _P(_int)]),
    "slotq_mgr_get_by_key": (_int, [handle, _P(slotq_key), _P(handle), _P(_int)]),
    "slotq_mgr_delete": (_int, [handle, handle]),
    "slotq_mgr_count": (_int, [handle, _P(_size)]),
    "slotq_mgr_set_max_waiters": (_int, [handle, ctypes.c_uint32]),
    # launch policies, host loops, metrics
    "slotq_queue_evaluate_policy": (_int, [handle, _P(slotq_policy), _P(_int), _P(slotq_stats)]),
    "slotq_container_offer": (_int, [handle, _vp, _P(slotq_slot_ops), _i64, handle, _P(handle)]),
    "slotq_caller_acquire": (_int, [handle, _P(slotq_call), _i64, _i64, handle, _P(handle),
                                    _P(_int)]),
    "slotq_caller_wait": (_int, [handle, _i64, _i64, handle, _P(handle), _P(_int)]),
    "slotq_launcher_step": (_int, [handle, handle, _P(slotq_policy), _i64, handle, _P(_int),
                                   _P(slotq_stats)]),
    "slotq_mgr_metrics": (_int, [handle, _P(_vp), _P(_size)]),
    "slotq_free": (None, [_vp]),
}


def _candidates():
    env = os.environ.get("SLOTQ_LIBRARY")
    if env:
        return [env], True
    found = ctypes.util.find_library("slotq")
    names = [found] if found else []
    if SONAME not in names:
        names.append(SONAME)
    return names, False


def _load():
    names, explicit = _candidates()
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            errors.append("%s: %s" % (name, e))
            if explicit:
                break
    raise ImportError(
        "slotq: cannot load libslotq (%s). Set SLOTQ_LIBRARY to the path of "
        "%s, or install it where the dynamic loader finds it."
        % ("; ".join(errors), SONAME))


lib, path = _load()
_missing = set()


def _stub(name):
    def missing(*args, **kwargs):
        raise NotImplementedError(
            "%s is not exported by the loaded libslotq (%s): it is older than "
            "this binding" % (name, path))
    missing.__name__ = name
    return missing


for _name, (_restype, _argtypes) in PROTOTYPES.items():
    try:
        _fn = getattr(lib, _name)
    except AttributeError:
        _missing.add(_name)
        globals()[_name] = _stub(_name)
        continue
    _fn.restype = _restype
    _fn.argtypes = _argtypes
    globals()[_name] = _fn


def has(name):
    """Whether the loaded library exports ``name`` (with or without "slotq_")."""
    if not name.startswith("slotq_"):
        name = "slotq_" + name
    return name in PROTOTYPES and name not in _missing


def missing():
    """The functions of slotq.h the loaded library lacks, sorted."""
    return sorted(_missing)


if "slotq_version" in _missing:
    raise ImportError("slotq: %s is not libslotq (no slotq_version)" % path)
if lib.slotq_version() // 10000 != ABI_MAJOR:
    raise ImportError("slotq: %s is libslotq %s, this binding needs major version %d"
                      % (path, lib.slotq_version_string().decode(), ABI_MAJOR))
