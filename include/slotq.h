/*
 * libslotq: the hot-container slot queue of a serverless function agent.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

/**
 * @file slotq.h
 * @brief The one public header of libslotq: a C99 / C++ API over opaque handles.
 *
 * @mainpage libslotq
 *
 * A function agent keeps "hot" containers running so that calls to the same
 * function reuse them instead of paying a cold start. For each function (its
 * identity is a SHA-1 key over the call's configuration, see slotq_call_key())
 * the agent keeps a **slot queue** (#slotq_queue_t): a LIFO stack of idle
 * container slots. A container offers its slot with slotq_queue_slot() and gets
 * a **token** (#slotq_token_t) back. Callers wait for a slot through cancellable
 * **dequeuers** (#slotq_dequeuer_t) and take it with slotq_token_acquire(). A
 * container whose slot stayed idle too long takes it back with slotq_eject().
 * Per-queue state counters and latency averages (#slotq_stats) decide when to
 * launch another container (slotq_queue_is_new_container_needed()).
 *
 * @section conventions Conventions
 *
 * - Every function returns an `int` status: #SLOTQ_OK (zero) or one of the
 *   negative #slotq_status codes; slotq_strerror() turns it into text. Results
 *   come back through out parameters, which are written only on success unless
 *   a function says otherwise. The exceptions are the `void` release functions
 *   and the string getters, which cannot fail.
 * - No function aborts the process, and no C++ exception crosses this API. A
 *   NULL handle or a NULL required out parameter is #SLOTQ_EINVAL; running out
 *   of memory is #SLOTQ_ENOMEM.
 * - Handles are reference counted (`*_retain` / `*_release`) or owned
 *   (`*_free` / `*_destroy`), as each type says. Every handle may be used from
 *   any thread at any time, concurrently, unless a function says otherwise.
 * - Timeouts are `int64_t` nanoseconds: `0` polls without blocking, a positive
 *   value waits at most that long, #SLOTQ_FOREVER waits without a timeout. Any
 *   other negative value is #SLOTQ_EINVAL. Every blocking call also takes an
 *   optional cancellation token (#slotq_cancel_t, NULL for none) and returns
 *   #SLOTQ_ECANCELED promptly once it fires, or #SLOTQ_ETIMEDOUT once the
 *   timeout passes. A function without a timeout never waits for another
 *   party: at most it holds an internal lock for a few pointer moves, unless
 *   its comment says it waits for a callback running on another thread
 *   (slotq_cancel_unregister(), slotq_dequeuer_free(),
 *   slotq_queue_set_signal_notify()) or runs callbacks itself.
 * - Callbacks (#slotq_slot_ops, #slotq_cancel_fn) are never called while the
 *   library holds a lock, so they may call back into the library, including on
 *   the handle that invoked them. Each callback's thread is documented with the
 *   function that runs it.
 * - Latencies are unsigned 64-bit numbers in whatever unit the host chooses;
 *   latencies the library records itself (slotq_token_exec()) are nanoseconds.
 * - After fork(), the child may use the library on objects it creates itself,
 *   whatever the parent's other threads were doing: the library holds its
 *   process-wide locks across fork(), and the child's first deadline
 *   (slotq_cancel_create_deadline()) starts a timer thread of its own. The
 *   child must not use, nor release, handles made before the fork: they may
 *   be held or waited on by threads the child does not have. A child that
 *   only calls exec() needs nothing.
 *
 * @section lifecycle Life of a slot
 *
 * @code
 *   container thread                        caller thread
 *   ----------------                        -------------
 *   slotq_queue_slot(q, s, &ops, &tok)
 *     tok is QUEUED (on the stack)          slotq_mgr_get(mgr, &call, &q, NULL)   (enters Waiter)
 *                                           slotq_start_dequeuer(q, cancel, &d)
 *   slotq_token_wait(tok, idle, NULL, &st)  slotq_dequeuer_next(d, t, NULL, &tk)  (tk is LENT)
 *                                           slotq_token_acquire(tk)               (tk is ACQUIRED)
 *     wakes: st == ACQUIRED                 slotq_queue_exit_state_latency(q, SLOTQ_WAITER, wait)
 *                                           slotq_dequeuer_free(d)
 *                                           slotq_token_exec(tk, cancel, req, &rc)
 *   slotq_token_wait_closed(tok, ...)       slotq_token_close(tk, NULL)           (ops.close runs)
 *   slotq_token_release(tok)                slotq_token_release(tk); slotq_queue_release(q)
 *   ...queue again, or on a timeout:
 *   slotq_eject(q, tok) == SLOTQ_OK  -> the container stops (ops.close ran)
 *   slotq_eject(q, tok) == SLOTQ_EGONE -> a caller acquired it just now: serve it
 * @endcode
 */
#ifndef SLOTQ_H
#define SLOTQ_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#error "libslotq supports Linux only (it waits on futexes)"
#endif

/** @brief Marks every exported function; everything else in the library is hidden. */
#if defined(SLOTQ_BUILDING) && defined(__GNUC__)
#define SLOTQ_API __attribute__((visibility("default")))
#else
#define SLOTQ_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/** @name Version
 *  Compile-time version macros and the runtime version of the loaded library.
 *  @{ */

/** @brief Major version: changes when the ABI breaks (also the SONAME). */
#define SLOTQ_VERSION_MAJOR 1
/** @brief Minor version: grows when functions are added. */
#define SLOTQ_VERSION_MINOR 0
/** @brief Patch version: fixes only. */
#define SLOTQ_VERSION_PATCH 0
/** @brief The version as one number, `MAJOR * 10000 + MINOR * 100 + PATCH`. */
#define SLOTQ_VERSION_NUMBER \
  (SLOTQ_VERSION_MAJOR * 10000 + SLOTQ_VERSION_MINOR * 100 + SLOTQ_VERSION_PATCH)

/**
 * @brief The version of the loaded library, as #SLOTQ_VERSION_NUMBER computes it.
 *
 * Compare it with #SLOTQ_VERSION_NUMBER to check that the shared object a
 * program runs against is the one it was compiled for. Never fails.
 * @return the version number.
 */
SLOTQ_API unsigned slotq_version(void);

/**
 * @brief The version of the loaded library as a static string, e.g. "1.0.0". Never fails.
 * @return a static string; never NULL.
 */
SLOTQ_API const char *slotq_version_string(void);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Status codes
 *  @{ */

/**
 * @brief X-macro table of every status: `X(name, value, message)`.
 *
 * Lets a binding or a host generate its own error table; it lists exactly the
 * enumerators of #slotq_status (the library checks this at build time).
 */
#define SLOTQ_STATUS_MAP(X)                                 \
  X(OK, 0, "success")                                       \
  X(EINVAL, -1, "invalid argument")                         \
  X(ENOMEM, -2, "out of memory")                            \
  X(ETIMEDOUT, -3, "timed out")                             \
  X(ECANCELED, -4, "cancelled")                             \
  X(ESTOPPED, -5, "dequeuer stopped")                       \
  X(EGONE, -6, "slot already acquired, ejected or closed")  \
  X(ESTATE, -7, "operation not valid in the current state") \
  X(EWRONGQUEUE, -8, "token belongs to another queue")      \
  X(EBUSY, -9, "busy")                                      \
  X(ENOTFOUND, -10, "not found")                            \
  X(EOVERLOAD, -11, "too many waiters")                     \
  X(ESLOT, -12, "the slot reported an error")               \
  X(ECALLBACK, -13, "a callback returned an error")         \
  X(EINTERNAL, -14, "internal error")

/**
 * @brief Status codes returned by every function.
 *
 * - #SLOTQ_OK: success.
 * - #SLOTQ_EINVAL: a NULL handle or required pointer, a string with a NULL
 *   pointer and a non-zero length, a negative timeout other than
 *   #SLOTQ_FOREVER, a state index out of range, or duplicate config keys.
 * - #SLOTQ_ENOMEM: an allocation failed; nothing was changed.
 * - #SLOTQ_ETIMEDOUT: the call's own timeout passed (also for a timeout of 0
 *   when nothing was ready).
 * - #SLOTQ_ECANCELED: the cancellation token passed to the call (or to
 *   slotq_start_dequeuer()) fired, by slotq_cancel_cancel(), through its parent
 *   or at its deadline.
 * - #SLOTQ_ESTOPPED: the dequeuer was stopped.
 * - #SLOTQ_EGONE: the token was already acquired, ejected or closed, so this
 *   party does not get it.
 * - #SLOTQ_ESTATE: the operation is not valid now: exiting a state whose
 *   counter is zero (the seed panics there), or using a token that has not been
 *   acquired.
 * - #SLOTQ_EWRONGQUEUE: slotq_eject() with a token of another queue.
 * - #SLOTQ_EBUSY: slotq_mgr_delete() on a queue that is not idle, or a second
 *   thread calling slotq_dequeuer_next() on a dequeuer already in that call.
 * - #SLOTQ_ENOTFOUND: slotq_mgr_delete() on a queue the manager does not hold.
 * - #SLOTQ_EOVERLOAD: a get was refused because the queue has as many waiters
 *   as its manager allows (load shedding).
 * - #SLOTQ_ESLOT: the slot's error callback reported an error.
 * - #SLOTQ_ECALLBACK: a host callback returned a non-zero code (passed back
 *   through an out parameter).
 * - #SLOTQ_EINTERNAL: an unexpected internal failure; a bug, please report it.
 */
typedef enum slotq_status {
  SLOTQ_OK = 0,           /**< Success. */
  SLOTQ_EINVAL = -1,      /**< Invalid argument. */
  SLOTQ_ENOMEM = -2,      /**< Out of memory; nothing was changed. */
  SLOTQ_ETIMEDOUT = -3,   /**< The call's own timeout passed. */
  SLOTQ_ECANCELED = -4,   /**< A cancellation token passed to the call fired. */
  SLOTQ_ESTOPPED = -5,    /**< The dequeuer was stopped. */
  SLOTQ_EGONE = -6,       /**< The slot was already acquired, ejected or closed. */
  SLOTQ_ESTATE = -7,      /**< Not valid in the current state. */
  SLOTQ_EWRONGQUEUE = -8, /**< The token belongs to another queue. */
  SLOTQ_EBUSY = -9,       /**< Busy: a queue not idle, a dequeuer already in use. */
  SLOTQ_ENOTFOUND = -10,  /**< Not found. */
  SLOTQ_EOVERLOAD = -11,  /**< Too many waiters (or parties in a state). */
  SLOTQ_ESLOT = -12,      /**< The slot reported its own error. */
  SLOTQ_ECALLBACK = -13,  /**< A host callback returned an error. */
  SLOTQ_EINTERNAL = -14   /**< An internal failure: a bug, please report it. */
} slotq_status;

/**
 * @brief A static English message for a status, e.g. "timed out".
 *
 * Unknown values give "unknown status". Never returns NULL, never fails.
 * @param status a status code.
 * @return a static string; never NULL.
 */
SLOTQ_API const char *slotq_strerror(int status);

/**
 * @brief The status's name, e.g. "SLOTQ_ETIMEDOUT"; "SLOTQ_UNKNOWN" for unknown values.
 * @param status a status code.
 * @return a static string; never NULL.
 */
SLOTQ_API const char *slotq_status_name(int status);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Handles
 *  Opaque handle types. Their ownership rules are written at each type.
 *  @{ */

/**
 * @brief A manager: a table from slot key to slot queue (the seed's slotQueueMgr).
 *
 * Owned by its creator: create with slotq_mgr_create(), destroy once with
 * slotq_mgr_destroy(). Thread-safe.
 */
typedef struct slotq_mgr_s slotq_mgr_t;

/**
 * @brief A slot queue: the LIFO stack of idle slots of one function, its state
 * counters, latency averages and launch signal (the seed's slotQueue).
 *
 * Reference counted. Every function that hands out a queue handle
 * (slotq_queue_create(), slotq_mgr_get()) gives the caller one reference, which
 * it must drop with slotq_queue_release(); slotq_queue_retain() adds one. A
 * manager holds its own reference to each queue in its table, and each
 * dequeuer holds one to its queue.
 *
 * When the last reference is dropped, the queue **shuts down**: every slot
 * still on its stack is discarded (its token's trigger fires with state
 * #SLOTQ_TOKEN_DISCARDED and its close callback runs, on the releasing thread),
 * so no container waits forever on a queue nobody can reach. Tokens keep the
 * queue's memory alive until they are released, so a token is always safe to
 * use. Thread-safe.
 */
typedef struct slotq_queue_s slotq_queue_t;

/**
 * @brief A slot token: one offer of one slot (the seed's slotToken).
 *
 * Reference counted: slotq_queue_slot() and slotq_dequeuer_next() each hand out
 * one reference, dropped with slotq_token_release(). A token stays valid, and
 * every function on it stays safe, until its last reference is dropped, whatever
 * happened to the slot or the queue meanwhile. Thread-safe.
 */
typedef struct slotq_token_s slotq_token_t;

/**
 * @brief A dequeuer: one caller's cancellable wait for slots of one queue.
 *
 * Owned by its creator: slotq_start_dequeuer() creates it, slotq_dequeuer_free()
 * frees it. No thread is created for it: it waits in slotq_dequeuer_next() on
 * the calling thread. Its functions may be called from any thread, but only
 * one thread at a time may be inside slotq_dequeuer_next().
 */
typedef struct slotq_dequeuer_s slotq_dequeuer_t;

/**
 * @brief A cancellation token (the role of Go's context.Context cancellation).
 *
 * Reference counted: the create functions hand out one reference, dropped with
 * slotq_cancel_release(). Once cancelled it stays cancelled. Thread-safe.
 */
typedef struct slotq_cancel_s slotq_cancel_t;

/**
 * @brief A callback registered on a cancellation token with slotq_cancel_on_cancel().
 *
 * Owned by its creator, freed by slotq_cancel_unregister().
 */
typedef struct slotq_cancel_reg_s slotq_cancel_reg_t;
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Time
 *  @{ */

/** @brief A timeout meaning "wait without a timeout". */
#define SLOTQ_FOREVER ((int64_t)-1)

/**
 * @brief Now, on the monotonic clock the library uses for deadlines, in nanoseconds.
 *
 * Use it to build the absolute deadline of slotq_cancel_create_deadline().
 * Never fails.
 * @return nanoseconds on CLOCK_MONOTONIC.
 */
SLOTQ_API int64_t slotq_now_ns(void);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Calls and slot keys
 *  @{ */

/** @brief A byte string: a pointer and a length. It may contain NUL bytes and
 *  need not be NUL-terminated; `ptr` may be NULL only when `len` is 0. */
typedef struct slotq_str {
  const char *ptr; /**< First byte, or NULL for the empty string. */
  size_t len;      /**< Number of bytes. */
} slotq_str;

/** @brief A #slotq_str from a string literal: `SLOTQ_STR("http")`. */
#define SLOTQ_STR(literal) \
  { (literal), sizeof(literal) - 1 }

/** @brief One configuration entry of a call. */
typedef struct slotq_kv {
  slotq_str key;   /**< The variable's name. */
  slotq_str value; /**< Its value. */
} slotq_kv;

/**
 * @brief The parts of a function call that identify its slot queue (the fields
 * of the Go agent's call that the seed's getSlotQueueKey reads).
 *
 * The library never keeps a pointer into it: it may be freed as soon as the
 * function it was passed to returns.
 */
typedef struct slotq_call {
  slotq_str app_name;     /**< The application's name. */
  slotq_str path;         /**< The route's path. */
  slotq_str image;        /**< The container image. */
  slotq_str format;       /**< The function's I/O format, e.g. "http". */
  int32_t timeout;        /**< The call's timeout, in seconds. */
  int32_t idle_timeout;   /**< The hot container's idle timeout, in seconds. */
  uint64_t memory;        /**< Memory, in MiB. */
  const slotq_kv *config; /**< `config_len` entries in any order, keys distinct;
                              may be NULL when `config_len` is 0. */
  size_t config_len;      /**< Number of entries in `config`. */
} slotq_call;

/** @brief Size of a slot key in bytes (a SHA-1 digest). */
#define SLOTQ_KEY_SIZE 20

/** @brief The identity of a function: the SHA-1 key of its call. */
typedef struct slotq_key {
  unsigned char bytes[SLOTQ_KEY_SIZE]; /**< The raw digest. */
} slotq_key;

/**
 * @brief Computes the slot key of a call, exactly as the seed's getSlotQueueKey.
 *
 * The key is the SHA-1 of: app_name, path, image, timeout, idle_timeout, memory,
 * format, each followed by one NUL byte (integers in decimal), then every config
 * entry as key NUL value NUL, in increasing byte order of the keys.
 *
 * @param call the call; not retained.
 * @param[out] out the 20-byte key.
 * @return #SLOTQ_OK; #SLOTQ_EINVAL if `call` or `out` is NULL, a string has a
 *   NULL pointer with a non-zero length, `config` is NULL with a non-zero
 *   `config_len`, or two config entries have the same key (a Go map cannot
 *   hold both, so no seed key exists for the call); #SLOTQ_ENOMEM.
 *   Never blocks; thread-safe.
 */
SLOTQ_API int slotq_call_key(const slotq_call *call, slotq_key *out);

/**
 * @brief Writes the printable form of a key: 40 lowercase hex digits and a NUL.
 *
 * @param key the key.
 * @param[out] out a buffer of at least 41 bytes.
 * @return #SLOTQ_OK, or #SLOTQ_EINVAL if either pointer is NULL.
 */
SLOTQ_API int slotq_key_hex(const slotq_key *key, char *out);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Cancellation tokens
 *  @{ */

/**
 * @brief Creates a cancellation token that fires only when cancelled.
 * @param[out] out the new token, with one reference for the caller.
 * @return #SLOTQ_OK, #SLOTQ_EINVAL (NULL `out`) or #SLOTQ_ENOMEM.
 */
SLOTQ_API int slotq_cancel_create(slotq_cancel_t **out);

/**
 * @brief Creates a token that fires when cancelled or when `parent` fires.
 *
 * The child holds a reference to its parent until the child is freed. If the
 * parent already fired, the child is created cancelled.
 *
 * @param parent the parent token; the child holds a reference to it.
 * @param out the new token, with one reference for the caller.
 * @return #SLOTQ_OK, #SLOTQ_EINVAL (NULL argument) or #SLOTQ_ENOMEM.
 */
SLOTQ_API int slotq_cancel_create_child(slotq_cancel_t *parent, slotq_cancel_t **out);

/**
 * @brief Creates a token that fires at an absolute deadline, when cancelled, or
 * when `parent` (which may be NULL) fires.
 *
 * @param parent an optional parent token.
 * @param deadline_ns the deadline on the slotq_now_ns() clock. A deadline in
 *   the past creates a token that has already fired.
 * @param[out] out the new token.
 *
 * Blocking calls given this token wait no longer than the deadline. Callbacks
 * registered on it (and children of it) are fired at the deadline by the
 * library's one timer thread, which is started on first need and exits when it
 * has no deadline left to watch.
 *
 * @return #SLOTQ_OK, #SLOTQ_EINVAL (NULL `out`) or #SLOTQ_ENOMEM.
 */
SLOTQ_API int slotq_cancel_create_deadline(slotq_cancel_t *parent, int64_t deadline_ns,
                                           slotq_cancel_t **out);

/**
 * @brief Cancels a token: every blocking call waiting on it returns
 * #SLOTQ_ECANCELED, its callbacks run, and its children fire.
 *
 * The callbacks and children are run on the calling thread, before this
 * returns, without any library lock held, one at a time in the order they
 * were registered (a child registers when it is created; a dequeuer started
 * with the token, when it is started). Cancelling twice is harmless. A token
 * that has already fired is left as it is: if another thread (a cancel of it
 * or of its parent, or the timer at its deadline) is still running its
 * callbacks, this returns without waiting for them.
 *
 * @param cancel the token.
 * @return #SLOTQ_OK, or #SLOTQ_EINVAL if `cancel` is NULL.
 */
SLOTQ_API int slotq_cancel_cancel(slotq_cancel_t *cancel);

/**
 * @brief Whether the token has fired, and why.
 *
 * @param[out] reason #SLOTQ_OK if it has not fired, #SLOTQ_ECANCELED if it was
 *   cancelled (directly or through its parent), #SLOTQ_ETIMEDOUT if its
 *   deadline (or an ancestor's) passed first. The first reason stays.
 * @param cancel the token.
 * @return #SLOTQ_OK, or #SLOTQ_EINVAL on a NULL argument. Never blocks.
 */
SLOTQ_API int slotq_cancel_reason(const slotq_cancel_t *cancel, int *reason);

/** @brief A function called once when a cancellation token fires. */
typedef void (*slotq_cancel_fn)(void *arg);

/**
 * @brief Registers a callback to run once when the token fires.
 *
 * If the token has already fired, `fn` runs on the calling thread before this
 * returns. Otherwise it runs on the thread that cancels the token (or its
 * parent); for a deadline, on the library's timer thread, or on a thread that
 * registers on the token once the deadline has passed (slotq_cancel_on_cancel(),
 * slotq_cancel_create_child(), slotq_start_dequeuer()), whichever comes
 * first. A blocking call never runs it: it sees a passed deadline as fired
 * and returns, leaving the callbacks to those threads. It runs without any
 * library lock held, and may call any library function, including
 * slotq_cancel_cancel() on other tokens, slotq_cancel_unregister() on its own
 * registration and slotq_cancel_release() of the token's last reference.
 *
 * @param[out] reg the registration; pass it to slotq_cancel_unregister() once
 *   the callback is no longer wanted (also after it ran), to free it.
 * @param cancel the token; the registration holds a reference to it until unregistered.
 * @param fn the callback, run at most once.
 * @param arg the host's argument, passed to `fn` unchanged.
 * @return #SLOTQ_OK, #SLOTQ_EINVAL (NULL `cancel`, `fn` or `reg`) or #SLOTQ_ENOMEM.
 */
SLOTQ_API int slotq_cancel_on_cancel(slotq_cancel_t *cancel, slotq_cancel_fn fn, void *arg,
                                     slotq_cancel_reg_t **reg);

/**
 * @brief Removes a registration and frees it.
 *
 * After it returns the callback is not running and will never run, except when
 * called from inside that callback itself (then the callback is simply left to
 * finish). If the callback is running on another thread, this waits for it.
 *
 * @param reg the registration (NULL is a no-op returning #SLOTQ_EINVAL).
 * @param[out] ran optional: set to 1 if the callback ran (or is running), 0 if
 *   it never will.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_cancel_unregister(slotq_cancel_reg_t *reg, int *ran);

/**
 * @brief Adds a reference.
 * @param cancel the token.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL (NULL).
 */
SLOTQ_API int slotq_cancel_retain(slotq_cancel_t *cancel);

/**
 * @brief Drops a reference; the token is freed with the last one. NULL is a no-op.
 *
 * Never waits for callbacks: if the token's parent is being cancelled on
 * another thread, that thread holds the token until it has run its callbacks.
 *
 * @param cancel the token, or NULL.
 */
SLOTQ_API void slotq_cancel_release(slotq_cancel_t *cancel);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Slot queues
 *  @{ */

/** @brief The largest key slotq_queue_create() accepts, in bytes. */
#define SLOTQ_MAX_QUEUE_KEY 64

/**
 * @brief Creates a queue outside any manager (the seed's NewSlotQueue).
 *
 * @param key the queue's key, any bytes (usually a #slotq_key), copied.
 * @param key_len its length, at most #SLOTQ_MAX_QUEUE_KEY.
 * @param[out] out the queue, with one reference for the caller.
 * @return #SLOTQ_OK, #SLOTQ_EINVAL (NULL `out`, NULL `key` with a non-zero
 *   length, or a key too long) or #SLOTQ_ENOMEM.
 */
SLOTQ_API int slotq_queue_create(const void *key, size_t key_len, slotq_queue_t **out);

/**
 * @brief Adds a reference.
 * @param queue the queue.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL (NULL).
 */
SLOTQ_API int slotq_queue_retain(slotq_queue_t *queue);

/**
 * @brief Drops a reference. With the last one the queue shuts down (see
 * #slotq_queue_t): slots still on its stack are discarded and their close
 * callbacks run on this thread. NULL is a no-op.
 * @param queue the queue, or NULL.
 */
SLOTQ_API void slotq_queue_release(slotq_queue_t *queue);

/**
 * @brief Copies the queue's key.
 *
 * @param buf where to copy it; may be NULL when `cap` is 0.
 * @param cap the size of `buf`.
 * @param[out] len the key's full length (to size `buf` first).
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @return #SLOTQ_OK, or #SLOTQ_EINVAL (NULL `queue` or `len`, or `cap` smaller
 *   than the key with a non-NULL `buf`).
 */
SLOTQ_API int slotq_queue_key(const slotq_queue_t *queue, void *buf, size_t cap, size_t *len);

/**
 * @brief Callbacks of one slot: how the library and callers use a container's slot.
 *
 * The table is not copied: it must stay valid while any token made with it
 * exists (usually it is a static constant). `slot` is the host's pointer given
 * to slotq_queue_slot(). All members may be NULL: a NULL `exec`, `close` or
 * `error` behaves as one that returns 0.
 */
typedef struct slotq_slot_ops {
  /**
   * Runs a call on the slot: the seed's Slot.exec. Called by
   * slotq_token_exec() on the thread that calls it, with its cancellation
   * token (may be NULL) and its `call_arg`. Returns 0 or a host error code.
   */
  int (*exec)(void *slot, slotq_cancel_t *cancel, void *call_arg);
  /**
   * Releases the slot: the seed's Slot.Close. Runs at most once per token: by
   * slotq_eject(), by slotq_token_close() after a caller used it, or when the
   * queue shuts down with the slot on its stack, on the thread calling that
   * function. Its return value is passed back by slotq_token_close() and
   * otherwise ignored.
   */
  int (*close)(void *slot);
  /**
   * Reports the slot's own error, 0 for none: the seed's Slot.Error (a slot
   * may stand for a container that failed to start). Called by
   * slotq_token_error() on its calling thread, possibly many times.
   */
  int (*error)(void *slot);
  /**
   * Called once, when the library drops its last use of `slot` (the token is
   * freed), on the thread that drops the last token reference. Lets a binding
   * free what keeps `slot` alive. Must not call back into the library on this
   * token.
   */
  void (*release)(void *slot);
  /**
   * Called once when the token's trigger fires: with #SLOTQ_TOKEN_ACQUIRED
   * on the thread that acquired it, or with #SLOTQ_TOKEN_EJECTED /
   * #SLOTQ_TOKEN_DISCARDED after the close callback, on the thread that ran
   * it. Lets an event-driven container learn it without a thread blocked in
   * slotq_token_wait(). Runs without library locks; may call the library.
   */
  void (*trigger)(void *slot, int state);
} slotq_slot_ops;

/**
 * @brief Offers a slot: pushes a new token on top of the queue's stack (the
 * seed's queueSlot).
 *
 * If a dequeuer is waiting, the token goes straight to the one that has waited
 * longest and it wakes; otherwise it waits on the stack. The token's id is the
 * queue's next sequence number (0, 1, 2, ...).
 *
 * @param slot the host's pointer, passed to every callback.
 * @param ops the callbacks; must outlive the token.
 * @param[out] token the new token, with one reference for the caller (the
 *   container side), used to wait for its trigger or eject it.
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @return #SLOTQ_OK, #SLOTQ_EINVAL (NULL `queue`, `ops` or `token`) or
 *   #SLOTQ_ENOMEM. Never blocks beyond a short internal lock.
 */
SLOTQ_API int slotq_queue_slot(slotq_queue_t *queue, void *slot, const slotq_slot_ops *ops,
                               slotq_token_t **token);

/**
 * @brief Takes an idle slot back (the seed's ejectSlot): succeeds once, only if
 * no caller acquired the token first.
 *
 * On success the token leaves the stack (in O(1)), its state becomes
 * #SLOTQ_TOKEN_EJECTED, its trigger fires, and its close callback runs on this
 * thread before this returns. A token that a dequeuer handed out but nobody
 * acquired yet can be ejected too; its acquire then fails.
 *
 * @param queue the queue the token was queued on.
 * @param token the container's token.
 * @return #SLOTQ_OK if this call ejected it; #SLOTQ_EGONE if it was already
 *   acquired, ejected or discarded (so a caller is using it: serve the call);
 *   #SLOTQ_EWRONGQUEUE if the token was queued on another queue;
 *   #SLOTQ_EINVAL on a NULL argument.
 */
SLOTQ_API int slotq_eject(slotq_queue_t *queue, slotq_token_t *token);

/**
 * @brief The number of slots on the queue's stack now (idle, not handed out).
 *
 * Counts them under the queue's lock: O(idle slots), for metrics and tests
 * rather than a hot path.
 *
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @param len the number of idle slots.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL (NULL argument).
 */
SLOTQ_API int slotq_queue_len(const slotq_queue_t *queue, size_t *len);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Slot tokens
 *  @{ */

/** @brief Where a token is in its life. */
typedef enum slotq_token_state {
  /** On the queue's stack, waiting for a caller. */
  SLOTQ_TOKEN_QUEUED = 0,
  /** Handed out by slotq_dequeuer_next(), not acquired yet. */
  SLOTQ_TOKEN_LENT = 1,
  /** Acquired by a caller. Final; the trigger has fired. */
  SLOTQ_TOKEN_ACQUIRED = 2,
  /** Ejected by slotq_eject(). Final; the trigger has fired, close ran. */
  SLOTQ_TOKEN_EJECTED = 3,
  /** Discarded because its queue shut down. Final; the trigger has fired, close ran. */
  SLOTQ_TOKEN_DISCARDED = 4
} slotq_token_state;

/**
 * @brief Adds a reference.
 * @param token the token.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL (NULL).
 */
SLOTQ_API int slotq_token_retain(slotq_token_t *token);

/**
 * @brief Drops a reference; the token is freed with the last one (then the
 * slot's `release` callback runs on this thread). NULL is a no-op.
 *
 * Dropping the container's reference does not take the slot off the queue:
 * eject it first if it should go.
 * @param token the token, or NULL.
 */
SLOTQ_API void slotq_token_release(slotq_token_t *token);

/**
 * @brief The token's id: its sequence number in its queue (the seed's id).
 * @param token the token; the caller keeps its reference for the duration of the call.
 * @param id the id.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL (NULL argument).
 */
SLOTQ_API int slotq_token_id(const slotq_token_t *token, uint64_t *id);

/**
 * @brief The host pointer the slot was queued with.
 * @param token the token; the caller keeps its reference for the duration of the call.
 * @param slot the host pointer.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL (NULL argument).
 */
SLOTQ_API int slotq_token_slot(const slotq_token_t *token, void **slot);

/**
 * @brief The token's state now, and whether its close callback has run.
 *
 * @param[out] state a #slotq_token_state.
 * @param[out] closed optional: 1 once the slot's close callback has run.
 * @param token the token; the caller keeps its reference for the duration of the call.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL (NULL `token` or `state`). Never blocks.
 */
SLOTQ_API int slotq_token_state_get(const slotq_token_t *token, int *state, int *closed);

/**
 * @brief Claims the slot for the calling party (the seed's acquireSlot).
 *
 * Succeeds for exactly one party per token, and never after an eject. On
 * success the token's state becomes #SLOTQ_TOKEN_ACQUIRED and its trigger
 * fires (waking the container in slotq_token_wait()). The caller then owns the
 * slot's use: it runs calls with slotq_token_exec() and gives the slot back
 * with slotq_token_close().
 *
 * @param token the token, usually from slotq_dequeuer_next().
 * @return #SLOTQ_OK if this call acquired it; #SLOTQ_EGONE if it was already
 *   acquired, ejected or discarded; #SLOTQ_EINVAL (NULL). Never blocks
 *   beyond a short internal lock.
 */
SLOTQ_API int slotq_token_acquire(slotq_token_t *token);

/**
 * @brief Waits for the token's trigger: until it is acquired, ejected or
 * discarded (the container side of the seed's runHot).
 *
 * @param timeout_ns see the conventions; 0 polls.
 * @param cancel optional cancellation token.
 * @param[out] state optional: the token's state when this returns.
 * @param token the token; the caller keeps its reference for the duration of the call.
 * @return #SLOTQ_OK once triggered, #SLOTQ_ETIMEDOUT, #SLOTQ_ECANCELED or
 *   #SLOTQ_EINVAL. Blocks the calling thread (spinning briefly first).
 */
SLOTQ_API int slotq_token_wait(slotq_token_t *token, int64_t timeout_ns, slotq_cancel_t *cancel,
                               int *state);

/**
 * @brief Waits until the slot's close callback has run: for an acquired token,
 * until the caller gave the slot back with slotq_token_close().
 *
 * @param token the token; the caller keeps its reference for the duration of the call.
 * @param timeout_ns how long to wait: 0 polls, #SLOTQ_FOREVER waits without a timeout.
 * @param cancel optional cancellation token.
 * @return #SLOTQ_OK once closed, #SLOTQ_ETIMEDOUT, #SLOTQ_ECANCELED or
 *   #SLOTQ_EINVAL. Blocks the calling thread (spinning briefly first).
 */
SLOTQ_API int slotq_token_wait_closed(slotq_token_t *token, int64_t timeout_ns,
                                      slotq_cancel_t *cancel);

/**
 * @brief Runs a call on an acquired slot: the exec callback, timed as the
 * queue's Runner state (the seed's hot slot does the same).
 *
 * Enters #SLOTQ_RUNNER, calls `ops->exec(slot, cancel, call_arg)` on this
 * thread, then exits #SLOTQ_RUNNER recording the elapsed nanoseconds as its
 * latency. The cancellation token is only handed to the callback, which
 * decides how to honour it.
 *
 * @param[out] exec_rc optional: the callback's return value.
 * @param token the token; the caller keeps its reference for the duration of the call.
 * @param cancel optional cancellation token handed to the callback.
 * @param call_arg the host's description of the call, handed to the callback.
 * @return #SLOTQ_OK if the callback returned 0, #SLOTQ_ECALLBACK if it
 *   returned non-zero, #SLOTQ_ESTATE if the token is not acquired or was
 *   already closed, #SLOTQ_EINVAL (NULL `token`).
 */
SLOTQ_API int slotq_token_exec(slotq_token_t *token, slotq_cancel_t *cancel, void *call_arg,
                               int *exec_rc);

/**
 * @brief Asks the slot for its own error (the seed's Slot.Error).
 *
 * @param[out] slot_err the error callback's result (0 for none, or without an
 *   error callback).
 * @param token the token; the caller keeps its reference for the duration of the call.
 * @return #SLOTQ_OK, or #SLOTQ_EINVAL on a NULL argument.
 */
SLOTQ_API int slotq_token_error(slotq_token_t *token, int *slot_err);

/**
 * @brief Gives an acquired slot back after use: runs its close callback (the
 * seed's caller calling Slot.Close), at most once per token, on the calling
 * thread; then wakes the threads in slotq_token_wait_closed() on it.
 *
 * @param[out] close_rc optional: the close callback's return value (0 if
 *   the slot has no close callback).
 * @param token the token; the caller keeps its reference for the duration of the call.
 * @return #SLOTQ_OK; #SLOTQ_ESTATE if the token is queued or lent (acquire it
 *   first); #SLOTQ_EGONE if its close callback already ran (closed twice, or
 *   ejected or discarded); #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_token_close(slotq_token_t *token, int *close_rc);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Dequeuers
 *  @{ */

/**
 * @brief Starts a caller's wait for slots of a queue (the seed's startDequeuer).
 *
 * No thread is started: slots are handed out by slotq_dequeuer_next() on the
 * caller's thread.
 *
 * @param queue the queue; the dequeuer holds a reference to it.
 * @param cancel optional: when it fires, the dequeuer behaves as stopped and a
 *   waiting slotq_dequeuer_next() returns #SLOTQ_ECANCELED at once. The
 *   dequeuer holds a reference to it.
 * @param[out] out the dequeuer, owned by the caller (slotq_dequeuer_free()).
 * @return #SLOTQ_OK, #SLOTQ_EINVAL (NULL `queue` or `out`) or #SLOTQ_ENOMEM.
 */
SLOTQ_API int slotq_start_dequeuer(slotq_queue_t *queue, slotq_cancel_t *cancel,
                                   slotq_dequeuer_t **out);

/**
 * @brief Takes the newest idle slot (LIFO), waiting for one if there is none.
 *
 * The token returned is **lent** to this dequeuer: #SLOTQ_TOKEN_LENT until
 * somebody acquires or ejects it. Ejected tokens are never handed out, and a
 * token ejected after it was handed out fails to acquire.
 *
 * A lent token that nobody acquired is **returned to the queue**, on top of
 * the stack (or straight to another waiting dequeuer), when this dequeuer
 * calls slotq_dequeuer_next() again, is stopped, or is freed. The slot is not
 * closed and the container never notices: no slot is lost (the seed instead
 * closes such a slot, making its container queue again). The dequeuer
 * holds its reference to a lent token until then, even once acquired: the
 * slot's `release` callback runs only after that (and after every other
 * reference is dropped).
 *
 * @param timeout_ns see the conventions; 0 takes a slot only if one is idle.
 *   The timeout runs from when the call first finds no idle slot, so a call
 *   that finds one does not read the clock.
 * @param cancel optional cancellation token for this call, besides the
 *   dequeuer's own.
 * @param[out] token a new reference to the token, for the caller to release.
 * @param deq the dequeuer.
 * @return #SLOTQ_OK; #SLOTQ_ETIMEDOUT; #SLOTQ_ECANCELED if either token fired;
 *   #SLOTQ_ESTOPPED if the dequeuer is stopped; #SLOTQ_EBUSY if another thread
 *   is inside slotq_dequeuer_next() on this dequeuer; #SLOTQ_EINVAL.
 *   Blocks: spins briefly, then sleeps until a slot is handed to it directly
 *   (one waiter is woken per slot), the timeout passes, a token fires or the
 *   dequeuer is stopped.
 */
SLOTQ_API int slotq_dequeuer_next(slotq_dequeuer_t *deq, int64_t timeout_ns, slotq_cancel_t *cancel,
                                  slotq_token_t **token);

/** @brief A notification callback: "something is ready", with the host's argument. */
typedef void (*slotq_notify_fn)(void *arg);

/**
 * @brief Sets the callback of an event-driven dequeuer (see slotq_dequeuer_arm()).
 *
 * @param fn called once per notification, never under a library lock; may be
 *   NULL to use only the file descriptor. It may call the library, including
 *   slotq_dequeuer_next() and slotq_dequeuer_arm() on this dequeuer, but it
 *   should be short: it runs on the thread that handed the dequeuer its slot
 *   or stopped it. That is the thread that queued the slot, or one that gave
 *   a lent slot back (slotq_dequeuer_next(), _stop(), _free() or _arm() on
 *   another dequeuer, or a cancellation of another dequeuer's token: on the
 *   thread that cancels, the library's timer thread for a deadline), or the
 *   thread that stopped or cancelled this one.
 * @param deq the dequeuer.
 * @param arg the host's argument, passed to `fn` unchanged.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL (NULL `deq`). Call it before arming.
 */
SLOTQ_API int slotq_dequeuer_set_notify(slotq_dequeuer_t *deq, slotq_notify_fn fn, void *arg);

/**
 * @brief A pollable file descriptor (an eventfd) for an event-driven dequeuer.
 *
 * Each notification adds one to the eventfd's counter, making it readable;
 * read it (8 bytes) to reset it. Created on the first call, owned by the
 * dequeuer and closed by slotq_dequeuer_free(): do not close it yourself.
 * Get it before slotq_dequeuer_arm(): notifications made before the
 * descriptor exists are not counted in it.
 *
 * @param deq the dequeuer.
 * @param fd the eventfd.
 * @return #SLOTQ_OK, #SLOTQ_EINVAL, or #SLOTQ_ENOMEM when no descriptor can be made.
 */
SLOTQ_API int slotq_dequeuer_fd(slotq_dequeuer_t *deq, int *fd);

/**
 * @brief Asks for one notification, instead of blocking in slotq_dequeuer_next().
 *
 * When a slot is handed to this dequeuer, or it is stopped, or its
 * cancellation token fires, the dequeuer notifies once: it calls the callback
 * of slotq_dequeuer_set_notify() and signals its slotq_dequeuer_fd(). The host
 * then calls slotq_dequeuer_next() with a timeout of 0, which returns the
 * slot (or #SLOTQ_ESTOPPED / #SLOTQ_ECANCELED) without blocking, and arms
 * again when it wants another. If a slot is idle already, it is handed at
 * once and the notification happens on this thread before this returns.
 *
 * A slot handed to an armed dequeuer is lent to it just as slotq_dequeuer_next()
 * lends one, and goes back to the queue in the same cases. No thread waits: a
 * host with a few threads can serve thousands of armed dequeuers.
 *
 * @param deq the dequeuer.
 * @return #SLOTQ_OK; #SLOTQ_ESTOPPED (after notifying) if stopped;
 *   #SLOTQ_ENOMEM; #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_dequeuer_arm(slotq_dequeuer_t *deq);

/**
 * @brief Stops the dequeuer (the seed's cancel func): a thread waiting in
 * slotq_dequeuer_next() returns #SLOTQ_ESTOPPED at once, later calls do too,
 * and a lent, unacquired token goes back to the queue.
 *
 * The caller keeps its reference to that token (release it as usual).
 * slotq_token_acquire() on it still competes for the slot, as on any token
 * of the queue: it may win even after the slot was lent to another caller,
 * who then gets #SLOTQ_EGONE. The same holds when the dequeuer's
 * cancellation token fires, and after slotq_dequeuer_free().
 *
 * @param deq the dequeuer.
 * @return #SLOTQ_OK; #SLOTQ_ESTOPPED if it was already stopped (harmless);
 *   #SLOTQ_EINVAL (NULL).
 */
SLOTQ_API int slotq_dequeuer_stop(slotq_dequeuer_t *deq);

/**
 * @brief Stops (if needed) and frees a dequeuer, dropping its queue and
 * cancellation references. NULL is a no-op.
 *
 * A slot it holds (lent and not acquired, or handed while armed and not
 * collected) goes back to the queue. Once this is called, no notification of
 * the dequeuer starts: one decided but not yet delivered is dropped (no
 * callback, no eventfd write). If its callback is running on another thread,
 * this sleeps until that callback returns (so two callbacks running at once
 * must not free each other's dequeuers: each would wait for the other);
 * called from inside its own notification callback, it returns at once and
 * the dequeuer is freed when the callback returns. It never waits for a
 * notification that has not started, so it may be called from any callback,
 * including another dequeuer's callback on the thread that owes this one a
 * notification; the dequeuer is then freed (its references dropped, its
 * eventfd closed) when that thread reaches the dropped notification.
 *
 * While its cancellation token is firing on another thread, this waits only
 * until that firing has given the dequeuer's slots back, which runs no host
 * code. It never waits for the notification of the dequeuer a slot went to,
 * which the firing thread delivers afterwards: that dequeuer's callback may
 * wait for the thread calling this.
 *
 * No thread may be inside slotq_dequeuer_next() on it, or use it afterwards:
 * stop it and let that call return first. The same holds for
 * slotq_dequeuer_stop() and slotq_dequeuer_arm() called by other threads
 * (other than from its callback, above): they must return before this is
 * called. (The library cannot detect a use after free.)
 * @param deq the dequeuer, or NULL.
 */
SLOTQ_API void slotq_dequeuer_free(slotq_dequeuer_t *deq);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name State counters, latencies and the launch policy
 *  @{ */

/** @brief The states a queue counts parties in (the seed's SlotQueueMetricType). */
typedef enum slotq_state {
  SLOTQ_RUNNER = 0,     /**< Running a call on a slot. */
  SLOTQ_STARTER = 1,    /**< Starting a container. */
  SLOTQ_WAITER = 2,     /**< Waiting for a slot. */
  SLOTQ_STATE_COUNT = 3 /**< Number of states (the seed's SlotQueueLast). */
} slotq_state;

/** @brief A snapshot of a queue's counters (the seed's slotQueueStats). */
typedef struct slotq_stats {
  uint64_t states[SLOTQ_STATE_COUNT];        /**< Parties in each state now. */
  uint64_t latency_count[SLOTQ_STATE_COUNT]; /**< Latency samples recorded. */
  uint64_t latencies[SLOTQ_STATE_COUNT];     /**< Moving average of each state's latency. */
} slotq_stats;

/**
 * @brief Counts one more party in `state`.
 *
 * A queue counts up to 2^32 - 1 parties per state (the snapshot is 64-bit,
 * as the seed's): that keeps a queue small, and no host has four billion
 * parties in one state unless it forgot to exit it.
 *
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @param state a #slotq_state.
 * @return #SLOTQ_OK; #SLOTQ_EOVERLOAD if the counter is full (nothing
 *   changes); #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_queue_enter_state(slotq_queue_t *queue, int state);

/**
 * @brief Counts one party less in `state`.
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @param state a #slotq_state.
 * @return #SLOTQ_OK; #SLOTQ_ESTATE if the counter is zero (nothing changes);
 *   #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_queue_exit_state(slotq_queue_t *queue, int state);

/**
 * @brief Counts one party less in `state` and records how long it was there,
 * atomically (the seed's exitStateWithLatency).
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @param state a #slotq_state.
 * @param latency the latency sample, in the host's unit.
 * @return #SLOTQ_OK; #SLOTQ_ESTATE if the counter is zero (nothing changes,
 *   not even the latency); #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_queue_exit_state_latency(slotq_queue_t *queue, int state, uint64_t latency);

/**
 * @brief Records one latency sample of `state` (the seed's recordLatency).
 *
 * The average is the seed's moving average with factor 0.5, in unsigned
 * 64-bit integer arithmetic (it wraps as Go's does): the first sample after
 * creation is counted but not averaged in, and each later one sets
 * `avg = (avg * 5 + latency * 5) / 10`.
 *
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @param state a #slotq_state.
 * @param latency the latency sample, in the host's unit.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_queue_record_latency(slotq_queue_t *queue, int state, uint64_t latency);

/**
 * @brief A consistent snapshot of the counters.
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @param out the snapshot.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_queue_stats(const slotq_queue_t *queue, slotq_stats *out);

/**
 * @brief Whether nobody is waiting, running or starting on the queue (its idle
 * slots do not count).
 * @param[out] idle 1 or 0.
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_queue_is_idle(const slotq_queue_t *queue, int *idle);

/**
 * @brief The seed's launch policy: whether another container should start.
 *
 * With W waiters, S starters, R runners and the latency averages of the
 * snapshot: no if W is 0; no if S >= W; yes if S + R is 0; no if the wait
 * average is 0; yes if `run / (S + R) * 2 < wait`, or `run < wait`, or
 * `start < wait`; otherwise no.
 *
 * @param[out] needed 1 or 0.
 * @param[out] stats optional: the snapshot the decision was made on.
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_queue_is_new_container_needed(const slotq_queue_t *queue, int *needed,
                                                  slotq_stats *stats);

/**
 * @brief Asks the queue's launcher to look at it (the seed's non-blocking send
 * on its one-slot signaller channel).
 *
 * @param[out] sent optional: 1 if the signal is now pending, 0 if one was
 *   already pending (the queue has room for one).
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL. Never blocks.
 */
SLOTQ_API int slotq_queue_signal(slotq_queue_t *queue, int *sent);

/**
 * @brief Waits for a pending signal and consumes it (the seed's receive on the
 * signaller channel). One signal wakes one waiter.
 *
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @param timeout_ns how long to wait: 0 polls, #SLOTQ_FOREVER waits without a timeout.
 * @param cancel optional cancellation token.
 * @return #SLOTQ_OK when a signal was consumed, #SLOTQ_ETIMEDOUT,
 *   #SLOTQ_ECANCELED or #SLOTQ_EINVAL. Blocks the calling thread.
 */
SLOTQ_API int slotq_queue_wait_signal(slotq_queue_t *queue, int64_t timeout_ns,
                                      slotq_cancel_t *cancel);
/**
 * @brief Calls `fn(arg)` each time a signal becomes pending on the queue, so
 * an event-driven launcher needs no thread blocked in slotq_queue_wait_signal().
 *
 * `fn` runs on the thread that made the signal pending (slotq_queue_signal(),
 * or slotq_caller_acquire() and slotq_caller_wait(), which signal before they
 * wait: a slow `fn` delays them), without library locks; it may call the
 * library (typically slotq_queue_wait_signal() with a timeout of 0 to consume
 * the signal, or later). A signal already pending when `fn` is set is told
 * too, once, on this thread before this returns, since no new one can become
 * pending until it is consumed. `fn` may be called when another thread has
 * consumed the signal already (a poll then times out).
 *
 * One callback per queue: a new call replaces the old one; `fn` NULL removes
 * it. When this returns, whichever thread took the previous callback out, it
 * is not running and will not run again, so its `arg` may be freed. Called
 * from inside one of the queue's callbacks, it waits only for the callback it
 * takes out, and only on other threads (never for itself): callbacks that
 * others took out may still run then. Two callbacks must not each set or
 * remove the other's queue's callback, for each would wait for the other;
 * that includes doing so from a callback nested in them (a callback that
 * signals queue p runs p's callback on its own thread, and a set there of
 * p's callback waits for the thread running p's outer callback). A signal
 * that becomes pending while this sets `fn` may be told twice. Dropped when
 * the queue is freed.
 *
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @param fn the callback, or NULL to remove it.
 * @param arg the host's argument, passed to `fn` unchanged.
 * @return #SLOTQ_OK, #SLOTQ_EINVAL (NULL `queue`) or #SLOTQ_ENOMEM.
 */
SLOTQ_API int slotq_queue_set_signal_notify(slotq_queue_t *queue, slotq_notify_fn fn, void *arg);

/**
 * @brief A pollable file descriptor (an eventfd) that each new pending signal
 * adds one to; read it (8 bytes) to reset it.
 *
 * Created on the first call, readable at once if a signal is already
 * pending, and owned by the queue (closed when it is freed or by
 * slotq_queue_set_signal_notify() with NULL; when that removal is made by
 * the callback it removes, once that callback returns). Do not close it
 * yourself.
 *
 * When it is readable, read it first and then consume the signal
 * (slotq_queue_wait_signal() with a timeout of 0). In the other order, a
 * signal made pending between the two would add to the descriptor only for
 * the read to take it away, while the signal stays pending, so that no later
 * one adds to it either: the loop would never wake again.
 *
 * @param queue the queue; the caller keeps its reference for the duration of the call.
 * @param fd the eventfd.
 * @return #SLOTQ_OK, #SLOTQ_EINVAL, or #SLOTQ_ENOMEM when no descriptor could
 *   be made (out of memory or of descriptors); nothing was changed then.
 */
SLOTQ_API int slotq_queue_signal_fd(slotq_queue_t *queue, int *fd);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Manager
 *  @{ */

/**
 * @brief Creates an empty manager.
 * @param out the manager, owned by the caller (slotq_mgr_destroy()).
 * @return #SLOTQ_OK, #SLOTQ_EINVAL (NULL `out`) or #SLOTQ_ENOMEM.
 */
SLOTQ_API int slotq_mgr_create(slotq_mgr_t **out);

/**
 * @brief Destroys a manager: drops its reference to every queue in its table.
 *
 * Queues that others still reference live on (threads waiting on them are not
 * disturbed); the others shut down here (see #slotq_queue_t). No thread may
 * use `mgr` during or after this call. NULL is a no-op.
 * @param mgr the manager, or NULL.
 */
SLOTQ_API void slotq_mgr_destroy(slotq_mgr_t *mgr);

/**
 * @brief Finds or creates the queue of a call and counts the caller as a
 * Waiter on it (the seed's getSlotQueue).
 *
 * The lookup, the creation and the entry into #SLOTQ_WAITER happen in one
 * critical section, so a concurrent slotq_mgr_delete() cannot remove a queue a
 * caller is about to wait on. The caller later leaves the Waiter state with
 * slotq_queue_exit_state() or slotq_queue_exit_state_latency().
 *
 * @param[out] queue a new reference to the queue, for the caller to release.
 * @param[out] is_new optional: 1 if the queue was created by this call.
 * @param mgr the manager.
 * @param call the call; not retained.
 * @return #SLOTQ_OK, #SLOTQ_EINVAL (as slotq_call_key(), or NULL `mgr` or
 *   `queue`), #SLOTQ_ENOMEM, or #SLOTQ_EOVERLOAD if the queue already has the
 *   manager's maximum number of waiters. Never blocks beyond a short internal
 *   lock, and the cost does not grow with the number of queues: when the
 *   manager's table doubles (at 13/16 full), each of the gets and deletes
 *   that follow moves a few of its entries (8 slots' worth) to the bigger
 *   table, so no get moves them all: the get that doubles it adds only the
 *   allocation of the new table (below 1 ms at a million queues on a 2-vCPU
 *   VM, where moving every entry at once held the lock 25 to 50 ms). The
 *   table never shrinks.
 */
SLOTQ_API int slotq_mgr_get(slotq_mgr_t *mgr, const slotq_call *call, slotq_queue_t **queue,
                            int *is_new);

/**
 * @brief slotq_mgr_get() with a key computed beforehand (slotq_call_key()).
 *
 * The key may be any 20 bytes, not only a digest: the manager hashes all of
 * them with a secret drawn when it was created, so keys that share most of
 * their bytes still spread over its table, and keys cannot be aimed at one
 * slot of it without that secret.
 * @param mgr the manager.
 * @param key the key.
 * @param queue a new reference to the queue, for the caller to release.
 * @param is_new optional: 1 if the queue was created by this call.
 * @return as slotq_mgr_get().
 */
SLOTQ_API int slotq_mgr_get_by_key(slotq_mgr_t *mgr, const slotq_key *key, slotq_queue_t **queue,
                                   int *is_new);

/**
 * @brief Removes a queue from the manager if it is idle (the seed's
 * deleteSlotQueue), deciding under the manager's lock.
 *
 * Holders of the queue keep a valid handle, but later gets of its key create a
 * new queue. The manager drops its reference, so the queue shuts down (see
 * #slotq_queue_t) when the caller and any other holders release theirs.
 *
 * @param mgr the manager.
 * @param queue the queue, which the caller holds a reference to.
 * @return #SLOTQ_OK if it was removed; #SLOTQ_EBUSY if it is not idle;
 *   #SLOTQ_ENOTFOUND if this manager does not hold it (never did, or it was
 *   already removed); #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_mgr_delete(slotq_mgr_t *mgr, slotq_queue_t *queue);

/**
 * @brief The number of queues in the manager's table.
 * @param mgr the manager.
 * @param count the number of queues.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL.
 */
SLOTQ_API int slotq_mgr_count(slotq_mgr_t *mgr, size_t *count);

/**
 * @brief Caps the waiters per queue (load shedding): a get that would make a
 * queue's #SLOTQ_WAITER count exceed `max_waiters` fails at once with
 * #SLOTQ_EOVERLOAD instead of queueing the caller.
 *
 * @param max_waiters the cap; 0 (the default) for none. Applies to later gets.
 * @param mgr the manager.
 * @return #SLOTQ_OK or #SLOTQ_EINVAL (NULL `mgr`).
 */
SLOTQ_API int slotq_mgr_set_max_waiters(slotq_mgr_t *mgr, uint32_t max_waiters);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Launch policies
 *  @{ */

/** @brief Which launch policy decides whether to start a container. */
typedef enum slotq_policy_kind {
  /** The seed's isNewContainerNeeded (slotq_queue_is_new_container_needed()). */
  SLOTQ_POLICY_SEED = 0,
  /**
   * The policy the Go agent later moved to: idle containers absorb waiters
   * first, and starting containers count against the waiters they will
   * serve. With W waiters, I idle slots on the stack and S starters: start
   * one if `W > I` and `S < W - I`.
   */
  SLOTQ_POLICY_IDLE_AWARE = 1,
  /** The host's own function (#slotq_policy_fn). */
  SLOTQ_POLICY_CUSTOM = 2
} slotq_policy_kind;

/**
 * @brief A host's launch policy.
 *
 * Called without any library lock, on the thread evaluating the policy, with
 * a consistent snapshot. Returns 1 to start a container, 0 not to.
 *
 * @param arg the host's argument from #slotq_policy.
 * @param stats the queue's counters and averages.
 * @param idle_slots the number of idle slots on the queue's stack.
 */
typedef int (*slotq_policy_fn)(void *arg, const slotq_stats *stats, size_t idle_slots);

/** @brief A launch policy: one of #slotq_policy_kind, and for a custom one its function. */
typedef struct slotq_policy {
  int kind;           /**< A #slotq_policy_kind. */
  slotq_policy_fn fn; /**< The function, for #SLOTQ_POLICY_CUSTOM; else ignored. */
  void *arg;          /**< Passed to `fn`. */
} slotq_policy;

/**
 * @brief Evaluates a launch policy on a consistent snapshot of the queue.
 *
 * @param queue the queue.
 * @param policy the policy; NULL means #SLOTQ_POLICY_SEED.
 * @param[out] needed 1 to start a container, 0 not to.
 * @param[out] stats optional: the snapshot the decision was made on.
 * @return #SLOTQ_OK, or #SLOTQ_EINVAL (NULL `queue` or `needed`, an unknown
 *   kind, or a custom policy without a function). Never blocks beyond a short
 *   internal lock (plus the custom function).
 */
SLOTQ_API int slotq_queue_evaluate_policy(const slotq_queue_t *queue, const slotq_policy *policy,
                                          int *needed, slotq_stats *stats);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Host loops
 *  The three loops every host writes around a queue (see the guide page
 *  "Writing a host with libslotq"): the container's, the caller's and the
 *  launcher's, with the seed's agent's semantics.
 *  @{ */

/**
 * @brief The container side: offers a slot and waits until a caller acquires
 * it, or its idle timeout passes, or `cancel` fires.
 *
 * On a timeout or a cancellation the slot is ejected (its close callback runs
 * on this thread); if the eject fails because a caller acquired it at that
 * very moment, the call is served: the function returns #SLOTQ_OK, as the
 * seed's agent does.
 *
 * @param queue the queue to offer on.
 * @param slot the host's pointer, passed to every callback.
 * @param ops the slot's callbacks; must outlive the token.
 * @param idle_timeout_ns how long the slot may stay idle: > 0, or
 *   #SLOTQ_FOREVER.
 * @param cancel optional cancellation token.
 * @param[out] token on #SLOTQ_OK, the container's reference to the acquired
 *   token: wait with slotq_token_wait_closed() until the caller gave the slot
 *   back, then release it. NULL otherwise.
 * If the call fails before the slot is offered (#SLOTQ_EINVAL,
 * #SLOTQ_ENOMEM), no callback ran and the library keeps no reference to
 * `slot`; after the offer, the slot's `release` callback tells when the
 * library is done with it, whatever the outcome.
 *
 * @return #SLOTQ_OK ("acquired"); #SLOTQ_ETIMEDOUT ("idle": ejected);
 *   #SLOTQ_ECANCELED (ejected because `cancel` fired); #SLOTQ_EGONE if some
 *   other thread ejected the token meanwhile; #SLOTQ_EINVAL; #SLOTQ_ENOMEM.
 *   Blocks the calling thread.
 */
SLOTQ_API int slotq_container_offer(slotq_queue_t *queue, void *slot, const slotq_slot_ops *ops,
                                    int64_t idle_timeout_ns, slotq_cancel_t *cancel,
                                    slotq_token_t **token);

/** @brief The seed's agent pings its launcher every 200 ms while a caller waits. */
#define SLOTQ_DEFAULT_PING_NS ((int64_t)200000000)

/**
 * @brief The caller side: gets a slot for a call, as the seed's agent's
 * waitHot does.
 *
 * Gets the call's queue through the manager (entering #SLOTQ_WAITER), starts
 * a dequeuer, signals the launcher at once and every `ping_ns`, and acquires
 * the first slot it can. A slot that reports its own error (ops->error) is
 * closed and its error returned. On every outcome the helper exits the Waiter
 * state it entered, recording the wait in nanoseconds as its latency.
 *
 * Callbacks of other parties may run on this thread meanwhile: the queue's
 * signal callback (slotq_queue_set_signal_notify()) at each ping and, if the
 * queue was deleted from the manager while this waited and every other
 * holder let go of it, the close callbacks of its idle slots, discarded when
 * this drops the queue's last handle.
 *
 * @param mgr the manager.
 * @param call the call; not retained.
 * @param timeout_ns the longest wait: >= 0, or #SLOTQ_FOREVER.
 * @param ping_ns how often to signal the launcher while waiting; 0 for
 *   #SLOTQ_DEFAULT_PING_NS.
 * @param cancel optional cancellation token.
 * @param[out] token on #SLOTQ_OK, the acquired token (the caller's
 *   reference): run the call with slotq_token_exec(), give the slot back with
 *   slotq_token_close(), then release it.
 * @param[out] slot_err optional: on #SLOTQ_ESLOT, the slot's error code.
 * @return #SLOTQ_OK; #SLOTQ_ESLOT (the slot carried an error; it was closed);
 *   #SLOTQ_ETIMEDOUT; #SLOTQ_ECANCELED; #SLOTQ_EOVERLOAD (the manager's
 *   waiter cap); #SLOTQ_EINVAL (as slotq_mgr_get()); #SLOTQ_ENOMEM. Blocks
 *   the calling thread.
 */
SLOTQ_API int slotq_caller_acquire(slotq_mgr_t *mgr, const slotq_call *call, int64_t timeout_ns,
                                   int64_t ping_ns, slotq_cancel_t *cancel, slotq_token_t **token,
                                   int *slot_err);

/**
 * @brief The caller side on a queue already got: slotq_caller_acquire()
 * without the get, for a host that needs the get's `is_new` first (the
 * seed's agent starts a launcher for a new queue before it waits).
 *
 * The caller must have entered #SLOTQ_WAITER on `queue`, as slotq_mgr_get()
 * does; this exits it on every outcome but #SLOTQ_EINVAL (bad arguments
 * change nothing), recording the wait as its latency.
 *
 * @param queue the queue, from slotq_mgr_get(); the caller keeps (and later
 *   releases) its reference.
 * @param timeout_ns the longest wait: >= 0, or #SLOTQ_FOREVER.
 * @param ping_ns how often to signal the launcher; 0 for #SLOTQ_DEFAULT_PING_NS.
 * @param cancel optional cancellation token.
 * @param[out] token on #SLOTQ_OK, the acquired token (the caller's reference).
 * @param[out] slot_err optional: on #SLOTQ_ESLOT, the slot's error code.
 * @return as slotq_caller_acquire(), and #SLOTQ_ESTATE (nothing waited) if
 *   the queue's Waiter count is zero. Blocks the calling thread.
 */
SLOTQ_API int slotq_caller_wait(slotq_queue_t *queue, int64_t timeout_ns, int64_t ping_ns,
                                slotq_cancel_t *cancel, slotq_token_t **token, int *slot_err);

/** @brief What a launcher should do after slotq_launcher_step(). */
typedef enum slotq_launch_action {
  /** Nothing: call slotq_launcher_step() again. */
  SLOTQ_LAUNCH_NONE = 0,
  /**
   * Start one container. The helper entered #SLOTQ_STARTER for it: when the
   * container is up (or failed), exit that state with
   * slotq_queue_exit_state_latency() and the start-up time.
   */
  SLOTQ_LAUNCH_START = 1,
  /** The queue was inactive for the timeout, idle, and deleted from the
   *  manager: stop launching for it and release it. */
  SLOTQ_LAUNCH_DELETED = 2
} slotq_launch_action;

/**
 * @brief One turn of a function's launcher, as the seed's agent's
 * hotLauncher: waits for a signal or the inactivity timeout; on the timeout
 * deletes the queue if idle; otherwise evaluates the launch policy.
 *
 * A queue the manager no longer holds (slotq_mgr_delete() took it out) ends
 * with #SLOTQ_LAUNCH_DELETED on the timeout too if it is idle, as the seed's
 * deleteSlotQueue; one with waiters is still served. A bad `policy` is
 * #SLOTQ_EINVAL at once, before any wait (no signal is consumed).
 *
 * @param mgr the manager holding the queue, or NULL for a queue outside any
 *   manager (never deleted then).
 * @param queue the function's queue.
 * @param policy the launch policy; NULL for #SLOTQ_POLICY_SEED.
 * @param inactivity_ns how long without a signal before trying to delete the
 *   queue: > 0, or #SLOTQ_FOREVER.
 * @param cancel optional cancellation token (e.g. the agent's shutdown).
 * @param[out] action a #slotq_launch_action.
 * @param[out] stats optional: the snapshot the decision was made on.
 * @return #SLOTQ_OK with `action` set; #SLOTQ_ECANCELED; #SLOTQ_EOVERLOAD
 *   (the Starter counter is full); #SLOTQ_EINVAL. Blocks the calling thread.
 */
SLOTQ_API int slotq_launcher_step(slotq_mgr_t *mgr, slotq_queue_t *queue,
                                  const slotq_policy *policy, int64_t inactivity_ns,
                                  slotq_cancel_t *cancel, int *action, slotq_stats *stats);
/** @} */

/* ------------------------------------------------------------------------- */
/** @name Metrics
 *  @{ */

/**
 * @brief Renders every queue of the manager in the Prometheus text exposition
 * format (version 0.0.4).
 *
 * Each queue is labelled `key="<40 hex digits>"` (slotq_key_hex()). Metrics:
 * `slotq_queues` (gauge), `slotq_queue_parties{key,state}` (gauge, state is
 * runner, starter or waiter), `slotq_queue_latency{key,state}` (gauge, the
 * moving average), `slotq_queue_latency_samples_total{key,state}`,
 * `slotq_queue_idle_slots{key}` (gauge), and the counters
 * `slotq_slots_queued_total`, `slotq_slots_acquired_total`,
 * `slotq_slots_ejected_total` and `slotq_slots_closed_total` (each `{key}`,
 * each counting its event when it happens).
 *
 * @param mgr the manager.
 * @param[out] text a NUL-terminated string allocated by the library; free it
 *   with slotq_free().
 * @param[out] len optional: its length, without the NUL.
 * @return #SLOTQ_OK, #SLOTQ_EINVAL or #SLOTQ_ENOMEM. Takes each queue's lock
 *   briefly, one at a time.
 */
SLOTQ_API int slotq_mgr_metrics(slotq_mgr_t *mgr, char **text, size_t *len);

/**
 * @brief Frees memory the library allocated for the caller (slotq_mgr_metrics()).
 * @param p the memory, or NULL.
 */
SLOTQ_API void slotq_free(void *p);
/** @} */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SLOTQ_H */
