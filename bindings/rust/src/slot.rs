//! [`Slot`]: what a container offers, and the `extern "C"` callbacks
//! (`slotq_slot_ops`) that let the library drive a Rust slot.

use std::any::Any;
use std::mem::ManuallyDrop;
use std::os::raw::{c_int, c_void};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::cancel::CancelToken;
use crate::panic;
use crate::sys;
use crate::token::TokenState;

/// The code reported to the library when a slot callback panicked (the panic
/// itself resumes in the Rust function whose call ran the callback).
pub const PANIC_CODE: i32 = i32::MIN;

/// The code reported to the library for a callback's `Err(0)`, which would
/// otherwise read as success.
pub const ZERO_ERROR_CODE: i32 = -1;

/// One container's slot: how callers use it (the seed's `Slot` interface).
///
/// The library calls these methods from the threads documented on each, and
/// may call them concurrently (for instance [`Slot::error`] during
/// [`Slot::exec`]), hence `Send + Sync`. The slot is boxed by
/// [`Queue::offer`](crate::Queue::offer) and dropped when the library
/// releases the token's last reference (the ops' `release` callback).
///
/// Errors are host codes: `Err(code)` reaches the caller of
/// [`Token::exec`](crate::Token::exec) or [`Token::close`](crate::Token::close)
/// as [`Error::callback_code`](crate::Error::callback_code). A panic never
/// crosses the C library: it is caught, reported to it as [`PANIC_CODE`],
/// and resumed on the calling thread once the library returns (or discarded
/// when the callback ran inside a `Drop`).
///
/// Closures can be used through [`FnSlot`].
pub trait Slot: Any + Send + Sync {
    /// Runs a call on the slot (the seed's `Slot.exec`): called by
    /// [`Token::exec`](crate::Token::exec) on its thread, with its `call`
    /// argument and cancellation token.
    fn exec(&self, call: &mut dyn Any, cancel: Option<&CancelToken>) -> Result<(), i32>;

    /// Releases the slot (the seed's `Slot.Close`). Runs at most once per
    /// token: by [`Token::close`](crate::Token::close), by
    /// [`Queue::eject`](crate::Queue::eject), or when the queue shuts down
    /// with the slot idle, on the thread calling that function.
    fn close(&self) -> Result<(), i32> {
        Ok(())
    }

    /// The slot's own error, `Ok(())` for none (the seed's `Slot.Error`).
    fn error(&self) -> Result<(), i32> {
        Ok(())
    }

    /// Called once when the token's trigger fires, with its final state:
    /// [`TokenState::Acquired`] on the acquiring thread, or
    /// [`TokenState::Ejected`] / [`TokenState::Discarded`] after
    /// [`Slot::close`], on its thread. Does nothing by default.
    fn trigger(&self, state: TokenState) {
        let _ = state;
    }
}

type ExecFn = dyn Fn(&mut dyn Any, Option<&CancelToken>) -> Result<(), i32> + Send + Sync;
type CodeFn = dyn Fn() -> Result<(), i32> + Send + Sync;
type TriggerFn = dyn Fn(TokenState) + Send + Sync;

/// A [`Slot`] made of closures:
///
/// ```no_run
/// # use slotq::FnSlot;
/// let slot = FnSlot::new(|_call, _cancel| Ok(())).on_close(|| { println!("closed"); Ok(()) });
/// ```
pub struct FnSlot {
    exec: Box<ExecFn>,
    close: Option<Box<CodeFn>>,
    error: Option<Box<CodeFn>>,
    trigger: Option<Box<TriggerFn>>,
}

impl FnSlot {
    /// A slot whose [`Slot::exec`] is `exec`.
    pub fn new<F>(exec: F) -> FnSlot
    where
        F: Fn(&mut dyn Any, Option<&CancelToken>) -> Result<(), i32> + Send + Sync + 'static,
    {
        FnSlot {
            exec: Box::new(exec),
            close: None,
            error: None,
            trigger: None,
        }
    }

    /// Sets [`Slot::close`].
    pub fn on_close<F>(mut self, f: F) -> FnSlot
    where
        F: Fn() -> Result<(), i32> + Send + Sync + 'static,
    {
        self.close = Some(Box::new(f));
        self
    }

    /// Sets [`Slot::error`].
    pub fn on_error<F>(mut self, f: F) -> FnSlot
    where
        F: Fn() -> Result<(), i32> + Send + Sync + 'static,
    {
        self.error = Some(Box::new(f));
        self
    }

    /// Sets [`Slot::trigger`].
    pub fn on_trigger<F>(mut self, f: F) -> FnSlot
    where
        F: Fn(TokenState) + Send + Sync + 'static,
    {
        self.trigger = Some(Box::new(f));
        self
    }
}

impl Slot for FnSlot {
    fn exec(&self, call: &mut dyn Any, cancel: Option<&CancelToken>) -> Result<(), i32> {
        (self.exec)(call, cancel)
    }

    fn close(&self) -> Result<(), i32> {
        self.close.as_ref().map_or(Ok(()), |f| f())
    }

    fn error(&self) -> Result<(), i32> {
        self.error.as_ref().map_or(Ok(()), |f| f())
    }

    fn trigger(&self, state: TokenState) {
        if let Some(f) = &self.trigger {
            f(state)
        }
    }
}

impl std::fmt::Debug for FnSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnSlot")
            .field("close", &self.close.is_some())
            .field("error", &self.error.is_some())
            .field("trigger", &self.trigger.is_some())
            .finish_non_exhaustive()
    }
}

/// What the `slot` pointer of a Rust slot points to: an `Arc` whose one
/// count the library owns (dropped by the `release` callback).
pub(crate) struct SlotBox {
    pub(crate) slot: Box<dyn Slot>,
    /// Set once the close callback ran: proves the library made a token.
    pub(crate) closed: AtomicBool,
}

impl SlotBox {
    /// A new box for `slot`: the raw pointer owning one count for the
    /// library, and one count for the caller.
    pub(crate) fn new<S: Slot>(slot: S) -> (*mut c_void, Arc<SlotBox>) {
        let b = Arc::new(SlotBox {
            slot: Box::new(slot),
            closed: AtomicBool::new(false),
        });
        (Arc::into_raw(b.clone()) as *mut c_void, b)
    }

    /// Drops the library's count of a box the library never took.
    ///
    /// # Safety
    /// `p` comes from [`SlotBox::new`] and no token was made with it.
    pub(crate) unsafe fn forget_raw(p: *mut c_void) {
        drop(unsafe { Arc::from_raw(p as *const SlotBox) });
    }
}

/// What the `call_arg` pointer of [`Token::exec`](crate::Token::exec) points to.
pub(crate) struct ExecFrame<'a> {
    pub(crate) call: &'a mut dyn Any,
}

/// The one ops table of every Rust slot (static: it outlives every token).
pub(crate) static OPS: sys::slotq_slot_ops = sys::slotq_slot_ops {
    exec: Some(exec_cb),
    close: Some(close_cb),
    error: Some(error_cb),
    release: Some(release_cb),
    trigger: Some(trigger_cb),
};

fn code(r: Result<(), i32>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(0) => ZERO_ERROR_CODE,
        Err(c) => c,
    }
}

/// # Safety
/// `slot` is a live `SlotBox` (the token holding it is alive while callbacks run).
unsafe fn slot_of<'a>(slot: *mut c_void) -> &'a dyn Slot {
    unsafe { &*(*(slot as *const SlotBox)).slot }
}

unsafe extern "C" fn exec_cb(
    slot: *mut c_void,
    cancel: *mut sys::slotq_cancel_t,
    call_arg: *mut c_void,
) -> c_int {
    panic::guard(PANIC_CODE, || {
        let s = unsafe { slot_of(slot) };
        // Borrowed for the call: no reference is taken or dropped.
        let cancel = NonNull::new(cancel)
            .map(|p| ManuallyDrop::new(unsafe { CancelToken::from_raw(p.as_ptr()) }));
        let mut unit = ();
        let call: &mut dyn Any = if call_arg.is_null() {
            &mut unit
        } else {
            let frame = unsafe { &mut *(call_arg as *mut ExecFrame<'_>) };
            &mut *frame.call
        };
        code(s.exec(call, cancel.as_deref()))
    })
}

unsafe extern "C" fn close_cb(slot: *mut c_void) -> c_int {
    // SAFETY: as slot_of.
    unsafe { &*(slot as *const SlotBox) }
        .closed
        .store(true, Ordering::Release);
    panic::guard(PANIC_CODE, || code(unsafe { slot_of(slot) }.close()))
}

unsafe extern "C" fn error_cb(slot: *mut c_void) -> c_int {
    panic::guard(PANIC_CODE, || code(unsafe { slot_of(slot) }.error()))
}

unsafe extern "C" fn release_cb(slot: *mut c_void) {
    // The library's last use of `slot`: drop the host's object.
    panic::guard((), || {
        drop(unsafe { Arc::from_raw(slot as *const SlotBox) })
    });
}

unsafe extern "C" fn trigger_cb(slot: *mut c_void, state: c_int) {
    panic::guard((), || {
        if let Some(st) = TokenState::from_raw(state) {
            unsafe { slot_of(slot) }.trigger(st);
        }
    });
}
