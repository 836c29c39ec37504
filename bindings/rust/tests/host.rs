//! Launch policies, the library's host loops and metrics.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use slotq::{
    Call, CancelToken, ErrorKind, FnSlot, LaunchAction, Manager, Policy, Queue, State, TokenState,
};

#[test]
fn policies() {
    let q = Queue::new(b"policy").unwrap();
    let c = Counts::new();
    for _ in 0..3 {
        q.enter_state(State::Waiter).unwrap();
    }
    let _idle = offer(&q, &c);
    let (seed, snap) = q.evaluate_policy(&Policy::Seed).unwrap();
    assert_eq!((seed, snap), q.is_new_container_needed());
    assert!(seed, "no executors");
    // W=3, I=1, S=0: 0 < 2, start.
    assert!(q.evaluate_policy(&Policy::IdleAware).unwrap().0);
    q.enter_state(State::Starter).unwrap();
    assert!(q.evaluate_policy(&Policy::IdleAware).unwrap().0, "1 < 2");
    q.enter_state(State::Starter).unwrap();
    assert!(
        !q.evaluate_policy(&Policy::IdleAware).unwrap().0,
        "2 < 2 no"
    );
    // A custom policy sees the snapshot and the idle count.
    let seen = std::cell::Cell::new(None);
    let custom = |s: &slotq::Stats, idle: usize| {
        seen.set(Some((
            s.count(State::Waiter),
            s.count(State::Starter),
            idle,
        )));
        idle == 1
    };
    assert!(q.evaluate_policy(&Policy::Custom(&custom)).unwrap().0);
    assert_eq!(seen.get(), Some((3, 2, 1)));
    // A panicking policy resumes here.
    let bad = |_: &slotq::Stats, _: usize| -> bool { panic!("policy boom") };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        q.evaluate_policy(&Policy::Custom(&bad))
    }));
    assert!(r.is_err());
}

fn call() -> Call {
    Call::new()
        .app_name("host")
        .path("/loop")
        .image("img")
        .memory(64)
}

#[test]
fn caller_acquire_and_container_offer_meet() {
    let mgr = Arc::new(Manager::new().unwrap());
    let c = Counts::new();
    let (q, _) = mgr.get(&call()).unwrap();
    q.exit_state(State::Waiter).unwrap();
    let (q2, c2) = (q.clone(), c.clone());
    let container = std::thread::spawn(move || {
        let tok = q2
            .offer_and_wait(counting_slot(&c2), Some(LONG), None)
            .unwrap();
        assert_eq!(tok.state(), TokenState::Acquired);
        tok.wait_closed(Some(LONG), None).unwrap();
    });
    let tok = mgr.acquire(&call(), Some(LONG), None, None).unwrap();
    tok.exec(&mut (), None).unwrap();
    tok.close().unwrap();
    within(LONG, move || container.join().unwrap());
    assert_eq!((c.execs(), c.closes()), (1, 1));
    let s = q.stats();
    assert_eq!(
        s.count(State::Waiter),
        0,
        "the helper left the Waiter state"
    );
    assert_eq!(s.samples(State::Waiter), 1);
}

#[test]
fn caller_wait_after_a_get_that_made_the_queue() {
    let mgr = Manager::new().unwrap();
    let c = Counts::new();
    let (q, is_new) = mgr.get(&call()).unwrap(); // a Waiter now
    assert!(is_new, "the host would start a launcher here");
    let (q2, c2) = (q.clone(), c.clone());
    let container = std::thread::spawn(move || {
        let tok = q2
            .offer_and_wait(counting_slot(&c2), Some(LONG), None)
            .unwrap();
        tok.wait_closed(Some(LONG), None).unwrap();
    });
    let tok = q.caller_wait(Some(LONG), None, None).unwrap();
    tok.close().unwrap();
    within(LONG, move || container.join().unwrap());
    assert_eq!(
        q.stats().count(State::Waiter),
        0,
        "it left the Waiter state"
    );
    let err = q.caller_wait(Some(Duration::ZERO), None, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::State, "nobody waits any more");
}

#[test]
fn container_offer_times_out_and_ejects() {
    let q = Queue::new(b"idle").unwrap();
    let c = Counts::new();
    let err = q
        .offer_and_wait(counting_slot(&c), Some(Duration::from_millis(20)), None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert_eq!(c.closes(), 1);
    assert_eq!(c.drops(), 1, "the slot was freed with its token");
    assert!(q.is_empty());

    let cancel = CancelToken::new().unwrap();
    cancel.cancel();
    let c2 = Counts::new();
    let err = q
        .offer_and_wait(counting_slot(&c2), None, Some(&cancel))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Canceled);
    assert_eq!((c2.closes(), c2.drops()), (1, 1));

    // Rejected arguments: the slot is dropped, not leaked.
    let c3 = Counts::new();
    let err = q
        .offer_and_wait(counting_slot(&c3), Some(Duration::ZERO), None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!((c3.closes(), c3.drops()), (0, 1));
}

#[test]
fn caller_acquire_reports_slot_errors_and_timeouts() {
    let mgr = Manager::new().unwrap();
    let err = mgr
        .acquire(
            &call(),
            Some(Duration::from_millis(20)),
            Some(Duration::from_millis(5)),
            None,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    let (q, _) = mgr.get(&call()).unwrap();
    q.exit_state(State::Waiter).unwrap();
    assert!(q.stats().samples(State::Waiter) >= 1);
    // A slot standing for a failed container.
    let closes = Arc::new(AtomicUsize::new(0));
    let cl = closes.clone();
    let _tok = q
        .offer(
            FnSlot::new(|_, _| Ok(()))
                .on_error(|| Err(17))
                .on_close(move || {
                    cl.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }),
        )
        .unwrap();
    let err = mgr.acquire(&call(), Some(LONG), None, None).unwrap_err();
    assert_eq!(
        (err.kind(), err.callback_code()),
        (ErrorKind::Slot, Some(17))
    );
    assert_eq!(closes.load(Ordering::SeqCst), 1);
    let cancel = CancelToken::with_timeout(None, Duration::from_millis(20)).unwrap();
    let err = mgr.acquire(&call(), None, None, Some(&cancel)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Canceled);
    assert_eq!(q.stats().count(State::Waiter), 0);
}

#[test]
fn launcher_steps() {
    let mgr = Manager::new().unwrap();
    let (q, _) = mgr.get(&call()).unwrap();
    // A waiter and a signal: the seed's policy starts a container.
    assert!(q.signal());
    let (action, stats) = q
        .launcher_step(Some(&mgr), &Policy::Seed, Some(LONG), None)
        .unwrap();
    assert_eq!(action, LaunchAction::Start);
    assert_eq!(stats.count(State::Waiter), 1);
    assert_eq!(
        q.stats().count(State::Starter),
        1,
        "the step entered Starter"
    );
    // Another signal: S >= W, nothing.
    q.signal();
    let (action, _) = q
        .launcher_step(Some(&mgr), &Policy::Seed, Some(LONG), None)
        .unwrap();
    assert_eq!(action, LaunchAction::Nothing);
    // Inactivity with parties present: not deleted, policy evaluated.
    let (action, _) = q
        .launcher_step(
            Some(&mgr),
            &Policy::Seed,
            Some(Duration::from_millis(10)),
            None,
        )
        .unwrap();
    assert_eq!(action, LaunchAction::Nothing);
    // Idle and inactive: deleted.
    q.exit_state_latency(State::Starter, 1000).unwrap();
    q.exit_state(State::Waiter).unwrap();
    let (action, _) = q
        .launcher_step(
            Some(&mgr),
            &Policy::Seed,
            Some(Duration::from_millis(10)),
            None,
        )
        .unwrap();
    assert_eq!(action, LaunchAction::Deleted);
    assert!(mgr.is_empty());
    // Cancelled.
    let cancel = CancelToken::new().unwrap();
    cancel.cancel();
    let err = q
        .launcher_step(None, &Policy::IdleAware, None, Some(&cancel))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Canceled);
    assert_eq!(
        q.launcher_step(None, &Policy::Seed, Some(Duration::ZERO), None)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn metrics_render_every_queue() {
    let mgr = Manager::new().unwrap();
    let (q, _) = mgr.get(&call()).unwrap();
    let c = Counts::new();
    let _t = offer(&q, &c);
    let text = mgr.metrics().unwrap();
    let key = call().key().unwrap().to_string();
    assert!(
        text.contains(&format!("slotq_queue_idle_slots{{key=\"{key}\"}} 1")),
        "{text}"
    );
    assert!(text.contains("slotq_queues 1"), "{text}");
    assert!(
        text.contains(&format!(
            "slotq_queue_parties{{key=\"{key}\",state=\"waiter\"}} 1"
        )),
        "{text}"
    );
}

#[test]
fn a_panic_during_acquire_gives_the_acquired_slot_back() {
    // The launcher's signal callback panics on the caller's thread (the
    // caller signals before it waits): the panic resumes from acquire, and
    // the slot it had acquired goes back to its container, closed.
    let mgr = Manager::new().unwrap();
    let (q, _) = mgr.get(&call()).unwrap();
    q.exit_state(State::Waiter).unwrap();
    let container = q.offer(FnSlot::new(|_, _| Ok(()))).unwrap();
    let _sn = q.set_signal_notify(|| panic!("signal boom")).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        mgr.acquire(&call(), Some(Duration::from_secs(1)), None, None)
    }));
    assert_eq!(*r.unwrap_err().downcast::<&str>().unwrap(), "signal boom");
    container
        .wait_closed(Some(Duration::from_secs(2)), None)
        .expect("the slot came back");
}
