/*
 * armed.pml: a Promela model of libslotq's event-driven (armed) dequeuers
 * and their notifications, checked by model/check.sh with spin. handoff.pml
 * covers blocking waits; this one covers what it leaves out:
 *
 *   model step        source (src/)
 *   ----------------  ----------------------------------------------------
 *   Arm               Dequeuer::Arm                         (dequeuer.cc)
 *   HandOrPush        Queue::HandOrPush, the armed branch   (queue.cc)
 *   GiveBack          Queue::GiveBack                       (queue.cc)
 *   Next0             Dequeuer::Next with a timeout of 0    (dequeuer.cc)
 *   StopLocked        Dequeuer::StopLocked                  (dequeuer.cc)
 *   OnCancel          Dequeuer::OnCancel, run by CancelToken::Fire (its
 *                     CancelToken::EndRun before it delivers)
 *   Notify            Dequeuer::Notify (callback, then the bookkeeping)
 *   Free              Dequeuer::Free (drop owed notifications, wait for
 *                     callbacks running elsewhere, or defer)
 *   FinishFree        Dequeuer::FinishFree (Unregister of the cancel watch)
 *
 * Every `atomic { }` is a critical section under Queue::mu_ or one atomic
 * instruction; the rest interleaves freely. Each process is a thread. The
 * notifications a thread decides under the lock (PendingWake.notify) are
 * counted in its `pend` and delivered after the lock (DeliverNotifies).
 *
 * Two hosts each own one armed dequeuer of the queue. Host 0 arms once;
 * host 1 arms up to MAXROUND times, and between arms may collect its slot
 * and leave it lent, so that one stop gives back two slots at once.
 * Dequeuer 1's cancellation token may fire at any time (dequeuer 0's too
 * with CANCEL0=1). A host waits for its notification, or gives up at once,
 * or when nothing else can happen (spin's `timeout`, standing for the
 * host's own timeout), and then may free its dequeuer while notifications
 * are in flight on other threads.
 *
 * The host's callback may, nondeterministically, free its own dequeuer or
 * free the other one (the two race for one request and the first to fire
 * frees the loser: `resolved` is the host's flag that picks one winner; two
 * callbacks that free each other's dequeuers at once would each wait for
 * the other, as the header warns). Whoever frees a dequeuer first claims it
 * (`claimed`), as a host's own bookkeeping would, and what nobody freed is
 * freed at the end.
 *
 * With the free of before the fix (it waited until every notification
 * decided for the dequeuer was delivered), spin finds the thread that
 * sleeps forever in regress_free_owed_notification: an invalid end state
 * at depth 152.
 *
 * Properties checked:
 *   - no use after free: nothing touches a dequeuer after FinishFree
 *     (assertions in every step that reads one);
 *   - FinishFree runs once, with no slot held, no notification owed and no
 *     callback running;
 *   - no callback starts once Free was called;
 *   - every notification decided is delivered or dropped exactly once;
 *   - every slot ends exactly one way (acquired, ejected or discarded) and is
 *     closed once;
 *   - no deadlock: a thread freeing a dequeuer from a callback while it still
 *     owes that dequeuer a notification must not wait for itself (spin's
 *     "invalid end state"), and a host waiting for its notification gets it;
 *   - a free never waits for a notification to be delivered: no callback
 *     runs on a thread whose OnCancel a free waits for (in Unregister), so
 *     a callback may wait for a thread that frees a dequeuer (assertion in
 *     Notify; with OnCancel's EndRun after its delivery, as before the fix,
 *     it fails).
 *
 * Abstraction: a callback's own frees deliver what they owe after the
 * callback returns, not inside it (Promela inlines cannot recurse); the
 * order of delivery within a thread is by dequeuer number.
 */

#ifndef NT
#define NT 1 /* containers (one slot each) */
#endif
#define ND 2 /* hosts (one armed dequeuer each) */
#ifndef MAXROUND
#define MAXROUND 2 /* arms of host 1; host 0 arms once */
#endif
#ifndef CANCEL0
#define CANCEL0 0 /* 1: dequeuer 0's token fires too (dequeuer 1's always may) */
#endif

#define NONE 255
#define OTHER(d) (1 - (d))

/* Token states. */
#define FRESH 9
#define QUEUED 0
#define LENT 1
#define ACQUIRED 2
#define EJECTED 3
#define DISCARDED 4

/* Parker payloads. */
#define P_WAITING 0
#define P_HANDED 1

/* ---- tokens ---- */
byte state[NT];
bool closed[NT];
byte closes[NT], acquires[NT], ejects[NT], discards[NT];

/* ---- the queue's stack (top at depth-1) and waiters (FIFO) ---- */
byte stack[NT];
byte depth;
chan waiters = [ND] of { byte };

/* ---- dequeuers (guarded by the queue's lock unless noted) ---- */
bool enlisted[ND], armed[ND], cancelled[ND];
bool stopped[ND];       /* stopped_ (an atomic) */
byte lent[ND], handed[ND];
byte notifying[ND];     /* notifying_ */
byte running[ND];       /* running_ */
bool freeing[ND];       /* freeing_ */
bool free_deferred[ND]; /* free_deferred_ */
bool free_waiter[ND];   /* free_waiter_ != nullptr */
/* The freeing thread's parker word: payload | kSleepers. */
byte fw_payload[ND];
bool fw_sleepers[ND], fw_sleeping[ND];
/* The cancel watch: registered, and OnCancel running (until its EndRun). */
bool watch_reg[ND], in_oncancel[ND];
bool unreg_waits[ND]; /* a FinishFree waits in Unregister for that OnCancel */
bool freed[ND];

/* ---- the host's view ---- */
bool claimed[ND];  /* somebody decided to free it */
bool resolved;     /* a callback won the race and frees the other dequeuer */
byte notified[ND]; /* callbacks run */
byte decided[ND];  /* notifications decided */
byte dropped[ND];  /* notifications dropped because of a free */

byte containers_done, hosts_done, cancellers_done;

hidden byte wd, i, gt;

/* ------------------------------------------------------------ helpers */

inline Push(t) {
  stack[depth] = t;
  depth++
}

inline Unlink(t) {
  i = 0;
  do
  :: i < depth && stack[i] != t -> i++
  :: i < depth && stack[i] == t ->
     do
     :: i + 1 < depth -> stack[i] = stack[i + 1]; i++
     :: else -> break
     od;
     depth--;
     break
  :: i >= depth -> assert(false)
  od
}

inline CheckWaiters() {
  assert(depth == 0 || empty(waiters))
}

/* A notification for d, decided under the lock by this thread. */
inline Decide(d) {
  notifying[d]++;
  decided[d]++;
  pend[d]++
}

/* Queue::HandOrPush (under the lock). Only armed dequeuers wait here. */
inline HandOrPush(t) {
  if
  :: nempty(waiters) ->
     waiters?wd;
     assert(!freed[wd] && armed[wd] && handed[wd] == NONE);
     enlisted[wd] = false;
     state[t] = LENT;
     handed[wd] = t;
     armed[wd] = false;
     Decide(wd)
  :: empty(waiters) ->
     state[t] = QUEUED;
     Push(t)
  fi;
  CheckWaiters()
}

/* Queue::GiveBack (under the lock). */
inline GiveBack(slot) {
  if
  :: slot != NONE ->
     gt = slot;
     slot = NONE;
     if
     :: state[gt] == LENT -> state[gt] = QUEUED; HandOrPush(gt)
     :: else -> skip /* acquired or ejected: the reference is dropped */
     fi
  :: else -> skip
  fi
}

/* Dequeuer::StopLocked (under the lock); no blocked Next() in this model. */
inline StopLocked(d, notify) {
  if
  :: enlisted[d] -> waiters??eval(d); enlisted[d] = false
  :: else -> skip
  fi;
  GiveBack(lent[d]);
  GiveBack(handed[d]);
  if
  :: armed[d] ->
     armed[d] = false;
     if
     :: notify -> Decide(d)
     :: else -> skip
     fi
  :: else -> skip
  fi
}

/* Dequeuer::Arm (under the lock). */
inline ArmBody(d) {
  assert(!freed[d]);
  if
  :: armed[d] -> skip
  :: else ->
     if
     :: handed[d] != NONE && state[handed[d]] != LENT -> GiveBack(handed[d])
     :: else -> skip
     fi;
     if
     :: handed[d] != NONE -> Decide(d)
     :: handed[d] == NONE && (stopped[d] || cancelled[d]) -> Decide(d)
     :: handed[d] == NONE && !stopped[d] && !cancelled[d] && depth > 0 ->
        depth--;
        gt = stack[depth];
        state[gt] = LENT;
        handed[d] = gt;
        Decide(d)
     :: handed[d] == NONE && !stopped[d] && !cancelled[d] && depth == 0 ->
        armed[d] = true;
        if
        :: !enlisted[d] -> waiters!d; enlisted[d] = true
        :: else -> skip
        fi
     fi
  fi;
  CheckWaiters()
}

/* Dequeuer::Next with timeout 0 (under the lock): the token taken, or NONE. */
inline Next0Body(d, tok) {
  assert(!freed[d]);
  tok = NONE;
  GiveBack(lent[d]);
  if
  :: handed[d] != NONE && state[handed[d]] == LENT ->
     lent[d] = handed[d];
     handed[d] = NONE;
     tok = lent[d]
  :: handed[d] != NONE && state[handed[d]] != LENT -> GiveBack(handed[d])
  :: else -> skip
  fi;
  if
  :: tok == NONE && !stopped[d] && !cancelled[d] && depth > 0 ->
     depth--;
     tok = stack[depth];
     state[tok] = LENT;
     lent[d] = tok
  :: else -> skip
  fi;
  CheckWaiters()
}

/* The slot is closed (the close callback ran once). */
inline RunClose(t) {
  atomic { assert(!closed[t]); closes[t]++; closed[t] = true }
}

/* Token::Acquire + Token::Close by whoever holds a reference. */
inline AcquireAndClose(t) {
  atomic {
    if
    :: state[t] == LENT || state[t] == QUEUED ->
       if
       :: state[t] == QUEUED -> Unlink(t)
       :: else -> skip
       fi;
       assert(acquires[t] + ejects[t] + discards[t] == 0);
       state[t] = ACQUIRED;
       acquires[t]++;
       ok = true
    :: else -> ok = false
    fi
  };
  if
  :: ok -> RunClose(t)
  :: else -> skip
  fi
}

/* Dequeuer::FinishFree; `here` is the dequeuer whose OnCancel this thread runs. */
inline FinishFree(x) {
  atomic {
    assert(!freed[x] && !enlisted[x] && !armed[x]);
    assert(lent[x] == NONE && handed[x] == NONE);
    assert(notifying[x] == 0 && running[x] == 0 && !free_waiter[x]);
    watch_reg[x] = false
  };
  /* CancelToken::Unregister: waits for a running OnCancel (until its
   * EndRun), unless it is ours. */
  atomic { unreg_waits[x] = here != x && in_oncancel[x] };
  (here == x || !in_oncancel[x]);
  unreg_waits[x] = false;
  freed[x] = true
}

/* BlockOn(kCallback) on the freeing thread's parker: until not WAITING. */
inline FreeBlockOn(x) {
  do
  :: atomic { lp = fw_payload[x]; ls = fw_sleepers[x] };
     if
     :: lp != P_WAITING -> lp = 0; ls = false; break
     :: else ->
        ok = true;
        if
        :: !ls ->
           atomic {
             if
             :: fw_payload[x] == lp && !fw_sleepers[x] -> fw_sleepers[x] = true; ls = true
             :: else -> ok = false
             fi
           }
        :: else -> skip
        fi;
        if
        :: ok ->
           atomic {
             if
             :: fw_payload[x] == lp && fw_sleepers[x] == ls -> fw_sleeping[x] = true
             :: else -> skip
             fi
           };
           !fw_sleeping[x] /* asleep until FutexWakeAll */
        :: else -> skip
        fi
     fi
  od
}

/*
 * Dequeuer::Free(x). `own`: called from x's own callback on this thread.
 * What its StopLocked decides for others is delivered by the caller.
 */
inline Free(x, own) {
  stopped[x] = true;
  do
  :: atomic {
       !own && running[x] > 0 ->
       assert(!freed[x]);
       freeing[x] = true;
       fw_payload[x] = P_WAITING; /* SetPayload clears kSleepers */
       fw_sleepers[x] = false;
       free_waiter[x] = true
     };
     FreeBlockOn(x)
  :: atomic {
       own || running[x] == 0 ->
       assert(!freed[x]);
       freeing[x] = true;
       StopLocked(x, false);
       dfr = notifying[x] > 0;
       free_deferred[x] = dfr;
       CheckWaiters()
     };
     break
  od;
  if
  :: !dfr -> FinishFree(x)
  :: else -> skip
  fi;
  dfr = false
}

/* The host's callback for d: nothing, free d, or free the other dequeuer. */
inline Callback(d) {
  notified[d]++;
  if
  :: true -> skip
  :: atomic { !claimed[d] -> claimed[d] = true }; Free(d, true)
  :: atomic { !resolved && !claimed[OTHER(d)] -> resolved = true; claimed[OTHER(d)] = true };
     Free(OTHER(d), false)
  fi
}

/* Dequeuer::Notify(d), on the thread that decided it. */
inline Notify(d) {
  atomic {
    assert(!freed[d] && notifying[d] > 0);
    assert(here == NONE || !unreg_waits[here]);
    deliver = !freeing[d];
    if
    :: deliver -> running[d]++
    :: else -> dropped[d]++
    fi
  };
  if
  :: deliver -> Callback(d)
  :: else -> skip
  fi;
  atomic {
    assert(!freed[d]);
    if
    :: deliver -> running[d]--
    :: else -> skip
    fi;
    notifying[d]--;
    fin = free_deferred[d] && notifying[d] == 0;
    if
    :: running[d] == 0 && free_waiter[d] ->
       fw_payload[d] = P_HANDED;
       wk = fw_sleepers[d];
       fw_sleepers[d] = false;
       free_waiter[d] = false
    :: else -> wk = false
    fi
  };
  if
  :: wk -> fw_sleeping[d] = false; wk = false
  :: else -> skip
  fi;
  if
  :: fin -> FinishFree(d); fin = false
  :: else -> skip
  fi;
  deliver = false
}

/* PendingWake::Deliver for each notification this thread owes. */
inline DeliverNotifies() {
  do
  :: pend[0] > 0 -> pend[0]--; Notify(0)
  :: pend[0] == 0 && pend[1] > 0 -> pend[1]--; Notify(1)
  :: pend[0] == 0 && pend[1] == 0 -> break
  od
}

/* Locals every thread needs for the inlines above. */
#define THREAD_LOCALS \
  byte pend[ND]; \
  byte lp, here = NONE; \
  bool ls, ok, dfr, deliver, fin, wk

/* ---------------------------------------------------------- processes */

proctype Container(byte t) {
  THREAD_LOCALS;
  atomic { HandOrPush(t) }; /* slotq_queue_slot */
  DeliverNotifies();
  if
  :: true -> /* slotq_eject at its idle timeout */
     atomic {
       if
       :: state[t] == QUEUED || state[t] == LENT ->
          if
          :: state[t] == QUEUED -> Unlink(t)
          :: else -> skip
          fi;
          state[t] = EJECTED;
          ejects[t]++;
          ok = true
       :: else -> ok = false
       fi
     };
     if
     :: ok -> RunClose(t)
     :: else -> skip
     fi
  :: true -> skip /* served, or discarded at shutdown */
  fi;
  containers_done++
}

proctype Host(byte d) {
  THREAD_LOCALS;
  byte seen, round, tok;
  bool gone;
  do
  :: (d == 1 && round < MAXROUND) || (d == 0 && round < 1) ->
     round++;
     atomic {
       if
       :: claimed[d] -> gone = true
       :: else -> ArmBody(d)
       fi
     };
     DeliverNotifies();
     if
     :: gone -> break
     :: else -> skip
     fi;
     if
     :: (notified[d] > seen || claimed[d]) -> /* the notification came */
        seen = notified[d];
        atomic {
          if
          :: claimed[d] -> gone = true
          :: else -> Next0Body(d, tok)
          fi
        };
        DeliverNotifies();
        if
        :: gone -> break
        :: else -> skip
        fi;
        if
        :: tok != NONE -> AcquireAndClose(tok)
        :: tok != NONE -> skip /* leave it lent: the next call or the free gives it back */
        :: tok == NONE -> skip
        fi
     :: true -> break /* stop waiting: free it with notifications in flight */
     :: timeout -> break /* the host's own timeout, once nothing else can happen */
     fi
  :: else -> break
  od;
  if
  :: atomic { !claimed[d] -> claimed[d] = true };
     Free(d, false);
     DeliverNotifies()
  :: true -> skip /* leave it to a callback or to the end */
  fi;
  hosts_done++
}

/* Fires d's cancellation token at some point: OnCancel stops d and notifies. */
proctype Canceller(byte d) {
  THREAD_LOCALS;
  if
  :: true -> skip
  :: containers_done == NT -> skip
  fi;
  cancelled[d] = true;
  atomic {
    if
    :: watch_reg[d] -> in_oncancel[d] = true; here = d
    :: else -> skip
    fi
  };
  if
  :: here == d ->
     atomic { assert(!freed[d]); StopLocked(d, true); CheckWaiters() };
     /* CancelToken::EndRun: done with d, a free need not wait any more. */
     atomic { in_oncancel[d] = false; here = NONE };
     DeliverNotifies() /* still inside the cancel callback, as in OnCancel */
  :: else -> skip
  fi;
  cancellers_done++
}

/* The end: free what nobody freed, shut the queue down, check. */
proctype Final() {
  THREAD_LOCALS;
  byte d, t;
  (containers_done == NT && hosts_done == ND && cancellers_done == ND);
  d = 0;
  do
  :: d < ND ->
     if
     :: atomic { !claimed[d] -> claimed[d] = true }; Free(d, false); DeliverNotifies()
     :: else -> skip
     fi;
     d++
  :: else -> break
  od;
  /* A dequeuer freed with a notification owed completes when it is delivered. */
  (freed[0] && freed[1]);
  atomic {
    assert(empty(waiters));
    do
    :: depth > 0 -> depth--; t = stack[depth]; state[t] = DISCARDED; discards[t]++
    :: else -> break
    od
  };
  t = 0;
  do
  :: t < NT ->
     if
     :: state[t] == DISCARDED -> RunClose(t)
     :: else -> skip
     fi;
     assert(acquires[t] + ejects[t] + discards[t] == 1);
     assert(closes[t] == 1);
     t++
  :: else -> break
  od;
  d = 0;
  do
  :: d < ND ->
     assert(decided[d] == notified[d] + dropped[d]);
     assert(notifying[d] == 0 && running[d] == 0);
     d++
  :: else -> break
  od
}

init {
  atomic {
    i = 0;
    do
    :: i < NT -> state[i] = FRESH; i++
    :: else -> break
    od;
    i = 0;
    do
    :: i < ND -> lent[i] = NONE; handed[i] = NONE; watch_reg[i] = true; i++
    :: else -> break
    od;
    i = 0;
    do
    :: i < NT -> run Container(i); i++
    :: else -> break
    od;
    run Host(0);
    run Host(1);
    if
    :: CANCEL0 -> run Canceller(0)
    :: else -> cancellers_done++
    fi;
    run Canceller(1);
    run Final()
  }
}
