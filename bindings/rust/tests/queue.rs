//! The seed's slot queue behaviours, through the safe API only.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use slotq::{CancelToken, ErrorKind, FnSlot, Queue, TokenState};

#[test]
fn lifo_order() {
    let q = Queue::new(b"lifo").unwrap();
    let c = Counts::new();
    let offered: Vec<_> = (0..3).map(|_| offer(&q, &c)).collect();
    assert_eq!(
        offered.iter().map(|t| t.id()).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(q.len(), 3);

    let mut d = q.start_dequeuer(None).unwrap();
    for want in [2, 1, 0] {
        let t = d.next_timeout(Duration::ZERO).unwrap();
        assert_eq!(t.id(), want);
        assert_eq!(t.state(), TokenState::Lent);
        t.acquire().unwrap();
        assert_eq!(t.state(), TokenState::Acquired);
    }
    assert_eq!(
        d.next_timeout(Duration::ZERO).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    assert!(q.is_empty());
}

#[test]
fn unacquired_lent_token_goes_back_on_top() {
    let q = Queue::new(b"lent").unwrap();
    let c = Counts::new();
    let _a = offer(&q, &c);
    let _b = offer(&q, &c);
    let mut d = q.start_dequeuer(None).unwrap();
    let t = d.next_timeout(Duration::ZERO).unwrap();
    assert_eq!(t.id(), 1);
    assert_eq!(q.len(), 1);
    // Not acquired: the next call puts it back first, so it comes out again.
    let t2 = d.next_timeout(Duration::ZERO).unwrap();
    assert_eq!(t2.id(), 1);
    assert_eq!(t.state(), TokenState::Lent);
    drop(d); // dropping the dequeuer gives it back too
    assert_eq!(q.len(), 2);
    assert_eq!(c.closes(), 0, "a slot given back is not closed");
}

#[test]
fn eject_twice_fails() {
    let q = Queue::new(b"eject2").unwrap();
    let c = Counts::new();
    let t = offer(&q, &c);
    q.eject(&t).unwrap();
    assert_eq!(t.state(), TokenState::Ejected);
    assert!(t.is_closed());
    assert_eq!(q.eject(&t).unwrap_err().kind(), ErrorKind::Gone);
    assert_eq!(c.closes(), 1);
    assert!(q.is_empty());
}

#[test]
fn acquire_twice_fails() {
    let q = Queue::new(b"acq2").unwrap();
    let c = Counts::new();
    let container = offer(&q, &c);
    let mut d = q.start_dequeuer(None).unwrap();
    let t = d.next_timeout(SEC).unwrap();
    t.acquire().unwrap();
    assert_eq!(t.acquire().unwrap_err().kind(), ErrorKind::Gone);
    // Another handle of the same token (the container's) fails too, and so
    // does an eject.
    assert_eq!(container, t);
    assert_eq!(
        container.clone().acquire().unwrap_err().kind(),
        ErrorKind::Gone
    );
    assert_eq!(q.eject(&container).unwrap_err().kind(), ErrorKind::Gone);
    assert_eq!(c.closes(), 0);
}

#[test]
fn eject_after_handout_makes_acquire_fail() {
    let q = Queue::new(b"eject-lent").unwrap();
    let c = Counts::new();
    let container = offer(&q, &c);
    let mut d = q.start_dequeuer(None).unwrap();
    let lent = d.next_timeout(SEC).unwrap();
    assert_eq!(lent.state(), TokenState::Lent);
    q.eject(&container).unwrap();
    assert_eq!(lent.acquire().unwrap_err().kind(), ErrorKind::Gone);
    assert_eq!(lent.state(), TokenState::Ejected);
    assert_eq!(c.closes(), 1);
    // The ejected token does not come back to the queue.
    assert_eq!(
        d.next_timeout(Duration::ZERO).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    assert!(q.is_empty());
}

#[test]
fn ejected_tokens_are_skipped() {
    let q = Queue::new(b"skip").unwrap();
    let c = Counts::new();
    let t: Vec<_> = (0..4).map(|_| offer(&q, &c)).collect();
    q.eject(&t[3]).unwrap(); // the top
    q.eject(&t[1]).unwrap(); // the middle
    assert_eq!(q.len(), 2);
    let mut d = q.start_dequeuer(None).unwrap();
    let mut got = vec![];
    while let Ok(tok) = d.next_timeout(Duration::ZERO) {
        tok.acquire().unwrap();
        got.push(tok.id());
    }
    assert_eq!(got, [2, 0]);
    assert_eq!(c.closes(), 2);
}

#[test]
fn close_runs_exactly_once() {
    // After use: the caller closes; closing again, or ejecting, fails.
    let q = Queue::new(b"close1").unwrap();
    let c = Counts::new();
    let container = offer(&q, &c);
    let mut d = q.start_dequeuer(None).unwrap();
    let t = d.next_timeout(SEC).unwrap();
    assert_eq!(
        t.close().unwrap_err().kind(),
        ErrorKind::State,
        "close before acquire"
    );
    t.acquire().unwrap();
    t.exec(&mut (), None).unwrap();
    t.close().unwrap();
    assert_eq!(t.close().unwrap_err().kind(), ErrorKind::Gone);
    assert_eq!(t.exec(&mut (), None).unwrap_err().kind(), ErrorKind::State);
    assert_eq!(q.eject(&container).unwrap_err().kind(), ErrorKind::Gone);
    container.wait_closed(Some(SEC), None).unwrap();
    assert_eq!((c.execs(), c.closes()), (1, 1));

    // Ejected: close ran in eject; the caller's close fails.
    let c2 = Counts::new();
    let t2 = offer(&q, &c2);
    q.eject(&t2).unwrap();
    assert_eq!(t2.close().unwrap_err().kind(), ErrorKind::Gone);
    assert_eq!(c2.closes(), 1);

    // Discarded: the queue shuts down with the slot idle.
    let c3 = Counts::new();
    let q3 = Queue::new(b"close3").unwrap();
    let t3 = offer(&q3, &c3);
    let t3b = offer(&q3, &c3);
    drop(q3);
    assert_eq!(t3.state(), TokenState::Discarded);
    assert_eq!(t3.wait(Some(SEC), None).unwrap(), TokenState::Discarded);
    assert_eq!(t3b.close().unwrap_err().kind(), ErrorKind::Gone);
    assert_eq!(c3.closes(), 2);

    // The slot objects are dropped with the last token reference.
    drop((t, d, container, t2));
    assert_eq!(c.drops(), 1);
    assert_eq!(c2.drops(), 1);
    assert_eq!(c3.drops(), 0);
    drop((t3, t3b));
    assert_eq!(c3.drops(), 2);
}

#[test]
fn container_wait_sees_acquire_and_close() {
    let q = Queue::new(b"wait").unwrap();
    let c = Counts::new();
    let container = offer(&q, &c);
    assert_eq!(
        container
            .wait(Some(Duration::ZERO), None)
            .unwrap_err()
            .kind(),
        ErrorKind::TimedOut
    );
    let q2 = q.clone();
    let caller = std::thread::spawn(move || {
        let mut d = q2.start_dequeuer(None).unwrap();
        let t = d.next_timeout(LONG).unwrap();
        t.acquire().unwrap();
        t.exec(&mut (), None).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        t.close().unwrap();
    });
    assert_eq!(
        container.wait(Some(LONG), None).unwrap(),
        TokenState::Acquired
    );
    container.wait_closed(Some(LONG), None).unwrap();
    assert_eq!(c.closes(), 1);
    caller.join().unwrap();
}

#[test]
fn stopping_a_dequeuer_wakes_a_blocked_waiter() {
    let q = Queue::new(b"stop").unwrap();
    let d = q.start_dequeuer(None).unwrap();
    let stopper = d.stopper();
    let started = Instant::now();
    let waiter = std::thread::spawn(move || {
        let mut d = d;
        let first = d.next(); // the Iterator: blocks without a timeout
        (first.is_none(), d.end_reason().map(|e| e.kind()))
    });
    std::thread::sleep(Duration::from_millis(50));
    assert!(!waiter.is_finished(), "next() returned without a slot");
    assert!(stopper.stop());
    assert!(!stopper.stop(), "second stop reports already stopped");
    let (ended, why) = within(LONG, move || waiter.join().unwrap());
    assert!(ended);
    assert_eq!(why, Some(ErrorKind::Stopped));
    assert!(started.elapsed() < LONG);
    assert!(!stopper.stop(), "stopping a dropped dequeuer does nothing");
}

#[test]
fn cancelling_a_dequeuer_wakes_a_blocked_waiter() {
    let q = Queue::new(b"cancel").unwrap();
    let cancel = CancelToken::new().unwrap();
    let mut d = q.start_dequeuer(Some(&cancel)).unwrap();
    let waiter = std::thread::spawn(move || {
        let n = d.by_ref().count();
        (n, d.end_reason().map(|e| e.kind()))
    });
    std::thread::sleep(Duration::from_millis(30));
    cancel.cancel();
    assert_eq!(
        within(LONG, move || waiter.join().unwrap()),
        (0, Some(ErrorKind::Canceled))
    );

    // A per-call token cancels one call only.
    let mut d2 = q.start_dequeuer(None).unwrap();
    let call_cancel = CancelToken::new().unwrap();
    let cc = call_cancel.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        cc.cancel();
    });
    let err = d2.next_with(None, Some(&call_cancel)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Canceled);
    canceller.join().unwrap();
    assert_eq!(
        d2.next_timeout(Duration::ZERO).unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    d2.stop();
    assert_eq!(
        d2.next_timeout(Duration::ZERO).unwrap_err().kind(),
        ErrorKind::Stopped
    );
}

#[test]
fn iterator_hands_out_slots_as_they_come() {
    let q = Queue::new(b"iter").unwrap();
    let c = Counts::new();
    let d = q.start_dequeuer(None).unwrap();
    let stopper = d.stopper();
    let consumer = std::thread::spawn(move || {
        let mut ids = vec![];
        for t in d {
            t.acquire().unwrap();
            ids.push(t.id());
            t.close().unwrap();
        }
        ids
    });
    let tokens: Vec<_> = (0..5)
        .map(|_| {
            let t = offer(&q, &c);
            t.wait_closed(Some(LONG), None).unwrap();
            t
        })
        .collect();
    stopper.stop();
    assert_eq!(
        within(LONG, move || consumer.join().unwrap()),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(c.closes(), 5);
    drop(tokens);
}

#[test]
fn exec_passes_the_call_and_reports_errors() {
    let q = Queue::new(b"exec").unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s2 = seen.clone();
    let slot = FnSlot::new(move |call, cancel| {
        let req = call.downcast_mut::<String>().ok_or(99)?;
        s2.lock().unwrap().push(req.clone());
        req.push_str(" served");
        if cancel.is_some_and(|c| c.is_cancelled()) {
            return Err(7);
        }
        Ok(())
    })
    .on_error(|| Err(42));
    let _container = q.offer(slot).unwrap();
    let mut d = q.start_dequeuer(None).unwrap();
    let t = d.next_timeout(SEC).unwrap();
    assert_eq!(
        t.exec(&mut String::new(), None).unwrap_err().kind(),
        ErrorKind::State
    );
    t.acquire().unwrap();

    let mut req = String::from("GET /");
    t.exec(&mut req, None).unwrap();
    assert_eq!(req, "GET / served");

    let err = t.exec(&mut 5u32, None).unwrap_err();
    assert_eq!(
        (err.kind(), err.callback_code()),
        (ErrorKind::Callback, Some(99))
    );

    let cancel = CancelToken::new().unwrap();
    cancel.cancel();
    let err = t.exec(&mut String::from("x"), Some(&cancel)).unwrap_err();
    assert_eq!(err.callback_code(), Some(7));
    assert!(err.to_string().contains("7"), "{err}");

    assert_eq!(t.slot_error(), Some(42));
    assert!(t.slot::<FnSlot>().is_some());
    assert!(t.slot::<NeverSlot>().is_none());

    // Runner state: entered and left, with latencies recorded.
    let stats = q.stats();
    assert_eq!(stats.count(slotq::State::Runner), 0);
    assert_eq!(stats.samples(slotq::State::Runner), 3);
    assert_eq!(*seen.lock().unwrap(), ["GET /", "x"]);
}

struct NeverSlot;
impl slotq::Slot for NeverSlot {
    fn exec(&self, _: &mut dyn std::any::Any, _: Option<&CancelToken>) -> Result<(), i32> {
        Ok(())
    }
}

/// A slot written as a type, with state the caller reads back.
struct Container {
    name: String,
    closes: AtomicUsize,
    triggers: Mutex<Vec<TokenState>>,
}

impl slotq::Slot for Container {
    fn exec(&self, call: &mut dyn std::any::Any, _: Option<&CancelToken>) -> Result<(), i32> {
        if let Some(out) = call.downcast_mut::<Vec<String>>() {
            out.push(self.name.clone());
        }
        Ok(())
    }
    fn close(&self) -> Result<(), i32> {
        self.closes.fetch_add(1, Ordering::SeqCst);
        Err(3)
    }
    fn trigger(&self, state: TokenState) {
        self.triggers.lock().unwrap().push(state);
    }
}

#[test]
fn slot_trait_object_trigger_and_close_code() {
    let q = Queue::new(b"trait").unwrap();
    let container = q
        .offer(Container {
            name: "c1".into(),
            closes: AtomicUsize::new(0),
            triggers: Mutex::new(vec![]),
        })
        .unwrap();
    let mut d = q.start_dequeuer(None).unwrap();
    let t = d.next_timeout(SEC).unwrap();
    t.acquire().unwrap();
    let mut out = Vec::<String>::new();
    t.exec(&mut out, None).unwrap();
    assert_eq!(out, ["c1"]);
    let err = t.close().unwrap_err();
    assert_eq!(
        (err.kind(), err.callback_code()),
        (ErrorKind::Callback, Some(3))
    );
    assert!(t.is_closed(), "closed even though the callback failed");
    let slot = container.slot::<Container>().unwrap();
    assert_eq!(slot.closes.load(Ordering::SeqCst), 1);
    assert_eq!(*slot.triggers.lock().unwrap(), [TokenState::Acquired]);

    // Ejected: the trigger fires after close, with the final state.
    let t2 = q
        .offer(Container {
            name: "c2".into(),
            closes: AtomicUsize::new(0),
            triggers: Mutex::new(vec![]),
        })
        .unwrap();
    q.eject(&t2).unwrap();
    assert_eq!(
        *t2.slot::<Container>().unwrap().triggers.lock().unwrap(),
        [TokenState::Ejected]
    );
}

#[test]
fn panics_in_callbacks_resume_in_the_caller() {
    let q = Queue::new(b"panic").unwrap();
    let closes = Arc::new(AtomicUsize::new(0));
    let c2 = closes.clone();
    let slot = FnSlot::new(|_, _| panic!("exec boom")).on_close(move || {
        c2.fetch_add(1, Ordering::SeqCst);
        panic!("close boom")
    });
    let container = q.offer(slot).unwrap();
    let mut d = q.start_dequeuer(None).unwrap();
    let t = d.next_timeout(SEC).unwrap();
    t.acquire().unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.exec(&mut (), None)));
    let msg = r.unwrap_err().downcast::<&str>().unwrap();
    assert_eq!(*msg, "exec boom");
    // The library is consistent: the Runner state was left.
    assert_eq!(q.stats().count(slotq::State::Runner), 0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.close()));
    assert!(r.is_err());
    assert_eq!(closes.load(Ordering::SeqCst), 1);
    assert!(container.is_closed());
    // Nothing is left pending on this thread.
    t.exec(&mut (), None).unwrap_err();
}

#[test]
fn wrong_queue_and_keys() {
    let q1 = Queue::new(b"one").unwrap();
    let q2 = Queue::new(&[7u8; 64]).unwrap();
    assert_eq!(q1.key(), b"one");
    assert_eq!(q2.key(), [7u8; 64]);
    assert_eq!(
        Queue::new(&[0u8; 65]).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let c = Counts::new();
    let t = offer(&q1, &c);
    assert_eq!(q2.eject(&t).unwrap_err().kind(), ErrorKind::WrongQueue);
    assert_eq!(q1.clone(), q1);
    assert_ne!(q1, q2);
}

#[test]
fn a_panic_during_offer_takes_the_offered_slot_back() {
    // A dequeuer's notification, run on the offering thread, panics: the
    // offer resumes the panic, and the slot it made is not left behind on
    // the queue with nobody holding its token.
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    impl slotq::Slot for Counted {
        fn exec(
            &self,
            _call: &mut dyn std::any::Any,
            _cancel: Option<&CancelToken>,
        ) -> Result<(), i32> {
            Ok(())
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let q = Queue::new(b"offer-panic").unwrap();
    let d = q.start_dequeuer(None).unwrap();
    d.set_notify(|| panic!("notify boom")).unwrap();
    d.arm().unwrap();
    let slot = Counted(dropped.clone());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| q.offer(slot)));
    assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "notify boom");
    assert_eq!(q.len(), 0);
    drop(d);
    drop(q);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the slot was dropped, not leaked"
    );
}

#[test]
fn a_panic_while_setting_a_signal_callback_resumes_there() {
    // A signal already pending is told inside set_signal_notify: a panic of
    // the callback resumes from that call, not from a later unrelated one.
    let q = Queue::new(b"signal-panic").unwrap();
    q.signal();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        q.set_signal_notify(|| panic!("signal boom"))
    }));
    assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "signal boom");
    let q2 = Queue::new(b"unrelated").unwrap();
    q2.offer(FnSlot::new(|_, _| Ok(()))).unwrap(); // nothing left pending
                                                   // The registration was dropped by the unwinding: another can be set.
    let _ = q.wait_signal(Some(Duration::ZERO), None);
    let _reg = q.set_signal_notify(|| {}).unwrap();
}
