//! The raw C API of `slotq.h`: every type, constant and function, declared
//! one to one (in the style of a `-sys` crate).
//!
//! Everything here is `unsafe` to call and follows the C contract written in
//! `slotq.h`; the safe layer of this crate is built only on these
//! declarations. Names, layouts and values are those of the header; the
//! crate's tests check the status table against `slotq_strerror()` and
//! `slotq_status_name()` of the loaded library.

#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_uint, c_void};

// --- Version -----------------------------------------------------------------

/// Major version of the header this module was written from (`SLOTQ_VERSION_MAJOR`).
pub const SLOTQ_VERSION_MAJOR: c_uint = 1;
/// Minor version of the header (`SLOTQ_VERSION_MINOR`).
pub const SLOTQ_VERSION_MINOR: c_uint = 0;
/// Patch version of the header (`SLOTQ_VERSION_PATCH`).
pub const SLOTQ_VERSION_PATCH: c_uint = 0;
/// `MAJOR * 10000 + MINOR * 100 + PATCH` (`SLOTQ_VERSION_NUMBER`).
pub const SLOTQ_VERSION_NUMBER: c_uint =
    SLOTQ_VERSION_MAJOR * 10000 + SLOTQ_VERSION_MINOR * 100 + SLOTQ_VERSION_PATCH;

// --- Status codes (SLOTQ_STATUS_MAP) -------------------------------------------

/// `enum slotq_status`: an `int` status.
pub type slotq_status = c_int;
/// success
pub const SLOTQ_OK: c_int = 0;
/// invalid argument
pub const SLOTQ_EINVAL: c_int = -1;
/// out of memory
pub const SLOTQ_ENOMEM: c_int = -2;
/// timed out
pub const SLOTQ_ETIMEDOUT: c_int = -3;
/// cancelled
pub const SLOTQ_ECANCELED: c_int = -4;
/// dequeuer stopped
pub const SLOTQ_ESTOPPED: c_int = -5;
/// slot already acquired, ejected or closed
pub const SLOTQ_EGONE: c_int = -6;
/// operation not valid in the current state
pub const SLOTQ_ESTATE: c_int = -7;
/// token belongs to another queue
pub const SLOTQ_EWRONGQUEUE: c_int = -8;
/// busy
pub const SLOTQ_EBUSY: c_int = -9;
/// not found
pub const SLOTQ_ENOTFOUND: c_int = -10;
/// too many waiters
pub const SLOTQ_EOVERLOAD: c_int = -11;
/// the slot reported an error
pub const SLOTQ_ESLOT: c_int = -12;
/// a callback returned an error
pub const SLOTQ_ECALLBACK: c_int = -13;
/// internal error
pub const SLOTQ_EINTERNAL: c_int = -14;

/// Every status of `SLOTQ_STATUS_MAP`, as `(value, name)`, in the header's order.
pub const SLOTQ_STATUS_TABLE: [(c_int, &str); 15] = [
    (SLOTQ_OK, "SLOTQ_OK"),
    (SLOTQ_EINVAL, "SLOTQ_EINVAL"),
    (SLOTQ_ENOMEM, "SLOTQ_ENOMEM"),
    (SLOTQ_ETIMEDOUT, "SLOTQ_ETIMEDOUT"),
    (SLOTQ_ECANCELED, "SLOTQ_ECANCELED"),
    (SLOTQ_ESTOPPED, "SLOTQ_ESTOPPED"),
    (SLOTQ_EGONE, "SLOTQ_EGONE"),
    (SLOTQ_ESTATE, "SLOTQ_ESTATE"),
    (SLOTQ_EWRONGQUEUE, "SLOTQ_EWRONGQUEUE"),
    (SLOTQ_EBUSY, "SLOTQ_EBUSY"),
    (SLOTQ_ENOTFOUND, "SLOTQ_ENOTFOUND"),
    (SLOTQ_EOVERLOAD, "SLOTQ_EOVERLOAD"),
    (SLOTQ_ESLOT, "SLOTQ_ESLOT"),
    (SLOTQ_ECALLBACK, "SLOTQ_ECALLBACK"),
    (SLOTQ_EINTERNAL, "SLOTQ_EINTERNAL"),
];

// --- Handles -------------------------------------------------------------------

/// Declares an opaque C type that Rust can only point to.
macro_rules! opaque {
    ($(#[$doc:meta] $name:ident;)*) => {$(
        #[$doc]
        #[repr(C)]
        pub struct $name {
            _opaque: [u8; 0],
            // Neither Send, Sync nor Unpin: only the safe layer decides.
            _marker: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
        }
    )*};
}

opaque! {
    /// `slotq_mgr_t`: a manager (owned; `slotq_mgr_destroy`).
    slotq_mgr_t;
    /// `slotq_queue_t`: a slot queue (reference counted).
    slotq_queue_t;
    /// `slotq_token_t`: a slot token (reference counted).
    slotq_token_t;
    /// `slotq_dequeuer_t`: a dequeuer (owned; `slotq_dequeuer_free`).
    slotq_dequeuer_t;
    /// `slotq_cancel_t`: a cancellation token (reference counted).
    slotq_cancel_t;
    /// `slotq_cancel_reg_t`: a cancellation callback registration.
    slotq_cancel_reg_t;
}

// --- Time ----------------------------------------------------------------------

/// A timeout meaning "wait without a timeout" (`SLOTQ_FOREVER`).
pub const SLOTQ_FOREVER: i64 = -1;

// --- Calls and slot keys ---------------------------------------------------------

/// `slotq_str`: a byte string (pointer and length, not NUL-terminated).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct slotq_str {
    /// First byte, or NULL for the empty string.
    pub ptr: *const c_char,
    /// Number of bytes.
    pub len: usize,
}

/// `slotq_kv`: one configuration entry of a call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct slotq_kv {
    /// The variable's name.
    pub key: slotq_str,
    /// Its value.
    pub value: slotq_str,
}

/// `slotq_call`: the parts of a call that identify its slot queue.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct slotq_call {
    /// The application's name.
    pub app_name: slotq_str,
    /// The route's path.
    pub path: slotq_str,
    /// The container image.
    pub image: slotq_str,
    /// The function's I/O format.
    pub format: slotq_str,
    /// The call's timeout, in seconds.
    pub timeout: i32,
    /// The hot container's idle timeout, in seconds.
    pub idle_timeout: i32,
    /// Memory, in MiB.
    pub memory: u64,
    /// `config_len` entries, keys distinct; may be NULL when `config_len` is 0.
    pub config: *const slotq_kv,
    /// Number of entries in `config`.
    pub config_len: usize,
}

/// Size of a slot key in bytes (`SLOTQ_KEY_SIZE`).
pub const SLOTQ_KEY_SIZE: usize = 20;

/// `slotq_key`: the SHA-1 key of a call.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct slotq_key {
    /// The raw digest.
    pub bytes: [u8; SLOTQ_KEY_SIZE],
}

// --- Cancellation ----------------------------------------------------------------

/// `slotq_cancel_fn`: called once when a cancellation token fires.
pub type slotq_cancel_fn = Option<unsafe extern "C" fn(arg: *mut c_void)>;

// --- Slot queues -----------------------------------------------------------------

/// The largest key `slotq_queue_create()` accepts (`SLOTQ_MAX_QUEUE_KEY`).
pub const SLOTQ_MAX_QUEUE_KEY: usize = 64;

/// `slotq_slot_ops`: the callbacks of one slot. Every member may be `None`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct slotq_slot_ops {
    /// Runs a call on the slot (`slotq_token_exec()`); 0 or a host error code.
    pub exec: Option<
        unsafe extern "C" fn(
            slot: *mut c_void,
            cancel: *mut slotq_cancel_t,
            call_arg: *mut c_void,
        ) -> c_int,
    >,
    /// Releases the slot, at most once per token.
    pub close: Option<unsafe extern "C" fn(slot: *mut c_void) -> c_int>,
    /// The slot's own error, 0 for none.
    pub error: Option<unsafe extern "C" fn(slot: *mut c_void) -> c_int>,
    /// Called once when the token is freed: lets a binding free `slot`.
    pub release: Option<unsafe extern "C" fn(slot: *mut c_void)>,
    /// Called once when the token's trigger fires, with its final state.
    pub trigger: Option<unsafe extern "C" fn(slot: *mut c_void, state: c_int)>,
}

// --- Slot tokens -----------------------------------------------------------------

/// `enum slotq_token_state`.
pub type slotq_token_state = c_int;
/// On the queue's stack, waiting for a caller.
pub const SLOTQ_TOKEN_QUEUED: c_int = 0;
/// Handed out by `slotq_dequeuer_next()`, not acquired yet.
pub const SLOTQ_TOKEN_LENT: c_int = 1;
/// Acquired by a caller (final).
pub const SLOTQ_TOKEN_ACQUIRED: c_int = 2;
/// Ejected by `slotq_eject()` (final).
pub const SLOTQ_TOKEN_EJECTED: c_int = 3;
/// Discarded because its queue shut down (final).
pub const SLOTQ_TOKEN_DISCARDED: c_int = 4;

// --- Dequeuers -------------------------------------------------------------------

/// `slotq_notify_fn`: "something is ready", with the host's argument.
pub type slotq_notify_fn = Option<unsafe extern "C" fn(arg: *mut c_void)>;

// --- States, statistics ----------------------------------------------------------

/// `enum slotq_state`.
pub type slotq_state = c_int;
/// Running a call on a slot.
pub const SLOTQ_RUNNER: c_int = 0;
/// Starting a container.
pub const SLOTQ_STARTER: c_int = 1;
/// Waiting for a slot.
pub const SLOTQ_WAITER: c_int = 2;
/// Number of states.
pub const SLOTQ_STATE_COUNT: usize = 3;

/// `slotq_stats`: a snapshot of a queue's counters.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct slotq_stats {
    /// Parties in each state now.
    pub states: [u64; SLOTQ_STATE_COUNT],
    /// Latency samples recorded.
    pub latency_count: [u64; SLOTQ_STATE_COUNT],
    /// Moving average of each state's latency.
    pub latencies: [u64; SLOTQ_STATE_COUNT],
}

// --- Launch policies -------------------------------------------------------------

/// `enum slotq_policy_kind`.
pub type slotq_policy_kind = c_int;
/// The seed's isNewContainerNeeded.
pub const SLOTQ_POLICY_SEED: c_int = 0;
/// Idle slots absorb waiters first: start one if `W > I` and `S < W - I`.
pub const SLOTQ_POLICY_IDLE_AWARE: c_int = 1;
/// The host's own function.
pub const SLOTQ_POLICY_CUSTOM: c_int = 2;

/// `slotq_policy_fn`: a host's launch policy; 1 to start a container, 0 not to.
pub type slotq_policy_fn = Option<
    unsafe extern "C" fn(arg: *mut c_void, stats: *const slotq_stats, idle_slots: usize) -> c_int,
>;

/// `slotq_policy`: a launch policy.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct slotq_policy {
    /// A `slotq_policy_kind`.
    pub kind: c_int,
    /// The function, for `SLOTQ_POLICY_CUSTOM` (`fn` in C).
    pub r#fn: slotq_policy_fn,
    /// Passed to `fn`.
    pub arg: *mut c_void,
}

// --- Host loops ------------------------------------------------------------------

/// The seed's agent pings its launcher every 200 ms while a caller waits.
pub const SLOTQ_DEFAULT_PING_NS: i64 = 200_000_000;

/// `enum slotq_launch_action`.
pub type slotq_launch_action = c_int;
/// Nothing: call `slotq_launcher_step()` again.
pub const SLOTQ_LAUNCH_NONE: c_int = 0;
/// Start one container (the helper entered `SLOTQ_STARTER` for it).
pub const SLOTQ_LAUNCH_START: c_int = 1;
/// The queue was inactive, idle, and deleted from the manager.
pub const SLOTQ_LAUNCH_DELETED: c_int = 2;

extern "C" {
    // Version
    /// The version of the loaded library (`MAJOR * 10000 + MINOR * 100 + PATCH`).
    pub fn slotq_version() -> c_uint;
    /// The version of the loaded library as a static string.
    pub fn slotq_version_string() -> *const c_char;

    // Status codes
    /// A static English message for a status.
    pub fn slotq_strerror(status: c_int) -> *const c_char;
    /// The status's name, e.g. "SLOTQ_ETIMEDOUT".
    pub fn slotq_status_name(status: c_int) -> *const c_char;

    // Time
    /// Now, on the library's monotonic clock, in nanoseconds.
    pub fn slotq_now_ns() -> i64;

    // Calls and keys
    /// Computes the slot key of a call.
    pub fn slotq_call_key(call: *const slotq_call, out: *mut slotq_key) -> c_int;
    /// Writes 40 lowercase hex digits and a NUL into `out` (41 bytes).
    pub fn slotq_key_hex(key: *const slotq_key, out: *mut c_char) -> c_int;

    // Cancellation tokens
    /// Creates a cancellation token.
    pub fn slotq_cancel_create(out: *mut *mut slotq_cancel_t) -> c_int;
    /// Creates a child token of `parent`.
    pub fn slotq_cancel_create_child(
        parent: *mut slotq_cancel_t,
        out: *mut *mut slotq_cancel_t,
    ) -> c_int;
    /// Creates a token firing at an absolute deadline (`slotq_now_ns()` clock).
    pub fn slotq_cancel_create_deadline(
        parent: *mut slotq_cancel_t,
        deadline_ns: i64,
        out: *mut *mut slotq_cancel_t,
    ) -> c_int;
    /// Cancels a token.
    pub fn slotq_cancel_cancel(cancel: *mut slotq_cancel_t) -> c_int;
    /// Whether the token fired, and why.
    pub fn slotq_cancel_reason(cancel: *const slotq_cancel_t, reason: *mut c_int) -> c_int;
    /// Registers a callback run once when the token fires.
    pub fn slotq_cancel_on_cancel(
        cancel: *mut slotq_cancel_t,
        func: slotq_cancel_fn,
        arg: *mut c_void,
        reg: *mut *mut slotq_cancel_reg_t,
    ) -> c_int;
    /// Removes and frees a registration.
    pub fn slotq_cancel_unregister(reg: *mut slotq_cancel_reg_t, ran: *mut c_int) -> c_int;
    /// Adds a reference.
    pub fn slotq_cancel_retain(cancel: *mut slotq_cancel_t) -> c_int;
    /// Drops a reference.
    pub fn slotq_cancel_release(cancel: *mut slotq_cancel_t);

    // Slot queues
    /// Creates a queue outside any manager.
    pub fn slotq_queue_create(
        key: *const c_void,
        key_len: usize,
        out: *mut *mut slotq_queue_t,
    ) -> c_int;
    /// Adds a reference.
    pub fn slotq_queue_retain(queue: *mut slotq_queue_t) -> c_int;
    /// Drops a reference; the last one shuts the queue down.
    pub fn slotq_queue_release(queue: *mut slotq_queue_t);
    /// Copies the queue's key.
    pub fn slotq_queue_key(
        queue: *const slotq_queue_t,
        buf: *mut c_void,
        cap: usize,
        len: *mut usize,
    ) -> c_int;
    /// Offers a slot.
    pub fn slotq_queue_slot(
        queue: *mut slotq_queue_t,
        slot: *mut c_void,
        ops: *const slotq_slot_ops,
        token: *mut *mut slotq_token_t,
    ) -> c_int;
    /// Takes an idle slot back.
    pub fn slotq_eject(queue: *mut slotq_queue_t, token: *mut slotq_token_t) -> c_int;
    /// The number of slots on the queue's stack.
    pub fn slotq_queue_len(queue: *const slotq_queue_t, len: *mut usize) -> c_int;

    // Slot tokens
    /// Adds a reference.
    pub fn slotq_token_retain(token: *mut slotq_token_t) -> c_int;
    /// Drops a reference.
    pub fn slotq_token_release(token: *mut slotq_token_t);
    /// The token's sequence number.
    pub fn slotq_token_id(token: *const slotq_token_t, id: *mut u64) -> c_int;
    /// The host pointer the slot was queued with.
    pub fn slotq_token_slot(token: *const slotq_token_t, slot: *mut *mut c_void) -> c_int;
    /// The token's state and whether its close callback ran.
    pub fn slotq_token_state_get(
        token: *const slotq_token_t,
        state: *mut c_int,
        closed: *mut c_int,
    ) -> c_int;
    /// Claims the slot.
    pub fn slotq_token_acquire(token: *mut slotq_token_t) -> c_int;
    /// Waits for the token's trigger.
    pub fn slotq_token_wait(
        token: *mut slotq_token_t,
        timeout_ns: i64,
        cancel: *mut slotq_cancel_t,
        state: *mut c_int,
    ) -> c_int;
    /// Waits until the slot's close callback has run.
    pub fn slotq_token_wait_closed(
        token: *mut slotq_token_t,
        timeout_ns: i64,
        cancel: *mut slotq_cancel_t,
    ) -> c_int;
    /// Runs a call on an acquired slot.
    pub fn slotq_token_exec(
        token: *mut slotq_token_t,
        cancel: *mut slotq_cancel_t,
        call_arg: *mut c_void,
        exec_rc: *mut c_int,
    ) -> c_int;
    /// Asks the slot for its own error.
    pub fn slotq_token_error(token: *mut slotq_token_t, slot_err: *mut c_int) -> c_int;
    /// Gives an acquired slot back (runs its close callback).
    pub fn slotq_token_close(token: *mut slotq_token_t, close_rc: *mut c_int) -> c_int;

    // Dequeuers
    /// Starts a caller's wait for slots of a queue.
    pub fn slotq_start_dequeuer(
        queue: *mut slotq_queue_t,
        cancel: *mut slotq_cancel_t,
        out: *mut *mut slotq_dequeuer_t,
    ) -> c_int;
    /// Takes the newest idle slot, waiting for one if needed.
    pub fn slotq_dequeuer_next(
        deq: *mut slotq_dequeuer_t,
        timeout_ns: i64,
        cancel: *mut slotq_cancel_t,
        token: *mut *mut slotq_token_t,
    ) -> c_int;
    /// Sets the callback of an event-driven dequeuer.
    pub fn slotq_dequeuer_set_notify(
        deq: *mut slotq_dequeuer_t,
        func: slotq_notify_fn,
        arg: *mut c_void,
    ) -> c_int;
    /// A pollable eventfd for an event-driven dequeuer.
    pub fn slotq_dequeuer_fd(deq: *mut slotq_dequeuer_t, fd: *mut c_int) -> c_int;
    /// Asks for one notification instead of blocking.
    pub fn slotq_dequeuer_arm(deq: *mut slotq_dequeuer_t) -> c_int;
    /// Stops the dequeuer.
    pub fn slotq_dequeuer_stop(deq: *mut slotq_dequeuer_t) -> c_int;
    /// Stops (if needed) and frees a dequeuer.
    pub fn slotq_dequeuer_free(deq: *mut slotq_dequeuer_t);

    // States, latencies, policy, signal
    /// Counts one more party in `state`.
    pub fn slotq_queue_enter_state(queue: *mut slotq_queue_t, state: c_int) -> c_int;
    /// Counts one party less in `state`.
    pub fn slotq_queue_exit_state(queue: *mut slotq_queue_t, state: c_int) -> c_int;
    /// Counts one party less and records its latency, atomically.
    pub fn slotq_queue_exit_state_latency(
        queue: *mut slotq_queue_t,
        state: c_int,
        latency: u64,
    ) -> c_int;
    /// Records one latency sample.
    pub fn slotq_queue_record_latency(
        queue: *mut slotq_queue_t,
        state: c_int,
        latency: u64,
    ) -> c_int;
    /// A consistent snapshot of the counters.
    pub fn slotq_queue_stats(queue: *const slotq_queue_t, out: *mut slotq_stats) -> c_int;
    /// Whether nobody is waiting, running or starting.
    pub fn slotq_queue_is_idle(queue: *const slotq_queue_t, idle: *mut c_int) -> c_int;
    /// The seed's launch policy.
    pub fn slotq_queue_is_new_container_needed(
        queue: *const slotq_queue_t,
        needed: *mut c_int,
        stats: *mut slotq_stats,
    ) -> c_int;
    /// Makes the launch signal pending (non-blocking).
    pub fn slotq_queue_signal(queue: *mut slotq_queue_t, sent: *mut c_int) -> c_int;
    /// Waits for and consumes the pending signal.
    pub fn slotq_queue_wait_signal(
        queue: *mut slotq_queue_t,
        timeout_ns: i64,
        cancel: *mut slotq_cancel_t,
    ) -> c_int;
    /// Sets the callback run each time a signal becomes pending.
    pub fn slotq_queue_set_signal_notify(
        queue: *mut slotq_queue_t,
        func: slotq_notify_fn,
        arg: *mut c_void,
    ) -> c_int;
    /// A pollable eventfd counting new pending signals.
    pub fn slotq_queue_signal_fd(queue: *mut slotq_queue_t, fd: *mut c_int) -> c_int;

    // Manager
    /// Creates an empty manager.
    pub fn slotq_mgr_create(out: *mut *mut slotq_mgr_t) -> c_int;
    /// Destroys a manager.
    pub fn slotq_mgr_destroy(mgr: *mut slotq_mgr_t);
    /// Finds or creates the queue of a call and enters Waiter on it.
    pub fn slotq_mgr_get(
        mgr: *mut slotq_mgr_t,
        call: *const slotq_call,
        queue: *mut *mut slotq_queue_t,
        is_new: *mut c_int,
    ) -> c_int;
    /// `slotq_mgr_get()` with a precomputed key.
    pub fn slotq_mgr_get_by_key(
        mgr: *mut slotq_mgr_t,
        key: *const slotq_key,
        queue: *mut *mut slotq_queue_t,
        is_new: *mut c_int,
    ) -> c_int;
    /// Removes an idle queue from the manager.
    pub fn slotq_mgr_delete(mgr: *mut slotq_mgr_t, queue: *mut slotq_queue_t) -> c_int;
    /// The number of queues in the manager's table.
    pub fn slotq_mgr_count(mgr: *mut slotq_mgr_t, count: *mut usize) -> c_int;
    /// Caps the waiters per queue (0: no cap); gets beyond it fail with `SLOTQ_EOVERLOAD`.
    pub fn slotq_mgr_set_max_waiters(mgr: *mut slotq_mgr_t, max_waiters: u32) -> c_int;

    // Launch policies
    /// Evaluates a launch policy (NULL: the seed's) on a consistent snapshot.
    pub fn slotq_queue_evaluate_policy(
        queue: *const slotq_queue_t,
        policy: *const slotq_policy,
        needed: *mut c_int,
        stats: *mut slotq_stats,
    ) -> c_int;

    // Host loops
    /// The container side: offers a slot and waits until acquired, idle or cancelled.
    pub fn slotq_container_offer(
        queue: *mut slotq_queue_t,
        slot: *mut c_void,
        ops: *const slotq_slot_ops,
        idle_timeout_ns: i64,
        cancel: *mut slotq_cancel_t,
        token: *mut *mut slotq_token_t,
    ) -> c_int;
    /// The caller side: gets and acquires a slot for a call (the seed's waitHot).
    pub fn slotq_caller_acquire(
        mgr: *mut slotq_mgr_t,
        call: *const slotq_call,
        timeout_ns: i64,
        ping_ns: i64,
        cancel: *mut slotq_cancel_t,
        token: *mut *mut slotq_token_t,
        slot_err: *mut c_int,
    ) -> c_int;
    /// The caller side on a queue already got with `slotq_mgr_get`.
    pub fn slotq_caller_wait(
        queue: *mut slotq_queue_t,
        timeout_ns: i64,
        ping_ns: i64,
        cancel: *mut slotq_cancel_t,
        token: *mut *mut slotq_token_t,
        slot_err: *mut c_int,
    ) -> c_int;
    /// One turn of a function's launcher (the seed's hotLauncher).
    pub fn slotq_launcher_step(
        mgr: *mut slotq_mgr_t,
        queue: *mut slotq_queue_t,
        policy: *const slotq_policy,
        inactivity_ns: i64,
        cancel: *mut slotq_cancel_t,
        action: *mut c_int,
        stats: *mut slotq_stats,
    ) -> c_int;

    // Metrics
    /// Renders the manager's queues in the Prometheus text format (free with `slotq_free`).
    pub fn slotq_mgr_metrics(
        mgr: *mut slotq_mgr_t,
        text: *mut *mut c_char,
        len: *mut usize,
    ) -> c_int;
    /// Frees memory the library allocated for the caller.
    pub fn slotq_free(p: *mut c_void);
}
