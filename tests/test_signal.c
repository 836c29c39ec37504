/* The launch signaller: non-blocking with room for one, a blocking wait,
 * and event-driven listeners. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "testutil.h"

static void signal_has_room_for_one(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  int sent = -1;
  assert_ok(slotq_queue_signal(q, &sent));
  assert_int_equal(sent, 1);
  assert_ok(slotq_queue_signal(q, &sent));
  assert_int_equal(sent, 0);
  assert_ok(slotq_queue_wait_signal(q, 0, NULL));
  assert_status(SLOTQ_ETIMEDOUT, slotq_queue_wait_signal(q, 0, NULL));
  assert_ok(slotq_queue_signal(q, &sent));
  assert_int_equal(sent, 1);
  assert_ok(slotq_queue_wait_signal(q, 0, NULL));
  slotq_queue_release(q);
}

static void *signal_later(void *arg) {
  usleep(20 * 1000);
  slotq_queue_signal((slotq_queue_t *)arg, NULL);
  return NULL;
}

static void blocked_wait_gets_a_later_signal(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  pthread_t th;
  pthread_create(&th, NULL, signal_later, q);
  assert_ok(slotq_queue_wait_signal(q, SLOTQ_FOREVER, NULL));
  pthread_join(th, NULL);
  int64_t t0 = slotq_now_ns();
  assert_status(SLOTQ_ETIMEDOUT, slotq_queue_wait_signal(q, MS(15), NULL));
  assert_true(slotq_now_ns() - t0 >= MS(15)); /* never early */
  slotq_queue_release(q);
}

static void *cancel_later(void *arg) {
  usleep(20 * 1000);
  slotq_cancel_cancel((slotq_cancel_t *)arg);
  return NULL;
}

static void cancel_wakes_a_signal_wait(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  slotq_cancel_t *c;
  assert_ok(slotq_cancel_create(&c));
  pthread_t th;
  pthread_create(&th, NULL, cancel_later, c);
  assert_status(SLOTQ_ECANCELED, slotq_queue_wait_signal(q, SLOTQ_FOREVER, c));
  pthread_join(th, NULL);
  slotq_cancel_release(c);
  slotq_queue_release(q);
}

typedef struct listener {
  slotq_queue_t *q;
  atomic_int calls;
  int consume;
  int remove_self;
} listener;

static void on_signal(void *arg) {
  listener *l = (listener *)arg;
  atomic_fetch_add(&l->calls, 1);
  if (l->consume) assert_ok(slotq_queue_wait_signal(l->q, 0, NULL));
  if (l->remove_self) assert_ok(slotq_queue_set_signal_notify(l->q, NULL, NULL));
}

static void listener_is_told_of_each_new_pending_signal(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  listener l = {q, 0, 0, 0};
  assert_ok(slotq_queue_set_signal_notify(q, on_signal, &l));
  int fd = -1;
  assert_ok(slotq_queue_signal_fd(q, &fd));
  assert_ok(slotq_queue_signal(q, NULL));
  assert_ok(slotq_queue_signal(q, NULL)); /* already pending: no news */
  assert_int_equal(atomic_load(&l.calls), 1);
  struct pollfd p = {fd, POLLIN, 0};
  assert_int_equal(poll(&p, 1, 0), 1);
  uint64_t v;
  assert_int_equal(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
  assert_ok(slotq_queue_wait_signal(q, 0, NULL));
  l.consume = 1;
  assert_ok(slotq_queue_signal(q, NULL));
  assert_ok(slotq_queue_signal(q, NULL)); /* consumed in the callback: news again */
  assert_int_equal(atomic_load(&l.calls), 3);
  l.remove_self = 1;
  assert_ok(slotq_queue_signal(q, NULL));
  assert_int_equal(atomic_load(&l.calls), 4);
  assert_ok(slotq_queue_signal(q, NULL));
  assert_int_equal(atomic_load(&l.calls), 4);              /* removed */
  assert_ok(slotq_queue_set_signal_notify(q, NULL, NULL)); /* removing twice is fine */
  slotq_queue_release(q);
}

static void listener_dropped_with_its_queue(void **state) {
  (void)state;
  slotq_queue_t *q = test_queue();
  listener l = {q, 0, 0, 0};
  assert_ok(slotq_queue_set_signal_notify(q, on_signal, &l));
  int fd;
  assert_ok(slotq_queue_signal_fd(q, &fd));
  assert_true(fcntl(fd, F_GETFD) != -1);
  slotq_queue_release(q); /* the listener goes with the queue, and its eventfd */
  assert_int_equal(fcntl(fd, F_GETFD), -1);
  assert_int_equal(errno, EBADF);
  assert_int_equal(atomic_load(&l.calls), 0);
}

/* Regression: a callback removing its own listener must not wait for
 * itself, even after another thread ran the same callback meanwhile (the
 * library once tracked only the latest running thread and hung here). */
typedef struct reentry {
  slotq_queue_t *q;
  atomic_int calls, a_inside, b_done;
} reentry;
static reentry g_re;

static void remove_later(void *arg) {
  (void)arg;
  int n = atomic_fetch_add(&g_re.calls, 1);
  (void)slotq_queue_wait_signal(g_re.q, 0, NULL);
  if (n == 0) {
    atomic_store(&g_re.a_inside, 1);
    while (!atomic_load(&g_re.b_done)) usleep(1000);
    assert_ok(slotq_queue_set_signal_notify(g_re.q, NULL, NULL));
  }
}

static void *signal_once(void *arg) {
  (void)arg;
  slotq_queue_signal(g_re.q, NULL);
  return NULL;
}

static void listener_removed_from_its_callback_after_another_thread_ran_it(void **state) {
  (void)state;
  memset(&g_re, 0, sizeof(g_re));
  g_re.q = test_queue();
  assert_ok(slotq_queue_set_signal_notify(g_re.q, remove_later, NULL));
  pthread_t a;
  pthread_create(&a, NULL, signal_once, NULL);
  while (!atomic_load(&g_re.a_inside)) usleep(1000);
  assert_ok(slotq_queue_signal(g_re.q, NULL)); /* runs the callback here, to completion */
  atomic_store(&g_re.b_done, 1);
  pthread_join(a, NULL); /* hung before the fix */
  assert_int_equal(atomic_load(&g_re.calls), 2);
  slotq_queue_release(g_re.q);
}

/* Listeners replaced, removed and notified from several threads at once:
 * whoever takes a listener out of the table owns it (ASan/TSan watch). */
typedef struct churn {
  slotq_queue_t *q;
  atomic_int stop;
  atomic_long calls;
} churn;
static churn g_churn;

static void churn_cb(void *arg) {
  (void)arg;
  atomic_fetch_add(&g_churn.calls, 1);
  (void)slotq_queue_wait_signal(g_churn.q, 0, NULL);
}

static void *churn_setter(void *arg) {
  long n = (long)(intptr_t)arg;
  while (!atomic_load(&g_churn.stop)) {
    assert_ok(slotq_queue_set_signal_notify(g_churn.q, (n++ % 3) ? churn_cb : NULL, NULL));
  }
  return NULL;
}

static void *churn_signaller(void *arg) {
  (void)arg;
  while (!atomic_load(&g_churn.stop)) {
    (void)slotq_queue_wait_signal(g_churn.q, 0, NULL); /* so that each signal is news */
    assert_ok(slotq_queue_signal(g_churn.q, NULL));
  }
  return NULL;
}

static void listeners_replaced_and_removed_concurrently(void **state) {
  (void)state;
  memset(&g_churn, 0, sizeof(g_churn));
  g_churn.q = test_queue();
  pthread_t th[4];
  pthread_create(&th[0], NULL, churn_setter, (void *)(intptr_t)0);
  pthread_create(&th[1], NULL, churn_setter, (void *)(intptr_t)1);
  pthread_create(&th[2], NULL, churn_signaller, NULL);
  pthread_create(&th[3], NULL, churn_signaller, NULL);
  usleep(200 * 1000);
  atomic_store(&g_churn.stop, 1);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  print_message("%ld listener callbacks ran\n", atomic_load(&g_churn.calls));
  /* Once removed, a listener is never called again. */
  assert_ok(slotq_queue_set_signal_notify(g_churn.q, NULL, NULL));
  long before = atomic_load(&g_churn.calls);
  (void)slotq_queue_wait_signal(g_churn.q, 0, NULL);
  assert_ok(slotq_queue_signal(g_churn.q, NULL));
  assert_int_equal(atomic_load(&g_churn.calls), before);
  slotq_queue_release(g_churn.q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(signal_has_room_for_one),
      cmocka_unit_test(blocked_wait_gets_a_later_signal),
      cmocka_unit_test(cancel_wakes_a_signal_wait),
      cmocka_unit_test(listener_is_told_of_each_new_pending_signal),
      cmocka_unit_test(listener_dropped_with_its_queue),
      cmocka_unit_test(listener_removed_from_its_callback_after_another_thread_ran_it),
      cmocka_unit_test(listeners_replaced_and_removed_concurrently),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
