/*
 * Regression: a notification callback frees another dequeuer of the same
 * queue whose own notification the same thread still owes.
 *
 * slotq.h, slotq_dequeuer_set_notify(): the callback "may call the library".
 * A stop that gives back two slots hands them to two armed dequeuers, A and
 * B, and delivers both notifications after its lock, A's first. Until the
 * fix, slotq_dequeuer_free(B) from A's callback waited for B's notification
 * to be delivered, which only this very thread could do once the callback
 * returned: the thread slept forever. Now a notification that has not
 * started when its dequeuer is freed is dropped (no callback, no eventfd
 * write), and the free completes when that notification is reached. The
 * stop runs on its own thread so that a hang fails the test instead of
 * hanging it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
/* cmocka.h needs the four headers above. */
#include <cmocka.h>

#include "misuse_util.h"
#include "slotq.h"

typedef struct pair {
  slotq_dequeuer_t *a, *b;
  int a_calls, b_calls;
} pair;

static void on_a_free_b(void *arg) {
  pair *p = (pair *)arg;
  p->a_calls++;
  slotq_dequeuer_free(p->b);
  p->b = NULL;
}

static void on_b(void *arg) { ((pair *)arg)->b_calls++; }

static void *stop_main(void *d) {
  slotq_dequeuer_stop((slotq_dequeuer_t *)d);
  return NULL;
}

/* Stops x on another thread; fails if the stop does not return in 10 s. */
static void stop_with_hang_guard(slotq_dequeuer_t *x) {
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, stop_main, x), 0);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  int jrc = pthread_timedjoin_np(th, NULL, &until);
  if (jrc == ETIMEDOUT)
    fail_msg("slotq_dequeuer_stop() never returned: the free in A's callback hangs");
  assert_int_equal(jrc, 0);
}

/*
 * Two slots on queue "k"; x holds one lent (from next) and one handed (armed,
 * not collected); then a and b arm, in that order, with nothing idle. Stopping
 * x gives the lent slot to a and the handed one to b.
 */
static void set_up(slotq_queue_t **q, test_slot s[2], slotq_dequeuer_t **x, slotq_token_t **lent,
                   pair *p, int b_uses_fd, int *b_fd) {
  memset(s, 0, 2 * sizeof *s);
  assert_int_equal(slotq_queue_create("k", 1, q), SLOTQ_OK);
  assert_int_equal(queue_test_slot(*q, &s[0]), SLOTQ_OK);
  assert_int_equal(queue_test_slot(*q, &s[1]), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(*q, NULL, x), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_next(*x, 0, NULL, lent), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_arm(*x), SLOTQ_OK); /* takes the other slot at once */
  assert_int_equal(queue_len(*q), 0);
  assert_int_equal(slotq_start_dequeuer(*q, NULL, &p->a), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_set_notify(p->a, on_a_free_b, p), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_arm(p->a), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(*q, NULL, &p->b), SLOTQ_OK);
  if (b_uses_fd) {
    assert_int_equal(slotq_dequeuer_fd(p->b, b_fd), SLOTQ_OK);
  } else {
    assert_int_equal(slotq_dequeuer_set_notify(p->b, on_b, p), SLOTQ_OK);
  }
  assert_int_equal(slotq_dequeuer_arm(p->b), SLOTQ_OK);
}

static void tear_down(slotq_queue_t *q, test_slot s[2], slotq_dequeuer_t *x, slotq_token_t *lent,
                      pair *p) {
  slotq_token_release(lent);
  slotq_dequeuer_free(x);
  slotq_dequeuer_free(p->a);
  slotq_queue_release(q);
  for (int i = 0; i < 2; i++) {
    slotq_token_release(s[i].token);
    assert_int_equal(s[i].closes, 1); /* discarded at shutdown, or still on a's hands */
    assert_int_equal(s[i].releases, 1);
  }
}

static void freeing_a_dequeuer_this_thread_owes_a_notification(void **state) {
  (void)state;
  slotq_queue_t *q;
  test_slot s[2];
  slotq_dequeuer_t *x;
  slotq_token_t *lent;
  pair p = {0};
  set_up(&q, s, &x, &lent, &p, 0, NULL);

  stop_with_hang_guard(x);
  assert_int_equal(p.a_calls, 1);
  /* b was freed before its notification started: its callback never runs. */
  assert_int_equal(p.b_calls, 0);
  /* The slot handed to b went back to the queue when b was freed. */
  assert_int_equal(queue_len(q), 1);
  tear_down(q, s, x, lent, &p);
}

static void the_dropped_notification_writes_no_freed_eventfd(void **state) {
  (void)state;
  slotq_queue_t *q;
  test_slot s[2];
  slotq_dequeuer_t *x;
  slotq_token_t *lent;
  pair p = {0};
  int fd = -1;
  set_up(&q, s, &x, &lent, &p, 1, &fd);
  assert_true(fd >= 0);

  stop_with_hang_guard(x);
  assert_int_equal(p.a_calls, 1);
  /* The free completed when the stop reached b's notification: the eventfd
   * is closed (nothing else in this test opens files meanwhile). */
  errno = 0;
  assert_int_equal(fcntl(fd, F_GETFD), -1);
  assert_int_equal(errno, EBADF);
  assert_int_equal(queue_len(q), 1);
  tear_down(q, s, x, lent, &p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(freeing_a_dequeuer_this_thread_owes_a_notification),
      cmocka_unit_test(the_dropped_notification_writes_no_freed_eventfd),
  };
  return cmocka_run_group_tests_name("regress_free_owed_notification", tests, NULL, NULL);
}
