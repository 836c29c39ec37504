//! Helpers shared by the integration tests (public API only).
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use slotq::{FnSlot, Queue, Token};

/// Counters of what the library did with one or more slots.
#[derive(Default)]
pub struct Counts {
    pub exec: AtomicUsize,
    pub close: AtomicUsize,
    pub dropped: AtomicUsize,
}

impl Counts {
    pub fn new() -> Arc<Counts> {
        Arc::new(Counts::default())
    }
    pub fn execs(&self) -> usize {
        self.exec.load(Ordering::SeqCst)
    }
    pub fn closes(&self) -> usize {
        self.close.load(Ordering::SeqCst)
    }
    pub fn drops(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// Counts its own drop (the ops' release callback freed the slot).
struct DropCounter(Arc<Counts>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// A slot that counts its exec and close calls into `counts`.
pub fn counting_slot(counts: &Arc<Counts>) -> FnSlot {
    let (c1, c2) = (counts.clone(), counts.clone());
    let guard = DropCounter(counts.clone());
    FnSlot::new(move |_call, _cancel| {
        c1.exec.fetch_add(1, Ordering::SeqCst);
        Ok(())
    })
    .on_close(move || {
        let _keep = &guard; // dropped with the slot
        c2.close.fetch_add(1, Ordering::SeqCst);
        Ok(())
    })
}

/// Offers a counting slot.
pub fn offer(q: &Queue, counts: &Arc<Counts>) -> Token {
    q.offer(counting_slot(counts)).expect("offer")
}

/// Runs `f` on a thread and fails the test if it does not finish in `limit`.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let h = thread::spawn(f);
    let start = Instant::now();
    while !h.is_finished() {
        assert!(start.elapsed() < limit, "did not finish within {limit:?}");
        thread::sleep(Duration::from_millis(2));
    }
    h.join().expect("thread panicked")
}

/// Polls `cond` until it holds, failing after `limit`.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

pub const SEC: Duration = Duration::from_secs(1);
pub const LONG: Duration = Duration::from_secs(10);
