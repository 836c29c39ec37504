//! [`Call`] and [`Key`]: what identifies a function's slot queue.

use std::collections::BTreeMap;
use std::fmt;
use std::os::raw::c_char;
use std::ptr;
use std::str::FromStr;

use crate::error::{check, Error, Result};
use crate::sys;

/// The parts of a function call that identify its slot queue (the fields the
/// seed's `getSlotQueueKey` reads), built with chained setters:
///
/// ```no_run
/// let call = slotq::Call::new().app_name("app").path("/hello").image("img:1")
///     .format("http").timeout(30).idle_timeout(30).memory(128)
///     .config("FN_KEY", "value");
/// ```
///
/// Strings are bytes (they may hold NUL bytes or non-UTF-8, like Go strings).
/// The configuration is a map, as in the Go agent: setting a key twice keeps
/// the last value, and the key's order does not matter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Call {
    app_name: Vec<u8>,
    path: Vec<u8>,
    image: Vec<u8>,
    format: Vec<u8>,
    timeout: i32,
    idle_timeout: i32,
    memory: u64,
    config: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Call {
    /// An empty call: every string empty, every number zero, no config.
    pub fn new() -> Call {
        Call::default()
    }

    /// Sets the application's name.
    pub fn app_name(mut self, v: impl Into<Vec<u8>>) -> Call {
        self.app_name = v.into();
        self
    }

    /// Sets the route's path.
    pub fn path(mut self, v: impl Into<Vec<u8>>) -> Call {
        self.path = v.into();
        self
    }

    /// Sets the container image.
    pub fn image(mut self, v: impl Into<Vec<u8>>) -> Call {
        self.image = v.into();
        self
    }

    /// Sets the function's I/O format, e.g. `"http"`.
    pub fn format(mut self, v: impl Into<Vec<u8>>) -> Call {
        self.format = v.into();
        self
    }

    /// Sets the call's timeout, in seconds.
    pub fn timeout(mut self, seconds: i32) -> Call {
        self.timeout = seconds;
        self
    }

    /// Sets the hot container's idle timeout, in seconds.
    pub fn idle_timeout(mut self, seconds: i32) -> Call {
        self.idle_timeout = seconds;
        self
    }

    /// Sets the memory, in MiB.
    pub fn memory(mut self, mib: u64) -> Call {
        self.memory = mib;
        self
    }

    /// Sets one configuration entry (replacing an earlier value of `key`).
    pub fn config(mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Call {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Sets many configuration entries: pairs, a `HashMap`, a `BTreeMap`...
    /// A key given twice keeps its last value.
    pub fn configs<K, V>(mut self, entries: impl IntoIterator<Item = (K, V)>) -> Call
    where
        K: Into<Vec<u8>>,
        V: Into<Vec<u8>>,
    {
        self.config
            .extend(entries.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// The application's name.
    pub fn get_app_name(&self) -> &[u8] {
        &self.app_name
    }

    /// The route's path.
    pub fn get_path(&self) -> &[u8] {
        &self.path
    }

    /// The container image.
    pub fn get_image(&self) -> &[u8] {
        &self.image
    }

    /// The function's I/O format.
    pub fn get_format(&self) -> &[u8] {
        &self.format
    }

    /// The call's timeout, in seconds.
    pub fn get_timeout(&self) -> i32 {
        self.timeout
    }

    /// The hot container's idle timeout, in seconds.
    pub fn get_idle_timeout(&self) -> i32 {
        self.idle_timeout
    }

    /// The memory, in MiB.
    pub fn get_memory(&self) -> u64 {
        self.memory
    }

    /// The configuration, sorted by key.
    pub fn get_config(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.config
    }

    /// The slot key of the call, exactly as the seed's `getSlotQueueKey`
    /// computes it (`slotq_call_key`).
    pub fn key(&self) -> Result<Key> {
        self.with_raw(|raw| {
            let mut key = sys::slotq_key::default();
            check(unsafe { sys::slotq_call_key(raw, &mut key) })?;
            Ok(Key(key.bytes))
        })
    }

    /// Runs `f` with the C view of the call, valid only during `f`.
    pub(crate) fn with_raw<R>(&self, f: impl FnOnce(&sys::slotq_call) -> R) -> R {
        let kvs: Vec<sys::slotq_kv> = self
            .config
            .iter()
            .map(|(k, v)| sys::slotq_kv {
                key: raw_str(k),
                value: raw_str(v),
            })
            .collect();
        let raw = sys::slotq_call {
            app_name: raw_str(&self.app_name),
            path: raw_str(&self.path),
            image: raw_str(&self.image),
            format: raw_str(&self.format),
            timeout: self.timeout,
            idle_timeout: self.idle_timeout,
            memory: self.memory,
            config: if kvs.is_empty() {
                ptr::null()
            } else {
                kvs.as_ptr()
            },
            config_len: kvs.len(),
        };
        f(&raw)
    }
}

fn raw_str(b: &[u8]) -> sys::slotq_str {
    sys::slotq_str {
        ptr: if b.is_empty() {
            ptr::null()
        } else {
            b.as_ptr() as *const c_char
        },
        len: b.len(),
    }
}

/// The identity of a function: the 20-byte SHA-1 key of its [`Call`].
///
/// Displays (and parses, with [`FromStr`]) as 40 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Key(pub [u8; sys::SLOTQ_KEY_SIZE]);

impl Key {
    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; sys::SLOTQ_KEY_SIZE] {
        &self.0
    }

    /// 40 lowercase hex digits (`slotq_key_hex`).
    pub fn to_hex(&self) -> String {
        let key = sys::slotq_key { bytes: self.0 };
        let mut buf = [0u8; 2 * sys::SLOTQ_KEY_SIZE + 1];
        let rc = unsafe { sys::slotq_key_hex(&key, buf.as_mut_ptr() as *mut c_char) };
        debug_assert_eq!(rc, sys::SLOTQ_OK);
        String::from_utf8_lossy(&buf[..2 * sys::SLOTQ_KEY_SIZE]).into_owned()
    }

    pub(crate) fn raw(&self) -> sys::slotq_key {
        sys::slotq_key { bytes: self.0 }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.to_hex())
    }
}

impl FromStr for Key {
    type Err = Error;

    /// Parses 40 hex digits; anything else is [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument).
    fn from_str(s: &str) -> Result<Key> {
        let b = s.as_bytes();
        if b.len() != 2 * sys::SLOTQ_KEY_SIZE {
            return Err(Error::from_code(sys::SLOTQ_EINVAL));
        }
        let mut out = [0u8; sys::SLOTQ_KEY_SIZE];
        for (i, pair) in b.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16);
            let lo = (pair[1] as char).to_digit(16);
            match (hi, lo) {
                (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
                _ => return Err(Error::from_code(sys::SLOTQ_EINVAL)),
            }
        }
        Ok(Key(out))
    }
}
