//! [`CancelToken`]: the library's cancellation tokens (the role of Go's
//! `context.Context` cancellation), with deadlines, children and callbacks.

use std::os::raw::{c_int, c_void};
use std::ptr::{self, NonNull};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{check, Result};
use crate::panic;
use crate::sys;

/// A cancellation token: reference counted, thread-safe, and once fired,
/// fired for good.
///
/// Pass it to blocking calls ([`crate::Dequeuer::next_with`],
/// [`crate::Token::wait`], ...) to make them return
/// [`ErrorKind::Canceled`](crate::ErrorKind::Canceled) promptly once it
/// fires. Cloning adds a reference (`slotq_cancel_retain`); every clone is
/// the same token.
pub struct CancelToken {
    ptr: NonNull<sys::slotq_cancel_t>,
}

// SAFETY: slotq.h: cancellation tokens are reference counted and thread-safe.
unsafe impl Send for CancelToken {}
// SAFETY: as above; every function on a token may be called concurrently.
unsafe impl Sync for CancelToken {}

/// Why a [`CancelToken`] fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancelReason {
    /// It (or an ancestor) was cancelled with [`CancelToken::cancel`].
    Canceled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

/// Converts an optional timeout into the C convention: `None` is
/// `SLOTQ_FOREVER`; durations beyond `i64::MAX` nanoseconds (292 years) too.
pub(crate) fn timeout_ns(timeout: Option<Duration>) -> i64 {
    match timeout {
        None => sys::SLOTQ_FOREVER,
        Some(d) => i64::try_from(d.as_nanos()).unwrap_or(sys::SLOTQ_FOREVER),
    }
}

/// The raw pointer of an optional token, NULL for none.
pub(crate) fn opt_ptr(cancel: Option<&CancelToken>) -> *mut sys::slotq_cancel_t {
    cancel.map_or(ptr::null_mut(), CancelToken::as_ptr)
}

/// Now on the library's monotonic clock, in nanoseconds (`slotq_now_ns()`).
pub fn now_ns() -> i64 {
    unsafe { sys::slotq_now_ns() }
}

impl CancelToken {
    /// A token that fires only when cancelled (`slotq_cancel_create`).
    pub fn new() -> Result<CancelToken> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::slotq_cancel_create(&mut out) })?;
        Ok(unsafe { CancelToken::from_raw(out) })
    }

    /// A child token: fires when cancelled or when `self` fires
    /// (`slotq_cancel_create_child`). Created fired if `self` already fired.
    pub fn child(&self) -> Result<CancelToken> {
        let mut out = ptr::null_mut();
        // A parent's passed deadline fires it here: its callbacks run here.
        let rc = unsafe { sys::slotq_cancel_create_child(self.as_ptr(), &mut out) };
        panic::resumed(check(rc).map(|()| unsafe { CancelToken::from_raw(out) }))
    }

    /// A token that fires `timeout` from now, when cancelled, or when
    /// `parent` fires.
    pub fn with_timeout(parent: Option<&CancelToken>, timeout: Duration) -> Result<CancelToken> {
        let ns = i64::try_from(timeout.as_nanos()).unwrap_or(i64::MAX);
        CancelToken::with_deadline_ns(parent, now_ns().saturating_add(ns))
    }

    /// A token that fires at `deadline`, when cancelled, or when `parent`
    /// fires. A deadline in the past gives a token that has already fired.
    pub fn with_deadline(parent: Option<&CancelToken>, deadline: Instant) -> Result<CancelToken> {
        let (now_i, now) = (Instant::now(), now_ns());
        let ns = if deadline >= now_i {
            let ahead = i64::try_from((deadline - now_i).as_nanos()).unwrap_or(i64::MAX);
            now.saturating_add(ahead)
        } else {
            let behind = i64::try_from((now_i - deadline).as_nanos()).unwrap_or(i64::MAX);
            now.saturating_sub(behind)
        };
        CancelToken::with_deadline_ns(parent, ns)
    }

    /// A token that fires at `deadline_ns` on the [`now_ns`] clock
    /// (`slotq_cancel_create_deadline`).
    pub fn with_deadline_ns(parent: Option<&CancelToken>, deadline_ns: i64) -> Result<CancelToken> {
        let mut out = ptr::null_mut();
        // A parent's passed deadline fires it here: its callbacks run here.
        let rc =
            unsafe { sys::slotq_cancel_create_deadline(opt_ptr(parent), deadline_ns, &mut out) };
        panic::resumed(check(rc).map(|()| unsafe { CancelToken::from_raw(out) }))
    }

    /// Cancels the token (`slotq_cancel_cancel`): blocking calls waiting on
    /// it return, its callbacks run on this thread before this returns, its
    /// children fire. Cancelling twice is harmless.
    ///
    /// # Panics
    /// If a callback registered with [`CancelToken::on_cancel`] panicked, the
    /// panic resumes here once every callback has run.
    pub fn cancel(&self) {
        let rc = panic::calling(|| unsafe { sys::slotq_cancel_cancel(self.as_ptr()) });
        debug_assert_eq!(rc, sys::SLOTQ_OK);
    }

    /// Whether the token has fired, and why (`slotq_cancel_reason`).
    pub fn reason(&self) -> Option<CancelReason> {
        let mut reason: c_int = sys::SLOTQ_OK;
        let rc = unsafe { sys::slotq_cancel_reason(self.as_ptr(), &mut reason) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        match reason {
            sys::SLOTQ_OK => None,
            sys::SLOTQ_ETIMEDOUT => Some(CancelReason::DeadlineExceeded),
            _ => Some(CancelReason::Canceled),
        }
    }

    /// Whether the token has fired (cancelled or past its deadline).
    pub fn is_cancelled(&self) -> bool {
        self.reason().is_some()
    }

    /// Runs `f` once when the token fires (`slotq_cancel_on_cancel`): on the
    /// thread that cancels it, on the library's timer thread for a deadline,
    /// or right here if it already fired. Dropping the returned registration
    /// unregisters `f` (waiting for it if it is running on another thread).
    ///
    /// A panic in `f` never crosses the library: it resumes from
    /// [`CancelToken::cancel`] (or from this function) on the thread that ran
    /// `f`; on the timer thread it is only reported by the panic hook.
    pub fn on_cancel<F>(&self, f: F) -> Result<CancelRegistration>
    where
        F: FnOnce() + Send + 'static,
    {
        let cell = Box::into_raw(Box::new(CallbackCell {
            f: Mutex::new(Some(Box::new(f))),
        }));
        let mut reg = ptr::null_mut();
        // `f` may run right here (the token fired) and panic: the panic
        // resumes once the registration is ours (the unwinding drops it).
        let rc = unsafe {
            sys::slotq_cancel_on_cancel(self.as_ptr(), Some(run_callback), cell.cast(), &mut reg)
        };
        if rc != sys::SLOTQ_OK {
            drop(unsafe { Box::from_raw(cell) });
            panic::resume();
            check(rc)?;
        }
        Ok(panic::resumed(CancelRegistration {
            reg: NonNull::new(reg).expect("slotq_cancel_on_cancel returned OK and NULL"),
            cell,
        }))
    }

    /// The raw handle, still owned by `self`.
    pub fn as_ptr(&self) -> *mut sys::slotq_cancel_t {
        self.ptr.as_ptr()
    }

    /// Takes ownership of one reference to a raw token.
    ///
    /// # Safety
    /// `ptr` must be a valid, non-NULL `slotq_cancel_t` whose reference the
    /// caller gives up.
    pub unsafe fn from_raw(ptr: *mut sys::slotq_cancel_t) -> CancelToken {
        CancelToken {
            ptr: NonNull::new(ptr).expect("NULL slotq_cancel_t"),
        }
    }

    /// Gives up ownership: returns the raw handle with its reference.
    pub fn into_raw(self) -> *mut sys::slotq_cancel_t {
        let p = self.as_ptr();
        std::mem::forget(self);
        p
    }
}

impl Clone for CancelToken {
    fn clone(&self) -> CancelToken {
        let rc = unsafe { sys::slotq_cancel_retain(self.as_ptr()) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        CancelToken { ptr: self.ptr }
    }
}

impl Drop for CancelToken {
    fn drop(&mut self) {
        panic::dropping(|| unsafe { sys::slotq_cancel_release(self.as_ptr()) });
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("ptr", &self.ptr)
            .field("reason", &self.reason())
            .finish()
    }
}

/// The state behind one registration: the callback, taken out when it runs.
struct CallbackCell {
    f: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

/// The `slotq_cancel_fn` of every registration. It moves the closure out of
/// the cell before calling it and never touches the cell afterwards, so the
/// closure may drop its own registration (which frees the cell).
unsafe extern "C" fn run_callback(arg: *mut c_void) {
    let cell = arg as *const CallbackCell;
    let f = panic::guard(None, || {
        // SAFETY: the cell lives until slotq_cancel_unregister() returned,
        // which waits for a running callback.
        let mut slot = unsafe { &*cell }
            .f
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        slot.take()
    });
    if let Some(f) = f {
        panic::guard((), f);
    }
}

/// A callback registered with [`CancelToken::on_cancel`]; dropping it
/// unregisters the callback (`slotq_cancel_unregister`).
pub struct CancelRegistration {
    reg: NonNull<sys::slotq_cancel_reg_t>,
    cell: *mut CallbackCell,
}

// SAFETY: slotq_cancel_unregister may be called from any thread; the cell's
// closure is Send and guarded by a mutex.
unsafe impl Send for CancelRegistration {}
// SAFETY: no &self method touches the registration.
unsafe impl Sync for CancelRegistration {}

impl CancelRegistration {
    /// Unregisters the callback and tells whether it ran (or is running on
    /// another thread: this waits for it). After this the callback will
    /// never run.
    pub fn unregister(self) -> bool {
        let ran = self.unregister_inner();
        std::mem::forget(self);
        ran
    }

    fn unregister_inner(&self) -> bool {
        let mut ran: c_int = 0;
        let rc = unsafe { sys::slotq_cancel_unregister(self.reg.as_ptr(), &mut ran) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        // SAFETY: the callback is not running (or is running inside itself
        // and has already moved its closure out of the cell).
        drop(unsafe { Box::from_raw(self.cell) });
        ran != 0
    }
}

impl Drop for CancelRegistration {
    fn drop(&mut self) {
        self.unregister_inner();
    }
}

impl std::fmt::Debug for CancelRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelRegistration")
            .field("reg", &self.reg)
            .finish()
    }
}
