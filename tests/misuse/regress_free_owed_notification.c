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
/* cmocka.h needs the four headers above. */
#include <cmocka.h>

#include "hang_guard.h"
#include "misuse_util.h"
#include "slotq.h"

/* Queue "k" with two slots; x holds one lent (from next) and one handed
 * (armed, not collected); then a and b arm, in that order, with nothing
 * idle. Stopping x gives the lent slot to a and the handed one to b. */
typedef struct scene {
  slotq_queue_t *q;
  test_slot s[2];
  slotq_dequeuer_t *x, *a, *b;
  slotq_token_t *lent;
  int a_calls, b_calls;
  int b_fd; /* b's eventfd, or -1 when b has a callback */
} scene;

static void on_a_free_b(void *arg) {
  scene *sc = (scene *)arg;
  sc->a_calls++;
  slotq_dequeuer_free(sc->b);
  sc->b = NULL;
}

static void on_b(void *arg) { ((scene *)arg)->b_calls++; }

static void *stop_main(void *d) {
  slotq_dequeuer_stop((slotq_dequeuer_t *)d);
  return NULL;
}

static void set_up(scene *sc, int b_uses_fd) {
  memset(sc, 0, sizeof *sc);
  sc->b_fd = -1;
  assert_int_equal(slotq_queue_create("k", 1, &sc->q), SLOTQ_OK);
  assert_int_equal(queue_test_slot(sc->q, &sc->s[0]), SLOTQ_OK);
  assert_int_equal(queue_test_slot(sc->q, &sc->s[1]), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(sc->q, NULL, &sc->x), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_next(sc->x, 0, NULL, &sc->lent), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_arm(sc->x), SLOTQ_OK); /* takes the other slot at once */
  assert_int_equal(queue_len(sc->q), 0);
  assert_int_equal(slotq_start_dequeuer(sc->q, NULL, &sc->a), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_set_notify(sc->a, on_a_free_b, sc), SLOTQ_OK);
  assert_int_equal(slotq_dequeuer_arm(sc->a), SLOTQ_OK);
  assert_int_equal(slotq_start_dequeuer(sc->q, NULL, &sc->b), SLOTQ_OK);
  if (b_uses_fd) {
    assert_int_equal(slotq_dequeuer_fd(sc->b, &sc->b_fd), SLOTQ_OK);
  } else {
    assert_int_equal(slotq_dequeuer_set_notify(sc->b, on_b, sc), SLOTQ_OK);
  }
  assert_int_equal(slotq_dequeuer_arm(sc->b), SLOTQ_OK);
}

/* Stops x on another thread, then checks what both tests expect. */
static void stop_x(scene *sc) {
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, stop_main, sc->x), 0);
  int jrc = join_within(th, 10);
  if (jrc == ETIMEDOUT)
    fail_msg("slotq_dequeuer_stop() never returned: the free in a's callback hangs");
  assert_int_equal(jrc, 0);
  assert_int_equal(sc->a_calls, 1);
  assert_null(sc->b);
  /* The slot handed to b went back to the queue when b was freed. */
  assert_int_equal(queue_len(sc->q), 1);
}

static void tear_down(scene *sc) {
  slotq_token_release(sc->lent);
  slotq_dequeuer_free(sc->x);
  slotq_dequeuer_free(sc->a);
  slotq_queue_release(sc->q);
  for (int i = 0; i < 2; i++) {
    slotq_token_release(sc->s[i].token);
    assert_int_equal(sc->s[i].closes, 1); /* discarded at shutdown */
    assert_int_equal(sc->s[i].releases, 1);
  }
}

static void freeing_a_dequeuer_this_thread_owes_a_notification(void **state) {
  (void)state;
  scene sc;
  set_up(&sc, 0);
  stop_x(&sc);
  /* b was freed before its notification started: its callback never runs. */
  assert_int_equal(sc.b_calls, 0);
  tear_down(&sc);
}

static void the_dropped_notification_writes_no_freed_eventfd(void **state) {
  (void)state;
  scene sc;
  set_up(&sc, 1);
  assert_true(sc.b_fd >= 0);
  stop_x(&sc);
  /* The free completed when the stop reached b's notification: the eventfd
   * is closed (nothing else in this test opens files meanwhile). */
  errno = 0;
  assert_int_equal(fcntl(sc.b_fd, F_GETFD), -1);
  assert_int_equal(errno, EBADF);
  tear_down(&sc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(freeing_a_dequeuer_this_thread_owes_a_notification),
      cmocka_unit_test(the_dropped_notification_writes_no_freed_eventfd),
  };
  return cmocka_run_group_tests_name("regress_free_owed_notification", tests, NULL, NULL);
}
