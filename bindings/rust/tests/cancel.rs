//! Cancellation tokens: deadlines, children, callbacks.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use slotq::{CancelReason, CancelToken, ErrorKind, Queue};

#[test]
fn cancel_is_sticky_and_shared_by_clones() {
    let c = CancelToken::new().unwrap();
    let c2 = c.clone();
    assert_eq!(c.reason(), None);
    c2.cancel();
    assert_eq!(c.reason(), Some(CancelReason::Canceled));
    c.cancel(); // harmless
    assert!(c.is_cancelled());
}

#[test]
fn children_follow_their_parent_only() {
    let parent = CancelToken::new().unwrap();
    let child = parent.child().unwrap();
    let grandchild = child.child().unwrap();
    let sibling = parent.child().unwrap();
    sibling.cancel();
    assert!(!parent.is_cancelled(), "a child does not cancel its parent");
    assert!(!child.is_cancelled());
    parent.cancel();
    assert_eq!(child.reason(), Some(CancelReason::Canceled));
    assert_eq!(grandchild.reason(), Some(CancelReason::Canceled));
    // Created from a fired parent: fired at once.
    assert!(parent.child().unwrap().is_cancelled());
    // A parent dropped early is kept alive by its child.
    let p = CancelToken::new().unwrap();
    let c = p.child().unwrap();
    let p2 = p.clone();
    drop(p);
    p2.cancel();
    drop(p2);
    assert!(c.is_cancelled());
}

#[test]
fn deadline_fires_and_wakes_a_blocked_call() {
    let q = Queue::new(b"deadline").unwrap();
    let d = CancelToken::with_timeout(None, Duration::from_millis(60)).unwrap();
    assert_eq!(d.reason(), None);
    let mut deq = q.start_dequeuer(None).unwrap();
    let start = Instant::now();
    let err = deq.next_with(None, Some(&d)).unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::Canceled);
    assert!(took >= Duration::from_millis(50), "woke early: {took:?}");
    assert!(took < LONG);
    assert_eq!(d.reason(), Some(CancelReason::DeadlineExceeded));
    // The dequeuer itself is fine.
    assert_eq!(
        deq.next_timeout(Duration::ZERO).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
}

#[test]
fn deadline_children_and_parents() {
    // A past deadline is fired already.
    let past = CancelToken::with_deadline(None, Instant::now() - Duration::from_secs(1)).unwrap();
    assert_eq!(past.reason(), Some(CancelReason::DeadlineExceeded));
    // A child of a deadline token fires at the parent's deadline.
    let parent = CancelToken::with_timeout(None, Duration::from_millis(30)).unwrap();
    let child = parent.child().unwrap();
    let fired = Arc::new(AtomicUsize::new(0));
    let f2 = fired.clone();
    let _reg = child.on_cancel(move || {
        f2.fetch_add(1, Ordering::SeqCst);
    });
    eventually(LONG, || fired.load(Ordering::SeqCst) == 1);
    assert!(child.is_cancelled());
    // A deadline token under a plain parent fires with the parent.
    let root = CancelToken::new().unwrap();
    let far = CancelToken::with_deadline(Some(&root), Instant::now() + Duration::from_secs(3600))
        .unwrap();
    assert!(!far.is_cancelled());
    root.cancel();
    assert_eq!(far.reason(), Some(CancelReason::Canceled));
    // An explicit deadline on the library clock.
    let ns = CancelToken::with_deadline_ns(None, slotq::now_ns() + 20_000_000).unwrap();
    let q = Queue::new(b"x").unwrap();
    let err = q.wait_signal(None, Some(&ns)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Canceled);
    // A huge timeout is "forever" rather than an error.
    let big = CancelToken::with_timeout(None, Duration::MAX).unwrap();
    assert!(!big.is_cancelled());
    assert_eq!(
        q.wait_signal(Some(Duration::MAX), Some(&past))
            .unwrap_err()
            .kind(),
        ErrorKind::Canceled
    );
}

#[test]
fn callbacks_run_once_and_unregister() {
    let c = CancelToken::new().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l1 = log.clone();
    let reg1 = c.on_cancel(move || l1.lock().unwrap().push("one")).unwrap();
    let l2 = log.clone();
    let reg2 = c.on_cancel(move || l2.lock().unwrap().push("two")).unwrap();
    assert!(!reg2.unregister(), "never ran");
    c.cancel();
    c.cancel();
    assert_eq!(*log.lock().unwrap(), ["one"]);
    assert!(reg1.unregister(), "ran");
    // Registered after firing: runs at once, on this thread.
    let here = std::thread::current().id();
    let l3 = log.clone();
    let reg3 = c
        .on_cancel(move || {
            assert_eq!(std::thread::current().id(), here);
            l3.lock().unwrap().push("late");
        })
        .unwrap();
    assert_eq!(*log.lock().unwrap(), ["one", "late"]);
    drop(reg3);
}

#[test]
fn a_callback_may_drop_its_own_registration() {
    let c = CancelToken::new().unwrap();
    let slot: Arc<Mutex<Option<slotq::CancelRegistration>>> = Arc::new(Mutex::new(None));
    let s2 = slot.clone();
    let ran = Arc::new(AtomicUsize::new(0));
    let r2 = ran.clone();
    let reg = c
        .on_cancel(move || {
            let mine = s2.lock().unwrap().take();
            drop(mine); // unregisters from inside the callback
            r2.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    *slot.lock().unwrap() = Some(reg);
    c.cancel();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    assert!(slot.lock().unwrap().is_none());
}

#[test]
fn a_panicking_callback_resumes_in_cancel() {
    let c = CancelToken::new().unwrap();
    let after = Arc::new(AtomicUsize::new(0));
    let _r1 = c.on_cancel(|| panic!("callback boom")).unwrap();
    let a2 = after.clone();
    let _r2 = c.on_cancel(move || {
        a2.fetch_add(1, Ordering::SeqCst);
    });
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.cancel()));
    assert!(r.is_err());
    assert!(c.is_cancelled());
    assert_eq!(
        after.load(Ordering::SeqCst),
        1,
        "the other callbacks still ran"
    );
}
