//! Safe Rust binding of **libslotq**, the hot-container slot queue of a
//! serverless function agent (a C++17 library with a plain C ABI).
//!
//! A container offers its slot on the [`Queue`] of its function and gets a
//! [`Token`]; callers find the queue through a [`Manager`], wait for slots
//! with a [`Dequeuer`] (an [`Iterator`] of tokens) and take one with
//! [`Token::acquire`]. A container whose slot stayed idle too long takes it
//! back with [`Queue::eject`].
//!
//! ```
//! # fn main() -> Result<(), slotq::Error> {
//! let mgr = slotq::Manager::new()?;
//! let (queue, _new) = mgr.get(&slotq::Call::new().app_name("app").path("/hello"))?; // counts us as a Waiter
//! let _container = queue.offer(slotq::FnSlot::new(|_call, _cancel| Ok(())))?;      // a container's slot
//! let mut dequeuer = queue.start_dequeuer(None)?;                                  // a caller waits for one
//! if let Some(token) = dequeuer.next() { token.acquire()?; token.exec(&mut (), None)?; token.close()?; }
//! # queue.exit_state(slotq::State::Waiter)?;
//! # Ok(()) }
//! ```
//!
//! # Layers
//! - [`sys`]: the raw `extern "C"` declarations of `slotq.h`, one to one.
//! - everything else: owned handles with `Drop` (`Clone` adds a reference
//!   where the C type is reference counted), `Result<T, Error>`,
//!   `Send`/`Sync` as the C contract allows, `Duration` timeouts (`None`
//!   waits without one), and slots as Rust objects ([`Slot`], [`FnSlot`]).
//!
//! # Panics and callbacks
//! No panic unwinds through the C library: every callback catches it,
//! reports a failure to the library, and the panic resumes in the Rust
//! function whose C call ran the callback, after that call returned (or is
//! discarded if that was a `Drop`).

#![warn(missing_docs)]

pub mod sys;

mod call;
mod cancel;
mod dequeuer;
mod error;
mod host;
mod manager;
mod notify;
mod panic;
mod queue;
mod slot;
mod token;

pub use call::{Call, Key};
pub use cancel::{now_ns, CancelReason, CancelRegistration, CancelToken};
pub use dequeuer::{Dequeuer, DequeuerStopper};
pub use error::{Error, ErrorKind, Result};
pub use host::{LaunchAction, Policy};
pub use manager::Manager;
pub use notify::SignalNotify;
pub use queue::{Queue, State, Stats};
pub use slot::{FnSlot, Slot, PANIC_CODE, ZERO_ERROR_CODE};
pub use token::{Token, TokenState};

/// The version of the loaded library, `MAJOR * 10000 + MINOR * 100 + PATCH`
/// (`slotq_version`). Compare with [`sys::SLOTQ_VERSION_NUMBER`], the
/// version of the header this binding was written from.
pub fn version() -> u32 {
    unsafe { sys::slotq_version() }
}

/// The version of the loaded library as a string, e.g. "1.0.0".
pub fn version_string() -> &'static str {
    error::static_str(unsafe { sys::slotq_version_string() })
}
