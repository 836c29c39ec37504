/* The seed's queue behaviours: LIFO hand-out, eject, acquire, close. */
#include "testutil.h"

static void lifo_order(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s[3];
  slotq_token_t *t[3];
  for (int i = 0; i < 3; i++) {
    test_slot_init(&s[i]);
    assert_ok(slotq_queue_slot(q, &s[i], &test_ops, &t[i]));
    assert_int_equal(test_token_id(t[i]), (uint64_t)i);
    assert_int_equal(test_token_state(t[i]), SLOTQ_TOKEN_QUEUED);
  }
  size_t len = 0;
  assert_ok(slotq_queue_len(q, &len));
  assert_int_equal(len, 3);
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  for (int i = 2; i >= 0; i--) {
    slotq_token_t *got;
    assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
    assert_ptr_equal(got, t[i]); /* newest first */
    assert_int_equal(test_token_state(got), SLOTQ_TOKEN_LENT);
    void *slot = NULL;
    assert_ok(slotq_token_slot(got, &slot));
    assert_ptr_equal(slot, &s[i]);
    assert_ok(slotq_token_acquire(got));
    slotq_token_release(got);
  }
  slotq_token_t *none;
  assert_status(SLOTQ_ETIMEDOUT, slotq_dequeuer_next(d, 0, NULL, &none));
  slotq_dequeuer_free(d);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(atomic_load(&s[i].triggers), 1);
    assert_int_equal(atomic_load(&s[i].trigger_state), SLOTQ_TOKEN_ACQUIRED);
    slotq_token_release(t[i]);
    assert_int_equal(atomic_load(&s[i].releases), 1);
    assert_int_equal(atomic_load(&s[i].closes), 0); /* acquired, never closed */
  }
  slotq_queue_release(q);
}

static void eject_succeeds_once_and_closes(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_ok(slotq_eject(q, t));
  assert_int_equal(atomic_load(&s.closes), 1);
  assert_int_equal(atomic_load(&s.triggers), 1);
  assert_int_equal(atomic_load(&s.trigger_state), SLOTQ_TOKEN_EJECTED);
  int st, closed;
  assert_ok(slotq_token_state_get(t, &st, &closed));
  assert_int_equal(st, SLOTQ_TOKEN_EJECTED);
  assert_int_equal(closed, 1);
  assert_status(SLOTQ_EGONE, slotq_eject(q, t));
  assert_status(SLOTQ_EGONE, slotq_token_acquire(t));
  assert_int_equal(atomic_load(&s.closes), 1);
  size_t len = 9;
  assert_ok(slotq_queue_len(q, &len));
  assert_int_equal(len, 0);
  /* The trigger fired: waiting returns at once. */
  assert_ok(slotq_token_wait(t, 0, NULL, &st));
  assert_int_equal(st, SLOTQ_TOKEN_EJECTED);
  slotq_token_release(t);
  assert_int_equal(atomic_load(&s.releases), 1);
  slotq_queue_release(q);
}

static void acquire_succeeds_once(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t, *got;
  slotq_dequeuer_t *d;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  assert_ok(slotq_token_acquire(got));
  assert_status(SLOTQ_EGONE, slotq_token_acquire(got));
  assert_status(SLOTQ_EGONE, slotq_token_acquire(t));
  /* An acquired slot cannot be ejected: the container serves the call. */
  assert_status(SLOTQ_EGONE, slotq_eject(q, t));
  assert_int_equal(atomic_load(&s.closes), 0);
  slotq_token_release(got);
  slotq_dequeuer_free(d);
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void acquire_of_a_queued_token_takes_it_off_the_stack(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_ok(slotq_token_acquire(t));
  size_t len = 9;
  assert_ok(slotq_queue_len(q, &len));
  assert_int_equal(len, 0);
  assert_int_equal(atomic_load(&s.trigger_state), SLOTQ_TOKEN_ACQUIRED);
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void eject_after_hand_out_makes_acquire_fail(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t, *got;
  slotq_dequeuer_t *d;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  assert_ok(slotq_eject(q, t));
  assert_status(SLOTQ_EGONE, slotq_token_acquire(got));
  assert_int_equal(atomic_load(&s.closes), 1);
  slotq_token_release(got);
  /* The ejected lent token does not come back to the queue. */
  slotq_token_t *none;
  assert_status(SLOTQ_ETIMEDOUT, slotq_dequeuer_next(d, 0, NULL, &none));
  slotq_dequeuer_free(d);
  slotq_token_release(t);
  assert_int_equal(atomic_load(&s.releases), 1);
  slotq_queue_release(q);
}

static void ejected_tokens_are_skipped(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s[3];
  slotq_token_t *t[3];
  for (int i = 0; i < 3; i++) {
    test_slot_init(&s[i]);
    assert_ok(slotq_queue_slot(q, &s[i], &test_ops, &t[i]));
  }
  assert_ok(slotq_eject(q, t[2]));
  assert_ok(slotq_eject(q, t[0]));
  slotq_dequeuer_t *d;
  slotq_token_t *got;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  assert_ptr_equal(got, t[1]);
  assert_ok(slotq_token_acquire(got));
  slotq_token_release(got);
  assert_status(SLOTQ_ETIMEDOUT, slotq_dequeuer_next(d, 0, NULL, &got));
  slotq_dequeuer_free(d);
  for (int i = 0; i < 3; i++) slotq_token_release(t[i]);
  slotq_queue_release(q);
}

static void close_callback_runs_exactly_once(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  s.close_rc = 7;
  slotq_token_t *t, *got;
  slotq_dequeuer_t *d;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  /* Not acquired yet: closing is refused. */
  assert_status(SLOTQ_ESTATE, slotq_token_close(got, NULL));
  assert_ok(slotq_token_acquire(got));
  int rc = 0;
  assert_ok(slotq_token_close(got, &rc));
  assert_int_equal(rc, 7);
  assert_status(SLOTQ_EGONE, slotq_token_close(got, NULL));
  assert_status(SLOTQ_EGONE, slotq_token_close(t, NULL));
  assert_status(SLOTQ_EGONE, slotq_eject(q, t));
  assert_int_equal(atomic_load(&s.closes), 1);
  assert_ok(slotq_token_wait_closed(t, 0, NULL));
  slotq_token_release(got);
  slotq_dequeuer_free(d);
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void lent_token_goes_back_on_next_stop_and_free(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t, *got;
  slotq_dequeuer_t *d;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  /* next again without acquiring: the same slot comes back (it is the top). */
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  slotq_token_release(got);
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  assert_ptr_equal(got, t);
  slotq_token_release(got);
  /* Freeing the dequeuer returns it: another dequeuer gets it. */
  slotq_dequeuer_free(d);
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_QUEUED);
  size_t len = 0;
  assert_ok(slotq_queue_len(q, &len));
  assert_int_equal(len, 1);
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  assert_ok(slotq_dequeuer_next(d, 0, NULL, &got));
  assert_ptr_equal(got, t);
  assert_ok(slotq_token_acquire(got));
  slotq_token_release(got);
  slotq_dequeuer_free(d);
  /* The container never noticed anything but the acquire. */
  assert_int_equal(atomic_load(&s.closes), 0);
  assert_int_equal(atomic_load(&s.triggers), 1);
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void eject_with_a_token_of_another_queue(void **state) {
  (void)state;
  slotq_queue_t *q1 = test_queue(), *q2 = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q1, &s, &test_ops, &t));
  assert_status(SLOTQ_EWRONGQUEUE, slotq_eject(q2, t));
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_QUEUED);
  assert_ok(slotq_eject(q1, t));
  slotq_token_release(t);
  slotq_queue_release(q1);
  slotq_queue_release(q2);
}

static void last_release_discards_idle_slots(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s[2];
  slotq_token_t *t[2];
  for (int i = 0; i < 2; i++) {
    test_slot_init(&s[i]);
    assert_ok(slotq_queue_slot(q, &s[i], &test_ops, &t[i]));
  }
  slotq_queue_release(q); /* nobody can reach the queue any more */
  for (int i = 0; i < 2; i++) {
    int st, closed;
    assert_ok(slotq_token_state_get(t[i], &st, &closed));
    assert_int_equal(st, SLOTQ_TOKEN_DISCARDED);
    assert_int_equal(closed, 1);
    assert_int_equal(atomic_load(&s[i].closes), 1);
    assert_int_equal(atomic_load(&s[i].trigger_state), SLOTQ_TOKEN_DISCARDED);
    assert_ok(slotq_token_wait(t[i], 0, NULL, &st));
    /* The token is still safe to use after its queue shut down. */
    assert_status(SLOTQ_EGONE, slotq_token_acquire(t[i]));
    slotq_token_release(t[i]);
    assert_int_equal(atomic_load(&s[i].releases), 1);
  }
}

static void exec_records_runner_latency(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  assert_status(SLOTQ_ESTATE, slotq_token_exec(t, NULL, NULL, NULL));
  assert_ok(slotq_token_acquire(t));
  int rc = -1;
  assert_ok(slotq_token_exec(t, NULL, NULL, &rc));
  assert_int_equal(rc, 0);
  s.exec_rc = 42;
  assert_status(SLOTQ_ECALLBACK, slotq_token_exec(t, NULL, NULL, &rc));
  assert_int_equal(rc, 42);
  assert_int_equal(atomic_load(&s.execs), 2);
  slotq_stats st;
  assert_ok(slotq_queue_stats(q, &st));
  assert_int_equal(st.states[SLOTQ_RUNNER], 0);
  assert_int_equal(st.latency_count[SLOTQ_RUNNER], 2);
  int err = -1;
  s.error_rc = 5;
  assert_ok(slotq_token_error(t, &err));
  assert_int_equal(err, 5);
  assert_ok(slotq_token_close(t, NULL));
  assert_status(SLOTQ_ESTATE, slotq_token_exec(t, NULL, NULL, NULL));
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void null_callbacks_behave_as_returning_zero(void **state) {
  (void)state;
  static const slotq_slot_ops none = {NULL, NULL, NULL, NULL, NULL};
  slotq_queue_t *q = test_queue();
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, NULL, &none, &t));
  assert_ok(slotq_token_acquire(t));
  int rc = -1;
  assert_ok(slotq_token_exec(t, NULL, NULL, &rc));
  assert_int_equal(rc, 0);
  assert_ok(slotq_token_error(t, &rc));
  assert_int_equal(rc, 0);
  assert_ok(slotq_token_close(t, &rc));
  assert_int_equal(rc, 0);
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void queue_key_is_copied_out(void **state) {
  (void)state;
  slotq_queue_t *q;
  assert_ok(slotq_queue_create("a\0b", 3, &q));
  size_t len = 0;
  assert_ok(slotq_queue_key(q, NULL, 0, &len));
  assert_int_equal(len, 3);
  char buf[8];
  assert_status(SLOTQ_EINVAL, slotq_queue_key(q, buf, 2, &len));
  assert_ok(slotq_queue_key(q, buf, sizeof(buf), &len));
  assert_memory_equal(buf, "a\0b", 3);
  slotq_queue_release(q);
  char big[SLOTQ_MAX_QUEUE_KEY + 1] = {0};
  assert_status(SLOTQ_EINVAL, slotq_queue_create(big, sizeof(big), &q));
  assert_ok(slotq_queue_create(big, SLOTQ_MAX_QUEUE_KEY, &q));
  slotq_queue_release(q);
  assert_ok(slotq_queue_create(NULL, 0, &q));
  slotq_queue_release(q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(lifo_order),
      cmocka_unit_test(eject_succeeds_once_and_closes),
      cmocka_unit_test(acquire_succeeds_once),
      cmocka_unit_test(acquire_of_a_queued_token_takes_it_off_the_stack),
      cmocka_unit_test(eject_after_hand_out_makes_acquire_fail),
      cmocka_unit_test(ejected_tokens_are_skipped),
      cmocka_unit_test(close_callback_runs_exactly_once),
      cmocka_unit_test(lent_token_goes_back_on_next_stop_and_free),
      cmocka_unit_test(eject_with_a_token_of_another_queue),
      cmocka_unit_test(last_release_discards_idle_slots),
      cmocka_unit_test(exec_records_runner_latency),
      cmocka_unit_test(null_callbacks_behave_as_returning_zero),
      cmocka_unit_test(queue_key_is_copied_out),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
