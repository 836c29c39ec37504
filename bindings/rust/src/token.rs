//! [`Token`]: one offer of one slot (the seed's `slotToken`).

use std::any::Any;
use std::os::raw::{c_int, c_void};
use std::ptr::{self, NonNull};
use std::time::Duration;

use crate::cancel::{opt_ptr, timeout_ns, CancelToken};
use crate::error::{check, Error, Result};
use crate::panic;
use crate::slot::{ExecFrame, Slot, SlotBox};
use crate::sys;

/// Where a token is in its life (`slotq_token_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenState {
    /// On the queue's stack, waiting for a caller.
    Queued,
    /// Handed out by a [`Dequeuer`](crate::Dequeuer), not acquired yet.
    Lent,
    /// Acquired by a caller. Final.
    Acquired,
    /// Ejected by [`Queue::eject`](crate::Queue::eject). Final; close ran.
    Ejected,
    /// Discarded because its queue shut down. Final; close ran.
    Discarded,
}

impl TokenState {
    /// The state of a raw `slotq_token_state`, `None` for unknown values.
    pub fn from_raw(v: c_int) -> Option<TokenState> {
        Some(match v {
            sys::SLOTQ_TOKEN_QUEUED => TokenState::Queued,
            sys::SLOTQ_TOKEN_LENT => TokenState::Lent,
            sys::SLOTQ_TOKEN_ACQUIRED => TokenState::Acquired,
            sys::SLOTQ_TOKEN_EJECTED => TokenState::Ejected,
            sys::SLOTQ_TOKEN_DISCARDED => TokenState::Discarded,
            _ => return None,
        })
    }

    /// Whether the state is final (acquired, ejected or discarded).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TokenState::Acquired | TokenState::Ejected | TokenState::Discarded
        )
    }
}

/// A slot token: reference counted (`Clone` adds a reference) and
/// thread-safe. Valid until its last reference is dropped, whatever happens
/// to the slot or its queue meanwhile.
///
/// The container side gets one from [`Queue::offer`](crate::Queue::offer)
/// (to [`wait`](Token::wait) on, or to [`eject`](crate::Queue::eject)); a
/// caller gets one from a [`Dequeuer`](crate::Dequeuer), [`acquire`](Token::acquire)s
/// it, [`exec`](Token::exec)utes calls on it and [`close`](Token::close)s it.
pub struct Token {
    ptr: NonNull<sys::slotq_token_t>,
}

// SAFETY: slotq.h: tokens are reference counted and thread-safe; the Rust
// slot behind a token is Send + Sync (the Slot trait requires it).
unsafe impl Send for Token {}
// SAFETY: as above; every function on a token may be called concurrently.
unsafe impl Sync for Token {}

impl Token {
    /// The token's id: its sequence number in its queue (0, 1, 2, ...).
    pub fn id(&self) -> u64 {
        let mut id = 0;
        let rc = unsafe { sys::slotq_token_id(self.as_ptr(), &mut id) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        id
    }

    fn state_raw(&self) -> (c_int, bool) {
        let (mut state, mut closed): (c_int, c_int) = (0, 0);
        let rc = unsafe { sys::slotq_token_state_get(self.as_ptr(), &mut state, &mut closed) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        (state, closed != 0)
    }

    /// The token's state now.
    ///
    /// # Panics
    /// If the library reports a state this binding does not know.
    pub fn state(&self) -> TokenState {
        let (state, _) = self.state_raw();
        TokenState::from_raw(state).unwrap_or_else(|| panic!("unknown slotq token state {state}"))
    }

    /// Whether the slot's close callback has run.
    pub fn is_closed(&self) -> bool {
        self.state_raw().1
    }

    /// Claims the slot for the calling party (the seed's `acquireSlot`).
    /// Succeeds for exactly one party, and never after an eject: otherwise
    /// [`ErrorKind::Gone`](crate::ErrorKind::Gone).
    pub fn acquire(&self) -> Result<()> {
        check(panic::calling(|| unsafe {
            sys::slotq_token_acquire(self.as_ptr())
        }))
    }

    /// Waits until the token is acquired, ejected or discarded (its trigger),
    /// and returns that state. `None` waits without a timeout; a zero
    /// duration polls. Fails with [`TimedOut`](crate::ErrorKind::TimedOut) or
    /// [`Canceled`](crate::ErrorKind::Canceled).
    pub fn wait(
        &self,
        timeout: Option<Duration>,
        cancel: Option<&CancelToken>,
    ) -> Result<TokenState> {
        let mut state: c_int = 0;
        check(unsafe {
            sys::slotq_token_wait(
                self.as_ptr(),
                timeout_ns(timeout),
                opt_ptr(cancel),
                &mut state,
            )
        })?;
        TokenState::from_raw(state).ok_or_else(|| Error::from_code(sys::SLOTQ_EINTERNAL))
    }

    /// Waits until the slot's close callback has run: for an acquired token,
    /// until the caller gave the slot back with [`Token::close`].
    pub fn wait_closed(
        &self,
        timeout: Option<Duration>,
        cancel: Option<&CancelToken>,
    ) -> Result<()> {
        check(unsafe {
            sys::slotq_token_wait_closed(self.as_ptr(), timeout_ns(timeout), opt_ptr(cancel))
        })
    }

    /// Runs a call on the acquired slot ([`Slot::exec`] on this thread),
    /// timed as the queue's Runner state. `call` reaches [`Slot::exec`]
    /// as is; `cancel` is only handed to it.
    ///
    /// An `Err(code)` of the slot is [`ErrorKind::Callback`](crate::ErrorKind::Callback)
    /// with [`Error::callback_code`]; a token not acquired, or already
    /// closed, is [`ErrorKind::State`](crate::ErrorKind::State).
    ///
    /// # Panics
    /// If [`Slot::exec`] panicked: the panic resumes here.
    pub fn exec(&self, call: &mut dyn Any, cancel: Option<&CancelToken>) -> Result<()> {
        let mut frame = ExecFrame { call };
        let mut exec_rc: c_int = 0;
        let rc = panic::calling(|| unsafe {
            sys::slotq_token_exec(
                self.as_ptr(),
                opt_ptr(cancel),
                &mut frame as *mut ExecFrame<'_> as *mut c_void,
                &mut exec_rc,
            )
        });
        match rc {
            sys::SLOTQ_ECALLBACK => Err(Error::callback(rc, exec_rc)),
            _ => check(rc),
        }
    }

    /// The slot's own error ([`Slot::error`]): `None` for none.
    pub fn slot_error(&self) -> Option<i32> {
        let mut err: c_int = 0;
        let rc = panic::calling(|| unsafe { sys::slotq_token_error(self.as_ptr(), &mut err) });
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        (err != 0).then_some(err)
    }

    /// Gives the acquired slot back after use: runs [`Slot::close`], at most
    /// once per token. [`ErrorKind::State`](crate::ErrorKind::State) if the
    /// token is not acquired yet; [`ErrorKind::Gone`](crate::ErrorKind::Gone)
    /// if its close already ran (closed twice, ejected or discarded). If the
    /// close callback itself returned `Err(code)`, the slot is closed all the
    /// same and this returns [`ErrorKind::Callback`](crate::ErrorKind::Callback).
    ///
    /// # Panics
    /// If [`Slot::close`] panicked: the panic resumes here (the slot is closed).
    pub fn close(&self) -> Result<()> {
        let mut close_rc: c_int = 0;
        check(panic::calling(|| unsafe {
            sys::slotq_token_close(self.as_ptr(), &mut close_rc)
        }))?;
        if close_rc != 0 {
            return Err(Error::callback(sys::SLOTQ_ECALLBACK, close_rc));
        }
        Ok(())
    }

    /// The Rust slot this token was offered with, if it is a `T`.
    pub fn slot<T: Slot>(&self) -> Option<&T> {
        let mut p: *mut c_void = ptr::null_mut();
        let rc = unsafe { sys::slotq_token_slot(self.as_ptr(), &mut p) };
        if rc != sys::SLOTQ_OK || p.is_null() {
            return None;
        }
        // SAFETY: every token reachable from safe code was queued by
        // Queue::offer with a SlotBox (see Queue::as_ptr), which lives until
        // the token's last reference (ours, at least) is dropped.
        let slot: &dyn Slot = unsafe { &*(*(p as *const SlotBox)).slot };
        (slot as &dyn Any).downcast_ref::<T>()
    }

    /// The raw handle, still owned by `self`.
    pub fn as_ptr(&self) -> *mut sys::slotq_token_t {
        self.ptr.as_ptr()
    }

    /// Takes ownership of one reference to a raw token.
    ///
    /// # Safety
    /// `ptr` must be a valid, non-NULL `slotq_token_t` whose reference the
    /// caller gives up, and it must have been queued by [`Queue::offer`](crate::Queue::offer)
    /// (the safe methods assume this crate's slot callbacks).
    pub unsafe fn from_raw(ptr: *mut sys::slotq_token_t) -> Token {
        Token {
            ptr: NonNull::new(ptr).expect("NULL slotq_token_t"),
        }
    }

    /// Gives up ownership: returns the raw handle with its reference.
    pub fn into_raw(self) -> *mut sys::slotq_token_t {
        let p = self.as_ptr();
        std::mem::forget(self);
        p
    }
}

impl Clone for Token {
    fn clone(&self) -> Token {
        let rc = unsafe { sys::slotq_token_retain(self.as_ptr()) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        Token { ptr: self.ptr }
    }
}

impl Drop for Token {
    /// Drops this reference; with the last one the Rust slot is dropped.
    /// Dropping the container's token does not take the slot off the queue:
    /// eject it first if it should go.
    fn drop(&mut self) {
        panic::dropping(|| unsafe { sys::slotq_token_release(self.as_ptr()) });
    }
}

impl PartialEq for Token {
    /// Two handles of the same token.
    fn eq(&self, other: &Token) -> bool {
        self.ptr == other.ptr
    }
}

impl Eq for Token {}

impl std::hash::Hash for Token {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.ptr.hash(state)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (state, closed) = self.state_raw();
        f.debug_struct("Token")
            .field("id", &self.id())
            .field("state", &TokenState::from_raw(state))
            .field("closed", &closed)
            .finish()
    }
}
