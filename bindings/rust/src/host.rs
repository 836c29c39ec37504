//! Launch policies, the library's host loops (container, caller, launcher)
//! and metrics.

use std::os::raw::{c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::call::Call;
use crate::cancel::{opt_ptr, timeout_ns, CancelToken};
use crate::error::{check, Error, Result};
use crate::manager::Manager;
use crate::panic;
use crate::queue::{Queue, Stats};
use crate::slot::{Slot, SlotBox, OPS};
use crate::sys;
use crate::token::Token;

/// A launch policy: whether another container should start.
#[derive(Clone, Copy, Default)]
pub enum Policy<'a> {
    /// The seed's `isNewContainerNeeded` ([`Queue::is_new_container_needed`]).
    #[default]
    Seed,
    /// Idle slots absorb waiters first, and starters count against the
    /// waiters they will serve: with W waiters, I idle slots and S starters,
    /// start one if `W > I` and `S < W - I`.
    IdleAware,
    /// The host's own function of a consistent snapshot and the number of
    /// idle slots. Called on the evaluating thread, without library locks.
    Custom(&'a dyn Fn(&Stats, usize) -> bool),
}

impl std::fmt::Debug for Policy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Policy::Seed => "Seed",
            Policy::IdleAware => "IdleAware",
            Policy::Custom(_) => "Custom",
        })
    }
}

unsafe extern "C" fn run_policy(
    arg: *mut c_void,
    stats: *const sys::slotq_stats,
    idle: usize,
) -> c_int {
    panic::guard(0, || {
        // SAFETY: arg points to the `&dyn Fn` of a Policy borrowed for the call.
        let f = unsafe { *(arg as *const &dyn Fn(&Stats, usize) -> bool) };
        let stats = Stats::from(unsafe { *stats });
        c_int::from(f(&stats, idle))
    })
}

impl Policy<'_> {
    /// Runs `g` with the C view of the policy, valid only during `g`.
    fn with_raw<R>(&self, g: impl FnOnce(*const sys::slotq_policy) -> R) -> R {
        let (kind, f) = match self {
            Policy::Seed => (sys::SLOTQ_POLICY_SEED, None),
            Policy::IdleAware => (sys::SLOTQ_POLICY_IDLE_AWARE, None),
            Policy::Custom(f) => (sys::SLOTQ_POLICY_CUSTOM, Some(*f)),
        };
        let raw = sys::slotq_policy {
            kind,
            r#fn: f.map(|_| run_policy as unsafe extern "C" fn(_, _, _) -> _),
            arg: f.as_ref().map_or(ptr::null_mut(), |f| {
                f as *const &dyn Fn(&Stats, usize) -> bool as *mut c_void
            }),
        };
        g(&raw)
    }
}

/// What a launcher should do after [`Queue::launcher_step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LaunchAction {
    /// Nothing: step again.
    Nothing,
    /// Start one container. The step entered the Starter state for it: exit
    /// it with [`Queue::exit_state_latency`] and the start-up time once the
    /// container is up (or failed).
    Start,
    /// The queue was inactive, idle, and deleted from the manager: stop
    /// launching for it and drop it.
    Deleted,
}

fn ns_opt(d: Option<Duration>) -> i64 {
    timeout_ns(d)
}

impl Queue {
    /// The caller side on a queue got with [`Manager::get`] (which made the
    /// caller a Waiter and said whether the queue is new, so that the host
    /// can start its launcher first): `slotq_caller_wait`. Signals the
    /// launcher at once and every `ping` (`None`: 200 ms), acquires the first
    /// slot it can within `timeout`, and leaves the Waiter state on every
    /// outcome. Errors as [`Manager::acquire`], and
    /// [`State`](crate::ErrorKind::State) if nobody waits on the queue.
    pub fn caller_wait(
        &self,
        timeout: Option<Duration>,
        ping: Option<Duration>,
        cancel: Option<&CancelToken>,
    ) -> Result<Token> {
        let ping_ns = ping_ns(ping);
        let mut tok = ptr::null_mut();
        let mut slot_err: c_int = 0;
        let rc = unsafe {
            sys::slotq_caller_wait(
                self.as_ptr(),
                timeout_ns(timeout),
                ping_ns,
                opt_ptr(cancel),
                &mut tok,
                &mut slot_err,
            )
        };
        acquired(rc, tok, slot_err)
    }

    /// Evaluates a launch policy on a consistent snapshot
    /// (`slotq_queue_evaluate_policy`); returns the decision and the snapshot.
    ///
    /// # Panics
    /// If a [`Policy::Custom`] function panicked (the library was told "no").
    pub fn evaluate_policy(&self, policy: &Policy<'_>) -> Result<(bool, Stats)> {
        let mut needed: c_int = 0;
        let mut s = sys::slotq_stats::default();
        check(policy.with_raw(|p| {
            panic::calling(|| unsafe {
                sys::slotq_queue_evaluate_policy(self.as_ptr(), p, &mut needed, &mut s)
            })
        }))?;
        Ok((needed != 0, s.into()))
    }

    /// One turn of a function's launcher (`slotq_launcher_step`, the seed's
    /// `hotLauncher`): waits for a signal or `inactivity` (`None`: forever;
    /// must not be zero); on inactivity deletes the queue from `mgr` if it is
    /// idle; otherwise evaluates `policy`. Returns the action and the
    /// snapshot it was decided on. [`Canceled`](crate::ErrorKind::Canceled)
    /// when `cancel` fires.
    pub fn launcher_step(
        &self,
        mgr: Option<&Manager>,
        policy: &Policy<'_>,
        inactivity: Option<Duration>,
        cancel: Option<&CancelToken>,
    ) -> Result<(LaunchAction, Stats)> {
        let mut action: c_int = 0;
        let mut s = sys::slotq_stats::default();
        let mgr = mgr.map_or(ptr::null_mut(), Manager::as_ptr);
        check(policy.with_raw(|p| {
            panic::calling(|| unsafe {
                sys::slotq_launcher_step(
                    mgr,
                    self.as_ptr(),
                    p,
                    ns_opt(inactivity),
                    opt_ptr(cancel),
                    &mut action,
                    &mut s,
                )
            })
        }))?;
        let action = match action {
            sys::SLOTQ_LAUNCH_NONE => LaunchAction::Nothing,
            sys::SLOTQ_LAUNCH_START => LaunchAction::Start,
            sys::SLOTQ_LAUNCH_DELETED => LaunchAction::Deleted,
            _ => return Err(Error::from_code(sys::SLOTQ_EINTERNAL)),
        };
        Ok((action, s.into()))
    }

    /// The container side in one call (`slotq_container_offer`): offers
    /// `slot` and waits until a caller acquires it, `idle_timeout` passes
    /// (`None`: never; must not be zero) or `cancel` fires. Returns the
    /// container's handle of the acquired token: wait on it with
    /// [`Token::wait_closed`] until the caller gave the slot back.
    ///
    /// On a timeout ([`TimedOut`](crate::ErrorKind::TimedOut)) or a
    /// cancellation ([`Canceled`](crate::ErrorKind::Canceled)) the slot was
    /// ejected and [`Slot::close`] ran on this thread; if a caller acquired it
    /// at that very moment the call is served and this returns `Ok`.
    /// [`Gone`](crate::ErrorKind::Gone) if another thread ejected it.
    #[doc(alias = "slotq_container_offer")]
    pub fn offer_and_wait<S: Slot>(
        &self,
        slot: S,
        idle_timeout: Option<Duration>,
        cancel: Option<&CancelToken>,
    ) -> Result<Token> {
        let (raw, ours) = SlotBox::new(slot);
        let mut tok = ptr::null_mut();
        // Callbacks run here may panic: the panic resumes once what the
        // call made is ours (the token, dropped by the unwinding).
        let rc = unsafe {
            sys::slotq_container_offer(
                self.as_ptr(),
                raw,
                &OPS,
                ns_opt(idle_timeout),
                opt_ptr(cancel),
                &mut tok,
            )
        };
        panic::resumed(Self::offered(rc, tok, raw, &ours))
    }

    fn offered(
        rc: c_int,
        tok: *mut sys::slotq_token_t,
        raw: *mut c_void,
        ours: &SlotBox,
    ) -> Result<Token> {
        match rc {
            sys::SLOTQ_OK => Ok(unsafe { Token::from_raw(tok) }),
            // Made a token, which owns the library's count of the box.
            sys::SLOTQ_ETIMEDOUT | sys::SLOTQ_ECANCELED | sys::SLOTQ_EGONE => {
                Err(Error::from_code(rc))
            }
            _ => {
                // Rejected before queueing (EINVAL), or out of memory when
                // queueing (ENOMEM without a close). Otherwise, when unsure,
                // leak the box rather than risk freeing it twice.
                let never_queued = rc == sys::SLOTQ_EINVAL
                    || (rc == sys::SLOTQ_ENOMEM && !ours.closed.load(Ordering::Acquire));
                if never_queued {
                    unsafe { SlotBox::forget_raw(raw) };
                }
                Err(Error::from_code(rc))
            }
        }
    }
}

impl Manager {
    /// The caller side in one call (`slotq_caller_acquire`, the seed's
    /// `waitHot`): gets the call's queue (as a Waiter), signals its launcher
    /// at once and every `ping` (`None`: 200 ms), and acquires the first
    /// slot it can within `timeout` (`None`: no timeout). The Waiter state is
    /// left on every outcome, recording the wait as its latency.
    ///
    /// Returns the acquired token: [`Token::exec`] then [`Token::close`] it.
    /// A slot reporting its own error is closed and gives
    /// [`ErrorKind::Slot`](crate::ErrorKind::Slot) with that code in
    /// [`Error::callback_code`]. Also [`TimedOut`](crate::ErrorKind::TimedOut),
    /// [`Canceled`](crate::ErrorKind::Canceled), [`Overload`](crate::ErrorKind::Overload).
    pub fn acquire(
        &self,
        call: &Call,
        timeout: Option<Duration>,
        ping: Option<Duration>,
        cancel: Option<&CancelToken>,
    ) -> Result<Token> {
        let ping_ns = ping_ns(ping);
        let mut tok = ptr::null_mut();
        let mut slot_err: c_int = 0;
        let rc = call.with_raw(|raw| unsafe {
            sys::slotq_caller_acquire(
                self.as_ptr(),
                raw,
                timeout_ns(timeout),
                ping_ns,
                opt_ptr(cancel),
                &mut tok,
                &mut slot_err,
            )
        });
        acquired(rc, tok, slot_err)
    }

    /// Every queue of the manager in the Prometheus text exposition format
    /// (`slotq_mgr_metrics`).
    pub fn metrics(&self) -> Result<String> {
        let mut text: *mut c_char = ptr::null_mut();
        let mut len = 0usize;
        check(unsafe { sys::slotq_mgr_metrics(self.as_ptr(), &mut text, &mut len) })?;
        // SAFETY: the library returned `len` bytes at `text`, ours to free.
        let s =
            String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(text as *const u8, len) })
                .into_owned();
        unsafe { sys::slotq_free(text.cast()) };
        Ok(s)
    }
}

/// The result of an acquiring call (`slotq_caller_acquire`, `_wait`), made
/// ours before a callback's panic resumes: if one is pending, the acquired
/// slot is given back first, or its container would wait for it for good.
fn acquired(rc: c_int, tok: *mut sys::slotq_token_t, slot_err: c_int) -> Result<Token> {
    let result = match rc {
        sys::SLOTQ_OK => Ok(unsafe { Token::from_raw(tok) }),
        sys::SLOTQ_ESLOT => Err(Error::callback(rc, slot_err)),
        _ => Err(Error::from_code(rc)),
    };
    if let Ok(tok) = &result {
        if panic::pending() {
            unsafe { sys::slotq_token_close(tok.as_ptr(), ptr::null_mut()) };
        }
    }
    panic::resume();
    result
}

/// A ping period in the C API's terms: `None` is 0 (the default, 200 ms); a
/// period is at least 1 ns (0 would mean the default) and saturates.
fn ping_ns(ping: Option<Duration>) -> i64 {
    match ping {
        None => 0,
        Some(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX).max(1),
    }
}
