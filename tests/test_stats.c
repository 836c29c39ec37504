/* State counters, the seed's moving average, and every branch of its launch
 * policy. */
#include "testutil.h"

static slotq_stats stats_of(slotq_queue_t *q) {
  slotq_stats s;
  assert_ok(slotq_queue_stats(q, &s));
  return s;
}

static void enter_and_exit_states(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  int idle = -1;
  assert_ok(slotq_queue_is_idle(q, &idle));
  assert_int_equal(idle, 1);
  for (int st = 0; st < SLOTQ_STATE_COUNT; st++) {
    assert_ok(slotq_queue_enter_state(q, st));
    assert_ok(slotq_queue_enter_state(q, st));
    assert_int_equal(stats_of(q).states[st], 2);
    assert_ok(slotq_queue_is_idle(q, &idle));
    assert_int_equal(idle, 0);
    assert_ok(slotq_queue_exit_state(q, st));
    assert_ok(slotq_queue_exit_state(q, st));
    assert_ok(slotq_queue_is_idle(q, &idle));
    assert_int_equal(idle, 1);
  }
  slotq_queue_release(q);
}

static void exiting_a_zero_state_is_an_error_not_a_panic(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  for (int st = 0; st < SLOTQ_STATE_COUNT; st++) {
    assert_status(SLOTQ_ESTATE, slotq_queue_exit_state(q, st));
    assert_status(SLOTQ_ESTATE, slotq_queue_exit_state_latency(q, st, 100));
    slotq_stats s = stats_of(q);
    assert_int_equal(s.states[st], 0);
    assert_int_equal(s.latency_count[st], 0); /* nothing recorded either */
  }
  slotq_queue_release(q);
}

static void moving_average_matches_the_seed(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  /* First sample: counted, not averaged in. */
  assert_ok(slotq_queue_record_latency(q, SLOTQ_WAITER, 1000));
  slotq_stats s = stats_of(q);
  assert_int_equal(s.latency_count[SLOTQ_WAITER], 1);
  assert_int_equal(s.latencies[SLOTQ_WAITER], 0);
  /* Then avg = (avg*5 + x*5) / 10 in integers. */
  uint64_t avg = 0;
  const uint64_t xs[] = {1000, 333, 7, 12345, 1};
  for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
    assert_ok(slotq_queue_record_latency(q, SLOTQ_WAITER, xs[i]));
    avg = (avg * 5 + xs[i] * 5) / 10;
    assert_int_equal(stats_of(q).latencies[SLOTQ_WAITER], avg);
  }
  assert_int_equal(stats_of(q).latency_count[SLOTQ_WAITER], 6);
  /* Integer truncation: (0*5 + 1*5)/10 == 0, (3*5+0)/10 == 1. */
  assert_int_equal(stats_of(q).latencies[SLOTQ_RUNNER], 0);
  assert_ok(slotq_queue_record_latency(q, SLOTQ_RUNNER, 9));
  assert_ok(slotq_queue_record_latency(q, SLOTQ_RUNNER, 1));
  assert_int_equal(stats_of(q).latencies[SLOTQ_RUNNER], 0);
  assert_ok(slotq_queue_record_latency(q, SLOTQ_RUNNER, 3));
  assert_int_equal(stats_of(q).latencies[SLOTQ_RUNNER], 1);
  slotq_queue_release(q);
}

static void moving_average_wraps_as_go_uint64(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  const uint64_t big = UINT64_MAX / 3;
  assert_ok(slotq_queue_record_latency(q, SLOTQ_STARTER, 0));
  assert_ok(slotq_queue_record_latency(q, SLOTQ_STARTER, big));
  uint64_t expect = ((uint64_t)0 * 5 + big * 5) / 10; /* big*5 wraps */
  assert_int_equal(stats_of(q).latencies[SLOTQ_STARTER], expect);
  slotq_queue_release(q);
}

static void exit_with_latency_is_atomic(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  assert_ok(slotq_queue_enter_state(q, SLOTQ_STARTER));
  assert_ok(slotq_queue_enter_state(q, SLOTQ_STARTER));
  assert_ok(slotq_queue_exit_state_latency(q, SLOTQ_STARTER, 50));
  assert_ok(slotq_queue_exit_state_latency(q, SLOTQ_STARTER, 70));
  slotq_stats s = stats_of(q);
  assert_int_equal(s.states[SLOTQ_STARTER], 0);
  assert_int_equal(s.latency_count[SLOTQ_STARTER], 2);
  assert_int_equal(s.latencies[SLOTQ_STARTER], 35); /* (0*5+70*5)/10 */
  slotq_queue_release(q);
}

/* Sets a queue's stats to the given counts and averages through the API. */
static slotq_queue_t *queue_with(uint64_t runners, uint64_t starters, uint64_t waiters,
                                 uint64_t run_lat, uint64_t start_lat, uint64_t wait_lat) {
  slotq_queue_t *q = test_queue();
  const uint64_t lat[3] = {run_lat, start_lat, wait_lat};
  for (int st = 0; st < 3; st++) {
    /* Two samples make the average (0*5 + 2x*5)/10 = x. */
    if (lat[st] != 0) {
      assert_ok(slotq_queue_record_latency(q, st, 0));
      assert_ok(slotq_queue_record_latency(q, st, lat[st] * 2));
      assert_int_equal(stats_of(q).latencies[st], lat[st]);
    }
  }
  for (uint64_t i = 0; i < runners; i++) assert_ok(slotq_queue_enter_state(q, SLOTQ_RUNNER));
  for (uint64_t i = 0; i < starters; i++) assert_ok(slotq_queue_enter_state(q, SLOTQ_STARTER));
  for (uint64_t i = 0; i < waiters; i++) assert_ok(slotq_queue_enter_state(q, SLOTQ_WAITER));
  return q;
}

static int needed(slotq_queue_t *q) {
  int n = -1;
  slotq_stats s;
  assert_ok(slotq_queue_is_new_container_needed(q, &n, &s));
  slotq_stats now = stats_of(q);
  assert_memory_equal(&s, &now, sizeof(s));
  slotq_queue_release(q);
  return n;
}

static void policy_every_branch(void **state) {
  (void)state;
  /* No waiters: no. */
  assert_int_equal(needed(queue_with(0, 0, 0, 0, 0, 0)), 0);
  assert_int_equal(needed(queue_with(3, 0, 0, 1, 1, 100)), 0);
  /* Starters >= waiters: no. */
  assert_int_equal(needed(queue_with(0, 2, 2, 0, 0, 100)), 0);
  assert_int_equal(needed(queue_with(0, 3, 2, 0, 0, 100)), 0);
  /* No executors: yes, whatever the latencies. */
  assert_int_equal(needed(queue_with(0, 0, 1, 0, 0, 0)), 1);
  /* Executors but no wait latency: no. */
  assert_int_equal(needed(queue_with(1, 0, 1, 5, 5, 0)), 0);
  /* run/executors*2 < wait: yes. run=10, executors=4 -> 2*2=4 < 5. */
  assert_int_equal(needed(queue_with(3, 1, 2, 10, 100, 5)), 1);
  /* run < wait (but run/exec*2 >= wait): run=8, exec=1 -> 16 >= 9; 8 < 9. */
  assert_int_equal(needed(queue_with(1, 0, 1, 8, 100, 9)), 1);
  /* start < wait (run >= wait): run=20, exec=1 -> 40; start 3 < wait 9. */
  assert_int_equal(needed(queue_with(1, 0, 1, 20, 3, 9)), 1);
  /* None of the three: no. */
  assert_int_equal(needed(queue_with(1, 0, 1, 20, 9, 9)), 0);
  /* Integer division: run=3, exec=2 -> 3/2*2 = 2 < 3 = wait: yes. */
  assert_int_equal(needed(queue_with(2, 0, 3, 3, 50, 3)), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(enter_and_exit_states),
      cmocka_unit_test(exiting_a_zero_state_is_an_error_not_a_panic),
      cmocka_unit_test(moving_average_matches_the_seed),
      cmocka_unit_test(moving_average_wraps_as_go_uint64),
      cmocka_unit_test(exit_with_latency_is_atomic),
      cmocka_unit_test(policy_every_branch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
