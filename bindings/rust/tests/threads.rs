//! Many containers and callers at once: every slot is served or ejected
//! exactly once, and closed exactly once.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;
use slotq::{Call, ErrorKind, FnSlot, Manager, State, TokenState};

const CONTAINERS: usize = 4;
const ROUNDS: usize = 300;
const CALLERS: usize = 3;

struct Tally {
    closes: Vec<AtomicUsize>,
    execs: Vec<AtomicUsize>,
    served: AtomicUsize,
    ejected: AtomicUsize,
    acquired: AtomicUsize,
    lost_races: AtomicUsize,
}

#[test]
fn every_slot_is_used_or_ejected_exactly_once() {
    let total = CONTAINERS * ROUNDS;
    let tally = Arc::new(Tally {
        closes: (0..total).map(|_| AtomicUsize::new(0)).collect(),
        execs: (0..total).map(|_| AtomicUsize::new(0)).collect(),
        served: AtomicUsize::new(0),
        ejected: AtomicUsize::new(0),
        acquired: AtomicUsize::new(0),
        lost_races: AtomicUsize::new(0),
    });
    let mgr = Arc::new(Manager::new().unwrap());
    let call = Call::new().app_name("mt").path("/x").config("K", "V");
    let done = Arc::new(AtomicBool::new(false));

    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (mgr, call, tally, done) = (mgr.clone(), call.clone(), tally.clone(), done.clone());
            thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    let (q, _) = mgr.get(&call).unwrap();
                    let mut d = q.start_dequeuer(None).unwrap();
                    match d.next_timeout(Duration::from_millis(5)) {
                        Ok(t) => {
                            q.exit_state(State::Waiter).unwrap();
                            match t.acquire() {
                                Ok(()) => {
                                    tally.acquired.fetch_add(1, Ordering::SeqCst);
                                    drop(d); // the seed frees the dequeuer before running
                                    let mut id = t.id() as usize;
                                    t.exec(&mut id, None).unwrap();
                                    t.close().unwrap();
                                }
                                Err(e) => {
                                    assert_eq!(e.kind(), ErrorKind::Gone);
                                    tally.lost_races.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                        }
                        Err(e) => {
                            assert_eq!(e.kind(), ErrorKind::TimedOut);
                            q.exit_state(State::Waiter).unwrap();
                        }
                    }
                }
            })
        })
        .collect();

    let containers: Vec<_> = (0..CONTAINERS)
        .map(|c| {
            let (mgr, call, tally) = (mgr.clone(), call.clone(), tally.clone());
            thread::spawn(move || {
                let (q, _) = mgr.get(&call).unwrap();
                q.exit_state(State::Waiter).unwrap();
                for r in 0..ROUNDS {
                    let n = c * ROUNDS + r;
                    let (t1, t2) = (tally.clone(), tally.clone());
                    let slot = FnSlot::new(move |call, _| {
                        assert!(call.downcast_ref::<usize>().is_some());
                        t1.execs[n].fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .on_close(move || {
                        t2.closes[n].fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    });
                    let tok = q.offer(slot).unwrap();
                    // Idle timeout: a short, varying wait, then try to eject.
                    let idle = Duration::from_micros((n % 7) as u64 * 150);
                    let served = match tok.wait(Some(idle), None) {
                        Ok(TokenState::Acquired) => true,
                        Ok(other) => panic!("unexpected trigger {other:?}"),
                        Err(e) => {
                            assert_eq!(e.kind(), ErrorKind::TimedOut);
                            match q.eject(&tok) {
                                Ok(()) => false,
                                Err(e) if e.kind() == ErrorKind::Gone => true, // a caller won
                                Err(e) => panic!("eject: {e}"),
                            }
                        }
                    };
                    if served {
                        tok.wait_closed(Some(LONG), None).unwrap();
                        tally.served.fetch_add(1, Ordering::SeqCst);
                    } else {
                        assert_eq!(tok.state(), TokenState::Ejected);
                        tally.ejected.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();

    within(Duration::from_secs(40), move || {
        for h in containers {
            h.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        for h in callers {
            h.join().unwrap();
        }
    });

    let served = tally.served.load(Ordering::SeqCst);
    let ejected = tally.ejected.load(Ordering::SeqCst);
    assert_eq!(served + ejected, total);
    assert_eq!(tally.acquired.load(Ordering::SeqCst), served);
    for n in 0..total {
        assert_eq!(tally.closes[n].load(Ordering::SeqCst), 1, "slot {n} closes");
        assert!(tally.execs[n].load(Ordering::SeqCst) <= 1, "slot {n} execs");
    }
    let execs: usize = tally.execs.iter().map(|e| e.load(Ordering::SeqCst)).sum();
    assert_eq!(execs, served);
    println!(
        "{total} slots: {served} served, {ejected} ejected, {} lost acquire races",
        tally.lost_races.load(Ordering::SeqCst)
    );
    let (q, _) = mgr.get(&call).unwrap();
    q.exit_state(State::Waiter).unwrap();
    assert!(q.is_idle());
    assert!(q.is_empty());
    mgr.delete(&q).unwrap();
}

#[test]
fn many_waiters_each_get_one_slot() {
    let q = slotq::Queue::new(b"fanout").unwrap();
    let got = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..8)
        .map(|_| {
            let (q, got) = (q.clone(), got.clone());
            thread::spawn(move || {
                let mut d = q.start_dequeuer(None).unwrap();
                let t = d.next_timeout(LONG).unwrap();
                t.acquire().unwrap();
                got.fetch_add(1, Ordering::SeqCst);
                t.close().unwrap();
            })
        })
        .collect();
    let c = Counts::new();
    let tokens: Vec<_> = (0..8).map(|_| offer(&q, &c)).collect();
    within(LONG, move || {
        for w in waiters {
            w.join().unwrap();
        }
    });
    assert_eq!(got.load(Ordering::SeqCst), 8);
    assert_eq!(c.closes(), 8);
    for t in &tokens {
        assert_eq!(t.state(), TokenState::Acquired);
    }
}
