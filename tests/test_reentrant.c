/* Callbacks run without library locks, so they may call back into the
 * library, on the very handles that invoked them. */
#include "testutil.h"

/* A slot that queues itself again from its close callback, as a hot
 * container does after serving a call. */
extern const slotq_slot_ops requeue_ops;

typedef struct requeue_slot {
  slotq_queue_t *q;
  slotq_token_t *next; /* the token of the re-queued offer */
  int closes;
  int requeue;
} requeue_slot;

static int requeue_close(void *s) {
  requeue_slot *r = (requeue_slot *)s;
  r->closes++;
  if (r->requeue) {
    r->requeue = 0;
    assert_ok(slotq_queue_slot(r->q, r, &requeue_ops, &r->next));
  }
  return 0;
}
const slotq_slot_ops requeue_ops = {NULL, requeue_close, NULL, NULL, NULL};

static void close_callback_requeues_the_slot(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  requeue_slot r = {q, NULL, 0, 1};
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &r, &requeue_ops, &t));
  assert_ok(slotq_eject(q, t)); /* close runs, queues again: no deadlock */
  assert_int_equal(r.closes, 1);
  assert_non_null(r.next);
  assert_int_equal(test_token_state(r.next), SLOTQ_TOKEN_QUEUED);
  /* Same through a caller's close after use. */
  r.requeue = 1;
  slotq_token_t *second = r.next;
  r.next = NULL;
  assert_ok(slotq_token_acquire(second));
  assert_ok(slotq_token_close(second, NULL));
  assert_int_equal(r.closes, 2);
  assert_non_null(r.next);
  assert_ok(slotq_eject(q, r.next));
  slotq_token_release(r.next);
  slotq_token_release(second);
  slotq_token_release(t);
  slotq_queue_release(q);
}

/* A trigger callback that ejects another token and signals the queue. */
typedef struct trig_slot {
  slotq_queue_t *q;
  slotq_token_t *victim;
  int fired;
} trig_slot;

static void trig_cb(void *s, int state) {
  trig_slot *t = (trig_slot *)s;
  t->fired = state;
  if (t->victim != NULL) assert_ok(slotq_eject(t->q, t->victim));
  assert_ok(slotq_queue_signal(t->q, NULL));
}
static const slotq_slot_ops trig_ops = {NULL, NULL, NULL, NULL, trig_cb};

static void trigger_callback_calls_the_library(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot vs;
  test_slot_init(&vs);
  slotq_token_t *victim, *t;
  assert_ok(slotq_queue_slot(q, &vs, &test_ops, &victim));
  trig_slot ts = {q, victim, -1};
  assert_ok(slotq_queue_slot(q, &ts, &trig_ops, &t));
  assert_ok(slotq_token_acquire(t));
  assert_int_equal(ts.fired, SLOTQ_TOKEN_ACQUIRED);
  assert_int_equal(test_token_state(victim), SLOTQ_TOKEN_EJECTED);
  assert_ok(slotq_queue_wait_signal(q, 0, NULL));
  slotq_token_release(victim);
  slotq_token_release(t);
  slotq_queue_release(q);
}

/* exec cancels the caller's token, then asks the library about it. */
static int exec_cancels(void *s, slotq_cancel_t *cancel, void *arg) {
  (void)s;
  (void)arg;
  assert_ok(slotq_cancel_cancel(cancel));
  int reason = 0;
  assert_ok(slotq_cancel_reason(cancel, &reason));
  return reason == SLOTQ_ECANCELED ? 0 : 1;
}
static const slotq_slot_ops exec_cancel_ops = {exec_cancels, NULL, NULL, NULL, NULL};

static void cancelling_from_inside_exec(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, NULL, &exec_cancel_ops, &t));
  assert_ok(slotq_token_acquire(t));
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  int rc = -1;
  assert_ok(slotq_token_exec(t, c, NULL, &rc));
  assert_int_equal(rc, 0);
  slotq_stats st;
  assert_ok(slotq_queue_stats(q, &st));
  assert_int_equal(st.states[SLOTQ_RUNNER], 0);
  slotq_cancel_release(c);
  slotq_token_release(t);
  slotq_queue_release(q);
}

/* The release callback runs when the last reference goes, once. */
static int releases;
static void count_release(void *s) {
  (void)s;
  releases++;
}
static const slotq_slot_ops release_ops = {NULL, NULL, NULL, count_release, NULL};

static void release_callback_runs_once_with_the_last_reference(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_token_t *t;
  releases = 0;
  assert_ok(slotq_queue_slot(q, NULL, &release_ops, &t));
  assert_ok(slotq_token_retain(t));
  slotq_token_release(t);
  assert_int_equal(releases, 0);
  slotq_token_release(t); /* the queue still holds it: not yet */
  assert_int_equal(releases, 0);
  slotq_queue_release(q); /* shutdown discards it and drops the last reference */
  assert_int_equal(releases, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(close_callback_requeues_the_slot),
      cmocka_unit_test(trigger_callback_calls_the_library),
      cmocka_unit_test(cancelling_from_inside_exec),
      cmocka_unit_test(release_callback_runs_once_with_the_last_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
