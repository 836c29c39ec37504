//! [`Manager`]: the table from slot key to slot queue (the seed's `slotQueueMgr`).

use std::os::raw::c_int;
use std::ptr::{self, NonNull};

use crate::call::{Call, Key};
use crate::error::{check, Result};
use crate::panic;
use crate::queue::Queue;
use crate::sys;

/// A manager: owned (dropping it destroys it) and thread-safe.
///
/// Dropping it drops its reference to every queue in its table: queues that
/// others still hold live on, the others shut down (their idle slots are
/// discarded).
pub struct Manager {
    ptr: NonNull<sys::slotq_mgr_t>,
}

// SAFETY: slotq.h: a manager is thread-safe; destroy needs exclusive
// ownership, which Drop has.
unsafe impl Send for Manager {}
// SAFETY: as above; get/delete/count may be called concurrently.
unsafe impl Sync for Manager {}

impl Manager {
    /// An empty manager.
    pub fn new() -> Result<Manager> {
        let mut out = ptr::null_mut();
        check(unsafe { sys::slotq_mgr_create(&mut out) })?;
        Ok(Manager {
            ptr: NonNull::new(out).expect("slotq_mgr_create returned OK and NULL"),
        })
    }

    /// Finds or creates the queue of `call` and counts the caller as a
    /// Waiter on it, atomically (the seed's `getSlotQueue`). Returns the
    /// queue and whether this call created it. Leave the Waiter state later
    /// with [`Queue::exit_state`] or [`Queue::exit_state_latency`].
    ///
    /// [`ErrorKind::Overload`](crate::ErrorKind::Overload) if the queue has
    /// as many waiters as the manager allows.
    pub fn get(&self, call: &Call) -> Result<(Queue, bool)> {
        let mut q = ptr::null_mut();
        let mut is_new: c_int = 0;
        check(call.with_raw(|raw| unsafe {
            sys::slotq_mgr_get(self.as_ptr(), raw, &mut q, &mut is_new)
        }))?;
        Ok((unsafe { Queue::from_raw(q) }, is_new != 0))
    }

    /// [`Manager::get`] with a key computed beforehand ([`Call::key`]).
    pub fn get_by_key(&self, key: &Key) -> Result<(Queue, bool)> {
        let mut q = ptr::null_mut();
        let mut is_new: c_int = 0;
        let raw = key.raw();
        check(unsafe { sys::slotq_mgr_get_by_key(self.as_ptr(), &raw, &mut q, &mut is_new) })?;
        Ok((unsafe { Queue::from_raw(q) }, is_new != 0))
    }

    /// Removes `queue` from the table if it is idle (the seed's
    /// `deleteSlotQueue`). [`ErrorKind::Busy`](crate::ErrorKind::Busy) if it
    /// is not idle; [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if
    /// this manager does not hold it. Holders keep a valid handle; later gets
    /// of its key create a new queue.
    pub fn delete(&self, queue: &Queue) -> Result<()> {
        check(panic::calling(|| unsafe {
            sys::slotq_mgr_delete(self.as_ptr(), queue.as_ptr())
        }))
    }

    /// Caps the waiters per queue (load shedding): a get that would make a
    /// queue's Waiter count exceed `max_waiters` fails at once with
    /// [`ErrorKind::Overload`](crate::ErrorKind::Overload). 0 (the default)
    /// for no cap. Applies to later gets.
    pub fn set_max_waiters(&self, max_waiters: u32) {
        let rc = unsafe { sys::slotq_mgr_set_max_waiters(self.as_ptr(), max_waiters) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
    }

    /// The number of queues in the table.
    pub fn len(&self) -> usize {
        let mut n = 0usize;
        let rc = unsafe { sys::slotq_mgr_count(self.as_ptr(), &mut n) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        n
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw handle, still owned by `self`.
    ///
    /// Slots queued through [`sys`] on its queues must use this crate's
    /// callbacks too (see [`Queue::as_ptr`]).
    pub fn as_ptr(&self) -> *mut sys::slotq_mgr_t {
        self.ptr.as_ptr()
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        panic::dropping(|| unsafe { sys::slotq_mgr_destroy(self.as_ptr()) });
    }
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("ptr", &self.ptr)
            .field("len", &self.len())
            .finish()
    }
}
