/* Every invalid-argument path returns a status (never a crash), and the
 * release functions accept NULL. */
#include <stdlib.h>

#include "testutil.h"

static void null_handles_and_outputs(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_mgr_t *m;
  assert_ok(slotq_mgr_create(&m));
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  slotq_call call;
  memset(&call, 0, sizeof(call));
  slotq_key key;
  memset(&key, 0, sizeof(key));
  slotq_stats st;
  int i;
  size_t z;
  uint64_t u;
  void *p;
  char hex[41];
  slotq_queue_t *qo;
  slotq_token_t *to;
  slotq_dequeuer_t *dout;
  slotq_cancel_t *co;
  slotq_cancel_reg_t *ro;
  slotq_mgr_t *mo;
  const int E = SLOTQ_EINVAL;

  assert_status(E, slotq_call_key(NULL, &key));
  assert_status(E, slotq_call_key(&call, NULL));
  assert_status(E, slotq_key_hex(NULL, hex));
  assert_status(E, slotq_key_hex(&key, NULL));

  assert_status(E, slotq_cancel_create(NULL));
  assert_status(E, slotq_cancel_create_child(NULL, &co));
  assert_status(E, slotq_cancel_create_child(c, NULL));
  assert_status(E, slotq_cancel_create_deadline(NULL, 0, NULL));
  assert_status(E, slotq_cancel_cancel(NULL));
  assert_status(E, slotq_cancel_reason(NULL, &i));
  assert_status(E, slotq_cancel_reason(c, NULL));
  assert_status(E, slotq_cancel_on_cancel(NULL, (slotq_cancel_fn)free, NULL, &ro));
  assert_status(E, slotq_cancel_on_cancel(c, NULL, NULL, &ro));
  assert_status(E, slotq_cancel_on_cancel(c, (slotq_cancel_fn)free, NULL, NULL));
  assert_status(E, slotq_cancel_unregister(NULL, &i));
  assert_status(E, slotq_cancel_retain(NULL));

  assert_status(E, slotq_queue_create("k", 1, NULL));
  assert_status(E, slotq_queue_create(NULL, 1, &qo));
  assert_status(E, slotq_queue_retain(NULL));
  assert_status(E, slotq_queue_key(NULL, hex, sizeof(hex), &z));
  assert_status(E, slotq_queue_key(q, hex, sizeof(hex), NULL));
  assert_status(E, slotq_queue_slot(NULL, &s, &test_ops, &to));
  assert_status(E, slotq_queue_slot(q, &s, NULL, &to));
  assert_status(E, slotq_queue_slot(q, &s, &test_ops, NULL));
  assert_status(E, slotq_eject(NULL, t));
  assert_status(E, slotq_eject(q, NULL));
  assert_status(E, slotq_queue_len(NULL, &z));
  assert_status(E, slotq_queue_len(q, NULL));
  assert_status(E, slotq_queue_set_signal_notify(NULL, NULL, NULL));
  assert_status(E, slotq_queue_signal_fd(NULL, &i));
  assert_status(E, slotq_queue_signal_fd(q, NULL));

  assert_status(E, slotq_token_retain(NULL));
  assert_status(E, slotq_token_id(NULL, &u));
  assert_status(E, slotq_token_id(t, NULL));
  assert_status(E, slotq_token_slot(NULL, &p));
  assert_status(E, slotq_token_slot(t, NULL));
  assert_status(E, slotq_token_state_get(NULL, &i, NULL));
  assert_status(E, slotq_token_state_get(t, NULL, NULL));
  assert_status(E, slotq_token_acquire(NULL));
  assert_status(E, slotq_token_wait(NULL, 0, NULL, NULL));
  assert_status(E, slotq_token_wait_closed(NULL, 0, NULL));
  assert_status(E, slotq_token_exec(NULL, NULL, NULL, NULL));
  assert_status(E, slotq_token_error(NULL, &i));
  assert_status(E, slotq_token_error(t, NULL));
  assert_status(E, slotq_token_close(NULL, NULL));

  assert_status(E, slotq_start_dequeuer(NULL, NULL, &dout));
  assert_status(E, slotq_start_dequeuer(q, NULL, NULL));
  assert_status(E, slotq_dequeuer_next(NULL, 0, NULL, &to));
  assert_status(E, slotq_dequeuer_next(d, 0, NULL, NULL));
  assert_status(E, slotq_dequeuer_set_notify(NULL, NULL, NULL));
  assert_status(E, slotq_dequeuer_fd(NULL, &i));
  assert_status(E, slotq_dequeuer_fd(d, NULL));
  assert_status(E, slotq_dequeuer_arm(NULL));
  assert_status(E, slotq_dequeuer_stop(NULL));

  assert_status(E, slotq_queue_enter_state(NULL, SLOTQ_WAITER));
  assert_status(E, slotq_queue_exit_state(NULL, SLOTQ_WAITER));
  assert_status(E, slotq_queue_exit_state_latency(NULL, SLOTQ_WAITER, 1));
  assert_status(E, slotq_queue_record_latency(NULL, SLOTQ_WAITER, 1));
  assert_status(E, slotq_queue_stats(NULL, &st));
  assert_status(E, slotq_queue_stats(q, NULL));
  assert_status(E, slotq_queue_is_idle(NULL, &i));
  assert_status(E, slotq_queue_is_idle(q, NULL));
  assert_status(E, slotq_queue_is_new_container_needed(NULL, &i, NULL));
  assert_status(E, slotq_queue_is_new_container_needed(q, NULL, NULL));
  assert_status(E, slotq_queue_signal(NULL, &i));
  assert_status(E, slotq_queue_wait_signal(NULL, 0, NULL));

  assert_status(E, slotq_mgr_create(NULL));
  assert_status(E, slotq_mgr_get(NULL, &call, &qo, NULL));
  assert_status(E, slotq_mgr_get(m, NULL, &qo, NULL));
  assert_status(E, slotq_mgr_get(m, &call, NULL, NULL));
  assert_status(E, slotq_mgr_get_by_key(NULL, &key, &qo, NULL));
  assert_status(E, slotq_mgr_get_by_key(m, NULL, &qo, NULL));
  assert_status(E, slotq_mgr_get_by_key(m, &key, NULL, NULL));
  assert_status(E, slotq_mgr_delete(NULL, q));
  assert_status(E, slotq_mgr_delete(m, NULL));
  assert_status(E, slotq_mgr_count(NULL, &z));
  assert_status(E, slotq_mgr_count(m, NULL));
  assert_status(E, slotq_mgr_set_max_waiters(NULL, 1));
  (void)mo;

  /* Nothing above changed anything. */
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_QUEUED);
  assert_int_equal(atomic_load(&s.closes), 0);

  /* Release functions accept NULL. */
  slotq_queue_release(NULL);
  slotq_token_release(NULL);
  slotq_cancel_release(NULL);
  slotq_dequeuer_free(NULL);
  slotq_mgr_destroy(NULL);

  slotq_dequeuer_free(d);
  assert_ok(slotq_eject(q, t));
  slotq_token_release(t);
  slotq_cancel_release(c);
  slotq_mgr_destroy(m);
  slotq_queue_release(q);
}

static void bad_state_indexes(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  const int bad[] = {-1, SLOTQ_STATE_COUNT, 1000};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_status(SLOTQ_EINVAL, slotq_queue_enter_state(q, bad[i]));
    assert_status(SLOTQ_EINVAL, slotq_queue_exit_state(q, bad[i]));
    assert_status(SLOTQ_EINVAL, slotq_queue_exit_state_latency(q, bad[i], 1));
    assert_status(SLOTQ_EINVAL, slotq_queue_record_latency(q, bad[i], 1));
  }
  slotq_queue_release(q);
}

static void negative_timeouts_other_than_forever(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  test_slot s;
  test_slot_init(&s);
  slotq_token_t *t, *out;
  assert_ok(slotq_queue_slot(q, &s, &test_ops, &t));
  slotq_dequeuer_t *d;
  assert_ok(slotq_start_dequeuer(q, NULL, &d));
  const int64_t bad[] = {-2, INT64_MIN, -1000000};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_status(SLOTQ_EINVAL, slotq_dequeuer_next(d, bad[i], NULL, &out));
    assert_status(SLOTQ_EINVAL, slotq_token_wait(t, bad[i], NULL, NULL));
    assert_status(SLOTQ_EINVAL, slotq_token_wait_closed(t, bad[i], NULL));
    assert_status(SLOTQ_EINVAL, slotq_queue_wait_signal(q, bad[i], NULL));
  }
  /* The slot was not handed out by a refused call. */
  assert_int_equal(test_token_state(t), SLOTQ_TOKEN_QUEUED);
  slotq_dequeuer_free(d);
  assert_ok(slotq_eject(q, t));
  slotq_token_release(t);
  slotq_queue_release(q);
}

static void status_texts(void **state) {
  (void)state;
  assert_string_equal(slotq_strerror(SLOTQ_OK), "success");
  assert_string_equal(slotq_strerror(SLOTQ_ETIMEDOUT), "timed out");
  assert_string_equal(slotq_strerror(12345), "unknown status");
  assert_string_equal(slotq_status_name(SLOTQ_EGONE), "SLOTQ_EGONE");
  assert_string_equal(slotq_status_name(-999), "SLOTQ_UNKNOWN");
  assert_int_equal(slotq_version(), SLOTQ_VERSION_NUMBER);
  char want[32];
  snprintf(want, sizeof(want), "%d.%d.%d", SLOTQ_VERSION_MAJOR, SLOTQ_VERSION_MINOR,
           SLOTQ_VERSION_PATCH);
  assert_string_equal(slotq_version_string(), want);
  assert_true(slotq_now_ns() > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(null_handles_and_outputs),
      cmocka_unit_test(bad_state_indexes),
      cmocka_unit_test(negative_timeouts_other_than_forever),
      cmocka_unit_test(status_texts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
