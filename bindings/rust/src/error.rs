//! [`Error`]: a libslotq status with the library's own message.

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_int;

use crate::sys;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong: one variant per negative `slotq_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `SLOTQ_EINVAL`: an invalid argument.
    InvalidArgument,
    /// `SLOTQ_ENOMEM`: an allocation failed; nothing was changed.
    OutOfMemory,
    /// `SLOTQ_ETIMEDOUT`: the call's own timeout passed.
    TimedOut,
    /// `SLOTQ_ECANCELED`: a cancellation token fired.
    Canceled,
    /// `SLOTQ_ESTOPPED`: the dequeuer was stopped.
    Stopped,
    /// `SLOTQ_EGONE`: the token was already acquired, ejected or closed.
    Gone,
    /// `SLOTQ_ESTATE`: the operation is not valid in the current state.
    State,
    /// `SLOTQ_EWRONGQUEUE`: the token belongs to another queue.
    WrongQueue,
    /// `SLOTQ_EBUSY`: the queue is not idle, or the dequeuer is in use.
    Busy,
    /// `SLOTQ_ENOTFOUND`: the manager does not hold the queue.
    NotFound,
    /// `SLOTQ_EOVERLOAD`: the queue already has as many waiters as allowed.
    Overload,
    /// `SLOTQ_ESLOT`: the slot's error callback reported an error.
    Slot,
    /// `SLOTQ_ECALLBACK`: a callback returned a non-zero code
    /// (see [`Error::callback_code`]).
    Callback,
    /// `SLOTQ_EINTERNAL`: an internal failure of the library (a bug).
    Internal,
    /// A status this binding does not know (a newer library).
    Unknown,
}

impl ErrorKind {
    fn from_code(code: c_int) -> ErrorKind {
        match code {
            sys::SLOTQ_EINVAL => ErrorKind::InvalidArgument,
            sys::SLOTQ_ENOMEM => ErrorKind::OutOfMemory,
            sys::SLOTQ_ETIMEDOUT => ErrorKind::TimedOut,
            sys::SLOTQ_ECANCELED => ErrorKind::Canceled,
            sys::SLOTQ_ESTOPPED => ErrorKind::Stopped,
            sys::SLOTQ_EGONE => ErrorKind::Gone,
            sys::SLOTQ_ESTATE => ErrorKind::State,
            sys::SLOTQ_EWRONGQUEUE => ErrorKind::WrongQueue,
            sys::SLOTQ_EBUSY => ErrorKind::Busy,
            sys::SLOTQ_ENOTFOUND => ErrorKind::NotFound,
            sys::SLOTQ_EOVERLOAD => ErrorKind::Overload,
            sys::SLOTQ_ESLOT => ErrorKind::Slot,
            sys::SLOTQ_ECALLBACK => ErrorKind::Callback,
            sys::SLOTQ_EINTERNAL => ErrorKind::Internal,
            _ => ErrorKind::Unknown,
        }
    }
}

/// A failed libslotq call: its status code, the library's message for it
/// (`slotq_strerror()`), and for [`ErrorKind::Callback`] the code the host
/// callback returned.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Error {
    code: c_int,
    message: &'static str,
    callback_code: Option<i32>,
}

impl Error {
    /// The error of a (negative) status code, with the library's message.
    pub fn from_code(code: i32) -> Error {
        Error {
            code,
            message: static_str(unsafe { sys::slotq_strerror(code) }),
            callback_code: None,
        }
    }

    pub(crate) fn callback(code: c_int, callback_code: i32) -> Error {
        Error {
            callback_code: Some(callback_code),
            ..Error::from_code(code)
        }
    }

    /// The raw status code, e.g. `-3` for `SLOTQ_ETIMEDOUT`.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::from_code(self.code)
    }

    /// The library's message for the status (`slotq_strerror()`), e.g. "timed out".
    pub fn message(&self) -> &'static str {
        self.message
    }

    /// The status's name (`slotq_status_name()`), e.g. "SLOTQ_ETIMEDOUT".
    pub fn name(&self) -> &'static str {
        static_str(unsafe { sys::slotq_status_name(self.code) })
    }

    /// For [`ErrorKind::Callback`]: the non-zero code the slot's callback
    /// returned (`Err(code)` of [`Slot::exec`](crate::Slot::exec) or
    /// [`Slot::close`](crate::Slot::close)). For [`ErrorKind::Slot`] from
    /// [`Manager::acquire`](crate::Manager::acquire): the slot's own error.
    pub fn callback_code(&self) -> Option<i32> {
        self.callback_code
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.name())?;
        if let Some(c) = self.callback_code {
            write!(f, ": the callback returned {c}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("code", &self.code)
            .field("name", &self.name())
            .field("message", &self.message);
        if let Some(c) = self.callback_code {
            d.field("callback_code", &c);
        }
        d.finish()
    }
}

impl std::error::Error for Error {}

/// `Ok(())` for `SLOTQ_OK`, otherwise the error of `rc`.
pub(crate) fn check(rc: c_int) -> Result<()> {
    if rc == sys::SLOTQ_OK {
        Ok(())
    } else {
        Err(Error::from_code(rc))
    }
}

/// A static string the library returned (version, messages, names).
pub(crate) fn static_str(p: *const std::os::raw::c_char) -> &'static str {
    if p.is_null() {
        return "";
    }
    // SAFETY: the library documents these strings as static and NUL-terminated.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
}
