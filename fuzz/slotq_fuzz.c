/*
 * API fuzzer: reads its input as a sequence of calls on a small set of
 * handles and checks every result against a shadow model of the contract in
 * slotq.h, after every step:
 *   - each token's state and closed flag as the model says (exactly one
 *     acquire, never after an eject, close at most once, ...);
 *   - the release callback runs exactly when the last reference goes (not
 *     before: that would be a use after free; not never: a leak);
 *   - queue lengths, state counters (never negative), latency averages,
 *     the launch policy, signals, manager gets and deletes;
 *   - slot keys against a reference SHA-1 of the seed's format;
 *   - cancellation reasons and callback runs, including callbacks that
 *     cancel other tokens, unregister themselves or drop their token;
 *   - signal listeners: the callback runs once per signal that becomes
 *     pending, the eventfd counts those signals, and both go with a
 *     removal or the queue;
 *   - armed (event-driven) dequeuers: which one a slot is handed to (the
 *     one armed longest), when each is notified and how often, and what
 *     becomes of a handed slot that is collected, ejected, acquired by its
 *     container or given back by a stop, a cancellation or a free; and
 *     notify callbacks that call back in: collect the slot (and acquire
 *     it), or free their own dequeuer.
 *
 * Single-threaded: every wait has a timeout of 0, so the model is exact.
 * libFuzzer drives LLVMFuzzerTestOneInput(); replay_main.c runs the same
 * function on the committed corpus in every CTest run.

 * SLOTQ_FUZZ_TRACE=1 in the environment prints each step (to read a crash input).
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slotq.h"

#define MAXSQ 8 /* queues per input */
#define MAXQR 8 /* queue references held */
#define MAXT 40 /* tokens per input */
#define MAXD 4  /* dequeuers alive */
#define MAXC 8  /* cancellation tokens per input */
#define MAXR 8  /* registrations per input */
#define MAXSTEPS 400

/* ------------------------------------------------------------ failures */

static const uint8_t *g_input;
static size_t g_input_len;
static int g_step;
static const char *g_op = "setup";

static void fuzz_fail(int line, const char *what, long long got, long long want) {
  fprintf(stderr,
          "slotq_fuzz: invariant broken at step %d (%s), line %d: %s: got %lld, want %lld\n",
          g_step, g_op, line, what, got, want);
  fprintf(stderr, "slotq_fuzz: input of %zu bytes\n", g_input_len);
  abort();
}

#define EXPECT_EQ(got, want)                                      \
  do {                                                            \
    long long g_ = (long long)(got), w_ = (long long)(want);      \
    if (g_ != w_) fuzz_fail(__LINE__, #got " == " #want, g_, w_); \
  } while (0)
#define EXPECT(cond)                               \
  do {                                             \
    if (!(cond)) fuzz_fail(__LINE__, #cond, 0, 1); \
  } while (0)

static int g_trace; /* SLOTQ_FUZZ_TRACE=1: print each step */

/* --------------------------------------------------------------- input */

typedef struct reader {
  const uint8_t *p;
  size_t n;
} reader;

static uint8_t u8(reader *r) {
  if (r->n == 0) return 0;
  r->n--;
  return *r->p++;
}

static uint64_t u64(reader *r) {
  uint64_t v = 0;
  int n = 1 + u8(r) % 8; /* short numbers are common */
  for (int i = 0; i < n; i++) v = (v << 8) | u8(r);
  return v;
}

/* ---------------------------------------------------------------- model */

typedef struct fslot {
  int idx;      /* token index */
  int close_rc; /* what the callbacks return */
  int exec_rc;
  int error_rc;
  int closes; /* actual callback runs */
  int execs;
  int errors;
  int releases;
  int exec_closes_self; /* exec calls slotq_token_close() on its own token */
  int exec_close_rc;
  int close_cancels; /* close cancels g_c[close_target] (the slot owns a reference) */
  int close_target;
  slotq_cancel_t *exec_cancel_seen;
} fslot;

typedef struct stoken {
  int used;
  slotq_token_t *h;
  int sq;
  int state;
  int closes; /* model */
  int on_stack;
  int lent_to;   /* dequeuer index, or -1 */
  int handed_to; /* dequeuer index (armed, not collected yet), or -1 */
  int user_refs;
  uint64_t id;
  fslot slot;
} stoken;

typedef struct squeue {
  int used;
  slotq_queue_t *ptr;
  int handles; /* user references + manager + dequeuers */
  int in_mgr;
  unsigned char key[SLOTQ_MAX_QUEUE_KEY];
  size_t key_len;
  int stack[MAXT]; /* token indexes, top last */
  int depth;
  uint64_t states[3], lat_count[3], lat[3];
  int runner_lat_unknown; /* exec records a real elapsed time */
  int sig_pending;
  int listener;          /* model: the queue has a listener entry (a callback or an fd) */
  int listener_fn;       /* model: with a callback */
  int sig_fd;            /* model: its eventfd, or -1 */
  uint64_t sig_fd_count; /* model: the eventfd's counter */
  int sig_notes_expected;
  int sig_notes; /* actual: runs of the callback */
  uint64_t next_id;
} squeue;

typedef struct qref {
  int used;
  slotq_queue_t *h;
  int sq;
} qref;

typedef struct sdeq {
  int used;
  slotq_dequeuer_t *h;
  int sq;
  int stopped;
  int cancel;         /* index or -1 */
  int lent;           /* token index or -1 */
  unsigned seq;       /* when it registered on its cancellation token (g_seq) */
  int fired_seen;     /* its token fired and it gave back what it held */
  int armed;          /* model: armed, so in its queue's waiters list */
  unsigned armed_seq; /* when it was armed (g_arm_seq): the list's order */
  int handed;         /* token index handed to it and not collected, or -1 */
  int notes_expected; /* model: notifications */
  int notes;          /* actual: runs of its notify callback */
  int on_note;        /* what its notify callback does besides counting (NOTE_*) */
} sdeq;

typedef struct scancel {
  int used;
  slotq_cancel_t *h;
  int user_refs;              /* references this driver holds directly */
  int reason_fired;           /* the reason it fired with, 0 until then */
  int deadline_past;          /* created with a deadline in the past (own or inherited) */
  int future_deadline;        /* a deadline 30 s away: never reached within one input */
  int parent;                 /* index or -1 */
  unsigned reasons_this_step; /* bit 0: ECANCELED, bit 1: ETIMEDOUT */
  int fired_before_step;
  unsigned seq; /* when it registered on its parent (g_seq) */
} scancel;

typedef struct sreg {
  int used;
  slotq_cancel_reg_t *h;
  int cancel;
  int variant; /* 0 count, 1 cancel target, 2 unregister self, 3 unregister self + drop token */
  int target;  /* variant 1: the token it cancels (it owns a reference to it) */
  int runs;    /* actual */
  int ran;     /* model */
  int gone;    /* model: unregistered (by its own callback or by the driver) */
  int cb_unregistered; /* actual: the callback unregistered itself */
  int owns_self_ref;   /* variant 3 */
  unsigned seq;        /* when it registered (g_seq) */
} sreg;

/* A token runs what is registered on it in registration order (its
 * callbacks, the dequeuers started with it, its children): each registration
 * gets the next number. */
static unsigned g_seq;
static unsigned g_arm_seq;

static stoken g_t[MAXT];
static squeue g_sq[MAXSQ];
static qref g_q[MAXQR];
static sdeq g_d[MAXD];
static scancel g_c[MAXC];
static sreg g_r[MAXR];
static slotq_mgr_t *g_mgr;

/* ---------------------------------------------------------- slot callbacks */

static void model_fire(int c, int reason);

static int cb_exec(void *p, slotq_cancel_t *cancel, void *arg) {
  fslot *s = (fslot *)p;
  (void)arg;
  s->execs++;
  s->exec_cancel_seen = cancel;
  if (s->exec_closes_self) s->exec_close_rc = slotq_token_close(g_t[s->idx].h, NULL);
  return s->exec_rc;
}

static int cb_close(void *p) {
  fslot *s = (fslot *)p;
  s->closes++;
  if (s->close_cancels) slotq_cancel_cancel(g_c[s->close_target].h);
  return s->close_rc;
}

static int cb_error(void *p) {
  fslot *s = (fslot *)p;
  s->errors++;
  return s->error_rc;
}

static void cb_release(void *p) {
  fslot *s = (fslot *)p;
  s->releases++;
  /* The slot's own reference to the token its close cancels (not the token
   * being released, so this is allowed). */
  if (s->close_cancels) slotq_cancel_release(g_c[s->close_target].h);
}

static const slotq_slot_ops g_ops = {cb_exec, cb_close, cb_error, cb_release, NULL};

/* What a dequeuer's notify callback does besides counting, as an
 * event-driven host might: collect the slot it was told about (and maybe
 * acquire it), or free the dequeuer from inside its own callback. */
enum { NOTE_COUNT, NOTE_COLLECT, NOTE_COLLECT_ACQUIRE, NOTE_FREE, NOTE_KINDS };

/* A callback's calls into the library, recorded as they ran and checked
 * against the model at the end of the step (apply_note_acts). A
 * notification is delivered after the change that caused it, so its
 * effects follow the step's own; an entry is claimed before the calls, so
 * that callbacks nested in them come after it. */
typedef struct note_act {
  int seq; /* the notification it answered (g_notes_made then) */
  int di;
  int action;
  int rc;             /* slotq_dequeuer_next() */
  slotq_token_t *tok; /* what it returned */
  int acquire_rc;
} note_act;
#define MAXACTS 32
static note_act g_acts[MAXACTS];
static int g_nacts;       /* recorded this step */
static int g_acts_done;   /* of those, checked against the model */
static int g_notes_made;  /* notifications delivered this step */
static int g_notes_model; /* notifications the model decided this step */

static void cb_notify(void *arg) {
  sdeq *d = (sdeq *)arg;
  d->notes++;
  g_notes_made++;
  if (d->on_note == NOTE_COUNT || g_nacts == MAXACTS) return;
  note_act *a = &g_acts[g_nacts++];
  a->seq = g_notes_made;
  a->di = (int)(d - g_d);
  a->action = d->on_note;
  a->rc = a->acquire_rc = -1;
  a->tok = NULL;
  if (a->action == NOTE_FREE) {
    slotq_dequeuer_free(d->h);
    return;
  }
  a->rc = slotq_dequeuer_next(d->h, 0, NULL, &a->tok);
  if (a->rc == SLOTQ_OK && a->action == NOTE_COLLECT_ACQUIRE) {
    a->acquire_rc = slotq_token_acquire(a->tok);
  }
}

static void cb_signal(void *arg) { ((squeue *)arg)->sig_notes++; }

/* ------------------------------------------------------ cancel callbacks */

static void cb_cancel(void *arg) {
  sreg *r = (sreg *)arg;
  r->runs++;
  switch (r->variant) {
    case 1:
      slotq_cancel_cancel(g_c[r->target].h);
      break;
    case 2:
    case 3: {
      int ran = -1;
      EXPECT_EQ(slotq_cancel_unregister(r->h, &ran), SLOTQ_OK);
      EXPECT_EQ(ran, 1);
      r->h = NULL;
      r->cb_unregistered = 1;
      if (r->variant == 3 && r->owns_self_ref) {
        r->owns_self_ref = 0;
        slotq_cancel_release(g_c[r->cancel].h);
      }
      break;
    }
    default:
      break;
  }
}

/* ------------------------------------------------------------ the model */

static int token_internal(const stoken *t) {
  return t->on_stack || t->lent_to >= 0 || t->handed_to >= 0;
}
static int token_alive(const stoken *t) {
  return t->used && (t->user_refs > 0 || token_internal(t));
}

static int cancel_reason(const scancel *c) {
  if (c->reason_fired != 0) return c->reason_fired;
  return c->deadline_past ? SLOTQ_ETIMEDOUT : SLOTQ_OK;
}

/* CancelToken::Fire(reason): the first reason sticks; callbacks and children run. */
static void model_cancel(int ci);

static void model_give_back(sdeq *d, int handed);
static void model_stop(sdeq *d, int notify);
static void apply_note_acts(void);

/* The model decides that d is notified. */
static void model_note(sdeq *d) {
  d->notes_expected++;
  g_notes_model++;
}

static void model_fire(int ci, int reason) {
  scancel *c = &g_c[ci];
  /* A token whose deadline passed first keeps that reason, even when it is
   * cancelled (itself or through its parent) before anybody noticed. */
  if (reason == SLOTQ_ECANCELED && c->deadline_past) reason = SLOTQ_ETIMEDOUT;
  c->reasons_this_step |= reason == SLOTQ_ECANCELED ? 1u : 2u;
  if (c->reason_fired != 0) return;
  c->reason_fired = reason;
  /* Everything registered on the token, in registration order; each still
   * there when its turn comes (an earlier callback may have freed it). */
  for (;;) {
    unsigned best = 0;
    int kind = -1, idx = -1;
    for (int i = 0; i < MAXR; i++) {
      sreg *r = &g_r[i];
      if (r->used && r->cancel == ci && !r->ran && !r->gone && (kind < 0 || r->seq < best)) {
        best = r->seq, kind = 0, idx = i;
      }
    }
    for (int i = 0; i < MAXD; i++) {
      sdeq *d = &g_d[i];
      if (d->used && d->cancel == ci && !d->fired_seen && (kind < 0 || d->seq < best)) {
        best = d->seq, kind = 1, idx = i;
      }
    }
    for (int k = 0; k < MAXC; k++) {
      scancel *ch = &g_c[k];
      if (ch->used && ch->parent == ci && ch->reason_fired == 0 && (kind < 0 || ch->seq < best)) {
        best = ch->seq, kind = 2, idx = k;
      }
    }
    if (kind < 0) break;
    if (kind == 0) {
      sreg *r = &g_r[idx];
      r->ran = 1;
      if (r->variant == 1) model_cancel(r->target);
      if (r->variant >= 2) r->gone = 1; /* it unregistered itself */
    } else if (kind == 1) {
      /* A dequeuer whose own token fires behaves as stopped: it leaves
       * the waiters, its lent and handed tokens go back at once, and an
       * armed one is notified (slotq_start_dequeuer()). */
      g_d[idx].fired_seen = 1;
      model_stop(&g_d[idx], 1);
    } else {
      model_fire(idx, reason);
    }
    /* Each registration runs on its own, delivering the notifications it
     * caused before the next one runs: their callbacks' calls come here. */
    apply_note_acts();
  }
}

/* slotq_cancel_cancel(): CancelToken::Cancel(). */
static void model_cancel(int ci) { model_fire(ci, SLOTQ_ECANCELED); }

/* The library fires a token whose deadline passed when something registers on it. */
static void model_touch(int ci) {
  if (ci >= 0 && g_c[ci].reason_fired == 0 && g_c[ci].deadline_past) {
    model_fire(ci, SLOTQ_ETIMEDOUT);
  }
}

static void model_close_effects(stoken *t) {
  t->closes++;
  if (t->slot.close_cancels) model_cancel(t->slot.close_target);
}

static void stack_push(squeue *q, int ti) {
  q->stack[q->depth++] = ti;
  g_t[ti].on_stack = 1;
}

/* Queue::PopLent: the newest idle slot (LIFO), now lent; the caller records
 * to whom. The stack must not be empty. */
static int stack_pop_lent(squeue *q) {
  int ti = q->stack[--q->depth];
  g_t[ti].on_stack = 0;
  g_t[ti].state = SLOTQ_TOKEN_LENT;
  return ti;
}

static void stack_remove(squeue *q, int ti) {
  for (int i = 0; i < q->depth; i++) {
    if (q->stack[i] == ti) {
      memmove(&q->stack[i], &q->stack[i + 1], (size_t)(q->depth - i - 1) * sizeof(int));
      q->depth--;
      g_t[ti].on_stack = 0;
      return;
    }
  }
  EXPECT(0);
}

/* Queue::Shutdown: discard the idle slots. */
static void model_shutdown(int sqi) {
  squeue *q = &g_sq[sqi];
  q->listener = q->listener_fn = 0; /* dropped with the queue; its fd closed */
  q->sig_fd = -1;
  while (q->depth > 0) {
    int ti = q->stack[q->depth - 1];
    q->depth--;
    g_t[ti].on_stack = 0;
    g_t[ti].state = SLOTQ_TOKEN_DISCARDED;
    model_close_effects(&g_t[ti]);
  }
}

static void model_drop_handle(int sqi) {
  squeue *q = &g_sq[sqi];
  EXPECT(q->handles > 0);
  if (--q->handles == 0) model_shutdown(sqi);
}

/* The armed dequeuer of a queue that was armed first, or -1. */
static int oldest_armed(int sqi) {
  int best = -1;
  for (int i = 0; i < MAXD; i++) {
    sdeq *d = &g_d[i];
    if (d->used && d->armed && d->sq == sqi && (best < 0 || d->armed_seq < g_d[best].armed_seq)) {
      best = i;
    }
  }
  return best;
}

/* Queue::HandOrPush: to the dequeuer armed longest (notified), or the stack. */
static void model_hand_or_push(int ti) {
  stoken *t = &g_t[ti];
  int di = oldest_armed(t->sq);
  if (di < 0) {
    t->state = SLOTQ_TOKEN_QUEUED;
    stack_push(&g_sq[t->sq], ti);
    return;
  }
  sdeq *d = &g_d[di];
  d->armed = 0;
  model_note(d);
  t->state = SLOTQ_TOKEN_LENT;
  t->handed_to = di;
  d->handed = ti;
}

/* Queue::GiveBack of the token d holds, lent (`handed` 0) or handed to it
 * while armed and not collected (`handed` 1): back to a waiter or the stack
 * if nobody acquired or ejected it meanwhile; else the reference is dropped. */
static void model_give_back(sdeq *d, int handed) {
  int *held = handed ? &d->handed : &d->lent;
  if (*held < 0) return;
  stoken *t = &g_t[*held];
  *held = -1;
  if (handed) {
    t->handed_to = -1;
  } else {
    t->lent_to = -1;
  }
  if (t->state == SLOTQ_TOKEN_LENT) model_hand_or_push((int)(t - g_t));
}

/* Dequeuer::StopLocked: leave the waiters, give back the lent and the
 * handed token; `notify`: an armed dequeuer is told (not when freed). */
static void model_stop(sdeq *d, int notify) {
  if (d->armed && notify) model_note(d);
  d->armed = 0;
  model_give_back(d, 0);
  model_give_back(d, 1);
}

static void stats_record(squeue *q, int s, uint64_t lat) {
  if (q->lat_count[s] != 0) q->lat[s] = (q->lat[s] * 5 + lat * 5) / 10;
  q->lat_count[s] += 1;
  if (q->lat_count[s] == 0) q->lat_count[s] += 1;
}

static int seed_policy(const slotq_stats *s) {
  uint64_t w = s->states[SLOTQ_WAITER], st = s->states[SLOTQ_STARTER];
  if (w == 0) return 0;
  if (st >= w) return 0;
  uint64_t ex = st + s->states[SLOTQ_RUNNER];
  if (ex == 0) return 1;
  uint64_t run = s->latencies[SLOTQ_RUNNER], wait = s->latencies[SLOTQ_WAITER],
           start = s->latencies[SLOTQ_STARTER];
  if (wait == 0) return 0;
  if (run / ex * 2 < wait) return 1;
  if (run < wait) return 1;
  if (start < wait) return 1;
  return 0;
}

/* ------------------------------------------------------- invariant checks */

static void check_token(int i) {
  stoken *t = &g_t[i];
  if (!t->used) return;
  int alive = token_alive(t);
  /* The release callback runs exactly when the last reference is dropped. */
  EXPECT_EQ(t->slot.releases, alive ? 0 : 1);
  EXPECT_EQ(t->slot.closes, t->closes);
  EXPECT(t->closes <= 1);
  if (!alive) return;
  int st = -1, closed = -1;
  EXPECT_EQ(slotq_token_state_get(t->h, &st, &closed), SLOTQ_OK);
  EXPECT_EQ(st, t->state);
  EXPECT_EQ(closed, t->closes);
  /* A final state is final; ejected and discarded slots are closed. */
  if (t->state == SLOTQ_TOKEN_EJECTED || t->state == SLOTQ_TOKEN_DISCARDED) EXPECT_EQ(closed, 1);
  if (t->state == SLOTQ_TOKEN_QUEUED) EXPECT(t->on_stack);
}

static void check_queue(int i) {
  squeue *q = &g_sq[i];
  if (!q->used || q->handles == 0) return;
  size_t len = 999;
  EXPECT_EQ(slotq_queue_len(q->ptr, &len), SLOTQ_OK);
  EXPECT_EQ(len, q->depth);
  EXPECT_EQ(q->sig_notes, q->sig_notes_expected);
  slotq_stats st;
  EXPECT_EQ(slotq_queue_stats(q->ptr, &st), SLOTQ_OK);
  for (int s = 0; s < 3; s++) {
    EXPECT_EQ(st.states[s], q->states[s]);
    EXPECT(st.states[s] < (1ull << 62)); /* never "negative" */
    EXPECT_EQ(st.latency_count[s], q->lat_count[s]);
    if (s == SLOTQ_RUNNER && q->runner_lat_unknown) {
      q->lat[s] = st.latencies[s]; /* adopt the measured average */
    } else {
      EXPECT_EQ(st.latencies[s], q->lat[s]);
    }
  }
  int idle = -1;
  EXPECT_EQ(slotq_queue_is_idle(q->ptr, &idle), SLOTQ_OK);
  EXPECT_EQ(idle, q->states[0] == 0 && q->states[1] == 0 && q->states[2] == 0);
}

static void check_cancel(int i) {
  scancel *c = &g_c[i];
  if (!c->used) return;
  /* Fired twice with different reasons in one step: the order decides. */
  if (!c->fired_before_step && (c->reasons_this_step & 3u) == 3u && c->user_refs > 0) {
    int reason = 0;
    EXPECT_EQ(slotq_cancel_reason(c->h, &reason), SLOTQ_OK);
    EXPECT(reason == SLOTQ_ECANCELED || reason == SLOTQ_ETIMEDOUT);
    c->reason_fired = reason;
  }
  c->reasons_this_step = 0;
  c->fired_before_step = c->reason_fired != 0;
  if (c->user_refs <= 0) return;
  int reason = -1;
  EXPECT_EQ(slotq_cancel_reason(c->h, &reason), SLOTQ_OK);
  EXPECT_EQ(reason, cancel_reason(c));
}

static void check_all(void) {
  for (int i = 0; i < MAXC; i++) check_cancel(i);
  for (int i = 0; i < MAXT; i++) check_token(i);
  for (int i = 0; i < MAXSQ; i++) check_queue(i);
  for (int i = 0; i < MAXR; i++) {
    if (!g_r[i].used) continue;
    EXPECT_EQ(g_r[i].runs, g_r[i].ran);
    if (g_r[i].variant >= 2) EXPECT_EQ(g_r[i].cb_unregistered, g_r[i].ran);
  }
  if (g_mgr != NULL) {
    size_t n = 999, want = 0;
    for (int i = 0; i < MAXSQ; i++) want += g_sq[i].used && g_sq[i].in_mgr;
    EXPECT_EQ(slotq_mgr_count(g_mgr, &n), SLOTQ_OK);
    EXPECT_EQ(n, want);
  }
  for (int i = 0; i < MAXD; i++) {
    if (g_d[i].used && g_d[i].lent >= 0) EXPECT_EQ(g_t[g_d[i].lent].lent_to, i);
    if (g_d[i].used && g_d[i].handed >= 0) EXPECT_EQ(g_t[g_d[i].handed].handed_to, i);
    if (g_d[i].used) EXPECT_EQ(g_d[i].notes, g_d[i].notes_expected);
  }
}

/* ------------------------------------------------------------- pickers */

static int pick_used(reader *r, const void *base, size_t size, int count, int (*ok)(const void *)) {
  int n = 0;
  for (int i = 0; i < count; i++) n += ok((const char *)base + (size_t)i * size);
  if (n == 0) return -1;
  int k = u8(r) % n;
  for (int i = 0; i < count; i++) {
    if (ok((const char *)base + (size_t)i * size) && k-- == 0) return i;
  }
  return -1;
}

static int qref_ok(const void *p) { return ((const qref *)p)->used; }
static int deq_ok(const void *p) { return ((const sdeq *)p)->used; }
static int tok_ok(const void *p) {
  return ((const stoken *)p)->used && ((const stoken *)p)->user_refs > 0;
}
static int cancel_ok(const void *p) {
  return ((const scancel *)p)->used && ((const scancel *)p)->user_refs > 0;
}
static int reg_ok(const void *p) { return ((const sreg *)p)->used && !((const sreg *)p)->gone; }

#define PICK(r, arr, ok) \
  pick_used((r), (arr), sizeof((arr)[0]), (int)(sizeof(arr) / sizeof((arr)[0])), (ok))

static int free_index(const void *base, size_t size, int count, int (*used)(const void *)) {
  for (int i = 0; i < count; i++) {
    if (!used((const char *)base + (size_t)i * size)) return i;
  }
  return -1;
}

static int any_used_q(const void *p) { return ((const qref *)p)->used; }
static int any_used_sq(const void *p) { return ((const squeue *)p)->used; }
static int any_used_t(const void *p) { return ((const stoken *)p)->used; }
static int any_used_d(const void *p) { return ((const sdeq *)p)->used; }
static int any_used_c(const void *p) { return ((const scancel *)p)->used; }
static int any_used_r(const void *p) { return ((const sreg *)p)->used; }

#define FREE_INDEX(arr, used) \
  free_index((arr), sizeof((arr)[0]), (int)(sizeof(arr) / sizeof((arr)[0])), (used))

/* An optional cancellation token for a call: -1 for none. */
static int pick_opt_cancel(reader *r) {
  if (u8(r) % 3 != 0) return -1;
  return PICK(r, g_c, cancel_ok);
}

static slotq_cancel_t *cancel_handle(int ci) { return ci < 0 ? NULL : g_c[ci].h; }

/* ------------------------------------------------------------- slot keys */

typedef struct buf {
  unsigned char *p;
  size_t n, cap;
} buf;

static void buf_put(buf *b, const void *p, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = (b->n + n) * 2 + 64;
    unsigned char *q = realloc(b->p, cap);
    if (q == NULL) abort();
    b->p = q;
    b->cap = cap;
  }
  if (n != 0) memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void buf_str(buf *b, slotq_str s) {
  buf_put(b, s.ptr, s.len);
  buf_put(b, "", 1);
}

static int str_cmp(slotq_str a, slotq_str b) {
  size_t n = a.len < b.len ? a.len : b.len;
  int c = n == 0 ? 0 : memcmp(a.ptr, b.ptr, n);
  if (c != 0) return c;
  return a.len < b.len ? -1 : a.len > b.len;
}

static int kv_cmp(const void *a, const void *b) {
  return str_cmp(((const slotq_kv *)a)->key, ((const slotq_kv *)b)->key);
}

static int str_valid(slotq_str s) { return s.ptr != NULL || s.len == 0; }

/* The seed's getSlotQueueKey, written independently of the library. */
static int ref_key(const slotq_call *c, slotq_key *out) {
  if (!str_valid(c->app_name) || !str_valid(c->path) || !str_valid(c->image) ||
      !str_valid(c->format) || (c->config == NULL && c->config_len != 0)) {
    return SLOTQ_EINVAL;
  }
  for (size_t i = 0; i < c->config_len; i++) {
    if (!str_valid(c->config[i].key) || !str_valid(c->config[i].value)) return SLOTQ_EINVAL;
  }
  slotq_kv *sorted = NULL;
  if (c->config_len != 0) {
    sorted = malloc(c->config_len * sizeof *sorted);
    if (sorted == NULL) abort();
    memcpy(sorted, c->config, c->config_len * sizeof *sorted);
    qsort(sorted, c->config_len, sizeof *sorted, kv_cmp);
    for (size_t i = 1; i < c->config_len; i++) {
      if (str_cmp(sorted[i - 1].key, sorted[i].key) == 0) {
        free(sorted);
        return SLOTQ_EINVAL;
      }
    }
  }
  buf b = {NULL, 0, 0};
  char num[32];
  buf_str(&b, c->app_name);
  buf_str(&b, c->path);
  buf_str(&b, c->image);
  snprintf(num, sizeof num, "%d", (int)c->timeout);
  buf_put(&b, num, strlen(num) + 1);
  snprintf(num, sizeof num, "%d", (int)c->idle_timeout);
  buf_put(&b, num, strlen(num) + 1);
  snprintf(num, sizeof num, "%llu", (unsigned long long)c->memory);
  buf_put(&b, num, strlen(num) + 1);
  buf_str(&b, c->format);
  for (size_t i = 0; i < c->config_len; i++) {
    buf_str(&b, sorted[i].key);
    buf_str(&b, sorted[i].value);
  }
  unsigned int len = 0;
  if (EVP_Digest(b.p, b.n, out->bytes, &len, EVP_sha1(), NULL) != 1 || len != SLOTQ_KEY_SIZE) {
    abort();
  }
  free(b.p);
  free(sorted);
  return SLOTQ_OK;
}

/* Storage for the strings of one generated call. */
typedef struct call_store {
  char bytes[8][16];
  slotq_kv kv[6];
} call_store;

static const char *const k_names[] = {"a", "b", "", "ab"};
static const slotq_str k_keys[] = {{"A", 1}, {"B", 1}, {"", 0}, {"AB", 2}, {"A\0", 2}, {NULL, 0}};

static slotq_str gen_str(reader *r, call_store *cs, int slot) {
  slotq_str s;
  uint8_t m = u8(r) % 8;
  if (m < 4) {
    s.ptr = k_names[m];
    s.len = strlen(k_names[m]);
  } else if (m < 6) {
    size_t n = u8(r) % 16;
    for (size_t i = 0; i < n; i++) cs->bytes[slot][i] = (char)u8(r);
    s.ptr = cs->bytes[slot];
    s.len = n;
  } else if (m == 6) {
    s.ptr = NULL;
    s.len = 0;
  } else {
    s.ptr = NULL; /* invalid unless the length is 0 */
    s.len = u8(r) % 2;
  }
  return s;
}

static void gen_call(reader *r, call_store *cs, slotq_call *c) {
  memset(c, 0, sizeof *c);
  uint8_t shape = u8(r);
  c->app_name = gen_str(r, cs, 0);
  if (shape & 1) c->path = gen_str(r, cs, 1);
  if (shape & 2) c->image = gen_str(r, cs, 2);
  if (shape & 4) c->format = gen_str(r, cs, 3);
  if (shape & 8) {
    c->timeout = (int32_t)(uint32_t)u64(r);
    c->idle_timeout = (int32_t)(uint32_t)u64(r);
    c->memory = u64(r);
  }
  size_t n = (shape >> 4) % 6;
  if (n == 5) {
    c->config = NULL; /* NULL config with a length */
    c->config_len = u8(r) % 2;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    cs->kv[i].key = k_keys[u8(r) % 6];
    cs->kv[i].value = gen_str(r, cs, 4 + (int)(i % 4));
  }
  c->config = n != 0 || (shape & 0x80) ? cs->kv : NULL;
  c->config_len = n;
}

/* slotq_dequeuer_next() with a timeout of 0 on d (an optional extra
 * token ci) returned rc and h: check them and follow. */
static void model_next(int di, int ci, int rc, slotq_token_t *h) {
  sdeq *d = &g_d[di];
  model_give_back(d, 0); /* which may hand it to d itself, if armed first */
  squeue *q = &g_sq[d->sq];
  if (d->handed >= 0 && g_t[d->handed].state != SLOTQ_TOKEN_LENT) {
    model_give_back(d, 1); /* ejected or acquired before collection: skipped */
  }
  if (d->handed >= 0) {
    EXPECT_EQ(rc, SLOTQ_OK);
    stoken *t = &g_t[d->handed];
    EXPECT(h == t->h);
    t->handed_to = -1;
    t->lent_to = di;
    t->user_refs++;
    d->lent = d->handed;
    d->handed = -1;
  } else if (d->stopped) {
    EXPECT_EQ(rc, SLOTQ_ESTOPPED);
  } else if ((d->cancel >= 0 && cancel_reason(&g_c[d->cancel]) != SLOTQ_OK) ||
             (ci >= 0 && cancel_reason(&g_c[ci]) != SLOTQ_OK)) {
    EXPECT_EQ(rc, SLOTQ_ECANCELED);
  } else if (q->depth == 0) {
    EXPECT_EQ(rc, SLOTQ_ETIMEDOUT);
  } else {
    EXPECT_EQ(rc, SLOTQ_OK);
    int ti = stack_pop_lent(q);
    stoken *t = &g_t[ti];
    EXPECT(h == t->h);
    t->lent_to = di;
    t->user_refs++;
    d->lent = ti;
  }
  if (rc != SLOTQ_OK) EXPECT(h == NULL);
}

/* The callbacks' recorded calls (note_act), in the order they began, as
 * far as the model has decided the notifications they answered. Called
 * where the library delivers what it decided: at the end of a step, and
 * after each registration of a token that fires. */
static void apply_note_acts(void) {
  while (g_acts_done < g_nacts && g_acts[g_acts_done].seq <= g_notes_model) {
    note_act *a = &g_acts[g_acts_done++]; /* done first: applying may nest */
    sdeq *d = &g_d[a->di];
    EXPECT(d->used);
    if (g_trace) {
      fprintf(stderr, "  notify callback of dequeuer %d: %s -> %d\n", a->di,
              a->action == NOTE_FREE ? "free" : "next", a->rc);
    }
    if (a->action == NOTE_FREE) {
      d->stopped = 1;
      model_stop(d, 0); /* freeing notifies nobody */
      d->used = 0;
      model_drop_handle(d->sq);
      continue;
    }
    model_next(a->di, -1, a->rc, a->tok);
    if (a->action == NOTE_COLLECT_ACQUIRE && a->rc == SLOTQ_OK) {
      stoken *t = &g_t[d->lent]; /* just collected, so lent */
      EXPECT_EQ(a->acquire_rc, SLOTQ_OK);
      t->state = SLOTQ_TOKEN_ACQUIRED;
    }
  }
}

/* The end of a step: every callback's calls were checked. */
static void finish_note_acts(void) {
  apply_note_acts();
  EXPECT_EQ(g_acts_done, g_nacts);
  EXPECT_EQ(g_notes_model, g_notes_made);
  g_nacts = g_acts_done = g_notes_made = g_notes_model = 0;
}

/* ------------------------------------------------------------- operations */

enum {
  OP_QUEUE_CREATE,
  OP_QUEUE_RETAIN,
  OP_QUEUE_RELEASE,
  OP_QUEUE_SLOT,
  OP_EJECT,
  OP_ACQUIRE,
  OP_CLOSE,
  OP_EXEC,
  OP_ERROR,
  OP_WAIT,
  OP_WAIT_CLOSED,
  OP_TOKEN_RETAIN,
  OP_TOKEN_RELEASE,
  OP_TOKEN_INFO,
  OP_START_DEQ,
  OP_NEXT,
  OP_STOP,
  OP_FREE,
  OP_ENTER,
  OP_EXIT,
  OP_EXIT_LATENCY,
  OP_RECORD,
  OP_POLICY,
  OP_SIGNAL,
  OP_WAIT_SIGNAL,
  OP_MGR_GET,
  OP_MGR_GET_BY_KEY,
  OP_MGR_DELETE,
  OP_MGR_DESTROY,
  OP_CALL_KEY,
  OP_QUEUE_KEY,
  OP_CANCEL_CREATE,
  OP_CANCEL_CANCEL,
  OP_CANCEL_RETAIN,
  OP_CANCEL_RELEASE,
  OP_ON_CANCEL,
  OP_UNREGISTER,
  OP_NULLS,
  OP_COUNT
};

static const char *const k_op_names[OP_COUNT] = {
    "queue_create",   "queue_retain",   "queue_release",
    "queue_slot",     "eject",          "acquire",
    "close",          "exec",           "error",
    "wait",           "wait_closed",    "token_retain",
    "token_release",  "token_info",     "start_dequeuer",
    "dequeuer_next",  "dequeuer_stop",  "dequeuer_free",
    "enter_state",    "exit_state",     "exit_state_latency",
    "record_latency", "policy",         "signal",
    "wait_signal",    "mgr_get",        "mgr_get_by_key",
    "mgr_delete",     "mgr_destroy",    "call_key",
    "queue_key",      "cancel_create",  "cancel_cancel",
    "cancel_retain",  "cancel_release", "on_cancel",
    "unregister",     "nulls"};

enum { kOnNoteFirstByte = 232, kArmFirstByte = 240 };

/* Before a signal: maybe change the queue's listener, maybe read its fd. */
static void signal_listener_step(slotq_queue_t *h, squeue *q, uint8_t f) {
  switch ((f >> 1) & 3) {
    case 1: /* a callback (replacing one keeps the eventfd); told of a pending signal */
      EXPECT_EQ(slotq_queue_set_signal_notify(h, cb_signal, q), SLOTQ_OK);
      q->listener = q->listener_fn = 1;
      if (q->sig_pending) {
        q->sig_notes_expected++;
        if (q->sig_fd >= 0) q->sig_fd_count++;
      }
      break;
    case 2: /* removed: callback and eventfd go */
      EXPECT_EQ(slotq_queue_set_signal_notify(h, NULL, NULL), SLOTQ_OK);
      q->listener = q->listener_fn = 0;
      q->sig_fd = -1;
      q->sig_fd_count = 0;
      break;
    case 3: { /* the eventfd: made on the first call, then the same one */
      int fd = -1;
      EXPECT_EQ(slotq_queue_signal_fd(h, &fd), SLOTQ_OK);
      EXPECT(fd >= 0);
      if (q->sig_fd >= 0) EXPECT_EQ(fd, q->sig_fd);
      if (q->sig_fd < 0) q->sig_fd_count = q->sig_pending ? 1 : 0; /* readable if pending */
      q->sig_fd = fd;
      q->listener = 1;
      break;
    }
    default:
      break;
  }
  if ((f & 8) && q->sig_fd >= 0) {
    uint64_t v = 0;
    ssize_t n = read(q->sig_fd, &v, sizeof v);
    if (q->sig_fd_count == 0) {
      EXPECT_EQ(n, -1); /* nonblocking, nothing counted */
    } else {
      EXPECT_EQ(n, (ssize_t)sizeof v);
      EXPECT_EQ(v, q->sig_fd_count);
    }
    q->sig_fd_count = 0;
  }
}

/* slotq_dequeuer_arm(): Dequeuer::Arm. */
static void do_arm(reader *r) {
  int di = PICK(r, g_d, deq_ok);
  if (di < 0) return;
  sdeq *d = &g_d[di];
  int rc = slotq_dequeuer_arm(d->h);
  if (d->armed) {
    EXPECT_EQ(rc, SLOTQ_OK); /* one notification is coming already */
    return;
  }
  if (d->handed >= 0 && g_t[d->handed].state != SLOTQ_TOKEN_LENT) {
    model_give_back(d, 1); /* ejected or acquired: not worth a notification */
  }
  squeue *q = &g_sq[d->sq];
  if (d->handed >= 0) {
    EXPECT_EQ(rc, SLOTQ_OK); /* uncollected: told again */
    model_note(d);
  } else if (d->stopped) {
    EXPECT_EQ(rc, SLOTQ_ESTOPPED);
    model_note(d);
  } else if (d->cancel >= 0 && cancel_reason(&g_c[d->cancel]) != SLOTQ_OK) {
    EXPECT_EQ(rc, SLOTQ_OK);
    model_note(d);
  } else if (q->depth > 0) {
    EXPECT_EQ(rc, SLOTQ_OK);
    int ti = stack_pop_lent(q);
    g_t[ti].handed_to = di;
    d->handed = ti;
    model_note(d);
  } else {
    EXPECT_EQ(rc, SLOTQ_OK);
    d->armed = 1;
    d->armed_seq = ++g_arm_seq;
  }
}

static int new_queue_entry(int sqi, slotq_queue_t *h) {
  int qi = FREE_INDEX(g_q, any_used_q);
  EXPECT(qi >= 0);
  g_q[qi].used = 1;
  g_q[qi].h = h;
  g_q[qi].sq = sqi;
  return qi;
}

/* A get through the manager: find or create, enter Waiter. */
static void do_mgr_get(const slotq_key *key, int rc, slotq_queue_t *h, int is_new) {
  int found = -1;
  for (int i = 0; i < MAXSQ; i++) {
    if (g_sq[i].used && g_sq[i].in_mgr && g_sq[i].key_len == SLOTQ_KEY_SIZE &&
        memcmp(g_sq[i].key, key->bytes, SLOTQ_KEY_SIZE) == 0) {
      found = i;
    }
  }
  EXPECT_EQ(rc, SLOTQ_OK);
  EXPECT_EQ(is_new, found < 0);
  int sqi = found;
  if (found < 0) {
    sqi = FREE_INDEX(g_sq, any_used_sq);
    squeue *q = &g_sq[sqi];
    memset(q, 0, sizeof *q);
    q->used = 1;
    q->sig_fd = -1;
    q->ptr = h;
    q->in_mgr = 1;
    q->handles = 1;
    memcpy(q->key, key->bytes, SLOTQ_KEY_SIZE);
    q->key_len = SLOTQ_KEY_SIZE;
  } else {
    EXPECT(g_sq[found].ptr == h);
  }
  g_sq[sqi].handles++;
  g_sq[sqi].states[SLOTQ_WAITER]++;
  new_queue_entry(sqi, h);
}

static int room_for_queue(void) {
  return FREE_INDEX(g_sq, any_used_sq) >= 0 && FREE_INDEX(g_q, any_used_q) >= 0;
}

static void step(reader *r) {
  size_t at = g_input_len - r->n; /* the op byte's offset, for traces */
  uint8_t b = u8(r);
  if (b >= kOnNoteFirstByte && b < kArmFirstByte) {
    /* What a dequeuer's notify callback does; like arming, it took byte
     * values of its own: the seventh of each of eight operations (eject to
     * token_retain), which now have six, as most others. */
    g_op = "dequeuer_on_note";
    if (g_trace) fprintf(stderr, "step %d: %s (op byte at %zu)\n", g_step, g_op, at);
    int di = PICK(r, g_d, deq_ok);
    if (di >= 0) g_d[di].on_note = u8(r) % NOTE_KINDS;
    return;
  }
  if (b >= kArmFirstByte) {
    /* Arming came later than the other operations: it takes the byte
     * values they left least used, so older corpus inputs keep their
     * meaning up to the first such byte. */
    g_op = "dequeuer_arm";
    if (g_trace) fprintf(stderr, "step %d: %s (op byte at %zu)\n", g_step, g_op, at);
    do_arm(r);
    return;
  }
  int op = b % OP_COUNT;
  g_op = k_op_names[op];
  if (g_trace) fprintf(stderr, "step %d: %s (op byte at %zu)\n", g_step, g_op, at);
  int rc;
  switch (op) {
    case OP_QUEUE_CREATE: {
      if (!room_for_queue()) return;
      unsigned char key[SLOTQ_MAX_QUEUE_KEY + 8];
      size_t len = u8(r) % (SLOTQ_MAX_QUEUE_KEY + 4);
      for (size_t i = 0; i < len; i++) key[i] = u8(r);
      int null_key = len != 0 && u8(r) % 8 == 0;
      slotq_queue_t *h = NULL;
      rc = slotq_queue_create(null_key ? NULL : key, len, &h);
      if (null_key || len > SLOTQ_MAX_QUEUE_KEY) {
        EXPECT_EQ(rc, SLOTQ_EINVAL);
        EXPECT(h == NULL);
        return;
      }
      EXPECT_EQ(rc, SLOTQ_OK);
      int sqi = FREE_INDEX(g_sq, any_used_sq);
      squeue *q = &g_sq[sqi];
      memset(q, 0, sizeof *q);
      q->used = 1;
      q->sig_fd = -1;
      q->ptr = h;
      q->handles = 1;
      memcpy(q->key, key, len);
      q->key_len = len;
      new_queue_entry(sqi, h);
      return;
    }
    case OP_QUEUE_RETAIN: {
      int qi = PICK(r, g_q, qref_ok);
      if (qi < 0 || FREE_INDEX(g_q, any_used_q) < 0) return;
      EXPECT_EQ(slotq_queue_retain(g_q[qi].h), SLOTQ_OK);
      g_sq[g_q[qi].sq].handles++;
      new_queue_entry(g_q[qi].sq, g_q[qi].h);
      return;
    }
    case OP_QUEUE_RELEASE: {
      int qi = PICK(r, g_q, qref_ok);
      if (qi < 0) return;
      slotq_queue_release(g_q[qi].h);
      g_q[qi].used = 0;
      model_drop_handle(g_q[qi].sq);
      return;
    }
    case OP_QUEUE_SLOT: {
      int qi = PICK(r, g_q, qref_ok);
      int ti = FREE_INDEX(g_t, any_used_t);
      if (qi < 0 || ti < 0) return;
      uint8_t shape = u8(r);
      slotq_token_t *h = NULL;
      if (shape == 0xff) { /* NULL ops */
        EXPECT_EQ(slotq_queue_slot(g_q[qi].h, NULL, NULL, &h), SLOTQ_EINVAL);
        EXPECT(h == NULL);
        return;
      }
      stoken *t = &g_t[ti];
      memset(t, 0, sizeof *t);
      t->slot.idx = ti;
      t->slot.close_rc = (shape & 1) ? -(int)(shape >> 4) : 0;
      t->slot.exec_rc = (shape & 2) ? 1 + (shape >> 5) : 0;
      t->slot.error_rc = (shape & 4) ? 7 : 0;
      t->slot.exec_closes_self = (shape & 8) != 0 && (shape & 0x10) != 0;
      if ((shape & 0x60) == 0x60) {
        int ci = PICK(r, g_c, cancel_ok);
        if (ci >= 0) {
          t->slot.close_cancels = 1;
          t->slot.close_target = ci;
          EXPECT_EQ(slotq_cancel_retain(g_c[ci].h), SLOTQ_OK); /* the slot's own reference */
        }
      }
      rc = slotq_queue_slot(g_q[qi].h, &t->slot, &g_ops, &h);
      EXPECT_EQ(rc, SLOTQ_OK);
      squeue *q = &g_sq[g_q[qi].sq];
      t->used = 1;
      t->h = h;
      t->sq = g_q[qi].sq;
      t->state = SLOTQ_TOKEN_QUEUED;
      t->lent_to = -1;
      t->handed_to = -1;
      t->user_refs = 1;
      t->id = q->next_id++;
      model_hand_or_push(ti); /* to the dequeuer armed longest, if any */
      uint64_t id = 99;
      EXPECT_EQ(slotq_token_id(h, &id), SLOTQ_OK);
      EXPECT_EQ(id, t->id);
      return;
    }
    case OP_EJECT: {
      int qi = PICK(r, g_q, qref_ok);
      int ti = PICK(r, g_t, tok_ok);
      if (qi < 0 || ti < 0) return;
      stoken *t = &g_t[ti];
      rc = slotq_eject(g_q[qi].h, t->h);
      if (g_q[qi].sq != t->sq) {
        EXPECT_EQ(rc, SLOTQ_EWRONGQUEUE);
      } else if (t->state == SLOTQ_TOKEN_QUEUED || t->state == SLOTQ_TOKEN_LENT) {
        EXPECT_EQ(rc, SLOTQ_OK);
        if (t->state == SLOTQ_TOKEN_QUEUED) stack_remove(&g_sq[t->sq], ti);
        t->state = SLOTQ_TOKEN_EJECTED;
        model_close_effects(t);
      } else {
        EXPECT_EQ(rc, SLOTQ_EGONE);
      }
      return;
    }
    case OP_ACQUIRE: {
      int ti = PICK(r, g_t, tok_ok);
      if (ti < 0) return;
      stoken *t = &g_t[ti];
      rc = slotq_token_acquire(t->h);
      if (t->state == SLOTQ_TOKEN_QUEUED || t->state == SLOTQ_TOKEN_LENT) {
        EXPECT_EQ(rc, SLOTQ_OK);
        if (t->state == SLOTQ_TOKEN_QUEUED) stack_remove(&g_sq[t->sq], ti);
        t->state = SLOTQ_TOKEN_ACQUIRED;
      } else {
        EXPECT_EQ(rc, SLOTQ_EGONE);
      }
      return;
    }
    case OP_CLOSE: {
      int ti = PICK(r, g_t, tok_ok);
      if (ti < 0) return;
      stoken *t = &g_t[ti];
      int crc = 12345;
      rc = slotq_token_close(t->h, u8(r) & 1 ? NULL : &crc);
      if (t->state == SLOTQ_TOKEN_QUEUED || t->state == SLOTQ_TOKEN_LENT) {
        EXPECT_EQ(rc, SLOTQ_ESTATE);
      } else if (t->closes != 0) {
        EXPECT_EQ(rc, SLOTQ_EGONE);
      } else {
        EXPECT_EQ(rc, SLOTQ_OK);
        model_close_effects(t);
        if (crc != 12345) EXPECT_EQ(crc, t->slot.close_rc);
      }
      return;
    }
    case OP_EXEC: {
      int ti = PICK(r, g_t, tok_ok);
      if (ti < 0) return;
      stoken *t = &g_t[ti];
      int ci = pick_opt_cancel(r);
      int erc = 12345;
      int execs = t->slot.execs;
      t->slot.exec_cancel_seen = NULL;
      rc = slotq_token_exec(t->h, cancel_handle(ci), NULL, &erc);
      if (t->state != SLOTQ_TOKEN_ACQUIRED || t->closes != 0) {
        EXPECT_EQ(rc, SLOTQ_ESTATE);
        EXPECT_EQ(t->slot.execs, execs);
        return;
      }
      EXPECT_EQ(rc, t->slot.exec_rc == 0 ? SLOTQ_OK : SLOTQ_ECALLBACK);
      EXPECT_EQ(erc, t->slot.exec_rc);
      EXPECT_EQ(t->slot.execs, execs + 1);
      EXPECT(t->slot.exec_cancel_seen == cancel_handle(ci));
      if (t->slot.exec_closes_self) {
        EXPECT_EQ(t->slot.exec_close_rc, SLOTQ_OK);
        model_close_effects(t);
      }
      squeue *q = &g_sq[t->sq];
      q->lat_count[SLOTQ_RUNNER] += 1; /* entered and left Runner, timed */
      q->runner_lat_unknown = 1;
      return;
    }
    case OP_ERROR: {
      int ti = PICK(r, g_t, tok_ok);
      if (ti < 0) return;
      int err = -1;
      EXPECT_EQ(slotq_token_error(g_t[ti].h, &err), SLOTQ_OK);
      EXPECT_EQ(err, g_t[ti].slot.error_rc);
      return;
    }
    case OP_WAIT:
    case OP_WAIT_CLOSED: {
      int ti = PICK(r, g_t, tok_ok);
      if (ti < 0) return;
      stoken *t = &g_t[ti];
      int ci = pick_opt_cancel(r);
      int ready;
      if (op == OP_WAIT) {
        int st = -1;
        rc = slotq_token_wait(t->h, 0, cancel_handle(ci), &st);
        EXPECT_EQ(st, t->state);
        ready =
            t->state == SLOTQ_TOKEN_ACQUIRED || (t->state > SLOTQ_TOKEN_ACQUIRED && t->closes != 0);
      } else {
        rc = slotq_token_wait_closed(t->h, 0, cancel_handle(ci));
        ready = t->closes != 0;
      }
      if (ready) {
        EXPECT_EQ(rc, SLOTQ_OK);
      } else if (ci >= 0) {
        model_touch(ci); /* BlockOn registers on it */
        EXPECT_EQ(rc, cancel_reason(&g_c[ci]) != SLOTQ_OK ? SLOTQ_ECANCELED : SLOTQ_ETIMEDOUT);
      } else {
        EXPECT_EQ(rc, SLOTQ_ETIMEDOUT);
      }
      return;
    }
    case OP_TOKEN_RETAIN: {
      int ti = PICK(r, g_t, tok_ok);
      if (ti < 0) return;
      EXPECT_EQ(slotq_token_retain(g_t[ti].h), SLOTQ_OK);
      g_t[ti].user_refs++;
      return;
    }
    case OP_TOKEN_RELEASE: {
      int ti = PICK(r, g_t, tok_ok);
      if (ti < 0) return;
      slotq_token_release(g_t[ti].h);
      g_t[ti].user_refs--;
      return;
    }
    case OP_TOKEN_INFO: {
      int ti = PICK(r, g_t, tok_ok);
      if (ti < 0) return;
      void *slot = NULL;
      uint64_t id = 99;
      EXPECT_EQ(slotq_token_slot(g_t[ti].h, &slot), SLOTQ_OK);
      EXPECT(slot == &g_t[ti].slot);
      EXPECT_EQ(slotq_token_id(g_t[ti].h, &id), SLOTQ_OK);
      EXPECT_EQ(id, g_t[ti].id);
      return;
    }
    case OP_START_DEQ: {
      int qi = PICK(r, g_q, qref_ok);
      int di = FREE_INDEX(g_d, any_used_d);
      if (qi < 0 || di < 0) return;
      int ci = pick_opt_cancel(r);
      slotq_dequeuer_t *h = NULL;
      EXPECT_EQ(slotq_start_dequeuer(g_q[qi].h, cancel_handle(ci), &h), SLOTQ_OK);
      model_touch(ci); /* the dequeuer registers on its token */
      sdeq *d = &g_d[di];
      d->used = 1;
      d->h = h;
      d->sq = g_q[qi].sq;
      d->stopped = 0;
      d->cancel = ci;
      d->seq = ++g_seq;
      d->fired_seen = 0;
      d->lent = -1;
      d->armed = 0;
      d->handed = -1;
      d->notes = d->notes_expected = 0;
      d->on_note = NOTE_COUNT;
      EXPECT_EQ(slotq_dequeuer_set_notify(h, cb_notify, d), SLOTQ_OK);
      g_sq[d->sq].handles++;
      return;
    }
    case OP_NEXT: {
      int di = PICK(r, g_d, deq_ok);
      if (di < 0) return;
      sdeq *d = &g_d[di];
      int ci = pick_opt_cancel(r);
      slotq_token_t *h = NULL;
      int bad_timeout = u8(r) % 16 == 0;
      if (bad_timeout) {
        EXPECT_EQ(slotq_dequeuer_next(d->h, -2, NULL, &h), SLOTQ_EINVAL);
        return;
      }
      rc = slotq_dequeuer_next(d->h, 0, cancel_handle(ci), &h);
      model_next(di, ci, rc, h);
      return;
    }
    case OP_STOP: {
      int di = PICK(r, g_d, deq_ok);
      if (di < 0) return;
      sdeq *d = &g_d[di];
      rc = slotq_dequeuer_stop(d->h);
      EXPECT_EQ(rc, d->stopped ? SLOTQ_ESTOPPED : SLOTQ_OK);
      /* slotq.h: "a lent, unacquired token goes back to the queue", as
       * does one handed to it while armed; an armed one is notified. */
      if (!d->stopped) model_stop(d, 1);
      d->stopped = 1;
      return;
    }
    case OP_FREE: {
      int di = PICK(r, g_d, deq_ok);
      if (di < 0) return;
      sdeq *d = &g_d[di];
      slotq_dequeuer_free(d->h);
      d->stopped = 1;
      model_stop(d, 0); /* freeing notifies nobody */
      d->used = 0;
      model_drop_handle(d->sq);
      return;
    }
    case OP_ENTER:
    case OP_EXIT:
    case OP_EXIT_LATENCY:
    case OP_RECORD: {
      int qi = PICK(r, g_q, qref_ok);
      if (qi < 0) return;
      int s = (int)(u8(r) % 6) - 1; /* -1 .. 4: two invalid */
      uint64_t lat = u64(r);
      squeue *q = &g_sq[g_q[qi].sq];
      slotq_queue_t *h = g_q[qi].h;
      if (op == OP_ENTER)
        rc = slotq_queue_enter_state(h, s);
      else if (op == OP_EXIT)
        rc = slotq_queue_exit_state(h, s);
      else if (op == OP_EXIT_LATENCY)
        rc = slotq_queue_exit_state_latency(h, s, lat);
      else
        rc = slotq_queue_record_latency(h, s, lat);
      if (s < 0 || s >= SLOTQ_STATE_COUNT) {
        EXPECT_EQ(rc, SLOTQ_EINVAL);
        return;
      }
      if (op == OP_ENTER) {
        EXPECT_EQ(rc, SLOTQ_OK);
        q->states[s]++;
      } else if (op == OP_RECORD) {
        EXPECT_EQ(rc, SLOTQ_OK);
        stats_record(q, s, lat);
      } else if (q->states[s] == 0) {
        EXPECT_EQ(rc, SLOTQ_ESTATE); /* underflow changes nothing */
      } else {
        EXPECT_EQ(rc, SLOTQ_OK);
        q->states[s]--;
        if (op == OP_EXIT_LATENCY) stats_record(q, s, lat);
      }
      return;
    }
    case OP_POLICY: {
      int qi = PICK(r, g_q, qref_ok);
      if (qi < 0) return;
      int needed = -1;
      slotq_stats st;
      EXPECT_EQ(slotq_queue_is_new_container_needed(g_q[qi].h, &needed, u8(r) & 1 ? NULL : &st),
                SLOTQ_OK);
      EXPECT_EQ(slotq_queue_stats(g_q[qi].h, &st), SLOTQ_OK);
      EXPECT_EQ(needed, seed_policy(&st));
      return;
    }
    case OP_SIGNAL: {
      int qi = PICK(r, g_q, qref_ok);
      if (qi < 0) return;
      int sent = -1;
      squeue *q = &g_sq[g_q[qi].sq];
      uint8_t f = u8(r); /* bit 0: no `sent`; bits 1-2: listener change; bit 3: read the fd */
      signal_listener_step(g_q[qi].h, q, f);
      EXPECT_EQ(slotq_queue_signal(g_q[qi].h, f & 1 ? NULL : &sent), SLOTQ_OK);
      if (sent != -1) EXPECT_EQ(sent, !q->sig_pending);
      if (!q->sig_pending && q->listener) {
        if (q->listener_fn) q->sig_notes_expected++;
        if (q->sig_fd >= 0) q->sig_fd_count++;
      }
      q->sig_pending = 1;
      return;
    }
    case OP_WAIT_SIGNAL: {
      int qi = PICK(r, g_q, qref_ok);
      if (qi < 0) return;
      int ci = pick_opt_cancel(r);
      squeue *q = &g_sq[g_q[qi].sq];
      rc = slotq_queue_wait_signal(g_q[qi].h, 0, cancel_handle(ci));
      if (q->sig_pending) {
        EXPECT_EQ(rc, SLOTQ_OK);
        q->sig_pending = 0;
      } else if (ci >= 0) {
        model_touch(ci);
        EXPECT_EQ(rc, cancel_reason(&g_c[ci]) != SLOTQ_OK ? SLOTQ_ECANCELED : SLOTQ_ETIMEDOUT);
      } else {
        EXPECT_EQ(rc, SLOTQ_ETIMEDOUT);
      }
      return;
    }
    case OP_MGR_GET:
    case OP_CALL_KEY: {
      call_store cs;
      slotq_call call;
      gen_call(r, &cs, &call);
      slotq_key want, got;
      int wrc = ref_key(&call, &want);
      rc = slotq_call_key(&call, &got);
      EXPECT_EQ(rc, wrc);
      if (rc == SLOTQ_OK) {
        EXPECT(memcmp(got.bytes, want.bytes, SLOTQ_KEY_SIZE) == 0);
        /* Any order of the config entries gives the same key. */
        if (call.config_len > 1) {
          slotq_kv rev[6];
          for (size_t i = 0; i < call.config_len; i++)
            rev[i] = call.config[call.config_len - 1 - i];
          slotq_call c2 = call;
          c2.config = rev;
          slotq_key k2;
          EXPECT_EQ(slotq_call_key(&c2, &k2), SLOTQ_OK);
          EXPECT(memcmp(k2.bytes, want.bytes, SLOTQ_KEY_SIZE) == 0);
        }
        char hex[41];
        EXPECT_EQ(slotq_key_hex(&got, hex), SLOTQ_OK);
        EXPECT_EQ(strlen(hex), 40);
        for (int i = 0; i < SLOTQ_KEY_SIZE; i++) {
          static const char digits[] = "0123456789abcdef";
          EXPECT_EQ(hex[2 * i], digits[got.bytes[i] >> 4]);
          EXPECT_EQ(hex[2 * i + 1], digits[got.bytes[i] & 15]);
        }
      }
      if (op == OP_CALL_KEY) return;
      if (!room_for_queue()) return;
      slotq_queue_t *h = NULL;
      int is_new = -1;
      rc = slotq_mgr_get(g_mgr, &call, &h, &is_new);
      if (wrc != SLOTQ_OK) {
        EXPECT_EQ(rc, wrc);
        EXPECT(h == NULL);
        return;
      }
      do_mgr_get(&want, rc, h, is_new);
      return;
    }
    case OP_MGR_GET_BY_KEY: {
      if (!room_for_queue()) return;
      slotq_key key;
      int from = PICK(r, g_q, qref_ok);
      if (from >= 0 && (u8(r) & 1) && g_sq[g_q[from].sq].key_len == SLOTQ_KEY_SIZE) {
        memcpy(key.bytes, g_sq[g_q[from].sq].key, SLOTQ_KEY_SIZE);
      } else {
        for (int i = 0; i < SLOTQ_KEY_SIZE; i++) key.bytes[i] = u8(r) % 4;
      }
      slotq_queue_t *h = NULL;
      int is_new = -1;
      rc = slotq_mgr_get_by_key(g_mgr, &key, &h, &is_new);
      do_mgr_get(&key, rc, h, is_new);
      return;
    }
    case OP_MGR_DELETE: {
      int qi = PICK(r, g_q, qref_ok);
      if (qi < 0) return;
      squeue *q = &g_sq[g_q[qi].sq];
      rc = slotq_mgr_delete(g_mgr, g_q[qi].h);
      if (!q->in_mgr) {
        EXPECT_EQ(rc, SLOTQ_ENOTFOUND);
      } else if (q->states[0] || q->states[1] || q->states[2]) {
        EXPECT_EQ(rc, SLOTQ_EBUSY);
      } else {
        EXPECT_EQ(rc, SLOTQ_OK);
        q->in_mgr = 0;
        model_drop_handle(g_q[qi].sq);
      }
      return;
    }
    case OP_MGR_DESTROY: {
      slotq_mgr_destroy(g_mgr);
      g_mgr = NULL;
      for (int i = 0; i < MAXSQ; i++) {
        if (g_sq[i].used && g_sq[i].in_mgr) {
          g_sq[i].in_mgr = 0;
          model_drop_handle(i);
        }
      }
      EXPECT_EQ(slotq_mgr_create(&g_mgr), SLOTQ_OK);
      return;
    }
    case OP_QUEUE_KEY: {
      int qi = PICK(r, g_q, qref_ok);
      if (qi < 0) return;
      squeue *q = &g_sq[g_q[qi].sq];
      unsigned char out[SLOTQ_MAX_QUEUE_KEY];
      size_t cap = u8(r) % (SLOTQ_MAX_QUEUE_KEY + 1), len = 999;
      int null_buf = cap == 0 && (u8(r) & 1);
      rc = slotq_queue_key(g_q[qi].h, null_buf ? NULL : out, cap, &len);
      if (!null_buf && cap < q->key_len) {
        EXPECT_EQ(rc, SLOTQ_EINVAL);
        return;
      }
      EXPECT_EQ(rc, SLOTQ_OK);
      EXPECT_EQ(len, q->key_len);
      if (!null_buf && q->key_len != 0) EXPECT(memcmp(out, q->key, q->key_len) == 0);
      return;
    }
    case OP_CANCEL_CREATE: {
      int ci = FREE_INDEX(g_c, any_used_c);
      if (ci < 0) return;
      uint8_t kind = u8(r) % 5;
      /* A future deadline makes the library's timer thread hold the token
       * past the input, which sends libFuzzer into a leak scan: keep it rare. */
      if (kind == 3 && u8(r) % 4 != 0) kind = 0;
      int parent = kind == 1 || kind == 4 ? PICK(r, g_c, cancel_ok) : -1;
      slotq_cancel_t *h = NULL;
      scancel *c = &g_c[ci];
      memset(c, 0, sizeof *c);
      c->parent = -1;
      if (kind == 0 || (kind == 1 && parent < 0)) {
        EXPECT_EQ(slotq_cancel_create(&h), SLOTQ_OK);
      } else if (kind == 1) {
        EXPECT_EQ(slotq_cancel_create_child(g_c[parent].h, &h), SLOTQ_OK);
      } else {
        int past = kind != 3;
        int64_t deadline =
            past ? slotq_now_ns() - 1 - (int64_t)u8(r) : slotq_now_ns() + 30LL * 1000000000LL;
        EXPECT_EQ(slotq_cancel_create_deadline(parent >= 0 ? g_c[parent].h : NULL, deadline, &h),
                  SLOTQ_OK);
        c->deadline_past = past;
        c->future_deadline = !past;
      }
      c->used = 1;
      c->h = h;
      c->user_refs = 1;
      if (kind == 1 || kind == 4) c->parent = parent;
      c->seq = ++g_seq;
      if (c->parent >= 0) {
        scancel *p = &g_c[c->parent];
        c->deadline_past |= p->deadline_past;
        c->future_deadline |= p->future_deadline && !c->deadline_past;
        /* CancelToken::Create registers on the parent: a fired (or past
         * deadline) parent fires the child at once. */
        model_touch(c->parent);
        if (p->reason_fired != 0) model_fire(ci, p->reason_fired);
      }
      c->fired_before_step = c->reason_fired != 0;
      return;
    }
    case OP_CANCEL_CANCEL: {
      int ci = PICK(r, g_c, cancel_ok);
      if (ci < 0) return;
      EXPECT_EQ(slotq_cancel_cancel(g_c[ci].h), SLOTQ_OK);
      model_cancel(ci);
      return;
    }
    case OP_CANCEL_RETAIN: {
      int ci = PICK(r, g_c, cancel_ok);
      if (ci < 0) return;
      EXPECT_EQ(slotq_cancel_retain(g_c[ci].h), SLOTQ_OK);
      g_c[ci].user_refs++;
      return;
    }
    case OP_CANCEL_RELEASE: {
      int ci = PICK(r, g_c, cancel_ok);
      if (ci < 0) return;
      slotq_cancel_release(g_c[ci].h);
      g_c[ci].user_refs--;
      return;
    }
    case OP_ON_CANCEL: {
      int ci = PICK(r, g_c, cancel_ok);
      int ri = FREE_INDEX(g_r, any_used_r);
      if (ci < 0 || ri < 0) return;
      /* A future deadline would start the timer thread: not in this fuzzer. */
      if (g_c[ci].future_deadline) return;
      sreg *reg = &g_r[ri];
      memset(reg, 0, sizeof *reg);
      reg->used = 1;
      reg->cancel = ci;
      reg->seq = ++g_seq;
      reg->variant = u8(r) % 4;
      if (reg->variant == 1) {
        reg->target = PICK(r, g_c, cancel_ok);
        if (reg->target < 0)
          reg->variant = 0;
        else
          EXPECT_EQ(slotq_cancel_retain(g_c[reg->target].h), SLOTQ_OK);
      }
      if (reg->variant == 3) {
        EXPECT_EQ(slotq_cancel_retain(g_c[ci].h), SLOTQ_OK);
        reg->owns_self_ref = 1;
      }
      rc = slotq_cancel_on_cancel(g_c[ci].h, cb_cancel, reg, &reg->h);
      EXPECT_EQ(rc, SLOTQ_OK);
      model_touch(ci);
      if (cancel_reason(&g_c[ci]) != SLOTQ_OK) {
        /* Already fired: it ran on this thread. */
        reg->ran = 1;
        if (reg->variant == 1) model_cancel(reg->target);
        if (reg->variant >= 2) reg->gone = 1;
      }
      return;
    }
    case OP_UNREGISTER: {
      int ri = PICK(r, g_r, reg_ok);
      if (ri < 0) return;
      sreg *reg = &g_r[ri];
      int ran = -1;
      EXPECT_EQ(slotq_cancel_unregister(reg->h, u8(r) & 1 ? NULL : &ran), SLOTQ_OK);
      if (ran != -1) EXPECT_EQ(ran, reg->ran);
      reg->gone = 1;
      reg->h = NULL;
      if (reg->owns_self_ref) {
        reg->owns_self_ref = 0;
        slotq_cancel_release(g_c[reg->cancel].h);
      }
      return;
    }
    case OP_NULLS: {
      /* NULL handles and outputs: EINVAL, nothing written, nothing changed. */
      int qi = PICK(r, g_q, qref_ok);
      int ti = PICK(r, g_t, tok_ok);
      slotq_token_t *tk = NULL;
      slotq_dequeuer_t *dq = NULL;
      EXPECT_EQ(slotq_dequeuer_next(NULL, 0, NULL, &tk), SLOTQ_EINVAL);
      EXPECT_EQ(slotq_token_acquire(NULL), SLOTQ_EINVAL);
      EXPECT_EQ(slotq_eject(NULL, NULL), SLOTQ_EINVAL);
      EXPECT_EQ(slotq_mgr_delete(g_mgr, NULL), SLOTQ_EINVAL);
      if (qi >= 0) {
        EXPECT_EQ(slotq_queue_slot(g_q[qi].h, NULL, &g_ops, NULL), SLOTQ_EINVAL);
        EXPECT_EQ(slotq_start_dequeuer(g_q[qi].h, NULL, NULL), SLOTQ_EINVAL);
        EXPECT_EQ(slotq_eject(g_q[qi].h, NULL), SLOTQ_EINVAL);
        EXPECT_EQ(slotq_queue_stats(g_q[qi].h, NULL), SLOTQ_EINVAL);
      }
      if (ti >= 0) {
        EXPECT_EQ(slotq_token_state_get(g_t[ti].h, NULL, NULL), SLOTQ_EINVAL);
        EXPECT_EQ(slotq_token_wait(g_t[ti].h, -5, NULL, NULL), SLOTQ_EINVAL);
        EXPECT_EQ(slotq_token_error(g_t[ti].h, NULL), SLOTQ_EINVAL);
      }
      EXPECT(tk == NULL && dq == NULL);
      slotq_queue_release(NULL);
      slotq_token_release(NULL);
      slotq_dequeuer_free(NULL);
      slotq_cancel_release(NULL);
      return;
    }
    default:
      return;
  }
}

/* Frees everything left, in an order a host might, checking on the way. */
static void teardown(void) {
  g_op = "teardown";
  for (int i = 0; i < MAXD; i++) {
    if (!g_d[i].used) continue;
    slotq_dequeuer_free(g_d[i].h);
    model_stop(&g_d[i], 0);
    g_d[i].used = 0;
    model_drop_handle(g_d[i].sq);
    finish_note_acts(); /* slots given back may go to armed dequeuers left */
  }
  check_all();
  for (int i = 0; i < MAXQR; i++) {
    if (!g_q[i].used) continue;
    slotq_queue_release(g_q[i].h);
    g_q[i].used = 0;
    model_drop_handle(g_q[i].sq);
  }
  check_all();
  slotq_mgr_destroy(g_mgr);
  g_mgr = NULL;
  for (int i = 0; i < MAXSQ; i++) {
    if (g_sq[i].used && g_sq[i].in_mgr) {
      g_sq[i].in_mgr = 0;
      model_drop_handle(i);
    }
  }
  check_all();
  /* Every queue is gone: no slot is still idle or lent. Each ended one way. */
  for (int i = 0; i < MAXT; i++) {
    stoken *t = &g_t[i];
    if (!t->used) continue;
    EXPECT(!t->on_stack && t->lent_to < 0 && t->handed_to < 0);
    EXPECT(t->state == SLOTQ_TOKEN_ACQUIRED || t->state == SLOTQ_TOKEN_EJECTED ||
           t->state == SLOTQ_TOKEN_DISCARDED);
    while (t->user_refs > 0) {
      slotq_token_release(t->h);
      t->user_refs--;
    }
  }
  check_all();
  for (int i = 0; i < MAXR; i++) {
    sreg *reg = &g_r[i];
    if (!reg->used || reg->gone) continue;
    int ran = -1;
    EXPECT_EQ(slotq_cancel_unregister(reg->h, &ran), SLOTQ_OK);
    EXPECT_EQ(ran, reg->ran);
    reg->gone = 1;
    if (reg->owns_self_ref) slotq_cancel_release(g_c[reg->cancel].h);
  }
  for (int i = 0; i < MAXR; i++) {
    if (g_r[i].used && g_r[i].variant == 1) slotq_cancel_release(g_c[g_r[i].target].h);
  }
  for (int i = 0; i < MAXC; i++) {
    while (g_c[i].used && g_c[i].user_refs > 0) {
      slotq_cancel_release(g_c[i].h);
      g_c[i].user_refs--;
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) {
    g_trace = getenv("SLOTQ_FUZZ_TRACE") != NULL;
    init = 1;
  }
  memset(g_t, 0, sizeof g_t);
  memset(g_sq, 0, sizeof g_sq);
  memset(g_q, 0, sizeof g_q);
  memset(g_d, 0, sizeof g_d);
  memset(g_c, 0, sizeof g_c);
  memset(g_r, 0, sizeof g_r);
  g_seq = 0;
  g_arm_seq = 0;
  g_nacts = g_acts_done = g_notes_made = g_notes_model = 0;
  g_input = data;
  g_input_len = size;
  g_op = "setup";
  g_step = 0;
  if (slotq_mgr_create(&g_mgr) != SLOTQ_OK) abort();
  reader r = {data, size};
  while (r.n > 0 && g_step < MAXSTEPS) {
    step(&r);
    finish_note_acts();
    check_all();
    g_step++;
  }
  teardown();
  return 0;
}
