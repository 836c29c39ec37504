/*
 * The checks every consumer program runs: one life of a few slots through the
 * public API, with every result checked.
 *
 * Shared by the programs of run.sh. Each names library functions through
 * SQ(name): the linked consumers define it as the function itself, the dlopen
 * consumer as the pointer it resolved with dlsym(), so the same checks run
 * either way. Include it after slotq.h and the definition of SQ.
 */
#ifndef SLOTQ_CONSUMERS_CYCLE_H
#define SLOTQ_CONSUMERS_CYCLE_H

#include <stdio.h>
#include <string.h>

#include "slotq.h"

#ifndef SQ
#error "define SQ(name) before including cycle.h"
#endif

static int cycle_failures = 0;

/* Records a failure (with the call and both statuses) but keeps going, so one
 * run shows every problem. */
#define EXPECT_STATUS(expected, call)                                                              \
  do {                                                                                             \
    int rc_ = (call);                                                                              \
    if (rc_ != (expected)) {                                                                       \
      fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d\n", __FILE__, __LINE__, #call, rc_, \
              SQ(slotq_status_name)(rc_), (int)(expected));                                        \
      cycle_failures++;                                                                            \
    }                                                                                              \
  } while (0)
#define EXPECT_OK(call) EXPECT_STATUS(SLOTQ_OK, call)
#define EXPECT(cond)                                                      \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
      cycle_failures++;                                                   \
    }                                                                     \
  } while (0)

/* A slot that counts what the library does to it. */
struct cycle_slot {
  const char *name;
  int execs, closes, releases, triggers, last_trigger;
  int error_code; /* what its error callback reports */
  void *last_call_arg;
};

static int cycle_exec(void *slot, slotq_cancel_t *cancel, void *call_arg) {
  struct cycle_slot *s = (struct cycle_slot *)slot;
  (void)cancel;
  s->execs++;
  s->last_call_arg = call_arg;
  return 0;
}
static int cycle_close(void *slot) {
  ((struct cycle_slot *)slot)->closes++;
  return 0;
}
static int cycle_error(void *slot) { return ((struct cycle_slot *)slot)->error_code; }
static void cycle_release(void *slot) { ((struct cycle_slot *)slot)->releases++; }
static void cycle_trigger(void *slot, int state) {
  struct cycle_slot *s = (struct cycle_slot *)slot;
  s->triggers++;
  s->last_trigger = state;
}

static const slotq_slot_ops cycle_ops = {cycle_exec, cycle_close, cycle_error, cycle_release,
                                         cycle_trigger};

static void *cycle_token_slot(slotq_token_t *t) {
  void *p = NULL;
  EXPECT_OK(SQ(slotq_token_slot)(t, &p));
  return p;
}

static int cycle_token_state(slotq_token_t *t) {
  int st = -1;
  EXPECT_OK(SQ(slotq_token_state_get)(t, &st, NULL));
  return st;
}

/* Version, statuses and the slot key of the seed's empty call. */
static void cycle_basics(void) {
  slotq_call call;
  slotq_key key;
  char hex[2 * SLOTQ_KEY_SIZE + 1];

  EXPECT(SQ(slotq_version)() == SLOTQ_VERSION_NUMBER);
  EXPECT(SQ(slotq_version_string)() != NULL);
  EXPECT(strcmp(SQ(slotq_strerror)(SLOTQ_ETIMEDOUT), "timed out") == 0);
  EXPECT(strcmp(SQ(slotq_status_name)(SLOTQ_EGONE), "SLOTQ_EGONE") == 0);
  EXPECT(SQ(slotq_now_ns)() > 0);

  memset(&call, 0, sizeof call);
  EXPECT_OK(SQ(slotq_call_key)(&call, &key));
  EXPECT_OK(SQ(slotq_key_hex)(&key, hex));
  EXPECT(strcmp(hex, "bb7a95e878c088a5ae0cb80872a702214a890908") == 0);
}

/* The slot cycle: queue, dequeue (LIFO), acquire once, exec, close once, eject
 * once, ejected slots skipped, a lent slot ejected fails to acquire. */
static void cycle_slots(void) {
  struct cycle_slot a = {"a", 0, 0, 0, 0, -1, 7, NULL};
  struct cycle_slot b = {"b", 0, 0, 0, 0, -1, 0, NULL};
  struct cycle_slot c = {"c", 0, 0, 0, 0, -1, 0, NULL};
  slotq_queue_t *q = NULL;
  slotq_dequeuer_t *d = NULL;
  slotq_token_t *ta = NULL, *tb = NULL, *tc = NULL, *got = NULL, *got_c = NULL, *none = NULL;
  slotq_stats st;
  uint64_t id = 99;
  size_t len = 99;
  int rc = -1, err = -1, sent = -1, closed = -1, state = -1;
  int request = 42;

  EXPECT_OK(SQ(slotq_queue_create)("consumer", 8, &q));
  if (q == NULL) return;
  EXPECT_OK(SQ(slotq_queue_slot)(q, &a, &cycle_ops, &ta));
  EXPECT_OK(SQ(slotq_queue_slot)(q, &b, &cycle_ops, &tb));
  if (ta == NULL || tb == NULL) return;
  EXPECT_OK(SQ(slotq_token_id)(ta, &id));
  EXPECT(id == 0);
  EXPECT_OK(SQ(slotq_token_id)(tb, &id));
  EXPECT(id == 1);
  EXPECT_OK(SQ(slotq_queue_len)(q, &len));
  EXPECT(len == 2);

  EXPECT_OK(SQ(slotq_start_dequeuer)(q, NULL, &d));
  if (d == NULL) return;
  EXPECT_OK(SQ(slotq_dequeuer_next)(d, 0, NULL, &got));
  if (got == NULL) return;
  EXPECT(cycle_token_slot(got) == &b); /* LIFO: the newest first */
  EXPECT(cycle_token_state(got) == SLOTQ_TOKEN_LENT);
  EXPECT_OK(SQ(slotq_token_acquire)(got));
  EXPECT_STATUS(SLOTQ_EGONE, SQ(slotq_token_acquire)(got)); /* only once */
  EXPECT_STATUS(SLOTQ_EGONE, SQ(slotq_eject)(q, tb));       /* a caller has it */
  EXPECT(b.triggers == 1 && b.last_trigger == SLOTQ_TOKEN_ACQUIRED);
  EXPECT_OK(SQ(slotq_token_wait)(tb, 0, NULL, &state)); /* the container sees it */
  EXPECT(state == SLOTQ_TOKEN_ACQUIRED);

  EXPECT_OK(SQ(slotq_token_exec)(got, NULL, &request, &rc));
  EXPECT(rc == 0 && b.execs == 1 && b.last_call_arg == &request);
  EXPECT_OK(SQ(slotq_token_error)(got, &err));
  EXPECT(err == 0);
  EXPECT_OK(SQ(slotq_token_close)(got, &rc));
  EXPECT_STATUS(SLOTQ_EGONE, SQ(slotq_token_close)(got, &rc)); /* only once */
  EXPECT(b.closes == 1);
  EXPECT_OK(SQ(slotq_token_wait_closed)(tb, 0, NULL));

  EXPECT_OK(SQ(slotq_token_error)(ta, &err));
  EXPECT(err == 7);
  EXPECT_OK(SQ(slotq_eject)(q, ta));
  EXPECT_STATUS(SLOTQ_EGONE, SQ(slotq_eject)(q, ta)); /* only once */
  EXPECT(a.closes == 1 && a.triggers == 1 && a.last_trigger == SLOTQ_TOKEN_EJECTED);
  EXPECT_OK(SQ(slotq_token_state_get)(ta, &state, &closed));
  EXPECT(state == SLOTQ_TOKEN_EJECTED && closed == 1);
  EXPECT_STATUS(SLOTQ_EGONE, SQ(slotq_token_acquire)(ta));
  EXPECT_STATUS(SLOTQ_ETIMEDOUT, SQ(slotq_dequeuer_next)(d, 0, NULL, &none)); /* skipped */
  EXPECT_STATUS(SLOTQ_ETIMEDOUT, SQ(slotq_dequeuer_next)(d, 1000000, NULL, &none));
  EXPECT(none == NULL);

  /* Ejected after it was handed out: the acquire fails. */
  EXPECT_OK(SQ(slotq_queue_slot)(q, &c, &cycle_ops, &tc));
  EXPECT_OK(SQ(slotq_dequeuer_next)(d, 0, NULL, &got_c));
  if (got_c != NULL) {
    EXPECT(cycle_token_slot(got_c) == &c);
    EXPECT_OK(SQ(slotq_eject)(q, tc));
    EXPECT_STATUS(SLOTQ_EGONE, SQ(slotq_token_acquire)(got_c));
    EXPECT(c.closes == 1);
  }

  EXPECT_OK(SQ(slotq_dequeuer_stop)(d));
  EXPECT_STATUS(SLOTQ_ESTOPPED, SQ(slotq_dequeuer_stop)(d));
  EXPECT_STATUS(SLOTQ_ESTOPPED, SQ(slotq_dequeuer_next)(d, 0, NULL, &none));
  SQ(slotq_dequeuer_free)(d);

  EXPECT_OK(SQ(slotq_queue_stats)(q, &st));
  EXPECT(st.states[SLOTQ_RUNNER] == 0 && st.latency_count[SLOTQ_RUNNER] == 1);
  EXPECT_OK(SQ(slotq_queue_signal)(q, &sent));
  EXPECT(sent == 1);
  EXPECT_OK(SQ(slotq_queue_signal)(q, &sent));
  EXPECT(sent == 0);
  EXPECT_OK(SQ(slotq_queue_wait_signal)(q, 0, NULL));
  EXPECT_STATUS(SLOTQ_ETIMEDOUT, SQ(slotq_queue_wait_signal)(q, 0, NULL));

  SQ(slotq_token_release)(got);
  SQ(slotq_token_release)(got_c);
  SQ(slotq_token_release)(ta);
  SQ(slotq_token_release)(tb);
  SQ(slotq_token_release)(tc);
  SQ(slotq_queue_release)(q);
  EXPECT(a.releases == 1 && b.releases == 1 && c.releases == 1);
  EXPECT(a.closes == 1 && b.closes == 1 && c.closes == 1);
}

/* The manager: get enters Waiter, delete only when idle; cancellation. */
static void cycle_manager(void) {
  static const slotq_kv config[] = {{SLOTQ_STR("B"), SLOTQ_STR("2")},
                                    {SLOTQ_STR("A"), SLOTQ_STR("1")}};
  slotq_call call;
  slotq_mgr_t *m = NULL;
  slotq_queue_t *q = NULL, *q2 = NULL;
  slotq_cancel_t *parent = NULL, *child = NULL;
  slotq_stats st;
  size_t n = 99;
  int is_new = -1, reason = -1;

  memset(&call, 0, sizeof call);
  call.app_name.ptr = "app";
  call.app_name.len = 3;
  call.memory = 128;
  call.config = config;
  call.config_len = 2;

  EXPECT_OK(SQ(slotq_mgr_create)(&m));
  if (m == NULL) return;
  EXPECT_OK(SQ(slotq_mgr_get)(m, &call, &q, &is_new));
  EXPECT(is_new == 1);
  EXPECT_OK(SQ(slotq_mgr_get)(m, &call, &q2, &is_new));
  EXPECT(is_new == 0);
  if (q == NULL || q2 == NULL) return;
  EXPECT_OK(SQ(slotq_queue_stats)(q, &st));
  EXPECT(st.states[SLOTQ_WAITER] == 2);
  EXPECT_OK(SQ(slotq_mgr_count)(m, &n));
  EXPECT(n == 1);
  EXPECT_STATUS(SLOTQ_EBUSY, SQ(slotq_mgr_delete)(m, q));
  EXPECT_OK(SQ(slotq_queue_exit_state)(q, SLOTQ_WAITER));
  EXPECT_OK(SQ(slotq_queue_exit_state_latency)(q2, SLOTQ_WAITER, 1000));
  EXPECT_STATUS(SLOTQ_ESTATE, SQ(slotq_queue_exit_state)(q, SLOTQ_WAITER));
  EXPECT_OK(SQ(slotq_mgr_delete)(m, q));
  EXPECT_STATUS(SLOTQ_ENOTFOUND, SQ(slotq_mgr_delete)(m, q));
  EXPECT_OK(SQ(slotq_mgr_count)(m, &n));
  EXPECT(n == 0);
  SQ(slotq_queue_release)(q);
  SQ(slotq_queue_release)(q2);
  SQ(slotq_mgr_destroy)(m);

  EXPECT_OK(SQ(slotq_cancel_create)(&parent));
  if (parent == NULL) return;
  EXPECT_OK(SQ(slotq_cancel_create_child)(parent, &child));
  if (child == NULL) return;
  EXPECT_OK(SQ(slotq_cancel_reason)(child, &reason));
  EXPECT(reason == SLOTQ_OK);
  EXPECT_OK(SQ(slotq_cancel_cancel)(parent));
  EXPECT_OK(SQ(slotq_cancel_reason)(child, &reason));
  EXPECT(reason == SLOTQ_ECANCELED);
  SQ(slotq_cancel_release)(child);
  SQ(slotq_cancel_release)(parent);
}

/* Runs every check; returns the number of failures. */
static int cycle_run(void) {
  cycle_basics();
  cycle_slots();
  cycle_manager();
  return cycle_failures;
}

#endif /* SLOTQ_CONSUMERS_CYCLE_H */
