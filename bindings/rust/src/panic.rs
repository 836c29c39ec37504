//! Panics never cross the C boundary: every `extern "C"` callback of this
//! crate runs the host's code under `catch_unwind` ([`guard`]). The payload is
//! kept in a thread-local and re-raised ([`resume`]) by the safe function
//! whose C call ran the callback on this thread, once that C call has
//! returned; `Drop` implementations [`discard`] it instead (unwinding out of
//! a destructor could abort the process).

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    static PENDING: Cell<Option<Box<dyn Any + Send>>> = const { Cell::new(None) };
}

/// Runs `f`, turning a panic into `on_panic` after stashing its payload.
pub(crate) fn guard<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            // Keep the first payload if several callbacks panicked in one call.
            let _ = PENDING.try_with(|p| {
                let first = p.take().unwrap_or(payload);
                p.set(Some(first));
            });
            on_panic
        }
    }
}

/// Re-raises a panic a callback stashed on this thread, if any.
pub(crate) fn resume() {
    if let Ok(Some(payload)) = PENDING.try_with(|p| p.take()) {
        panic::resume_unwind(payload);
    }
}

/// Forgets a panic a callback stashed on this thread (for `Drop`).
pub(crate) fn discard() {
    let _ = PENDING.try_with(|p| drop(p.take()));
}

/// Whether a callback stashed a panic on this thread.
pub(crate) fn pending() -> bool {
    PENDING
        .try_with(|p| {
            let payload = p.take();
            let some = payload.is_some();
            p.set(payload);
            some
        })
        .unwrap_or(false)
}

/// Re-raises a callback's panic, if any, after the C call that ran the
/// callback made `made` (a token, a registration, already wrapped in its
/// owner): the unwinding drops it instead of leaking it. Returns it otherwise.
pub(crate) fn resumed<T>(made: T) -> T {
    resume();
    made
}

/// Runs a C call that may run callbacks on this thread, then re-raises their panic.
///
/// Only for calls that make nothing: one that returns a new reference wraps
/// it first and then goes through [`resumed`].
pub(crate) fn calling<R>(f: impl FnOnce() -> R) -> R {
    let r = f();
    resume();
    r
}

/// Runs a C call from a destructor: a callback's panic is discarded.
pub(crate) fn dropping(f: impl FnOnce()) {
    f();
    discard();
}
