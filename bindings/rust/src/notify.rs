//! Event-driven waiting: notification callbacks and eventfds for dequeuers
//! ([`Dequeuer::set_notify`], [`Dequeuer::arm`], [`Dequeuer::fd`]) and for a
//! queue's launch signal ([`Queue::set_signal_notify`], [`Queue::signal_fd`]).

use std::collections::HashSet;
use std::os::fd::{BorrowedFd, RawFd};
use std::os::raw::{c_int, c_void};
use std::ptr;
use std::sync::{Arc, Mutex};

use crate::dequeuer::Dequeuer;
use crate::error::{check, Error, Result};
use crate::panic;
use crate::queue::Queue;
use crate::sys;

/// What a notification's `arg` points to. The trampoline clones the closure
/// out before calling it and never touches the cell afterwards, so the
/// closure may free its own registration.
pub(crate) struct NotifyCell {
    f: Arc<dyn Fn() + Send + Sync>,
}

impl NotifyCell {
    pub(crate) fn boxed<F: Fn() + Send + Sync + 'static>(f: F) -> Box<NotifyCell> {
        Box::new(NotifyCell { f: Arc::new(f) })
    }
}

unsafe extern "C" fn run_notify(arg: *mut c_void) {
    panic::guard((), || {
        // SAFETY: the cell outlives every notification that may still start
        // (see the owners: Dequeuer's Raw and SignalNotify).
        let f = unsafe { &*(arg as *const NotifyCell) }.f.clone();
        f()
    })
}

impl Dequeuer {
    /// Sets the callback of an event-driven dequeuer (`slotq_dequeuer_set_notify`),
    /// called once per notification (see [`Dequeuer::arm`]) on the thread
    /// that caused it (often the one offering a slot), without library
    /// locks. It should be short. Set it before arming; setting another one
    /// replaces it (both closures live until the dequeuer is dropped).
    pub fn set_notify<F>(&self, f: F) -> Result<()>
    where
        F: Fn() + Send + Sync + 'static,
    {
        let cell = NotifyCell::boxed(f);
        let arg = &*cell as *const NotifyCell as *mut c_void;
        // Keep the cell before the library can call it.
        self.raw()
            .notify
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cell);
        check(unsafe { sys::slotq_dequeuer_set_notify(self.as_ptr(), Some(run_notify), arg) })
    }

    /// A pollable eventfd (`slotq_dequeuer_fd`): each notification adds one
    /// to its counter; read 8 bytes to reset it. Owned by the dequeuer.
    pub fn fd(&self) -> Result<BorrowedFd<'_>> {
        let mut fd: c_int = -1;
        check(unsafe { sys::slotq_dequeuer_fd(self.as_ptr(), &mut fd) })?;
        // SAFETY: the library keeps it open until the dequeuer is freed,
        // which cannot happen while `self` is borrowed.
        Ok(unsafe { BorrowedFd::borrow_raw(fd) })
    }

    /// Asks for one notification instead of blocking (`slotq_dequeuer_arm`):
    /// when a slot is handed to this dequeuer, or it is stopped or
    /// cancelled, the notify callback runs and the [`fd`](Dequeuer::fd)
    /// becomes readable; then [`next_timeout`](Dequeuer::next_timeout) with
    /// a zero timeout returns the slot (or the reason) without blocking. If a
    /// slot is idle already, the notification happens on this thread before
    /// this returns. [`Stopped`](crate::ErrorKind::Stopped) (after
    /// notifying) if the dequeuer is stopped.
    pub fn arm(&self) -> Result<()> {
        check(panic::calling(|| unsafe {
            sys::slotq_dequeuer_arm(self.as_ptr())
        }))
    }
}

/// Queues with a [`SignalNotify`]: at most one each, so that the safe API
/// never races two registrations of one queue.
static SIGNAL_LISTENERS: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

fn listeners() -> std::sync::MutexGuard<'static, Option<HashSet<usize>>> {
    SIGNAL_LISTENERS.lock().unwrap_or_else(|e| e.into_inner())
}

impl Queue {
    /// Calls `f` each time a launch signal becomes pending on the queue
    /// (`slotq_queue_set_signal_notify`), on the thread that called
    /// [`Queue::signal`], without library locks; `f` typically consumes the
    /// signal with `wait_signal(Some(Duration::ZERO), None)`. A signal
    /// already pending is told once, on this thread, before this returns.
    ///
    /// The callback stays registered while the returned [`SignalNotify`]
    /// lives (it holds a handle on the queue). One per queue:
    /// [`Busy`](crate::ErrorKind::Busy) while another is registered.
    pub fn set_signal_notify<F>(&self, f: F) -> Result<SignalNotify>
    where
        F: Fn() + Send + Sync + 'static,
    {
        let key = self.as_ptr() as usize;
        if !listeners().get_or_insert_with(HashSet::new).insert(key) {
            return Err(Error::from_code(sys::SLOTQ_EBUSY));
        }
        let cell = Box::into_raw(NotifyCell::boxed(f));
        let rc = unsafe {
            sys::slotq_queue_set_signal_notify(self.as_ptr(), Some(run_notify), cell.cast())
        };
        if rc != sys::SLOTQ_OK {
            drop(unsafe { Box::from_raw(cell) });
            listeners().get_or_insert_with(HashSet::new).remove(&key);
            return Err(Error::from_code(rc));
        }
        // `f` ran here if a signal was pending; its panic resumes now that
        // the registration is ours (the unwinding drops it).
        Ok(panic::resumed(SignalNotify {
            queue: self.clone(),
            cell,
        }))
    }

    /// A pollable eventfd (`slotq_queue_signal_fd`) that each new pending
    /// signal adds one to (readable at once if one is pending already);
    /// read 8 bytes to reset it, before consuming the signal. Owned by the queue:
    /// it stays open while the queue lives, until a [`SignalNotify`] of the
    /// queue is dropped (which closes it); do not close it yourself.
    pub fn signal_fd(&self) -> Result<RawFd> {
        let mut fd: c_int = -1;
        check(unsafe { sys::slotq_queue_signal_fd(self.as_ptr(), &mut fd) })?;
        Ok(fd)
    }
}

/// The registration of [`Queue::set_signal_notify`]; dropping it removes the
/// callback (waiting for a call of it running on another thread) and closes
/// the queue's [`signal_fd`](Queue::signal_fd).
pub struct SignalNotify {
    queue: Queue,
    cell: *mut NotifyCell,
}

// SAFETY: the cell's closure is Send + Sync; removal may happen on any thread.
unsafe impl Send for SignalNotify {}
// SAFETY: no &self method touches the cell.
unsafe impl Sync for SignalNotify {}

impl SignalNotify {
    /// The queue the callback is registered on.
    pub fn queue(&self) -> &Queue {
        &self.queue
    }
}

impl Drop for SignalNotify {
    fn drop(&mut self) {
        panic::dropping(|| {
            let rc = unsafe {
                sys::slotq_queue_set_signal_notify(self.queue.as_ptr(), None, ptr::null_mut())
            };
            debug_assert_eq!(rc, sys::SLOTQ_OK);
        });
        // SAFETY: the callback is not running (or runs this very drop, and
        // has cloned its closure out of the cell already) and never will again.
        drop(unsafe { Box::from_raw(self.cell) });
        if let Some(set) = listeners().as_mut() {
            set.remove(&(self.queue.as_ptr() as usize));
        }
    }
}

impl std::fmt::Debug for SignalNotify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalNotify")
            .field("queue", &self.queue)
            .finish()
    }
}
