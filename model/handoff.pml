/*
 * handoff.pml: a Promela model of libslotq's slot handoff, checked by
 * model/check.sh with spin.
 *
 * What it models (one queue, NT containers with one slot each, ND callers
 * with one dequeuer each, a canceller and a stopper), at the granularity of
 * the library's atomic steps: every `atomic { }` below is either a critical
 * section under Queue::mu_ or one atomic instruction (a CAS, a fetch_add, a
 * futex call's value check). Code outside `atomic` interleaves freely.
 *
 *   model step                  source (src/)
 *   --------------------------  ------------------------------------------
 *   HandOrPush                  Queue::HandOrPush        (queue.cc)
 *   GiveBack                    Queue::GiveBack          (queue.cc; was ReturnLent)
 *   QueueSlot                   Queue::QueueSlot         (queue.cc)
 *   Eject                       Queue::Eject             (queue.cc)
 *   Acquire                     Token::Acquire + Queue::AcquireQueued
 *   RunClose                    Token::RunClose          (token.cc)
 *   Next                        Dequeuer::Next           (dequeuer.cc)
 *   StopLocked / Stop           Dequeuer::StopLocked / Dequeuer::Stop
 *   OnCancel                    Dequeuer::OnCancel (the dequeuer's cancel watch)
 *   FreeDeq                     Dequeuer::Free / FinishFree
 *   Shutdown                    Queue::Shutdown (last handle dropped)
 *   ParkerBlockOn, TokenBlockOn BlockOn (wait.h) on a Parker word / a token word
 *   FutexWait, FutexWakeAll     futex.h (value check + sleep; wake all sleepers)
 *   SetPayload + PendingWake    wait.h / queue.h: change under the lock, wake after it
 *
 * Futex words are modelled field by field: a payload, the kSleepers bit and
 * (for parkers) the epoch that cancellation bumps. FutexWait sleeps only if
 * the whole word still equals the value the waiter read, exactly like the
 * kernel, so a wake lost between a waiter's last check and its sleep shows up
 * as a process blocked forever (spin's "invalid end state").
 *
 * Properties checked:
 *   - a token is never handed to two dequeuers, never acquired twice, never
 *     acquired after an eject (assertions in Acquire/HandOrPush and at the end);
 *   - every token ends exactly one way (acquired, ejected or discarded) and
 *     its close callback runs exactly once (assertions in Final);
 *   - a dequeuer is in the waiters list only while the stack is empty;
 *   - a stopped (or cancelled) dequeuer holds no lent token once the stop
 *     returns (assertion in StopLocked);
 *   - no lost wakeup: with TIMEOUTS=0 the only way out of a blocking wait is
 *     a handoff, a stop or a cancellation, so a lost wake leaves a process
 *     blocked and spin reports an invalid end state.
 *
 * Abstractions: LIFO order is kept exactly; latencies, counters, the manager
 * and event-driven (armed) dequeuers are left out (armed.pml models them);
 * a caller makes at most MAXNEXT calls to Next; the TIMEOUTS=1 run lets any
 * wait time out at any moment (the container's idle timeout is always
 * nondeterministic).
 */

#ifndef NT
#define NT 2 /* containers (one slot each) */
#endif
#ifndef ND
#define ND 2 /* callers (one dequeuer each) */
#endif
#ifndef TIMEOUTS
#define TIMEOUTS 0 /* 1: waits of callers may time out nondeterministically */
#endif
#ifndef CANCELLERS
#define CANCELLERS 1 /* how many dequeuers get a canceller (the first ones) */
#endif
#define MAXNEXT 2

#define NONE 255

/* Token states (slotq_token_state) plus FRESH for "not queued yet". */
#define FRESH 9
#define QUEUED 0
#define LENT 1
#define ACQUIRED 2
#define EJECTED 3
#define DISCARDED 4

/* Parker payloads (dequeuer.h). */
#define P_WAITING 0
#define P_HANDED 1
#define P_STOPPED 2

/* Status codes. */
#define RC_OK 0
#define RC_TIMEDOUT 3
#define RC_CANCELED 4
#define RC_STOPPED 5
#define RC_GONE 6
#define RC_BLOCK 99

/* ---- tokens: Token::word = state | kClosing | kClosed | kSleepers ---- */
byte state[NT];
bool closing[NT];
bool closed[NT];
bool tk_sleepers[NT];
bool tk_sleeping[NT]; /* the container sleeps in FutexWait on its token */
byte closes[NT], acquires[NT], ejects[NT], discards[NT];

/* ---- the queue's stack (top at depth-1) and waiters (FIFO) ---- */
byte stack[NT];
byte depth;
chan waiters = [ND] of { byte };

/* ---- dequeuers ---- */
bool enlisted[ND], stopped[ND], cancelled[ND], has_parker[ND], freed[ND];
byte lent[ND], handed[ND];
/* Parker word: payload | kSleepers | epoch (mod 4). */
byte pk_payload[ND];
bool pk_sleepers[ND];
byte pk_epoch[ND];
bool pk_sleeping[ND];

byte containers_released; /* containers that dropped their queue handle */

/* Scratch variables used only inside atomic sections: kept out of the state. */
hidden byte wd, i, k, gt;
byte callers_done;
bool shut_down;

/* ------------------------------------------------------------ helpers */

inline Push(t) {
  stack[depth] = t;
  depth++
}

/* Queue::Unlink: take t out of the stack wherever it is. */
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
  :: i >= depth -> assert(false) /* not on the stack */
  od
}

/* Invariant: a dequeuer waits in the list only while no slot is idle. */
inline CheckWaiters() {
  assert(depth == 0 || empty(waiters))
}

/*
 * Queue::HandOrPush (under mu_): give t to the longest-waiting dequeuer, or
 * push it. A wake for that dequeuer's parker is decided here and delivered by
 * the caller after the lock (`wake_d`).
 */
inline HandOrPush(t) {
  if
  :: nempty(waiters) ->
     waiters?wd;
     enlisted[wd] = false;
     assert(handed[wd] == NONE && lent[wd] != t);
     state[t] = LENT; /* SetStateKeepSleepers */
     handed[wd] = t;
     if
     :: has_parker[wd] ->
        pk_payload[wd] = P_HANDED;
        if
        :: pk_sleepers[wd] -> pk_sleepers[wd] = false; wake_d[wd] = true
        :: else -> skip
        fi
     :: else -> skip
     fi
  :: empty(waiters) ->
     state[t] = QUEUED;
     Push(t)
  fi;
  CheckWaiters()
}

/* Queue::GiveBack (under mu_): a token we hold goes back unless it is final. */
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

inline FutexWakeAllParker(d) {
  pk_sleeping[d] = false
}

/* PendingWake::Deliver for every wake decided under the lock. */
inline DeliverWakes() {
  atomic {
    k = 0;
    do
    :: k < ND ->
       if
       :: wake_d[k] -> wake_d[k] = false; FutexWakeAllParker(k)
       :: else -> skip
       fi;
       k++
    :: else -> break
    od
  }
}

/*
 * BlockOn on d's parker word: until the payload is not WAITING, the dequeuer's
 * token fires, or (TIMEOUTS) the deadline passes.
 */
inline ParkerBlockOn(d, brc) {
  do
  :: atomic { lp = pk_payload[d]; ls = pk_sleepers[d]; le = pk_epoch[d] };
     if
     :: lp != P_WAITING -> brc = RC_OK; lp = 0; ls = 0; le = 0; break
     :: lp == P_WAITING && cancelled[d] -> brc = RC_CANCELED; ls = 0; le = 0; break
     :: lp == P_WAITING && !cancelled[d] && TIMEOUTS -> brc = RC_TIMEDOUT; ls = 0; le = 0; break
     :: lp == P_WAITING && !cancelled[d] ->
        cas_ok = true;
        if
        :: !ls ->
           atomic {
             if
             :: pk_payload[d] == lp && !pk_sleepers[d] && pk_epoch[d] == le ->
                pk_sleepers[d] = true; ls = true
             :: else -> cas_ok = false
             fi
           }
        :: else -> skip
        fi;
        if
        :: cas_ok ->
           /* FutexWait(word, v): sleeps only if the word is still v. */
           atomic {
             if
             :: pk_payload[d] == lp && pk_sleepers[d] == ls && pk_epoch[d] == le ->
                pk_sleeping[d] = true
             :: else -> skip
             fi
           };
           if
           :: !pk_sleeping[d] -> skip /* FutexWakeAll */
           :: TIMEOUTS -> pk_sleeping[d] = false /* FutexWait's own deadline */
           fi
        :: else -> skip
        fi
     fi
  od
}

/* BlockOn on a token's word (slotq_token_wait / slotq_token_wait_closed). */
inline TokenBlockOn(t, until_closed, may_time_out, brc) {
  do
  :: atomic { ts = state[t]; tcg = closing[t]; tcd = closed[t]; ls = tk_sleepers[t] };
     if
     :: (until_closed && tcd) || (!until_closed && (ts == ACQUIRED || (ts > ACQUIRED && tcd))) ->
        brc = RC_OK; ts = 0; tcg = 0; tcd = 0; ls = 0; break
     :: else ->
        if
        :: may_time_out -> brc = RC_TIMEDOUT; ts = 0; tcg = 0; tcd = 0; ls = 0; break
        :: true ->
           cas_ok = true;
           if
           :: !ls ->
              atomic {
                if
                :: state[t] == ts && closing[t] == tcg && closed[t] == tcd && !tk_sleepers[t] ->
                   tk_sleepers[t] = true; ls = true
                :: else -> cas_ok = false
                fi
              }
           :: else -> skip
           fi;
           if
           :: cas_ok ->
              atomic {
                if
                :: state[t] == ts && closing[t] == tcg && closed[t] == tcd && tk_sleepers[t] == ls ->
                   tk_sleeping[t] = true
                :: else -> skip
                fi
              };
              if
              :: !tk_sleeping[t] -> skip /* FutexWakeAll */
              :: may_time_out -> tk_sleeping[t] = false /* FutexWait's own deadline */
              fi
           :: else -> skip
           fi
        fi
     fi
  od
}

/* Token::RunClose: the close callback, then kClosed, then wake the trigger. */
inline RunClose(t) {
  atomic {
    assert(closing[t] && !closed[t]);
    closes[t]++;
    closed[t] = true; /* SetPayload(kClosed) clears kSleepers */
    wake_t = tk_sleepers[t];
    tk_sleepers[t] = false
  };
  if
  :: wake_t -> tk_sleeping[t] = false; wake_t = false /* FutexWakeAll */
  :: else -> skip
  fi
}

/*
 * Token::Acquire: LENT -> ACQUIRED by a lock-free CAS, or QUEUED -> ACQUIRED
 * under the lock (AcquireQueued). Both are single atomic steps here.
 */
inline Acquire(t, arc) {
  atomic {
    if
    :: state[t] == LENT || state[t] == QUEUED ->
       assert(ejects[t] == 0 && acquires[t] == 0 && discards[t] == 0);
       if
       :: state[t] == QUEUED -> Unlink(t)
       :: else -> skip
       fi;
       state[t] = ACQUIRED;
       acquires[t]++;
       wake_t = tk_sleepers[t];
       tk_sleepers[t] = false;
       arc = RC_OK
    :: else -> arc = RC_GONE
    fi
  };
  if
  :: arc == RC_OK && wake_t -> tk_sleeping[t] = false; wake_t = false
  :: else -> skip
  fi
}

/* Dequeuer::StopLocked (under mu_). */
inline StopLocked(d, by_cancel) {
  if
  :: enlisted[d] ->
     if
     :: !has_parker[d] -> waiters??eval(d); enlisted[d] = false
     :: has_parker[d] && !by_cancel ->
        waiters??eval(d);
        enlisted[d] = false;
        pk_payload[d] = P_STOPPED;
        if
        :: pk_sleepers[d] -> pk_sleepers[d] = false; wake_d[d] = true
        :: else -> skip
        fi
     :: else -> skip /* a cancelled Next() leaves the list itself */
     fi
  :: else -> skip
  fi;
  GiveBack(lent[d]);
  if
  :: !has_parker[d] -> GiveBack(handed[d])
  :: else -> skip
  fi;
  /* slotq_dequeuer_stop(): a lent, unacquired token goes back at once. */
  assert(lent[d] == NONE && (has_parker[d] || handed[d] == NONE))
}

/* Dequeuer::Next. */
inline Next(d, rc, tok) {
  atomic {
    tok = NONE;
    GiveBack(lent[d]);
    if
    :: stopped[d] -> rc = RC_STOPPED
    :: !stopped[d] && cancelled[d] -> rc = RC_CANCELED
    :: !stopped[d] && !cancelled[d] && depth > 0 ->
       depth--;
       tok = stack[depth];
       state[tok] = LENT;
       lent[d] = tok;
       rc = RC_OK
    :: !stopped[d] && !cancelled[d] && depth == 0 ->
       pk_payload[d] = P_WAITING;
       pk_sleepers[d] = false;
       has_parker[d] = true;
       if
       :: !enlisted[d] -> waiters!d; enlisted[d] = true
       :: else -> skip
       fi;
       rc = RC_BLOCK
    fi;
    CheckWaiters()
  };
  DeliverWakes();
  if
  :: rc == RC_BLOCK ->
     ParkerBlockOn(d, brc);
     atomic {
       has_parker[d] = false;
       if
       :: enlisted[d] -> waiters??eval(d); enlisted[d] = false; rc = brc
       :: !enlisted[d] && handed[d] == NONE ->
          if
          :: brc == RC_CANCELED -> rc = RC_CANCELED
          :: else -> rc = RC_STOPPED
          fi
       :: !enlisted[d] && handed[d] != NONE && brc == RC_CANCELED ->
          GiveBack(handed[d]);
          rc = RC_CANCELED
       :: !enlisted[d] && handed[d] != NONE && brc != RC_CANCELED ->
          lent[d] = handed[d];
          handed[d] = NONE;
          tok = lent[d];
          rc = RC_OK
       fi;
       CheckWaiters()
     };
     DeliverWakes()
  :: else -> skip
  fi
}

/* ---------------------------------------------------------- processes */

proctype Container(byte t) {
  byte ts, brc;
  bool wake_d[ND];
  bool tcg, tcd, ls, cas_ok, wake_t, abandoned;

  /* QueueSlot */
  atomic { HandOrPush(t) };
  DeliverWakes();
  /* Wait for the trigger; the idle timeout may end the wait at any time. */
  TokenBlockOn(t, false, true, brc);
  if
  :: brc == RC_TIMEDOUT ->
     if
     :: true -> /* slotq_eject */
        atomic {
          if
          :: state[t] == QUEUED || state[t] == LENT ->
             if
             :: state[t] == QUEUED -> Unlink(t)
             :: else -> skip /* the dequeuer holding it drops it later */
             fi;
             state[t] = EJECTED;
             closing[t] = true;
             ejects[t]++;
             brc = RC_OK
          :: else -> brc = RC_GONE
          fi
        };
        if
        :: brc == RC_OK -> RunClose(t)
        :: else -> TokenBlockOn(t, false, false, brc) /* a caller acquired it */
        fi
     :: true -> /* abandon: drop the queue handle with the slot still queued */
        abandoned = true;
        containers_released++;
        TokenBlockOn(t, false, false, brc) /* acquired, or discarded at shutdown */
     fi
  :: else -> skip
  fi;
  if
  :: state[t] == ACQUIRED -> TokenBlockOn(t, true, false, brc) /* wait_closed */
  :: else -> assert(closed[t])
  fi;
  if
  :: !abandoned -> containers_released++
  :: else -> skip
  fi
}

proctype Caller(byte d) {
  byte tok, rc, brc, lp, le, ts, n, arc;
  bool wake_d[ND];
  bool ls, cas_ok, wake_t, tcg, tcd, do_stop;

  n = 0;
  do
  :: n < MAXNEXT ->
     n++;
     Next(d, rc, tok);
     if
     :: rc == RC_OK ->
        if
        :: true -> /* acquire and use it */
           Acquire(tok, arc);
           if
           :: arc == RC_OK ->
              /* slotq_token_close: claim kClosing once, run close. */
              atomic { assert(state[tok] == ACQUIRED && !closing[tok]); closing[tok] = true };
              RunClose(tok);
              break
           :: else -> skip /* ejected meanwhile */
           fi
        :: true -> skip /* leave it lent: Next() or Free() gives it back */
        fi
     :: rc == RC_TIMEDOUT -> skip
     :: rc == RC_STOPPED || rc == RC_CANCELED -> break
     fi
  :: else -> break
  od;
  /* FreeDeq: Stop() (stopped_.exchange, then StopLocked under the lock)... */
  atomic {
    if
    :: !stopped[d] -> stopped[d] = true; do_stop = true
    :: else -> do_stop = false
    fi
  };
  if
  :: do_stop ->
     atomic { StopLocked(d, false) };
     DeliverWakes()
  :: else -> skip
  fi;
  /* ...then FinishFree gives back what is still held. */
  atomic {
    GiveBack(lent[d]);
    GiveBack(handed[d]);
    freed[d] = true;
    CheckWaiters()
  };
  DeliverWakes();
  callers_done++
}

/* Fires a dequeuer's cancellation token at any moment, or never. */
proctype Canceller(byte d) {
  bool wake_d[ND];
  if
  :: true ->
     cancelled[d] = true; /* CancelToken::Fire: reason set */
     /* WakeOnCancel of a blocked Next(): bump the epoch, wake all. */
     atomic { pk_epoch[d] = (pk_epoch[d] + 1) % 4 };
     FutexWakeAllParker(d);
     /* The dequeuer's cancel watch (OnCancel): behave as stopped. */
     atomic {
       if
       :: !freed[d] -> StopLocked(d, true)
       :: else -> skip
       fi
     };
     DeliverWakes()
  :: true -> skip
  fi
}

/* Once every container let go of the queue, stops the dequeuers left waiting. */
proctype Stopper() {
  byte d;
  bool wake_d[ND];
  bool do_stop;
  containers_released == NT;
  d = 0;
  do
  :: d < ND ->
     atomic {
       if
       :: !stopped[d] && !freed[d] -> stopped[d] = true; do_stop = true
       :: else -> do_stop = false
       fi
     };
     if
     :: do_stop ->
        atomic { StopLocked(d, false) };
        DeliverWakes()
     :: else -> skip
     fi;
     d++
  :: else -> break
  od
}

/* The last handle goes: discard what is still idle, then check everything. */
proctype Final() {
  byte t;
  bool wake_t;
  (callers_done == ND && containers_released == NT);
  /* Queue::Shutdown: the idle slots are discarded, their close runs. */
  atomic {
    assert(empty(waiters));
    do
    :: depth > 0 ->
       depth--;
       t = stack[depth];
       state[t] = DISCARDED;
       closing[t] = true;
       discards[t]++
    :: else -> break
    od;
    shut_down = true
  };
  t = 0;
  do
  :: t < NT ->
     if
     :: state[t] == DISCARDED && !closed[t] -> RunClose(t)
     :: else -> skip
     fi;
     t++
  :: else -> break
  od;
  /* Every slot ended exactly one way, and closed exactly once (eventually). */
  t = 0;
  do
  :: t < NT ->
     assert(acquires[t] + ejects[t] + discards[t] == 1);
     assert(closes[t] == 1);
     assert(state[t] == ACQUIRED || state[t] == EJECTED || state[t] == DISCARDED);
     t++
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
    :: i < ND -> lent[i] = NONE; handed[i] = NONE; i++
    :: else -> break
    od;
    i = 0;
    do
    :: i < NT -> run Container(i); i++
    :: else -> break
    od;
    i = 0;
    do
    :: i < ND ->
       run Caller(i);
       if
       :: i < CANCELLERS -> run Canceller(i)
       :: else -> skip
       fi;
       i++
    :: else -> break
    od;
    run Stopper();
    run Final()
  }
}
