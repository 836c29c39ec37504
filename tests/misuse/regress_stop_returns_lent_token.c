/*
 * Regression: a dequeuer that is stopped (or whose own cancellation token
 * fires) gives its lent, unacquired token back to the queue at once.
 *
 * slotq.h, slotq_dequeuer_stop(): "a lent, unacquired token goes back to the
 * queue"; slotq_dequeuer_next(): the lent token is returned "when this
 * dequeuer calls slotq_dequeuer_next() again, is stopped, or is freed";
 * slotq_start_dequeuer(): when its token fires "the dequeuer behaves as
 * stopped". Until the fix, Dequeuer::Stop() only delists a waiting thread and
 * leaves lent_ alone, so the slot stays LENT (invisible to every other
 * caller) until the stopped dequeuer is freed or polled again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka.h needs the four headers above. */
#include <cmocka.h>

#include "misuse_util.h"
#include "slotq.h"

static void stop_returns_lent_token_to_the_queue(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_dequeuer_t *d1 = NULL, *d2 = NULL;
  test_slot s;
  memset(&s, 0, sizeof s);
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(queue_test_slot(q, &s), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(q, NULL, &d1), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(q, NULL, &d2), SLOTQ_OK);
  slotq_token_t *lent = NULL;
  assert_int_equal(slotq_dequeuer_next(d1, 0, NULL, &lent), SLOTQ_OK);
  assert_int_equal(token_state(lent), SLOTQ_TOKEN_LENT);

  assert_int_equal(slotq_dequeuer_stop(d1), SLOTQ_OK);
  /* The slot is idle again: on the stack, and another caller gets it. */
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_QUEUED);
  assert_int_equal(queue_len(q), 1);
  slotq_token_t *t2 = NULL;
  assert_int_equal(slotq_dequeuer_next(d2, 0, NULL, &t2), SLOTQ_OK);
  assert_ptr_equal(t2, s.token);
  assert_int_equal(slotq_token_acquire(t2), SLOTQ_OK);
  /* The stale reference of the stopped caller cannot take it. */
  assert_int_equal(slotq_token_acquire(lent), SLOTQ_EGONE);
  assert_int_equal(slotq_token_close(t2, NULL), SLOTQ_OK);

  slotq_token_release(t2);
  slotq_token_release(lent);
  slotq_dequeuer_free(d1);
  slotq_dequeuer_free(d2);
  slotq_queue_release(q);
  slotq_token_release(s.token);
  assert_int_equal(s.closes, 1);
  assert_int_equal(s.releases, 1);
}

static void stop_hands_lent_token_to_a_waiting_dequeuer(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_dequeuer_t *d1 = NULL, *d2 = NULL;
  test_slot s;
  memset(&s, 0, sizeof s);
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(queue_test_slot(q, &s), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(q, NULL, &d1), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(q, NULL, &d2), SLOTQ_OK);
  slotq_token_t *lent = NULL;
  assert_int_equal(slotq_dequeuer_next(d1, 0, NULL, &lent), SLOTQ_OK);
  /* d2 finds nothing idle. */
  slotq_token_t *t2 = NULL;
  assert_int_equal(slotq_dequeuer_next(d2, 0, NULL, &t2), SLOTQ_ETIMEDOUT);
  /* d1 stops (its caller gave up): the slot must not stay parked on d1. */
  assert_int_equal(slotq_dequeuer_stop(d1), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_next(d2, 0, NULL, &t2), SLOTQ_OK);
  assert_ptr_equal(t2, s.token);
  slotq_token_release(t2);
  slotq_token_release(lent);
  slotq_dequeuer_free(d2);
  slotq_dequeuer_free(d1);
  slotq_queue_release(q);
  assert_int_equal(s.closes, 1);
  slotq_token_release(s.token);
}

static void cancelled_dequeuer_returns_lent_token(void **state) {
  (void)state;
  slotq_queue_t *q = NULL;
  slotq_dequeuer_t *d1 = NULL, *d2 = NULL;
  slotq_cancel_t *c = NULL;
  test_slot s;
  memset(&s, 0, sizeof s);
  assert_int_equal(slotq_queue_create("k", 1, &q), SLOTQ_OK);
  assert_int_equal(slotq_cancel_create(&c), SLOTQ_OK);
  assert_int_equal(queue_test_slot(q, &s), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(q, c, &d1), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(q, NULL, &d2), SLOTQ_OK);
  slotq_token_t *lent = NULL;
  assert_int_equal(slotq_dequeuer_next(d1, 0, NULL, &lent), SLOTQ_OK);
  /* The dequeuer's own token fires: it "behaves as stopped". */
  assert_int_equal(slotq_cancel_cancel(c), SLOTQ_OK);
  assert_int_equal(token_state(s.token), SLOTQ_TOKEN_QUEUED);
  slotq_token_t *t2 = NULL;
  assert_int_equal(slotq_dequeuer_next(d2, 0, NULL, &t2), SLOTQ_OK);
  assert_ptr_equal(t2, s.token);
  slotq_token_release(t2);
  slotq_token_release(lent);
  slotq_dequeuer_free(d2);
  slotq_dequeuer_free(d1);
  slotq_queue_release(q);
  slotq_token_release(s.token);
  slotq_cancel_release(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stop_returns_lent_token_to_the_queue),
      cmocka_unit_test(stop_hands_lent_token_to_a_waiting_dequeuer),
      cmocka_unit_test(cancelled_dequeuer_returns_lent_token),
  };
  return cmocka_run_group_tests_name("regress_stop_returns_lent_token", tests, NULL, NULL);
}
