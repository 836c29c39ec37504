//! [`Queue`]: the LIFO stack of idle slots of one function, its state
//! counters, latency averages and launch signal (the seed's `slotQueue`).

use std::os::raw::{c_int, c_void};
use std::ptr::{self, NonNull};
use std::time::Duration;

use crate::cancel::{opt_ptr, timeout_ns, CancelToken};
use crate::dequeuer::Dequeuer;
use crate::error::{check, Error, Result};
use crate::panic;
use crate::slot::{Slot, SlotBox, OPS};
use crate::sys;
use crate::token::Token;

/// The states a queue counts parties in (the seed's `SlotQueueMetricType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Running a call on a slot.
    Runner = 0,
    /// Starting a container.
    Starter = 1,
    /// Waiting for a slot.
    Waiter = 2,
}

impl State {
    /// Every state, in index order.
    pub const ALL: [State; 3] = [State::Runner, State::Starter, State::Waiter];

    /// The index of the state in [`Stats`]'s arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A consistent snapshot of a queue's counters (the seed's `slotQueueStats`).
/// The arrays are indexed by [`State::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// Parties in each state now.
    pub states: [u64; 3],
    /// Latency samples recorded for each state.
    pub latency_count: [u64; 3],
    /// Moving average of each state's latency.
    pub latencies: [u64; 3],
}

impl Stats {
    /// Parties in `state` now.
    pub fn count(&self, state: State) -> u64 {
        self.states[state.index()]
    }

    /// The moving average of `state`'s latency.
    pub fn latency(&self, state: State) -> u64 {
        self.latencies[state.index()]
    }

    /// The number of latency samples recorded for `state`.
    pub fn samples(&self, state: State) -> u64 {
        self.latency_count[state.index()]
    }
}

impl From<sys::slotq_stats> for Stats {
    fn from(s: sys::slotq_stats) -> Stats {
        Stats {
            states: s.states,
            latency_count: s.latency_count,
            latencies: s.latencies,
        }
    }
}

/// A slot queue: reference counted (`Clone` adds a reference) and
/// thread-safe. When the last reference (of users, managers and dequeuers)
/// is dropped, the queue shuts down: the slots still idle on it are
/// discarded and their [`Slot::close`] runs on the dropping thread.
///
/// Two `Queue` values are equal when they are handles of the same queue.
pub struct Queue {
    ptr: NonNull<sys::slotq_queue_t>,
}

// SAFETY: slotq.h: queues are reference counted and thread-safe.
unsafe impl Send for Queue {}
// SAFETY: as above; every function on a queue may be called concurrently.
unsafe impl Sync for Queue {}

impl Queue {
    /// A queue outside any manager (the seed's `NewSlotQueue`), with a key
    /// of at most 64 bytes (usually a [`Key`](crate::Key)'s bytes).
    pub fn new(key: &[u8]) -> Result<Queue> {
        let mut out = ptr::null_mut();
        check(unsafe {
            sys::slotq_queue_create(key.as_ptr() as *const c_void, key.len(), &mut out)
        })?;
        Ok(unsafe { Queue::from_raw(out) })
    }

    /// The queue's key.
    pub fn key(&self) -> Vec<u8> {
        let mut buf = [0u8; sys::SLOTQ_MAX_QUEUE_KEY];
        let mut len = 0usize;
        let rc = unsafe {
            sys::slotq_queue_key(
                self.as_ptr(),
                buf.as_mut_ptr() as *mut c_void,
                buf.len(),
                &mut len,
            )
        };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        buf[..len.min(buf.len())].to_vec()
    }

    /// Offers a slot (the seed's `queueSlot`): its token goes to the
    /// dequeuer that has waited longest, or on top of the stack. Returns the
    /// container side's token. The slot is dropped once the token's last
    /// reference is gone.
    #[doc(alias = "slotq_queue_slot")]
    pub fn offer<S: Slot>(&self, slot: S) -> Result<Token> {
        let (raw, _ours) = SlotBox::new(slot);
        let mut tok = ptr::null_mut();
        // Callbacks run here (a dequeuer's notification) may panic: the
        // panic resumes once the token is ours.
        let rc = unsafe { sys::slotq_queue_slot(self.as_ptr(), raw, &OPS, &mut tok) };
        if rc != sys::SLOTQ_OK {
            // No token was made: the library's count is ours to drop.
            unsafe { SlotBox::forget_raw(raw) };
            panic::resume();
            return Err(Error::from_code(rc));
        }
        let tok = unsafe { Token::from_raw(tok) };
        if panic::pending() {
            // The caller will never see the token: take the slot back, or it
            // would stay on the queue with nobody to eject it.
            unsafe { sys::slotq_eject(self.as_ptr(), tok.as_ptr()) };
            panic::resume(); // the unwinding drops tok
        }
        Ok(tok)
    }

    /// Takes an idle (or lent, unacquired) slot back (the seed's
    /// `ejectSlot`): succeeds once, only if no caller acquired it first; its
    /// [`Slot::close`] runs on this thread. [`ErrorKind::Gone`](crate::ErrorKind::Gone)
    /// if it was already acquired, ejected or discarded (a caller is using
    /// it: serve the call); [`ErrorKind::WrongQueue`](crate::ErrorKind::WrongQueue)
    /// if the token is another queue's.
    ///
    /// # Panics
    /// If [`Slot::close`] panicked: the panic resumes here (the slot is ejected).
    pub fn eject(&self, token: &Token) -> Result<()> {
        check(panic::calling(|| unsafe {
            sys::slotq_eject(self.as_ptr(), token.as_ptr())
        }))
    }

    /// The number of idle slots on the stack now.
    pub fn len(&self) -> usize {
        let mut len = 0usize;
        let rc = unsafe { sys::slotq_queue_len(self.as_ptr(), &mut len) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        len
    }

    /// Whether no slot is idle on the stack.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts a caller's wait for slots (the seed's `startDequeuer`). When
    /// `cancel` fires the dequeuer behaves as stopped.
    pub fn start_dequeuer(&self, cancel: Option<&CancelToken>) -> Result<Dequeuer> {
        let mut out = ptr::null_mut();
        // `cancel` may have fired just now: its callbacks run here.
        let rc = unsafe { sys::slotq_start_dequeuer(self.as_ptr(), opt_ptr(cancel), &mut out) };
        panic::resumed(check(rc).map(|()| unsafe { Dequeuer::from_raw(out) }))
    }

    /// Counts one more party in `state`. (The library refuses with
    /// [`ErrorKind::Overload`](crate::ErrorKind::Overload) once a counter
    /// reaches `u32::MAX`.)
    pub fn enter_state(&self, state: State) -> Result<()> {
        check(unsafe { sys::slotq_queue_enter_state(self.as_ptr(), state as c_int) })
    }

    /// Counts one party less in `state`; [`ErrorKind::State`](crate::ErrorKind::State)
    /// if its counter is zero (the seed panics there).
    pub fn exit_state(&self, state: State) -> Result<()> {
        check(unsafe { sys::slotq_queue_exit_state(self.as_ptr(), state as c_int) })
    }

    /// Counts one party less in `state` and records its latency, atomically
    /// (the seed's `exitStateWithLatency`); [`ErrorKind::State`](crate::ErrorKind::State)
    /// if the counter is zero (nothing changes).
    pub fn exit_state_latency(&self, state: State, latency: u64) -> Result<()> {
        check(unsafe {
            sys::slotq_queue_exit_state_latency(self.as_ptr(), state as c_int, latency)
        })
    }

    /// Records one latency sample (the seed's `recordLatency`): the first
    /// sample is counted but not averaged in; each later one sets
    /// `avg = (avg * 5 + latency * 5) / 10` in wrapping `u64` arithmetic.
    pub fn record_latency(&self, state: State, latency: u64) {
        let rc = unsafe { sys::slotq_queue_record_latency(self.as_ptr(), state as c_int, latency) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
    }

    /// A consistent snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let mut s = sys::slotq_stats::default();
        let rc = unsafe { sys::slotq_queue_stats(self.as_ptr(), &mut s) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        s.into()
    }

    /// Whether nobody is waiting, running or starting (idle slots do not count).
    pub fn is_idle(&self) -> bool {
        let mut idle: c_int = 0;
        let rc = unsafe { sys::slotq_queue_is_idle(self.as_ptr(), &mut idle) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        idle != 0
    }

    /// The seed's launch policy: whether another container should start,
    /// with the snapshot the decision was made on.
    pub fn is_new_container_needed(&self) -> (bool, Stats) {
        let mut needed: c_int = 0;
        let mut s = sys::slotq_stats::default();
        let rc =
            unsafe { sys::slotq_queue_is_new_container_needed(self.as_ptr(), &mut needed, &mut s) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        (needed != 0, s.into())
    }

    /// Asks the queue's launcher to look at it (the seed's non-blocking send
    /// on its one-slot channel): `true` if the signal is now pending, `false`
    /// if one was pending already.
    pub fn signal(&self) -> bool {
        let mut sent: c_int = 0;
        let rc = panic::calling(|| unsafe { sys::slotq_queue_signal(self.as_ptr(), &mut sent) });
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        sent != 0
    }

    /// Waits for the pending signal and consumes it. `None` waits without a
    /// timeout; a zero duration polls.
    pub fn wait_signal(
        &self,
        timeout: Option<Duration>,
        cancel: Option<&CancelToken>,
    ) -> Result<()> {
        check(unsafe {
            sys::slotq_queue_wait_signal(self.as_ptr(), timeout_ns(timeout), opt_ptr(cancel))
        })
    }

    /// The raw handle, still owned by `self`.
    ///
    /// Slots queued on it directly through [`sys`] must use this crate's
    /// callbacks too: the safe [`Token`] methods assume every token of a
    /// queue reachable from safe code came from [`Queue::offer`].
    pub fn as_ptr(&self) -> *mut sys::slotq_queue_t {
        self.ptr.as_ptr()
    }

    /// Takes ownership of one reference to a raw queue.
    ///
    /// # Safety
    /// `ptr` must be a valid, non-NULL `slotq_queue_t` whose reference the
    /// caller gives up, and every slot queued on it must come from
    /// [`Queue::offer`] (see [`Queue::as_ptr`]).
    pub unsafe fn from_raw(ptr: *mut sys::slotq_queue_t) -> Queue {
        Queue {
            ptr: NonNull::new(ptr).expect("NULL slotq_queue_t"),
        }
    }

    /// Gives up ownership: returns the raw handle with its reference.
    pub fn into_raw(self) -> *mut sys::slotq_queue_t {
        let p = self.as_ptr();
        std::mem::forget(self);
        p
    }
}

impl Clone for Queue {
    fn clone(&self) -> Queue {
        let rc = unsafe { sys::slotq_queue_retain(self.as_ptr()) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        Queue { ptr: self.ptr }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        panic::dropping(|| unsafe { sys::slotq_queue_release(self.as_ptr()) });
    }
}

impl PartialEq for Queue {
    fn eq(&self, other: &Queue) -> bool {
        self.ptr == other.ptr
    }
}

impl Eq for Queue {}

impl std::hash::Hash for Queue {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.ptr.hash(state)
    }
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("ptr", &self.ptr)
            .field("len", &self.len())
            .field("stats", &self.stats())
            .finish()
    }
}
