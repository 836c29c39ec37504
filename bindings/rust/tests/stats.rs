//! State counters, the EWMA, the launch policy, the signaller and the manager.

mod common;

use std::time::Duration;

use common::*;
use slotq::{Call, CancelToken, ErrorKind, Manager, Queue, State};

/// The seed's recordLatencyLocked, in Rust.
fn model(avg: &mut u64, count: &mut u64, lat: u64) {
    if *count != 0 {
        *avg = avg.wrapping_mul(5).wrapping_add(lat.wrapping_mul(5)) / 10;
    }
    *count = count.wrapping_add(1);
    if *count == 0 {
        *count = 1;
    }
}

#[test]
fn ewma_matches_the_seed_arithmetic() {
    let q = Queue::new(b"ewma").unwrap();
    q.record_latency(State::Runner, 1000);
    let s = q.stats();
    assert_eq!(
        (s.latency(State::Runner), s.samples(State::Runner)),
        (0, 1),
        "first sample ignored"
    );
    q.record_latency(State::Runner, 1000);
    assert_eq!(q.stats().latency(State::Runner), 500);
    q.record_latency(State::Runner, 301);
    assert_eq!(q.stats().latency(State::Runner), (500 * 5 + 301 * 5) / 10);

    // Against the model, with values that wrap u64 (as Go's uint64 does).
    let samples = [
        7u64,
        u64::MAX,
        u64::MAX / 3,
        1 << 62,
        12345,
        u64::MAX - 4,
        0,
        9,
        (1 << 61) + 17,
    ];
    for state in State::ALL {
        let q = Queue::new(b"m").unwrap();
        let (mut avg, mut count) = (0u64, 0u64);
        for (i, &lat) in samples.iter().enumerate() {
            let lat = lat.wrapping_add(state.index() as u64 * 31 + i as u64);
            q.record_latency(state, lat);
            model(&mut avg, &mut count, lat);
            let s = q.stats();
            assert_eq!(
                (s.latency(state), s.samples(state)),
                (avg, count),
                "{state:?} sample {i}"
            );
        }
        // The other states are untouched.
        for other in State::ALL.into_iter().filter(|&o| o != state) {
            assert_eq!(q.stats().samples(other), 0);
        }
    }
}

#[test]
fn exit_state_latency_records_atomically() {
    let q = Queue::new(b"exit").unwrap();
    assert_eq!(
        q.exit_state(State::Waiter).unwrap_err().kind(),
        ErrorKind::State
    );
    assert_eq!(
        q.exit_state_latency(State::Waiter, 50).unwrap_err().kind(),
        ErrorKind::State
    );
    assert_eq!(
        q.stats().samples(State::Waiter),
        0,
        "nothing recorded on failure"
    );
    q.enter_state(State::Waiter).unwrap();
    q.enter_state(State::Waiter).unwrap();
    q.exit_state_latency(State::Waiter, 80).unwrap();
    q.exit_state_latency(State::Waiter, 40).unwrap();
    let s = q.stats();
    assert_eq!(
        (
            s.count(State::Waiter),
            s.samples(State::Waiter),
            s.latency(State::Waiter)
        ),
        (0, 2, 20)
    );
}

/// A queue with the given counters (W, S, R) and latency averages.
fn queue_with(w: u64, s: u64, r: u64, run: u64, wait: u64, start: u64) -> Queue {
    let q = Queue::new(b"policy").unwrap();
    for (state, n) in [(State::Waiter, w), (State::Starter, s), (State::Runner, r)] {
        for _ in 0..n {
            q.enter_state(state).unwrap();
        }
    }
    // First sample ignored, second sets avg = (0 + 2x*5)/10 = x.
    for (state, avg) in [
        (State::Runner, run),
        (State::Waiter, wait),
        (State::Starter, start),
    ] {
        q.record_latency(state, 0);
        q.record_latency(state, 2 * avg);
        assert_eq!(q.stats().latency(state), avg);
    }
    q
}

#[test]
fn is_new_container_needed_branches() {
    let cases = [
        // (W, S, R, run, wait, start) -> needed
        ((0, 0, 0, 0, 100, 0), false),     // no waiters
        ((0, 0, 5, 0, 100, 0), false),     // no waiters, runners busy
        ((1, 1, 0, 0, 100, 0), false),     // starters >= waiters
        ((2, 3, 0, 0, 100, 0), false),     // starters >= waiters
        ((1, 0, 0, 0, 0, 0), true),        // no executors
        ((3, 0, 0, 999, 1, 999), true),    // no executors, whatever the latencies
        ((1, 0, 1, 0, 0, 0), false),       // no wait latency
        ((2, 1, 0, 0, 0, 0), false),       // no wait latency (a starter counts as executor)
        ((1, 0, 4, 100, 60, 1000), true),  // run/(S+R)*2 = 50 < 60
        ((1, 0, 3, 100, 67, 1000), true),  // 100/3 = 33 (integer), *2 = 66 < 67
        ((1, 0, 3, 100, 66, 1000), false), // 66 < 66 no; run, start not below
        ((1, 0, 1, 50, 60, 1000), true),   // run < wait (100 < 60 no)
        ((1, 0, 1, 100, 60, 50), true),    // start < wait
        ((1, 0, 1, 100, 60, 60), false),   // nothing below wait
        ((3, 1, 1, 100, 60, 100), false),  // S + R = 2: 100 < 60 no
        ((3, 1, 1, 100, 101, 500), true),  // 100 < 101
    ];
    for ((w, s, r, run, wait, start), want) in cases {
        let q = queue_with(w, s, r, run, wait, start);
        let (needed, snap) = q.is_new_container_needed();
        assert_eq!(
            needed, want,
            "W={w} S={s} R={r} run={run} wait={wait} start={start}"
        );
        assert_eq!(snap, q.stats());
        assert_eq!(snap.states, [r, s, w]);
    }
}

#[test]
fn signaller_has_capacity_one() {
    let q = Queue::new(b"sig").unwrap();
    assert_eq!(
        q.wait_signal(Some(Duration::ZERO), None)
            .unwrap_err()
            .kind(),
        ErrorKind::TimedOut
    );
    assert!(q.signal());
    assert!(!q.signal(), "a second signal finds the one pending");
    q.wait_signal(Some(Duration::ZERO), None).unwrap();
    assert_eq!(
        q.wait_signal(Some(Duration::ZERO), None)
            .unwrap_err()
            .kind(),
        ErrorKind::TimedOut
    );
    assert!(q.signal());

    // A blocked launcher wakes on a signal from another thread.
    q.wait_signal(Some(Duration::ZERO), None).unwrap();
    let q2 = q.clone();
    let launcher = std::thread::spawn(move || q2.wait_signal(Some(LONG), None));
    std::thread::sleep(Duration::from_millis(20));
    assert!(q.signal());
    within(LONG, move || launcher.join().unwrap()).unwrap();

    // And stops waiting when cancelled.
    let cancel = CancelToken::new().unwrap();
    let (q3, c3) = (q.clone(), cancel.clone());
    let launcher = std::thread::spawn(move || q3.wait_signal(None, Some(&c3)));
    std::thread::sleep(Duration::from_millis(20));
    cancel.cancel();
    let err = within(LONG, move || launcher.join().unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Canceled);
}

fn call(n: u32) -> Call {
    Call::new()
        .app_name("app")
        .path(format!("/f{n}"))
        .image("img:1")
        .format("http")
        .timeout(30)
        .idle_timeout(60)
        .memory(128)
}

#[test]
fn get_enters_waiter_and_finds_the_same_queue() {
    let mgr = Manager::new().unwrap();
    assert!(mgr.is_empty());
    let (q, is_new) = mgr.get(&call(1)).unwrap();
    assert!(is_new);
    assert_eq!(q.stats().count(State::Waiter), 1);
    assert_eq!(q.key(), call(1).key().unwrap().as_bytes());
    let (q2, is_new) = mgr.get(&call(1)).unwrap();
    assert!(!is_new);
    assert_eq!(q, q2);
    assert_eq!(q.stats().count(State::Waiter), 2);
    let (q3, is_new) = mgr.get_by_key(&call(1).key().unwrap()).unwrap();
    assert!(!is_new);
    assert_eq!(q3, q);
    let (other, is_new) = mgr.get(&call(2)).unwrap();
    assert!(is_new);
    assert_ne!(other, q);
    assert_eq!(mgr.len(), 2);
}

#[test]
fn idle_and_delete() {
    let mgr = Manager::new().unwrap();
    let (q, _) = mgr.get(&call(1)).unwrap();
    assert!(!q.is_idle());
    assert_eq!(mgr.delete(&q).unwrap_err().kind(), ErrorKind::Busy);
    q.exit_state(State::Waiter).unwrap();
    assert!(q.is_idle());
    for state in [State::Runner, State::Starter] {
        q.enter_state(state).unwrap();
        assert!(!q.is_idle(), "{state:?} counts");
        assert_eq!(mgr.delete(&q).unwrap_err().kind(), ErrorKind::Busy);
        q.exit_state(state).unwrap();
    }
    // Idle slots do not count.
    let c = Counts::new();
    let tok = offer(&q, &c);
    assert!(q.is_idle());
    mgr.delete(&q).unwrap();
    assert_eq!(mgr.delete(&q).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(mgr.len(), 0);
    // The handle stays valid; a later get makes a new queue.
    assert_eq!(q.len(), 1);
    let (fresh, is_new) = mgr.get(&call(1)).unwrap();
    assert!(is_new);
    assert_ne!(fresh, q);
    // Another manager never held it.
    let other = Manager::new().unwrap();
    assert_eq!(
        other.delete(&fresh).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Our handle was the last: dropping it discards the idle slot.
    drop(q);
    assert_eq!(c.closes(), 1);
    assert_eq!(tok.state(), slotq::TokenState::Discarded);
}

#[test]
fn manager_drop_keeps_held_queues() {
    let mgr = Manager::new().unwrap();
    let (q, _) = mgr.get(&call(1)).unwrap();
    let (q2, _) = mgr.get(&call(2)).unwrap();
    let c = Counts::new();
    let t = offer(&q, &c);
    let c2 = Counts::new();
    let t2 = offer(&q2, &c2);
    drop(q2);
    drop(mgr);
    assert_eq!(
        t.state(),
        slotq::TokenState::Queued,
        "a held queue lives on"
    );
    assert_eq!(
        t2.state(),
        slotq::TokenState::Discarded,
        "an unheld queue shuts down"
    );
    assert_eq!((c.closes(), c2.closes()), (0, 1));
    let mut d = q.start_dequeuer(None).unwrap();
    d.next_timeout(SEC).unwrap().acquire().unwrap();
}

#[test]
fn max_waiters_sheds_load() {
    let mgr = Manager::new().unwrap();
    mgr.set_max_waiters(2);
    let (q, _) = mgr.get(&call(1)).unwrap();
    let _ = mgr.get(&call(1)).unwrap();
    let err = mgr.get(&call(1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Overload);
    assert_eq!(q.stats().count(State::Waiter), 2);
    q.exit_state(State::Waiter).unwrap();
    mgr.get(&call(1)).unwrap();
    mgr.set_max_waiters(0);
    mgr.get(&call(1)).unwrap();
    assert_eq!(q.stats().count(State::Waiter), 3);
}
