//! [`Dequeuer`]: one caller's cancellable wait for the slots of one queue.

use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::cancel::{opt_ptr, timeout_ns, CancelToken};
use crate::error::{check, Error, Result};
use crate::notify::NotifyCell;
use crate::panic;
use crate::sys;
use crate::token::Token;

/// Owns the raw dequeuer; freed with the last `Arc` (see [`Dequeuer`]),
/// then the notification closures it was given.
pub(crate) struct Raw {
    ptr: NonNull<sys::slotq_dequeuer_t>,
    // Boxed: their addresses were given to the library and must not move.
    #[allow(clippy::vec_box)]
    pub(crate) notify: Mutex<Vec<Box<NotifyCell>>>,
}

// SAFETY: slotq.h: a dequeuer's functions may be called from any thread.
// Only slotq_dequeuer_stop (thread-safe) is called through a shared `Raw`;
// slotq_dequeuer_next goes through `&mut Dequeuer`, and the free in Drop runs
// once nobody else can reach it.
unsafe impl Send for Raw {}
// SAFETY: as above.
unsafe impl Sync for Raw {}

impl Drop for Raw {
    fn drop(&mut self) {
        // The free waits for notifications running on other threads; one
        // running on this thread (we are inside it) has cloned its closure.
        panic::dropping(|| unsafe { sys::slotq_dequeuer_free(self.ptr.as_ptr()) });
    }
}

/// A dequeuer (the seed's `startDequeuer`), made by
/// [`Queue::start_dequeuer`](crate::Queue::start_dequeuer).
///
/// It has no thread: [`next_with`](Dequeuer::next_with) and the
/// [`Iterator`] wait on the calling thread. It is an `Iterator` of tokens
/// that blocks until a slot comes and ends when the dequeuer is stopped or
/// cancelled (see [`Dequeuer::end_reason`]).
///
/// A token it handed out and nobody acquired goes back to the queue when it
/// hands out the next one, is stopped, or is dropped.
///
/// # Threads
/// `Send` and `Sync`. The C contract allows only one thread at a time in
/// `slotq_dequeuer_next()`; here every waiting method takes `&mut self`, so
/// the compiler enforces that (and `SLOTQ_EBUSY` cannot happen), while the
/// remaining `&self` method ([`stop`](Dequeuer::stop)) is thread-safe in C.
/// To stop a dequeuer that another thread is blocked on, hand that thread's
/// peer a [`DequeuerStopper`] (or cancel the dequeuer's [`CancelToken`]).
pub struct Dequeuer {
    raw: Arc<Raw>,
    end: Option<Error>,
}

impl Dequeuer {
    /// Takes ownership of a raw dequeuer.
    ///
    /// # Safety
    /// `ptr` must be a valid, non-NULL `slotq_dequeuer_t` that the caller
    /// gives up, of a queue whose slots all come from
    /// [`Queue::offer`](crate::Queue::offer).
    pub unsafe fn from_raw(ptr: *mut sys::slotq_dequeuer_t) -> Dequeuer {
        Dequeuer {
            raw: Arc::new(Raw {
                ptr: NonNull::new(ptr).expect("NULL slotq_dequeuer_t"),
                notify: Mutex::new(Vec::new()),
            }),
            end: None,
        }
    }

    pub(crate) fn raw(&self) -> &Raw {
        &self.raw
    }

    /// The raw handle, still owned by `self`.
    pub fn as_ptr(&self) -> *mut sys::slotq_dequeuer_t {
        self.raw.ptr.as_ptr()
    }

    /// Takes the newest idle slot (LIFO), waiting up to `timeout` (`None`:
    /// no timeout; zero: only if one is idle) for one. The token is lent:
    /// [`acquire`](Token::acquire) it to use it.
    ///
    /// Fails with [`TimedOut`](crate::ErrorKind::TimedOut),
    /// [`Canceled`](crate::ErrorKind::Canceled) (this call's `cancel` or the
    /// dequeuer's own token fired) or [`Stopped`](crate::ErrorKind::Stopped).
    pub fn next_with(
        &mut self,
        timeout: Option<Duration>,
        cancel: Option<&CancelToken>,
    ) -> Result<Token> {
        let mut tok = ptr::null_mut();
        let rc = unsafe {
            sys::slotq_dequeuer_next(
                self.as_ptr(),
                timeout_ns(timeout),
                opt_ptr(cancel),
                &mut tok,
            )
        };
        // A callback's panic resumes once the token is ours (dropping it
        // then gives the lent slot back with the dequeuer's next call).
        panic::resumed(check(rc).map(|()| unsafe { Token::from_raw(tok) }))
    }

    /// [`next_with`](Dequeuer::next_with) with a timeout and no extra token.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Token> {
        self.next_with(Some(timeout), None)
    }

    /// Stops the dequeuer (the seed's cancel func): a thread waiting in it
    /// returns [`Stopped`](crate::ErrorKind::Stopped) at once, later calls do too,
    /// and a lent, unacquired token goes back to the queue. Returns `false`
    /// if it was already stopped (harmless).
    pub fn stop(&self) -> bool {
        stop(&self.raw)
    }

    /// A handle that can stop this dequeuer from any thread, even while
    /// another thread waits in it. It does not keep the dequeuer alive.
    pub fn stopper(&self) -> DequeuerStopper {
        DequeuerStopper {
            raw: Arc::downgrade(&self.raw),
        }
    }

    /// Why the [`Iterator`] ended: `None` while it has not, otherwise
    /// [`Stopped`](crate::ErrorKind::Stopped), [`Canceled`](crate::ErrorKind::Canceled), or
    /// an unexpected error.
    pub fn end_reason(&self) -> Option<&Error> {
        self.end.as_ref()
    }
}

fn stop(raw: &Raw) -> bool {
    let rc = panic::calling(|| unsafe { sys::slotq_dequeuer_stop(raw.ptr.as_ptr()) });
    debug_assert!(rc == sys::SLOTQ_OK || rc == sys::SLOTQ_ESTOPPED);
    rc == sys::SLOTQ_OK
}

impl Iterator for Dequeuer {
    type Item = Token;

    /// Waits without a timeout for the next slot; `None` once the dequeuer
    /// is stopped or cancelled (or fails otherwise: see
    /// [`Dequeuer::end_reason`]).
    fn next(&mut self) -> Option<Token> {
        if self.end.is_some() {
            return None;
        }
        match self.next_with(None, None) {
            Ok(t) => Some(t),
            Err(e) => {
                self.end = Some(e);
                None
            }
        }
    }
}

impl std::iter::FusedIterator for Dequeuer {}

impl std::fmt::Debug for Dequeuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dequeuer")
            .field("ptr", &self.raw.ptr)
            .field("end", &self.end)
            .finish()
    }
}

/// Stops a [`Dequeuer`] from any thread ([`Dequeuer::stopper`]). `Clone`,
/// `Send` and `Sync`; it does not keep the dequeuer alive, and stopping a
/// dropped dequeuer does nothing.
#[derive(Clone)]
pub struct DequeuerStopper {
    raw: Weak<Raw>,
}

impl DequeuerStopper {
    /// Stops the dequeuer ([`Dequeuer::stop`]). Returns `false` if it was
    /// already stopped or dropped.
    pub fn stop(&self) -> bool {
        // While upgraded, the dequeuer cannot be freed under us. If its
        // owner dropped it meanwhile, it is freed when `raw` goes out of
        // scope here, on this thread: nobody can be waiting in it any more.
        match self.raw.upgrade() {
            Some(raw) => stop(&raw),
            None => false,
        }
    }
}

impl std::fmt::Debug for DequeuerStopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DequeuerStopper")
            .field("alive", &(self.raw.strong_count() > 0))
            .finish()
    }
}
