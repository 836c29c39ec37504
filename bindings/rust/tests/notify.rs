//! Event-driven dequeuers and launch signals (callbacks and eventfds).

mod common;

use std::fs::File;
use std::io::{ErrorKind as IoKind, Read};
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use slotq::{CancelToken, Dequeuer, ErrorKind, Queue};

/// Reads (and resets) an eventfd's counter; 0 if it is not readable.
fn read_counter(fd: BorrowedFd<'_>) -> u64 {
    let mut f = File::from(fd.try_clone_to_owned().unwrap());
    let mut buf = [0u8; 8];
    match f.read(&mut buf) {
        Ok(8) => u64::from_ne_bytes(buf),
        Err(e) if e.kind() == IoKind::WouldBlock => 0,
        other => panic!("eventfd read: {other:?}"),
    }
}

fn counter() -> (Arc<AtomicUsize>, impl Fn() + Send + Sync + 'static) {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    (n, move || {
        n2.fetch_add(1, Ordering::SeqCst);
    })
}

#[test]
fn arm_with_an_idle_slot_notifies_at_once() {
    let q = Queue::new(b"arm-now").unwrap();
    let c = Counts::new();
    let _t = offer(&q, &c);
    let mut d = q.start_dequeuer(None).unwrap();
    let (n, f) = counter();
    d.set_notify(f).unwrap();
    let fd = d.fd().unwrap().try_clone_to_owned().unwrap();
    d.arm().unwrap();
    assert_eq!(n.load(Ordering::SeqCst), 1, "notified before arm returned");
    use std::os::fd::AsFd;
    assert_eq!(read_counter(fd.as_fd()), 1);
    let t = d.next_timeout(Duration::ZERO).unwrap();
    t.acquire().unwrap();
    assert_eq!(read_counter(d.fd().unwrap()), 0);
}

#[test]
fn armed_dequeuer_is_notified_by_an_offer_on_another_thread() {
    let q = Queue::new(b"arm-later").unwrap();
    let mut d = q.start_dequeuer(None).unwrap();
    let threads = Arc::new(Mutex::new(Vec::new()));
    let t2 = threads.clone();
    d.set_notify(move || t2.lock().unwrap().push(std::thread::current().id()))
        .unwrap();
    d.arm().unwrap();
    d.arm().unwrap(); // already armed: still one notification
    assert!(threads.lock().unwrap().is_empty());
    let q2 = q.clone();
    let producer = std::thread::spawn(move || {
        let c = Counts::new();
        let tok = offer(&q2, &c);
        (std::thread::current().id(), tok)
    });
    let (producer_id, tok) = producer.join().unwrap();
    assert_eq!(*threads.lock().unwrap(), [producer_id]);
    assert_eq!(
        read_counter(d.fd().unwrap()),
        0,
        "fd made after the notification"
    );
    let got = d.next_timeout(Duration::ZERO).unwrap();
    assert_eq!(got, tok);
    got.acquire().unwrap();
}

#[test]
fn stop_and_cancel_notify_an_armed_dequeuer() {
    let q = Queue::new(b"arm-stop").unwrap();
    let mut d = q.start_dequeuer(None).unwrap();
    let (n, f) = counter();
    d.set_notify(f).unwrap();
    let _ = d.fd().unwrap();
    d.arm().unwrap();
    d.stopper().stop();
    assert_eq!(n.load(Ordering::SeqCst), 1);
    assert_eq!(read_counter(d.fd().unwrap()), 1);
    assert_eq!(
        d.next_timeout(Duration::ZERO).unwrap_err().kind(),
        ErrorKind::Stopped
    );
    assert_eq!(d.arm().unwrap_err().kind(), ErrorKind::Stopped);

    let cancel = CancelToken::new().unwrap();
    let mut d2 = q.start_dequeuer(Some(&cancel)).unwrap();
    let (n2, f2) = counter();
    d2.set_notify(f2).unwrap();
    d2.arm().unwrap();
    cancel.cancel();
    assert_eq!(n2.load(Ordering::SeqCst), 1);
    assert_eq!(
        d2.next_timeout(Duration::ZERO).unwrap_err().kind(),
        ErrorKind::Canceled
    );
}

#[test]
fn a_notification_may_drop_its_dequeuer() {
    let q = Queue::new(b"arm-drop").unwrap();
    let d = q.start_dequeuer(None).unwrap();
    let holder: Arc<Mutex<Option<Dequeuer>>> = Arc::new(Mutex::new(None));
    let h2 = holder.clone();
    let got = Arc::new(Mutex::new(None));
    let g2 = got.clone();
    d.set_notify(move || {
        let mut d = h2.lock().unwrap().take().expect("the dequeuer");
        *g2.lock().unwrap() = Some(d.next_timeout(Duration::ZERO).map(|t| {
            t.acquire().unwrap();
            t.id()
        }));
        drop(d); // freed from inside its own notification
    })
    .unwrap();
    d.arm().unwrap();
    *holder.lock().unwrap() = Some(d);
    let c = Counts::new();
    let _tok = offer(&q, &c);
    assert_eq!(*got.lock().unwrap(), Some(Ok(0)));
    assert!(holder.lock().unwrap().is_none());
}

#[test]
fn signal_notify_calls_back_until_dropped() {
    let q = Queue::new(b"signal-notify").unwrap();
    let (n, _) = counter();
    let (n2, q2) = (n.clone(), q.clone());
    let reg = q
        .set_signal_notify(move || {
            n2.fetch_add(1, Ordering::SeqCst);
            q2.wait_signal(Some(Duration::ZERO), None).unwrap(); // consume it
        })
        .unwrap();
    assert_eq!(
        q.set_signal_notify(|| {}).unwrap_err().kind(),
        ErrorKind::Busy
    );
    assert_eq!(reg.queue(), &q);
    assert!(q.signal());
    assert!(q.signal(), "the callback consumed the first one");
    assert_eq!(n.load(Ordering::SeqCst), 2);
    let fd = q.signal_fd().unwrap();
    assert!(fd >= 0);
    drop(reg);
    assert!(q.signal());
    assert!(!q.signal());
    assert_eq!(n.load(Ordering::SeqCst), 2, "not called once dropped");
    // Another registration is possible now.
    let (m, g) = counter();
    let reg2 = q.set_signal_notify(g).unwrap();
    assert_eq!(
        m.load(Ordering::SeqCst),
        1,
        "told of the signal already pending"
    );
    q.wait_signal(Some(Duration::ZERO), None).unwrap();
    assert!(q.signal());
    assert_eq!(m.load(Ordering::SeqCst), 2);
    drop(reg2);
}

#[test]
fn signal_fd_counts_new_pending_signals() {
    let q = Queue::new(b"signal-fd").unwrap();
    let fd = q.signal_fd().unwrap();
    // SAFETY: the queue owns fd and outlives this borrow.
    let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
    assert_eq!(read_counter(bfd), 0);
    assert!(q.signal());
    assert!(!q.signal());
    assert_eq!(read_counter(bfd), 1, "only new pending signals count");
    q.wait_signal(Some(Duration::ZERO), None).unwrap();
    assert!(q.signal());
    assert_eq!(read_counter(bfd), 1);
}

#[test]
fn signal_notify_may_drop_itself() {
    let q = Queue::new(b"signal-self").unwrap();
    let slot: Arc<Mutex<Option<slotq::SignalNotify>>> = Arc::new(Mutex::new(None));
    let (s2, n) = (slot.clone(), Arc::new(AtomicUsize::new(0)));
    let n2 = n.clone();
    let reg = q
        .set_signal_notify(move || {
            n2.fetch_add(1, Ordering::SeqCst);
            drop(s2.lock().unwrap().take());
        })
        .unwrap();
    *slot.lock().unwrap() = Some(reg);
    assert!(q.signal());
    q.wait_signal(Some(Duration::ZERO), None).unwrap();
    assert!(q.signal());
    assert_eq!(n.load(Ordering::SeqCst), 1);
    assert!(slot.lock().unwrap().is_none());
    q.set_signal_notify(|| {}).unwrap();
}
