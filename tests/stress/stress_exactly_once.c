/*
 * Exactly-once stress test of the slot handoff.
 *
 * Containers (producer threads) offer slots through a manager's queues and
 * wait for their trigger; callers (consumer threads) get a queue from the
 * manager, wait for a slot through a dequeuer with random cancellations and
 * deadlines (blocking in slotq_dequeuer_next(), or armed: notified by a
 * callback on whichever thread hands them a slot, stops or cancels them,
 * then collecting without blocking), acquire it, run a call on it and close
 * it; chaos threads eject
 * random slots (also through the wrong queue), stop callers' dequeuers,
 * cancel their tokens, borrow slots without acquiring them, and churn the
 * manager with gets and deletes. Queues are deleted whenever they happen to be
 * idle, so containers keep ending up on queues nobody can reach any more.
 *
 * Every slot ever queued has a record. At the end the test checks that each
 * ended exactly one way (acquired by one caller, ejected, or discarded by the
 * library), that its close callback ran exactly once and its release callback
 * once, that no caller ever held an ejected or closed slot, that every
 * counter is back to zero and every queue idle and deletable. A watchdog
 * thread turns a hang into a failure with a dump of what each thread is doing.
 *
 * Usage: stress_exactly_once [SECONDS]   (default 6, or $SLOTQ_STRESS_SECONDS)
 * Other knobs: SLOTQ_STRESS_CONTAINERS, SLOTQ_STRESS_CALLERS, SLOTQ_STRESS_CHAOS,
 * SLOTQ_STRESS_MAX_SLOTS (operation bound), SLOTQ_STRESS_STUCK_SECONDS (how
 * long one call may block before the watchdog fails the test), SLOTQ_STRESS_SEED.
 * The run stops after SECONDS or after MAX_SLOTS slots, whichever comes first;
 * pass or fail never depends on how much was done in that time.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slotq.h"

/* ------------------------------------------------------------ configuration */

enum { kKeys = 3, kMaxThreads = 64 };

static double g_seconds = 6.0;
static int g_containers = 6;
static int g_callers = 6;
static int g_chaos = 2;
static size_t g_max_slots = 1000000;
static double g_stuck_seconds = 60.0;
static uint64_t g_seed = 0x5eed5eedULL;

static long env_long(const char *name, long def) {
  const char *v = getenv(name);
  if (v == NULL || *v == '\0') return def;
  return strtol(v, NULL, 10);
}

/* -------------------------------------------------------------- failures */

static atomic_int g_failures;

#define CHECK(cond, ...)                                              \
  do {                                                                \
    if (!(cond)) {                                                    \
      atomic_fetch_add(&g_failures, 1);                               \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                   \
      fputc('\n', stderr);                                            \
    }                                                                 \
  } while (0)

#define CHECK_RC(rc, want) \
  CHECK((rc) == (want), "got %s, want %s", slotq_status_name(rc), slotq_status_name(want))

/* ------------------------------------------------------------- randomness */

typedef struct rng {
  uint64_t s;
} rng;

static uint64_t rnd(rng *r) {
  uint64_t x = r->s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return r->s = x;
}

static uint32_t rnd_below(rng *r, uint32_t n) { return (uint32_t)(rnd(r) % n); }

/* --------------------------------------------------- per-thread bookkeeping */

typedef struct thread_info {
  char name[32];
  _Atomic(const char *) op; /* the call it is in, or the last one */
  _Atomic int64_t op_start; /* when that call began; 0 once it returned */
  atomic_uint_fast64_t ops;
  atomic_int done;
} thread_info;

static thread_info g_threads[kMaxThreads];
static atomic_int g_nthreads;

static thread_info *thread_info_new(const char *kind, int idx) {
  int i = atomic_fetch_add(&g_nthreads, 1);
  thread_info *t = &g_threads[i];
  snprintf(t->name, sizeof t->name, "%s-%d", kind, idx);
  atomic_store(&t->op, "start");
  return t;
}

static void op_begin(thread_info *t, const char *op) {
  atomic_store(&t->op, op);
  atomic_store(&t->op_start, slotq_now_ns());
}

static void op_end(thread_info *t) {
  atomic_store(&t->op_start, 0);
  atomic_fetch_add(&t->ops, 1);
}

static int op_done(thread_info *t, int rc) {
  op_end(t);
  return rc;
}

/* Runs one library call under the watchdog's eye; its value is the call's. */
#define OP(t, name, call) (op_begin((t), (name)), op_done((t), (call)))

/* ----------------------------------------------------------- slot records */

typedef struct slot_rec {
  atomic_int acquires; /* slotq_token_acquire() == OK */
  atomic_int ejects;   /* slotq_eject() == OK */
  atomic_int discards; /* the container saw SLOTQ_TOKEN_DISCARDED */
  atomic_int closes;   /* close callback runs */
  atomic_int releases; /* release callback runs */
  atomic_int execs;    /* exec callback runs */
  atomic_int bad;      /* violations seen inside callbacks */
  atomic_int acquirer; /* caller id + 1 */
} slot_rec;

static slot_rec *g_recs;
static atomic_size_t g_next_rec;

/* Operation counts. */
static atomic_uint_fast64_t n_queued, n_acquired, n_eject_container, n_eject_chaos, n_discarded,
    n_eject_wrong, n_eject_gone, n_acquire_gone, n_lent_unused, n_next_ok, n_next_timeout,
    n_next_cancel, n_next_stopped, n_exec_fail, n_gets, n_del_ok, n_del_busy, n_del_notfound,
    n_deq_started, n_chaos_stops, n_chaos_cancels, n_lurks, n_abandons, n_cb_fired, n_caller_gaveup,
    n_signals, n_armed_waits, n_notified;

#define COUNT(c) atomic_fetch_add(&(c), 1)

static int exec_cb(void *slot, slotq_cancel_t *cancel, void *arg) {
  slot_rec *r = (slot_rec *)slot;
  (void)cancel;
  atomic_fetch_add(&r->execs, 1);
  /* A caller runs a call only on a slot it holds: acquired, not ejected, open. */
  if (atomic_load(&r->acquires) != 1 || atomic_load(&r->ejects) != 0 ||
      atomic_load(&r->closes) != 0 || atomic_load(&r->discards) != 0) {
    atomic_fetch_add(&r->bad, 1);
  }
  return *(const int *)arg;
}

static int close_cb(void *slot) {
  slot_rec *r = (slot_rec *)slot;
  if (atomic_fetch_add(&r->closes, 1) != 0) atomic_fetch_add(&r->bad, 1);
  return 0;
}

static void release_cb(void *slot) {
  slot_rec *r = (slot_rec *)slot;
  if (atomic_fetch_add(&r->releases, 1) != 0) atomic_fetch_add(&r->bad, 1);
}

static const slotq_slot_ops g_ops = {exec_cb, close_cb, NULL, release_cb, NULL};

/* ---------------------------------------------------------- shared state */

static slotq_mgr_t *g_mgr;
static slotq_cancel_t *g_root; /* parent of every caller's token; fired at the end */
static atomic_int g_stop;
static int64_t g_start_ns;

static slotq_call g_calls[kKeys];
static slotq_kv g_cfg[kKeys][2];
static char g_app[kKeys][16];

/* What a container offers to chaos threads. */
typedef struct container {
  int id;
  thread_info *ti;
  pthread_t th;
  pthread_mutex_t mu;
  slotq_queue_t *q;   /* guarded by mu: published while the container holds it */
  slotq_token_t *tok; /* guarded by mu */
} container;

/* What a caller offers to chaos threads. */
typedef struct caller {
  int id;
  thread_info *ti;
  pthread_t th;
  pthread_mutex_t mu;
  slotq_dequeuer_t *deq;  /* guarded by mu */
  slotq_cancel_t *cancel; /* guarded by mu */
  /* Armed dequeuers: the notify callback (any thread) sets `notified`. */
  pthread_mutex_t nmu;
  pthread_cond_t ncv;
  int notified; /* guarded by nmu */
} caller;

typedef struct chaos {
  int id;
  thread_info *ti;
  pthread_t th;
} chaos;

static container *g_cont;
static caller *g_call;
static chaos *g_chaos_threads;

static int stopping(void) { return atomic_load(&g_stop) != 0; }

static void *watchdog_main(void *arg);

/* ------------------------------------------------------------- containers */

static void publish(container *c, slotq_queue_t *q, slotq_token_t *tok) {
  pthread_mutex_lock(&c->mu);
  c->q = q;
  c->tok = tok;
  pthread_mutex_unlock(&c->mu);
}

/* The queue of a random function, through the manager (entering Waiter),
 * or NULL when the get failed (a failure of the test, reported). */
static slotq_queue_t *get_random_queue(thread_info *ti, rng *r) {
  int k = (int)rnd_below(r, kKeys);
  slotq_queue_t *q = NULL;
  int rc = OP(ti, "slotq_mgr_get", slotq_mgr_get(g_mgr, &g_calls[k], &q, NULL));
  CHECK_RC(rc, SLOTQ_OK);
  if (rc != SLOTQ_OK) return NULL;
  COUNT(n_gets);
  return q;
}

/*
 * One container: starts on a queue of the manager, offers its slot again
 * after each use, and stops when an idle timeout ends in its own eject. Now
 * and then it abandons its queue instead: it deletes it from the manager
 * (only possible when idle) and drops its handle with the slot still queued,
 * so the library discards the slot when the last holder lets go.
 */
static void *container_main(void *arg) {
  container *c = (container *)arg;
  thread_info *ti = c->ti;
  rng r = {g_seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(c->id + 1))};
  while (!stopping()) {
    slotq_queue_t *q = get_random_queue(ti, &r);
    if (q == NULL) break;
    int rc;
    /* The launcher's part: Waiter -> Starter -> started. */
    CHECK_RC(slotq_queue_enter_state(q, SLOTQ_STARTER), SLOTQ_OK);
    CHECK_RC(slotq_queue_exit_state(q, SLOTQ_WAITER), SLOTQ_OK);
    CHECK_RC(slotq_queue_exit_state_latency(q, SLOTQ_STARTER, 1000 + rnd_below(&r, 1000)),
             SLOTQ_OK);
    int abandoned = 0, ended = 0;
    for (int round = 0; round < 64 && !ended && !stopping(); round++) {
      size_t idx = atomic_fetch_add(&g_next_rec, 1);
      if (idx >= g_max_slots) {
        atomic_store(&g_stop, 1); /* the operation bound */
        break;
      }
      slot_rec *rec = &g_recs[idx];
      slotq_token_t *tok = NULL;
      rc = OP(ti, "slotq_queue_slot", slotq_queue_slot(q, rec, &g_ops, &tok));
      CHECK_RC(rc, SLOTQ_OK);
      if (rc != SLOTQ_OK) {
        ended = 1;
        break;
      }
      COUNT(n_queued);
      publish(c, q, tok);
      int st = -1;
      int64_t idle_ns = 200000 + (int64_t)rnd_below(&r, 3000000);
      rc = OP(ti, "slotq_token_wait(idle)", slotq_token_wait(tok, idle_ns, NULL, &st));
      if (rc == SLOTQ_ETIMEDOUT) {
        if (rnd_below(&r, 16) == 0 &&
            OP(ti, "slotq_mgr_delete(abandon)", slotq_mgr_delete(g_mgr, q)) == SLOTQ_OK) {
          COUNT(n_del_ok);
          COUNT(n_abandons);
          publish(c, NULL, NULL);
          OP(ti, "slotq_queue_release(abandon)", (slotq_queue_release(q), 0));
          q = NULL;
          abandoned = 1;
          /* Acquired by a caller still holding the queue, or discarded. */
          rc = OP(ti, "slotq_token_wait(abandoned)",
                  slotq_token_wait(tok, SLOTQ_FOREVER, NULL, &st));
          CHECK_RC(rc, SLOTQ_OK);
        } else {
          rc = OP(ti, "slotq_eject", slotq_eject(q, tok));
          if (rc == SLOTQ_OK) {
            atomic_fetch_add(&rec->ejects, 1);
            COUNT(n_eject_container);
            CHECK(atomic_load(&rec->closes) == 1, "eject returned before close ran");
            ended = 1; /* the container stops */
            st = SLOTQ_TOKEN_EJECTED;
          } else {
            CHECK_RC(rc, SLOTQ_EGONE);
            /* A caller acquired it just now (serve it), or chaos ejected it. */
            rc = OP(ti, "slotq_token_wait(after EGONE)",
                    slotq_token_wait(tok, SLOTQ_FOREVER, NULL, &st));
            CHECK_RC(rc, SLOTQ_OK);
          }
        }
      } else {
        CHECK_RC(rc, SLOTQ_OK);
      }
      switch (st) {
        case SLOTQ_TOKEN_ACQUIRED:
          rc = OP(ti, "slotq_token_wait_closed", slotq_token_wait_closed(tok, SLOTQ_FOREVER, NULL));
          CHECK_RC(rc, SLOTQ_OK);
          CHECK(atomic_load(&rec->acquires) == 1, "slot %zu acquired %d times", idx,
                atomic_load(&rec->acquires));
          CHECK(atomic_load(&rec->closes) == 1, "slot %zu closed %d times", idx,
                atomic_load(&rec->closes));
          break;
        case SLOTQ_TOKEN_EJECTED:
          CHECK(atomic_load(&rec->closes) == 1, "ejected slot %zu closed %d times", idx,
                atomic_load(&rec->closes));
          /* By this container (ended) or by a chaos thread: final_checks()
           * matches it with exactly one successful slotq_eject(). */
          break;
        case SLOTQ_TOKEN_DISCARDED:
          CHECK(abandoned, "slot %zu discarded while its container held the queue", idx);
          atomic_fetch_add(&rec->discards, 1);
          COUNT(n_discarded);
          CHECK(atomic_load(&rec->closes) == 1, "discarded slot %zu closed %d times", idx,
                atomic_load(&rec->closes));
          ended = 1;
          break;
        default:
          CHECK(0, "container woke with token state %d", st);
          ended = 1;
      }
      publish(c, abandoned ? NULL : q, NULL);
      OP(ti, "slotq_token_release", (slotq_token_release(tok), 0));
      if (abandoned) ended = 1;
    }
    publish(c, NULL, NULL);
    if (q != NULL) OP(ti, "slotq_queue_release", (slotq_queue_release(q), 0));
  }
  atomic_store(&ti->done, 1);
  return NULL;
}

/* ---------------------------------------------------------------- callers */

static void fired_cb(void *arg) {
  (void)arg;
  COUNT(n_cb_fired);
}

static void notify_cb(void *arg) {
  caller *me = (caller *)arg;
  COUNT(n_notified);
  pthread_mutex_lock(&me->nmu);
  me->notified = 1;
  pthread_cond_signal(&me->ncv);
  pthread_mutex_unlock(&me->nmu);
}

/* An event-driven wait: arm, sleep until notified or `timeout` (at most
 * 5 ms: a call's own deadline does not notify an armed dequeuer), then
 * collect without blocking. The dequeuer may stay armed after a timeout; the
 * slot it is handed then goes back when it is stopped or freed. */
static int armed_next(caller *me, slotq_dequeuer_t *d, int64_t timeout, slotq_cancel_t *cc,
                      slotq_token_t **tk) {
  thread_info *ti = me->ti;
  COUNT(n_armed_waits);
  pthread_mutex_lock(&me->nmu);
  me->notified = 0;
  pthread_mutex_unlock(&me->nmu);
  int rc = OP(ti, "slotq_dequeuer_arm", slotq_dequeuer_arm(d));
  CHECK(rc == SLOTQ_OK || rc == SLOTQ_ESTOPPED, "arm: %s", slotq_status_name(rc));
  if (timeout == SLOTQ_FOREVER || timeout > 5000000) timeout = 5000000;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += (long)timeout;
  until.tv_sec += until.tv_nsec / 1000000000;
  until.tv_nsec %= 1000000000;
  op_begin(ti, "wait for the notification");
  pthread_mutex_lock(&me->nmu);
  while (!me->notified) {
    if (pthread_cond_timedwait(&me->ncv, &me->nmu, &until) != 0) break;
  }
  pthread_mutex_unlock(&me->nmu);
  op_end(ti);
  return OP(ti, "slotq_dequeuer_next", slotq_dequeuer_next(d, 0, cc, tk));
}

static void *caller_main(void *arg) {
  caller *me = (caller *)arg;
  thread_info *ti = me->ti;
  rng r = {g_seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(me->id + 101))};
  while (!stopping()) {
    slotq_queue_t *q = get_random_queue(ti, &r);
    if (q == NULL) break;
    int rc;
    int64_t t0 = slotq_now_ns();

    /* The dequeuer's own token: none, a child of the root, or a deadline. */
    slotq_cancel_t *dc = NULL;
    int has_deadline = 0;
    switch (rnd_below(&r, 3)) {
      case 1:
        CHECK_RC(slotq_cancel_create_child(g_root, &dc), SLOTQ_OK);
        break;
      case 2:
        CHECK_RC(slotq_cancel_create_deadline(
                     g_root, slotq_now_ns() + 1000000 + (int64_t)rnd_below(&r, 20000000), &dc),
                 SLOTQ_OK);
        has_deadline = 1;
        break;
      default:
        break;
    }
    slotq_cancel_reg_t *reg = NULL;
    if (dc != NULL && rnd_below(&r, 4) == 0) {
      CHECK_RC(slotq_cancel_on_cancel(dc, fired_cb, NULL, &reg), SLOTQ_OK);
    }
    slotq_dequeuer_t *d = NULL;
    rc = OP(ti, "slotq_start_dequeuer", slotq_start_dequeuer(q, dc, &d));
    CHECK_RC(rc, SLOTQ_OK);
    COUNT(n_deq_started);
    int armed = rnd_below(&r, 3) == 0;
    if (armed) CHECK_RC(slotq_dequeuer_set_notify(d, notify_cb, me), SLOTQ_OK);
    pthread_mutex_lock(&me->mu);
    me->deq = d;
    me->cancel = dc;
    pthread_mutex_unlock(&me->mu);

    slotq_token_t *held = NULL;
    for (int attempt = 0; attempt < 32 && held == NULL && !stopping(); attempt++) {
      slotq_cancel_t *cc = NULL;
      int call_deadline = 0;
      if (rnd_below(&r, 4) == 0) {
        CHECK_RC(slotq_cancel_create_deadline(
                     g_root, slotq_now_ns() + 500000 + (int64_t)rnd_below(&r, 5000000), &cc),
                 SLOTQ_OK);
        call_deadline = 1;
      }
      int64_t timeout;
      switch (rnd_below(&r, 5)) {
        case 0:
          timeout = 0;
          break;
        case 1:
          timeout = 100000;
          break;
        case 2:
          timeout = 1000000;
          break;
        case 3:
          timeout = 5000000;
          break;
        default:
          /* Forever only with a deadline somewhere, so that it ends. */
          timeout = (has_deadline || call_deadline) ? SLOTQ_FOREVER : 2000000;
      }
      slotq_token_t *tk = NULL;
      if (armed) {
        rc = armed_next(me, d, timeout, cc, &tk);
      } else {
        rc = OP(ti, "slotq_dequeuer_next", slotq_dequeuer_next(d, timeout, cc, &tk));
      }
      slotq_cancel_release(cc);
      if (rc == SLOTQ_OK) {
        COUNT(n_next_ok);
        CHECK(tk != NULL, "next returned OK without a token");
        if (tk == NULL) break;
        void *slot = NULL;
        CHECK_RC(slotq_token_slot(tk, &slot), SLOTQ_OK);
        slot_rec *rec = (slot_rec *)slot;
        if (rnd_below(&r, 8) == 0) {
          /* Borrow without acquiring: the next call (or free) gives it back. */
          COUNT(n_lent_unused);
          slotq_token_release(tk);
          continue;
        }
        rc = OP(ti, "slotq_token_acquire", slotq_token_acquire(tk));
        if (rc == SLOTQ_OK) {
          int prev = atomic_fetch_add(&rec->acquires, 1);
          CHECK(prev == 0, "slot acquired twice");
          atomic_store(&rec->acquirer, me->id + 1);
          COUNT(n_acquired);
          int st = -1, closed = -1;
          CHECK_RC(slotq_token_state_get(tk, &st, &closed), SLOTQ_OK);
          CHECK(st == SLOTQ_TOKEN_ACQUIRED && closed == 0, "acquired token in state %d closed %d",
                st, closed);
          CHECK(atomic_load(&rec->ejects) == 0, "caller holds an ejected slot");
          CHECK(atomic_load(&rec->closes) == 0, "caller holds a closed slot");
          held = tk;
        } else {
          CHECK_RC(rc, SLOTQ_EGONE);
          COUNT(n_acquire_gone);
          slotq_token_release(tk);
        }
      } else if (rc == SLOTQ_ETIMEDOUT) {
        COUNT(n_next_timeout);
      } else if (rc == SLOTQ_ECANCELED) {
        COUNT(n_next_cancel);
        break;
      } else if (rc == SLOTQ_ESTOPPED) {
        COUNT(n_next_stopped);
        break;
      } else {
        CHECK(0, "slotq_dequeuer_next: %s", slotq_status_name(rc));
        break;
      }
    }
    if (held == NULL) COUNT(n_caller_gaveup);
    /* Leave Waiter, drop the dequeuer (its lent token, if any, goes back). */
    rc = slotq_queue_exit_state_latency(q, SLOTQ_WAITER, (uint64_t)(slotq_now_ns() - t0));
    CHECK_RC(rc, SLOTQ_OK);
    pthread_mutex_lock(&me->mu);
    me->deq = NULL;
    me->cancel = NULL;
    pthread_mutex_unlock(&me->mu);
    if (rnd_below(&r, 2) == 0) {
      rc = OP(ti, "slotq_dequeuer_stop", slotq_dequeuer_stop(d));
      CHECK(rc == SLOTQ_OK || rc == SLOTQ_ESTOPPED, "stop: %s", slotq_status_name(rc));
    }
    OP(ti, "slotq_dequeuer_free", (slotq_dequeuer_free(d), 0));

    if (held != NULL) {
      int want = rnd_below(&r, 10) == 0 ? 42 : 0;
      int got = -1;
      rc = OP(ti, "slotq_token_exec", slotq_token_exec(held, NULL, &want, &got));
      CHECK_RC(rc, want == 0 ? SLOTQ_OK : SLOTQ_ECALLBACK);
      CHECK(got == want, "exec_rc %d, want %d", got, want);
      if (want != 0) COUNT(n_exec_fail);
      int close_rc = -1;
      rc = OP(ti, "slotq_token_close", slotq_token_close(held, &close_rc));
      CHECK_RC(rc, SLOTQ_OK);
      CHECK_RC(slotq_token_close(held, NULL), SLOTQ_EGONE);
      slotq_token_release(held);
    }
    if (reg != NULL) {
      int ran = -1, reason = -1;
      CHECK_RC(slotq_cancel_unregister(reg, &ran), SLOTQ_OK);
      CHECK_RC(slotq_cancel_reason(dc, &reason), SLOTQ_OK);
      CHECK(ran == 0 || reason != SLOTQ_OK, "callback ran on a token that did not fire");
    }
    if (rnd_below(&r, 4) == 0) {
      int needed = -1;
      CHECK_RC(slotq_queue_is_new_container_needed(q, &needed, NULL), SLOTQ_OK);
      CHECK(needed == 0 || needed == 1, "needed %d", needed);
    }
    if (rnd_below(&r, 8) == 0) {
      rc = OP(ti, "slotq_mgr_delete", slotq_mgr_delete(g_mgr, q));
      if (rc == SLOTQ_OK) {
        COUNT(n_del_ok);
      } else if (rc == SLOTQ_EBUSY) {
        COUNT(n_del_busy);
      } else {
        CHECK_RC(rc, SLOTQ_ENOTFOUND);
        COUNT(n_del_notfound);
      }
    }
    OP(ti, "slotq_queue_release", (slotq_queue_release(q), 0));
    slotq_cancel_release(dc);
  }
  atomic_store(&ti->done, 1);
  return NULL;
}

/* ------------------------------------------------------------------ chaos */

static void chaos_eject(rng *r, thread_info *ti) {
  container *a = &g_cont[rnd_below(r, (uint32_t)g_containers)];
  container *b = rnd_below(r, 8) == 0 ? &g_cont[rnd_below(r, (uint32_t)g_containers)] : a;
  slotq_token_t *tok = NULL;
  slotq_queue_t *tq = NULL, *q = NULL;
  pthread_mutex_lock(&a->mu);
  if (a->tok != NULL) {
    tok = a->tok;
    tq = a->q;
    slotq_token_retain(tok);
  }
  pthread_mutex_unlock(&a->mu);
  if (tok == NULL) return;
  pthread_mutex_lock(&b->mu);
  if (b->q != NULL) {
    q = b->q;
    slotq_queue_retain(q);
  }
  pthread_mutex_unlock(&b->mu);
  if (q != NULL) {
    void *slot = NULL;
    CHECK_RC(slotq_token_slot(tok, &slot), SLOTQ_OK);
    slot_rec *rec = (slot_rec *)slot;
    int rc = OP(ti, "slotq_eject(chaos)", slotq_eject(q, tok));
    if (q != tq) {
      CHECK_RC(rc, SLOTQ_EWRONGQUEUE);
      COUNT(n_eject_wrong);
    } else if (rc == SLOTQ_OK) {
      atomic_fetch_add(&rec->ejects, 1);
      COUNT(n_eject_chaos);
      CHECK(atomic_load(&rec->closes) == 1, "eject returned before close ran");
    } else {
      CHECK_RC(rc, SLOTQ_EGONE);
      COUNT(n_eject_gone);
    }
    slotq_queue_release(q);
  }
  slotq_token_release(tok);
}

static void chaos_stop(rng *r, thread_info *ti) {
  caller *c = &g_call[rnd_below(r, (uint32_t)g_callers)];
  pthread_mutex_lock(&c->mu);
  if (c->deq != NULL) {
    int rc = OP(ti, "slotq_dequeuer_stop(chaos)", slotq_dequeuer_stop(c->deq));
    CHECK(rc == SLOTQ_OK || rc == SLOTQ_ESTOPPED, "stop: %s", slotq_status_name(rc));
    COUNT(n_chaos_stops);
  }
  pthread_mutex_unlock(&c->mu);
}

static void chaos_cancel(rng *r, thread_info *ti) {
  caller *c = &g_call[rnd_below(r, (uint32_t)g_callers)];
  slotq_cancel_t *tok = NULL;
  pthread_mutex_lock(&c->mu);
  if (c->cancel != NULL) {
    tok = c->cancel;
    slotq_cancel_retain(tok);
  }
  pthread_mutex_unlock(&c->mu);
  if (tok == NULL) return;
  CHECK_RC(OP(ti, "slotq_cancel_cancel(chaos)", slotq_cancel_cancel(tok)), SLOTQ_OK);
  COUNT(n_chaos_cancels);
  slotq_cancel_release(tok);
}

/* Takes slots without acquiring them: they must come back to the queue. */
static void chaos_lurk(rng *r, thread_info *ti) {
  int k = (int)rnd_below(r, kKeys);
  slotq_queue_t *q = NULL;
  int rc = OP(ti, "slotq_mgr_get(lurk)", slotq_mgr_get(g_mgr, &g_calls[k], &q, NULL));
  CHECK_RC(rc, SLOTQ_OK);
  if (rc != SLOTQ_OK) return;
  COUNT(n_gets);
  slotq_dequeuer_t *d = NULL;
  CHECK_RC(slotq_start_dequeuer(q, NULL, &d), SLOTQ_OK);
  int n = 1 + (int)rnd_below(r, 3);
  for (int i = 0; i < n; i++) {
    slotq_token_t *tk = NULL;
    rc = OP(ti, "slotq_dequeuer_next(lurk)",
            slotq_dequeuer_next(d, rnd_below(r, 2) ? 0 : 500000, NULL, &tk));
    if (rc == SLOTQ_OK) {
      COUNT(n_lurks);
      int st = -1;
      CHECK_RC(slotq_token_state_get(tk, &st, NULL), SLOTQ_OK);
      /* A container may have ejected it, and a caller it was lent to
       * before may have acquired it: that caller's dequeuer was stopped or
       * cancelled, giving it back, between its next and its acquire
       * (slotq_dequeuer_stop()). Never idle or discarded: we are lent it,
       * and our handle keeps the queue. */
      CHECK(st == SLOTQ_TOKEN_LENT || st == SLOTQ_TOKEN_EJECTED || st == SLOTQ_TOKEN_ACQUIRED,
            "lent token in state %d", st);
      slotq_token_release(tk);
    } else {
      CHECK(rc == SLOTQ_ETIMEDOUT, "lurk next: %s", slotq_status_name(rc));
    }
  }
  if (rnd_below(r, 2) == 0) CHECK_RC(slotq_dequeuer_stop(d), SLOTQ_OK);
  CHECK_RC(slotq_queue_exit_state(q, SLOTQ_WAITER), SLOTQ_OK);
  OP(ti, "slotq_dequeuer_free(lurk)", (slotq_dequeuer_free(d), 0));
  OP(ti, "slotq_queue_release(lurk)", (slotq_queue_release(q), 0));
}

/* Gets and deletes racing with everyone else's gets. */
static void chaos_churn(rng *r, thread_info *ti) {
  int k = (int)rnd_below(r, kKeys);
  slotq_key key;
  slotq_queue_t *q = NULL;
  CHECK_RC(slotq_call_key(&g_calls[k], &key), SLOTQ_OK);
  int rc = OP(ti, "slotq_mgr_get_by_key", slotq_mgr_get_by_key(g_mgr, &key, &q, NULL));
  CHECK_RC(rc, SLOTQ_OK);
  if (rc != SLOTQ_OK) return;
  COUNT(n_gets);
  int sent = -1;
  CHECK_RC(slotq_queue_signal(q, &sent), SLOTQ_OK);
  rc = slotq_queue_wait_signal(q, 0, NULL);
  CHECK(rc == SLOTQ_OK || rc == SLOTQ_ETIMEDOUT, "wait_signal: %s", slotq_status_name(rc));
  COUNT(n_signals);
  CHECK_RC(slotq_queue_exit_state(q, SLOTQ_WAITER), SLOTQ_OK);
  rc = OP(ti, "slotq_mgr_delete(churn)", slotq_mgr_delete(g_mgr, q));
  if (rc == SLOTQ_OK) {
    COUNT(n_del_ok);
  } else if (rc == SLOTQ_EBUSY) {
    COUNT(n_del_busy);
  } else {
    CHECK_RC(rc, SLOTQ_ENOTFOUND);
    COUNT(n_del_notfound);
  }
  size_t count = 0;
  CHECK_RC(slotq_mgr_count(g_mgr, &count), SLOTQ_OK);
  CHECK(count <= kKeys, "manager holds %zu queues for %d keys", count, kKeys);
  OP(ti, "slotq_queue_release(churn)", (slotq_queue_release(q), 0));
}

static void *chaos_main(void *arg) {
  chaos *me = (chaos *)arg;
  thread_info *ti = me->ti;
  rng r = {g_seed ^ (0xa0761d6478bd642fULL * (uint64_t)(me->id + 1001))};
  while (!stopping()) {
    uint32_t pick = rnd_below(&r, 100);
    if (pick < 40) {
      chaos_eject(&r, ti);
    } else if (pick < 55) {
      chaos_stop(&r, ti);
    } else if (pick < 65) {
      chaos_cancel(&r, ti);
    } else if (pick < 90) {
      chaos_lurk(&r, ti);
    } else {
      chaos_churn(&r, ti);
    }
    op_end(ti);
    if (rnd_below(&r, 4) == 0) {
      struct timespec ts = {0, 50000};
      nanosleep(&ts, NULL);
    }
  }
  atomic_store(&ti->done, 1);
  return NULL;
}

/* --------------------------------------------------------------- watchdog */

static atomic_int g_all_joined;

static void dump_threads(const char *why) {
  int64_t now = slotq_now_ns();
  fprintf(stderr, "WATCHDOG: %s\n", why);
  int n = atomic_load(&g_nthreads);
  for (int i = 0; i < n; i++) {
    thread_info *t = &g_threads[i];
    int64_t since = atomic_load(&t->op_start);
    fprintf(stderr, "  %-14s %s  last op %-32s %s%.3f s  ops %" PRIuFAST64 "\n", t->name,
            atomic_load(&t->done) ? "done   " : "running", atomic_load(&t->op),
            since != 0 ? "blocked for " : "returned, ",
            since != 0 ? (double)(now - since) / 1e9 : 0.0, atomic_load(&t->ops));
  }
  fflush(stderr);
}

static void *watchdog_main(void *arg) {
  (void)arg;
  const int64_t stuck_ns = (int64_t)(g_stuck_seconds * 1e9);
  /* The whole run may take its duration plus time to wind down. */
  const int64_t hard_end = g_start_ns + (int64_t)(g_seconds * 1e9) + 2 * stuck_ns;
  while (!atomic_load(&g_all_joined)) {
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    int64_t now = slotq_now_ns();
    int n = atomic_load(&g_nthreads);
    for (int i = 0; i < n; i++) {
      int64_t since = atomic_load(&g_threads[i].op_start);
      if (since != 0 && now - since > stuck_ns) {
        char why[128];
        snprintf(why, sizeof why, "%s is stuck in %s", g_threads[i].name,
                 atomic_load(&g_threads[i].op));
        dump_threads(why);
        _exit(3);
      }
    }
    if (now > hard_end) {
      dump_threads("the run did not wind down in time");
      _exit(3);
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------- main */

static void make_calls(void) {
  for (int k = 0; k < kKeys; k++) {
    snprintf(g_app[k], sizeof g_app[k], "app%d", k);
    slotq_call *c = &g_calls[k];
    memset(c, 0, sizeof *c);
    c->app_name.ptr = g_app[k];
    c->app_name.len = strlen(g_app[k]);
    c->path.ptr = "/invoke";
    c->path.len = 7;
    c->image.ptr = "fn:latest";
    c->image.len = 9;
    c->format.ptr = "http";
    c->format.len = 4;
    c->timeout = 30;
    c->idle_timeout = 1;
    c->memory = 128;
    g_cfg[k][0].key.ptr = "B";
    g_cfg[k][0].key.len = 1;
    g_cfg[k][0].value.ptr = "2";
    g_cfg[k][0].value.len = 1;
    g_cfg[k][1].key.ptr = "A";
    g_cfg[k][1].key.len = 1;
    g_cfg[k][1].value.ptr = g_app[k];
    g_cfg[k][1].value.len = strlen(g_app[k]);
    c->config = g_cfg[k];
    c->config_len = 2;
  }
}

static void final_checks(size_t nslots) {
  /* Every queue of the manager: counters at zero, no idle slot, deletable. */
  for (int k = 0; k < kKeys; k++) {
    slotq_queue_t *q = NULL;
    int is_new = -1;
    CHECK_RC(slotq_mgr_get(g_mgr, &g_calls[k], &q, &is_new), SLOTQ_OK);
    if (q == NULL) continue;
    slotq_stats st;
    CHECK_RC(slotq_queue_stats(q, &st), SLOTQ_OK);
    CHECK(st.states[SLOTQ_RUNNER] == 0 && st.states[SLOTQ_STARTER] == 0 &&
              st.states[SLOTQ_WAITER] == 1,
          "key %d: runner %" PRIu64 " starter %" PRIu64 " waiter %" PRIu64 " (want 0 0 1)", k,
          st.states[SLOTQ_RUNNER], st.states[SLOTQ_STARTER], st.states[SLOTQ_WAITER]);
    CHECK_RC(slotq_queue_exit_state(q, SLOTQ_WAITER), SLOTQ_OK);
    int idle = -1;
    CHECK_RC(slotq_queue_is_idle(q, &idle), SLOTQ_OK);
    CHECK(idle == 1, "key %d not idle at the end", k);
    size_t len = 99;
    CHECK_RC(slotq_queue_len(q, &len), SLOTQ_OK);
    CHECK(len == 0, "key %d still has %zu idle slots", k, len);
    CHECK_RC(slotq_mgr_delete(g_mgr, q), SLOTQ_OK);
    slotq_queue_release(q);
  }
  size_t count = 99;
  CHECK_RC(slotq_mgr_count(g_mgr, &count), SLOTQ_OK);
  CHECK(count == 0, "manager still holds %zu queues", count);

  /* Every slot ever queued ended exactly one way. */
  size_t bad = 0;
  uint64_t acq = 0, ej = 0, disc = 0;
  for (size_t i = 0; i < nslots; i++) {
    slot_rec *r = &g_recs[i];
    int a = atomic_load(&r->acquires), e = atomic_load(&r->ejects), d = atomic_load(&r->discards),
        c = atomic_load(&r->closes), rl = atomic_load(&r->releases), x = atomic_load(&r->execs),
        b = atomic_load(&r->bad);
    acq += (uint64_t)a;
    ej += (uint64_t)e;
    disc += (uint64_t)d;
    int ok = a >= 0 && a <= 1 && e >= 0 && e <= 1 && d >= 0 && d <= 1 && a + e + d == 1 && c == 1 &&
             rl == 1 && b == 0 && x == a;
    if (!ok && bad++ < 20) {
      fprintf(stderr,
              "FAIL slot %zu: acquired %d ejected %d discarded %d closes %d releases %d execs %d "
              "violations %d\n",
              i, a, e, d, c, rl, x, b);
    }
  }
  CHECK(bad == 0, "%zu of %zu slots did not end exactly once", bad, nslots);
  CHECK(acq == atomic_load(&n_acquired), "acquires %" PRIu64 " vs counted", acq);
  CHECK(ej == atomic_load(&n_eject_container) + atomic_load(&n_eject_chaos), "ejects %" PRIu64, ej);
  CHECK(disc == atomic_load(&n_discarded), "discards %" PRIu64, disc);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *secs = argc > 1 ? argv[1] : getenv("SLOTQ_STRESS_SECONDS");
  if (secs != NULL && *secs != '\0') g_seconds = strtod(secs, NULL);
  if (g_seconds <= 0) g_seconds = 0.1;
  g_containers = (int)env_long("SLOTQ_STRESS_CONTAINERS", g_containers);
  g_callers = (int)env_long("SLOTQ_STRESS_CALLERS", g_callers);
  g_chaos = (int)env_long("SLOTQ_STRESS_CHAOS", g_chaos);
  g_max_slots = (size_t)env_long("SLOTQ_STRESS_MAX_SLOTS", (long)g_max_slots);
  g_stuck_seconds = (double)env_long("SLOTQ_STRESS_STUCK_SECONDS", (long)g_stuck_seconds);
  g_seed = (uint64_t)env_long("SLOTQ_STRESS_SEED", (long)time(NULL)) | 1;
  if (g_containers < 1 || g_callers < 1 || g_chaos < 0 ||
      g_containers + g_callers + g_chaos > kMaxThreads - 1 || g_max_slots < 1) {
    fprintf(stderr, "bad configuration\n");
    return 2;
  }
  printf(
      "stress_exactly_once: %.1f s, %d containers, %d callers, %d chaos, %d keys, "
      "max %zu slots, seed %" PRIu64 "\n",
      g_seconds, g_containers, g_callers, g_chaos, kKeys, g_max_slots, g_seed);

  g_recs = calloc(g_max_slots, sizeof *g_recs);
  g_cont = calloc((size_t)g_containers, sizeof *g_cont);
  g_call = calloc((size_t)g_callers, sizeof *g_call);
  g_chaos_threads = calloc((size_t)(g_chaos > 0 ? g_chaos : 1), sizeof *g_chaos_threads);
  if (g_recs == NULL || g_cont == NULL || g_call == NULL || g_chaos_threads == NULL) {
    fprintf(stderr, "out of memory\n");
    return 2;
  }
  make_calls();
  if (slotq_mgr_create(&g_mgr) != SLOTQ_OK || slotq_cancel_create(&g_root) != SLOTQ_OK) {
    fprintf(stderr, "setup failed\n");
    return 2;
  }
  g_start_ns = slotq_now_ns();
  thread_info *main_ti = thread_info_new("main", 0);
  pthread_t wd;
  if (pthread_create(&wd, NULL, watchdog_main, NULL) != 0) return 2;

  for (int i = 0; i < g_containers; i++) {
    g_cont[i].id = i;
    g_cont[i].ti = thread_info_new("container", i);
    pthread_mutex_init(&g_cont[i].mu, NULL);
  }
  for (int i = 0; i < g_callers; i++) {
    g_call[i].id = i;
    g_call[i].ti = thread_info_new("caller", i);
    pthread_mutex_init(&g_call[i].mu, NULL);
    pthread_mutex_init(&g_call[i].nmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_call[i].ncv, &ca);
    pthread_condattr_destroy(&ca);
  }
  for (int i = 0; i < g_chaos; i++) {
    g_chaos_threads[i].id = i;
    g_chaos_threads[i].ti = thread_info_new("chaos", i);
  }
  for (int i = 0; i < g_containers; i++)
    pthread_create(&g_cont[i].th, NULL, container_main, &g_cont[i]);
  for (int i = 0; i < g_callers; i++) pthread_create(&g_call[i].th, NULL, caller_main, &g_call[i]);
  for (int i = 0; i < g_chaos; i++) {
    pthread_create(&g_chaos_threads[i].th, NULL, chaos_main, &g_chaos_threads[i]);
  }

  const int64_t end = g_start_ns + (int64_t)(g_seconds * 1e9);
  while (!stopping() && slotq_now_ns() < end) {
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
  }
  atomic_store(&g_stop, 1);
  /* Everyone waiting on a caller token returns at once. */
  op_begin(main_ti, "slotq_cancel_cancel(root)");
  CHECK_RC(slotq_cancel_cancel(g_root), SLOTQ_OK);
  op_end(main_ti);
  op_begin(main_ti, "joining threads");
  for (int i = 0; i < g_callers; i++) pthread_join(g_call[i].th, NULL);
  for (int i = 0; i < g_chaos; i++) pthread_join(g_chaos_threads[i].th, NULL);
  for (int i = 0; i < g_containers; i++) pthread_join(g_cont[i].th, NULL);
  op_end(main_ti);
  double elapsed = (double)(slotq_now_ns() - g_start_ns) / 1e9;

  size_t nslots = atomic_load(&g_next_rec);
  if (nslots > g_max_slots) nslots = g_max_slots;
  op_begin(main_ti, "final checks");
  final_checks(nslots);
  slotq_mgr_destroy(g_mgr);
  slotq_cancel_release(g_root);
  op_end(main_ti);
  atomic_store(&g_all_joined, 1);
  pthread_join(wd, NULL);

  printf("ran %.2f s: slots queued %" PRIuFAST64 ", acquired %" PRIuFAST64
         ", ejected by container %" PRIuFAST64 ", ejected by chaos %" PRIuFAST64
         ", discarded %" PRIuFAST64 "\n",
         elapsed, atomic_load(&n_queued), atomic_load(&n_acquired), atomic_load(&n_eject_container),
         atomic_load(&n_eject_chaos), atomic_load(&n_discarded));
  printf("  next: ok %" PRIuFAST64 " timeout %" PRIuFAST64 " cancelled %" PRIuFAST64
         " stopped %" PRIuFAST64 "; acquire EGONE %" PRIuFAST64 "; lent unused %" PRIuFAST64
         "; callers gave up %" PRIuFAST64 "\n",
         atomic_load(&n_next_ok), atomic_load(&n_next_timeout), atomic_load(&n_next_cancel),
         atomic_load(&n_next_stopped), atomic_load(&n_acquire_gone), atomic_load(&n_lent_unused),
         atomic_load(&n_caller_gaveup));
  printf("  eject: wrong queue %" PRIuFAST64 ", EGONE %" PRIuFAST64 "; exec failures %" PRIuFAST64
         "; dequeuers %" PRIuFAST64 ", chaos stops %" PRIuFAST64 ", chaos cancels %" PRIuFAST64
         ", lurker lends %" PRIuFAST64 ", deadline callbacks %" PRIuFAST64 "\n",
         atomic_load(&n_eject_wrong), atomic_load(&n_eject_gone), atomic_load(&n_exec_fail),
         atomic_load(&n_deq_started), atomic_load(&n_chaos_stops), atomic_load(&n_chaos_cancels),
         atomic_load(&n_lurks), atomic_load(&n_cb_fired));
  printf("  manager: gets %" PRIuFAST64 ", deletes ok %" PRIuFAST64 " busy %" PRIuFAST64
         " not found %" PRIuFAST64 ", abandoned queues %" PRIuFAST64 ", signals %" PRIuFAST64 "\n",
         atomic_load(&n_gets), atomic_load(&n_del_ok), atomic_load(&n_del_busy),
         atomic_load(&n_del_notfound), atomic_load(&n_abandons), atomic_load(&n_signals));
  printf("  armed waits %" PRIuFAST64 ", notifications %" PRIuFAST64 "\n",
         atomic_load(&n_armed_waits), atomic_load(&n_notified));
  for (int i = 0; i < g_containers; i++) pthread_mutex_destroy(&g_cont[i].mu);
  for (int i = 0; i < g_callers; i++) {
    pthread_mutex_destroy(&g_call[i].mu);
    pthread_mutex_destroy(&g_call[i].nmu);
    pthread_cond_destroy(&g_call[i].ncv);
  }
  free(g_recs);
  free(g_cont);
  free(g_call);
  free(g_chaos_threads);
  int failures = atomic_load(&g_failures);
  if (failures != 0) {
    printf("stress_exactly_once: FAILED (%d check(s))\n", failures);
    return 1;
  }
  printf("stress_exactly_once: all %zu slots ended exactly once\n", nslots);
  return 0;
}
